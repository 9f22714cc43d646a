package main

import "fmt"

// A panel of the packed layout is 32 rows: two zmm or four ymm per column.
const panelRows = 32

// packedShape is one panel kernel: S streams against P panels at a time.
type packedShape struct{ s, p int }

// packedShapes are the kernels in file order, per instruction set.
var packedShapes = []struct {
	s      isa
	shapes []packedShape
}{
	{avx512, []packedShape{{1, 4}, {1, 1}, {2, 2}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}, {7, 1}, {8, 1}}},
	{avx2, []packedShape{{1, 2}, {1, 1}, {2, 1}, {3, 1}}},
}

var (
	packX   = strided{x1: "R10", x3: "R11", x5: "R12", x7: "R13"} // streams of x, ldx apart
	packPan = strided{x1: "R14", x3: "R15"}                       // panels of W
)

func packedFile(a *asm) {
	a.para(`Panel kernels for any number of streams: packedSxP computes S streams
against P panels at a time (S*P*2 accumulators). Every output is the
same sequential chain acc = fma(W[r][c], x[c], acc) over c = 0..cols-1
from acc = 0, then y[r] += acc, whatever S and P: a stream's result does
not depend on the batch it is stepped in.`)
	for k, set := range packedShapes {
		if set.s == avx2 {
			a.para(`AVX2 panel kernels: the same sequential FMA chain per output as the
AVX-512 ones (so the results are bit-identical), 32-row panels as four
ymm, W read as FMA memory operands. Whole panels only: the caller runs
a partial last panel on a zero-padded copy of y.`)
		}
		for j, sh := range set.shapes {
			packed(a, set.s, sh)
			if k < len(packedShapes)-1 || j < len(set.shapes)-1 {
				a.blank()
			}
		}
	}
}

func packed(a *asm, s isa, sh packedShape) {
	name := fmt.Sprintf("packed%dx%d%s", sh.s, sh.p, s.name)
	vecs := panelRows / s.lanes // vectors per panel column
	nacc := sh.s * sh.p * vecs
	acc := func(st, p, h int) string { return s.v(st*sh.p*vecs + p*vecs + h) }
	masked := s == avx512 // AVX-512 stores a partial panel under K2, K3
	sig, args := "(y, p, x *float32, npan, cols, ldx, ldy int)", 56
	if masked {
		sig, args = "(y, p, x *float32, npan, cols, ldx, ldy, mask int)", 64
	}
	a.text(name, sig, args, fmt.Sprintf("npan must be a multiple of %d.", sh.p))
	a.i("MOVQ y+0(FP), DI")
	a.i("MOVQ p+8(FP), AX")
	a.i("MOVQ x+16(FP), SI")
	a.i("MOVQ npan+24(FP), R9")
	a.i("MOVQ cols+32(FP), R8")
	a.i("MOVQ ldx+40(FP), R10")
	a.i("MOVQ ldy+48(FP), BX")
	if masked {
		a.i("MOVQ mask+56(FP), CX")
		a.i("KMOVW CX, K2")
		a.i("SHRQ $16, CX")
		a.i("KMOVW CX, K3")
		a.strides(packX, 8)
		a.note("R14 = bytes per panel (cols*32*4), R15 = 3 panels.")
	}
	a.i("MOVQ R8, R14")
	a.i("SHLQ $7, R14")
	if masked {
		a.i("LEAQ (R14)(R14*2), R15")
	}
	a.i("TESTQ R9, R9")
	a.i("JEQ   %s_done", name)
	a.i("TESTQ R8, R8")
	a.i("JEQ   %s_done", name)
	a.blank()

	a.label(name + "_panel")
	a.zeroRegs(s, 0, nacc)
	a.i("MOVQ SI, DX")
	if masked {
		a.i("MOVQ cols+32(FP), CX")
	} else {
		a.i("MOVQ R8, CX")
	}
	a.blank()

	a.label(name + "_loop")
	wreg := func(p, h int) string { return s.v(nacc + p*vecs + h) }
	bcast := nacc // first broadcast register
	if masked {
		// W columns in registers, shared by the streams.
		for p := 0; p < sh.p; p++ {
			for h := 0; h < vecs; h++ {
				a.i("VMOVUPS %s, %s", off(h*s.size(), packPan.at("AX", p)), wreg(p, h))
			}
		}
		bcast = nacc + sh.p*vecs
	}
	for st := 0; st < sh.s; st++ {
		a.i("VBROADCASTSS %s, %s", packX.at("DX", st), s.v(bcast+st))
	}
	for st := 0; st < sh.s; st++ {
		for p := 0; p < sh.p; p++ {
			for h := 0; h < vecs; h++ {
				w := wreg(p, h)
				if !masked {
					w = off(h*s.size(), packPan.at("AX", p))
				}
				a.i("VFMADD231PS %s, %s, %s", w, s.v(bcast+st), acc(st, p, h))
			}
		}
	}
	a.i("ADDQ $%d, AX", panelRows*4)
	a.i("ADDQ $4, DX")
	a.i("DECQ CX")
	a.i("JNE  %s_loop", name)
	a.blank()

	tmp := s.v(bcast)
	for p := 0; p < sh.p; p++ {
		a.i("LEAQ %d(DI), DX", p*panelRows*4)
		for st := 0; st < sh.s; st++ {
			if st > 0 {
				a.i("ADDQ BX, DX")
			}
			for h := 0; h < vecs; h++ {
				r := acc(st, p, h)
				if masked {
					y := off(h*s.size(), "(DX)")
					k := 2 + h
					a.i("VMOVUPS.Z %s, K%d, %s", y, k, tmp)
					a.i("VADDPS %s, %s, %s", r, tmp, r)
					a.i("VMOVUPS %s, K%d, %s", r, k, y)
				} else {
					y := fmt.Sprintf("%d(DX)", h*s.size())
					a.i("VADDPS %s, %s, %s", y, r, r)
					a.i("VMOVUPS %s, %s", r, y)
				}
			}
		}
	}
	// The loop advanced AX by one panel; skip the other P-1.
	switch sh.p - 1 {
	case 0:
	case 1:
		a.i("LEAQ (AX)(R14*1), AX")
	case 3:
		a.i("ADDQ R15, AX")
	default:
		panic(fmt.Sprintf("asmgen: %d panels", sh.p))
	}
	a.i("ADDQ $%d, DI", sh.p*panelRows*4)
	a.i("SUBQ $%d, R9", sh.p)
	a.i("JNE  %s_panel", name)
	a.blank()
	a.label(name + "_done")
	a.i("VZEROUPPER")
	a.i("RET")
}
