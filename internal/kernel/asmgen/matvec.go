package main

import (
	"fmt"
	"math/bits"
)

// mvW addresses W rows 0..7 of a block from AX (and 8..15 from BX): R8 is
// the row stride, R9, R10, R11 its multiples 3, 5 and 7.
var mvW = strided{x1: "R8", x3: "R9", x5: "R10", x7: "R11"}

// mvKernel is one matrix-vector kernel: 16 (AVX-512) or 8 (AVX2) rows
// with one accumulator each, W in float32 or binary16.
type mvKernel struct {
	s      isa
	f16    bool
	name   string
	prefix string // label prefix
	sig    string
	doc    []string
	args   int
	// chunks: the caller gives the whole-vector count and handles the
	// column tail (no masked tail here); the later arguments shift by 8.
	chunks bool
	// notes comments the shuffle tree.
	notes bool
}

func (k mvKernel) rows() int { return k.s.lanes }

var mvKernels = []mvKernel{
	{s: avx512, name: "matVecAVX512", prefix: "mv512", notes: true,
		sig: "(y, w, x *float32, nblk, cols, nb, ldx, ldy int)", args: 64,
		doc: []string{"rows = 16*nblk; ldx and ldy are byte strides between streams."}},
	{s: avx2, name: "matVecAVX2", prefix: "mv2",
		sig: "(y, w, x *float32, nblk, cols, nb, ldx, ldy int)", args: 64,
		doc: []string{"rows = 8*nblk; ldx and ldy are byte strides between streams."}},
	{s: avx512, f16: true, name: "matVecF16AVX512", prefix: "mvh512",
		sig: "(y *float32, w *uint16, x *float32, nblk, cols, nb, ldx, ldy int)", args: 64,
		doc: []string{"matVecAVX512 with W in IEEE binary16: rows = 16*nblk, each W vector is",
			"loaded and widened to float32 (VCVTPH2PS) before its FMA."}},
	{s: avx2, f16: true, chunks: true, name: "matVecF16AVX2", prefix: "mvh2",
		sig: "(y *float32, w *uint16, x *float32, nblk, cols, chunks, nb, ldx, ldy int)", args: 72,
		doc: []string{"matVecAVX2 with W in binary16 (F16C VCVTPH2PS): rows = 8*nblk, the",
			"first 8*chunks columns of each row (the caller adds the others); cols is",
			"the row length of W."}},
}

func matvecFile(a *asm) {
	a.para(`Matrix-vector kernels: y[s] += W x[s] for a block of rows, nb streams.
W rows are walked 16 (AVX-512) or 8 (AVX2) at a time with one
accumulator per row; the accumulators are then reduced and transposed
together by a shuffle tree so that one vector add updates 16 (8)
consecutive y values. Column tails use masked loads (k-masks on AVX-512,
VMASKMOVPS on AVX2), which never touch memory past the row.`)
	matVec(a, mvKernels[0])
	a.blank()
	matVec(a, mvKernels[1])
	a.blank()
	a.comment("tailmask: 8 all-ones then 8 zero words; loading 8 words at",
		"tailmask+32-4*t gives a mask of the first t lanes.")
	var words [16]uint32
	for k := 0; k < 8; k++ {
		words[k] = ^uint32(0)
	}
	vals := make([]string, 8)
	for k := range vals {
		v := uint64(words[2*k]) | uint64(words[2*k+1])<<32
		vals[k] = fmt.Sprint(v)
		if v != 0 {
			vals[k] = fmt.Sprintf("%#x", v)
		}
	}
	a.data("tailmask", 8, vals)
	a.blank()
	dot(a, avx512, "dot512")
	a.blank()
	dot(a, avx2, "dot2")
	a.blank()
	matVec4x4(a)
	a.blank()
	matVec(a, mvKernels[2])
	a.blank()
	matVec(a, mvKernels[3])
}

// tailMask loads into reg the AVX2 mask of the first CX lanes (CX < 8).
func tailMask(a *asm, reg string) {
	a.i("LEAQ tailmask<>+32(SB), AX")
	a.i("SHLQ $2, CX")
	a.i("SUBQ CX, AX")
	a.i("VMOVDQU (AX), %s", reg)
}

// rowAddr addresses row r of the current block of W.
func (k mvKernel) rowAddr(r int) string {
	if r >= 8 {
		return mvW.at("BX", r-8)
	}
	return mvW.at("AX", r)
}

func matVec(a *asm, k mvKernel) {
	s, p, n := k.s, k.prefix, k.rows()
	x := s.v(n) // the x vector
	a.text(k.name, k.sig, k.args, k.doc...)
	a.i("MOVQ cols+32(FP), R8")
	if k.chunks {
		a.i("MOVQ chunks+40(FP), R15")
	} else {
		a.i("MOVQ R8, R15")
		a.i("SHRQ $%d, R15", bits.TrailingZeros(uint(s.lanes))) // whole vectors
		a.i("MOVQ R8, CX")
		a.i("ANDQ $%d, CX", s.lanes-1)
		if s == avx512 {
			a.lowMask(false)
		} else {
			a.note("Y15 = mask of the first cols%8 lanes.")
			tailMask(a, "Y15")
		}
	}
	elem := 4
	if k.f16 {
		elem = 2
	}
	a.i("SHLQ $%d, R8", bits.TrailingZeros(uint(elem))) // row stride in bytes
	a.strides(mvW, 8)
	a.i("MOVQ w+8(FP), SI")
	a.i("MOVQ y+0(FP), DI")
	a.i("CMPQ nblk+24(FP), $0")
	a.i("JEQ  %sdone", p)
	a.blank()
	shiftArgs := 0
	if k.chunks {
		shiftArgs = 8
	}
	a.label(p + "block")
	a.i("MOVQ x+16(FP), R13")
	a.i("MOVQ DI, R14")
	a.i("MOVQ nb+%d(FP), R12", 40+shiftArgs)
	a.blank()
	a.label(p + "stream")
	a.zeroRegs(s, 0, n)
	a.i("MOVQ SI, AX")
	if n > 8 {
		a.i("LEAQ (SI)(R8*8), BX")
	}
	a.i("MOVQ R13, DX")
	a.i("MOVQ R15, CX")
	a.i("TESTQ CX, CX")
	if k.chunks {
		a.i("JEQ  %sreduce", p)
	} else {
		a.i("JEQ  %stail", p)
	}
	a.blank()

	// widen: registers for the widened W vectors, in turn.
	widen := []int{17, 18, 19, 20, 21, 22, 23, 24}
	if s == avx2 {
		widen = []int{9, 10, 11, 12, 13, 14}
	}
	a.label(p + "loop")
	a.i("VMOVUPS (DX), %s", x)
	for r := 0; r < n; r++ {
		if k.f16 {
			w := s.v(widen[r%len(widen)])
			a.i("VCVTPH2PS %s, %s", k.rowAddr(r), w)
			a.i("VFMADD231PS %s, %s, %s", w, x, s.v(r))
		} else {
			a.i("VFMADD231PS %s, %s, %s", k.rowAddr(r), x, s.v(r))
		}
	}
	wstep := s.lanes * elem
	a.i("ADDQ $%d, AX", wstep)
	if n > 8 {
		a.i("ADDQ $%d, BX", wstep)
	}
	a.i("ADDQ $%d, DX", s.size())
	a.i("DECQ CX")
	a.i("JNE  %sloop", p)
	a.blank()

	if !k.chunks {
		a.label(p + "tail")
		if s == avx512 {
			a.i("KTESTW K1, K1")
			a.i("JEQ    %sreduce", p)
			a.i("VMOVUPS.Z (DX), K1, %s", x)
			for r := 0; r < n; r++ {
				if k.f16 {
					w := s.v(widen[r%len(widen)])
					a.i("VCVTPH2PS.Z %s, K1, %s", k.rowAddr(r), w)
					a.i("VFMADD231PS %s, %s, %s", w, x, s.v(r))
				} else {
					a.i("VFMADD231PS %s, %s, K1, %s", k.rowAddr(r), x, s.v(r))
				}
			}
		} else {
			a.i("VPTEST Y15, Y15")
			a.i("JEQ    %sreduce", p)
			a.i("VMASKMOVPS (DX), Y15, %s", x)
			for r := 0; r < n; r++ {
				a.i("VMASKMOVPS %s, Y15, Y9", k.rowAddr(r))
				a.i("VFMADD231PS Y9, %s, %s", x, s.v(r))
			}
		}
		a.blank()
	}

	a.label(p + "reduce")
	if s == avx512 {
		transpose16(a, k.notes)
	} else {
		transpose8(a)
	}
	a.i("VADDPS (R14), %s, %s", s.v(0), s.v(0))
	a.i("VMOVUPS %s, (R14)", s.v(0))
	a.i("ADDQ ldx+%d(FP), R13", 48+shiftArgs)
	a.i("ADDQ ldy+%d(FP), R14", 56+shiftArgs)
	a.i("DECQ R12")
	a.i("JNE  %sstream", p)
	a.blank()
	for r := 0; r < n; r += 8 {
		a.i("LEAQ (SI)(R8*8), SI")
	}
	a.i("ADDQ $%d, DI", 4*n)
	a.i("DECQ nblk+24(FP)")
	a.i("JNE  %sblock", p)
	a.blank()
	a.label(p + "done")
	a.i("VZEROUPPER")
	a.i("RET")
}

// shufAdd sets Zd to the sum of two shuffles (imm lo and hi) of Zd and Zs,
// through Z16 and Z17.
func shufAdd(a *asm, op, lo, hi string, d, s int) {
	a.i("%s $%s, Z%d, Z%d, Z16", op, lo, s, d)
	a.i("%s $%s, Z%d, Z%d, Z17", op, hi, s, d)
	a.i("VADDPS Z17, Z16, Z%d", d)
}

// transpose16 reduces the 16 row accumulators Z0..Z15 so that Z0 holds
// the 16 row sums in order.
func transpose16(a *asm, notes bool) {
	note := func(s string) {
		if notes {
			a.note(s)
		}
	}
	note("Z(2i) = per 128-bit lane [r2i(0+1), r2i(2+3), r2i+1(0+1), r2i+1(2+3)].")
	for d := 0; d < 16; d += 2 {
		shufAdd(a, "VSHUFPS", "0x88", "0xDD", d, d+1)
	}
	note("Z(4i) = per lane [r4i, r4i+1, r4i+2, r4i+3] (lane partial sums).")
	for d := 0; d < 16; d += 4 {
		shufAdd(a, "VSHUFPS", "0x88", "0xDD", d, d+2)
	}
	note("Z0 = [rows0-3 lanes 0+2, rows0-3 lanes 1+3, rows4-7 ..., ...], Z8 likewise for rows 8-15.")
	for d := 0; d < 16; d += 8 {
		shufAdd(a, "VSHUFF32X4", "0x44", "0xEE", d, d+4)
	}
	note("Z0 = rows 0..15 in order.")
	shufAdd(a, "VSHUFF32X4", "0x88", "0xDD", 0, 8)
}

// transpose8 reduces the 8 row accumulators Y0..Y7 so that Y0 holds the
// 8 row sums in order.
func transpose8(a *asm) {
	for step := 1; step < 4; step *= 2 {
		for d := 0; d < 8; d += 2 * step {
			a.i("VHADDPS Y%d, Y%d, Y%d", d+step, d, d)
		}
	}
	a.i("VPERM2F128 $0x20, Y4, Y0, Y1")
	a.i("VPERM2F128 $0x31, Y4, Y0, Y2")
	a.i("VADDPS Y2, Y1, Y0")
}

// dot writes the dot product: four vectors a step, then one, then a
// masked tail, into four accumulators.
func dot(a *asm, s isa, p string) {
	const unroll = 4
	a.text("dot"+s.name, "(x, y *float32, n int) float32", 28)
	a.i("MOVQ x+0(FP), SI")
	a.i("MOVQ y+8(FP), DI")
	a.i("MOVQ n+16(FP), CX")
	a.zeroRegs(s, 0, unroll)
	a.i("CMPQ CX, $%d", unroll*s.lanes)
	a.i("JLT  %sone", p)
	a.blank()
	a.label(p + "four")
	for u := 0; u < unroll; u++ {
		a.i("VMOVUPS %s, %s", off(u*s.size(), "(SI)"), s.v(unroll+u))
	}
	for u := 0; u < unroll; u++ {
		a.i("VFMADD231PS %s, %s, %s", off(u*s.size(), "(DI)"), s.v(unroll+u), s.v(u))
	}
	a.i("ADDQ $%d, SI", unroll*s.size())
	a.i("ADDQ $%d, DI", unroll*s.size())
	a.i("SUBQ $%d, CX", unroll*s.lanes)
	a.i("CMPQ CX, $%d", unroll*s.lanes)
	a.i("JGE  %sfour", p)
	a.blank()
	a.label(p + "one")
	a.i("CMPQ CX, $%d", s.lanes)
	a.i("JLT  %stail", p)
	a.i("VMOVUPS (SI), %s", s.v(4))
	a.i("VFMADD231PS (DI), %s, %s", s.v(4), s.v(0))
	a.i("ADDQ $%d, SI", s.size())
	a.i("ADDQ $%d, DI", s.size())
	a.i("SUBQ $%d, CX", s.lanes)
	a.i("JMP  %sone", p)
	a.blank()
	a.label(p + "tail")
	a.i("TESTQ CX, CX")
	a.i("JEQ   %sreduce", p)
	if s == avx512 {
		a.lowMask(true)
		a.i("VMOVUPS.Z (SI), K1, Z4")
		a.i("VMOVUPS.Z (DI), K1, Z5")
	} else {
		tailMask(a, "Y8")
		a.i("VMASKMOVPS (SI), Y8, Y4")
		a.i("VMASKMOVPS (DI), Y8, Y5")
	}
	a.i("VFMADD231PS %s, %s, %s", s.v(5), s.v(4), s.v(1))
	a.blank()
	a.label(p + "reduce")
	for step := 1; step < unroll; step *= 2 {
		for d := 0; d < unroll; d += 2 * step {
			a.i("VADDPS %s, %s, %s", s.v(d+step), s.v(d), s.v(d))
		}
	}
	if s == avx512 {
		a.i("VEXTRACTF64X4 $1, Z0, Y1")
		a.i("VADDPS Y1, Y0, Y0")
	}
	hsum128(a)
	a.i("VZEROUPPER")
	a.i("MOVSS X0, ret+24(FP)")
	a.i("RET")
}

// matVec4x4 writes the batched AVX-512 kernel: 4 rows by 4 streams, 16
// accumulators Z(4s+r).
func matVec4x4(a *asm) {
	const rows, streams = 4, 4
	xs := strided{x1: "R10", x3: "R11"} // stream stride
	a.text("matVec4x4AVX512", "(y, w, x *float32, nblk, cols, nsb, ldx, ldy int)", 64,
		"Batched form: rows = 4*nblk, streams = 4*nsb; every loaded vector of W",
		"serves 4 streams and every vector of x serves 4 rows (16 accumulators,",
		"8 loads per 16 FMAs). ldx and ldy are byte strides between streams.")
	a.i("MOVQ cols+32(FP), R8")
	a.i("MOVQ R8, R15")
	a.i("SHRQ $4, R15")
	a.i("MOVQ R8, CX")
	a.i("ANDQ $15, CX")
	a.lowMask(false)
	a.i("SHLQ $2, R8")
	a.strides(mvW, rows)
	a.i("MOVQ ldx+48(FP), R10")
	a.strides(xs, streams)
	a.i("MOVQ ldy+56(FP), BX")
	a.i("MOVQ w+8(FP), SI")
	a.i("MOVQ y+0(FP), DI")
	a.i("CMPQ nblk+24(FP), $0")
	a.i("JEQ  mv44done")
	a.i("CMPQ nsb+40(FP), $0")
	a.i("JEQ  mv44done")
	a.blank()
	a.label("mv44block")
	a.i("MOVQ x+16(FP), R13")
	a.i("MOVQ DI, R14")
	a.i("MOVQ nsb+40(FP), R12")
	a.blank()
	a.label("mv44sblock")
	a.zeroRegs(avx512, 0, rows*streams)
	a.i("MOVQ SI, AX")
	a.i("MOVQ R13, DX")
	a.i("MOVQ R15, CX")
	a.i("TESTQ CX, CX")
	a.i("JEQ  mv44tail")
	a.blank()
	// body loads with load (and mask, "" or "K1, ") and multiplies.
	body := func(load, mask string) {
		for st := 0; st < streams; st++ {
			a.i("%s %s, %sZ%d", load, xs.at("DX", st), mask, 16+st)
		}
		for r := 0; r < rows; r++ {
			a.i("%s %s, %sZ%d", load, mvW.at("AX", r), mask, 20+r)
		}
		for st := 0; st < streams; st++ {
			for r := 0; r < rows; r++ {
				a.i("VFMADD231PS Z%d, Z%d, Z%d", 20+r, 16+st, rows*st+r)
			}
		}
	}
	a.label("mv44loop")
	body("VMOVUPS", "")
	a.i("ADDQ $64, AX")
	a.i("ADDQ $64, DX")
	a.i("DECQ CX")
	a.i("JNE  mv44loop")
	a.blank()
	a.label("mv44tail")
	a.i("KTESTW K1, K1")
	a.i("JEQ    mv44reduce")
	body("VMOVUPS.Z", "K1, ")
	a.blank()
	a.label("mv44reduce")
	transpose16(a, false)
	a.note("Z0 lanes 4s..4s+3 are stream s, rows 0..3.")
	for st := 0; st < streams; st++ {
		a.i("VEXTRACTF32X4 $%d, Z0, X%d", st, 16+st)
	}
	// y rows of the four streams: (R14), +BX, +2BX, then R14 += BX for +3BX.
	ys := []string{"(R14)", "(R14)(BX*1)", "(R14)(BX*2)", "(R14)(BX*2)"}
	for st := 0; st < streams; st++ {
		if st == 3 {
			a.i("ADDQ BX, R14")
		}
		a.i("VADDPS %s, X%d, X%d", ys[st], 16+st, 16+st)
		a.i("VMOVUPS X%d, %s", 16+st, ys[st])
	}
	a.i("LEAQ (R14)(BX*2), R14")
	a.i("ADDQ BX, R14")
	a.i("LEAQ (R13)(R10*4), R13")
	a.i("DECQ R12")
	a.i("JNE  mv44sblock")
	a.blank()
	a.i("LEAQ (SI)(R8*4), SI")
	a.i("ADDQ $16, DI")
	a.i("DECQ nblk+24(FP)")
	a.i("JNE  mv44block")
	a.blank()
	a.label("mv44done")
	a.i("VZEROUPPER")
	a.i("RET")
}
