package classify_test

import (
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/wavenet-go/wavenet/classify"
	"github.com/wavenet-go/wavenet/classify/cnntrain"
)

var update = flag.Bool("update", false, "rewrite testdata/cnn_golden.json")

// golden is what TestGolden records of one shipped architecture with
// seeded random weights: the logits of an eval-mode and a training-mode
// forward pass and the L2 norm of every weight's gradient after one
// backward pass.
type golden struct {
	EvalDigit, EvalSpeaker   []float32
	TrainDigit, TrainSpeaker []float32
	GradNorm                 map[string]float64
}

// TestGolden keeps the networks' numbers fixed while their layers change
// implementation (issue 18 moved the convolutions onto package nn): the
// values in testdata/cnn_golden.json were written by the layers before
// that change (go test -run Golden -update). Logits agree within 1e-4
// absolute (the float32 sums run in another order) and gradient norms
// within 1e-3 relative plus 1e-6 absolute: a BatchNorm scale's gradient is
// a sum of dy*xhat over thousands of positions that nearly cancels (norms
// near 3e-5), so another summation order moves it by up to ~3e-7.
func TestGolden(t *testing.T) {
	got := map[string]golden{}
	for _, tc := range []struct {
		name string
		cfg  classify.CNNConfig
	}{{"student", cnntrain.Student()}, {"teacher", cnntrain.Teacher()}} {
		m, err := shipped(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		c := m.Config
		const n = 3
		rng := rand.New(rand.NewPCG(2, 2))
		x := make([]float32, n*c.Features.Size())
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		var g golden
		d, s := m.Forward(x, n, false, 1, nil)
		g.EvalDigit, g.EvalSpeaker = append([]float32(nil), d...), append([]float32(nil), s...)
		d, s = m.Forward(x, n, true, 2, rand.New(rand.NewPCG(3, 3)))
		g.TrainDigit, g.TrainSpeaker = append([]float32(nil), d...), append([]float32(nil), s...)
		dd, ds := make([]float32, len(d)), make([]float32, len(s))
		for i := range dd {
			dd[i] = float32(rng.NormFloat64())
		}
		for i := range ds {
			ds[i] = float32(rng.NormFloat64())
		}
		m.Backward(dd, ds, n, 2)
		g.GradNorm = map[string]float64{}
		for _, w := range m.Weights() {
			if w.Grad == nil {
				continue
			}
			var ss float64
			for _, v := range w.Grad {
				ss += float64(v) * float64(v)
			}
			g.GradNorm[w.Name] = math.Sqrt(ss)
		}
		got[tc.name] = g
	}
	path := filepath.Join("testdata", "cnn_golden.json")
	if *update {
		b, err := json.MarshalIndent(got, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]golden
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		g := got[name]
		for _, v := range []struct {
			what      string
			got, want []float32
		}{{"eval digit", g.EvalDigit, w.EvalDigit}, {"eval speaker", g.EvalSpeaker, w.EvalSpeaker},
			{"train digit", g.TrainDigit, w.TrainDigit}, {"train speaker", g.TrainSpeaker, w.TrainSpeaker}} {
			if len(v.got) != len(v.want) {
				t.Fatalf("%s %s logits: %d values, want %d", name, v.what, len(v.got), len(v.want))
			}
			for i := range v.want {
				if math.Abs(float64(v.got[i]-v.want[i])) > 1e-4 {
					t.Errorf("%s %s logit %d = %.6f, want %.6f", name, v.what, i, v.got[i], v.want[i])
				}
			}
		}
		for k, wn := range w.GradNorm {
			if gn, ok := g.GradNorm[k]; !ok || math.Abs(gn-wn) > 1e-3*math.Abs(wn)+1e-6 {
				t.Errorf("%s: |grad %s| = %.6g, want %.6g", name, k, gn, wn)
			}
		}
	}
}
