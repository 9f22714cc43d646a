package retrain

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wavenet-go/wavenet/compress"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/train"
	"github.com/wavenet-go/wavenet/wavenet"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

// vocoderCorpus is testCorpus's pattern at 256 levels with random mel
// frames (hop 16, 8 bands, as wavenettest.Vocoder takes) covering each
// utterance.
func vocoderCorpus(lc *wavenet.LocalConfig) (trainUtts, val []*corpus.Utterance) {
	trainUtts, val = testCorpus(256)
	rng := rand.New(rand.NewPCG(7, 7))
	for _, u := range append(trainUtts, val...) {
		u.Mel = make([]float32, (len(u.Codes)/lc.Hop+1)*lc.Channels)
		for i := range u.Mel {
			u.Mel[i] = float32(rng.NormFloat64() - 4)
		}
	}
	return trainUtts, val
}

// TestTeacherLogitsVocoder: the logits a vocoder teacher gives a batch row
// (its mel window, upsampled, from the row's offset) are those of the
// whole utterance's upsampled mels at the same samples.
func TestTeacherLogitsVocoder(t *testing.T) {
	ctx := context.Background()
	m := wavenettest.Vocoder(t, 3)
	lc := *m.Config.Local
	utts, _ := vocoderCorpus(&lc)
	u := utts[0]
	pad, seg := m.Config.ReceptiveField()-1, 40
	L := pad + seg
	C := lc.Channels
	whole, err := m.Upsample(nil, u.Mel)
	if err != nil {
		t.Fatal(err)
	}
	for _, from := range []int{0, 37, len(u.Codes) - L - 1} {
		b := &batches{local: &lc, segs: [][]int32{u.Codes[from : from+L+1]}, conds: [][]int{nil}, mels: make([][]float32, 1), offs: make([]int, 1)}
		// Row 0 predicts sample from+1 from code from.
		b.mels[0], b.offs[0] = train.LocalWindow(nil, u.Mel, lc, from+1, train.LocalFrames(lc, L))
		got, err := b.teacherLogits(ctx, m, nil, 0, L)
		if err != nil {
			t.Fatal(err)
		}
		want, err := m.ForwardLocal(ctx, nil, u.Codes[from:from+L], nil, whole[(from+1)*C:(from+1+L)*C])
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-4 {
				t.Fatalf("from %d: logit %d = %v, whole-utterance %v (|d| %.2g > 1e-4)", from, i, got[i], want[i], d)
			}
		}
	}
}

// TestRetrainVocoder: fine-tuning a pruned vocoder and distilling a
// vocoder into a smaller one run on mel-conditioned batches and lower the
// validation bits on this learnable pattern; a student without the
// teacher's mel frames is refused.
func TestRetrainVocoder(t *testing.T) {
	ctx := context.Background()
	teacher := wavenettest.Vocoder(t, 4)
	tr, val := vocoderCorpus(teacher.Config.Local)
	o := Options{Steps: 20, Batch: 2, Workers: 1, Segment: 16, LR: 1e-2, Val: val, ValidateEvery: 10}
	m := teacher.Clone()
	masks, err := compress.PruneModel(m, compress.PruneOptions{Amount: compress.Fraction(0.5)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	curve, err := FineTune(ctx, m, masks, tr, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(curve) != 3 || !(curve[2].Bits < curve[0].Bits) {
		t.Errorf("fine-tuning a vocoder: curve %v, want 3 points, the last below the first", curve)
	}
	cfg := teacher.Config
	cfg.Dilations = []int{1, 2}
	half := 0.5
	student := testModelConfig(t, cfg, 5)
	curve, err = Distill(ctx, student, teacher, tr, DistillOptions{Options: o, Temperature: 2, Alpha: &half})
	if err != nil {
		t.Fatal(err)
	}
	if len(curve) != 3 || !(curve[2].Bits < curve[0].Bits) {
		t.Errorf("distilling a vocoder: curve %v, want 3 points, the last below the first", curve)
	}
	for _, c := range []struct {
		name  string
		local func(*wavenet.Config)
	}{
		{"no local conditioning", func(c *wavenet.Config) { c.Local = nil }},
		{"other scales", func(c *wavenet.Config) { l := *c.Local; l.Scales = []int{2, 8}; c.Local = &l }},
	} {
		cfg := teacher.Config
		c.local(&cfg)
		var le *wavenet.LocalError
		_, err := Distill(ctx, testModelConfig(t, cfg, 6), teacher, tr, DistillOptions{Options: o})
		if !errors.As(err, &le) {
			t.Errorf("%s: Distill error %v, want a *wavenet.LocalError", c.name, err)
		}
	}
	if _, err := FineTune(ctx, teacher.Clone(), nil, testCorpusNoMels(tr), o); err == nil {
		t.Errorf("fine-tuning a vocoder on utterances without mels: no error")
	}
}

// testCorpusNoMels copies utts without their mel frames.
func testCorpusNoMels(utts []*corpus.Utterance) []*corpus.Utterance {
	var out []*corpus.Utterance
	for _, u := range utts {
		c := *u
		c.Mel = nil
		c.Name = fmt.Sprintf("%s (no mels)", u.Name)
		out = append(out, &c)
	}
	return out
}

func TestSameLocal(t *testing.T) {
	// A student must upsample the teacher's mel window alike: the kind of
	// upsampling network and its frequency width count, as the scales do.
	base := func() *wavenet.LocalConfig {
		return &wavenet.LocalConfig{Channels: 8, Hop: 16, Scales: []int{4, 4}, Width: 2}
	}
	repeat := func(fw int) *wavenet.LocalConfig {
		l := base()
		l.Net, l.FreqWidth = wavenet.UpsampleRepeatConv2D, fw
		return l
	}
	named := base()
	named.Net = wavenet.UpsampleTransposed
	for _, tc := range []struct {
		name string
		s, t *wavenet.LocalConfig
		ok   bool
	}{
		{"same transposed", base(), named, true},
		{"same repeat-conv2d", repeat(0), repeat(3), true}, // 0 is the default 3
		{"other kind", base(), repeat(3), false},
		{"other frequency width", repeat(3), repeat(5), false},
	} {
		if err := sameLocal(tc.s, tc.t); (err == nil) != tc.ok {
			t.Errorf("%s: sameLocal = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
