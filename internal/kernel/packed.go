package kernel

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
// < nb, y[s*ldy:][:rows] += W x[s*ldx:][:cols]. With 8 or more streams on
// AVX-512 it runs on the panels (weights read once per 8 streams, no
// horizontal sums); otherwise it is MatMulAddBatch on the row-major W.
func MatMulAddPacked(y []float32, ldy int, p *Packed, x []float32, ldx int, nb int) {
	rows, cols := p.rows, p.cols
	if nb < 0 || ldx < cols || ldy < rows ||
		(nb > 0 && (len(x) < (nb-1)*ldx+cols || len(y) < (nb-1)*ldy+rows)) {
		panic("kernel: MatMulAddPacked: slice too short or stride too small for shape")
	}
	cur.packed(y, ldy, p, x, ldx, nb)
}

// packedGo is the packed product of implementations without a panel
// kernel: the row-major product of the same implementation.
func packedVia(matVec func(y, w, x []float32, rows, cols, nb, ldx, ldy int)) func(y []float32, ldy int, p *Packed, x []float32, ldx, nb int) {
	return func(y []float32, ldy int, p *Packed, x []float32, ldx, nb int) {
		matVec(y, p.w, x, p.rows, p.cols, nb, ldx, ldy)
	}
}

// grow returns s resliced to n, reallocated if its capacity is smaller.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
