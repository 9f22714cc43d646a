package wavenet

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// smallModel is a model of dilations 1, 2, 4 with the given conditions,
// drawn from rng, whose biases and embeddings are non-zero too, so that a
// copy that dropped them shows.
func smallModel(t *testing.T, rng *rand.Rand, conds ...Condition) *Model {
	t.Helper()
	cfg := Config{FilterWidth: 2, SampleRate: 8000, Dilations: []int{1, 2, 4}, ResidualChannels: 4,
		DilationChannels: 3, SkipChannels: 5, QuantizationChannels: 16, UseBiases: true, Conditions: conds}
	m, err := New(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		for i := range p.Data {
			if p.Init == InitZero {
				p.Data[i] = float32(rng.NormFloat64() * 0.1)
			}
		}
	}
	return m
}

func TestGrowKeepsTheFunction(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := smallModel(t, rng, Condition{Name: "speaker", Values: []string{"a", "b"}})
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

func TestWithNullKeepsTheValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := smallModel(t, rng, Condition{Name: "speaker", Values: []string{"a", "b"}}, Condition{Name: "digit", Values: []string{"0", "1", "2"}})
	cfg := m.Config
	n := m.WithNull()
	if err := n.CheckShapes(); err != nil {
		t.Fatal(err)
	}
	for i, c := range n.Config.Conditions {
		if !c.Null || c.NullIndex() != len(cfg.Conditions[i].Values) || c.Rows() != len(c.Values)+1 {
			t.Errorf("condition %s: Null %v, NullIndex %d, Rows %d; want true, %d, %d", c.Name, c.Null, c.NullIndex(), c.Rows(),
				len(c.Values), len(c.Values)+1)
		}
	}
	if m.Config.Conditions[0].Null || m.Config.Conditions[0].Rows() != 2 || len(m.Layers[0].Cond[0]) != 2*6 {
		t.Fatalf("WithNull changed the original model")
	}
	codes := make([]int32, 40)
	for i := range codes {
		codes[i] = int32(rng.IntN(16))
	}
	for _, cond := range [][]int{{0, 0}, {1, 2}} {
		a, _ := m.Forward(context.Background(), nil, codes, cond)
		b, err := n.Forward(context.Background(), nil, codes, cond)
		if err != nil {
			t.Fatal(err)
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("cond %v: logit %d is %g with null rows, %g without; want identical", cond, i, b[i], a[i])
			}
		}
	}
	// The null row starts as the mean of the value rows (2D = 6 wide).
	for l, ly := range n.Layers {
		rows := ly.Cond[1]
		for j := range 6 {
			mean := (rows[j] + rows[6+j] + rows[12+j]) / 3
			if d := math.Abs(float64(rows[18+j] - mean)); d > 1e-7 {
				t.Fatalf("layer %d: null row[%d] = %g, want the mean %g", l, j, rows[18+j], mean)
			}
		}
	}
	// The null index is an input the model takes; one past it is not.
	if _, err := n.Forward(context.Background(), nil, codes, []int{2, 3}); err != nil {
		t.Errorf("Forward with the null rows = %v, want nil", err)
	}
	if err := n.CheckInput(nil, []int{3, 0}); err == nil {
		t.Errorf("CheckInput(one past the null row) = nil, want an error")
	}
	// WithNull of a model that has null rows keeps them; WithMeanNull
	// recomputes them from the value rows.
	n.Layers[1].Cond[1][18] += 1
	if again := n.WithNull(); !slices.Equal(again.Layers[1].Cond[1], n.Layers[1].Cond[1]) {
		t.Errorf("WithNull twice: conditioning rows %v, want %v unchanged", again.Layers[1].Cond[1], n.Layers[1].Cond[1])
	}
	reset := n.WithMeanNull()
	if got, want := reset.Layers[1].Cond[1], m.WithNull().Layers[1].Cond[1]; !slices.Equal(got, want) {
		t.Errorf("WithMeanNull: conditioning rows %v, want the value rows and their mean %v", got, want)
	}
	n.Layers[1].Cond[1][18] -= 1
	// The null rows survive a save and load.
	dir := t.TempDir()
	if err := Save(context.Background(), dir, n, nil); err != nil {
		t.Fatal(err)
	}
	back, err := Load(context.Background(), dir)
	if err != nil {
		t.Fatalf("Load of a model with null rows: %v", err)
	}
	if !back.Config.Conditions[1].Null || !slices.Equal(back.Layers[2].Cond[1], n.Layers[2].Cond[1]) {
		t.Errorf("loaded model lost its null rows: config %+v", back.Config.Conditions)
	}
}
