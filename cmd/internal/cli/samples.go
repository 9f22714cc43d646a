package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/classify"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/internal/plots"
	"github.com/wavenet-go/wavenet/internal/progress"
	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet"
)

// sampleSentences are said by every speaker: all the digits, and a phone
// number.
var sampleSentences = []string{"0 1 2 3 4 5 6 7 8 9", "8 6 7 5 3 0 9"}

// recognitionBar is the share of generated digits whose digit and speaker
// the classifier must recognise (issue 6: at least 80% each).
const recognitionBar = 0.8

// fsddAttribution is the licence notice of the training data, which the
// generated audio is an adaptation of.
const fsddAttribution = `The model that made these files was trained on the "Free Spoken Digit Dataset (FSDD)" by Zohar Jackson and contributors
(https://github.com/Jakobovski/free-spoken-digit-dataset), licensed under CC BY-SA 4.0
(https://creativecommons.org/licenses/by-sa/4.0/). The generated audio is an adaptation of it and is released under
CC BY-SA 4.0 as well.`

type samplesConfig struct {
	modelDir  string
	guidance  float64 // guidance weight used (the flag's or the model's)
	cands     int     // candidates per digit used (the flag's or the model's)
	out       string
	fsdd      string
	valIndex  string
	perPair   int
	sentences int
	streams   int
	png       bool
	zeroStart bool
	levelFree bool
	gen       genFlags
}

// sampleFile is one generated file and its verdict.
type sampleFile struct {
	name    string // relative to the output directory
	png     string // "" when none
	speaker string
	digits  []string // what was asked
	seed    uint64
	parts   []synth.Word
	heard   []classify.Prediction
	errs    []error
	audio   []float32
}

func runSamples(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "samples", "samples [--model DIR] --out samples/ [--seed N] [--per-pair N] [--fsdd DIR] [flags]")
	var c samplesConfig
	fs.StringVar(&c.modelDir, "model", "", "checkpoint directory (default: the embedded default model)")
	fs.StringVar(&c.out, "out", "", "output directory (created; existing files of the same names are replaced)")
	fs.StringVar(&c.fsdd, "fsdd", defaultFSDD, "FSDD-style training recordings for the classifier (trained on indices outside --val-index)")
	fs.StringVar(&c.valIndex, "val-index", "5-9", "FSDD indices held out from the classifier's training")
	fs.IntVar(&c.perPair, "per-pair", 1, "samples per (speaker, digit), with fixed seeds (the evaluation uses 10)")
	fs.IntVar(&c.sentences, "sentences", len(sampleSentences), fmt.Sprintf("sentences per speaker (0 to %d)", len(sampleSentences)))
	fs.IntVar(&c.streams, "streams", 16, "streams generated together")
	fs.BoolVar(&c.png, "png", true, "write a spectrogram PNG per file (with --per-pair > 1, for the first sample of each pair only)")
	fs.BoolVar(&c.zeroStart, "zero-start", false, "start each stream from zero history instead of a receptive field of silence codes (the trainer's left padding)")
	fs.BoolVar(&c.levelFree, "level-invariant", false, "also peak-normalise the files before the classifier sees them (redundant now: the classifier's features are level-invariant; kept for old scripts)")
	fs.Float64Var(&c.gen.temp, "temperature", 1, "sampling temperature (> 0)")
	fs.IntVar(&c.gen.topK, "top-k", 0, "sample only among the K most likely codes (0: all)")
	fs.BoolVar(&c.gen.greedy, "greedy", false, "always take the most likely code")
	fs.Uint64Var(&c.gen.seed, "seed", 1, "base seed: sample k of (speaker s, digit d) uses seed + 1000k + 10s + d")
	fs.Float64Var(&c.gen.guidance, "guidance", -1, guidanceUsage)
	fs.IntVar(&c.gen.cands, "candidates", -1, candidatesUsage)
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return Usagef("unexpected arguments %q", fs.Args())
	case c.out == "":
		return Usagef("--out DIR is required")
	case c.perPair < 1 || c.perPair > 1000:
		return Usagef("--per-pair is %d, want 1 to 1000", c.perPair)
	case c.sentences < 0 || c.sentences > len(sampleSentences):
		return Usagef("--sentences is %d, want 0 to %d", c.sentences, len(sampleSentences))
	case c.streams < 1:
		return Usagef("--streams is %d, want at least 1", c.streams)
	}
	if err := c.gen.check(); err != nil {
		return err
	}
	lo, hi, err := parseRange(c.valIndex)
	if err != nil {
		return err
	}
	b, err := loadBundle(ctx, env, c.modelDir)
	if err != nil {
		return err
	}
	if c.guidance, c.cands, err = c.gen.guided(b); err != nil {
		return err
	}
	cfg := b.Model.Config
	sc, lc := cfg.Condition("speaker"), cfg.LabelCondition()
	if sc < 0 || lc < 0 || len(cfg.Conditions) != 2 {
		return fmt.Errorf("samples: the model must be conditioned on speaker and one label (digit); its conditions: %s", condNames(cfg))
	}
	speakers, digits := cfg.Conditions[sc].Values, cfg.Conditions[lc].Values

	// The classifier first: a missing corpus fails before the long part.
	trainEx, _, _, err := classify.LoadDir(ctx, c.fsdd, classify.IndexIn(lo, hi, false))
	if err != nil {
		return fmt.Errorf("samples: classifier training data: %w", err)
	}
	valEx, valNames, _, err := classify.LoadDir(ctx, c.fsdd, classify.IndexIn(lo, hi, true))
	if err != nil {
		return fmt.Errorf("samples: classifier validation data: %w", err)
	}
	if len(valEx) == 0 {
		return fmt.Errorf("samples: %s has no validation recordings (indices %s) to check the classifier on", c.fsdd, c.valIndex)
	}
	if c.levelFree {
		for _, set := range [][]classify.Example{trainEx, valEx} {
			for i := range set {
				audio.Normalize(set[i].Samples, corpus.DefaultNormalizeDB)
			}
		}
	}
	clf, err := classify.Train(ctx, trainEx)
	if err != nil {
		return err
	}
	valRep, err := clf.Evaluate(valEx, valNames)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "classifier on %d validation recordings: digit recognised %.1f%%, speaker recognised %.1f%%\n",
		valRep.Files, 100*valRep.DigitAccuracy(), 100*valRep.SpeakerAccuracy())

	// Every file is one request to an engine that batches c.streams of
	// them at a time.
	var files []*sampleFile
	for k := range c.perPair {
		for si, s := range speakers {
			for di, d := range digits {
				name := fmt.Sprintf("%s_%s_gen.wav", d, s)
				if c.perPair > 1 {
					name = fmt.Sprintf("%s_%s_gen%d.wav", d, s, k)
				}
				f := &sampleFile{name: name, speaker: s, digits: []string{d}, seed: c.gen.seed + uint64(1000*k+10*si+di)}
				if c.png && k == 0 {
					f.png = strings.TrimSuffix(name, ".wav") + ".png"
				}
				files = append(files, f)
			}
		}
	}
	for si, s := range speakers {
		for j := range c.sentences {
			labels, err := speech.ParseText(sampleSentences[j], cfg.Conditions[lc])
			if err != nil {
				return fmt.Errorf("samples: %w", err)
			}
			name := fmt.Sprintf("sentences/%s_%d.wav", s, j+1)
			f := &sampleFile{name: name, speaker: s, digits: labels, seed: c.gen.seed + uint64(1_000_000+100_000*j+100*si)}
			if c.png {
				f.png = strings.TrimSuffix(name, ".wav") + ".png"
			}
			files = append(files, f)
		}
	}
	if err := c.say(ctx, env, b, files); err != nil {
		return err
	}

	if err := os.MkdirAll(filepath.Join(c.out, "sentences"), 0o755); err != nil {
		return fmt.Errorf("samples: %w", err)
	}
	rate := cfg.SampleRate
	for _, f := range files {
		for _, p := range f.parts {
			x := p.Audio
			if c.levelFree {
				x = slices.Clone(x)
				audio.Normalize(x, corpus.DefaultNormalizeDB)
			}
			pred, err := predictAt(clf, x, rate)
			f.heard = append(f.heard, pred)
			f.errs = append(f.errs, err)
		}
		var buf bytes.Buffer
		if err := audio.Encode(&buf, f.audio, rate, audio.PCM16); err != nil {
			return fmt.Errorf("samples: %s: %w", f.name, err)
		}
		if err := writeFileAtomic(filepath.Join(c.out, f.name), buf.Bytes()); err != nil {
			return err
		}
		if f.png != "" {
			buf.Reset()
			title := fmt.Sprintf("%s: %q said by %s (generated)", f.name, strings.Join(f.digits, " "), f.speaker)
			if err := spectrogramPNG(&buf, f.audio, rate, title); err != nil {
				return fmt.Errorf("samples: %s: %w", f.png, err)
			}
			if err := writeFileAtomic(filepath.Join(c.out, f.png), buf.Bytes()); err != nil {
				return err
			}
		}
	}
	step := checkpointStep(ctx, c.modelDir)
	readme := samplesReadme(c, cfg, step, files, len(trainEx), valRep)
	if err := writeFileAtomic(filepath.Join(c.out, "README.md"), []byte(readme)); err != nil {
		return err
	}
	sum := summarize(files)
	fmt.Fprintf(env.Stdout, "%d digit files (%d per speaker and digit): digit recognised %.1f%% (%d/%d), speaker recognised %.1f%% (%d/%d); the bar is %.0f%% each\n",
		sum.n, c.perPair, 100*sum.digitRate(), sum.digitOK, sum.n, 100*sum.speakerRate(), sum.speakerOK, sum.n, 100*recognitionBar)
	for _, s := range speakers {
		ps := sum.per[s]
		fmt.Fprintf(env.Stdout, "  %-10s %4d files  digit %5.1f%%  speaker %5.1f%%\n", s, ps.n, 100*ps.digitRate(), 100*ps.speakerRate())
	}
	if sum.sentences > 0 {
		fmt.Fprintf(env.Stdout, "%d sentences: %d of %d digits recognised\n", sum.sentences, sum.sentDigitsOK, sum.sentDigits)
	}
	fmt.Fprintf(env.Stdout, "ends: %s\nwrote %d WAVs, README.md to %s\n", sum.endCounts(), len(files), c.out)
	return nil
}

func condNames(cfg wavenet.Config) string {
	names := make([]string, len(cfg.Conditions))
	for i, c := range cfg.Conditions {
		names[i] = c.Name
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// predictAt classifies x (at rate Hz) with c, resampling when the rates
// differ.
func predictAt(c *classify.Classifier, x []float32, rate int) (classify.Prediction, error) {
	if rate != c.Rate {
		var err error
		if x, err = audio.Resample(nil, x, rate, c.Rate); err != nil {
			return classify.Prediction{}, err
		}
	}
	return c.Predict(x)
}

// checkpointStep returns the training step recorded in a checkpoint's
// metadata ("" if unknown).
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

// say generates every file's digits with the engine, c.streams requests
// at a time, each file one text request seeded with its seed.
func (c *samplesConfig) say(ctx context.Context, env *Env, b *synth.Bundle, files []*sampleFile) error {
	e, err := cliEngine(b, c.streams, len(files))
	if err != nil {
		return err
	}
	defer e.Close()
	bar := progress.New(env.Stderr, "samples", "files", int64(len(files)))
	defer bar.Finish()
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, f := range files {
		req, err := c.gen.request(b, f.seed)
		if err != nil {
			return err
		}
		req.Text, req.Speaker, req.ZeroStart = strings.Join(f.digits, " "), f.speaker, c.zeroStart
		wg.Add(1)
		go func() {
			defer wg.Done()
			syn, err := e.Start(ctx, req)
			if err == nil {
				f.audio, err = syn.Audio()
				f.parts = syn.Words
				syn.Close()
			}
			errs[i] = err
			bar.Add(1, "")
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// counts are recognition counts.
type counts struct{ n, digitOK, speakerOK int }

func (c counts) digitRate() float64   { return float64(c.digitOK) / float64(max(c.n, 1)) }
func (c counts) speakerRate() float64 { return float64(c.speakerOK) / float64(max(c.n, 1)) }

type samplesSummary struct {
	counts
	per                                 map[string]*counts
	sentences, sentDigits, sentDigitsOK int
	ends                                map[speech.EndReason]int
}

func (s samplesSummary) endCounts() string {
	var out []string
	for _, r := range []speech.EndReason{speech.Silence, speech.Dip, speech.Cap, speech.NoOnset} {
		out = append(out, fmt.Sprintf("%d by %s", s.ends[r], r))
	}
	return strings.Join(out, ", ")
}

func summarize(files []*sampleFile) samplesSummary {
	s := samplesSummary{per: map[string]*counts{}, ends: map[speech.EndReason]int{}}
	for _, f := range files {
		for _, p := range f.parts {
			s.ends[p.Reason]++
		}
		if len(f.digits) > 1 {
			s.sentences++
			for i, d := range f.digits {
				s.sentDigits++
				if f.errs[i] == nil && f.heard[i].Digit == d {
					s.sentDigitsOK++
				}
			}
			continue
		}
		pc := s.per[f.speaker]
		if pc == nil {
			pc = &counts{}
			s.per[f.speaker] = pc
		}
		for _, c := range []*counts{&s.counts, pc} {
			c.n++
			if f.errs[0] == nil && f.heard[0].Digit == f.digits[0] {
				c.digitOK++
			}
			if f.errs[0] == nil && f.heard[0].Speaker == f.speaker {
				c.speakerOK++
			}
		}
	}
	return s
}

func mark(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func samplesReadme(c samplesConfig, cfg wavenet.Config, step string, files []*sampleFile, trainN int, val *classify.Report) string {
	var b strings.Builder
	model := c.modelDir
	if model == "" {
		model = "the embedded default model (models/default)"
	}
	if step != "" {
		model += fmt.Sprintf(", training step %s", step)
	}
	sum := summarize(files)
	fmt.Fprintf(&b, "# Generated samples\n\n")
	fmt.Fprintf(&b, "Made by `wavenet samples` from %s: %d Hz, %d mu-law levels, %d layers (receptive field %d samples), conditioned on %s.\n",
		model, cfg.SampleRate, cfg.QuantizationChannels, len(cfg.Dilations), cfg.ReceptiveField(), condNames(cfg))
	fmt.Fprintf(&b, "Base seed %d (sample k of speaker s, digit d: seed + 1000k + 10s + d), temperature %g", c.gen.seed, c.gen.temp)
	if c.gen.topK > 0 {
		fmt.Fprintf(&b, ", top-k %d", c.gen.topK)
	}
	if c.guidance > 0 {
		fmt.Fprintf(&b, ", classifier-free guidance %g on the digit", c.guidance)
	}
	if c.cands > 1 {
		fmt.Fprintf(&b, ", best of %d candidates per digit by the model's own log-likelihood ratio log p(audio | digit) - log p(audio | no digit)", c.cands)
	}
	if c.gen.greedy {
		b.WriteString(", greedy")
	}
	if c.zeroStart {
		b.WriteString(", streams started from zero history")
	}
	fmt.Fprintf(&b, ", %d per (speaker, digit).\n\n", c.perPair)
	b.WriteString("Each digit is generated conditioned on (speaker, digit) until its end is detected (sustained silence after ")
	b.WriteString("a plausible length, from the training split's duration statistics), then trimmed; sentences join digits with ")
	b.WriteString("150 ms pauses.\n\n")
	fmt.Fprintf(&b, "Verdicts come from `wavenet eval`'s classifier (MFCC + logistic regression) trained on %d recordings of %s "+
		"(FSDD indices outside %s, never the validation recordings); on the %d validation recordings it recognises %.1f%% of digits and %.1f%% of speakers.",
		trainN, c.fsdd, c.valIndex, val.Files, 100*val.DigitAccuracy(), 100*val.SpeakerAccuracy())
	b.WriteString(" Its features are level-invariant (each file is peak-normalised first), so a speaker is recognised by voice, not by recording level.")
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "## Recognition\n\n")
	fmt.Fprintf(&b, "- digits recognised: **%.1f%%** (%d of %d)\n", 100*sum.digitRate(), sum.digitOK, sum.n)
	fmt.Fprintf(&b, "- speakers recognised: **%.1f%%** (%d of %d)\n", 100*sum.speakerRate(), sum.speakerOK, sum.n)
	if sum.sentences > 0 {
		fmt.Fprintf(&b, "- digits of sentences recognised: %d of %d\n", sum.sentDigitsOK, sum.sentDigits)
	}
	fmt.Fprintf(&b, "- ends: %s\n", sum.endCounts())
	fmt.Fprintf(&b, "- the bar: %.0f%% of digits and %.0f%% of speakers recognised\n\n", 100*recognitionBar, 100*recognitionBar)
	b.WriteString("| speaker | files | digit | speaker |\n|---|---:|---:|---:|\n")
	speakers := make([]string, 0, len(sum.per))
	for s := range sum.per {
		speakers = append(speakers, s)
	}
	sort.Strings(speakers)
	for _, s := range speakers {
		p := sum.per[s]
		fmt.Fprintf(&b, "| %s | %d | %.0f%% | %.0f%% |\n", s, p.n, 100*p.digitRate(), 100*p.speakerRate())
	}
	b.WriteString("\n## Files\n\nThe end column says how each digit's generation stopped: silence (the model fell silent), dip (a quiet stretch after the median length; what followed was dropped), cap (no end found: kept to the length cap).\n\n")
	b.WriteString("| file | spectrogram | speaker | said | length | end | heard (p) | speaker heard (p) | digit ok | speaker ok |\n")
	b.WriteString("|---|---|---|---|---:|---|---|---|---|---|\n")
	for _, f := range files {
		png := ""
		if f.png != "" {
			png = fmt.Sprintf("[png](%s)", f.png)
		}
		var heard, spk []string
		dOK, sOK := true, true
		for i, h := range f.heard {
			if f.errs[i] != nil {
				heard = append(heard, "?")
				spk = append(spk, "?")
				dOK, sOK = false, false
				continue
			}
			heard = append(heard, fmt.Sprintf("%s (%.2f)", h.Digit, h.DigitProb))
			spk = append(spk, fmt.Sprintf("%s (%.2f)", h.Speaker, h.SpeakerProb))
			dOK = dOK && h.Digit == f.digits[i]
			sOK = sOK && h.Speaker == f.speaker
		}
		if len(f.digits) > 1 {
			// Sentences: the digits heard, and the speaker heard for most.
			spk = []string{majority(f.heard, f.errs)}
		}
		ends := make([]string, len(f.parts))
		for i, p := range f.parts {
			ends[i] = p.Reason.String()
		}
		fmt.Fprintf(&b, "| [%s](%s) | %s | %s | %s | %.2f s | %s | %s | %s | %s | %s |\n",
			f.name, f.name, png, f.speaker, strings.Join(f.digits, " "), float64(len(f.audio))/float64(cfg.SampleRate),
			strings.Join(ends, " "), strings.Join(heard, " "), strings.Join(spk, " "), mark(dOK), mark(sOK))
	}
	b.WriteString("\n## Licence\n\n")
	b.WriteString(fsddAttribution)
	b.WriteString("\n")
	return b.String()
}

// majority returns the speaker heard most often among preds.
func majority(preds []classify.Prediction, errs []error) string {
	n := map[string]int{}
	for i, p := range preds {
		if errs[i] == nil {
			n[p.Speaker]++
		}
	}
	best := "?"
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if best == "?" || n[k] > n[best] {
			best = k
		}
	}
	if best == "?" {
		return best
	}
	return fmt.Sprintf("%s (%d of %d)", best, n[best], len(preds))
}

// spectrogramPNG draws the log-mel spectrogram of x (rate Hz) as a PNG
// with time and frequency axes.
func spectrogramPNG(w io.Writer, x []float32, rate int, title string) error {
	fft := 256 * max(1, rate/8000) // 32 ms frames
	mc := audio.MelConfig{SampleRate: rate, FFTSize: fft, Hop: fft / 4, Mels: 64}
	if len(x) < fft {
		x = append(slices.Clone(x), make([]float32, fft-len(x))...)
	}
	s, err := audio.MelSpectrogram(x, mc)
	if err != nil {
		return err
	}
	// Band centres: 64 bands between 0 Hz and Nyquist, evenly spaced in
	// mel (HTK filters: centre i is edge i+1 of Mels+2 edges).
	top := audio.HzToMel(float64(rate) / 2)
	mels := make([]float64, s.Bins)
	for i := range mels {
		mels[i] = top * float64(i+1) / float64(s.Bins+1)
	}
	hi := math.Inf(-1)
	for _, v := range s.Data {
		hi = math.Max(hi, float64(v))
	}
	// The mel axis is marked at round frequencies in Hz.
	var ticks []plots.Tick
	for _, hz := range []float64{0, 250, 500, 1000, 2000, 3000, 4000, 6000, 8000, 11000, 16000, 22000} {
		if hz <= float64(rate)/2 {
			ticks = append(ticks, plots.Tick{Value: audio.HzToMel(hz), Label: fmt.Sprint(hz)})
		}
	}
	// 80 dB of range below the loudest cell, as librosa's specshow shows.
	return plots.Spectrogram{
		Title: title, YLabel: "frequency (Hz, mel scale)",
		Data: s.Data, Frames: s.Frames, Bins: s.Bins, FrameRate: s.FrameRate,
		BinY: mels, YMax: top, YTicks: ticks, Min: hi - 80, Max: hi,
	}.WritePNG(w)
}
