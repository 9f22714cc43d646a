package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/wavenet-go/wavenet/internal/progress"
	"github.com/wavenet-go/wavenet/listening"
	"github.com/wavenet-go/wavenet/synth"
)

func runSamples(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "samples", "samples [--model DIR] --out samples/ [--seed N] [--per-pair N] [--judge cnn|mfcc|DIR] [--fsdd DIR] [flags]\n"+
		"       samples --vocoder --out DIR [--model DIR] [--data CORPUS [--layout L] [--pattern RE] [--speaker-from-folder]] [--max N] [--seed N] [--judge cnn|mfcc|DIR] [--fsdd DIR]")
	var o listening.Options
	var g genFlags
	vocoder := fs.Bool("vocoder", false, "write copy-synthesis triples of a vocoder instead: each validation recording of --data, its WaveNet copy synthesis and Griffin-Lim from the same mels, spectrograms and index.md with MCDs")
	data := fs.String("data", defaultFSDD, "with --vocoder: the recordings, a "+corpusUsage+"; those with an index in --val-index (without index labels: the corpus's validation split) are copied")
	var corp corpusFlags
	corp.register(fs)
	maxFiles := fs.Int("max", 12, "with --vocoder: copy at most this many recordings, spread over speakers and digits (0: all)")
	fs.StringVar(&o.ModelDir, "model", "", "checkpoint directory (default: the embedded default model; with --vocoder, the embedded vocoder)")
	fs.StringVar(&o.Out, "out", "", "output directory (created; existing files of the same names are replaced)")
	fs.StringVar(&o.Judge, "judge", listening.JudgeCNN, "the classifier: cnn (the embedded spectrogram CNN, models/judge), mfcc (MFCC + logistic regression, trained on --fsdd outside --val-index), or a CNN judge directory")
	fs.StringVar(&o.FSDD, "fsdd", defaultFSDD, "FSDD-style recordings: the classifier is checked on those of --val-index (--judge mfcc trains on the rest; with --vocoder, \"\" for no verdicts)")
	fs.StringVar(&o.ValIndex, "val-index", "5-9", "FSDD indices held out from the classifier's training")
	fs.IntVar(&o.PerPair, "per-pair", 1, "samples per (speaker, digit), with fixed seeds (the evaluation uses 10)")
	fs.IntVar(&o.Sentences, "sentences", len(listening.Sentences), fmt.Sprintf("sentences per speaker (0 to %d)", len(listening.Sentences)))
	fs.IntVar(&o.Streams, "streams", 16, "streams generated together")
	fs.BoolVar(&o.PNG, "png", true, "write a spectrogram PNG per file (with --per-pair > 1, for the first sample of each pair only)")
	fs.BoolVar(&o.ZeroStart, "zero-start", false, "start each stream from zero history instead of a receptive field of silence codes (the trainer's left padding)")
	fs.BoolVar(&o.LevelInvariant, "level-invariant", false, "also peak-normalise the files before the classifier sees them (redundant now: the classifier's features are level-invariant; kept for old scripts)")
	g.register(fs, "base seed: sample k of (speaker s, digit d) uses seed + 1000k + 10s + d")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case o.Out == "":
		return Usagef("--out DIR is required")
	case *vocoder:
		return runSamplesVocoder(ctx, env, o, *data, &corp, *maxFiles, g)
	case o.PerPair < 1 || o.PerPair > 1000:
		return Usagef("--per-pair is %d, want 1 to 1000", o.PerPair)
	case o.Sentences < 0 || o.Sentences > len(listening.Sentences):
		return Usagef("--sentences is %d, want 0 to %d", o.Sentences, len(listening.Sentences))
	case o.Streams < 1:
		return Usagef("--streams is %d, want at least 1", o.Streams)
	}
	if err := g.check(); err != nil {
		return err
	}
	var err error
	if o.ValLo, o.ValHi, err = parseRange(o.ValIndex); err != nil {
		return err
	}
	if err := flagDir("--fsdd", o.FSDD, fsddWant); err != nil {
		return err
	}
	b, err := loadBundle(ctx, env, o.ModelDir)
	if err != nil {
		return err
	}
	if o.Guidance, o.Candidates, err = g.guided(b); err != nil {
		return err
	}
	o.Seed, o.Temperature, o.TopK, o.Greedy = g.seed, g.temp, g.topK, g.greedy
	o.Report = env.Stdout
	o.Progress = fileProgress(env, "samples")
	_, err = listening.Make(ctx, b, o)
	return err
}

// runSamplesVocoder is `wavenet samples --vocoder`: the settings of o
// that apply (Out, ModelDir, FSDD, ValIndex, Streams), the held-out
// recordings of the corpus data (listed by corp), at most maxFiles of
// them, vocoded with g's seed and temperature.
func runSamplesVocoder(ctx context.Context, env *Env, o listening.Options, data string, corp *corpusFlags, maxFiles int, g genFlags) error {
	if maxFiles < 0 {
		return Usagef("--max is %d, want 0 (all) or more", maxFiles)
	}
	if err := g.check(); err != nil {
		return err
	}
	temp := g.temp
	if g.greedy {
		temp = 0
	}
	if o.Streams < 1 {
		return Usagef("--streams is %d, want at least 1", o.Streams)
	}
	vo := listening.VocoderOptions{Out: o.Out, Data: data, ValIndex: o.ValIndex, Max: maxFiles, Seed: g.seed,
		FSDD: o.FSDD, Judge: o.Judge, Streams: o.Streams, Report: env.Stdout, Temperature: &temp}
	var err error
	if vo.ValLo, vo.ValHi, err = parseRange(o.ValIndex); err != nil {
		return err
	}
	if vo.Recordings, err = heldOutCopies(ctx, data, corp, vo.ValLo, vo.ValHi, o.FSDD != ""); err != nil {
		return err
	}
	if o.FSDD != "" {
		if err := flagDir("--fsdd", o.FSDD, fsddWant); err != nil {
			return err
		}
	}
	b, err := vocoderBundle(ctx, env, o.ModelDir)
	if err != nil {
		return err
	}
	vo.Progress = fileProgress(env, "samples")
	_, err = listening.MakeVocoder(ctx, b, vo)
	return err
}

// fsddWant is what --fsdd takes, for flagDir.
const fsddWant = "DIR, a directory of FSDD-named recordings"

// heldOutCopies lists the corpus at data (--data, listed by corp) and
// returns its held-out recordings (heldOut) as the copies of samples
// --vocoder, named by their paths in the corpus (folders joined by "_").
// The classifier's verdicts (judged) need digit and speaker labels.
func heldOutCopies(ctx context.Context, data string, corp *corpusFlags, lo, hi int, judged bool) ([]*listening.Copy, error) {
	l, err := corp.list(ctx, "--data", data)
	if err != nil {
		return nil, err
	}
	if judged {
		if err := l.Require("digit", "speaker"); err != nil {
			return nil, fmt.Errorf("--data %s: the classifier's verdicts compare digits and speakers (or give --fsdd \"\" for none): %w", data, err)
		}
	}
	var copies []*listening.Copy
	for _, f := range l.Files {
		if heldOut(l, f, lo, hi) {
			name := strings.ReplaceAll(strings.TrimSuffix(f.Name, path.Ext(f.Name)), "/", "_")
			copies = append(copies, &listening.Copy{Name: name, Path: f.Path, Digit: f.Labels["digit"], Speaker: f.Labels["speaker"]})
		}
	}
	if len(l.Files) == 0 {
		return nil, noRecordings("--data", data, l)
	}
	switch {
	case len(copies) > 0:
	case slices.Contains(l.LabelNames, "index"):
		return nil, Usagef("--data %s: none of its %d recordings has an index in --val-index %d-%d", data, len(l.Files), lo, hi)
	default:
		return nil, Usagef("--data %s: none of its %d recordings is in its validation split (%s); "+
			"an index label (a --pattern group (?P<index>...) or a manifest column index) lets --val-index choose them", data, len(l.Files), l.Split)
	}
	return copies, nil
}

// flagDir returns a usage error naming flag when dir, its value, is not a
// directory; want says what the flag takes, for the message.
func flagDir(flag, dir, want string) error {
	st, err := os.Stat(dir)
	where := ""
	if dir == defaultFSDD {
		where = " (the default, relative to the working directory)"
	}
	switch {
	case err != nil:
		return Usagef("%s %s%s: %v; give %s %s", flag, dir, where, errors.Unwrap(err), flag, want)
	case !st.IsDir():
		return Usagef("%s %s%s is not a directory; give %s %s", flag, dir, where, flag, want)
	}
	return nil
}

// vocoderBundle loads the vocoder of `samples --vocoder` from dir, or the
// embedded vocoder when dir is empty.
func vocoderBundle(ctx context.Context, env *Env, dir string) (*synth.Bundle, error) {
	if dir != "" {
		return loadBundle(ctx, env, dir)
	}
	m, err := loadVocoder(ctx, dir)
	if err != nil {
		return nil, err
	}
	return &synth.Bundle{Model: m}, nil
}

// fileProgress is a progress bar of files named name on env.Stderr, as
// the listening package's Progress calls it.
func fileProgress(env *Env, name string) func(done, total int) {
	var bar *progress.Bar
	return func(done, total int) {
		if bar == nil {
			bar = progress.New(env.Stderr, name, "files", int64(total))
		} else {
			bar.Add(1, "")
		}
		if done == total {
			bar.Finish()
		}
	}
}
