package wavenet

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

func TestGrowKeepsTheFunction(t *testing.T) {
	cfg := Config{FilterWidth: 2, SampleRate: 8000, Dilations: []int{1, 2, 4}, ResidualChannels: 4,
		DilationChannels: 3, SkipChannels: 5, QuantizationChannels: 16, UseBiases: true,
		Conditions: []Condition{{Name: "speaker", Values: []string{"a", "b"}}}}
	rng := rand.New(rand.NewPCG(1, 2))
	m, err := New(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	// Non-zero biases and embeddings, so that a copy that dropped them shows.
	for _, p := range m.Params() {
		for i := range p.Data {
			if p.Init == InitZero {
				p.Data[i] = float32(rng.NormFloat64() * 0.1)
			}
		}
	}
	g, err := m.Grow([]int{8, 16}, rng)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := g.Config.ReceptiveField(), m.Config.ReceptiveField()+24; got != want {
		t.Errorf("grown receptive field = %d, want %d", got, want)
	}
	if len(m.Config.Dilations) != 3 {
		t.Errorf("Grow changed the original's dilations to %v", m.Config.Dilations)
	}
	codes := make([]int32, 80)
	for i := range codes {
		codes[i] = int32(rng.IntN(16))
	}
	a, err := m.Forward(context.Background(), nil, codes, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.Forward(context.Background(), nil, codes, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("logits: %d values from the model, %d from the grown one", len(a), len(b))
	}
	for i := range a {
		if d := math.Abs(float64(a[i] - b[i])); d > 1e-6 {
			t.Fatalf("logit %d: grown %g, original %g (difference %g, want <= 1e-6)", i, b[i], a[i], d)
		}
	}
	// The new blocks are not all zero: training can move them.
	nonzero := false
	for _, v := range g.Layers[4].Gate.W {
		nonzero = nonzero || v != 0
	}
	if !nonzero {
		t.Errorf("grown block's gate weights are all zero, want a random start")
	}
	if _, err := m.Grow(nil, rng); err == nil {
		t.Errorf("Grow(nil) = nil error, want an error")
	}
	if _, err := m.Grow([]int{0}, rng); err == nil {
		t.Errorf("Grow([0]) = nil error, want the config's error")
	}
}
