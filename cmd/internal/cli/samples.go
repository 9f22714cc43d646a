package cli

import (
	"context"
	"fmt"

	"github.com/wavenet-go/wavenet/internal/progress"
	"github.com/wavenet-go/wavenet/listening"
)

func runSamples(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "samples", "samples [--model DIR] --out samples/ [--seed N] [--per-pair N] [--fsdd DIR] [flags]")
	var o listening.Options
	var g genFlags
	fs.StringVar(&o.ModelDir, "model", "", "checkpoint directory (default: the embedded default model)")
	fs.StringVar(&o.Out, "out", "", "output directory (created; existing files of the same names are replaced)")
	fs.StringVar(&o.FSDD, "fsdd", defaultFSDD, "FSDD-style training recordings for the classifier (trained on indices outside --val-index)")
	fs.StringVar(&o.ValIndex, "val-index", "5-9", "FSDD indices held out from the classifier's training")
	fs.IntVar(&o.PerPair, "per-pair", 1, "samples per (speaker, digit), with fixed seeds (the evaluation uses 10)")
	fs.IntVar(&o.Sentences, "sentences", len(listening.Sentences), fmt.Sprintf("sentences per speaker (0 to %d)", len(listening.Sentences)))
	fs.IntVar(&o.Streams, "streams", 16, "streams generated together")
	fs.BoolVar(&o.PNG, "png", true, "write a spectrogram PNG per file (with --per-pair > 1, for the first sample of each pair only)")
	fs.BoolVar(&o.ZeroStart, "zero-start", false, "start each stream from zero history instead of a receptive field of silence codes (the trainer's left padding)")
	fs.BoolVar(&o.LevelInvariant, "level-invariant", false, "also peak-normalise the files before the classifier sees them (redundant now: the classifier's features are level-invariant; kept for old scripts)")
	g.register(fs, "base seed: sample k of (speaker s, digit d) uses seed + 1000k + 10s + d")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return Usagef("unexpected arguments %q", fs.Args())
	case o.Out == "":
		return Usagef("--out DIR is required")
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
	b, err := loadBundle(ctx, env, o.ModelDir)
	if err != nil {
		return err
	}
	if o.Guidance, o.Candidates, err = g.guided(b); err != nil {
		return err
	}
	o.Seed, o.Temperature, o.TopK, o.Greedy = g.seed, g.temp, g.topK, g.greedy
	o.Report = env.Stdout
	var bar *progress.Bar
	o.Progress = func(done, total int) {
		if bar == nil {
			bar = progress.New(env.Stderr, "samples", "files", int64(total))
		} else {
			bar.Add(1, "")
		}
		if done == total {
			bar.Finish()
		}
	}
	_, err = listening.Make(ctx, b, o)
	return err
}
