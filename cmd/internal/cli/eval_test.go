package cli

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/classify"
	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/mulaw"
)

// monoOf reads a test WAV's samples and rate.
func monoOf(t *testing.T, path string) ([]float32, int) {
	t.Helper()
	c := readWAV(t, path)
	return c.Mono(nil), c.Format.SampleRate
}

// TestEvalReference resynthesises two validation recordings of the test
// corpus (one copied at 16 kHz, one with noise) and checks the MCD lines
// against audio.MCD of the same files, the summary, the floor, and that
// the classifier's report is printed as without --reference.
func TestEvalReference(t *testing.T) {
	data := t.TempDir()
	writeDigitCorpus(t, data)
	resynth := t.TempDir()
	// A copy at 16 kHz: resampled back to 8 kHz by MCD.
	x, rate := monoOf(t, filepath.Join(data, "3_alice_5.wav"))
	hi, err := audio.Resample(nil, x, rate, 2*rate)
	if err != nil {
		t.Fatal(err)
	}
	writeWAV(t, filepath.Join(resynth, "3_alice_5.wav"), hi, 2*rate)
	// Noise 0.05 (about -26 dB) on a recording whose parts are 0.2 and 0.1.
	y, _ := monoOf(t, filepath.Join(data, "7_bob_5.wav"))
	r := rand.New(rand.NewPCG(1, 2))
	for i := range y {
		y[i] += float32(0.05 * r.NormFloat64())
	}
	writeWAV(t, filepath.Join(resynth, "7_bob_5.wav"), y, rate)
	writeWAV(t, filepath.Join(resynth, "0_alice_99.wav"), x, rate) // no original

	base := []string{"--train", data, "--val-index", "5-5"}
	plain, _, err := runCmd(context.Background(), runEval, append(base, resynth)...)
	if err != nil {
		t.Fatalf("eval %s: %v", resynth, err)
	}
	out, stderr, err := runCmd(context.Background(), runEval, append(base, "--reference", data, "--floor", resynth)...)
	if err != nil {
		t.Fatalf("eval --reference: %v\n%s", err, stderr)
	}
	if strings.Contains(plain, "mel-cepstral") || !strings.HasPrefix(out, plain) {
		t.Errorf("eval without --reference printed\n%s\nwant the start of eval --reference's output, which is\n%s", plain, out)
	}
	if !strings.Contains(stderr, "1 files have no original") || !strings.Contains(stderr, "0_alice_99.wav") {
		t.Errorf("eval --reference stderr lacks the note about 0_alice_99.wav:\n%s", stderr)
	}
	var mcds []float64
	for _, name := range []string{"3_alice_5.wav", "7_bob_5.wav"} {
		ref, refRate := monoOf(t, filepath.Join(data, name))
		cand, candRate := monoOf(t, filepath.Join(resynth, name))
		m, err := audio.MCD(ref, refRate, cand, candRate, audio.MCDConfig{})
		if err != nil {
			t.Fatal(err)
		}
		rt := mulaw.Decode(nil, mulaw.Encode(nil, ref, 256), 256)
		f, err := audio.MCD(ref, refRate, rt, refRate, audio.MCDConfig{})
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("  %-28s MCD %6.2f dB  %4d frames  mu-law floor %6.2f dB\n", name, m.DB, m.Frames, f.DB)
		if !strings.Contains(out, want) {
			t.Errorf("eval --reference --floor lacks %q in\n%s", want, out)
		}
		mcds = append(mcds, m.DB)
	}
	// The copy is close (1.06 dB measured: resampled twice, the top mel
	// bands near 4 kHz lose some energy in the resampler's transition band),
	// the noisy file is not (6.38 dB measured).
	if mcds[0] > 2 || mcds[1] < 2*mcds[0] {
		t.Errorf("MCD of the 16 kHz copy %.2f dB, of the noisy file %.2f dB: want under 2 dB and over twice that", mcds[0], mcds[1])
	}
	want := fmt.Sprintf("%s: 2 files, MCD mean %.2f dB, median %.2f dB; mu-law Q=256", resynth, (mcds[0]+mcds[1])/2, (mcds[0]+mcds[1])/2)
	if !strings.Contains(out, want) || !strings.Contains(out, "aligned by time") {
		t.Errorf("eval --reference lacks %q (and aligned by time) in\n%s", want, out)
	}
	dtw, _, err := runCmd(context.Background(), runEval, append(base, "--reference", data, "--dtw", resynth)...)
	if err != nil || !strings.Contains(dtw, "aligned by DTW") || strings.Contains(dtw, "floor") {
		t.Errorf("eval --reference --dtw = %v, printed\n%s\nwant frames aligned by DTW and no floor", err, dtw)
	}
}

func TestEvalReferenceErrors(t *testing.T) {
	data := t.TempDir()
	writeDigitCorpus(t, data)
	empty := t.TempDir()
	other := t.TempDir()
	writeWAV(t, filepath.Join(other, "unmatched.wav"), make([]float32, 800), 8000)
	base := []string{"--train", data, "--val-index", "5-5"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--floor"}, "--floor and --dtw need --reference DIR"},
		{[]string{"--reference", data}, "needs a DIR of resynthesised files"},
		{[]string{"--reference", empty, other}, "none of the 1 WAV or FLAC files in " + other},
		{[]string{"--reference", filepath.Join(empty, "missing"), other}, "eval: open"},
	} {
		_, _, err := runCmd(context.Background(), runEval, append(base, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("eval %q = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

// TestEvalJudges checks that eval judges with the embedded spectrogram
// CNN by default, with the MFCC classifier by --judge mfcc, and with a
// judge directory by --judge DIR.
func TestEvalJudges(t *testing.T) {
	data := t.TempDir()
	writeDigitCorpus(t, data)
	cnn, err := classify.LoadCNNFS(models.FS(), models.JudgeID)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := cnn.Save(dir, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "classifier: spectrogram CNN (mobilenet-v1, "},
		{nil, "parameters), the embedded judge (models/judge)\n"},
		{[]string{"--judge", "cnn"}, "the embedded judge (models/judge)"},
		{[]string{"--judge", "mfcc"}, "classifier: MFCC + logistic regression, trained on 100 recordings of " + data + " (FSDD indices outside 5-9)\n"},
		{[]string{"--judge", dir}, "parameters), " + dir + "\n"},
	} {
		out, _, err := runCmd(context.Background(), runEval, append([]string{"--train", data}, tc.args...)...)
		if err != nil {
			t.Fatalf("eval %q: %v", tc.args, err)
		}
		if !strings.Contains(out, tc.want) || !strings.Contains(out, "validation recordings (indices 5-9): 20 files") {
			t.Errorf("eval %q printed\n%s\nwant %q and the 20 validation files", tc.args, out, tc.want)
		}
	}
	if _, _, err := runCmd(context.Background(), runEval, "--train", data, "--judge", filepath.Join(dir, "missing")); err == nil {
		t.Error("eval --judge MISSING: want an error")
	}
}
