//go:build !purego && amd64

#include "textflag.h"

// 8-bit kernels (AVX-512 F/BW/DQ + VNNI). Weights are packed by NewQ8: per
// block of 16 rows, one 64-byte vector per group of 4 columns (16 rows x 4
// signed bytes). VPDPBUSD multiplies the 4 unsigned activation bytes,
// broadcast to every lane, with each row's 4 signed weight bytes and adds
// the 4 products to the row's int32 lane.

// func q8AbsMaxAVX512(x *float32, n int) float32
TEXT ·q8AbsMaxAVX512(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VPXORD Z0, Z0, Z0
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z1

amloop:
	CMPQ CX, $16
	JL amtail
	VANDPS (SI), Z1, Z2
	VMAXPS Z2, Z0, Z0
	ADDQ $64, SI
	SUBQ $16, CX
	JMP amloop

amtail:
	TESTQ CX, CX
	JZ amreduce
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z2
	VANDPS Z2, Z1, Z2
	VMAXPS Z2, Z0, Z0

amreduce:
	VEXTRACTF32X8 $1, Z0, Y1
	VMAXPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPSHUFD $0xb1, X0, X1
	VMAXPS X1, X0, X0
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func q8QuantAVX512(dst *uint8, x *float32, n int, inv float32)
// dst[i] = saturate_u8(round(x[i]*inv) + 128), rounding half to even
// (the MXCSR default).
TEXT ·q8QuantAVX512(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS inv+24(FP), Z2
	MOVL $128, AX
	VPBROADCASTD AX, Z3

qloop:
	CMPQ CX, $16
	JL qtail
	VMULPS (SI), Z2, Z0
	VCVTPS2DQ Z0, Z0
	VPADDD Z3, Z0, Z0
	VPMOVUSDB Z0, (DI)
	ADDQ $64, SI
	ADDQ $16, DI
	SUBQ $16, CX
	JMP qloop

qtail:
	TESTQ CX, CX
	JZ qdone
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z0
	VMULPS Z0, Z2, Z0
	VCVTPS2DQ Z0, Z0
	VPADDD Z3, Z0, Z0
	VPMOVUSDB Z0, K1, (DI)

qdone:
	VZEROUPPER
	RET

// func q8MatVec1VNNI(y *float32, w *int8, x *uint8, scale *float32, corr *int32, xs float32, nblk, kg, mask int)
// One stream, nblk blocks of 16 rows; mask selects the valid rows of the
// last block. Four accumulators take the column groups in turn.
TEXT ·q8MatVec1VNNI(SB), NOSPLIT, $0-72
	MOVQ y+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ scale+24(FP), R8
	MOVQ corr+32(FP), R9
	VBROADCASTSS xs+40(FP), Z10
	MOVQ nblk+48(FP), R10
	MOVQ kg+56(FP), R11
	MOVQ mask+64(FP), AX
	KMOVW AX, K2
	MOVL $0xffff, AX
	KMOVW AX, K1

m1blk:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ DX, BX
	MOVQ R11, CX

m1g4:
	CMPQ CX, $4
	JL m1g1
	VPBROADCASTD (BX), Z4
	VPBROADCASTD 4(BX), Z5
	VPBROADCASTD 8(BX), Z6
	VPBROADCASTD 12(BX), Z7
	VPDPBUSD (SI), Z4, Z0
	VPDPBUSD 64(SI), Z5, Z1
	VPDPBUSD 128(SI), Z6, Z2
	VPDPBUSD 192(SI), Z7, Z3
	ADDQ $16, BX
	ADDQ $256, SI
	SUBQ $4, CX
	JMP m1g4

m1g1:
	TESTQ CX, CX
	JZ m1epi
	VPBROADCASTD (BX), Z4
	VPDPBUSD (SI), Z4, Z0
	ADDQ $4, BX
	ADDQ $64, SI
	DECQ CX
	JMP m1g1

m1epi:
	VPADDD Z1, Z0, Z0
	VPADDD Z3, Z2, Z2
	VPADDD Z2, Z0, Z0
	VPSUBD (R9), Z0, Z0
	VCVTDQ2PS Z0, Z0
	VMULPS (R8), Z0, Z0
	CMPQ R10, $1
	JNE m1store
	KMOVW K2, K1

m1store:
	VMOVUPS.Z (DI), K1, Z8
	VFMADD231PS Z10, Z0, Z8
	VMOVUPS Z8, K1, (DI)
	ADDQ $64, DI
	ADDQ $64, R8
	ADDQ $64, R9
	DECQ R10
	JNZ m1blk
	VZEROUPPER
	RET

// func q8MatVec4VNNI(y *float32, ldy int, w *int8, x *uint8, ldx int, scale *float32, corr *int32, xs *float32, nblk, kg, mask int)
// Four streams: x rows at x + s*ldx, y rows at y + s*ldy (byte strides),
// scales xs[0..3]. Each weight vector is loaded once for the four.
TEXT ·q8MatVec4VNNI(SB), NOSPLIT, $0-88
	MOVQ y+0(FP), DI
	MOVQ ldy+8(FP), R14
	LEAQ (R14)(R14*2), R15
	MOVQ w+16(FP), SI
	MOVQ x+24(FP), DX
	MOVQ ldx+32(FP), R12
	LEAQ (R12)(R12*2), R13
	MOVQ scale+40(FP), R8
	MOVQ corr+48(FP), R9
	MOVQ xs+56(FP), AX
	VBROADCASTSS (AX), Z12
	VBROADCASTSS 4(AX), Z13
	VBROADCASTSS 8(AX), Z14
	VBROADCASTSS 12(AX), Z15
	MOVQ nblk+64(FP), R10
	MOVQ kg+72(FP), R11
	MOVQ mask+80(FP), AX
	KMOVW AX, K2
	MOVL $0xffff, AX
	KMOVW AX, K1

m4blk:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ DX, BX
	MOVQ R11, CX

m4g:
	VMOVDQU32 (SI), Z8
	VPBROADCASTD (BX), Z4
	VPBROADCASTD (BX)(R12*1), Z5
	VPBROADCASTD (BX)(R12*2), Z6
	VPBROADCASTD (BX)(R13*1), Z7
	VPDPBUSD Z8, Z4, Z0
	VPDPBUSD Z8, Z5, Z1
	VPDPBUSD Z8, Z6, Z2
	VPDPBUSD Z8, Z7, Z3
	ADDQ $4, BX
	ADDQ $64, SI
	DECQ CX
	JNZ m4g

	VMOVDQU32 (R9), Z9
	VMOVUPS (R8), Z11
	CMPQ R10, $1
	JNE m4store
	KMOVW K2, K1

m4store:
	VPSUBD Z9, Z0, Z0
	VCVTDQ2PS Z0, Z0
	VMULPS Z11, Z0, Z0
	VMOVUPS.Z (DI), K1, Z8
	VFMADD231PS Z12, Z0, Z8
	VMOVUPS Z8, K1, (DI)

	VPSUBD Z9, Z1, Z1
	VCVTDQ2PS Z1, Z1
	VMULPS Z11, Z1, Z1
	VMOVUPS.Z (DI)(R14*1), K1, Z8
	VFMADD231PS Z13, Z1, Z8
	VMOVUPS Z8, K1, (DI)(R14*1)

	VPSUBD Z9, Z2, Z2
	VCVTDQ2PS Z2, Z2
	VMULPS Z11, Z2, Z2
	VMOVUPS.Z (DI)(R14*2), K1, Z8
	VFMADD231PS Z14, Z2, Z8
	VMOVUPS Z8, K1, (DI)(R14*2)

	VPSUBD Z9, Z3, Z3
	VCVTDQ2PS Z3, Z3
	VMULPS Z11, Z3, Z3
	VMOVUPS.Z (DI)(R15*1), K1, Z8
	VFMADD231PS Z15, Z3, Z8
	VMOVUPS Z8, K1, (DI)(R15*1)

	ADDQ $64, DI
	ADDQ $64, R8
	ADDQ $64, R9
	DECQ R10
	JNZ m4blk
	VZEROUPPER
	RET

// func q8MatVec4x2VNNI(y *float32, ldy int, w *int8, x *uint8, ldx int, scale *float32, corr *int32, xs *float32, npair, kg int)
// Four streams, npair pairs of full 16-row blocks: each broadcast
// activation word feeds two blocks (8 accumulators), so a column group
// costs 2 weight loads and 4 broadcasts for 8 VPDPBUSD.
TEXT ·q8MatVec4x2VNNI(SB), NOSPLIT, $0-80
	MOVQ y+0(FP), DI
	MOVQ ldy+8(FP), R14
	LEAQ (R14)(R14*2), R15
	MOVQ w+16(FP), SI
	MOVQ x+24(FP), DX
	MOVQ ldx+32(FP), R12
	LEAQ (R12)(R12*2), R13
	MOVQ scale+40(FP), R8
	MOVQ corr+48(FP), R9
	MOVQ xs+56(FP), AX
	VBROADCASTSS (AX), Z12
	VBROADCASTSS 4(AX), Z13
	VBROADCASTSS 8(AX), Z14
	VBROADCASTSS 12(AX), Z15
	MOVQ npair+64(FP), R10
	MOVQ kg+72(FP), R11
	MOVQ R11, AX
	SHLQ $6, AX // bytes of one block of weights

p4blk:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	MOVQ DX, BX
	MOVQ R11, CX

p4g:
	VMOVDQU32 (SI), Z8
	VMOVDQU32 (SI)(AX*1), Z9
	VPBROADCASTD (BX), Z16
	VPBROADCASTD (BX)(R12*1), Z17
	VPBROADCASTD (BX)(R12*2), Z18
	VPBROADCASTD (BX)(R13*1), Z19
	VPDPBUSD Z8, Z16, Z0
	VPDPBUSD Z9, Z16, Z4
	VPDPBUSD Z8, Z17, Z1
	VPDPBUSD Z9, Z17, Z5
	VPDPBUSD Z8, Z18, Z2
	VPDPBUSD Z9, Z18, Z6
	VPDPBUSD Z8, Z19, Z3
	VPDPBUSD Z9, Z19, Z7
	ADDQ $4, BX
	ADDQ $64, SI
	DECQ CX
	JNZ p4g

	// Block A: rows at DI, scales and corrections at R8, R9.
	VMOVDQU32 (R9), Z10
	VMOVUPS (R8), Z11
	VPSUBD Z10, Z0, Z0
	VCVTDQ2PS Z0, Z0
	VMULPS Z11, Z0, Z0
	VFMADD213PS (DI), Z12, Z0
	VMOVUPS Z0, (DI)
	VPSUBD Z10, Z1, Z1
	VCVTDQ2PS Z1, Z1
	VMULPS Z11, Z1, Z1
	VFMADD213PS (DI)(R14*1), Z13, Z1
	VMOVUPS Z1, (DI)(R14*1)
	VPSUBD Z10, Z2, Z2
	VCVTDQ2PS Z2, Z2
	VMULPS Z11, Z2, Z2
	VFMADD213PS (DI)(R14*2), Z14, Z2
	VMOVUPS Z2, (DI)(R14*2)
	VPSUBD Z10, Z3, Z3
	VCVTDQ2PS Z3, Z3
	VMULPS Z11, Z3, Z3
	VFMADD213PS (DI)(R15*1), Z15, Z3
	VMOVUPS Z3, (DI)(R15*1)

	// Block B: the next 16 rows.
	VMOVDQU32 64(R9), Z10
	VMOVUPS 64(R8), Z11
	VPSUBD Z10, Z4, Z4
	VCVTDQ2PS Z4, Z4
	VMULPS Z11, Z4, Z4
	VFMADD213PS 64(DI), Z12, Z4
	VMOVUPS Z4, 64(DI)
	VPSUBD Z10, Z5, Z5
	VCVTDQ2PS Z5, Z5
	VMULPS Z11, Z5, Z5
	VFMADD213PS 64(DI)(R14*1), Z13, Z5
	VMOVUPS Z5, 64(DI)(R14*1)
	VPSUBD Z10, Z6, Z6
	VCVTDQ2PS Z6, Z6
	VMULPS Z11, Z6, Z6
	VFMADD213PS 64(DI)(R14*2), Z14, Z6
	VMOVUPS Z6, 64(DI)(R14*2)
	VPSUBD Z10, Z7, Z7
	VCVTDQ2PS Z7, Z7
	VMULPS Z11, Z7, Z7
	VFMADD213PS 64(DI)(R15*1), Z15, Z7
	VMOVUPS Z7, 64(DI)(R15*1)

	ADDQ AX, SI // skip block B's weights (the loop walked block A's)
	ADDQ $128, DI
	ADDQ $128, R8
	ADDQ $128, R9
	DECQ R10
	JNZ p4blk
	VZEROUPPER
	RET
