package kernel

import "math"

// Half-precision weights. Storing W in IEEE 754 binary16 halves the bytes
// a matrix-vector product streams; when the weights do not fit in L2 (the
// ibab preset: 5.9 MB of float32 per generated sample) that halves the
// time. The products accumulate in float32, so a model whose float32
// weights are already rounded to binary16 (RoundF16) gives the same result
// with either storage, up to summation order.

// F16FromFloat32 rounds f to the nearest IEEE 754 binary16 (ties to even),
// with overflow to infinity, subnormals and NaN kept as NaN.
func F16FromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		man |= 0x800000
		shift := uint32(14 - e)
		h := man >> shift
		rem := man & (1<<shift - 1)
		halfway := uint32(1) << (shift - 1)
		if rem > halfway || (rem == halfway && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // a carry into the exponent is the correct rounding (up to infinity)
	}
	return sign | uint16(h)
}

// Float32FromF16 returns the float32 value of the binary16 h (exact).
func Float32FromF16(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0:
		f := float32(man) * (1.0 / (1 << 24)) // subnormal: man * 2^-24
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

// ToF16 rounds src to binary16 into dst (len(dst) >= len(src)) and returns
// dst[:len(src)]; nil dst allocates.
func ToF16(dst []uint16, src []float32) []uint16 {
	if dst == nil {
		dst = make([]uint16, len(src))
	}
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = F16FromFloat32(v)
	}
	return dst
}

// RoundF16 rounds every value of v to the nearest binary16 value, in
// place, keeping float32 storage: the weights a binary16 copy represents.
func RoundF16(v []float32) {
	for i, x := range v {
		v[i] = Float32FromF16(F16FromFloat32(x))
	}
}

// MatVecAddF16 is MatVecAdd with W stored in binary16: y += W x.
func MatVecAddF16(y []float32, w []uint16, x []float32, rows, cols int) {
	if rows < 0 || cols < 0 || len(w) < rows*cols || len(x) < cols || len(y) < rows {
		panic("kernel: MatVecAddF16: slice too short for shape")
	}
	cur.matVecF16(y, w, x, rows, cols, 1, 0, 0)
}

// MatMulAddBatchF16 is MatMulAddBatch with W stored in binary16.
func MatMulAddBatchF16(y []float32, ldy int, w []uint16, x []float32, ldx int, nb, rows, cols int) {
	if nb < 0 || rows < 0 || cols < 0 || len(w) < rows*cols || ldx < cols || ldy < rows ||
		(nb > 0 && (len(x) < (nb-1)*ldx+cols || len(y) < (nb-1)*ldy+rows)) {
		panic("kernel: MatMulAddBatchF16: slice too short or stride too small for shape")
	}
	cur.matVecF16(y, w, x, rows, cols, nb, ldx, ldy)
}

func dotF16Go(w []uint16, x []float32) float32 {
	x = x[:len(w)]
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(w); i += 2 {
		s0 += Float32FromF16(w[i]) * x[i]
		s1 += Float32FromF16(w[i+1]) * x[i+1]
	}
	if i < len(w) {
		s0 += Float32FromF16(w[i]) * x[i]
	}
	return s0 + s1
}

func matVecF16Go(y []float32, w []uint16, x []float32, rows, cols, nb, ldx, ldy int) {
	matVecF16Rows(y, w, x, 0, rows, cols, nb, ldx, ldy)
}

// matVecF16Rows adds rows r0..rows-1 of W x for nb streams in pure Go.
func matVecF16Rows(y []float32, w []uint16, x []float32, r0, rows, cols, nb, ldx, ldy int) {
	for s := 0; s < nb; s++ {
		xs := x[s*ldx : s*ldx+cols]
		for r := r0; r < rows; r++ {
			y[s*ldy+r] += dotF16Go(w[r*cols:(r+1)*cols], xs)
		}
	}
}
