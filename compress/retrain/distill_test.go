package retrain

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wavenet-go/wavenet/train"
)

// TestDistillGraphLoss checks the graph's loss against DistillLoss on the
// same logits, and its gradient on a few weights against central finite
// differences.
func TestDistillGraphLoss(t *testing.T) {
	m := testModel(t, 3)
	cfg := m.Config
	Q, seqs, R := cfg.QuantizationChannels, 2, 5
	L := cfg.ReceptiveField() - 1 + R
	rng := rand.New(rand.NewPCG(3, 3))
	buf := make([]float32, seqs*R*Q)
	for i := range buf {
		buf[i] = float32(rng.NormFloat64() * 2)
	}
	const T, alpha = 2.5, 0.3
	gr, err := train.NewGraphLoss(m, seqs, L, R, distillHead(buf, Q, T, alpha))
	if err != nil {
		t.Fatal(err)
	}
	defer gr.Close()
	segs := make([][]int32, seqs)
	for s := range segs {
		segs[s] = make([]int32, L+1)
		for i := range segs[s] {
			segs[s][i] = int32(rng.IntN(Q))
		}
	}
	if err := gr.SetBatch(segs, nil); err != nil {
		t.Fatal(err)
	}
	run := func() float64 {
		t.Helper()
		_ = gr.ZeroGrads() // an error before the first run only: no gradient yet
		loss, err := gr.Run()
		if err != nil {
			t.Fatal(err)
		}
		return loss
	}
	loss := run()
	want, err := DistillLoss(gr.Logits(), buf, gr.Targets, Q, T, alpha)
	if err != nil {
		t.Fatal(err)
	}
	// float32 sums over a few hundred terms of size ~1: 1e-5 relative.
	if math.Abs(loss-want) > 1e-5*math.Abs(want) {
		t.Errorf("graph loss = %v, DistillLoss = %v", loss, want)
	}
	grads, err := gr.Grads()
	if err != nil {
		t.Fatal(err)
	}
	ps := m.Params()
	for _, pi := range []int{0, 2, len(ps) - 2} { // input, first gate, post2 weights
		p := ps[pi]
		for _, j := range []int{0, len(p.Data) / 2} {
			g := float64(grads[pi][j])
			const h = 1e-2 // float32 loss: a large step keeps the rounding (1e-7 * loss / h) small
			old := p.Data[j]
			p.Data[j] = old + h
			lp := run()
			p.Data[j] = old - h
			lm := run()
			p.Data[j] = old
			fd := (lp - lm) / (2 * h)
			// Central differences err by O(h^2 * third derivative) plus
			// float32 rounding: 2e-3 absolute plus 5% relative.
			if math.Abs(fd-g) > 2e-3+0.05*math.Abs(fd) {
				t.Errorf("d loss / d %s[%d] = %v, finite difference %v", p.Name, j, g, fd)
			}
		}
	}
}

// TestDistillRuns distils a smaller student from a briefly trained teacher
// and checks that both flows run and keep a finite validation curve; that
// distillation beats training from scratch is shown on real data by
// `wavenet compress distill`, not asserted on a toy corpus.
func TestDistillRuns(t *testing.T) {
	ctx := context.Background()
	teacher := testModel(t, 4)
	tr, val := testCorpus(teacher.Config.QuantizationChannels)
	zero := 0.0
	o := Options{Steps: 20, Batch: 2, Workers: 1, Segment: 16, LR: 1e-2, Val: val, ValidateEvery: 10}
	if _, err := Distill(ctx, teacher, teacher.Clone(), tr, DistillOptions{Options: o, Alpha: &zero}); err != nil {
		t.Fatal(err)
	}
	cfg := teacher.Config
	cfg.ResidualChannels, cfg.DilationChannels, cfg.SkipChannels = 4, 4, 8
	cfg.Dilations = []int{1, 2}
	for _, alpha := range []float64{0, 0.5, 1} {
		student := testModelConfig(t, cfg, 5)
		curve, err := Distill(ctx, student, teacher, tr, DistillOptions{Options: o, Temperature: 2, Alpha: &alpha})
		if err != nil {
			t.Fatalf("alpha %v: %v", alpha, err)
		}
		if len(curve) != 3 {
			t.Errorf("alpha %v: curve %v, want validations at steps 0, 10, 20", alpha, curve)
		}
		for _, p := range curve {
			if math.IsNaN(p.Bits) || math.IsInf(p.Bits, 0) {
				t.Errorf("alpha %v: validation %v", alpha, p)
			}
		}
	}
}
