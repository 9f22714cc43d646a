package main

import "fmt"

// gemmTile is one register-blocked micro-kernel: mr rows of A by two
// vectors of B columns, 2*mr accumulators.
type gemmTile struct {
	s  isa
	mr int
	// bcast names the registers that take the broadcast A elements, in
	// turn (AVX-512 rotates six to hide latency, AVX2 reuses one).
	bcast []int
	// half is the row at which A is re-based on BX (a second pointer
	// 6 rows down), or 0 for none: strides reach 0..5 rows.
	half int
}

var gemmTiles = []gemmTile{
	{s: avx512, mr: 12, bcast: []int{26, 27, 28, 29, 30, 31}, half: 6},
	{s: avx2, mr: 6, bcast: []int{14}},
}

func gemmFile(a *asm) {
	a.para(`GEMM micro-kernels: a register-blocked tile of C = alpha * A B (+ C).
A element (i, p) is at a + i*rs + p*cs (byte strides), so the same
kernel reads A row-major (rs = lda*4, cs = 4) or transposed (rs = 4,
cs = lda*4) without packing; B is packed: k rows of nr contiguous
floats. acc != 0 adds the tile to C, acc == 0 overwrites C.`)
	for _, t := range gemmTiles {
		gemmKernel(a, t)
		a.blank()
	}
}

func gemmKernel(a *asm, t gemmTile) {
	s := t.s
	nr := 2 * s.lanes
	name := fmt.Sprintf("gemm%dx%d%s", t.mr, nr, s.name)
	nacc := 2 * t.mr
	b0, b1 := s.v(nacc), s.v(nacc+1) // the two vectors of a B row
	a.text(name, "(k int, a *float32, rs, cs int, b *float32, c *float32, ldc int, alpha float32, acc int)", 72)
	a.i("MOVQ k+0(FP), CX")
	a.i("MOVQ a+8(FP), AX")
	a.i("MOVQ rs+16(FP), R8")
	a.i("MOVQ cs+24(FP), DX")
	a.i("MOVQ b+32(FP), SI")
	st := strided{x1: "R8", x3: "R9", x5: "R10"}
	a.strides(st, 6)
	if t.half > 0 {
		a.i("LEAQ (AX)(R9*2), BX")
	}
	a.zeroRegs(s, 0, nacc)
	a.i("TESTQ CX, CX")
	a.i("JEQ   %s_store", name)
	a.blank()

	a.label(name + "_loop")
	a.i("VMOVUPS (SI), %s", b0)
	a.i("VMOVUPS %d(SI), %s", s.size(), b1)
	for r := 0; r < t.mr; r++ {
		base, k := "AX", r
		if t.half > 0 && r >= t.half {
			base, k = "BX", r-t.half
		}
		x := s.v(t.bcast[r%len(t.bcast)])
		a.i("VBROADCASTSS %s, %s", st.at(base, k), x)
		a.i("VFMADD231PS %s, %s, %s", b0, x, s.v(2*r))
		a.i("VFMADD231PS %s, %s, %s", b1, x, s.v(2*r+1))
	}
	a.i("ADDQ $%d, SI", 2*s.size())
	a.i("ADDQ DX, AX")
	if t.half > 0 {
		a.i("ADDQ DX, BX")
	}
	a.i("DECQ CX")
	a.i("JNE  %s_loop", name)
	a.blank()

	a.label(name + "_store")
	a.i("MOVQ c+40(FP), DI")
	a.i("MOVQ ldc+48(FP), R11")
	a.i("VBROADCASTSS alpha+56(FP), %s", b0)
	for r := 0; r < nacc; r++ {
		a.i("VMULPS %s, %s, %s", b0, s.v(r), s.v(r))
	}
	a.i("CMPQ acc+64(FP), $0")
	a.i("JEQ  %s_over", name)
	gemmStore(a, t, true)
	a.blank()
	a.label(name + "_over")
	gemmStore(a, t, false)
}

// gemmStore writes the tile to C row by row, adding C first if add.
func gemmStore(a *asm, t gemmTile, add bool) {
	s := t.s
	for r := 0; r < t.mr; r++ {
		if r > 0 {
			a.i("ADDQ R11, DI")
		}
		lo, hi := s.v(2*r), s.v(2*r+1)
		if add {
			a.i("VADDPS (DI), %s, %s", lo, lo)
			a.i("VADDPS %d(DI), %s, %s", s.size(), hi, hi)
		}
		a.i("VMOVUPS %s, (DI)", lo)
		a.i("VMOVUPS %s, %d(DI)", hi, s.size())
	}
	a.i("VZEROUPPER")
	a.i("RET")
}
