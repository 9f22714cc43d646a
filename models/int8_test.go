package models_test

import (
	"context"
	"testing"

	"github.com/wavenet-go/wavenet/compress"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/wavenet"
)

// int8Tolerance is the most bits/sample the embedded model's int8 form
// may lose against float32 on testdata/fsdd, both as the int8 checkpoint
// scores (wavenet score: the float forward pass of the dequantized
// weights) and through the int8 generator (int8 weights and activations,
// cache.Int8Generator). On the 300 validation recordings the shipped
// recipe (compress.Int8Recipe, calibrated on 89 training recordings)
// loses +0.0043 and +0.0064; here it is calibrated on the 12 recordings it
// is scored on (the tests have no training data) and loses +0.0038 and
// +0.0068, so scoring in-sample flatters it little. 0.012 is about twice
// the generator's loss and well below what the worse recipes lose here:
// per-channel scales without the calibrated output layer +0.0174
// (generator +0.0220; +0.016 and +0.019 on validation), per-tensor scales
// +0.140 (+0.190). The int8 forms are deterministic, so the margin is for
// a retrained default model.
const int8Tolerance = 0.012

// int8MaxSize is issue 18's bar on the int8 checkpoint's size, as a
// fraction of float32's; the shipped recipe takes 29.3%.
const int8MaxSize = 0.30

func TestEmbeddedModelInt8(t *testing.T) {
	if !models.Available() {
		t.Skip("no default model embedded")
	}
	ctx := context.Background()
	m, err := wavenet.LoadFS(models.FS(), "default")
	if err != nil {
		t.Fatal(err)
	}
	recs := loadRecordings(t, m.Config)
	var utts []*corpus.Utterance
	for _, r := range recs {
		u := &corpus.Utterance{Name: r.name, Codes: r.codes, Labels: map[string]string{}}
		for i, c := range m.Config.Conditions {
			u.Labels[c.Name] = c.Values[r.cond[i]]
		}
		utts = append(utts, u)
	}
	base := meanBits(t, m, recs)
	fp32, err := compress.Marshal(m, compress.SaveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cal, err := compress.Calibrate(ctx, m, utts)
	if err != nil {
		t.Fatal(err)
	}
	recipes := []struct {
		name string
		opts compress.SaveOptions
		fail bool // the test's power: a worse recipe must exceed the tolerance
	}{
		{"shipped recipe", compress.Int8Recipe(cal), false},
		{"per-channel, no calibration", compress.Int8Recipe(nil), true},
		{"per-tensor", compress.SaveOptions{Format: compress.Int8, DType: compress.QInt8, Scheme: compress.Symmetric}, true},
	}
	for _, rc := range recipes {
		q, size, err := compress.Quantized(m, rc.opts)
		if err != nil {
			t.Fatalf("%s: %v", rc.name, err)
		}
		ckpt := meanBits(t, q, recs) - base
		gen, err := compress.Int8Bits(ctx, q, utts, len(utts))
		if err != nil {
			t.Fatalf("%s: Int8Bits: %v", rc.name, err)
		}
		gen -= base
		t.Logf("%s: %d bytes, checkpoint %+.4f, int8 generator %+.4f bits/sample (float32 %.4f)", rc.name, size, ckpt, gen, base)
		if frac := float64(size) / float64(len(fp32)); !rc.fail && frac > int8MaxSize {
			t.Errorf("%s takes %d bytes, %.1f%% of float32's %d, want at most %.0f%%", rc.name, size, 100*frac, len(fp32), 100*int8MaxSize)
		}
		worst := max(ckpt, gen)
		if !rc.fail && worst > int8Tolerance {
			t.Errorf("%s loses %+.4f bits/sample (checkpoint %+.4f, generator %+.4f), want at most %+.3f", rc.name, worst, ckpt, gen, int8Tolerance)
		}
		if rc.fail && worst <= int8Tolerance {
			t.Errorf("%s loses only %+.4f bits/sample, want above the tolerance %+.3f: the test cannot tell it from the shipped recipe", rc.name, worst, int8Tolerance)
		}
	}
}
