package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// opInput is one float32 input of an Op under test.
type opInput struct {
	name  string
	shape []int
	data  []float32
}

func randInput(rng *rand.Rand, name string, shape ...int) opInput {
	n := 1
	for _, s := range shape {
		n *= s
	}
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(rng.NormFloat64())
	}
	return opInput{name, shape, d}
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// checkOp builds a graph that applies an Op to the inputs, then checks
//   - its forward value against ref, a plain float64 implementation of the
//     same formula, to fwdTol relative to the largest reference output;
//   - the gradient gorgonia computes through the Op's SymDiff (of the loss
//     sum(out ⊙ r), r fixed and random; of out itself when it is a scalar)
//     against central finite differences of ref in float64, step 1e-4
//     (truncation error ~1e-8 for these smooth functions), to gradTol
//     relative to max(1, |gradient|).
func checkOp(t *testing.T, inputs []opInput, build func([]*gorgonia.Node) (*gorgonia.Node, error), ref func([][]float64) []float64, fwdTol, gradTol float64) {
	t.Helper()
	g := gorgonia.NewGraph()
	nodes := make([]*gorgonia.Node, len(inputs))
	for i, in := range inputs {
		v := tensor.New(tensor.WithShape(in.shape...), tensor.WithBacking(append([]float32(nil), in.data...)))
		if len(in.shape) == 1 {
			nodes[i] = gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(in.shape...), gorgonia.WithName(in.name), gorgonia.WithValue(v))
		} else {
			nodes[i] = gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(in.shape...), gorgonia.WithName(in.name), gorgonia.WithValue(v))
		}
	}
	out, err := build(nodes)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	ins64 := make([][]float64, len(inputs))
	for i, in := range inputs {
		ins64[i] = to64(in.data)
	}
	want := ref(ins64)
	rng := rand.New(rand.NewPCG(7, 7))
	r := make([]float64, len(want))
	loss := out
	if out.IsScalar() {
		r[0] = 1
	} else {
		r32 := make([]float32, len(want))
		for i := range r {
			r32[i] = float32(rng.NormFloat64())
			r[i] = float64(r32[i])
		}
		rn := gorgonia.NewConstant(tensor.New(tensor.WithShape(out.Shape()...), tensor.WithBacking(r32)))
		prod, err := gorgonia.HadamardProd(out, rn)
		if err != nil {
			t.Fatal(err)
		}
		if loss, err = gorgonia.Sum(prod); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := gorgonia.Grad(loss, nodes...); err != nil {
		t.Fatalf("Grad: %v", err)
	}
	m := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(nodes...))
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatalf("RunAll: %v", err)
	}
	got := f32(out.Value())
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); d > fwdTol*math.Max(1, scale) {
			t.Fatalf("forward[%d] = %g, want %g (reference)", i, got[i], want[i])
		}
	}
	lossOf := func() float64 {
		y := ref(ins64)
		s := 0.0
		for i, v := range y {
			s += v * r[i]
		}
		return s
	}
	const h = 1e-4
	for i, n := range nodes {
		gv, err := n.Grad()
		if err != nil {
			t.Fatalf("%s.Grad(): %v", inputs[i].name, err)
		}
		an := f32(gv)
		for j := range ins64[i] {
			x0 := ins64[i][j]
			ins64[i][j] = x0 + h
			lp := lossOf()
			ins64[i][j] = x0 - h
			lm := lossOf()
			ins64[i][j] = x0
			fd := (lp - lm) / (2 * h)
			if d := math.Abs(float64(an[j]) - fd); d > gradTol*math.Max(1, math.Abs(fd)) {
				t.Errorf("d loss/d %s[%d] = %g, want %g (finite difference)", inputs[i].name, j, an[j], fd)
			}
		}
	}
}

// convRef is the causal dilated convolution written as its definition;
// x holds times T-len(x)/cin/Seqs..T-1 of each sequence.
func convRef(x, w, b []float64, spec ConvSpec, T, cin, cout int) []float64 {
	rows := len(x) / cin / spec.Seqs
	in := T - rows
	var y []float64
	for s := 0; s < spec.Seqs; s++ {
		for t := spec.From; t < T; t++ {
			for o := 0; o < cout; o++ {
				v := 0.0
				if b != nil {
					v = b[o]
				}
				for k := 0; k < spec.K; k++ {
					tt := t - (spec.K-1-k)*spec.Dilation
					if tt < 0 {
						continue
					}
					if tt < in {
						panic("convRef: reads before the input")
					}
					for c := 0; c < cin; c++ {
						v += w[o*spec.K*cin+k*cin+c] * x[(s*rows+tt-in)*cin+c]
					}
				}
				y = append(y, v)
			}
		}
	}
	return y
}

// toPlanes reorders a row-major (rows, c) matrix into planes blocks of
// (rows, c/planes), as ConvSpec.Planes stores it.
func toPlanes(y []float64, c, planes int) []float64 {
	if planes <= 1 {
		return y
	}
	rows, cp := len(y)/c, c/planes
	out := make([]float64, 0, len(y))
	for p := 0; p < planes; p++ {
		for r := 0; r < rows; r++ {
			out = append(out, y[r*c+p*cp:r*c+(p+1)*cp]...)
		}
	}
	return out
}

func TestConv(t *testing.T) {
	tests := []struct {
		spec         ConvSpec
		t, cin, cout int
		bias         bool
	}{
		{ConvSpec{K: 2, Dilation: 1, Seqs: 1}, 7, 3, 4, true},
		{ConvSpec{K: 2, Dilation: 4, Seqs: 2}, 9, 3, 2, true},
		{ConvSpec{K: 3, Dilation: 2, Seqs: 2}, 8, 2, 3, false},
		// dilation larger than the sequence: only the current tap is used.
		{ConvSpec{K: 2, Dilation: 16, Seqs: 1}, 6, 2, 2, true},
		// 1x1 convolution with only the last rows computed.
		{ConvSpec{K: 1, Dilation: 1, Seqs: 2, From: 3}, 7, 4, 3, true},
		{ConvSpec{K: 2, Dilation: 2, Seqs: 3, From: 2}, 6, 3, 2, true},
		// Inputs that start late: times 2..8 (From 6 - 2*2 = 2) and 3..9.
		{ConvSpec{K: 3, Dilation: 2, Seqs: 2, From: 6, InFrom: 2}, 9, 2, 3, true},
		{ConvSpec{K: 2, Dilation: 3, Seqs: 1, From: 7, InFrom: 3}, 10, 3, 2, false},
		// Planar outputs: 2 planes of 2 columns, 3 planes of 2.
		{ConvSpec{K: 2, Dilation: 2, Seqs: 2, From: 1, Planes: 2}, 6, 3, 4, true},
		{ConvSpec{K: 2, Dilation: 1, Seqs: 1, From: 3, InFrom: 2, Planes: 3}, 7, 2, 6, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%+v_T%d_%dx%d", tc.spec, tc.t, tc.cin, tc.cout), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.t)))
			ins := []opInput{
				randInput(rng, "x", tc.spec.Seqs*(tc.t-tc.spec.InFrom), tc.cin),
				randInput(rng, "w", tc.cout, tc.spec.K*tc.cin),
			}
			if tc.bias {
				ins = append(ins, randInput(rng, "b", tc.cout))
			}
			build := func(n []*gorgonia.Node) (*gorgonia.Node, error) {
				var b *gorgonia.Node
				if tc.bias {
					b = n[2]
				}
				spec := tc.spec
				spec.Len = tc.t
				return Conv(n[0], n[1], b, spec)
			}
			ref := func(in [][]float64) []float64 {
				var b []float64
				if tc.bias {
					b = in[2]
				}
				return toPlanes(convRef(in[0], in[1], b, tc.spec, tc.t, tc.cin, tc.cout), tc.cout, tc.spec.Planes)
			}
			// float32 sums of a few products: 1e-5 relative; gradients
			// likewise, with the 1e-4 finite-difference step: 1e-3.
			checkOp(t, ins, build, ref, 1e-5, 1e-3)
		})
	}
}

func TestConvBadShapes(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(10, 3), gorgonia.WithName("x"))
	w := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(4, 5), gorgonia.WithName("w"))
	if _, err := Conv(x, w, nil, ConvSpec{K: 2, Dilation: 1, Seqs: 1}); err == nil {
		t.Errorf("Conv(x (10,3), w (4,5), K=2) = nil error, want a shape error")
	}
	w2 := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(4, 6), gorgonia.WithName("w2"))
	if _, err := Conv(x, w2, nil, ConvSpec{K: 2, Dilation: 1, Seqs: 3}); err == nil {
		t.Errorf("Conv(x (10,3), 3 sequences) = nil error, want a shape error")
	}
}

func BenchmarkConvForward(b *testing.B) {
	// The `small` preset's gate convolution on one training segment of
	// 2047 + 4000 samples: (6047, 32) x (64, 2*32).
	const T, cin, cout = 6047, 32, 64
	spec := ConvSpec{K: 2, Dilation: 8, Seqs: 1, Len: T}
	x, w := make([]float32, T*cin), make([]float32, cout*2*cin)
	y := make([]float32, T*cout)
	b.ReportAllocs()
	for b.Loop() {
		ConvForward(y, x, w, nil, spec, cin, cout)
	}
	b.ReportMetric(float64(T*b.N)/b.Elapsed().Seconds(), "samples/s")
}

func TestConvSum(t *testing.T) {
	// Three terms with biases, a residual and two conditioning tables, on
	// 2 sequences with the first 2 outputs of each skipped.
	// Term l's input holds times inFrom[l]..T-1 (From - (K-1)*d = 2 allows
	// inputs from time 2), the residual times 1..T-1.
	const L, T, cin, cout, seqs = 3, 7, 3, 4, 2
	spec := ConvSpec{K: 2, Dilation: 2, Seqs: seqs, From: 4, Len: T}
	inFrom := []int{0, 2, 1}
	const rFrom = 1
	rows := seqs * (T - spec.From)
	index := [][]int32{{1, 0}, {2, 2}}
	vs := []int{2, 3}
	for _, tc := range []struct {
		name        string
		bias, resid bool
		conds       int
		planes      int
	}{{"all", true, true, 2, 0}, {"resid only", false, true, 0, 0}, {"conds only", false, false, 2, 0}, {"plain", false, false, 0, 0},
		{"planar", true, false, 2, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(6, uint64(tc.conds)))
			var ins []opInput
			for l := 0; l < L; l++ {
				ins = append(ins, randInput(rng, fmt.Sprintf("x%d", l), seqs*(T-inFrom[l]), cin))
			}
			for l := 0; l < L; l++ {
				ins = append(ins, randInput(rng, fmt.Sprintf("w%d", l), cout, spec.K*cin))
			}
			if tc.bias {
				for l := 0; l < L; l++ {
					ins = append(ins, randInput(rng, fmt.Sprintf("b%d", l), cout))
				}
			}
			if tc.resid {
				ins = append(ins, randInput(rng, "r", seqs*(T-rFrom), cout))
			}
			for c := 0; c < tc.conds; c++ {
				ins = append(ins, randInput(rng, fmt.Sprintf("table%d", c), vs[c], cout))
			}
			build := func(n []*gorgonia.Node) (*gorgonia.Node, error) {
				xs, ws := n[:L], n[L:2*L]
				i := 2 * L
				var bs []*gorgonia.Node
				if tc.bias {
					bs = n[i : i+L]
					i += L
				}
				var r *gorgonia.Node
				if tc.resid {
					r = n[i]
					i++
				}
				var conds []CondTable
				for c := 0; c < tc.conds; c++ {
					conds = append(conds, CondTable{Table: n[i+c], Index: index[c]})
				}
				sp := spec
				sp.Planes = tc.planes
				return ConvSum(xs, ws, bs, r, conds, sp)
			}
			ref := func(in [][]float64) []float64 {
				y := make([]float64, rows*cout)
				i := 2 * L
				for l := 0; l < L; l++ {
					var b []float64
					if tc.bias {
						b = in[i+l]
					}
					for j, v := range convRef(in[l], in[L+l], b, spec, T, cin, cout) {
						y[j] += v
					}
				}
				if tc.bias {
					i += L
				}
				if tc.resid {
					for j := range y {
						s, t := j/cout/(T-spec.From), j/cout%(T-spec.From)+spec.From
						y[j] += in[i][(s*(T-rFrom)+t-rFrom)*cout+j%cout]
					}
					i++
				}
				for c := 0; c < tc.conds; c++ {
					for j := range y {
						s := j / cout / (T - spec.From)
						y[j] += in[i+c][int(index[c][s])*cout+j%cout]
					}
				}
				return toPlanes(y, cout, tc.planes)
			}
			checkOp(t, ins, build, ref, 1e-5, 1e-3)
		})
	}
}
