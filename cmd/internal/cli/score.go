package cli

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/wavenet-go/wavenet/classify"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/ngram"
	"github.com/wavenet-go/wavenet/train"
	"github.com/wavenet-go/wavenet/wavenet"
)

// scoreSum accumulates cross-entropy over files.
type scoreSum struct {
	files, n int
	nats     float64
}

func (s *scoreSum) add(nats float64, n int) {
	s.files++
	s.n += n
	s.nats += nats
}

func (s scoreSum) bits() float64 { return s.nats / float64(s.n) / math.Ln2 }

// labelCondition is the name of the model condition that --label and a
// file name's digit set (wavenet.Config.LabelCondition), or "".
func labelCondition(cfg wavenet.Config) string {
	if i := cfg.LabelCondition(); i >= 0 {
		return cfg.Conditions[i].Name
	}
	return ""
}

func runScore(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "score", "score [--model DIR] [--speaker X] [--label Y] [--cond name=value...] [--full-context] [--baseline CORPUS] file.wav...\n"+
		"       wavenet score [--model DIR] --baseline CORPUS   (the validation split of CORPUS, processed as training does)")
	modelDir := fs.String("model", "", "checkpoint directory (default: the embedded default model)")
	full := fs.Bool("full-context", false, "score only predictions whose whole receptive field lies inside the recording (as training on segments does), not those that see the silence before it")
	baseline := fs.String("baseline", "", "also score with an interpolated trigram over mu-law codes trained on the training split of this corpus (FSDD names; loaded as `wavenet train` loads it); without files, score the corpus's validation split")
	var cf condFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 && *baseline == "" {
		return Usagef("no WAV files given")
	}
	m, err := loadModel(ctx, *modelDir)
	if err != nil {
		return err
	}
	read := func(name string) ([]int32, error) {
		return readCodes(name, m.Config.SampleRate, m.Config.QuantizationChannels)
	}
	var tri *ngram.Trigram
	if *baseline != "" {
		var split map[string][]int32
		if tri, split, err = trainBaseline(ctx, env, *baseline, m.Config); err != nil {
			return err
		}
		if len(files) == 0 {
			// The validation split, as the trainer holds it (trimmed,
			// normalised, resampled), so the model's numbers match
			// the trainer's validation bits/sample.
			for name := range split {
				files = append(files, name)
			}
			sort.Strings(files)
			read = func(name string) ([]int32, error) { return split[name], nil }
		}
	}
	var allTri scoreSum
	triDigit := map[string]*scoreSum{}
	triSpeaker := map[string]*scoreSum{}
	cfg := m.Config
	given, err := cf.values(cfg)
	if err != nil {
		return err
	}
	labelCond := labelCondition(cfg)

	var all scoreSum
	byDigit := map[string]*scoreSum{}
	bySpeaker := map[string]*scoreSum{}
	add := func(sums map[string]*scoreSum, key string, nats float64, n int) {
		s := sums[key]
		if s == nil {
			s = &scoreSum{}
			sums[key] = s
		}
		s.add(nats, n)
	}
	if tri == nil {
		fmt.Fprintf(env.Stdout, "%-40s %9s %12s\n", "file", "samples", "bits/sample")
	} else {
		fmt.Fprintf(env.Stdout, "%-40s %9s %12s %12s %9s\n", "file", "samples", "bits/sample", "trigram", "diff")
	}
	for _, name := range files {
		digit, speaker, _, named := classify.ParseName(name)
		// Conditioning: flags first, then what the file name says.
		vals := map[string]string{}
		if named {
			if cfg.Condition("speaker") >= 0 {
				vals["speaker"] = speaker
			}
			if labelCond != "" {
				vals[labelCond] = digit
			}
		}
		for k, v := range given {
			vals[k] = v
		}
		cond, err := condIndices(cfg, vals)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		codes, err := read(name)
		if err != nil {
			return err
		}
		// from = 0: every prediction counts, including the first ones,
		// which see the zero padding before the recording starts.
		from := 0
		if *full {
			from = cfg.ReceptiveField() - 1
		}
		nats, n, err := m.Score(ctx, codes, cond, from)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if n == 0 {
			fmt.Fprintf(env.Stdout, "%-40s %9d %12s\n", name, 0, "too short")
			continue
		}
		all.add(nats, n)
		if tri == nil {
			fmt.Fprintf(env.Stdout, "%-40s %9d %12.4f\n", name, n, nats/float64(n)/math.Ln2)
		} else {
			tb, err := trigramBits(tri, codes, from)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			tn := tb * math.Ln2 // sums are kept in nats
			allTri.add(tn, n)
			if named {
				add(triDigit, digit, tn, n)
				add(triSpeaker, speaker, tn, n)
			}
			fmt.Fprintf(env.Stdout, "%-40s %9d %12.4f %12.4f %+9.4f\n", name, n, nats/float64(n)/math.Ln2, tb/float64(n), (nats/math.Ln2-tb)/float64(n))
		}
		if named {
			add(byDigit, digit, nats, n)
			add(bySpeaker, speaker, nats, n)
		}
	}
	printGroup := func(title string, sums map[string]*scoreSum, tris map[string]*scoreSum) {
		if len(sums) == 0 {
			return
		}
		if tri != nil {
			printBaselineGroup(env, title, sums, tris)
			return
		}
		fmt.Fprintf(env.Stdout, "\nper %s:\n", title)
		keys := make([]string, 0, len(sums))
		for k := range sums {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s := sums[k]
			fmt.Fprintf(env.Stdout, "  %-12s %4d files %9d samples %8.4f bits/sample\n", k, s.files, s.n, s.bits())
		}
	}
	printGroup("label (digit, from {digit}_{speaker}_*.wav names)", byDigit, triDigit)
	printGroup("speaker", bySpeaker, triSpeaker)
	if all.n == 0 {
		return fmt.Errorf("no file had at least 2 samples to score")
	}
	fmt.Fprintf(env.Stdout, "\noverall: %d files %d samples %.4f bits/sample (uniform over %d codes: %.4f)\n",
		all.files, all.n, all.bits(), cfg.QuantizationChannels, math.Log2(float64(cfg.QuantizationChannels)))
	if tri != nil {
		fmt.Fprintf(env.Stdout, "trigram baseline: %.4f bits/sample; model - trigram: %+.4f bits/sample (the default voice's bar: -1 or lower, overall and per speaker)\n",
			allTri.bits(), all.bits()-allTri.bits())
	}
	return nil
}

// baselineDiscount is the trigram's absolute discount: 0.75, the usual
// choice for absolute discounting (Ney, Essen and Kneser 1994).
const baselineDiscount = 0.75

// trainBaseline loads the corpus in dir as `wavenet train` does by default
// (trim and normalise on, the model's rate and levels, the FSDD split)
// and trains the trigram baseline on its training split. It returns the
// trigram and the codes of the validation split by utterance name.
func trainBaseline(ctx context.Context, env *Env, dir string, cfg wavenet.Config) (*ngram.Trigram, map[string][]int32, error) {
	c, err := corpus.Load(ctx, dir, train.CorpusOptions(cfg))
	if err != nil {
		return nil, nil, fmt.Errorf("baseline: %w", err)
	}
	if len(c.Train) == 0 {
		return nil, nil, fmt.Errorf("baseline: %s has no training utterances", dir)
	}
	tri, err := ngram.New(cfg.QuantizationChannels, baselineDiscount)
	if err != nil {
		return nil, nil, err
	}
	for _, u := range c.Train {
		if err := tri.Add(u.Codes); err != nil {
			return nil, nil, fmt.Errorf("baseline: %s: %w", u.Name, err)
		}
	}
	split := map[string][]int32{}
	for _, u := range c.Validation {
		split[u.Name] = u.Codes
	}
	fmt.Fprintf(env.Stdout, "trigram baseline: trained on %d utterances (%d samples) of the training split of %s (validation: %s; trimmed, normalised, %d Hz, Q=%d, discount %g)\n",
		len(c.Train), corpus.Samples(c.Train), dir, c.Split, cfg.SampleRate, cfg.QuantizationChannels, baselineDiscount)
	return tri, split, nil
}

// trigramBits returns the trigram's bits for the codes the model scores
// with Score(codes, cond, from): codes[from+1:], each given all before it.
// The trigram scores a prefix term by term, so the bits of a suffix are
// those of the whole minus those of the prefix.
func trigramBits(tri *ngram.Trigram, codes []int32, from int) (float64, error) {
	whole, _, err := tri.Bits(codes)
	if err != nil {
		return 0, err
	}
	prefix, _, err := tri.Bits(codes[:min(from+1, len(codes))])
	if err != nil {
		return 0, err
	}
	return whole - prefix, nil
}

// printBaselineGroup prints a group's bits per sample under the model and
// the trigram, and their difference.
func printBaselineGroup(env *Env, title string, sums, tris map[string]*scoreSum) {
	fmt.Fprintf(env.Stdout, "\nper %s:\n", title)
	keys := make([]string, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(env.Stdout, "  %-12s %10s %9s %12s %12s %9s\n", "", "files", "samples", "model", "trigram", "diff")
	for _, k := range keys {
		s, t := sums[k], tris[k]
		fmt.Fprintf(env.Stdout, "  %-12s %4d files %9d %12.4f %12.4f %+9.4f\n", k, s.files, s.n, s.bits(), t.bits(), s.bits()-t.bits())
	}
}
