package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestClassifyCommands trains the student preset for one epoch on the
// synthetic corpus, quantizes it and reports both: the commands run end
// to end (cnntrain's tests check what the training achieves).
func TestClassifyCommands(t *testing.T) {
	data := t.TempDir()
	writeDigitCorpus(t, data)
	dir := filepath.Join(t.TempDir(), "student")
	ctx := context.Background()
	out, stderr, err := runCmd(ctx, runClassify, "train", "--arch", "mobilenet", "--data", data, "--out", dir, "--epochs", "1", "--batch", "10", "--workers", "1")
	if err != nil {
		t.Fatalf("classify train: %v\n%s", err, stderr)
	}
	for _, want := range []string{"training on 100 recordings of " + data + ", validating on 20 (indices 5-9)", "epoch 1/1: loss ",
		"validation 20 files", "saved " + dir + ": spectrogram CNN (mobilenet-v1, "} {
		if !strings.Contains(out, want) {
			t.Errorf("classify train printed\n%s\nwant %q", out, want)
		}
	}
	q := filepath.Join(t.TempDir(), "int8")
	if _, _, err := runCmd(ctx, runClassify, "quantize", "--judge", dir, "--out", q); err != nil {
		t.Fatalf("classify quantize: %v", err)
	}
	out, _, err = runCmd(ctx, runClassify, "report", "--data", data, "--judge", dir+","+q, "--bench", "10ms")
	if err != nil {
		t.Fatalf("classify report: %v", err)
	}
	if n := strings.Count(out, "(mobilenet-v1; "); n != 2 || !strings.Contains(out, "(nn.Summary)") {
		t.Errorf("classify report printed\n%s\nwant two mobilenet rows with nn.Summary FLOPs", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "a subcommand is required"},
		{[]string{"fit"}, `unknown classify subcommand "fit"`},
		{[]string{"train", "--out", dir, "--arch", "resnet"}, `--arch is "resnet"`},
		{[]string{"train", "--arch", "mobilenet"}, "--out DIR is required"},
		{[]string{"quantize", "--judge", dir}, "--judge DIR and --out DIR are required"},
		{[]string{"report"}, "--judge DIR[,DIR...] is required"},
	} {
		_, _, err := runCmd(ctx, runClassify, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("classify %q = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
