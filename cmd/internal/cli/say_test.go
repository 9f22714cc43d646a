package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/wavenet"
)

func TestSay(t *testing.T) {
	dir, _ := genTestModel(t, true)
	out := filepath.Join(t.TempDir(), "phone.wav")
	// Text first, flags after, as in the README's example.
	_, stderr, err := runCmd(context.Background(), runSay, "4 2 7", "--speaker", "bob", "--model", dir, "--seed", "3", "--out", out)
	if err != nil {
		t.Fatalf("say: %v\n%s", err, stderr)
	}
	clip := readWAV(t, out)
	// Three digits of at most lead + cap samples (0.5 s + 0.7 s with the
	// default durations) and two 150 ms pauses.
	if clip.Format.SampleRate != 8000 || clip.Frames() < 2*1200 || clip.Frames() > 3*9600+2*1200 {
		t.Errorf("say wrote %d frames at %d Hz, want 3 digits and 2 pauses at 8000 Hz", clip.Frames(), clip.Format.SampleRate)
	}
	for _, want := range []string{"using default durations", "say: wrote", "(3 digits)"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("say stderr lacks %q:\n%s", want, stderr)
		}
	}
	// "427" and "4,2,7" are the same sentence: the same audio.
	for _, text := range []string{"427", "4,2,7"} {
		out2 := filepath.Join(t.TempDir(), "b.wav")
		if _, _, err := runCmd(context.Background(), runSay, "--model", dir, "--speaker", "bob", "--seed", "3", "--out", out2, text); err != nil {
			t.Fatalf("say %q: %v", text, err)
		}
		a, b := readWAV(t, out), readWAV(t, out2)
		if a.Frames() != b.Frames() {
			t.Errorf("say %q: %d frames, want the %d of say \"4 2 7\"", text, b.Frames(), a.Frames())
		}
	}
	// --rate resamples.
	out3 := filepath.Join(t.TempDir(), "c.wav")
	if _, _, err := runCmd(context.Background(), runSay, "1", "--model", dir, "--speaker", "alice", "--rate", "16000", "--out", out3); err != nil {
		t.Fatal(err)
	}
	if c := readWAV(t, out3); c.Format.SampleRate != 16000 {
		t.Errorf("say --rate 16000 wrote %d Hz", c.Format.SampleRate)
	}
}

func TestSayErrors(t *testing.T) {
	dir, _ := genTestModel(t, true)
	out := filepath.Join(t.TempDir(), "x.wav")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"4 2", "--model", dir, "--speaker", "carol", "--out", out}, `unknown speaker "carol" (allowed: alice, bob)`},
		{[]string{"4 x 2", "--model", dir, "--speaker", "bob", "--out", out}, `"x" is not a digit (allowed: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)`},
		{[]string{"--model", dir, "--speaker", "bob", "--out", out}, "no text given"},
		{[]string{"4", "--model", dir, "--speaker", "bob"}, "--out FILE is required"},
		{[]string{"4", "--model", dir, "--speaker", "bob", "--out", out, "--temperature", "0"}, "--temperature is 0"},
		{[]string{"--calibrate", "--model", dir}, "--calibrate needs --data"},
	}
	for _, tt := range tests {
		_, _, err := runCmd(context.Background(), runSay, tt.args...)
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("say %q = %v, want a usage error containing %q", tt.args, err, tt.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed say left %s", out)
	}
}

func TestSayInterrupted(t *testing.T) {
	dir, _ := genTestModel(t, true)
	out := filepath.Join(t.TempDir(), "x.wav")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := runCmd(ctx, runSay, "1 2 3", "--model", dir, "--speaker", "bob", "--out", out); !errors.Is(err, context.Canceled) {
		t.Errorf("say with a cancelled context = %v, want context.Canceled", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
		t.Errorf("an interrupted say left %d files", len(entries))
	}
}

func TestSayCalibrate(t *testing.T) {
	dir, _ := genTestModel(t, true)
	data := t.TempDir()
	writeDigitCorpus(t, data)
	stdout, _, err := runCmd(context.Background(), runSay, "--calibrate", "--model", dir, "--data", data)
	if err != nil {
		t.Fatalf("say --calibrate: %v", err)
	}
	// writeDigitCorpus: 2 speakers x 10 digits x 5 training recordings of
	// 0.4 s, none trimmed (the tones fill them).
	if !strings.Contains(stdout, "durations of 100 training utterances in 20 groups (speaker, digit): median 0.400 s") {
		t.Errorf("say --calibrate output:\n%s", stdout)
	}
	st, err := speech.LoadStats(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.All.N != 100 {
		t.Errorf("speech.json holds %d utterances, want 100", st.All.N)
	}
	// With the statistics, say uses them and says nothing about defaults.
	_, stderr, err := runCmd(context.Background(), runSay, "3", "--model", dir, "--speaker", "bob", "--out", filepath.Join(t.TempDir(), "x.wav"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stderr, "default durations") || !strings.Contains(stderr, "durations from group: median 0.40 s") {
		t.Errorf("say with speech.json, stderr:\n%s\nwant the group's durations", stderr)
	}
}

func TestSayGuidance(t *testing.T) {
	plainDir, m := genTestModel(t, true)
	dir := filepath.Join(t.TempDir(), "null")
	if err := wavenet.Save(context.Background(), dir, m.WithNull(), nil); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	writeDigitCorpus(t, data)
	// --calibrate records the default weight, and a later calibration
	// without --guidance keeps it.
	for _, args := range [][]string{{"--guidance", "1.5", "--candidates", "2"}, nil} {
		args = append([]string{"--calibrate", "--model", dir, "--data", data}, args...)
		if _, _, err := runCmd(context.Background(), runSay, args...); err != nil {
			t.Fatalf("say %q: %v", args, err)
		}
		if st, err := speech.LoadStats(dir); err != nil || st.Guidance != 1.5 || st.Candidates != 2 {
			t.Fatalf("say %q: speech.json = %+v (err %v), want guidance 1.5, candidates 2", args, st, err)
		}
	}
	say := func(extra ...string) []float32 {
		t.Helper()
		out := filepath.Join(t.TempDir(), "g.wav")
		args := append([]string{"3 1", "--model", dir, "--speaker", "bob", "--seed", "5", "--out", out}, extra...)
		if _, stderr, err := runCmd(context.Background(), runSay, args...); err != nil {
			t.Fatalf("say %q: %v\n%s", args, err, stderr)
		}
		return readWAV(t, out).Samples
	}
	byDefault, explicit := say(), say("--guidance", "1.5", "--candidates", "2")
	if !slices.Equal(byDefault, explicit) {
		t.Errorf("say with the model's defaults differs from --guidance 1.5 --candidates 2")
	}
	if slices.Equal(byDefault, say("--guidance", "0")) || slices.Equal(byDefault, say("--candidates", "1")) {
		t.Errorf("say with guidance 1.5 and 2 candidates equals say without one of them: no effect")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"3", "--model", plainDir, "--speaker", "bob", "--guidance", "1"}, "need a model trained with --cond-dropout"},
		{[]string{"3", "--model", dir, "--speaker", "bob", "--guidance", "-2"}, "--guidance is -2"},
		{[]string{"3", "--model", dir, "--speaker", "bob", "--candidates", "0"}, "--candidates is 0"},
		{[]string{"3", "--model", plainDir, "--speaker", "bob", "--guidance", "0", "--candidates", "3"}, "need a model trained with --cond-dropout"},
		{[]string{"--calibrate", "--model", plainDir, "--data", data, "--guidance", "1"}, "need a model trained with --cond-dropout"},
	} {
		args := append(tc.args, "--out", filepath.Join(t.TempDir(), "x.wav"))
		if _, _, err := runCmd(context.Background(), runSay, args...); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("say %q = %v, want a usage error containing %q", args, err, tc.want)
		}
	}
}
