package cli

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/compress"
	"github.com/wavenet-go/wavenet/wavenet"
)

// compressFixture writes a small FSDD-named corpus (chords; index 5-9 is
// validation) and a tiny 8 kHz model checkpoint, inside a run directory
// layout (run/checkpoints/step-N) to exercise --model's resolution.
func compressFixture(t *testing.T) (data, run string) {
	t.Helper()
	data = t.TempDir()
	for i, name := range []string{"0_ann_5.wav", "1_bob_6.wav", "0_ann_10.wav", "1_bob_11.wav", "1_ann_12.wav", "0_bob_13.wav"} {
		writeChord(t, filepath.Join(data, name), 200+50*float64(i), 310)
	}
	cfg, err := wavenet.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dilations = []int{1, 2, 4}
	m, err := wavenet.New(cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	run = filepath.Join(t.TempDir(), "run")
	for _, step := range []string{"step-000000002", "step-000000010"} {
		if err := wavenet.Save(context.Background(), filepath.Join(run, "checkpoints", step), m, nil); err != nil {
			t.Fatal(err)
		}
	}
	return data, run
}

func TestCompressCommands(t *testing.T) {
	ctx := context.Background()
	data, run := compressFixture(t)
	dir := t.TempDir()
	cases := []struct {
		name   string
		args   []string
		out    string
		format compress.Format
		want   []string // substrings of stdout
	}{
		{"quantize int8", []string{"quantize", "--dtype", "int8", "--per-channel", "--model", run, "--out", filepath.Join(dir, "q8"),
			"--data", data, "--bench", "10ms"}, "q8", compress.Int8, []string{"int8", "validation", "int8 generator"}},
		{"quantize bf16", []string{"quantize", "--dtype", "bf16", "--model", run, "--out", filepath.Join(dir, "bf16"), "--bench", "0"},
			"bf16", compress.BF16, []string{"bf16"}},
		{"prune one shot", []string{"prune", "--amount", "0.5", "--global", "--model", run, "--out", filepath.Join(dir, "p50"),
			"--bench", "0"}, "p50", compress.FP32, []string{"sparsity 50.0%"}},
		{"prune and fine-tune", []string{"prune", "--amount", "0.5", "--rounds", "2", "--finetune-steps", "2", "--segment", "20", "--sweep", "--dense-control",
			"--workers", "1", "--model", run, "--out", filepath.Join(dir, "p50ft"), "--data", data, "--bench", "0"},
			"p50ft", compress.FP32, []string{"sparsity 50.0%", "validation"}},
		{"prune structured", []string{"prune", "--amount", "0.25", "--structured", "--model", run, "--out", filepath.Join(dir, "ps"),
			"--bench", "0"}, "ps", compress.FP32, []string{"sparsity 25.0%"}},
	}
	for _, c := range cases {
		stdout, stderr, err := runCmd(ctx, runCompress, c.args...)
		if err != nil {
			t.Fatalf("compress %v: %v\n%s", c.args, err, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("compress %s: stdout %q, want it to mention %q", c.name, stdout, w)
			}
		}
		_, info, err := compress.Load(ctx, filepath.Join(dir, c.out))
		if err != nil {
			t.Fatalf("compress %s: output does not load: %v", c.name, err)
		}
		if info.Format != c.format {
			t.Errorf("compress %s: output format %s, want %s", c.name, info.Format, c.format)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "p50ft", "sparsity.png")); err != nil {
		t.Errorf("prune with fine-tuning: no sparsity curve: %v", err)
	}
	// Distillation: a tiny student of the fixture model, and the baseline.
	out := filepath.Join(dir, "student")
	args := []string{"distill", "--teacher", run, "--preset", "tiny", "--data", data, "--steps", "2", "--segment", "20",
		"--workers", "1", "--out", out, "--bench", "0"}
	stdout, stderr, err := runCmd(ctx, runCompress, args...)
	if err != nil {
		t.Fatalf("compress %v: %v\n%s", args, err, stderr)
	}
	for _, f := range []string{filepath.Join(out, "distill.png"), filepath.Join(out, wavenet.ConfigFile), filepath.Join(out+"-scratch", wavenet.ConfigFile)} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("distill: %v (stdout %q)", err, stdout)
		}
	}
	// The report table.
	md := filepath.Join(dir, "table.md")
	args = []string{"report", "--model", run, "--pruned", filepath.Join(dir, "p50"), "--data", data, "--bench", "10ms", "--out", md}
	if _, stderr, err := runCmd(ctx, runCompress, args...); err != nil {
		t.Fatalf("compress %v: %v\n%s", args, err, stderr)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"| fp32 |", "| fp16 |", "| bf16 |", "int8 generator", "p50 (sparsity 50%)"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("report table lacks %q:\n%s", w, b)
		}
	}
}

func TestCompressUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"shrink"},
		{"quantize", "--dtype", "int4", "--model", "m", "--out", "o"},
		{"quantize", "--model", "m"},                                     // no --out
		{"prune", "--amount", "1.5", "--model", "m", "--out", "o"},       // bad amount
		{"prune", "--finetune-steps", "3", "--model", "m", "--out", "o"}, // no --data
		{"distill", "--teacher", "t", "--out", "o"},                      // no --data
	} {
		if _, _, err := runCmd(context.Background(), runCompress, args...); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("compress %q = %v, want a usage error", args, err)
		}
	}
}
