package kernel

import "math"

// packedRows is the height of one panel of a Packed matrix: two zmm
// registers of float32.
const packedRows = 32

// Packed is a weight matrix W (rows, cols) prepared for MatMulAddPacked:
// besides the row-major W (kept by reference, not copied) it holds W in
// column-major panels of 32 rows, so that many streams can be stepped
// with broadcasts and no horizontal sums. Build it once per weight matrix
// (the copy costs about as much as one product) and Repack after W
// changes.
type Packed struct {
	rows, cols int
	w          []float32 // (rows, cols) row-major, the caller's slice
	pan        []float32 // ceil(rows/32) panels of (cols, 32), rows past the end zero
}

// NewPacked packs w (rows, cols) row-major. It panics if w is too short.
func NewPacked(w []float32, rows, cols int) *Packed {
	if rows < 0 || cols < 0 || len(w) < rows*cols {
		panic("kernel: NewPacked: slice too short for shape")
	}
	p := &Packed{rows: rows, cols: cols, w: w[:rows*cols]}
	p.Repack()
	return p
}

// Rows returns the number of rows of W (outputs).
func (p *Packed) Rows() int { return p.rows }

// Cols returns the number of columns of W (inputs).
func (p *Packed) Cols() int { return p.cols }

// Repack refreshes the panels from the row-major W given to NewPacked,
// after the caller changed it.
func (p *Packed) Repack() {
	npan := (p.rows + packedRows - 1) / packedRows
	p.pan = grow(p.pan, npan*p.cols*packedRows)
	clear(p.pan)
	for r := 0; r < p.rows; r++ {
		pan := p.pan[(r/packedRows)*p.cols*packedRows:]
		rr := r % packedRows
		for c, v := range p.w[r*p.cols : (r+1)*p.cols] {
			pan[c*packedRows+rr] = v
		}
	}
}

// MatMulAddPacked is MatMulAddBatch with a packed W: for every stream s
// < nb, y[s*ldy:][:rows] += W x[s*ldx:][:cols], reading the panels once
// for up to 8 streams (AVX-512; 3 on AVX2) with broadcasts and no
// horizontal sums.
//
// Its results are reproducible: every output is computed as the same
// sequential chain acc = fma(W[r][c], x[c], acc) for c = 0..cols-1 from
// acc = 0 (fma rounding once, as the FMA instructions do), then
// y[r] += acc, so a stream's result is bit-identical whatever the batch it
// is stepped in and whichever implementation runs (AVX-512, AVX2, or pure
// Go, where an exact float32 fma is emulated and is much slower).
func MatMulAddPacked(y []float32, ldy int, p *Packed, x []float32, ldx int, nb int) {
	rows, cols := p.rows, p.cols
	if nb < 0 || ldx < cols || ldy < rows ||
		(nb > 0 && (len(x) < (nb-1)*ldx+cols || len(y) < (nb-1)*ldy+rows)) {
		panic("kernel: MatMulAddPacked: slice too short or stride too small for shape")
	}
	cur.packed(y, ldy, p, x, ldx, nb)
}

// packedGo is MatMulAddPacked in pure Go: the reference chain, on the
// row-major W, four rows at a time so that four independent chains are in
// flight.
func packedGo(y []float32, ldy int, p *Packed, x []float32, ldx, nb int) {
	rows, cols := p.rows, p.cols
	for s := 0; s < nb; s++ {
		xs := x[s*ldx : s*ldx+cols]
		ys := y[s*ldy : s*ldy+rows]
		r := 0
		for ; r+4 <= rows; r += 4 {
			w0 := p.w[r*cols : (r+1)*cols]
			w1 := p.w[(r+1)*cols : (r+2)*cols]
			w2 := p.w[(r+2)*cols : (r+3)*cols]
			w3 := p.w[(r+3)*cols : (r+4)*cols]
			var a0, a1, a2, a3 float32
			for c, v := range xs {
				// fma32, written out (it does not inline).
				v64 := float64(v)
				p0, p1, p2, p3 := float64(w0[c])*v64, float64(w1[c])*v64, float64(w2[c])*v64, float64(w3[c])*v64
				s0, s1, s2, s3 := p0+float64(a0), p1+float64(a1), p2+float64(a2), p3+float64(a3)
				if fma32Hard(s0) {
					a0 = float32(roundOdd(p0, float64(a0), s0))
				} else {
					a0 = float32(s0)
				}
				if fma32Hard(s1) {
					a1 = float32(roundOdd(p1, float64(a1), s1))
				} else {
					a1 = float32(s1)
				}
				if fma32Hard(s2) {
					a2 = float32(roundOdd(p2, float64(a2), s2))
				} else {
					a2 = float32(s2)
				}
				if fma32Hard(s3) {
					a3 = float32(roundOdd(p3, float64(a3), s3))
				} else {
					a3 = float32(s3)
				}
			}
			ys[r] += a0
			ys[r+1] += a1
			ys[r+2] += a2
			ys[r+3] += a3
		}
		for ; r < rows; r++ {
			var acc float32
			for c, v := range p.w[r*cols : (r+1)*cols] {
				acc = fma32(v, xs[c], acc)
			}
			ys[r] += acc
		}
	}
}

// fma32 returns a*b + c rounded once to float32, as VFMADD231PS does.
// The product is exact in float64, so s = a*b + c rounded to float64 is
// off only by the float64 rounding, and rounding s to float32 is correct
// unless s fell exactly on a float32 midpoint (the only float32 rounding
// boundaries, all representable in float64, so the exact value and s are
// on the same side of every other one) or in float32's subnormal range
// (fewer mantissa bits). Then the float64 sum is made "round to odd" with
// its exact error (TwoSum, roundOdd), which rounds correctly to float32 (Boldo and
// Melquiond, "Emulation of FMA and correctly rounded sums: proved
// algorithms using rounding to odd", IEEE Trans. Computers 57(4), 2008).
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	if fma32Hard(s) {
		s = roundOdd(p, float64(c), s)
	}
	return float32(s)
}

// fma32Hard reports whether rounding the float64 s to float32 may differ
// from rounding the exact value it approximates: s is a float32 midpoint
// (its 29 low mantissa bits, which float32 drops, are exactly half a
// float32 ulp) or below 2^-126 (897 is the biased float64 exponent of
// 2^-126), where float32 keeps fewer bits.
func fma32Hard(s float64) bool {
	bits := math.Float64bits(s)
	return bits&(1<<29-1) == 1<<28 || bits&0x7ff0000000000000 < 897<<52
}

// roundOdd returns p + c rounded to odd (s is p + c rounded to nearest):
// if the sum is inexact and s has an even last bit, the float64 neighbour
// of s on the side of the exact value. Rarely needed, so kept out of line.
//
//go:noinline
func roundOdd(p, c, s float64) float64 {
	bb := s - p
	e := (p - (s - bb)) + (c - bb)
	bits := math.Float64bits(s)
	if e == 0 || bits&1 != 0 {
		return s
	}
	if (e > 0) == (s > 0) {
		return math.Float64frombits(bits + 1)
	}
	return math.Float64frombits(bits - 1)
}

// grow returns s resliced to n, reallocated if its capacity is smaller.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
