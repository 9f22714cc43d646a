package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/synth"
)

// A --pattern that matches none of a corpus's audio files says how many
// were found and the pattern (not that the folder has no recordings);
// an empty folder still says it has none.
func TestCorpusPatternMatchesNothing(t *testing.T) {
	ctx := context.Background()
	digits := t.TempDir()
	writeDigitCorpus(t, digits) // 120 FSDD names
	none := `^(?P<digit>\d)_(?P<speaker>zed)_(?P<index>\d+)\.wav$`
	empty := t.TempDir()
	for _, c := range []struct {
		name string
		run  func(context.Context, *Env, []string) error
		args []string
		want []string
	}{
		{"eval", runEval, []string{"--train", digits, "--pattern", none, "--judge", "mfcc"},
			[]string{"--train " + digits, "120 audio files found", "none matching the pattern " + none}},
		{"classify report", runClassify, []string{"report", "--data", digits, "--pattern", none, "--judge", t.TempDir()},
			[]string{"--data " + digits, "120 audio files found", none}},
		{"samples --vocoder", runSamples, []string{"--vocoder", "--data", digits, "--pattern", none, "--fsdd", "", "--out", t.TempDir()},
			[]string{"--data " + digits, "120 audio files found", none}},
		{"samples --vocoder, empty", runSamples, []string{"--vocoder", "--data", empty, "--speaker-from-folder", "--fsdd", "", "--out", t.TempDir()},
			[]string{"--data " + empty + " has no WAV or FLAC recordings"}},
	} {
		_, _, err := runCmd(ctx, c.run, c.args...)
		if err == nil {
			t.Errorf("%s %q = nil error, want one", c.name, c.args)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %q = %v, want an error containing %q", c.name, c.args, err, w)
			}
		}
	}
}

// eval reads FSDD names with capitalised speakers (0_Alice_5.wav) from
// --train, and .flac files (any case of extension) from its DIRs.
func TestEvalSpeakerCaseAndFLAC(t *testing.T) {
	digits := t.TempDir()
	writeDigitCorpus(t, digits)
	entries, err := os.ReadDir(digits)
	if err != nil {
		t.Fatal(err)
	}
	fl := t.TempDir()
	for _, e := range entries {
		n := e.Name()
		capped := strings.Replace(strings.Replace(n, "_alice_", "_Alice_", 1), "_bob_", "_Bob_", 1)
		if err := os.Rename(filepath.Join(digits, n), filepath.Join(digits, capped)); err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(n, "_5.wav") && n[0] <= '1' { // 0 and 1 of both speakers
			copyAsFLAC(t, filepath.Join(digits, capped), filepath.Join(fl, strings.TrimSuffix(n, ".wav")+map[bool]string{true: ".flac", false: ".FLAC"}[n[0] == '0']))
		}
	}
	stdout, stderr, err := runCmd(context.Background(), runEval, "--train", digits, "--val-index", "10-11", "--judge", "mfcc", fl)
	if err != nil {
		t.Fatalf("eval --train (capitalised speakers) DIR (.flac): %v\n%s", err, stderr)
	}
	for _, w := range []string{"trained on 80 recordings of " + digits, fl} {
		if !strings.Contains(stdout, w) {
			t.Errorf("eval stdout lacks %q:\n%s", w, stdout)
		}
	}
	if strings.Contains(stderr, "skipped") {
		t.Errorf("eval skipped files of %s:\n%s", fl, stderr)
	}
}

// copyAsFLAC re-encodes the WAV file src as the FLAC file dst.
func copyAsFLAC(t *testing.T, src, dst string) {
	t.Helper()
	c := readWAV(t, src)
	b, err := synth.Encode(audio.EncodingFLAC, c.Format.SampleRate, c.Samples)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// compress prune with fine-tuning (or a measurement) on a --data that
// lists no recordings fails naming --data (and the pattern) before it
// prunes, and writes no checkpoint.
func TestCompressPruneNoData(t *testing.T) {
	data, run := compressFixture(t)
	empty := t.TempDir()
	none := `^(?P<speaker>zed)_.*\.wav$`
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--data", empty}, []string{"--data " + empty + " has no WAV or FLAC recordings"}},
		{[]string{"--data", data, "--pattern", none}, []string{"--data " + data, "6 audio files found", none}},
		{[]string{"--data", data, "--split", "index=0-99"}, []string{"--data " + data + " has no training recordings"}},
	} {
		out := filepath.Join(t.TempDir(), "p")
		args := append([]string{"prune", "--amount", "0.3", "--finetune-steps", "1", "--rounds", "1", "--model", run, "--out", out, "--bench", "0"}, c.args...)
		_, _, err := runCmd(context.Background(), runCompress, args...)
		if !errors.Is(err, ErrUsage) {
			t.Errorf("compress %q = %v, want a usage error", args, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("compress %q = %v, want an error containing %q", args, err, w)
			}
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("compress %q wrote %s", args, out)
		}
	}
}
