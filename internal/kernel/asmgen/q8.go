package main

import "fmt"

// q8Streams is the number of streams of the batched int8 kernels.
const q8Streams = 4

var (
	q8x = strided{x1: "R12", x3: "R13"} // activation rows, ldx apart
	q8y = strided{x1: "R14", x3: "R15"} // output rows, ldy apart
)

func q8File(a *asm) {
	a.para(`8-bit kernels (AVX-512 F/BW/DQ + VNNI). Weights are packed by NewQ8: per
block of 16 rows, one 64-byte vector per group of 4 columns (16 rows x 4
signed bytes). VPDPBUSD multiplies the 4 unsigned activation bytes,
broadcast to every lane, with each row's 4 signed weight bytes and adds
the 4 products to the row's int32 lane.`)
	q8AbsMax(a)
	q8Quant(a)
	q8MatVec1(a)
	q8MatVec4(a)
	q8MatVec4x2(a)
}

func q8AbsMax(a *asm) {
	a.text("q8AbsMaxAVX512", "(x *float32, n int) float32", 20)
	a.i("MOVQ x+0(FP), SI")
	a.i("MOVQ n+8(FP), CX")
	a.i("VPXORD Z0, Z0, Z0")
	a.i("MOVL $0x7fffffff, AX") // clears the sign bit
	a.i("VPBROADCASTD AX, Z1")
	a.blank()
	a.label("amloop")
	a.i("CMPQ CX, $16")
	a.i("JL amtail")
	a.i("VANDPS (SI), Z1, Z2")
	a.i("VMAXPS Z2, Z0, Z0")
	a.i("ADDQ $64, SI")
	a.i("SUBQ $16, CX")
	a.i("JMP amloop")
	a.blank()
	a.label("amtail")
	a.i("TESTQ CX, CX")
	a.i("JZ amreduce")
	a.lowMask(false)
	a.i("VMOVUPS.Z (SI), K1, Z2")
	a.i("VANDPS Z2, Z1, Z2")
	a.i("VMAXPS Z2, Z0, Z0")
	a.blank()
	a.label("amreduce")
	a.i("VEXTRACTF32X8 $1, Z0, Y1")
	a.i("VMAXPS Y1, Y0, Y0")
	a.i("VEXTRACTF128 $1, Y0, X1")
	a.i("VMAXPS X1, X0, X0")
	for _, imm := range []string{"0x4e", "0xb1"} {
		a.i("VPSHUFD $%s, X0, X1", imm)
		a.i("VMAXPS X1, X0, X0")
	}
	a.i("VMOVSS X0, ret+16(FP)")
	a.i("VZEROUPPER")
	a.i("RET")
	a.blank()
}

func q8Quant(a *asm) {
	a.text("q8QuantAVX512", "(dst *uint8, x *float32, n int, inv float32)", 28,
		"dst[i] = saturate_u8(round(x[i]*inv) + 128), rounding half to even",
		"(the MXCSR default).")
	a.i("MOVQ dst+0(FP), DI")
	a.i("MOVQ x+8(FP), SI")
	a.i("MOVQ n+16(FP), CX")
	a.i("VBROADCASTSS inv+24(FP), Z2")
	a.i("MOVL $128, AX")
	a.i("VPBROADCASTD AX, Z3")
	a.blank()
	a.label("qloop")
	a.i("CMPQ CX, $16")
	a.i("JL qtail")
	a.i("VMULPS (SI), Z2, Z0")
	q8QuantStore(a, "(DI)")
	a.i("ADDQ $64, SI")
	a.i("ADDQ $16, DI")
	a.i("SUBQ $16, CX")
	a.i("JMP qloop")
	a.blank()
	a.label("qtail")
	a.i("TESTQ CX, CX")
	a.i("JZ qdone")
	a.lowMask(false)
	a.i("VMOVUPS.Z (SI), K1, Z0")
	a.i("VMULPS Z0, Z2, Z0")
	q8QuantStore(a, "K1, (DI)")
	a.blank()
	a.label("qdone")
	a.i("VZEROUPPER")
	a.i("RET")
	a.blank()
}

// q8QuantStore rounds Z0, adds 128 and stores it as saturated bytes.
func q8QuantStore(a *asm, dst string) {
	a.i("VCVTPS2DQ Z0, Z0")
	a.i("VPADDD Z3, Z0, Z0")
	a.i("VPMOVUSDB Z0, %s", dst)
}

// q8Args loads the arguments shared by the four-stream kernels, through xs.
func q8Args(a *asm) {
	a.i("MOVQ y+0(FP), DI")
	a.i("MOVQ ldy+8(FP), R14")
	a.strides(q8y, 4)
	a.i("MOVQ w+16(FP), SI")
	a.i("MOVQ x+24(FP), DX")
	a.i("MOVQ ldx+32(FP), R12")
	a.strides(q8x, 4)
	a.i("MOVQ scale+40(FP), R8")
	a.i("MOVQ corr+48(FP), R9")
	a.i("MOVQ xs+56(FP), AX")
	for s := 0; s < q8Streams; s++ {
		a.i("VBROADCASTSS %s, Z%d", off(4*s, "(AX)"), 12+s)
	}
}

// q8Masks sets K2 to the last block's row mask and K1 to all rows.
func q8Masks(a *asm, maskArg int) {
	a.i("MOVQ mask+%d(FP), AX", maskArg)
	a.i("KMOVW AX, K2")
	a.i("MOVL $0xffff, AX")
	a.i("KMOVW AX, K1")
}

// q8BlockStart zeroes n accumulators and rewinds x and the group count.
func q8BlockStart(a *asm, label string, n int) {
	a.blank()
	a.label(label)
	a.zeroRegs(avx512, 0, n)
	a.i("MOVQ DX, BX")
	a.i("MOVQ R11, CX")
	a.blank()
}

// q8Next steps y, scales and corrections by nblk blocks and loops.
func q8Next(a *asm, nblk int, label string) {
	for _, r := range []string{"DI", "R8", "R9"} {
		a.i("ADDQ $%d, %s", 64*nblk, r)
	}
	a.i("DECQ R10")
	a.i("JNZ %s", label)
	a.i("VZEROUPPER")
	a.i("RET")
}

func q8MatVec1(a *asm) {
	a.text("q8MatVec1VNNI", "(y *float32, w *int8, x *uint8, scale *float32, corr *int32, xs float32, nblk, kg, mask int)", 72,
		"One stream, nblk blocks of 16 rows; mask selects the valid rows of the",
		"last block. Four accumulators take the column groups in turn.")
	a.i("MOVQ y+0(FP), DI")
	a.i("MOVQ w+8(FP), SI")
	a.i("MOVQ x+16(FP), DX")
	a.i("MOVQ scale+24(FP), R8")
	a.i("MOVQ corr+32(FP), R9")
	a.i("VBROADCASTSS xs+40(FP), Z10")
	a.i("MOVQ nblk+48(FP), R10")
	a.i("MOVQ kg+56(FP), R11")
	q8Masks(a, 64)
	const unroll = 4
	q8BlockStart(a, "m1blk", unroll)
	a.label("m1g4")
	a.i("CMPQ CX, $%d", unroll)
	a.i("JL m1g1")
	for g := 0; g < unroll; g++ {
		a.i("VPBROADCASTD %s, Z%d", off(4*g, "(BX)"), unroll+g)
	}
	for g := 0; g < unroll; g++ {
		a.i("VPDPBUSD %s, Z%d, Z%d", off(64*g, "(SI)"), unroll+g, g)
	}
	a.i("ADDQ $%d, BX", 4*unroll)
	a.i("ADDQ $%d, SI", 64*unroll)
	a.i("SUBQ $%d, CX", unroll)
	a.i("JMP m1g4")
	a.blank()
	a.label("m1g1")
	a.i("TESTQ CX, CX")
	a.i("JZ m1epi")
	a.i("VPBROADCASTD (BX), Z%d", unroll)
	a.i("VPDPBUSD (SI), Z%d, Z0", unroll)
	a.i("ADDQ $4, BX")
	a.i("ADDQ $64, SI")
	a.i("DECQ CX")
	a.i("JMP m1g1")
	a.blank()
	a.label("m1epi")
	for step := 1; step < unroll; step *= 2 {
		for r := 0; r < unroll; r += 2 * step {
			a.i("VPADDD Z%d, Z%d, Z%d", r+step, r, r)
		}
	}
	a.i("VPSUBD (R9), Z0, Z0")
	a.i("VCVTDQ2PS Z0, Z0")
	a.i("VMULPS (R8), Z0, Z0")
	a.i("CMPQ R10, $1")
	a.i("JNE m1store")
	a.i("KMOVW K2, K1")
	a.blank()
	a.label("m1store")
	a.i("VMOVUPS.Z (DI), K1, Z8")
	a.i("VFMADD231PS Z10, Z0, Z8")
	a.i("VMOVUPS Z8, K1, (DI)")
	q8Next(a, 1, "m1blk")
	a.blank()
}

func q8MatVec4(a *asm) {
	a.text("q8MatVec4VNNI", "(y *float32, ldy int, w *int8, x *uint8, ldx int, scale *float32, corr *int32, xs *float32, nblk, kg, mask int)", 88,
		"Four streams: x rows at x + s*ldx, y rows at y + s*ldy (byte strides),",
		"scales xs[0..3]. Each weight vector is loaded once for the four.")
	q8Args(a)
	a.i("MOVQ nblk+64(FP), R10")
	a.i("MOVQ kg+72(FP), R11")
	q8Masks(a, 80)
	q8BlockStart(a, "m4blk", q8Streams)
	a.label("m4g")
	a.i("VMOVDQU32 (SI), Z8")
	for s := 0; s < q8Streams; s++ {
		a.i("VPBROADCASTD %s, Z%d", q8x.at("BX", s), 4+s)
	}
	for s := 0; s < q8Streams; s++ {
		a.i("VPDPBUSD Z8, Z%d, Z%d", 4+s, s)
	}
	a.i("ADDQ $4, BX")
	a.i("ADDQ $64, SI")
	a.i("DECQ CX")
	a.i("JNZ m4g")
	a.blank()
	a.i("VMOVDQU32 (R9), Z9")
	a.i("VMOVUPS (R8), Z11")
	a.i("CMPQ R10, $1")
	a.i("JNE m4store")
	a.i("KMOVW K2, K1")
	a.blank()
	a.label("m4store")
	for s := 0; s < q8Streams; s++ {
		acc := fmt.Sprintf("Z%d", s)
		y := q8y.at("DI", s)
		q8Scale(a, acc, "Z9")
		a.i("VMOVUPS.Z %s, K1, Z8", y)
		a.i("VFMADD231PS Z%d, %s, Z8", 12+s, acc)
		a.i("VMOVUPS Z8, K1, %s", y)
		a.blank()
	}
	q8Next(a, 1, "m4blk")
	a.blank()
}

// q8Scale turns the int32 sums in acc into float32 products: (acc - corr)
// times the row scales in Z11.
func q8Scale(a *asm, acc, corr string) {
	a.i("VPSUBD %s, %s, %s", corr, acc, acc)
	a.i("VCVTDQ2PS %s, %s", acc, acc)
	a.i("VMULPS Z11, %s, %s", acc, acc)
}

func q8MatVec4x2(a *asm) {
	a.text("q8MatVec4x2VNNI", "(y *float32, ldy int, w *int8, x *uint8, ldx int, scale *float32, corr *int32, xs *float32, npair, kg int)", 80,
		"Four streams, npair pairs of full 16-row blocks: each broadcast",
		"activation word feeds two blocks (8 accumulators), so a column group",
		"costs 2 weight loads and 4 broadcasts for 8 VPDPBUSD.")
	q8Args(a)
	a.i("MOVQ npair+64(FP), R10")
	a.i("MOVQ kg+72(FP), R11")
	a.i("MOVQ R11, AX")
	a.i("SHLQ $6, AX // bytes of one block of weights")
	const blocks = 2
	q8BlockStart(a, "p4blk", blocks*q8Streams)
	a.label("p4g")
	a.i("VMOVDQU32 (SI), Z8")
	a.i("VMOVDQU32 (SI)(AX*1), Z9")
	for s := 0; s < q8Streams; s++ {
		a.i("VPBROADCASTD %s, Z%d", q8x.at("BX", s), 16+s)
	}
	for s := 0; s < q8Streams; s++ {
		for b := 0; b < blocks; b++ {
			a.i("VPDPBUSD Z%d, Z%d, Z%d", 8+b, 16+s, b*q8Streams+s)
		}
	}
	a.i("ADDQ $4, BX")
	a.i("ADDQ $64, SI")
	a.i("DECQ CX")
	a.i("JNZ p4g")
	a.blank()
	notes := []string{"Block A: rows at DI, scales and corrections at R8, R9.", "Block B: the next 16 rows."}
	for b := 0; b < blocks; b++ {
		a.note(notes[b])
		a.i("VMOVDQU32 %s, Z10", off(64*b, "(R9)"))
		a.i("VMOVUPS %s, Z11", off(64*b, "(R8)"))
		for s := 0; s < q8Streams; s++ {
			acc := fmt.Sprintf("Z%d", b*q8Streams+s)
			y := off(64*b, q8y.at("DI", s))
			q8Scale(a, acc, "Z10")
			a.i("VFMADD213PS %s, Z%d, %s", y, 12+s, acc)
			a.i("VMOVUPS %s, %s", acc, y)
		}
		a.blank()
	}
	a.i("ADDQ AX, SI // skip block B's weights (the loop walked block A's)")
	q8Next(a, blocks, "p4blk")
}
