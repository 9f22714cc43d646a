package models_test

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/synth"
)

// vocoderBitsBar is the most bits/sample the embedded vocoder may score on
// testdata/fsdd, teacher-forced with each recording's own mels (see
// TestEmbeddedVocoder for the figures it was set from).
const vocoderBitsBar = 4.0

// maxVocoderBytes is issue 16's size bound on the vocoder's weights.
const maxVocoderBytes = 8 << 20

// clips reads testdata/fsdd's recordings (mono, 8 kHz).
func clips(t *testing.T) (names []string, xs [][]float32, rate int) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "fsdd", "*.wav"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("testdata/fsdd: %d recordings, %v", len(paths), err)
	}
	for _, p := range paths {
		c := decodeFile(t, p)
		names, xs, rate = append(names, filepath.Base(p)), append(xs, c.Samples), c.Format.SampleRate
	}
	return names, xs, rate
}

// TestEmbeddedVocoder checks the embedded vocoder's shape and quality on
// testdata/fsdd (validation recordings, never trained on):
//   - teacher-forced bits/sample with each recording's own mels are at
//     most vocoderBitsBar, and more than 0.5 bits lower than with another
//     recording's mels (the power check: the mels carry the waveform; a
//     vocoder that ignored them would score the same with both);
//   - copy synthesis through the engine has a lower mean MCD against the
//     originals than Griffin-Lim from the same mels.
func TestEmbeddedVocoder(t *testing.T) {
	if !models.Has(models.VocoderID) {
		t.Skip("no vocoder embedded")
	}
	b, err := synth.LoadFS(models.FS(), models.VocoderID)
	if err != nil {
		t.Fatal(err)
	}
	m := b.Model
	cfg := m.Config
	if cfg.Local == nil || cfg.Local.Mel == nil {
		t.Fatalf("embedded vocoder: local conditioning %+v, want mel frames with their parameters", cfg.Local)
	}
	if n := 4 * m.NumParams(); n > maxVocoderBytes {
		t.Errorf("embedded vocoder: %d bytes of float32 weights, want at most %d", n, maxVocoderBytes)
	}
	names, xs, rate := clips(t)
	ctx := context.Background()
	mels := make([][]float32, len(xs))
	codes := make([][]int32, len(xs))
	for i, x := range xs {
		f, err := synth.RecordingMels(models.VocoderID, cfg, x, rate)
		if err != nil {
			t.Fatalf("%s: %v", names[i], err)
		}
		mels[i] = slices.Concat(f...)
		if codes[i], err = cfg.RecordingCodes(x, rate, false); err != nil {
			t.Fatalf("%s: %v", names[i], err)
		}
	}
	// bits scores recording i with the mels of recording j, over the
	// samples both cover.
	bits := func(i, j int) (float64, int) {
		c := codes[i]
		n := min(len(c), len(mels[j])/cfg.Local.Channels*cfg.Local.Hop)
		nats, k, err := m.ScoreMels(ctx, c[:n], nil, mels[j], 0)
		if err != nil {
			t.Fatalf("ScoreMels(%s with the mels of %s): %v", names[i], names[j], err)
		}
		return nats, k
	}
	var own, other float64
	var nOwn, nOther int
	for i := range codes {
		s, k := bits(i, i)
		own, nOwn = own+s, nOwn+k
		s, k = bits(i, (i+1)%len(codes))
		other, nOther = other+s, nOther+k
	}
	own, other = own/float64(nOwn)/math.Ln2, other/float64(nOther)/math.Ln2
	t.Logf("bits/sample: %.3f with the recordings' own mels, %.3f with another's (bar %.2f)", own, other, vocoderBitsBar)
	if own > vocoderBitsBar {
		t.Errorf("embedded vocoder: %.3f bits/sample with the recordings' own mels, want at most %.2f", own, vocoderBitsBar)
	}
	if other-own < 0.5 {
		t.Errorf("embedded vocoder: %.3f bits/sample with another recording's mels, only %.3f more than with its own: the mels barely matter", other, other-own)
	}

	e, err := synth.New(map[string]*synth.Bundle{models.VocoderID: b}, synth.Options{MaxStreams: len(xs), Workers: 1, MaxSeconds: 60})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	mcd := map[string]float64{}
	for _, method := range []string{synth.MethodWaveNet, synth.MethodGriffinLim} {
		var sum float64
		for i, x := range xs {
			seed := uint64(i)
			s, err := e.Start(ctx, &synth.Request{Recording: x, RecordingRate: rate, Method: method, Seed: &seed})
			if err != nil {
				t.Fatalf("%s of %s: %v", method, names[i], err)
			}
			y, err := s.Audio()
			s.Close()
			if err != nil {
				t.Fatalf("%s of %s: %v", method, names[i], err)
			}
			r, err := audio.MCD(x, rate, y, s.Rate, audio.MCDConfig{})
			if err != nil {
				t.Fatalf("MCD of %s's %s: %v", names[i], method, err)
			}
			sum += r.DB
		}
		mcd[method] = sum / float64(len(xs))
	}
	t.Logf("mean MCD against the originals: WaveNet %.3f dB, Griffin-Lim %.3f dB", mcd[synth.MethodWaveNet], mcd[synth.MethodGriffinLim])
	if mcd[synth.MethodWaveNet] >= mcd[synth.MethodGriffinLim] {
		t.Errorf("copy synthesis: mean MCD %.3f dB, want below Griffin-Lim's %.3f dB", mcd[synth.MethodWaveNet], mcd[synth.MethodGriffinLim])
	}
}
