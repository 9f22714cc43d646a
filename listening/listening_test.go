package listening

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/classify"
	"github.com/wavenet-go/wavenet/listening/listeningtest"
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

// testBundle is an untrained tiny model (8 kHz) conditioned on the
// speakers of listeningtest's corpus (alice, bob) and digit.
func testBundle(t *testing.T) *synth.Bundle {
	conds := []wavenet.Condition{
		{Name: "speaker", Values: []string{"alice", "bob"}},
		{Name: "digit", Values: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}},
	}
	return &synth.Bundle{Model: wavenettest.Tiny(t, 5, conds)}
}

// testOptions are Make's options on a fresh corpus (validation index 5:
// 20 recordings), as `wavenet samples`' defaults give them.
func testOptions(t *testing.T) Options {
	data := t.TempDir()
	listeningtest.WriteDigitCorpus(t, data)
	return Options{Out: filepath.Join(t.TempDir(), "samples"), ModelDir: "test-model", FSDD: data, ValLo: 5, ValHi: 9, ValIndex: "5-9",
		PerPair: 1, Sentences: len(Sentences), Streams: 16, PNG: true, Seed: 5, Temperature: 1, Candidates: 1}
}

func readWAV(t *testing.T, name string) *audio.Clip {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := audio.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

func TestMake(t *testing.T) {
	o := testOptions(t)
	var report bytes.Buffer
	var calls []int
	o.Report = &report
	o.Progress = func(done, total int) { calls = append(calls, done, total) }
	r, err := Make(context.Background(), testBundle(t), o)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(o.Out, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range []string{"alice", "bob"} {
		for d := 0; d < 10; d++ {
			names = append(names, fmt.Sprintf("%d_%s_gen", d, s))
		}
		for j := 1; j <= len(Sentences); j++ {
			names = append(names, fmt.Sprintf("sentences/%s_%d", s, j))
		}
	}
	for _, n := range names {
		clip := readWAV(t, filepath.Join(o.Out, n+".wav"))
		if clip.Format.SampleRate != 8000 || clip.Frames() == 0 {
			t.Errorf("%s.wav: %d frames at %d Hz, want audio at 8000 Hz", n, clip.Frames(), clip.Format.SampleRate)
		}
		f, err := os.Open(filepath.Join(o.Out, n+".png"))
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
	for _, want := range []string{"digits recognised: **", "speakers recognised: **", "Base seed 5", "from test-model:",
		"on the 20 validation recordings it recognises", "features are level-invariant",
		"Free Spoken Digit Dataset (FSDD)", "https://github.com/Jakobovski/free-spoken-digit-dataset",
		"https://creativecommons.org/licenses/by-sa/4.0/", "| alice | 10 |", "| bob | 10 |"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README lacks %q", want)
		}
	}
	// 20 digit files; 4 sentences of 10 and 7 digits; every digit ends once.
	s := r.Summary
	if len(r.Files) != 24 || s.N != 20 || s.Sentences != 4 || s.SentenceDigits != 34 || r.Validation.Files != 20 {
		t.Errorf("Make: %d files, summary %d digit files, %d sentences of %d digits, %d validation recordings; want 24, 20, 4, 34, 20",
			len(r.Files), s.N, s.Sentences, s.SentenceDigits, r.Validation.Files)
	}
	ends := 0
	for _, n := range s.Ends {
		ends += n
	}
	if ends != 54 {
		t.Errorf("Make: %d ends counted, want 54 (20 digits and 34 in sentences)", ends)
	}
	// By default the embedded spectrogram CNN judges.
	for _, want := range []string{"classifier on 20 validation recordings:", "(spectrogram CNN (mobilenet-v1, ", "the embedded judge (models/judge))",
		"20 digit files (1 per speaker and digit)", "4 sentences:", "wrote 24 WAVs, README.md to " + o.Out} {
		if !strings.Contains(report.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, report.String())
		}
	}
	if len(calls) != 2*25 || calls[0] != 0 || calls[len(calls)-2] != 24 || calls[len(calls)-1] != 24 {
		t.Errorf("Progress calls (done, total) = %v, want 25 calls from (0, 24) to (24, 24)", calls)
	}
}

func TestMakePerPair(t *testing.T) {
	o := testOptions(t)
	// The MFCC classifier trained on the synthetic corpus (the embedded
	// judge knows FSDD's speakers, not alice and bob).
	o.PerPair, o.Sentences, o.PNG, o.LevelInvariant, o.Judge = 2, 0, false, true, JudgeMFCC
	r, err := Make(context.Background(), testBundle(t), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"3_alice_gen0.wav", "3_alice_gen1.wav", "9_bob_gen1.wav"} {
		if _, err := os.Stat(filepath.Join(o.Out, n)); err != nil {
			t.Errorf("Make with PerPair 2: %v", err)
		}
	}
	if pngs, _ := filepath.Glob(filepath.Join(o.Out, "*.png")); len(pngs) != 0 {
		t.Errorf("Make without PNG wrote %d PNGs", len(pngs))
	}
	// The synthetic classes differ in spectrum, not level: the
	// level-invariant classifier still recognises every validation file.
	if r.Judge.Name() != "MFCC + logistic regression" || r.Judge.Trained != 100 {
		t.Errorf("Make with Judge %q judged with %s trained on %d recordings, want the MFCC classifier on 100", o.Judge, r.Judge.Name(), r.Judge.Trained)
	}
	if r.Summary.N != 40 || r.Validation.DigitAccuracy() != 1 || r.Validation.SpeakerAccuracy() != 1 {
		t.Errorf("Make with PerPair 2: %d digit files, classifier %.2f digits %.2f speakers; want 40 and a perfect classifier",
			r.Summary.N, r.Validation.DigitAccuracy(), r.Validation.SpeakerAccuracy())
	}
	// Samples of one pair use different seeds: different audio.
	a, b := readWAV(t, filepath.Join(o.Out, "3_alice_gen0.wav")), readWAV(t, filepath.Join(o.Out, "3_alice_gen1.wav"))
	if a.Frames() == b.Frames() && fmt.Sprint(a.Samples) == fmt.Sprint(b.Samples) {
		t.Error("3_alice_gen0.wav and 3_alice_gen1.wav are identical, want different seeds")
	}
}

func TestMakeErrors(t *testing.T) {
	o := testOptions(t)
	empty := o
	empty.FSDD = t.TempDir()
	noVal := o
	noVal.ValLo, noVal.ValHi, noVal.ValIndex = 50, 59, "50-59"
	uncond := &synth.Bundle{Model: wavenettest.Tiny(t, 5, nil)}
	tests := []struct {
		name string
		b    *synth.Bundle
		o    Options
		want string
	}{
		{"unconditioned model", uncond, o, "conditioned on speaker and one label"},
		{"empty corpus", testBundle(t), empty, "no .wav files"},
		{"no validation recordings", testBundle(t), noVal, "no validation recordings (indices 50-59)"},
	}
	for _, tt := range tests {
		_, err := Make(context.Background(), tt.b, tt.o)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "listening: ") {
			t.Errorf("Make with %s = %v, want a listening error containing %q", tt.name, err, tt.want)
		}
	}
}

// TestSummaryAndRows checks the counts and the README rows of hand-made
// verdicts: a digit heard right, one heard wrong, one the classifier
// failed on, and a sentence of three digits heard by two speakers.
func TestSummaryAndRows(t *testing.T) {
	word := func(r speech.EndReason) synth.Word { return synth.Word{WordResult: speech.WordResult{Reason: r}} }
	heard := func(d, s string) classify.Prediction {
		return classify.Prediction{Digit: d, DigitProb: 0.9, Speaker: s, SpeakerProb: 0.75}
	}
	fail := errors.New("too short")
	files := []*File{
		{Name: "1_a_gen.wav", PNG: "1_a_gen.png", Speaker: "a", Digits: []string{"1"}, Audio: make([]float32, 4000),
			Words: []synth.Word{word(speech.Silence)}, Heard: []classify.Prediction{heard("1", "a")}, Errs: []error{nil}},
		{Name: "2_a_gen.wav", Speaker: "a", Digits: []string{"2"}, Audio: make([]float32, 8000),
			Words: []synth.Word{word(speech.Cap)}, Heard: []classify.Prediction{heard("3", "a")}, Errs: []error{nil}},
		{Name: "1_b_gen.wav", Speaker: "b", Digits: []string{"1"}, Audio: make([]float32, 800),
			Words: []synth.Word{word(speech.Dip)}, Heard: []classify.Prediction{{}}, Errs: []error{fail}},
		{Name: "sentences/a_1.wav", Speaker: "a", Digits: []string{"4", "2", "7"}, Audio: make([]float32, 16000),
			Words: []synth.Word{word(speech.Silence), word(speech.Silence), word(speech.Dip)},
			Heard: []classify.Prediction{heard("4", "b"), heard("2", "a"), heard("1", "b")},
			Errs:  []error{nil, nil, nil}},
	}
	s := summarize(files)
	if s.Counts != (Counts{N: 3, DigitOK: 1, SpeakerOK: 2}) || *s.PerSpeaker["a"] != (Counts{2, 1, 2}) || *s.PerSpeaker["b"] != (Counts{1, 0, 0}) ||
		s.Sentences != 1 || s.SentenceDigits != 3 || s.SentenceDigitsOK != 2 {
		t.Errorf("summarize = %+v (a %+v, b %+v), want 3 digits (1 right, 2 speakers right), a {2 1 2}, b {1 0 0}, 1 sentence with 2 of 3 digits right",
			s, s.PerSpeaker["a"], s.PerSpeaker["b"])
	}
	if got, want := s.endCounts(), "3 by silence, 2 by dip, 1 by cap, 0 by no onset"; got != want {
		t.Errorf("endCounts() = %q, want %q", got, want)
	}
	// At 8000 Hz: 4000 samples are 0.50 s.
	rows := []string{
		"| [1_a_gen.wav](1_a_gen.wav) | [png](1_a_gen.png) | a | 1 | 0.50 s | silence | 1 (0.90) | a (0.75) | yes | yes |\n",
		"| [2_a_gen.wav](2_a_gen.wav) |  | a | 2 | 1.00 s | cap | 3 (0.90) | a (0.75) | **no** | yes |\n",
		"| [1_b_gen.wav](1_b_gen.wav) |  | b | 1 | 0.10 s | dip | ? | ? | **no** | **no** |\n",
		"| [sentences/a_1.wav](sentences/a_1.wav) |  | a | 4 2 7 | 2.00 s | silence silence dip | 4 (0.90) 2 (0.90) 1 (0.90) | b (2 of 3) | **no** | **no** |\n",
	}
	for i, f := range files {
		if got := f.row(8000); got != rows[i] {
			t.Errorf("row of %s =\n%q, want\n%q", f.Name, got, rows[i])
		}
	}
	var w bytes.Buffer
	s.write(&w, 1, []string{"b", "a"})
	want := "3 digit files (1 per speaker and digit): digit recognised 33.3% (1/3), speaker recognised 66.7% (2/3); the bar is 80% each\n" +
		"  b             1 files  digit   0.0%  speaker   0.0%\n" +
		"  a             2 files  digit  50.0%  speaker 100.0%\n" +
		"1 sentences: 2 of 3 digits recognised\n" +
		"ends: 3 by silence, 2 by dip, 1 by cap, 0 by no onset\n"
	if w.String() != want {
		t.Errorf("Summary.write =\n%s\nwant\n%s", w.String(), want)
	}
}
