package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gradTol is the tolerance of the float64 gradient checks: with Eps 1e-6
// the central difference is exact to about 1e-9 relative for these smooth
// functions, so 1e-5 relative plus 1e-7 absolute leaves a wide margin.
var gradTol = GradCheck{RTol: 1e-5, ATol: 1e-7}

func withInputs(c GradCheck, wrt []int, in ...*tensor.Dense) GradCheck {
	c.Inputs, c.WRT = in, wrt
	return c
}

func TestOpGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const n, in, out = 4, 5, 3 // small shapes: every element is perturbed
	// Huber inputs spread so that some |pred - target| exceed delta 0.5
	// and some do not; no difference lands within Eps of the kink.
	tests := []struct {
		name string
		c    GradCheck
		f    GradCheckFunc
	}{
		{"Dense", withInputs(gradTol, nil, RandTensor(rng, n, in), RandTensor(rng, out, in), RandTensor(rng, out)),
			func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) {
				return Dense(x[0], x[1], x[2])
			}},
		{"Dense no bias", withInputs(gradTol, nil, RandTensor(rng, n, in), RandTensor(rng, out, in)),
			func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) { return Dense(x[0], x[1], nil) }},
		{"SoftmaxRows", withInputs(gradTol, nil, RandTensor(rng, n, in)),
			func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) { return SoftmaxRows(x[0]) }},
		{"LogSoftmaxRows", withInputs(gradTol, nil, RandTensor(rng, n, in)),
			func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) { return LogSoftmaxRows(x[0]) }},
		{"MSE", withInputs(gradTol, nil, RandTensor(rng, n, out), RandTensor(rng, n, out)),
			func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) { return MSE(x[0], x[1]) }},
		{"Huber", withInputs(gradTol, nil, RandTensor(rng, n, out), RandTensor(rng, n, out)),
			func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) { return Huber(x[0], x[1], 0.5) }},
		{"KLDivTemperature T=2", withInputs(gradTol, []int{0}, RandTensor(rng, n, in), RandTensor(rng, n, in)),
			func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) {
				return KLDivTemperature(x[0], x[1], 2)
			}},
		{"SoftCrossEntropy", withInputs(gradTol, []int{0}, RandTensor(rng, n, in), RandTensor(rng, n, in)),
			func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) {
				return SoftCrossEntropy(x[0], x[1])
			}},
		{"RowDot", withInputs(gradTol, nil, RandTensor(rng, n, in), RandTensor(rng, n, in)),
			func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) { return RowDot(x[0], x[1]) }},
		// DQN's loss: Huber(δ=1) of Q(s, a) picked by a one-hot mask against targets.
		{"RowDot-Huber", withInputs(gradTol, []int{0}, RandTensor(rng, n, 3),
			tensor.New(tensor.WithShape(n, 3), tensor.WithBacking([]float64{1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0})), RandTensor(rng, n)),
			func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) {
				q, err := RowDot(x[0], x[1])
				if err != nil {
					return nil, err
				}
				return Huber(q, x[2], 1)
			}},
		{"ReLU", withInputs(gradTol, nil, RandTensor(rng, n, in)),
			func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) { return ActReLU.Node(x[0]) }},
		{"Tanh", withInputs(gradTol, nil, RandTensor(rng, n, in)),
			func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) { return ActTanh.Node(x[0]) }},
		{"Sigmoid 3-D", withInputs(gradTol, nil, RandTensor(rng, 2, 3, 4)),
			func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) { return ActSigmoid.Node(x[0]) }},
		// A whole tiny model: Dense, tanh (gorgonia built-in), Dense, MSE.
		{"Dense-tanh-Dense-MSE", withInputs(gradTol, []int{1, 2, 3, 4},
			RandTensor(rng, n, in), RandTensor(rng, 6, in), RandTensor(rng, 6), RandTensor(rng, out, 6), RandTensor(rng, out), RandTensor(rng, n, out)),
			func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) {
				h, err := Dense(x[0], x[1], x[2])
				if err != nil {
					return nil, err
				}
				if h, err = gorgonia.Tanh(h); err != nil {
					return nil, err
				}
				y, err := Dense(h, x[3], x[4])
				if err != nil {
					return nil, err
				}
				return MSE(y, x[5])
			}},
	}
	for _, tt := range tests {
		checkGradients(t, tt.name, tt.c, tt.f)
	}
}

// TestFloat32GradCheck runs the float32 variant of the checker (looser
// defaults) on Dense's float32 path, the one on kernel.Gemm, and on the
// per-row softmax.
func TestFloat32GradCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	checkGradients(t, "Dense float32", GradCheck{Inputs: []*tensor.Dense{RandTensor32(rng, 4, 5), RandTensor32(rng, 3, 5), RandTensor32(rng, 3)}},
		func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) {
			return Dense(x[0], x[1], x[2])
		})
	checkGradients(t, "SoftmaxRows float32", GradCheck{Inputs: []*tensor.Dense{RandTensor32(rng, 4, 5)}},
		func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) { return SoftmaxRows(x[0]) })
	if _, err := (GradCheck{Inputs: []*tensor.Dense{RandTensor32(rng, 2), RandTensor(rng, 2)}}).Run(nil); err == nil {
		t.Error("GradCheck with mixed float32/float64 inputs: no error")
	}
}

// TestGradCheckCatchesWrongGradient makes sure the checker is not vacuous:
// an Op whose declared gradient is twice the true one must fail.
func TestGradCheckCatchesWrongGradient(t *testing.T) {
	sq := &fnOp{name: "test.Square", inDims: []int{1}, outDims: 1, shape: sameShape,
		fwd32: func(o []float32, in [][]float32, _ []tensor.Shape) {},
		fwd64: func(o []float64, in [][]float64, _ []tensor.Shape) {
			for i, v := range in[0] {
				o[i] = v * v
			}
		}, diff: []bool{true}}
	sq.grad = func(_ int, in gorgonia.Nodes, _, dout *gorgonia.Node) (*gorgonia.Node, error) {
		// Wrong on purpose: 4x dout instead of 2x dout.
		return (&fnOp{name: "test.SquareGrad", inDims: []int{1, 1}, outDims: 1, shape: sameShape,
			fwd32: func(o []float32, in [][]float32, _ []tensor.Shape) {},
			fwd64: func(o []float64, in [][]float64, _ []tensor.Shape) {
				for i, v := range in[0] {
					o[i] = 4 * v * in[1][i]
				}
			}}).apply(in[0], dout)
	}
	c := withInputs(gradTol, nil, tensor.New(tensor.WithShape(3), tensor.WithBacking([]float64{1, -2, 0.5})))
	res, err := c.Run(func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) { return sq.apply(x[0]) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Worst <= 1 || res.Checked != 3 {
		t.Errorf("GradCheck on a wrong gradient: Worst = %v, Checked = %d; want > 1 and 3", res.Worst, res.Checked)
	}
}

// run32 evaluates a graph built by f on float32 inputs and returns the
// output's data.
func run32(t *testing.T, f func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error), ins ...*tensor.Dense) []float32 {
	t.Helper()
	g := gorgonia.NewGraph()
	nodes := make([]*gorgonia.Node, len(ins))
	for i, in := range ins {
		nodes[i] = gorgonia.NodeFromAny(g, in, gorgonia.WithName(fmt.Sprintf("in%d", i)))
	}
	out, err := f(g, nodes)
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	switch d := out.Value().Data().(type) {
	case []float32:
		return append([]float32(nil), d...)
	case float32:
		return []float32{d}
	}
	t.Fatalf("output holds %T", out.Value().Data())
	return nil
}

func mat32(r, c int, v ...float32) *tensor.Dense {
	return tensor.New(tensor.WithShape(r, c), tensor.WithBacking(v))
}

func TestForwardValues(t *testing.T) {
	l3 := math.Log(1 + 2*math.Exp(-1)) // log Σ exp(x - max) for a row (a, a-1, a-1)
	tests := []struct {
		name string
		f    func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error)
		in   []*tensor.Dense
		want []float64
		tol  float64
	}{
		// y = x Wᵀ + b worked by hand: (1,2)·(1,0) + 10 = 11, (1,2)·(1,1) + 20 = 23, ...
		{"Dense", func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) {
			return Dense(x[0], x[1], x[2])
		},
			[]*tensor.Dense{mat32(2, 2, 1, 2, 3, 4), mat32(2, 2, 1, 0, 1, 1), tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{10, 20}))},
			[]float64{11, 23, 13, 27}, 0},
		// Logits of 1000 would give -Inf/NaN with a whole-tensor max and
		// float32 exp; per row they are (1, e⁻¹, e⁻¹)/(1+2e⁻¹).
		{"SoftmaxRows large", func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) { return SoftmaxRows(x[0]) },
			[]*tensor.Dense{mat32(2, 3, 1000, 999, 999, -1000, -1001, -1001)},
			[]float64{1 / (1 + 2*math.Exp(-1)), math.Exp(-1) / (1 + 2*math.Exp(-1)), math.Exp(-1) / (1 + 2*math.Exp(-1)),
				1 / (1 + 2*math.Exp(-1)), math.Exp(-1) / (1 + 2*math.Exp(-1)), math.Exp(-1) / (1 + 2*math.Exp(-1))}, 1e-6},
		{"LogSoftmaxRows large", func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) { return LogSoftmaxRows(x[0]) },
			[]*tensor.Dense{mat32(1, 3, 1000, 999, 999)},
			[]float64{-l3, -1 - l3, -1 - l3}, 1e-5},
		// d = (0.5, -3): Huber(δ=1) = (0.5*0.25 + 1*(3-0.5))/2 = 1.3125; MSE = (0.25+9)/2.
		{"Huber", func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) { return Huber(x[0], x[1], 1) },
			[]*tensor.Dense{mat32(1, 2, 1, -1), mat32(1, 2, 0.5, 2)}, []float64{1.3125}, 1e-7},
		{"MSE", func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) { return MSE(x[0], x[1]) },
			[]*tensor.Dense{mat32(1, 2, 1, -1), mat32(1, 2, 0.5, 2)}, []float64{4.625}, 1e-7},
		// Identical logits: KL 0. Student (0,0), teacher (2,0) at T=2: softened
		// teacher (e/(1+e), 1/(1+e)), student (1/2, 1/2), KL = Σ p log(2p), times 4.
		{"KL equal", func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) {
			return KLDivTemperature(x[0], x[1], 3)
		},
			[]*tensor.Dense{mat32(1, 3, 1, 2, 3), mat32(1, 3, 1, 2, 3)}, []float64{0}, 1e-7},
		{"KL T=2", func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) {
			return KLDivTemperature(x[0], x[1], 2)
		},
			[]*tensor.Dense{mat32(1, 2, 0, 0), mat32(1, 2, 2, 0)},
			[]float64{4 * (math.E/(1+math.E)*math.Log(2*math.E/(1+math.E)) + 1/(1+math.E)*math.Log(2/(1+math.E)))}, 1e-6},
		// q one-hot on class 0 of logits (1000, 999, 999): -log p0 = l3.
		{"SoftCrossEntropy", func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) {
			return SoftCrossEntropy(x[0], x[1])
		},
			[]*tensor.Dense{mat32(1, 3, 1000, 999, 999), mat32(1, 3, 1, 0, 0)}, []float64{l3}, 1e-5},
	}
	for _, tt := range tests {
		got := run32(t, tt.f, tt.in...)
		if len(got) != len(tt.want) {
			t.Fatalf("%s: %d outputs, want %d", tt.name, len(got), len(tt.want))
		}
		for i := range got {
			if math.Abs(float64(got[i])-tt.want[i]) > tt.tol || math.IsNaN(float64(got[i])) {
				t.Errorf("%s: out[%d] = %.8g, want %.8g", tt.name, i, got[i], tt.want[i])
			}
		}
	}
}
