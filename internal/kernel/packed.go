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
// row-major W.
func packedGo(y []float32, ldy int, p *Packed, x []float32, ldx, nb int) {
	rows, cols := p.rows, p.cols
	for s := 0; s < nb; s++ {
		xs := x[s*ldx : s*ldx+cols]
		ys := y[s*ldy : s*ldy+rows]
		for r := range ys {
			var acc float32
			for c, v := range p.w[r*cols : (r+1)*cols] {
				acc = fma32(v, xs[c], acc)
			}
			ys[r] += acc
		}
	}
}

// fma32 returns a*b + c rounded once to float32, as VFMADD231PS does.
// The product is exact in float64; the float64 sum is made "round to
// odd" (if inexact, its last bit is forced to 1 toward the exact value,
// known from the TwoSum error), and a round-to-odd result with at least
// two extra bits rounds correctly to float32 (Boldo and Melquiond,
// "Emulation of FMA and correctly rounded sums: proved algorithms using
// rounding to odd", IEEE Trans. Computers 57(4), 2008).
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	c64 := float64(c)
	s := p + c64
	bb := s - p
	e := (p - (s - bb)) + (c64 - bb)
	if e != 0 {
		if bits := math.Float64bits(s); bits&1 == 0 {
			if (e > 0) == (s > 0) {
				bits++
			} else {
				bits--
			}
			s = math.Float64frombits(bits)
		}
	}
	return float32(s)
}

// grow returns s resliced to n, reallocated if its capacity is smaller.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
