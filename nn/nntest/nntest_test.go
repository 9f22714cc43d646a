package nntest_test

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wavenet-go/wavenet/nn"
	"github.com/wavenet-go/wavenet/nn/nntest"
)

// recorder is a testing.TB that records whether Errorf was called.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }

func TestCheckGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	c := nn.GradCheck{Inputs: []*tensor.Dense{nn.RandTensor(rng, 3, 4)}}
	tanh := func(g *gorgonia.ExprGraph, x []*gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Tanh(x[0]) }
	nntest.CheckGradients(t, "tanh", c, tanh)
	r := &recorder{TB: t}
	bad := nn.GradCheck{Inputs: []*tensor.Dense{nn.RandTensor32(rng, 2), nn.RandTensor(rng, 2)}}
	nntest.CheckGradients(r, "mixed dtypes", bad, tanh)
	if !r.failed {
		t.Error("CheckGradients(mixed float32/float64 inputs) did not fail the test")
	}
	// Tolerances of 1e-300 are below any central difference's error
	// (about 1e-10 here: O(Eps^2) truncation plus O(1e-16/Eps) rounding),
	// so the same correct gradient must be reported out of tolerance.
	r = &recorder{TB: t}
	c.RTol, c.ATol = 1e-300, 1e-300
	nntest.CheckGradients(r, "tanh, tolerance 1e-300", c, tanh)
	if !r.failed {
		t.Error("CheckGradients(tanh, tolerances 1e-300) did not fail the test")
	}
}
