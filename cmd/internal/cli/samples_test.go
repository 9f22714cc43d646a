package cli

import (
	"context"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
)

// writeDigitCorpus writes an FSDD-like directory for the classifier:
// speakers alice and bob (the test model's), digits 0-9, indices 0-2 and
// 10-11 for training and 5 for validation (FSDD's 5-9), 0.4 s each. A digit is a pair of tones
// whose frequencies depend on it, a speaker a pitch with harmonics (the
// recipe of classify's own tests), so the classes are far apart.
func writeDigitCorpus(t *testing.T, dir string) {
	t.Helper()
	const rate = 8000
	rng := rand.New(rand.NewPCG(3, 3))
	for s, sp := range []string{"alice", "bob"} {
		for d := 0; d < 10; d++ {
			for _, i := range []int{0, 1, 2, 5, 10, 11} {
				x := make([]float32, 3200)
				f1, f2 := 300+120*float64(d), 2200-150*float64(d)
				pitch := 90 + 60*float64(s)
				for n := range x {
					tt := float64(n) / rate
					v := 0.2*math.Sin(2*math.Pi*f1*tt) + 0.1*math.Sin(2*math.Pi*f2*tt)
					for h := 1; h <= 4; h++ {
						v += 0.05 / float64(h) * math.Sin(2*math.Pi*pitch*float64(h)*tt)
					}
					x[n] = float32(v + 0.01*rng.NormFloat64())
				}
				f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%d_%s_%d.wav", d, sp, i)))
				if err != nil {
					t.Fatal(err)
				}
				if err := audio.Encode(f, x, rate, audio.PCM16); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
		}
	}
}

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
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range []string{"alice", "bob"} {
		for d := 0; d < 10; d++ {
			names = append(names, fmt.Sprintf("%d_%s_gen", d, s))
		}
		for j := 1; j <= len(sampleSentences); j++ {
			names = append(names, fmt.Sprintf("sentences/%s_%d", s, j))
		}
	}
	for _, n := range names {
		clip := readWAV(t, filepath.Join(out, n+".wav"))
		if clip.Format.SampleRate != 8000 || clip.Frames() == 0 {
			t.Errorf("%s.wav: %d frames at %d Hz, want audio at 8000 Hz", n, clip.Frames(), clip.Format.SampleRate)
		}
		f, err := os.Open(filepath.Join(out, n+".png"))
		if err != nil {
			t.Error(err)
			continue
		}
		if cfg, err := png.DecodeConfig(f); err != nil || cfg.Width < 300 {
			t.Errorf("%s.png: %v, %d pixels wide, want a PNG", n, err, cfg.Width)
		}
		f.Close()
		row := fmt.Sprintf("| [%s.wav](%s.wav) | [png](%s.png) |", n, n, n)
		if !strings.Contains(string(readme), row) {
			t.Errorf("README lacks the row of %s (%q)", n, row)
		}
	}
	for _, want := range []string{"digits recognised: **", "speakers recognised: **", "Base seed 5", dir,
		"on the 20 validation recordings it recognises", "features are level-invariant",
		"Free Spoken Digit Dataset (FSDD)", "https://github.com/Jakobovski/free-spoken-digit-dataset",
		"https://creativecommons.org/licenses/by-sa/4.0/", "| alice | 10 |", "| bob | 10 |"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README lacks %q", want)
		}
	}
	if !strings.Contains(stdout, "20 digit files (1 per speaker and digit)") {
		t.Errorf("samples stdout:\n%s\nwant the recognition summary of 20 files", stdout)
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

func TestSamplesPerPair(t *testing.T) {
	dir, _ := genTestModel(t, true)
	data := t.TempDir()
	writeDigitCorpus(t, data)
	out := filepath.Join(t.TempDir(), "eval")
	stdout, stderr, err := runCmd(context.Background(), runSamples, "--model", dir, "--out", out, "--fsdd", data,
		"--per-pair", "2", "--sentences", "0", "--png=false", "--level-invariant")
	if err != nil {
		t.Fatalf("samples --per-pair 2: %v\n%s", err, stderr)
	}
	for _, n := range []string{"3_alice_gen0.wav", "3_alice_gen1.wav", "9_bob_gen1.wav"} {
		if _, err := os.Stat(filepath.Join(out, n)); err != nil {
			t.Errorf("samples --per-pair 2: %v", err)
		}
	}
	if pngs, _ := filepath.Glob(filepath.Join(out, "*.png")); len(pngs) != 0 {
		t.Errorf("samples --png=false wrote %d PNGs", len(pngs))
	}
	// The synthetic classes differ in spectrum, not level: the
	// level-invariant classifier still recognises every validation file.
	if !strings.Contains(stdout, "40 digit files (2 per speaker and digit)") ||
		!strings.Contains(stdout, "classifier on 20 validation recordings: digit recognised 100.0%, speaker recognised 100.0%") {
		t.Errorf("samples --per-pair 2 --level-invariant stdout:\n%s\nwant 40 files and a perfect classifier", stdout)
	}
	if readme, err := os.ReadFile(filepath.Join(out, "README.md")); err != nil || !strings.Contains(string(readme), "features are level-invariant") {
		t.Errorf("README of samples --level-invariant does not say the classifier is level-invariant (err %v)", err)
	}
	// Samples of one pair use different seeds: different audio.
	a, b := readWAV(t, filepath.Join(out, "3_alice_gen0.wav")), readWAV(t, filepath.Join(out, "3_alice_gen1.wav"))
	if a.Frames() == b.Frames() && fmt.Sprint(a.Samples) == fmt.Sprint(b.Samples) {
		t.Error("3_alice_gen0.wav and 3_alice_gen1.wav are identical, want different seeds")
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
		{[]string{"--model", uncond, "--out", out, "--fsdd", data}, "conditioned on speaker and one label"},
		{[]string{"--model", dir, "--out", out, "--fsdd", data}, "no .wav files"},
	}
	for _, tt := range tests {
		_, _, err := runCmd(context.Background(), runSamples, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("samples %q = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}
