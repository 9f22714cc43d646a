package compress

import (
	"math"
	"testing"
)

func TestPruneModel(t *testing.T) {
	cases := []struct {
		name string
		opts PruneOptions
		want float64 // sparsity of the prunable weights
	}{
		// Every matrix of tiny has an even number of weights, so 50% per
		// layer is exactly half overall.
		{"per layer", PruneOptions{Amount: Fraction(0.5)}, 0.5},
		{"global", PruneOptions{Amount: Fraction(0.5), Global: true}, 0.5},
		// tiny's rows: 8, 16, 256 per matrix, all even: half the rows.
		{"structured", PruneOptions{Amount: Fraction(0.5), Structured: true}, 0.5},
	}
	for _, c := range cases {
		m := testModel(t, 5)
		before := m.Clone()
		ms, err := PruneModel(m, c.opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := Sparsity(m); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: Sparsity after PruneModel = %v, want %v", c.name, got, c.want)
		}
		// Biases and embeddings are untouched, weights kept are unchanged.
		pb, pa := before.Params(), m.Params()
		for i := range pa {
			mk := ms[pa[i].Name]
			for j, v := range pa[i].Data {
				if (mk == nil || mk[j] != 0) && v != pb[i].Data[j] {
					t.Fatalf("%s: %s[%d] = %v, want it kept at %v", c.name, pa[i].Name, j, v, pb[i].Data[j])
				}
			}
		}
		// A second round of 50% prunes half of the survivors: 75%.
		if !c.opts.Structured {
			if _, err := PruneModel(m, c.opts, ms); err != nil {
				t.Fatal(err)
			}
			if got := Sparsity(m); math.Abs(got-0.75) > 1e-3 {
				t.Errorf("%s: Sparsity after two rounds = %v, want 0.75", c.name, got)
			}
		}
	}
}

// TestMasksKeepPrunedWeightsDead: an update that moves every weight (an
// optimizer step) followed by Apply leaves pruned weights at zero.
func TestMasksKeepPrunedWeightsDead(t *testing.T) {
	m := testModel(t, 6)
	ms, err := PruneModel(m, PruneOptions{Amount: Fraction(0.3), Global: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Sparsity(m)
	for _, p := range m.Params() {
		for i := range p.Data {
			p.Data[i] += 0.01
		}
	}
	ms.Apply(m)
	if got := Sparsity(m); got != want {
		t.Errorf("Sparsity after a step and Apply = %v, want %v", got, want)
	}
}
