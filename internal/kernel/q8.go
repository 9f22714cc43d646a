package kernel

import "math"

// 8-bit kernels for int8 inference: weights are signed 8-bit with one
// scale per row (symmetric, zero point 0), activations unsigned 8-bit with
// zero point 128 and one scale per vector, quantized on the fly. That is
// the operand pairing of AVX-512 VNNI's VPDPBUSD (u8 x s8, four products
// summed into each int32 lane), used where the CPU has it.

// Q8 is a weight matrix W (Rows, Cols) quantized to int8 per row and
// packed for Q8MatMulAddBatch: blocks of 16 rows, and in each block groups
// of 4 columns, 16 rows x 4 bytes (64 bytes, one vector) per group.
type Q8 struct {
	Rows, Cols int
	kg, nblk   int
	w          []int8    // (nblk, kg, 16, 4), zero on padding
	scale      []float32 // (nblk*16): row scales, 0 on padding rows
	corr       []int32   // (nblk*16): 128 * the row sums (the activations' zero point)
}

// Q8Stride is the row stride, in bytes, that the quantized activations of
// a Q8 with cols columns need: cols rounded up to a multiple of 4. The
// padding bytes are read but do not count (their weights are zero).
func Q8Stride(cols int) int { return (cols + 3) &^ 3 }

// NewQ8 quantizes w (rows, cols, row-major float32) symmetrically per row:
// scale_r = max_c |w[r,c]| / 127 and q = round(w / scale_r) (half to
// even) in [-127, 127], so that the largest weight of each row is exact
// and -128 never occurs. It panics if w is too short.
func NewQ8(w []float32, rows, cols int) *Q8 {
	if rows < 1 || cols < 1 || len(w) < rows*cols {
		panic("kernel: NewQ8: slice too short for shape")
	}
	q := make([]int8, rows*cols)
	scale := make([]float32, rows)
	for r := 0; r < rows; r++ {
		row := w[r*cols : (r+1)*cols]
		var m float32
		for _, v := range row {
			m = max(m, float32(math.Abs(float64(v))))
		}
		if m == 0 {
			continue
		}
		s := m / 127
		inv := 1 / s
		scale[r] = s
		for c, v := range row {
			q[r*cols+c] = int8(max(-127, min(127, math.RoundToEven(float64(v*inv)))))
		}
	}
	return NewQ8Quantized(q, scale, rows, cols)
}

// NewQ8Quantized packs already quantized weights q (rows, cols) int8
// row-major, with row scales scale (rows). It panics if a slice is too
// short.
func NewQ8Quantized(q []int8, scale []float32, rows, cols int) *Q8 {
	if rows < 1 || cols < 1 || len(q) < rows*cols || len(scale) < rows {
		panic("kernel: NewQ8Quantized: slice too short for shape")
	}
	m := &Q8{Rows: rows, Cols: cols, kg: (cols + 3) / 4, nblk: (rows + 15) / 16}
	m.w = make([]int8, m.nblk*m.kg*64)
	m.scale = make([]float32, m.nblk*16)
	m.corr = make([]int32, m.nblk*16)
	for r := 0; r < rows; r++ {
		b, i := r/16, r%16
		var sum int32
		for c := 0; c < cols; c++ {
			v := q[r*cols+c]
			m.w[((b*m.kg+c/4)*16+i)*4+c%4] = v
			sum += int32(v)
		}
		m.scale[r] = scale[r]
		m.corr[r] = 128 * sum
	}
	return m
}

// At returns the quantized weight (r, c) and its row scale.
func (m *Q8) At(r, c int) (int8, float32) {
	return m.w[((r/16*m.kg+c/4)*16+r%16)*4+c%4], m.scale[r]
}

// Bytes is the memory the packed weights take (with padding and scales).
func (m *Q8) Bytes() int { return len(m.w) + 8*len(m.scale) }

// QuantizeU8 quantizes x to dst (len(dst) >= len(x)) with zero point 128
// and scale max|x|/127: dst[i] = round(x[i]/scale) + 128 (half to even),
// in [1, 255]. It returns the scale; an all-zero x gives scale 0 and
// codes 128.
func QuantizeU8(dst []uint8, x []float32) float32 {
	if len(dst) < len(x) {
		panic("kernel: QuantizeU8: dst shorter than x")
	}
	if len(x) == 0 {
		return 0
	}
	m := q8cur.absMax(x)
	if m == 0 || m != m { // all zero, or NaN in x
		for i := range x {
			dst[i] = 128
		}
		return 0
	}
	s := m / 127
	q8cur.quant(dst, x, 1/s)
	return s
}

// Q8MatMulAddBatch computes, for nb streams s,
// y[s*ldy+r] += xs[s] * scale_r * sum_c (xq[s*ldx+c] - 128) * q[r,c]:
// the product of the int8 weights w with activations quantized by
// QuantizeU8 (codes xq, row stride ldx >= Q8Stride(w.Cols), scales xs), accumulated into float32 y (row stride
// ldy >= w.Rows). The integer dot products are exact.
func Q8MatMulAddBatch(y []float32, ldy int, w *Q8, xq []uint8, ldx int, xs []float32, nb int) {
	if nb < 0 || ldx < Q8Stride(w.Cols) || ldy < w.Rows || len(xs) < nb ||
		(nb > 0 && (len(xq) < (nb-1)*ldx+Q8Stride(w.Cols) || len(y) < (nb-1)*ldy+w.Rows)) {
		panic("kernel: Q8MatMulAddBatch: slice too short or stride too small for shape")
	}
	if nb == 0 {
		return
	}
	q8cur.matMul(y, ldy, w, xq, ldx, xs, nb)
}

// Q8Impl names the 8-bit implementation in use: "vnni" (AVX-512 VNNI) or
// "go".
func Q8Impl() string { return q8cur.name }

// q8Impl is one implementation of the 8-bit kernels.
type q8Impl struct {
	name   string
	absMax func(x []float32) float32
	quant  func(dst []uint8, x []float32, inv float32)
	matMul func(y []float32, ldy int, w *Q8, xq []uint8, ldx int, xs []float32, nb int)
}

var q8Go = &q8Impl{name: "go", absMax: absMaxGo, quant: quantU8Go, matMul: q8MatMulGo}

// q8Impls lists the implementations this CPU runs, best first (set by the
// per-architecture init); q8cur is q8Impls[0].
var (
	q8Impls = []*q8Impl{q8Go}
	q8cur   = q8Go
)

func absMaxGo(x []float32) float32 {
	var m float32
	for _, v := range x {
		m = max(m, float32(math.Abs(float64(v))))
	}
	return m
}

func quantU8Go(dst []uint8, x []float32, inv float32) {
	for i, v := range x {
		q := math.RoundToEven(float64(v*inv)) + 128
		dst[i] = uint8(max(0, min(255, q)))
	}
}

func q8MatMulGo(y []float32, ldy int, w *Q8, xq []uint8, ldx int, xs []float32, nb int) {
	for s := 0; s < nb; s++ {
		x := xq[s*ldx:]
		ys := y[s*ldy:]
		for b := 0; b < w.nblk; b++ {
			var acc [16]int32
			for g := 0; g < w.kg; g++ {
				blk := w.w[(b*w.kg+g)*64:][:64]
				x4 := x[g*4:][:4]
				for i := 0; i < 16; i++ {
					wr := blk[i*4:][:4]
					acc[i] += int32(x4[0])*int32(wr[0]) + int32(x4[1])*int32(wr[1]) +
						int32(x4[2])*int32(wr[2]) + int32(x4[3])*int32(wr[3])
				}
			}
			for i := 0; i < 16 && b*16+i < w.Rows; i++ {
				r := b*16 + i
				ys[r] += float32(acc[i]-w.corr[r]) * w.scale[r] * xs[s]
			}
		}
	}
}
