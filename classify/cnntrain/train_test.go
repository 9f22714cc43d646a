package cnntrain

import (
	"context"
	"math"
	"testing"

	"github.com/wavenet-go/wavenet/classify"
	"github.com/wavenet-go/wavenet/listening/listeningtest"
)

// corpus is listeningtest's FSDD-like corpus: 2 speakers x 10 digits,
// 100 training recordings (indices 0-2, 10, 11) and 20 validation ones
// (index 5).
func corpus(t *testing.T) Data {
	dir := t.TempDir()
	listeningtest.WriteDigitCorpus(t, dir)
	var d Data
	var err error
	if d.Train, _, _, err = classify.LoadDir(context.Background(), dir, classify.IndexIn(5, 9, false)); err != nil {
		t.Fatal(err)
	}
	if d.Val, d.ValNames, _, err = classify.LoadDir(context.Background(), dir, classify.IndexIn(5, 9, true)); err != nil {
		t.Fatal(err)
	}
	return d
}

// tiny is a MobileNet of about 1,000 parameters.
func tiny() classify.CNNConfig {
	return classify.CNNConfig{Arch: classify.ArchMobileNet, Stem: 8, Width: 1,
		Stages: []classify.MobileStage{{Channels: 16, Stride: 2}, {Channels: 16, Stride: 2}}}
}

func options(c classify.CNNConfig, epochs int) Options {
	return Options{Config: c, Epochs: epochs, Batch: 10, LR: 1e-2, Seed: 3, Workers: 2,
		Masking: classify.Masking{Shift: 200, FreqMasks: 1, FreqWidth: 3, TimeMasks: 1, TimeWidth: 3}}
}

// TestTrainQuantizePrune trains a tiny judge on the synthetic corpus,
// then its int8 form, a distilled student and a pruned copy.
func TestTrainQuantizePrune(t *testing.T) {
	ctx := context.Background()
	d := corpus(t)
	m, err := Train(ctx, d, options(tiny(), 30))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := classify.Evaluate(m, d.Val, d.ValNames)
	if err != nil {
		t.Fatal(err)
	}
	// Chance is 10% of digits and 50% of speakers; the classes are far
	// apart (tones and pitches), and 30 epochs reach 95% and 100%
	// (seen); 80% and 90% leave room for another seed.
	t.Logf("float: digit %.0f%%, speaker %.0f%%", 100*rep.DigitAccuracy(), 100*rep.SpeakerAccuracy())
	if rep.DigitAccuracy() < 0.8 || rep.SpeakerAccuracy() < 0.9 {
		t.Errorf("tiny judge on 20 validation files: digit %.0f%%, speaker %.0f%%; want at least 80%% and 90%%",
			100*rep.DigitAccuracy(), 100*rep.SpeakerAccuracy())
	}
	logits := func(m *classify.CNN) []float32 {
		feat, err := m.Extractor()
		if err != nil {
			t.Fatal(err)
		}
		var out []float32
		img := make([]float32, m.Config.Features.Size())
		for _, e := range d.Val {
			if err := feat(img, e.Samples, 0); err != nil {
				t.Fatal(err)
			}
			dl, _ := m.Forward(img, 1, false, 1, nil)
			out = append(out, dl...)
		}
		return out
	}
	want := logits(m)
	dir := t.TempDir()
	if err := SaveInt8(m, dir); err != nil {
		t.Fatal(err)
	}
	q, err := classify.LoadCNN(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := logits(q)
	var worst, scale float64
	for i := range want {
		worst = max(worst, math.Abs(float64(got[i]-want[i])))
		scale = max(scale, math.Abs(float64(want[i])))
	}
	qrep, err := classify.Evaluate(q, d.Val, d.ValNames)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("int8: digit %.0f%%, speaker %.0f%%; logits within %.4f of float's (largest %.2f)", 100*qrep.DigitAccuracy(), 100*qrep.SpeakerAccuracy(), worst, scale)
	// Per-channel int8 rounds each weight by at most half a step,
	// 1/254 of its row's largest: the logits move by a few percent of
	// their range at most, and no more than one verdict in 20 changes.
	if worst > 0.05*scale {
		t.Errorf("int8 logits differ from float32's by up to %.4f, want at most 5%% of %.2f", worst, scale)
	}
	if math.Abs(float64(qrep.Digits-rep.Digits)) > 1 || math.Abs(float64(qrep.Speaks-rep.Speaks)) > 1 {
		t.Errorf("int8 recognises %d digits and %d speakers, float32 %d and %d: want within one file", qrep.Digits, qrep.Speaks, rep.Digits, rep.Speaks)
	}

	// Distillation into a smaller student for a few epochs: the loss
	// graph with the teacher's logits runs, and the student learns.
	o := options(classify.CNNConfig{Arch: classify.ArchMobileNet, Stem: 8, Width: 0.75, Stages: tiny().Stages}, 30)
	o.Teacher, o.Alpha, o.Temperature = m, 0.7, 4
	s, err := Train(ctx, d, o)
	if err != nil {
		t.Fatal(err)
	}
	srep, err := classify.Evaluate(s, d.Val, d.ValNames)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("student: digit %.0f%%, speaker %.0f%%", 100*srep.DigitAccuracy(), 100*srep.SpeakerAccuracy())
	// 80% and 100% seen.
	if srep.DigitAccuracy() < 0.5 || srep.SpeakerAccuracy() < 0.75 {
		t.Errorf("distilled student: digit %.0f%%, speaker %.0f%%; want well above chance (50%%, 75%%)", 100*srep.DigitAccuracy(), 100*srep.SpeakerAccuracy())
	}

	// Pruning half the weights, then training with the masks held.
	o = options(tiny(), 2)
	o.Init, o.Prune, o.Teacher, o.Alpha, o.Temperature = s, 0.5, m, 0.7, 4
	p, err := Train(ctx, d, o)
	if err != nil {
		t.Fatal(err)
	}
	zeros, total := 0, 0
	for _, w := range p.Weights() {
		if w.Grad == nil || len(w.Shape) < 2 {
			continue
		}
		for _, v := range w.Value {
			total++
			if v == 0 {
				zeros++
			}
		}
	}
	if frac := float64(zeros) / float64(total); math.Abs(frac-0.5) > 0.01 {
		t.Errorf("after pruning 50%% and training: %d of %d weights zero (%.3f), want half", zeros, total, frac)
	}
}
