package nn

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// inputNode returns a float32 (n, c) input node holding a tensor whose
// backing slice the caller fills before each run.
func inputNode(g *gorgonia.ExprGraph, name string, n, c int) (*gorgonia.Node, []float32) {
	d := make([]float32, n*c)
	x := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(n, c), gorgonia.WithName(name),
		gorgonia.WithValue(tensor.New(tensor.WithShape(n, c), tensor.WithBacking(d))))
	return x, d
}

// TestMLPGraphMatchesForward checks the gorgonia graph of an MLP against
// its pure-Go forward pass, for every activation.
func TestMLPGraphMatchesForward(t *testing.T) {
	for _, act := range []Activation{ActLinear, ActReLU, ActTanh, ActSigmoid} {
		rng := rand.New(rand.NewPCG(11, uint64(act)))
		m, err := NewMLP("m", []int{4, 7, 5, 3}, act, act, rng)
		if err != nil {
			t.Fatal(err)
		}
		// Non-zero biases so they are exercised.
		for i := range m.Layers {
			for j := range m.Layers[i].B {
				m.Layers[i].B[j] = float32(rng.NormFloat64() * 0.1)
			}
		}
		const n = 6
		g := gorgonia.NewGraph()
		x, xd := inputNode(g, "x", n, 4)
		for i := range xd {
			xd[i] = float32(rng.NormFloat64())
		}
		y, _, err := m.Build(x)
		if err != nil {
			t.Fatal(err)
		}
		vm := gorgonia.NewTapeMachine(g)
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		got := y.Value().Data().([]float32)
		batch := m.ForwardBatch(nil, xd, n)
		for r := 0; r < n; r++ {
			one := m.Forward(nil, xd[r*4:r*4+4])
			for j := 0; j < 3; j++ {
				// 1e-5: float32 sums of 7 terms in a different order.
				if d := math.Abs(float64(got[r*3+j] - one[j])); d > 1e-5 {
					t.Errorf("%v: graph y[%d][%d] = %v, Forward = %v", act, r, j, got[r*3+j], one[j])
				}
				if d := math.Abs(float64(batch[r*3+j] - one[j])); d > 1e-5 {
					t.Errorf("%v: ForwardBatch y[%d][%d] = %v, Forward = %v", act, r, j, batch[r*3+j], one[j])
				}
			}
		}
		vm.Close()
	}
}

// TestMLPLearnsXOR trains a 2-8-1 tanh MLP with a linear output on the
// four XOR points with MSE and Adam (lr 0.05, full batch) for 300 steps;
// it must reach a loss below 1e-3 (a net that has not learned XOR is stuck
// at 0.25, the loss of predicting 0.5 everywhere).
func TestMLPLearnsXOR(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m, err := NewMLP("xor", []int{2, 8, 1}, ActTanh, ActLinear, rng)
	if err != nil {
		t.Fatal(err)
	}
	g := gorgonia.NewGraph()
	x, xd := inputNode(g, "x", 4, 2)
	y, yd := inputNode(g, "y", 4, 1)
	copy(xd, []float32{0, 0, 0, 1, 1, 0, 1, 1})
	copy(yd, []float32{0, 1, 1, 0})
	out, params, err := m.Build(x)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := MSE(out, y)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := NewMachine(loss, params)
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	opt := NewAdam(0.9, 0.999, 1e-8, 0)
	var l float64
	for step := 0; step < 300; step++ {
		if l, err = mc.Run(); err != nil {
			t.Fatal(err)
		}
		if err := opt.Step(mc.Params(), 0.05); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("XOR MSE after 300 steps: %.3g", l)
	if l > 1e-3 {
		t.Errorf("XOR MSE after 300 Adam steps = %v, want < 1e-3", l)
	}
	// The pure-Go forward sees the trained weights (they are shared).
	for i, want := range []float32{0, 1, 1, 0} {
		got := m.Forward(nil, xd[2*i:2*i+2])[0]
		// 0.1: a loss below 1e-3 bounds each squared error by 4e-3.
		if math.Abs(float64(got-want)) > 0.1 {
			t.Errorf("XOR Forward(%v) = %v, want %v", xd[2*i:2*i+2], got, want)
		}
	}
}

// TestMachineZeroesGradients checks that two runs of a Machine give the
// gradient of one run (gorgonia alone would accumulate them).
func TestMachineZeroesGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	m, _ := NewMLP("z", []int{3, 4, 2}, ActTanh, ActLinear, rng)
	g := gorgonia.NewGraph()
	x, xd := inputNode(g, "x", 2, 3)
	y, yd := inputNode(g, "y", 2, 2)
	for i := range xd {
		xd[i] = float32(rng.NormFloat64())
	}
	copy(yd, []float32{1, -1, 0.5, 2})
	out, params, _ := m.Build(x)
	loss, _ := MSE(out, y)
	mc, err := NewMachine(loss, params)
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	if _, err := mc.Run(); err != nil {
		t.Fatal(err)
	}
	first := append([]float32(nil), mc.Params()[0].Grad...)
	if _, err := mc.Run(); err != nil {
		t.Fatal(err)
	}
	second := mc.Params()[0].Grad
	nonzero := false
	for i := range first {
		if first[i] != second[i] {
			t.Fatalf("grad[%d] after second Run = %v, after first %v: gradients accumulate", i, second[i], first[i])
		}
		nonzero = nonzero || first[i] != 0
	}
	if !nonzero {
		t.Error("all gradients are zero")
	}
	if got := mc.Params()[0].Name; got != "z.0.w" {
		t.Errorf("first param name = %q, want z.0.w", got)
	}
}

func TestMLPCopyCloneJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	a, _ := NewMLP("a", []int{3, 5, 2}, ActReLU, ActLinear, rng)
	b, _ := NewMLP("b", []int{3, 5, 2}, ActReLU, ActLinear, rng)
	x := []float32{0.3, -1, 2}
	if err := b.CopyFrom(a); err != nil {
		t.Fatal(err)
	}
	ya, yb := a.Forward(nil, x), b.Forward(nil, x)
	for i := range ya {
		if ya[i] != yb[i] {
			t.Errorf("after CopyFrom: b(x)[%d] = %v, a(x) = %v", i, yb[i], ya[i])
		}
	}
	c := a.Clone("c")
	c.Layers[0].W[0] += 1
	if a.Layers[0].W[0] == c.Layers[0].W[0] {
		t.Error("Clone shares weights with the original")
	}
	small, _ := NewMLP("s", []int{3, 4, 2}, ActReLU, ActLinear, rng)
	if err := small.CopyFrom(a); err == nil {
		t.Error("CopyFrom between 3-5-2 and 3-4-2: no error")
	}

	js, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var d MLP
	if err := json.Unmarshal(js, &d); err != nil {
		t.Fatal(err)
	}
	if err := d.Check(); err != nil {
		t.Fatalf("decoded MLP: %v", err)
	}
	yd := d.Forward(nil, x)
	for i := range ya {
		if ya[i] != yd[i] {
			t.Errorf("after JSON round trip: y[%d] = %v, want %v", i, yd[i], ya[i])
		}
	}
	if d.Hidden != ActReLU {
		t.Errorf("decoded Hidden = %v, want relu", d.Hidden)
	}
	if n := len(a.Tensors()); n != 4 {
		t.Errorf("len(Tensors()) = %d, want 4 (w and b of 2 layers)", n)
	}
}

func BenchmarkMLPForward(b *testing.B) {
	// A DQN-sized CartPole net: 4 inputs, two hidden layers of 64, 2 actions.
	m, _ := NewMLP("q", []int{4, 64, 64, 2}, ActReLU, ActLinear, rand.New(rand.NewPCG(1, 1)))
	x := []float32{0.01, -0.2, 0.03, 0.1}
	dst := make([]float32, 2)
	b.ReportAllocs()
	for b.Loop() {
		dst = m.Forward(dst, x)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "obs/s")
}
