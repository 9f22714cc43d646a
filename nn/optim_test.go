package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestOptimizersHandSteps checks two steps of each optimizer on one scalar
// parameter (p0 = 1, gradients 0.5 then 0.25) against values worked out by
// hand from the documented update formulas of torch.optim.Adam,
// torch.optim.SGD (dampening 0) and torch.optim.RMSprop (the arithmetic is
// in the comments).
func TestOptimizersHandSteps(t *testing.T) {
	tests := []struct {
		name string
		opt  Optimizer
		lr   float64
		want [2]float64
	}{
		// Adam(0.9, 0.999, 1e-8): t=1: m̂ = g, v̂ = g², p = 1 - 0.1*0.5/(0.5+1e-8).
		// t=2: m = 0.07, v = 0.00031225, m̂ = 0.07/0.19, v̂ = 0.00031225/0.001999.
		{"adam", NewAdam(0.9, 0.999, 1e-8, 0), 0.1, [2]float64{0.900000002, 0.8067820404774622}},
		// SGD μ=0.9: b = 0.5, p = 0.95; b = 0.45+0.25 = 0.7, p = 0.95-0.07.
		{"sgd momentum", NewSGD(0.9, false), 0.1, [2]float64{0.95, 0.88}},
		// Nesterov: d = 0.5+0.9*0.5 = 0.95, p = 0.905; d = 0.25+0.9*0.7 = 0.88, p = 0.817.
		{"sgd nesterov", NewSGD(0.9, true), 0.1, [2]float64{0.905, 0.817}},
		// Plain SGD: p = 1-0.05, then 0.95-0.025.
		{"sgd plain", NewSGD(0, false), 0.1, [2]float64{0.95, 0.925}},
		// RMSProp α=0.99: v = 0.0025, p = 1 - 0.01*0.5/0.05;
		// v = 0.002475+0.000625 = 0.0031, p = 0.9 - 0.01*0.25/sqrt(0.0031).
		{"rmsprop", NewRMSProp(0.99, 1e-8), 0.01, [2]float64{0.90000002, 0.855098702557817}},
	}
	for _, tt := range tests {
		p := Param{Name: "w", Value: []float32{1}, Grad: []float32{0.5}}
		for s, g := range []float32{0.5, 0.25} {
			p.Grad[0] = g
			if err := tt.opt.Step([]Param{p}, tt.lr); err != nil {
				t.Fatalf("%s: Step: %v", tt.name, err)
			}
			// 1e-6: float32 rounding of values near 1 (ulp 6e-8) over a few operations.
			if got := float64(p.Value[0]); math.Abs(got-tt.want[s]) > 1e-6 {
				t.Errorf("%s: after step %d p = %.9g, want %.9g", tt.name, s+1, got, tt.want[s])
			}
		}
	}
}

// refAdam is torch.optim.Adam's update in float64, written from its
// documentation, with L2 weight decay (or decoupled, AdamW).
func refAdam(p, g []float64, steps int, lr, b1, b2, eps, wd float64, decoupled bool, grads func(step, j int) float64) {
	m := make([]float64, len(p))
	v := make([]float64, len(p))
	for t := 1; t <= steps; t++ {
		for j := range p {
			gj := grads(t, j)
			if decoupled {
				p[j] *= 1 - lr*wd
			} else {
				gj += wd * p[j]
			}
			m[j] = b1*m[j] + (1-b1)*gj
			v[j] = b2*v[j] + (1-b2)*gj*gj
			mh := m[j] / (1 - math.Pow(b1, float64(t)))
			vh := v[j] / (1 - math.Pow(b2, float64(t)))
			p[j] -= lr * mh / (math.Sqrt(vh) + eps)
		}
	}
}

// TestAdamAgainstReference runs 20 Adam steps on random values and
// gradients and compares with the float64 reference.
func TestAdamAgainstReference(t *testing.T) {
	tests := []struct {
		name      string
		wd        float64
		decoupled bool
	}{
		{"plain", 0, false},
		{"l2", 0.01, false},
		{"adamw", 0.01, true},
	}
	const n, steps = 17, 20
	for _, tt := range tests {
		rng := rand.New(rand.NewPCG(1, 2))
		gs := make([][]float64, steps+1)
		for s := range gs {
			gs[s] = make([]float64, n)
			for j := range gs[s] {
				gs[s][j] = float64(float32(rng.NormFloat64()))
			}
		}
		init := make([]float64, n)
		for j := range init {
			init[j] = float64(float32(rng.NormFloat64()))
		}
		ref := append([]float64(nil), init...)
		refAdam(ref, nil, steps, 1e-2, 0.9, 0.999, 1e-8, tt.wd, tt.decoupled, func(s, j int) float64 { return gs[s][j] })

		a := NewAdam(0.9, 0.999, 1e-8, tt.wd)
		a.Decoupled = tt.decoupled
		p := Param{Name: "w", Value: make([]float32, n), Grad: make([]float32, n)}
		for j := range init {
			p.Value[j] = float32(init[j])
		}
		for s := 1; s <= steps; s++ {
			for j := range p.Grad {
				p.Grad[j] = float32(gs[s][j])
			}
			if err := a.Step([]Param{p}, 1e-2); err != nil {
				t.Fatal(err)
			}
		}
		for j := range ref {
			// 1e-5: float32 state over 20 steps of size ~1e-2.
			if d := math.Abs(float64(p.Value[j]) - ref[j]); d > 1e-5 {
				t.Errorf("%s: Adam p[%d] = %.7g, want %.7g", tt.name, j, p.Value[j], ref[j])
			}
		}
	}
}

// TestOptimizerStateResume checks that saving the state after 3 steps and
// restoring it into a fresh optimizer gives bit-identical parameters after
// 5 steps, for every optimizer, and that restoring works before the first
// Step (the resume path) as well as after.
func TestOptimizerStateResume(t *testing.T) {
	mk := []struct {
		name string
		new  func() Optimizer
	}{
		{"adam", func() Optimizer { return NewAdam(0.9, 0.999, 1e-8, 0.01) }},
		{"sgd", func() Optimizer { return NewSGD(0.9, true) }},
		{"rmsprop", func() Optimizer { return NewRMSProp(0.99, 1e-8) }},
	}
	for _, m := range mk {
		for _, bound := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(3, 4))
			mkParams := func() []Param {
				return []Param{
					{Name: "a", Value: []float32{1, -2, 3}, Grad: make([]float32, 3)},
					{Name: "b", Value: []float32{0.5}, Grad: make([]float32, 1)},
				}
			}
			grads := make([][]float32, 5)
			for s := range grads {
				grads[s] = []float32{float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())}
			}
			run := func(o Optimizer, ps []Param, from, to int) {
				for s := from; s < to; s++ {
					copy(ps[0].Grad, grads[s][:3])
					ps[1].Grad[0] = grads[s][3]
					if err := o.Step(ps, 1e-2); err != nil {
						t.Fatal(err)
					}
				}
			}
			full := mkParams()
			run(m.new(), full, 0, 5)

			half := mkParams()
			o1 := m.new()
			run(o1, half, 0, 3)
			st, step := o1.State()
			if step != 3 {
				t.Errorf("%s: State step = %d, want 3", m.name, step)
			}
			o2 := m.new()
			if bound {
				// Bind o2 to the params with a throwaway step on copies.
				tmp := mkParams()
				run(o2, tmp, 0, 1)
			}
			if err := o2.SetState(st, step); err != nil {
				t.Fatalf("%s: SetState: %v", m.name, err)
			}
			run(o2, half, 3, 5)
			for i := range full {
				for j := range full[i].Value {
					if full[i].Value[j] != half[i].Value[j] {
						t.Errorf("%s (bound %v): resumed %s[%d] = %v, want %v", m.name, bound, full[i].Name, j, half[i].Value[j], full[i].Value[j])
					}
				}
			}
		}
	}
}

// TestOptimizerStateBeforeFirstStep: the state of an optimizer that
// never stepped (what a step-0 checkpoint holds) restores as a fresh
// optimizer, for every kind; a later step without tensors is refused.
func TestOptimizerStateBeforeFirstStep(t *testing.T) {
	for _, mk := range []func() Optimizer{
		func() Optimizer { return NewAdam(0.9, 0.999, 1e-8, 0) },
		func() Optimizer { return NewSGD(0.9, false) },
		func() Optimizer { return NewRMSProp(0.99, 1e-8) },
	} {
		params := func() []Param { return []Param{{Name: "a", Value: []float32{1, 2}, Grad: []float32{0.5, -1}}} }
		fresh, restored := params(), params()
		st, step := mk().State()
		if err := mk().Step(fresh, 0.1); err != nil {
			t.Fatal(err)
		}
		r := mk()
		if err := r.SetState(st, step); err != nil {
			t.Fatalf("%T: SetState of a never-stepped state: %v", r, err)
		}
		if err := r.Step(restored, 0.1); err != nil {
			t.Fatalf("%T: Step after restoring a never-stepped state: %v", r, err)
		}
		if !slices.Equal(fresh[0].Value, restored[0].Value) {
			t.Errorf("%T: restored run gives %v, a fresh one %v; want equal", r, restored[0].Value, fresh[0].Value)
		}
		if err := mk().SetState(map[string][]float32{}, 3); err == nil {
			t.Errorf("%T: a step-3 state without tensors was accepted", r)
		}
	}
}

func TestOptimizerErrors(t *testing.T) {
	p := func(name string, n int) Param {
		return Param{Name: name, Value: make([]float32, n), Grad: make([]float32, n)}
	}
	tests := []struct {
		name    string
		first   []Param
		second  []Param
		wantErr string
	}{
		{"order changed", []Param{p("a", 1), p("b", 2)}, []Param{p("b", 2), p("a", 1)}, "order"},
		{"count changed", []Param{p("a", 1)}, []Param{p("a", 1), p("b", 1)}, "2 params"},
		{"size changed", []Param{p("a", 1)}, []Param{p("a", 3)}, "3 elements"},
		{"duplicate", []Param{p("a", 1), p("a", 1)}, nil, "duplicate"},
		{"grad length", []Param{{Name: "a", Value: make([]float32, 2), Grad: make([]float32, 1)}}, nil, "grad has 1"},
	}
	for _, tt := range tests {
		o := NewAdam(0.9, 0.999, 1e-8, 0)
		err := o.Step(tt.first, 0.1)
		if tt.second != nil {
			if err != nil {
				t.Fatalf("%s: first Step: %v", tt.name, err)
			}
			err = o.Step(tt.second, 0.1)
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: Step error = %v, want one containing %q", tt.name, err, tt.wantErr)
		}
	}

	// A restored state missing a tensor is refused at the first Step.
	o := NewAdam(0.9, 0.999, 1e-8, 0)
	if err := o.SetState(map[string][]float32{"adam.m.a": {0}}, 1); err != nil {
		t.Fatal(err)
	}
	if err := o.Step([]Param{p("a", 1)}, 0.1); err == nil || !strings.Contains(err.Error(), "adam.v.a") {
		t.Errorf("Step after SetState without adam.v.a: error = %v, want one naming adam.v.a", err)
	}
	// Wrong length after binding.
	o = NewAdam(0.9, 0.999, 1e-8, 0)
	if err := o.Step([]Param{p("a", 2)}, 0.1); err != nil {
		t.Fatal(err)
	}
	if err := o.SetState(map[string][]float32{"adam.m.a": {0}, "adam.v.a": {0, 0}}, 1); err == nil {
		t.Error("SetState with a 1-element adam.m.a for a 2-element param: no error")
	}
	if err := o.SetState(nil, -1); err == nil {
		t.Error("SetState(nil, -1): no error")
	}
}

func TestZeroGrads(t *testing.T) {
	ps := []Param{{Name: "a", Value: []float32{1, 2}, Grad: []float32{3, 4}}}
	ZeroGrads(ps)
	if ps[0].Grad[0] != 0 || ps[0].Grad[1] != 0 {
		t.Errorf("ZeroGrads: grad = %v, want [0 0]", ps[0].Grad)
	}
}
