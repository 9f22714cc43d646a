package listening

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/classify"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Sentences are said by every speaker (Options.Sentences of them, in
// order): all the digits, and a phone number.
var Sentences = []string{"0 1 2 3 4 5 6 7 8 9", "8 6 7 5 3 0 9"}

// RecognitionBar is the share of generated digits whose digit and speaker
// the classifier must recognise (issue 6: at least 80% each).
const RecognitionBar = 0.8

// Options configures Make. Sampling settings are those of synth.Request;
// Guidance and Candidates are resolved already (the caller's, else the
// model's defaults).
type Options struct {
	// Out is the output directory: created, with a sentences/
	// subdirectory; existing files of the same names are replaced.
	Out string
	// ModelDir is the checkpoint directory the bundle was loaded from, ""
	// for the embedded default model: named in the README with its
	// training step.
	ModelDir string
	// FSDD is the directory of FSDD-style recordings the classifier is
	// trained on (indices outside ValLo..ValHi) and checked on (inside);
	// ValIndex is that range as the user wrote it, for the README.
	FSDD         string
	ValLo, ValHi int
	ValIndex     string
	// PerPair is the number of samples per (speaker, digit), Sentences
	// the number of Sentences per speaker, Streams the number of
	// requests generated together.
	PerPair, Sentences, Streams int
	// PNG writes a spectrogram per file (with PerPair > 1, for the first
	// sample of each pair only).
	PNG bool
	// ZeroStart starts each stream from zero history instead of a
	// receptive field of silence codes.
	ZeroStart bool
	// LevelInvariant peak-normalises the classifier's recordings and the
	// generated digits before classifying them.
	LevelInvariant bool
	// Judge names the classifier (LoadJudge): JudgeCNN ("" too), JudgeMFCC
	// or a CNN judge directory.
	Judge string
	// Seed is the base seed: sample k of (speaker s, digit d) uses seed +
	// 1000k + 10s + d, sentence j of speaker s seed + 1,000,000 +
	// 100,000j + 100s.
	Seed        uint64
	Temperature float64
	TopK        int
	Greedy      bool
	Guidance    float64
	Candidates  int
	// Report receives the classifier's validation result as soon as it is
	// known and the recognition summary at the end (nil: discarded).
	Report io.Writer
	// Progress, when not nil, is called with the number of files
	// generated so far (0 first), one goroutine at a time.
	Progress func(done, total int)
}

// Result is what Make made.
type Result struct {
	// Files are the files written, in the README's order.
	Files []*File
	// Summary counts the verdicts.
	Summary Summary
	// Validation is the classifier's result on the validation recordings;
	// Judge says which classifier it is.
	Validation *classify.Report
	Judge      *Judge
}

// File is one generated file and its verdict.
type File struct {
	Name    string   // relative to the output directory
	PNG     string   // "" when none
	Speaker string   // the speaker asked for
	Digits  []string // what was said
	Seed    uint64
	Words   []synth.Word          // each digit as generated, with how it ended
	Heard   []classify.Prediction // the classifier's verdict on each digit
	Errs    []error               // why a digit has no verdict
	Audio   []float32
}

// Make writes the listening test of model b to o.Out: the classifier
// first (a missing corpus fails before the long part), then every file
// generated with the engine, judged and written, then README.md.
func Make(ctx context.Context, b *synth.Bundle, o Options) (*Result, error) {
	report := o.Report
	if report == nil {
		report = io.Discard
	}
	cfg := b.Model.Config
	sc, lc := cfg.Condition("speaker"), cfg.LabelCondition()
	if sc < 0 || lc < 0 || len(cfg.Conditions) != 2 {
		return nil, fmt.Errorf("listening: the model must be conditioned on speaker and one label (digit); its conditions: %s", condNames(cfg))
	}
	clf, r, err := o.classifier(ctx)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(report, "classifier on %d validation recordings: digit recognised %.1f%%, speaker recognised %.1f%% (%s, %s)\n",
		r.Validation.Files, 100*r.Validation.DigitAccuracy(), 100*r.Validation.SpeakerAccuracy(), r.Judge.Name(), r.Judge.Origin)
	if r.Files, err = o.plan(cfg.Conditions[sc].Values, cfg.Conditions[lc]); err != nil {
		return nil, err
	}
	if err := o.say(ctx, b, r.Files); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(o.Out, "sentences"), 0o755); err != nil {
		return nil, fmt.Errorf("listening: %w", err)
	}
	for _, f := range r.Files {
		if err := o.judge(clf, f, cfg.SampleRate); err != nil {
			return nil, err
		}
	}
	r.Summary = summarize(r.Files)
	readme := o.readme(cfg, checkpointStep(ctx, o.ModelDir), r)
	if err := writeFile(filepath.Join(o.Out, "README.md"), []byte(readme)); err != nil {
		return nil, err
	}
	r.Summary.write(report, o.PerPair, cfg.Conditions[sc].Values)
	fmt.Fprintf(report, "wrote %d WAVs, README.md to %s\n", len(r.Files), o.Out)
	return r, nil
}

// classifier loads the judge (o.Judge) and checks it on the recordings
// of o.FSDD inside the validation indices.
func (o *Options) classifier(ctx context.Context) (*Judge, *Result, error) {
	valEx, valNames, _, err := classify.LoadDir(ctx, o.FSDD, classify.IndexIn(o.ValLo, o.ValHi, true))
	if err != nil {
		return nil, nil, fmt.Errorf("listening: classifier validation data: %w", err)
	}
	if len(valEx) == 0 {
		return nil, nil, fmt.Errorf("listening: %s has no validation recordings (indices %s) to check the classifier on", o.FSDD, o.ValIndex)
	}
	if o.LevelInvariant {
		for i := range valEx {
			audio.Normalize(valEx[i].Samples, corpus.DefaultNormalizeDB)
		}
	}
	j, err := LoadJudge(ctx, o.Judge, o.FSDD, o.ValLo, o.ValHi, o.LevelInvariant)
	if err != nil {
		return nil, nil, err
	}
	val, err := classify.Evaluate(j, valEx, valNames)
	if err != nil {
		return nil, nil, err
	}
	return j, &Result{Validation: val, Judge: j}, nil
}

// plan lists the files: every (speaker, digit) PerPair times, then the
// sentences of each speaker.
func (o *Options) plan(speakers []string, label wavenet.Condition) ([]*File, error) {
	var files []*File
	for k := range o.PerPair {
		for si, s := range speakers {
			for di, d := range label.Values {
				name := fmt.Sprintf("%s_%s_gen.wav", d, s)
				if o.PerPair > 1 {
					name = fmt.Sprintf("%s_%s_gen%d.wav", d, s, k)
				}
				f := &File{Name: name, Speaker: s, Digits: []string{d}, Seed: o.Seed + uint64(1000*k+10*si+di)}
				if o.PNG && k == 0 {
					f.PNG = strings.TrimSuffix(name, ".wav") + ".png"
				}
				files = append(files, f)
			}
		}
	}
	for si, s := range speakers {
		for j := range o.Sentences {
			labels, err := speech.ParseText(Sentences[j], label)
			if err != nil {
				return nil, fmt.Errorf("listening: %w", err)
			}
			name := fmt.Sprintf("sentences/%s_%d.wav", s, j+1)
			f := &File{Name: name, Speaker: s, Digits: labels, Seed: o.Seed + uint64(1_000_000+100_000*j+100*si)}
			if o.PNG {
				f.PNG = strings.TrimSuffix(name, ".wav") + ".png"
			}
			files = append(files, f)
		}
	}
	return files, nil
}

// say generates every file's digits with an engine of its own, o.Streams
// requests at a time, each file one text request seeded with its seed.
func (o *Options) say(ctx context.Context, b *synth.Bundle, files []*File) error {
	e, err := newEngine(b, o.Streams, len(files))
	if err != nil {
		return err
	}
	defer e.Close()
	progress := counter(o.Progress, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, f := range files {
		temp, w, n, seed := o.Temperature, o.Guidance, o.Candidates, f.Seed
		if o.Greedy {
			temp = 0
		}
		req := &synth.Request{Temperature: &temp, TopK: o.TopK, Seed: &seed, Guidance: &w, Candidates: &n,
			Text: strings.Join(f.Digits, " "), Speaker: f.Speaker, ZeroStart: o.ZeroStart}
		wg.Add(1)
		go func() {
			defer wg.Done()
			syn, err := e.Start(ctx, req)
			if err == nil {
				f.Audio, err = syn.Audio()
				f.Words = syn.Words
				syn.Close()
			}
			errs[i] = err
			progress()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// counter returns a function that calls p with the number of its earlier
// calls and total, one goroutine at a time (nothing if p is nil); it
// calls it once first, with 0.
func counter(p func(done, total int), total int) func() {
	var mu sync.Mutex
	done := 0
	call := func() {
		if p != nil {
			mu.Lock()
			p(done, total)
			done++
			mu.Unlock()
		}
	}
	call()
	return call
}

// newEngine is an engine of its own for b (served as models.ID), streams
// requests generated together and queue waiting, with limits fit for
// files: hours of audio, requests that wait for a slot as long as it
// takes.
func newEngine(b *synth.Bundle, streams, queue int) (*synth.Engine, error) {
	e, err := synth.New(map[string]*synth.Bundle{models.ID: b}, synth.Options{
		MaxStreams: streams, Workers: 1, MaxQueue: queue, QueueWait: 24 * time.Hour,
		MaxSeconds: 24 * 3600, ChunkSamples: 1024,
	})
	if err != nil {
		return nil, fmt.Errorf("listening: %w", err)
	}
	return e, nil
}

// judge classifies f's digits and writes its WAV and PNG.
func (o *Options) judge(clf classify.Judge, f *File, rate int) error {
	for _, p := range f.Words {
		x := p.Audio
		if o.LevelInvariant {
			x = slices.Clone(x)
			audio.Normalize(x, corpus.DefaultNormalizeDB)
		}
		pred, err := predictAt(clf, x, rate)
		f.Heard = append(f.Heard, pred)
		f.Errs = append(f.Errs, err)
	}
	var buf bytes.Buffer
	if err := audio.Encode(&buf, f.Audio, rate, audio.PCM16); err != nil {
		return fmt.Errorf("listening: %s: %w", f.Name, err)
	}
	if err := writeFile(filepath.Join(o.Out, f.Name), buf.Bytes()); err != nil {
		return err
	}
	if f.PNG == "" {
		return nil
	}
	buf.Reset()
	title := fmt.Sprintf("%s: %q said by %s (generated)", f.Name, strings.Join(f.Digits, " "), f.Speaker)
	if err := spectrogramPNG(&buf, f.Audio, rate, title); err != nil {
		return fmt.Errorf("listening: %s: %w", f.PNG, err)
	}
	return writeFile(filepath.Join(o.Out, f.PNG), buf.Bytes())
}

// predictAt classifies x (at rate Hz) with c, resampling when the rates
// differ.
func predictAt(c classify.Judge, x []float32, rate int) (classify.Prediction, error) {
	if rate != c.SampleRate() {
		var err error
		if x, err = audio.Resample(nil, x, rate, c.SampleRate()); err != nil {
			return classify.Prediction{}, err
		}
	}
	return c.Predict(x)
}

// checkpointStep returns the training step recorded in the metadata of
// the checkpoint in dir, or of the embedded default model when dir is ""
// ("" if unknown).
func checkpointStep(ctx context.Context, dir string) string {
	var ck *wavenet.Checkpoint
	var err error
	if dir != "" {
		ck, err = wavenet.LoadCheckpoint(ctx, dir)
	} else {
		ck, err = wavenet.LoadCheckpointFS(ctx, models.FS(), "default")
	}
	if err != nil {
		return ""
	}
	return ck.Metadata["step"]
}

// writeFile writes b to name through a temporary file in the same
// directory, renamed into place, so that a failed write leaves no partial
// file.
func writeFile(name string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return fmt.Errorf("listening: write %s: %w", name, err)
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("listening: write %s: %w", name, err)
	}
	return nil
}
