package retrain

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/wavenet-go/wavenet/compress"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/wavenet"
)

// testCorpus is a few utterances of a noisy periodic code pattern (so that
// a model can learn something in a few steps), in the shape corpus.Load
// returns.
func testCorpus(q int) (trainUtts, val []*corpus.Utterance) {
	rng := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 8; i++ {
		u := &corpus.Utterance{Name: fmt.Sprintf("u%d.wav", i), Codes: make([]int32, 200), Levels: q}
		for j := range u.Codes {
			v := float64(q/2) + float64(q/3)*math.Sin(float64(j)*0.7) + rng.NormFloat64()
			u.Codes[j] = int32(max(0, min(float64(q-1), math.Round(v))))
		}
		if i >= 6 {
			u.Validation = true
			val = append(val, u)
		} else {
			trainUtts = append(trainUtts, u)
		}
	}
	return trainUtts, val
}

func testModel(t *testing.T, seed uint64) *wavenet.Model {
	t.Helper()
	cfg, err := wavenet.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.QuantizationChannels = 32
	cfg.Dilations = []int{1, 2, 4}
	return testModelConfig(t, cfg, seed)
}

func testModelConfig(t *testing.T, cfg wavenet.Config, seed uint64) *wavenet.Model {
	t.Helper()
	m, err := wavenet.New(cfg, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFineTuneKeepsMasks(t *testing.T) {
	ctx := context.Background()
	m := testModel(t, 1)
	tr, val := testCorpus(m.Config.QuantizationChannels)
	masks, err := compress.PruneModel(m, compress.PruneOptions{Amount: compress.Fraction(0.5)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	curve, err := FineTune(ctx, m, masks, tr, Options{Steps: 30, Batch: 2, Workers: 1, Segment: 16, LR: 1e-2, Val: val, ValidateEvery: 10})
	if err != nil {
		t.Fatal(err)
	}
	// Every pruned weight is still exactly zero.
	for _, p := range m.Params() {
		if mk := masks[p.Name]; mk != nil {
			for i, k := range mk {
				if k == 0 && p.Data[i] != 0 {
					t.Fatalf("%s[%d] = %v after fine-tuning, want 0 (pruned)", p.Name, i, p.Data[i])
				}
			}
		}
	}
	if s := compress.Sparsity(m); math.Abs(s-0.5) > 1e-9 {
		t.Errorf("sparsity after fine-tuning = %v, want 0.5", s)
	}
	// Validation at steps 0, 10, 20, 30; training lowers it on this
	// learnable pattern.
	if len(curve) != 4 || !(curve[3].Bits < curve[0].Bits) {
		t.Errorf("validation curve %v: want 4 points, the last below the first", curve)
	}
}

func TestIterativePrune(t *testing.T) {
	ctx := context.Background()
	m := testModel(t, 2)
	tr, val := testCorpus(m.Config.QuantizationChannels)
	sched := PruneSchedule(0.6, 3)
	// (1 - (2/3)^3) * 0.6 = 0.4222, (1 - (1/3)^3) * 0.6 = 0.5778, 0.6.
	for i, want := range []float64{0.6 * (1 - 8.0/27), 0.6 * (1 - 1.0/27), 0.6} {
		if math.Abs(sched[i]-want) > 1e-12 {
			t.Errorf("PruneSchedule(0.6, 3)[%d] = %v, want %v", i, sched[i], want)
		}
	}
	pts, _, err := IterativePrune(ctx, m, sched, true, tr, val, Options{Steps: 5, Batch: 2, Workers: 1, Segment: 16, LR: 1e-2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 3 {
		t.Fatalf("IterativePrune gave %d points, want 3", len(pts))
	}
	for i, p := range pts {
		// The rounding of each round's count leaves the sparsity within
		// one weight per matrix of the target.
		if math.Abs(p.Sparsity-sched[i]) > 0.01 || math.IsNaN(p.Bits) || math.IsNaN(p.Tuned) {
			t.Errorf("round %d: %+v, want sparsity %.3f and both validations", i, p, sched[i])
		}
	}
	one, err := OneShot(ctx, testModel(t, 2), []float64{0.3, 0.6}, true, val, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != 2 || math.Abs(one[1].Sparsity-0.6) > 0.01 {
		t.Errorf("OneShot(0.3, 0.6) = %+v, want two points, the second at sparsity 0.6", one)
	}
	out := filepath.Join(t.TempDir(), "sparsity.png")
	if err := PlotSparsity(out, 5, pts, one, 4.9); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(out); err != nil || st.Size() < 1000 {
		t.Errorf("PlotSparsity wrote %v, %v; want a PNG", st, err)
	}
}
