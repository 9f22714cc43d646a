//go:build !purego && amd64

package kernel

import (
	"math"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The assembly kernels (matvec_amd64.s, gemm_amd64.s, elem_amd64.s). Byte
// strides are passed as byte counts. Each call is bounded (one block of
// rows, one GEMM tile, one vector), so no call runs long enough to delay
// the scheduler.

//go:noescape
func matVecAVX512(y, w, x *float32, nblk, cols, nb, ldx, ldy int)

//go:noescape
func matVec4x4AVX512(y, w, x *float32, nblk, cols, nsb, ldx, ldy int)

//go:noescape
func matVecF16AVX512(y *float32, w *uint16, x *float32, nblk, cols, nb, ldx, ldy int)

//go:noescape
func matVecF16AVX2(y *float32, w *uint16, x *float32, nblk, cols, chunks, nb, ldx, ldy int)

//go:noescape
func matVecAVX2(y, w, x *float32, nblk, cols, nb, ldx, ldy int)

//go:noescape
func dotAVX512(x, y *float32, n int) float32

//go:noescape
func dotAVX2(x, y *float32, n int) float32

//go:noescape
func tanhAVX512(dst, x *float32, n int)

//go:noescape
func tanhAVX2(dst, x *float32, n int)

//go:noescape
func sigmoidAVX512(dst, x *float32, n int)

//go:noescape
func sigmoidAVX2(dst, x *float32, n int)

//go:noescape
func reluAVX512(dst, x *float32, n int)

//go:noescape
func reluAVX2(dst, x *float32, n int)

//go:noescape
func gateAVX512(dst, a, b *float32, n int)

//go:noescape
func gateAVX2(dst, a, b *float32, n int)

//go:noescape
func addAVX512(dst, a, b *float32, n int)

//go:noescape
func addAVX2(dst, a, b *float32, n int)

//go:noescape
func axpyAVX512(y *float32, alpha float32, x *float32, n int)

//go:noescape
func axpyAVX2(y *float32, alpha float32, x *float32, n int)

//go:noescape
func maxAVX512(x *float32, n int) float32

//go:noescape
func expShiftAVX512(dst, x *float32, n int, shift float32, store int) float32

//go:noescape
func affineAVX512(dst, x *float32, n int, a, b float32)

var avx512Impl = &impl{
	name:    "avx512",
	matVec:  matVecAsm(16, matVecAVX512, matVec4x4AVX512, dotAVX512),
	gemm:    gemmAsm(12, 32, gemm12x32AVX512),
	dot:     dotAsm(dotAVX512),
	axpy:    axpyAsm(0, axpyAVX512),
	add:     binAsm(0, addAVX512),
	relu:    unAsm(0, reluAVX512),
	tanh:    unAsm(0, tanhAVX512),
	sigmoid: unAsm(0, sigmoidAVX512),
	gate:    binAsm(0, gateAVX512),

	matVecF16:  matVecF16AVX512Rows,
	softmax:    softmaxAVX512,
	logSoftmax: logSoftmaxAVX512,
}

var avx2Impl = &impl{
	name:    "avx2",
	matVec:  matVecAsm(8, matVecAVX2, nil, dotAVX2),
	gemm:    gemmAsm(6, 16, gemm6x16AVX2),
	dot:     dotAsm(dotAVX2),
	axpy:    axpyAsm(8, axpyAVX2),
	add:     binAsm(8, addAVX2),
	relu:    unAsm(8, reluAVX2),
	tanh:    unAsm(8, tanhAVX2),
	sigmoid: unAsm(8, sigmoidAVX2),
	gate:    binAsm(8, gateAVX2),

	matVecF16:  matVecF16Go,
	softmax:    softmaxGo,
	logSoftmax: logSoftmaxGo,
}

func init() {
	avx512Impl.packed = packedAVX512
	avx2Impl.packed = packedAVX2
	if cpu.X86.HasF16C {
		avx2Impl.matVecF16 = matVecF16AVX2Rows
	}
	impls = nil
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512DQ {
		impls = append(impls, avx512Impl)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		impls = append(impls, avx2Impl)
	}
	impls = append(impls, goImpl)
	cur = impls[0]
}

func dotAsm(f func(x, y *float32, n int) float32) func(x, y []float32) float32 {
	return func(x, y []float32) float32 {
		var sum float32
		for i := 0; i < len(x); i += maxCallElems {
			n := min(maxCallElems, len(x)-i)
			sum += f(&x[i], &y[i], n)
		}
		return sum
	}
}

// maxCallMACs bounds the multiply-adds of one assembly call (about 30 us)
// so that a huge product cannot hold off the scheduler for long: assembly
// functions are not preemptible.
const maxCallMACs = 1 << 20

// maxCallElems bounds the elements of one elementwise assembly call (tens
// of microseconds for tanh) for the same reason.
const maxCallElems = 1 << 16

// matVecAsm builds the matVec of an implementation whose kernel handles
// blocks of blk rows (the rows%blk last rows are dot products) and, if
// kern4 is not nil, a kernel for blocks of 4 rows x 4 streams used when at
// least 4 streams are stepped together.
func matVecAsm(blk int, kern func(y, w, x *float32, nblk, cols, nb, ldx, ldy int),
	kern4 func(y, w, x *float32, nblk, cols, nsb, ldx, ldy int),
	dot func(x, y *float32, n int) float32) func(y, w, x []float32, rows, cols, nb, ldx, ldy int) {
	const f32 = int(unsafe.Sizeof(float32(0)))
	// rowsTail adds rows r0..rows-1 with dot products.
	rowsTail := func(y, w, x []float32, r0, rows, cols, nb, ldx, ldy int) {
		for r := r0; r < rows; r++ {
			wr := &w[r*cols]
			for s := 0; s < nb; s++ {
				y[s*ldy+r] += dot(wr, &x[s*ldx], cols)
			}
		}
	}
	// blocked runs kern over the first rows - rows%blk rows, in calls of
	// at most maxCallMACs.
	blocked := func(y, w, x []float32, rows, cols, nb, ldx, ldy int) {
		nblk := rows / blk
		step := max(1, maxCallMACs/(blk*cols*nb))
		for b0 := 0; b0 < nblk; b0 += step {
			r0 := b0 * blk
			kern(&y[r0], &w[r0*cols], &x[0], min(step, nblk-b0), cols, nb, ldx*f32, ldy*f32)
		}
		rowsTail(y, w, x, nblk*blk, rows, cols, nb, ldx, ldy)
	}
	return func(y, w, x []float32, rows, cols, nb, ldx, ldy int) {
		if rows == 0 || cols == 0 || nb == 0 {
			return
		}
		if kern4 == nil || nb < 4 || rows < 4 {
			blocked(y, w, x, rows, cols, nb, ldx, ldy)
			return
		}
		nsb := nb / 4
		nblk := rows / 4
		step := max(1, maxCallMACs/(16*cols*nsb))
		for b0 := 0; b0 < nblk; b0 += step {
			r0 := b0 * 4
			kern4(&y[r0], &w[r0*cols], &x[0], min(step, nblk-b0), cols, nsb, ldx*f32, ldy*f32)
		}
		rowsTail(y, w, x, nblk*4, rows, cols, nsb*4, ldx, ldy)
		if s0 := nsb * 4; s0 < nb {
			blocked(y[s0*ldy:], w, x[s0*ldx:], rows, cols, nb-s0, ldx, ldy)
		}
	}
}

// The elementwise wrappers: with vec == 0 the kernel handles any length
// (masked tail); otherwise it handles a multiple of vec (<= 8) elements
// and the ragged tail runs through the same kernel on a zero-padded copy,
// so that every element gets the same operations as on AVX-512.

func unAsm(vec int, kern func(dst, x *float32, n int)) func(dst, x []float32) {
	return func(dst, x []float32) {
		n := len(dst)
		if vec > 0 {
			n -= n % vec
			if t := len(dst) - n; t > 0 {
				var bd, bx [8]float32
				copy(bx[:], x[n:len(dst)])
				kern(&bd[0], &bx[0], vec)
				copy(dst[n:], bd[:t])
			}
		}
		for i := 0; i < n; i += maxCallElems {
			kern(&dst[i], &x[i], min(maxCallElems, n-i))
		}
	}
}

func binAsm(vec int, kern func(dst, a, b *float32, n int)) func(dst, a, b []float32) {
	return func(dst, a, b []float32) {
		n := len(dst)
		if vec > 0 {
			n -= n % vec
			if t := len(dst) - n; t > 0 {
				var bd, ba, bb [8]float32
				copy(ba[:], a[n:len(dst)])
				copy(bb[:], b[n:len(dst)])
				kern(&bd[0], &ba[0], &bb[0], vec)
				copy(dst[n:], bd[:t])
			}
		}
		for i := 0; i < n; i += maxCallElems {
			kern(&dst[i], &a[i], &b[i], min(maxCallElems, n-i))
		}
	}
}

func axpyAsm(vec int, kern func(y *float32, alpha float32, x *float32, n int)) func(y []float32, alpha float32, x []float32) {
	return func(y []float32, alpha float32, x []float32) {
		n := len(x)
		if vec > 0 {
			n -= n % vec
			if t := len(x) - n; t > 0 {
				var by, bx [8]float32
				copy(by[:], y[n:len(x)])
				copy(bx[:], x[n:])
				kern(&by[0], alpha, &bx[0], vec)
				copy(y[n:], by[:t])
			}
		}
		for i := 0; i < n; i += maxCallElems {
			kern(&y[i], alpha, &x[i], min(maxCallElems, n-i))
		}
	}
}

func softmaxAVX512(dst, x []float32) {
	n := len(dst)
	if n == 0 {
		return
	}
	mx := maxChunked(x)
	var sum float32
	for i := 0; i < n; i += maxCallElems {
		sum += expShiftAVX512(&dst[i], &x[i], min(maxCallElems, n-i), mx, 1)
	}
	affineChunked(dst, dst, 1/sum, 0)
}

func logSoftmaxAVX512(dst, x []float32) {
	n := len(dst)
	if n == 0 {
		return
	}
	mx := maxChunked(x)
	var sum float32
	for i := 0; i < n; i += maxCallElems {
		sum += expShiftAVX512(&dst[i], &x[i], min(maxCallElems, n-i), mx, 0)
	}
	lse := mx + float32(math.Log(float64(sum)))
	affineChunked(dst, x, 1, -lse)
}

// maxChunked returns the maximum of x (len(x) >= 1).
func maxChunked(x []float32) float32 {
	mx := x[0]
	for i := 0; i < len(x); i += maxCallElems {
		mx = max(mx, maxAVX512(&x[i], min(maxCallElems, len(x)-i)))
	}
	return mx
}

// affineChunked computes dst = a*x + b.
func affineChunked(dst, x []float32, a, b float32) {
	for i := 0; i < len(dst); i += maxCallElems {
		affineAVX512(&dst[i], &x[i], min(maxCallElems, len(dst)-i), a, b)
	}
}

// matVecF16AVX512Rows runs matVecF16AVX512 on blocks of 16 rows, in calls
// of at most maxCallMACs, and the last rows%16 rows in Go.
func matVecF16AVX512Rows(y []float32, w []uint16, x []float32, rows, cols, nb, ldx, ldy int) {
	const f32 = int(unsafe.Sizeof(float32(0)))
	if rows == 0 || cols == 0 || nb == 0 {
		return
	}
	nblk := rows / 16
	step := max(1, maxCallMACs/(16*cols*nb))
	for b0 := 0; b0 < nblk; b0 += step {
		r0 := b0 * 16
		matVecF16AVX512(&y[r0], &w[r0*cols], &x[0], min(step, nblk-b0), cols, nb, ldx*f32, ldy*f32)
	}
	matVecF16Rows(y, w, x, nblk*16, rows, cols, nb, ldx, ldy)
}

// matVecF16AVX2Rows runs matVecF16AVX2 on blocks of 8 rows and the first
// cols - cols%8 columns, then adds the other columns and rows in Go.
func matVecF16AVX2Rows(y []float32, w []uint16, x []float32, rows, cols, nb, ldx, ldy int) {
	const f32 = int(unsafe.Sizeof(float32(0)))
	if rows == 0 || cols == 0 || nb == 0 {
		return
	}
	nblk, chunks := rows/8, cols/8
	if chunks > 0 {
		step := max(1, maxCallMACs/(8*cols*nb))
		for b0 := 0; b0 < nblk; b0 += step {
			r0 := b0 * 8
			matVecF16AVX2(&y[r0], &w[r0*cols], &x[0], min(step, nblk-b0), cols, chunks, nb, ldx*f32, ldy*f32)
		}
		if c0 := chunks * 8; c0 < cols {
			for s := 0; s < nb; s++ {
				xs := x[s*ldx+c0 : s*ldx+cols]
				for r := 0; r < nblk*8; r++ {
					y[s*ldy+r] += dotF16Go(w[r*cols+c0:(r+1)*cols], xs)
				}
			}
		}
	} else {
		nblk = 0
	}
	matVecF16Rows(y, w, x, nblk*8, rows, cols, nb, ldx, ldy)
}
