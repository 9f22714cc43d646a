package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/mulaw"
	"github.com/wavenet-go/wavenet/ngram"
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
		codes, _, err := recordingCodes(f, m.Config, false)
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
	// The model is conditioned and the name says nothing: the conditions
	// take their first values (the engine's rule, as /v1/score), and a
	// note says so.
	if _, stderr, err := runCmd(context.Background(), runScore, "--model", dir, f); err != nil ||
		!strings.Contains(stderr, "scored with speaker=alice, digit=0 (the first value") {
		t.Errorf("score of an unlabelled file without flags = %v, stderr %q; want success and a note naming speaker=alice, digit=0", err, stderr)
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

func TestScoreBaseline(t *testing.T) {
	dir, m := genTestModel(t, true)
	data := t.TempDir()
	writeDigitCorpus(t, data) // alice and bob, digits 0-9, indices 0-2 and 10-11, and 5 for validation
	// More validation recordings (FSDD index 5-9), of different lengths.
	for i, n := range []int{900, 1300} {
		writeSine(t, filepath.Join(data, fmt.Sprintf("3_alice_%d.wav", 6+i)), 8000, n)
		writeSine(t, filepath.Join(data, fmt.Sprintf("7_bob_%d.wav", 7+i)), 8000, n+200)
	}
	stdout, stderr, err := runCmd(context.Background(), runScore, "--model", dir, "--baseline", data)
	if err != nil {
		t.Fatalf("score --baseline: %v\n%s", err, stderr)
	}

	// The reference: the same corpus loaded as training loads it, a trigram
	// trained directly on its training split, both models scored on its
	// validation split.
	c, err := corpus.Load(context.Background(), data, corpus.Options{SampleRate: 8000, Levels: 256, Trim: true, Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Train) != 100 || len(c.Validation) != 24 {
		t.Fatalf("corpus: %d training and %d validation utterances, want 100 and 24", len(c.Train), len(c.Validation))
	}
	tri, err := ngram.New(256, 0.75)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range c.Train {
		if err := tri.Add(u.Codes); err != nil {
			t.Fatal(err)
		}
	}
	type sum struct {
		files      int
		model, tri float64
		n          int
	}
	sums := map[string]*sum{"alice": {}, "bob": {}, "all": {}}
	for _, u := range c.Validation {
		cond, err := u.ConditionIndices(m.Config.Conditions)
		if err != nil {
			t.Fatal(err)
		}
		nats, n, err := m.Score(context.Background(), u.Codes, cond, 0)
		if err != nil {
			t.Fatal(err)
		}
		// The model predicts codes[1:]: the trigram's bits for them are
		// its bits for all codes minus those of the first (a unigram).
		all, _, err := tri.Bits(u.Codes)
		if err != nil {
			t.Fatal(err)
		}
		first, _, err := tri.Bits(u.Codes[:1])
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%-40s %9d %12.4f %12.4f", u.Name, n, nats/float64(n)/math.Ln2, (all-first)/float64(n))
		if !strings.Contains(stdout, want) {
			t.Errorf("score --baseline lacks the line %q:\n%s", want, stdout)
		}
		for _, k := range []string{u.Labels["speaker"], "all"} {
			sums[k].model += nats / math.Ln2
			sums[k].tri += all - first
			sums[k].n += n
			sums[k].files++
		}
	}
	for _, k := range []string{"alice", "bob"} {
		s := sums[k]
		want := fmt.Sprintf("  %-12s %4d files %9d %12.4f %12.4f %+9.4f", k, s.files, s.n, s.model/float64(s.n), s.tri/float64(s.n), (s.model-s.tri)/float64(s.n))
		if !strings.Contains(stdout, want) {
			t.Errorf("score --baseline lacks the speaker line %q:\n%s", want, stdout)
		}
	}
	s := sums["all"]
	want := fmt.Sprintf("trigram baseline: %.4f bits/sample; model - trigram: %+.4f", s.tri/float64(s.n), (s.model-s.tri)/float64(s.n))
	if !strings.Contains(stdout, want) || !strings.Contains(stdout, "trained on 100 utterances") {
		t.Errorf("score --baseline lacks %q and the training summary:\n%s", want, stdout)
	}

	// With files, the trigram scores the same codes as the model, with
	// --full-context too (only codes after the receptive field, 17).
	f := filepath.Join(t.TempDir(), "2_bob_x.wav")
	writeSine(t, f, 8000, 500)
	stdout, _, err = runCmd(context.Background(), runScore, "--model", dir, "--baseline", data, "--full-context", f)
	if err != nil {
		t.Fatal(err)
	}
	codes, _, err := recordingCodes(f, m.Config, false)
	if err != nil {
		t.Fatal(err)
	}
	all, _, _ := tri.Bits(codes)
	prefix, _, _ := tri.Bits(codes[:17])
	// 500 codes, 483 predictions after the first 17: file, samples,
	// model bits, trigram bits, difference.
	var line []string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, f) {
			line = strings.Fields(l)
		}
	}
	if want := fmt.Sprintf("%.4f", (all-prefix)/483); len(line) != 5 || line[1] != "483" || line[3] != want {
		t.Errorf("score --baseline --full-context: line %q, want 483 samples and trigram bits %s:\n%s", line, want, stdout)
	}
}

// TestScoreProcessing: by default score processes a recording as the
// model's training audio was (the test model records no Preprocess, so
// wavenet.DefaultPreprocess: 20 ms frames trimmed, peak normalised to -1
// dBFS); --raw scores the codes of the file as it is. The recording is a
// tone with frame-aligned digital silence before and after, so the
// reference below is built by hand: the tone's samples, scaled to the
// peak, mu-law encoded.
func TestScoreProcessing(t *testing.T) {
	ctx := context.Background()
	dir, m := genTestModel(t, true)
	tmp := t.TempDir()
	// 8000 Hz: a 20 ms frame is 160 samples. 5 frames of silence, 10 of
	// a 440 Hz tone at 0.25 (-12 dBFS, far above the -60 dBFS floor), 5 of
	// silence.
	const rate, frame = 8000, 160
	x := make([]float32, 20*frame)
	for i := 5 * frame; i < 15*frame; i++ {
		x[i] = 0.25 * float32(math.Sin(2*math.Pi*440*float64(i)/rate))
	}
	name := filepath.Join(tmp, "2_alice_0.wav")
	writeWAV(t, name, x, rate)
	silent := filepath.Join(tmp, "2_alice_1.wav")
	writeWAV(t, silent, make([]float32, 4*frame), rate)

	// The file as stored (PCM16), then the tone part normalised.
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	clip, err := audio.DecodeMono(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	rawCodes := mulaw.Encode(nil, clip.Samples, 256)
	tone := append([]float32(nil), clip.Samples[5*frame:15*frame]...)
	audio.Normalize(tone, -1)
	toneCodes := mulaw.Encode(nil, tone, 256)
	cond := []int{0, 2} // alice, digit 2 (genTestModel's conditions)

	bitsOf := func(codes []int32) float64 {
		b, err := m.BitsPerSample(ctx, codes, cond, 0)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		args       []string
		codes      []int32
		processing string
	}{
		{nil, toneCodes, "processing: as training (trimmed (20 ms frames below -60 dBFS or 30 dB under the loudest), peak normalised to -1 dBFS); --raw scores the recordings as they are"},
		{[]string{"--raw"}, rawCodes, "processing: raw (only resampled to 8000 Hz)"},
	} {
		stdout, stderr, err := runCmd(ctx, runScore, append(append([]string{"--model", dir}, tc.args...), name, silent)...)
		if err != nil {
			t.Fatalf("score %v: %v\n%s", tc.args, err, stderr)
		}
		want := fmt.Sprintf("%-40s %9d %12.4f", name, len(tc.codes)-1, bitsOf(tc.codes))
		if !strings.Contains(stdout, want) || !strings.Contains(stdout, tc.processing) {
			t.Errorf("score %v output lacks %q or %q:\n%s", tc.args, want, tc.processing, stdout)
		}
		if msg := fmt.Sprintf("%-40s %9d silent: nothing is left after trimming", silent, 0); tc.args == nil && !strings.Contains(stdout, msg) {
			t.Errorf("score %v: no per-file message for the silent recording:\n%s", tc.args, stdout)
		}
	}
	if _, _, err := runCmd(ctx, runScore, "--model", dir, "--raw", "--baseline", tmp); !errors.Is(err, ErrUsage) {
		t.Errorf("score --raw --baseline without files = %v, want a usage error (the split is processed as training)", err)
	}
	// The two differ: trimming drops 1600 of the 3200 samples.
	if len(toneCodes) == len(rawCodes) || bitsOf(toneCodes) == bitsOf(rawCodes) {
		t.Errorf("processed and raw codes score alike: %d vs %d codes", len(toneCodes), len(rawCodes))
	}
}

func writeWAV(t *testing.T, name string, x []float32, rate int) {
	t.Helper()
	var b bytes.Buffer
	if err := audio.Encode(&b, x, rate, audio.PCM16); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
