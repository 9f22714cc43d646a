package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// refNorm normalises x by the textbook definition: for every group given
// as a list of flat indices, x̂ = (x - mean) / sqrt(var + eps) with the
// biased variance, y = gamma[ch] x̂ + beta[ch].
func refNorm(x, gamma, beta []float64, groups [][]int, ch func(i int) int, eps float64) []float64 {
	y := make([]float64, len(x))
	for _, idx := range groups {
		var mean, v float64
		for _, i := range idx {
			mean += x[i]
		}
		mean /= float64(len(idx))
		for _, i := range idx {
			v += (x[i] - mean) * (x[i] - mean)
		}
		v /= float64(len(idx))
		for _, i := range idx {
			y[i] = gamma[ch(i)]*(x[i]-mean)/math.Sqrt(v+eps) + beta[ch(i)]
		}
	}
	return y
}

type normCase struct {
	name   string
	build  func(x, g, b *gorgonia.Node, eps float64) (*gorgonia.Node, error)
	shape  []int
	groups func() [][]int
	ch     func(i int) int
}

func normCases() []normCase {
	const n, l, c = 4, 3, 5
	return []normCase{
		{"LayerNorm", LayerNorm, []int{n, c}, func() [][]int {
			var gs [][]int
			for r := 0; r < n; r++ {
				var g []int
				for j := 0; j < c; j++ {
					g = append(g, r*c+j)
				}
				gs = append(gs, g)
			}
			return gs
		}, func(i int) int { return i % c }},
		{"BatchNormTrain", BatchNormTrain, []int{n, c}, func() [][]int {
			var gs [][]int
			for j := 0; j < c; j++ {
				var g []int
				for r := 0; r < n; r++ {
					g = append(g, r*c+j)
				}
				gs = append(gs, g)
			}
			return gs
		}, func(i int) int { return i % c }},
		{"InstanceNorm", InstanceNorm, []int{n, l, c}, func() [][]int {
			var gs [][]int
			for s := 0; s < n; s++ {
				for j := 0; j < c; j++ {
					var g []int
					for t := 0; t < l; t++ {
						g = append(g, s*l*c+t*c+j)
					}
					gs = append(gs, g)
				}
			}
			return gs
		}, func(i int) int { return i % c }},
	}
}

func run64(t *testing.T, f func(in []*gorgonia.Node) (*gorgonia.Node, error), ins ...*tensor.Dense) []float64 {
	t.Helper()
	g := gorgonia.NewGraph()
	nodes := make([]*gorgonia.Node, len(ins))
	for i, in := range ins {
		nodes[i] = gorgonia.NodeFromAny(g, in, gorgonia.WithName(fmt.Sprintf("in%d", i)))
	}
	out, err := f(nodes)
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	return append([]float64(nil), out.Value().Data().([]float64)...)
}

func TestNormForwardAgainstFormula(t *testing.T) {
	const eps = 1e-5 // PyTorch's default
	for _, tc := range normCases() {
		rng := rand.New(rand.NewPCG(51, 52))
		x := RandTensor(rng, tc.shape...)
		// Shift and scale x so the mean and variance matter.
		for i, v := range x.Float64s() {
			x.Float64s()[i] = 3 + 2*v
		}
		c := tc.shape[len(tc.shape)-1]
		gamma, beta := RandTensor(rng, c), RandTensor(rng, c)
		got := run64(t, func(in []*gorgonia.Node) (*gorgonia.Node, error) { return tc.build(in[0], in[1], in[2], eps) }, x, gamma, beta)
		want := refNorm(x.Float64s(), gamma.Float64s(), beta.Float64s(), tc.groups(), tc.ch, eps)
		for i := range want {
			// 1e-12: float64 rounding, the two compute the same sums.
			if math.Abs(got[i]-want[i]) > 1e-12 {
				t.Errorf("%s: y[%d] = %.15g, want %.15g", tc.name, i, got[i], want[i])
			}
		}
	}
}

func TestNormGradients(t *testing.T) {
	for _, tc := range normCases() {
		rng := rand.New(rand.NewPCG(61, 62))
		c := tc.shape[len(tc.shape)-1]
		// eps 1e-3 rather than 1e-5: with a group of 3 to 5 standard normal
		// values the variance is of order 1 either way; a larger eps only
		// keeps the check away from near-zero variances.
		checkGradients(t, tc.name, withInputs(gradTol, nil, RandTensor(rng, tc.shape...), RandTensor(rng, c), RandTensor(rng, c)),
			func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
				return tc.build(in[0], in[1], in[2], 1e-3)
			})
	}
}

// TestBatchNormRunningStats checks torch.nn.BatchNorm1d's running
// statistics after one training run and the inference forward pass.
func TestBatchNormRunningStats(t *testing.T) {
	bn := NewBatchNorm(2)
	bn.Gamma[1], bn.Beta[1] = 2, 0.5
	g := gorgonia.NewGraph()
	x, xd := inputNode(g, "x", 4, 2)
	// Column 0: 1, 2, 3, 4 (mean 2.5, unbiased variance 5/3);
	// column 1: 0, 0, 0, 8 (mean 2, unbiased variance 16).
	copy(xd, []float32{1, 0, 2, 0, 3, 0, 4, 8})
	y, params, err := bn.Build(x, "bn")
	if err != nil {
		t.Fatal(err)
	}
	if len(params) != 2 || params[0].Name() != "bn.gamma" {
		t.Errorf("Build params = %v, want bn.gamma and bn.beta", params)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	// running = 0.9 * initial + 0.1 * batch (initial mean 0, variance 1).
	wantMean := []float64{0.25, 0.2}
	wantVar := []float64{0.9 + 0.1*5.0/3, 0.9 + 1.6}
	for c := 0; c < 2; c++ {
		// 1e-6: float32 storage of values near 1.
		if math.Abs(float64(bn.RunningMean[c])-wantMean[c]) > 1e-6 || math.Abs(float64(bn.RunningVar[c])-wantVar[c]) > 1e-6 {
			t.Errorf("channel %d: running mean, var = %v, %v; want %v, %v", c, bn.RunningMean[c], bn.RunningVar[c], wantMean[c], wantVar[c])
		}
	}
	// Training output of column 1, row 3: (8-2)/sqrt(12+eps)*2 + 0.5 (biased variance 12).
	got := y.Value().Data().([]float32)[7]
	if want := 6/math.Sqrt(12+1e-5)*2 + 0.5; math.Abs(float64(got)-want) > 1e-5 {
		t.Errorf("training y[3][1] = %v, want %v", got, want)
	}
	// Inference: x = (1, 8) with the running statistics.
	out := bn.Forward(nil, []float32{1, 8}, 1)
	want := []float64{(1 - 0.25) / math.Sqrt(wantVar[0]+1e-5), 2*(8-0.2)/math.Sqrt(wantVar[1]+1e-5) + 0.5}
	for c := range want {
		if math.Abs(float64(out[c])-want[c]) > 1e-5 {
			t.Errorf("Forward (inference) y[%d] = %v, want %v", c, out[c], want[c])
		}
	}
}

func TestLayerNormRows(t *testing.T) {
	// Row (1, 2, 3): mean 2, biased variance 2/3; gamma 1, beta 0.
	got := LayerNormRows(nil, []float32{1, 2, 3}, []float32{1, 1, 1}, []float32{0, 0, 0}, 3, 1e-5)
	s := 1 / math.Sqrt(2.0/3+1e-5)
	want := []float64{-s, 0, s}
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > 1e-6 {
			t.Errorf("LayerNormRows(1,2,3)[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestNormErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	x, _ := inputNode(g, "x", 2, 3)
	gm, _ := inputNode(g, "g", 1, 3)
	v := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(4), gorgonia.WithName("v"))
	if _, err := LayerNorm(x, v, v, 1e-5); err == nil {
		t.Error("LayerNorm with 4-element gamma for 3 channels: no error")
	}
	if _, err := LayerNorm(x, gm, gm, 1e-5); err == nil {
		t.Error("LayerNorm with matrix gamma: no error")
	}
	if _, err := InstanceNorm(x, v, v, 1e-5); err == nil {
		t.Error("InstanceNorm on a matrix: no error")
	}
}
