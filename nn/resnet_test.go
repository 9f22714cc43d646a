package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func randomizeBiases(rng *rand.Rand, ls []*Linear, alsoW bool) {
	for _, l := range ls {
		for j := range l.B {
			l.B[j] = float32(rng.NormFloat64() * 0.1)
		}
		if alsoW {
			for j := range l.W {
				l.W[j] = float32(rng.NormFloat64() * 0.5)
			}
		}
	}
}

func TestResNetGraphMatchesForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	r, err := NewResNet("pv", 9, 16, 2, 9, 8, rng)
	if err != nil {
		t.Fatal(err)
	}
	randomizeBiases(rng, r.layers(), false)
	for i := range r.Blocks { // B starts at zero: give it weights so blocks matter
		for j := range r.Blocks[i].B.W {
			r.Blocks[i].B.W[j] = float32(rng.NormFloat64() * 0.2)
		}
	}
	const n = 5
	g := gorgonia.NewGraph()
	x, xd := inputNode(g, "x", n, 9)
	for i := range xd {
		xd[i] = float32(rng.IntN(3) - 1) // board cells in {-1, 0, 1}
	}
	logits, value, params, err := r.Build(x)
	if err != nil {
		t.Fatal(err)
	}
	if len(params) != 2*(4+2*2) {
		t.Errorf("len(params) = %d, want %d (w and b of stem, 2x2 block layers, 3 head layers)", len(params), 2*(4+2*2))
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	gl, gv := logits.Value().Data().([]float32), value.Value().Data().([]float32)
	for row := 0; row < n; row++ {
		lg, v := r.Forward(nil, xd[row*9:row*9+9])
		// 1e-5: float32 sums of up to 16 terms in a different order.
		if math.Abs(float64(v-gv[row])) > 1e-5 {
			t.Errorf("row %d: Forward value = %v, graph %v", row, v, gv[row])
		}
		for j := range lg {
			if math.Abs(float64(lg[j]-gl[row*9+j])) > 1e-5 {
				t.Errorf("row %d: Forward logit %d = %v, graph %v", row, j, lg[j], gl[row*9+j])
			}
		}
	}
}

// float64Params returns float64 input tensors holding the weights of ls,
// w then b of each layer, for a gradient check.
func float64Params(ls []*Linear) []*tensor.Dense {
	var ts []*tensor.Dense
	for _, l := range ls {
		w := make([]float64, len(l.W))
		for i, v := range l.W {
			w[i] = float64(v)
		}
		ts = append(ts, tensor.New(tensor.WithShape(l.Out, l.In), tensor.WithBacking(w)))
		if l.B != nil {
			b := make([]float64, len(l.B))
			for i, v := range l.B {
				b[i] = float64(v)
			}
			ts = append(ts, tensor.New(tensor.WithShape(l.Out), tensor.WithBacking(b)))
		}
	}
	return ts
}

// TestWholeModelGradients checks every parameter gradient of a whole tiny
// ResNet under the AlphaZero loss (value MSE + policy soft cross-entropy)
// and of a whole MLP under MSE, in float64, against finite differences.
func TestWholeModelGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	r, _ := NewResNet("pv", 4, 5, 1, 3, 4, rng)
	randomizeBiases(rng, r.layers(), true)
	const n = 3
	ps := float64Params(r.layers())
	x := RandTensor(rng, n, 4)
	pi := tensor.New(tensor.WithShape(n, 3), tensor.WithBacking([]float64{0.2, 0.3, 0.5, 1, 0, 0, 0.1, 0.1, 0.8}))
	z := tensor.New(tensor.WithShape(n, 1), tensor.WithBacking([]float64{1, -1, 0}))
	in := append([]*tensor.Dense{x, pi, z}, ps...)
	wrt := make([]int, len(ps))
	for i := range wrt {
		wrt[i] = 3 + i
	}
	c := withInputs(gradTol, wrt, in...)
	checkGradients(t, "ResNet AlphaZero loss", c, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		logits, value, err := r.buildWith(in[0], in[3:])
		if err != nil {
			return nil, err
		}
		lv, err := MSE(value, in[2])
		if err != nil {
			return nil, err
		}
		lp, err := SoftCrossEntropy(logits, in[1])
		if err != nil {
			return nil, err
		}
		return gorgonia.Add(lv, lp)
	})

	m, _ := NewMLP("m", []int{3, 4, 4, 2}, ActSigmoid, ActTanh, rng)
	var mls []*Linear
	for i := range m.Layers {
		mls = append(mls, &m.Layers[i])
	}
	randomizeBiases(rng, mls, false)
	mps := float64Params(mls)
	mins := append([]*tensor.Dense{RandTensor(rng, n, 3), RandTensor(rng, n, 2)}, mps...)
	wrt = wrt[:0]
	for i := range mps {
		wrt = append(wrt, 2+i)
	}
	checkGradients(t, "MLP MSE", withInputs(gradTol, wrt, mins...), func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		y, err := m.buildWith(in[0], in[2:])
		if err != nil {
			return nil, err
		}
		return MSE(y, in[1])
	})
}

// TestResNetFitsPolicyValueTargets trains a tic-tac-toe-sized ResNet
// (9 inputs, width 32, 2 blocks, 9 actions) on 8 random boards with random
// policy targets and values for 400 Adam steps. The policy loss cannot go
// below the targets' mean entropy H, so the test asserts the excess
// (loss - H) and the value MSE, each below 0.02.
func TestResNetFitsPolicyValueTargets(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	r, _ := NewResNet("pv", 9, 32, 2, 9, 16, rng)
	const n = 8
	g := gorgonia.NewGraph()
	x, xd := inputNode(g, "x", n, 9)
	pi, pid := inputNode(g, "pi", n, 9)
	z, zd := inputNode(g, "z", n, 1)
	var entropy float64
	for i := 0; i < n; i++ {
		for j := 0; j < 9; j++ {
			xd[i*9+j] = float32(rng.IntN(3) - 1)
		}
		logit := make([]float32, 9)
		for j := range logit {
			logit[j] = float32(rng.NormFloat64())
		}
		p := Softmax(pid[i*9:i*9+9], logit)
		for _, v := range p {
			entropy -= float64(v) * math.Log(float64(v)) / n
		}
		zd[i] = float32(rng.IntN(3) - 1)
	}
	logits, value, params, err := r.Build(x)
	if err != nil {
		t.Fatal(err)
	}
	lv, _ := MSE(value, z)
	lp, _ := SoftCrossEntropy(logits, pi)
	loss, _ := gorgonia.Add(lv, lp)
	mc, err := NewMachine(loss, params)
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	opt := NewAdam(0.9, 0.999, 1e-8, 0)
	for step := 0; step < 400; step++ {
		if _, err := mc.Run(); err != nil {
			t.Fatal(err)
		}
		if err := opt.Step(mc.Params(), 3e-3); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := mc.Run(); err != nil {
		t.Fatal(err)
	}
	vl := float64(lv.Value().Data().(float32))
	pl := float64(lp.Value().Data().(float32))
	t.Logf("after 400 steps: value MSE %.4g, policy CE %.4g (entropy bound %.4g)", vl, pl, entropy)
	if vl > 0.02 || pl-entropy > 0.02 {
		t.Errorf("after 400 steps: value MSE %.4g, policy CE - entropy %.4g; want both < 0.02", vl, pl-entropy)
	}
}
