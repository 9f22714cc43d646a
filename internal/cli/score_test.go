package cli

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

func TestScore(t *testing.T) {
	dir, m := genTestModel(t, true)
	tmp := t.TempDir()
	files := []string{filepath.Join(tmp, "3_alice_0.wav"), filepath.Join(tmp, "3_bob_1.wav"), filepath.Join(tmp, "5_bob_2.wav")}
	for i, f := range files {
		writeSine(t, f, 8000, 400+100*i)
	}
	stdout, stderr, err := runCmd(context.Background(), runScore, append([]string{"--model", dir}, files...)...)
	if err != nil {
		t.Fatalf("score: %v\n%s", err, stderr)
	}
	// Each file's line must show the model's own bits per sample for it,
	// with the conditioning taken from the file name.
	cond := map[string][]int{"3_alice_0.wav": {0, 3}, "3_bob_1.wav": {1, 3}, "5_bob_2.wav": {1, 5}}
	for _, f := range files {
		codes, err := readCodes(f, 8000, 256)
		if err != nil {
			t.Fatal(err)
		}
		bits, err := m.BitsPerSample(context.Background(), codes, cond[filepath.Base(f)], 0)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%9d %12.4f", len(codes)-1, bits)
		if !strings.Contains(stdout, f) || !strings.Contains(stdout, want) {
			t.Errorf("score output lacks %q for %s:\n%s", want, f, stdout)
		}
		// A random model is far from certain: bits near log2(256) = 8.
		if bits < 1 || bits > 16 || math.IsNaN(bits) {
			t.Errorf("BitsPerSample(%s) = %v, want a plausible value", f, bits)
		}
	}
	for _, want := range []string{"per label", "  3 ", "  5 ", "per speaker", "alice", "overall: 3 files"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("score output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestScoreUnlabelled(t *testing.T) {
	dir, _ := genTestModel(t, true)
	f := filepath.Join(t.TempDir(), "take.wav")
	writeSine(t, f, 8000, 300)
	// The model is conditioned and the name says nothing: flags are needed.
	if _, _, err := runCmd(context.Background(), runScore, "--model", dir, f); err == nil || !strings.Contains(err.Error(), "speaker") {
		t.Errorf("score of an unlabelled file without --speaker = %v, want an error about speaker", err)
	}
	stdout, _, err := runCmd(context.Background(), runScore, "--model", dir, "--speaker", "alice", "--label", "2", f)
	if err != nil {
		t.Fatalf("score --speaker alice --label 2: %v", err)
	}
	if !strings.Contains(stdout, "overall: 1 files 299 samples") || strings.Contains(stdout, "per label") {
		t.Errorf("score output:\n%s\nwant one file, 299 scored samples, no per-label section", stdout)
	}
	// The tiny model's receptive field is 17 samples: 299 - 16 = 283
	// predictions see only the recording.
	stdout, _, err = runCmd(context.Background(), runScore, "--model", dir, "--speaker", "alice", "--label", "2", "--full-context", f)
	if err != nil {
		t.Fatalf("score --full-context: %v", err)
	}
	if !strings.Contains(stdout, "overall: 1 files 283 samples") {
		t.Errorf("score --full-context output:\n%s\nwant 283 scored samples", stdout)
	}
	if _, _, err := runCmd(context.Background(), runScore, "--model", dir); err == nil {
		t.Errorf("score without files = nil error, want a usage error")
	}
}
