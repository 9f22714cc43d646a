package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestPoolGradients gradient-checks the NCHW Ops in float64 with
// GradCheck's defaults (Eps 1e-6, RTol 1e-5, ATol 1e-7). ReLU6's input is
// N(0, 16), so no element lies within Eps of the kinks at 0 and 6 for this
// seed.
func TestPoolGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	bn := NewBatchNorm(3)
	for c := range bn.C {
		bn.RunningMean[c], bn.RunningVar[c] = float32(c)-1, 0.5+float32(c)
	}
	scaled := RandTensor(rng, 2, 3, 4, 5)
	for i, v := range scaled.Float64s() {
		scaled.Float64s()[i] = 4 * v
	}
	tests := []struct {
		name   string
		inputs []*tensor.Dense
		f      GradCheckFunc
	}{
		{"GlobalAvgPool2D", []*tensor.Dense{RandTensor(rng, 2, 3, 4, 5)},
			func(_ *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
				return GlobalAvgPool2D(in[0])
			}},
		{"AvgPool2D(2) on 5x5", []*tensor.Dense{RandTensor(rng, 2, 3, 5, 5)},
			func(_ *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return AvgPool2D(in[0], 2) }},
		{"ConcatChannels", []*tensor.Dense{RandTensor(rng, 2, 3, 2, 3), RandTensor(rng, 2, 1, 2, 3), RandTensor(rng, 2, 2, 2, 3)},
			func(_ *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return ConcatChannels(in...) }},
		{"ReLU6", []*tensor.Dense{scaled},
			func(_ *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) { return ActReLU6.Node(in[0]) }},
		{"BatchNormTrain2D", []*tensor.Dense{RandTensor(rng, 2, 3, 2, 3), RandTensor(rng, 3), RandTensor(rng, 3)},
			func(_ *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
				return BatchNormTrain2D(in[0], in[1], in[2], 1e-5)
			}},
		{"BatchNorm2D eval", []*tensor.Dense{RandTensor(rng, 2, 3, 2, 3), RandTensor(rng, 3), RandTensor(rng, 3)},
			func(_ *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
				return bn2dOp(in[0], in[1], in[2], 1e-5, nil, bn)
			}},
	}
	for _, tt := range tests {
		if err := (GradCheck{Inputs: tt.inputs, Seed: 3}).Check(tt.f); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

// TestPoolForward checks the plain forwards on hand-computed values.
func TestPoolForward(t *testing.T) {
	// x (1, 2, 2, 4): channel 0 is 0..7, channel 1 is 8..15.
	x := make([]float32, 16)
	for i := range x {
		x[i] = float32(i)
	}
	g := make([]float32, 2)
	GlobalAvgPool2DForward(g, x, 8)
	if g[0] != 3.5 || g[1] != 11.5 {
		t.Errorf("GlobalAvgPool2DForward(0..15, hw 8) = %v, want [3.5 11.5]", g)
	}
	// 2x2 windows of channel 0 [[0 1 2 3] [4 5 6 7]]: (0+1+4+5)/4 = 2.5, (2+3+6+7)/4 = 4.5.
	p := make([]float32, 4)
	AvgPool2DForward(p, x, 1, 2, 2, 4, 2)
	if want := []float32{2.5, 4.5, 10.5, 12.5}; !slices.Equal(p, want) {
		t.Errorf("AvgPool2DForward = %v, want %v", p, want)
	}
	c := make([]float32, 6)
	ConcatChannelsForward(c, [][]float32{{1, 2, 3, 4}, {5, 6}}, []int{2, 1}, 2, 1)
	if want := []float32{1, 2, 5, 3, 4, 6}; !slices.Equal(c, want) {
		t.Errorf("ConcatChannelsForward = %v, want %v", c, want)
	}
	r := []float32{-1, 3, 7}
	ActReLU6.Apply(r)
	if want := []float32{0, 3, 6}; !slices.Equal(r, want) {
		t.Errorf("ActReLU6.Apply(-1, 3, 7) = %v, want %v", r, want)
	}
}

// TestBatchNorm2DRunningStats checks one training run against
// torch.nn.BatchNorm2d(2) (momentum 0.1): channel 0 holds 1, 2, 3, 4 (two
// samples of 1x2), mean 2.5, unbiased variance 5/3, so running mean
// 0.1*2.5 = 0.25 and running variance 0.9 + 0.1*5/3 = 1.0666667; channel 1
// holds 0, 0, 0, 4: mean 1, unbiased variance 4, running 0.1 and 1.3. The
// eval-mode graph then matches Forward2D.
func TestBatchNorm2DRunningStats(t *testing.T) {
	bn := NewBatchNorm(2)
	xs := []float32{1, 2, 0, 0, 3, 4, 0, 4} // (2, 2, 1, 2)
	for _, train := range []bool{true, false} {
		g := gorgonia.NewGraph()
		x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(2, 2, 1, 2), gorgonia.WithName("x"),
			gorgonia.WithValue(tensor.New(tensor.WithShape(2, 2, 1, 2), tensor.WithBacking(xs))))
		y, _, err := bn.Build2D(x, "bn", train)
		if err != nil {
			t.Fatal(err)
		}
		vm := gorgonia.NewTapeMachine(g)
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		vm.Close()
		if train {
			want := []float64{0.25, 0.1, 0.9 + 0.1*5.0/3, 1.3}
			got := append(append([]float32(nil), bn.RunningMean...), bn.RunningVar...)
			for i := range want {
				// 1e-6: float32 rounding of values near 1.
				if math.Abs(float64(got[i])-want[i]) > 1e-6 {
					t.Errorf("running stats after one run = %v, want %v", got, want)
					break
				}
			}
			continue
		}
		plain := bn.Forward2D(nil, xs, 2, 2)
		if got := y.Value().Data().([]float32); !slices.Equal(got, plain) {
			t.Errorf("eval graph = %v, Forward2D = %v", got, plain)
		}
		scale, shift := make([]float32, 2), make([]float32, 2)
		bn.Affine(scale, shift)
		// Forward2D computes x*scale + shift with the same float32 scale and shift.
		if got, want := xs[0]*scale[0]+shift[0], plain[0]; got != want {
			t.Errorf("Affine: x*scale+shift = %v, Forward2D %v", got, want)
		}
	}
}

// TestDropout checks that the mask is inverted dropout (0 or 1/(1-p)),
// fresh on each run, and that the gradient uses the forward's mask: with
// the cost Σ y, dx is the mask, so y = x ⊙ dx.
func TestDropout(t *testing.T) {
	const p, n = 0.25, 4000
	rng := rand.New(rand.NewPCG(5, 6))
	g := gorgonia.NewGraph()
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = 1 + float32(i%7)
	}
	x := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(n), gorgonia.WithName("x"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(n), tensor.WithBacking(xs))))
	y, err := Dropout(x, p, rng)
	if err != nil {
		t.Fatal(err)
	}
	cost := gorgonia.Must(gorgonia.Sum(y))
	grads, err := gorgonia.Grad(cost, x)
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	var first []float32
	for run := 0; run < 2; run++ {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		ys, dx := y.Value().Data().([]float32), grads[0].Value().Data().([]float32)
		zeros := 0
		for i := range ys {
			if dx[i] != 0 && dx[i] != 1/(1-p) || ys[i] != xs[i]*dx[i] {
				t.Fatalf("run %d element %d: x %v, y %v, dx %v: want dx in {0, %v} and y = x dx", run, i, xs[i], ys[i], dx[i], 1/(1-p))
			}
			if dx[i] == 0 {
				zeros++
			}
		}
		// Binomial(4000, 0.25): mean 1000, sd 27; 5 sd is 137.
		if zeros < 1000-137 || zeros > 1000+137 {
			t.Errorf("run %d: %d of %d dropped, want about %d", run, zeros, n, int(p*n))
		}
		if run == 0 {
			first = append(first, ys...)
		} else if slices.Equal(first, ys) {
			t.Error("two runs drew the same mask")
		}
	}
	if _, err := Dropout(x, 1, rng); err == nil {
		t.Error("Dropout(p = 1) = nil error, want one")
	}
	if same, _ := Dropout(x, 0, rng); same != x {
		t.Error("Dropout(p = 0) is not x")
	}
}

// TestReLUBackward32 compares the masked float32 ReLU backward with the
// generic one on the special values.
func TestReLUBackward32(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	y := []float32{0, float32(math.Copysign(0, -1)), 1e-45, 1, math.MaxFloat32, inf, -1, -inf, nan}
	dy := make([]float32, len(y))
	for i := range dy {
		dy[i] = float32(i + 1)
	}
	got, want := make([]float32, len(y)), make([]float32, len(y))
	reluBackward32(got, y, dy)
	y64, dy64, want64 := make([]float64, len(y)), make([]float64, len(y)), make([]float64, len(y))
	for i := range y {
		y64[i], dy64[i] = float64(y[i]), float64(dy[i])
	}
	actBackward(ActReLU, want64, y64, dy64)
	for i := range want {
		want[i] = float32(want64[i])
	}
	if !slices.Equal(got, want) {
		t.Errorf("reluBackward32(y %v) = %v, want %v", y, got, want)
	}
}
