package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wavenet-go/wavenet/wavenet"
)

// nullModel is a fresh testConfig model whose two conditions have null
// rows, the same for every call.
func nullModel(t *testing.T) *wavenet.Model {
	t.Helper()
	cfg := testConfig(t)
	for i := range cfg.Conditions {
		cfg.Conditions[i].Null = true
	}
	m, err := wavenet.New(cfg, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// nullRows returns a copy of every layer's null rows of condition c.
func nullRows(m *wavenet.Model, c int) []float32 {
	var out []float32
	n := m.Config.Conditions[c].NullIndex()
	for _, l := range m.Layers {
		w := len(l.Cond[c]) / m.Config.Conditions[c].Rows()
		out = append(out, l.Cond[c][n*w:(n+1)*w]...)
	}
	return out
}

func TestCondDropoutRate(t *testing.T) {
	tr, va := testCorpus(64)
	opts := testOptions(1, 1)
	opts.CondDropout = 0.3
	tn, err := NewFrom(t.TempDir(), nullModel(t), tr, va, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	cond := []int{1, 2}
	const n = 20000
	dropped := make([]int, 2)
	var buf []int
	for s := range n / 4 {
		tn.step = int64(s)
		for b := range 4 {
			buf = tn.dropConds(buf, cond, b)
			again := tn.dropConds(nil, cond, b)
			for i, c := range buf {
				if again[i] != c {
					t.Fatalf("step %d row %d: draws %v then %v, want the same (a resumed run must drop the same)", s, b, buf, again)
				}
				switch c {
				case tn.Model.Config.Conditions[i].NullIndex():
					dropped[i]++
				case cond[i]:
				default:
					t.Fatalf("condition %d became %d, want %d or the null row", i, c, cond[i])
				}
			}
		}
	}
	// Binomial(20000, 0.3): standard deviation 0.0032; allow 5 of them.
	for i, k := range dropped {
		if p := float64(k) / n; math.Abs(p-0.3) > 0.016 {
			t.Errorf("condition %d dropped in %.4f of the sequences, want 0.3 +- 0.016", i, p)
		}
	}
	if cond[0] != 1 || cond[1] != 2 {
		t.Errorf("dropConds changed its input to %v", cond)
	}
}

func TestCondDropoutTrainsTheNullRows(t *testing.T) {
	// Adam moves a weight only if it ever had a gradient: without dropout
	// the null rows never take part, with it they do.
	for _, p := range []float64{0, 0.5} {
		m := nullModel(t)
		before := nullRows(m, 1)
		opts := testOptions(4, 2)
		opts.CondDropout = p
		tn := runFrom(t, t.TempDir(), m, opts)
		after := nullRows(tn.Model, 1)
		moved := false
		for i := range before {
			moved = moved || before[i] != after[i]
		}
		if moved != (p > 0) {
			t.Errorf("dropout %v: null rows moved = %v, want %v", p, moved, p > 0)
		}
	}
}

func TestCondDropoutResumeIsExact(t *testing.T) {
	// The dropout probability is stored in the checkpoint (resumeSteps's
	// options leave it 0) and the draws depend only on seed and step.
	opts := testOptions(6, 2)
	opts.CondDropout = 0.5
	whole := runFrom(t, t.TempDir(), nullModel(t), opts).Model
	dir := t.TempDir()
	opts.Until = 3
	runFrom(t, dir, nullModel(t), opts)
	resumed := resumeSteps(t, dir, 6, 2)
	if d, same := diffWeights(whole, resumed); !same {
		t.Errorf("dropout 0.5, until 3 + resume to 6: weights differ from 6 steps by up to %g, want bit-identical", d)
	}
	plain := testOptions(6, 2)
	if d, _ := diffWeights(whole, runFrom(t, t.TempDir(), nullModel(t), plain).Model); d == 0 {
		t.Fatalf("training without dropout gives the same weights: the check above proves nothing")
	}
}

func TestCondDropoutErrors(t *testing.T) {
	tr, va := testCorpus(64)
	for _, tc := range []struct {
		name string
		m    *wavenet.Model
		p    float64
	}{
		{"no null row", nil, 0.1},
		{"probability 1", nullModel(t), 1},
		{"negative", nullModel(t), -0.1},
		{"NaN", nullModel(t), math.NaN()},
	} {
		opts := testOptions(1, 1)
		opts.CondDropout = tc.p
		m := tc.m
		if m == nil {
			var err error
			if m, err = wavenet.New(testConfig(t), rand.New(rand.NewPCG(1, 1))); err != nil {
				t.Fatal(err)
			}
		}
		if tn, err := NewFrom(t.TempDir(), m, tr, va, opts); err == nil {
			tn.Close()
			t.Errorf("%s: NewFrom = nil error, want an error", tc.name)
		}
	}
}
