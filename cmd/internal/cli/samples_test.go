package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/listening/listeningtest"
)

// writeDigitCorpus writes listeningtest's FSDD-like corpus (speakers
// alice and bob, digits 0-9, indices 0-2 and 10-11 for training and 5 for
// validation) to dir.
func writeDigitCorpus(t *testing.T, dir string) { listeningtest.WriteDigitCorpus(t, dir) }

// TestSamples runs the command on the test model and corpus (listening's
// tests check the files and the README in detail): the note on stderr,
// the summary on stdout, a README, and a directory `wavenet eval` reads.
func TestSamples(t *testing.T) {
	dir, _ := genTestModel(t, true)
	data := t.TempDir()
	writeDigitCorpus(t, data)
	out := filepath.Join(t.TempDir(), "samples")
	stdout, stderr, err := runCmd(context.Background(), runSamples, "--model", dir, "--out", out, "--fsdd", data, "--seed", "5")
	if err != nil {
		t.Fatalf("samples: %v\n%s", err, stderr)
	}
	// The model has no speech.json: the defaults are used, and said so.
	if !strings.Contains(stderr, "using default durations") {
		t.Errorf("samples stderr lacks the note about default durations:\n%s", stderr)
	}
	readme, err := os.ReadFile(filepath.Join(out, "README.md"))
	if err != nil || !strings.Contains(string(readme), "Base seed 5") || !strings.Contains(string(readme), dir) {
		t.Errorf("README.md (err %v) does not name the seed 5 and the model %s", err, dir)
	}
	for _, want := range []string{"classifier on 20 validation recordings:", "(spectrogram CNN (mobilenet-v1, ", "20 digit files (1 per speaker and digit)",
		"4 sentences:", "wrote 24 WAVs, README.md to " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("samples stdout lacks %q:\n%s", want, stdout)
		}
	}
	// `wavenet eval` reads the directory: every digit file has a verdict.
	evalOut, _, err := runCmd(context.Background(), runEval, "--train", data, "--val-index", "10-11", out)
	if err != nil {
		t.Fatalf("eval %s: %v", out, err)
	}
	if !strings.Contains(evalOut, out+": 20 files") {
		t.Errorf("eval of the samples:\n%s\nwant 20 files", evalOut)
	}
}

// TestSamplesMFCC checks that --judge mfcc judges with the MFCC
// classifier trained on --fsdd (the default, the embedded CNN, is checked
// by TestSamples).
func TestSamplesMFCC(t *testing.T) {
	dir, _ := genTestModel(t, true)
	data := t.TempDir()
	writeDigitCorpus(t, data)
	out := filepath.Join(t.TempDir(), "samples")
	stdout, stderr, err := runCmd(context.Background(), runSamples, "--model", dir, "--out", out, "--fsdd", data,
		"--judge", "mfcc", "--sentences", "0", "--png=false")
	if err != nil {
		t.Fatalf("samples --judge mfcc: %v\n%s", err, stderr)
	}
	want := "(MFCC + logistic regression, trained on 100 recordings of " + data + " (FSDD indices outside 5-9))"
	if !strings.Contains(stdout, want) {
		t.Errorf("samples --judge mfcc printed\n%s\nwant %q", stdout, want)
	}
	missing := filepath.Join(data, "missing")
	if _, _, err := runCmd(context.Background(), runSamples, "--model", dir, "--out", out, "--fsdd", data, "--judge", missing); err == nil ||
		!strings.Contains(err.Error(), "listening: judge "+missing) {
		t.Errorf("samples --judge %s = %v, want an error naming the judge", missing, err)
	}
}

func TestSamplesErrors(t *testing.T) {
	dir, _ := genTestModel(t, true)
	uncond, _ := genTestModel(t, false)
	data := t.TempDir()
	out := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--model", dir}, "--out DIR is required"},
		{[]string{"--model", dir, "--out", out, "--per-pair", "0"}, "--per-pair is 0"},
		{[]string{"--model", dir, "--out", out, "--sentences", "3"}, "--sentences is 3, want 0 to 2"},
		{[]string{"--model", dir, "--out", out, "--val-index", "9-5"}, "index range"},
		{[]string{"--model", uncond, "--out", out, "--fsdd", data}, "conditioned on speaker and one label"},
	}
	for _, tt := range tests {
		_, _, err := runCmd(context.Background(), runSamples, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("samples %q = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}

// TestSamplesVocoder runs `samples --vocoder` on the test vocoder and two
// validation recordings (one at 16 kHz: resampled to the model's 8 kHz),
// one recording outside the validation range left out, no classifier
// (listening's tests check the files and verdicts in detail).
func TestSamplesVocoder(t *testing.T) {
	model := vocTestModel(t)
	data := t.TempDir()
	writeSine(t, filepath.Join(data, "2_george_5.wav"), 16000, 1600)
	writeSine(t, filepath.Join(data, "7_jackson_9.wav"), 8000, 800)
	writeSine(t, filepath.Join(data, "7_jackson_1.wav"), 8000, 800)
	out := filepath.Join(t.TempDir(), "pairs")
	stdout, stderr, err := runCmd(context.Background(), runSamples, "--vocoder", "--model", model, "--data", data, "--fsdd", "", "--out", out, "--seed", "2")
	if err != nil {
		t.Fatalf("samples --vocoder: %v\n%s", err, stderr)
	}
	index := string(readFile(t, filepath.Join(out, "index.md")))
	for _, name := range []string{"2_george_5", "7_jackson_9"} {
		for _, f := range []string{name + ".original.wav", name + ".wavenet.wav", name + ".griffinlim.wav", name + ".png"} {
			if _, err := os.Stat(filepath.Join(out, f)); err != nil || !strings.Contains(index, "("+f+")") {
				t.Errorf("%s: %v, or index.md does not link it", f, err)
			}
		}
	}
	// 0.1 s at 8 kHz: 1 + 800/16 = 51 frames of hop 16, 816 samples.
	if c := readWAV(t, filepath.Join(out, "2_george_5.wavenet.wav")); c.Format.SampleRate != 8000 || len(c.Samples) != 816 {
		t.Errorf("2_george_5.wavenet.wav: %d samples at %d Hz, want 816 at 8000 Hz", len(c.Samples), c.Format.SampleRate)
	}
	if strings.Contains(index, "7_jackson_1") || !strings.Contains(stdout, "wrote 2 copy-synthesis triples") {
		t.Errorf("want 2 triples, without the training recording 7_jackson_1; stdout:\n%s", stdout)
	}
	digits, _ := genTestModel(t, true)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--vocoder", "--model", model, "--out", out, "--data", data, "--fsdd", "", "--max", "-1"}, "--max is -1"},
		{[]string{"--vocoder", "--model", model, "--out", out, "--data", t.TempDir(), "--fsdd", ""}, "no WAV or FLAC recordings"},
		{[]string{"--vocoder", "--model", digits, "--out", out, "--data", data, "--fsdd", ""}, "needs a vocoder: a model trained with --local mel"},
	} {
		_, _, err := runCmd(context.Background(), runSamples, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("samples %q = %v, want an error containing %q", c.args, err, c.want)
		}
	}
}
