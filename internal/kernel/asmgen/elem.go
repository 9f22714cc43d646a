package main

import (
	"fmt"
	"math"
	"strings"
)

// expConsts are the constant vectors of the exp kernel, in file order,
// with the float32 (or int32 for bias) value each lane holds. They are
// the constants of exp32 in go.go.
var expConsts = []struct {
	name string
	f    float64
	i    int32 // for integer tables (f == 0)
}{
	{name: "exphi", f: 88},
	{name: "explo", f: -87},
	{name: "log2e", f: 1.44269504088896341},
	{name: "half", f: 0.5},
	{name: "ln2hi", f: 0.693359375},
	{name: "ln2lo", f: -2.12194440e-4},
	{name: "p0", f: 1.9875691500e-4},
	{name: "p1", f: 1.3981999507e-3},
	{name: "p2", f: 8.3334519073e-3},
	{name: "p3", f: 4.1665795894e-2},
	{name: "p4", f: 1.6666665459e-1},
	{name: "p5", f: 5.0000001201e-1},
	{name: "one", f: 1},
	{name: "two", f: 2},
	{name: "negone", f: -1},
	{name: "bias", i: 127}, // float32 exponent bias
}

// elemOp is one elementwise kernel: its arguments and the body that maps
// the loaded vector(s) in registers 0 (and 8 for a second operand) to
// register 0.
type elemOp struct {
	name, sig string
	doc       []string
	args      int
	load      []string // argument loads; {v15} is vector register 15
	binary    bool     // a second input in DX
	body      func(a *asm, s isa)
}

// elemOps are the elementwise kernels in file order.
var elemOps = []elemOp{
	{name: "tanh", sig: "(dst, x *float32, n int)", args: 24, body: tanhBody},
	{name: "sigmoid", sig: "(dst, x *float32, n int)", args: 24, body: sigmoidBody},
	{name: "relu", sig: "(dst, x *float32, n int)", args: 24, body: func(a *asm, s isa) {
		a.i("VXORPS %s, %s, %s", s.v(1), s.v(1), s.v(1))
		a.i("VMAXPS %s, %s, %s", s.v(1), s.v(0), s.v(0))
	}},
	{name: "gate", sig: "(dst, a, b *float32, n int)", doc: []string{"dst = tanh(a) * sigmoid(b)"},
		args: 32, binary: true, body: func(a *asm, s isa) {
			tanhReg(a, s, 0)
			sigmoidReg(a, s, 8)
			a.i("VMULPS %s, %s, %s", s.v(8), s.v(0), s.v(0))
		}},
	{name: "add", sig: "(dst, a, b *float32, n int)", args: 32, binary: true, body: func(a *asm, s isa) {
		a.i("VADDPS %s, %s, %s", s.v(8), s.v(0), s.v(0))
	}},
	{name: "axpy", sig: "(y *float32, alpha float32, x *float32, n int)", args: 32, binary: true,
		load: []string{"MOVQ y+0(FP), DI", "MOVQ y+0(FP), SI", "MOVQ x+16(FP), DX", "MOVQ n+24(FP), CX",
			"VBROADCASTSS alpha+8(FP), {v15}"},
		body: func(a *asm, s isa) {
			a.i("VFMADD231PS %s, %s, %s", s.v(15), s.v(8), s.v(0))
		}},
}

func elemFile(a *asm) {
	a.para(`Elementwise kernels. exp follows exp32 in go.go step by step: clamp to
[-87, 88], n = floor(x*log2e + 0.5), r = x - n*ln2 (two-part ln2),
degree-6 polynomial, times 2^n built in the exponent bits. Then
tanh(x) = 1 - 2/(exp(2x)+1) and sigmoid(x) = 1/(1+exp(-x)), both with an
exact division.`)
	for _, c := range expConsts {
		v := fmt.Sprintf("0x%08x", math.Float32bits(float32(c.f)))
		if c.f == 0 {
			v = fmt.Sprint(c.i)
		}
		vals := make([]string, avx512.lanes)
		for k := range vals {
			vals[k] = v
		}
		a.data(c.name, 4, vals)
		a.blank()
	}
	for _, op := range elemOps {
		elemKernel(a, op, avx512)
		elemKernel(a, op, avx2)
	}
	a.blank()
	softmaxKernels(a)
}

// elemKernel writes one elementwise loop: whole vectors, then on AVX-512
// a masked tail; the AVX2 form takes n a multiple of 8.
func elemKernel(a *asm, op elemOp, s isa) {
	name := op.name + s.name
	doc := op.doc
	if s == avx2 {
		doc = append(doc[:len(doc):len(doc)], "n must be a multiple of 8.")
	}
	a.text(name, op.sig, op.args, doc...)
	load := op.load
	if load == nil {
		load = []string{"MOVQ dst+0(FP), DI", "MOVQ x+8(FP), SI", "MOVQ n+16(FP), CX"}
		if op.binary {
			load = []string{"MOVQ dst+0(FP), DI", "MOVQ a+8(FP), SI", "MOVQ b+16(FP), DX", "MOVQ n+24(FP), CX"}
		}
	}
	for _, l := range load {
		a.i("%s", strings.ReplaceAll(l, "{v15}", s.v(15)))
	}
	ptrs := []string{"SI", "DI"}
	if op.binary {
		ptrs = []string{"SI", "DX", "DI"}
	}
	a.label(name + "_loop")
	a.i("CMPQ CX, $%d", s.lanes)
	a.i("JLT  %s_tail", name)
	a.i("VMOVUPS (SI), %s", s.v(0))
	if op.binary {
		a.i("VMOVUPS (DX), %s", s.v(8))
	}
	op.body(a, s)
	a.i("VMOVUPS %s, (DI)", s.v(0))
	for _, p := range ptrs {
		a.i("ADDQ $%d, %s", s.size(), p)
	}
	a.i("SUBQ $%d, CX", s.lanes)
	a.i("JMP  %s_loop", name)
	a.label(name + "_tail")
	if s == avx512 {
		a.i("TESTQ CX, CX")
		a.i("JEQ   %s_done", name)
		a.lowMask(false)
		a.i("VMOVUPS.Z (SI), K1, %s", s.v(0))
		if op.binary {
			a.i("VMOVUPS.Z (DX), K1, %s", s.v(8))
		}
		op.body(a, s)
		a.i("VMOVUPS %s, K1, (DI)", s.v(0))
	}
	a.label(name + "_done")
	a.i("VZEROUPPER")
	a.i("RET")
	a.blank()
}

// exp replaces register x (already scaled and signed) by exp(x), using
// x+1, x+2 and x+3 as scratch.
func exp(a *asm, s isa, x int) {
	v, n, p, t := s.v(x), s.v(x+1), s.v(x+2), s.v(x+3)
	a.i("VMINPS exphi<>(SB), %s, %s", v, v)
	a.i("VMAXPS explo<>(SB), %s, %s", v, v)
	a.i("VMOVUPS half<>(SB), %s", n)
	a.i("VFMADD231PS log2e<>(SB), %s, %s", v, n)
	if s == avx512 {
		a.i("VRNDSCALEPS $0x09, %s, %s", n, n) // floor
	} else {
		a.i("VROUNDPS $0x09, %s, %s", n, n)
	}
	a.i("VFNMADD231PS ln2hi<>(SB), %s, %s", n, v)
	a.i("VFNMADD231PS ln2lo<>(SB), %s, %s", n, v)
	a.i("VMOVUPS p0<>(SB), %s", p)
	for k := 1; k <= 5; k++ {
		a.i("VFMADD213PS p%d<>(SB), %s, %s", k, v, p)
	}
	a.i("VMULPS %s, %s, %s", v, v, t)
	a.i("VFMADD213PS %s, %s, %s", v, t, p)
	a.i("VADDPS one<>(SB), %s, %s", p, p)
	a.i("VCVTTPS2DQ %s, %s", n, n)
	a.i("VPADDD bias<>(SB), %s, %s", n, n)
	a.i("VPSLLD $23, %s, %s", n, n)
	a.i("VMULPS %s, %s, %s", n, p, v)
}

// tanhReg: x = 1 - 2/(exp(2x)+1).
func tanhReg(a *asm, s isa, x int) {
	v, t := s.v(x), s.v(x+1)
	a.i("VADDPS %s, %s, %s", v, v, v)
	exp(a, s, x)
	a.i("VADDPS one<>(SB), %s, %s", v, v)
	a.i("VMOVUPS two<>(SB), %s", t)
	a.i("VDIVPS %s, %s, %s", v, t, t)
	a.i("VMOVUPS one<>(SB), %s", v)
	a.i("VSUBPS %s, %s, %s", t, v, v)
}

// sigmoidReg: x = 1/(1+exp(-x)).
func sigmoidReg(a *asm, s isa, x int) {
	v, t := s.v(x), s.v(x+1)
	a.i("VMULPS negone<>(SB), %s, %s", v, v)
	exp(a, s, x)
	a.i("VADDPS one<>(SB), %s, %s", v, v)
	a.i("VMOVUPS one<>(SB), %s", t)
	a.i("VDIVPS %s, %s, %s", v, t, v)
}

func tanhBody(a *asm, s isa)    { tanhReg(a, s, 0) }
func sigmoidBody(a *asm, s isa) { sigmoidReg(a, s, 0) }

// softmaxKernels writes the AVX-512 pieces of the softmax.
func softmaxKernels(a *asm) {
	z := avx512
	a.para(`Softmax pieces (AVX-512 only): the row maximum, exp(x - shift) with its
sum, and an affine map a*x + b.`)

	a.text("maxAVX512", "(x *float32, n int) float32", 20, "n >= 1.")
	a.i("MOVQ x+0(FP), SI")
	a.i("MOVQ n+8(FP), CX")
	a.i("VBROADCASTSS (SI), Z0")
	a.label("max512loop")
	a.i("CMPQ CX, $16")
	a.i("JLT  max512tail")
	a.i("VMAXPS (SI), Z0, Z0")
	a.i("ADDQ $64, SI")
	a.i("SUBQ $16, CX")
	a.i("JMP  max512loop")
	a.label("max512tail")
	a.i("TESTQ CX, CX")
	a.i("JEQ   max512reduce")
	a.lowMask(true)
	a.i("VMOVAPS Z0, Z1")
	a.i("VMOVUPS (SI), K1, Z1")
	a.i("VMAXPS Z1, Z0, Z0")
	a.label("max512reduce")
	a.i("VEXTRACTF64X4 $1, Z0, Y1")
	a.i("VMAXPS Y1, Y0, Y0")
	a.i("VEXTRACTF128 $1, Y0, X1")
	a.i("VMAXPS X1, X0, X0")
	for _, imm := range []string{"0x4E", "0xB1"} {
		a.i("VSHUFPS $%s, X0, X0, X1", imm)
		a.i("VMAXPS X1, X0, X0")
	}
	a.i("VZEROUPPER")
	a.i("MOVSS X0, ret+16(FP)")
	a.i("RET")
	a.blank()

	a.text("expShiftAVX512", "(dst, x *float32, n int, shift float32, store int) float32", 44,
		"Returns sum exp(x[i] - shift); stores the terms in dst if store != 0.")
	a.i("MOVQ dst+0(FP), DI")
	a.i("MOVQ x+8(FP), SI")
	a.i("MOVQ n+16(FP), CX")
	a.i("MOVQ store+32(FP), DX")
	a.i("VBROADCASTSS shift+24(FP), Z8")
	a.i("VPXORD Z9, Z9, Z9")
	a.label("exps512loop")
	a.i("CMPQ CX, $16")
	a.i("JLT  exps512tail")
	a.i("VMOVUPS (SI), Z0")
	a.i("VSUBPS Z8, Z0, Z0")
	exp(a, z, 0)
	a.i("VADDPS Z0, Z9, Z9")
	a.i("TESTQ DX, DX")
	a.i("JEQ   exps512next")
	a.i("VMOVUPS Z0, (DI)")
	a.label("exps512next")
	a.i("ADDQ $64, SI")
	a.i("ADDQ $64, DI")
	a.i("SUBQ $16, CX")
	a.i("JMP  exps512loop")
	a.label("exps512tail")
	a.i("TESTQ CX, CX")
	a.i("JEQ   exps512reduce")
	a.lowMask(true)
	a.i("VMOVUPS.Z (SI), K1, Z0")
	a.i("VSUBPS Z8, Z0, Z0")
	exp(a, z, 0)
	a.i("VADDPS Z0, Z9, K1, Z9")
	a.i("TESTQ DX, DX")
	a.i("JEQ   exps512reduce")
	a.i("VMOVUPS Z0, K1, (DI)")
	a.label("exps512reduce")
	a.i("VEXTRACTF64X4 $1, Z9, Y1")
	a.i("VADDPS Y1, Y9, Y0")
	hsum128(a)
	a.i("VZEROUPPER")
	a.i("MOVSS X0, ret+40(FP)")
	a.i("RET")
	a.blank()

	a.text("affineAVX512", "(dst, x *float32, n int, a, b float32)", 32, "dst = a*x + b.")
	a.i("MOVQ dst+0(FP), DI")
	a.i("MOVQ x+8(FP), SI")
	a.i("MOVQ n+16(FP), CX")
	a.i("VBROADCASTSS a+24(FP), Z8")
	a.i("VBROADCASTSS b+28(FP), Z9")
	a.label("aff512loop")
	a.i("CMPQ CX, $16")
	a.i("JLT  aff512tail")
	a.i("VMOVUPS (SI), Z0")
	a.i("VFMADD213PS Z9, Z8, Z0")
	a.i("VMOVUPS Z0, (DI)")
	a.i("ADDQ $64, SI")
	a.i("ADDQ $64, DI")
	a.i("SUBQ $16, CX")
	a.i("JMP  aff512loop")
	a.label("aff512tail")
	a.i("TESTQ CX, CX")
	a.i("JEQ   aff512done")
	a.lowMask(true)
	a.i("VMOVUPS.Z (SI), K1, Z0")
	a.i("VFMADD213PS Z9, Z8, Z0")
	a.i("VMOVUPS Z0, K1, (DI)")
	a.label("aff512done")
	a.i("VZEROUPPER")
	a.i("RET")
}

// hsum128 adds the two halves of Y0 and then the four lanes of X0 into
// every lane of X0.
func hsum128(a *asm) {
	a.i("VEXTRACTF128 $1, Y0, X1")
	a.i("VADDPS X1, X0, X0")
	a.i("VHADDPS X0, X0, X0")
	a.i("VHADDPS X0, X0, X0")
}
