package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"time"

	"github.com/wavenet-go/wavenet/classify"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/internal/progress"
)

const dataUsage = "data inspect [flags] DIR|MANIFEST"

func runData(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(env.Stderr, "usage: wavenet %s\n\nsubcommands:\n  inspect   report files, durations, labels, rates, clipping, silence and unreadable files\n", dataUsage)
		if len(args) == 0 {
			return Usagef("missing subcommand (want inspect)")
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "inspect":
		return runDataInspect(ctx, env, args[1:])
	}
	return Usagef("unknown data subcommand %q (want inspect)", args[0])
}

// corpusUsage is the help of a --data flag that reads a corpus.
const corpusUsage = "corpus: a folder tree of WAV/FLAC files (FSDD names {digit}_{speaker}_{index}.wav give the labels unless --pattern), an LJSpeech directory, or a .csv/.jsonl manifest (see --layout)"

// corpusFlags say how a corpus lists its files: the --layout, --pattern
// and --speaker-from-folder of every command that reads a corpus (data
// inspect, train, compress, score --baseline, say --calibrate, samples
// --vocoder, classify).
type corpusFlags struct {
	layout, pattern   string
	speakerFromFolder bool
}

func (f *corpusFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.layout, "layout", "auto", "corpus layout: auto (a manifest file, a directory with metadata.csv, else a folder tree), tree, ljspeech or manifest (.csv with a path column, or .jsonl)")
	fs.StringVar(&f.pattern, "pattern", "", "tree layout: regular expression over each file's relative path (else its base name); named groups become labels (default: FSDD names {digit}_{speaker}_{index}.wav or .flac)")
	fs.BoolVar(&f.speakerFromFolder, "speaker-from-folder", false, "tree layout: the speaker label is the first-level folder (VCTK: point --data at wav48)")
}

// options sets o's layout fields from the flags.
func (f *corpusFlags) options(o *corpus.Options) error {
	l, err := corpus.ParseLayout(f.layout)
	if err != nil {
		return Usagef("--layout: %v", err)
	}
	o.Layout, o.Pattern, o.SpeakerFromFolder = l, f.pattern, f.speakerFromFolder
	return nil
}

// list lists the corpus at path as the flags say (corpus.List); flag
// names the command's flag that gave path, for the error.
func (f *corpusFlags) list(ctx context.Context, flag, path string) (*corpus.Listing, error) {
	var o corpus.Options
	if err := f.options(&o); err != nil {
		return nil, err
	}
	l, err := corpus.List(ctx, path, o)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	return l, nil
}

// noRecordings is the error of a corpus listing l, read from path (the
// value of flag), that has no recordings: when its audio files all miss
// the pattern, how many there are and the pattern.
func noRecordings(flag, path string, l *corpus.Listing) error {
	if n := len(l.Unmatched); n > 0 {
		return Usagef("%s %s: %d audio files found (%s, ...), none matching the pattern %s", flag, path, n, l.Unmatched[0], l.Pattern)
	}
	return Usagef("%s %s has no WAV or FLAC recordings", flag, path)
}

// heldOut reports whether file f of l is held out for validation by the
// index range lo..hi (--val-index): its index label is in the range, or,
// for a corpus without index labels, the corpus's split puts it there.
func heldOut(l *corpus.Listing, f corpus.File, lo, hi int) bool {
	if slices.Contains(l.LabelNames, "index") {
		return classify.IndexIn(lo, hi, true)(f.Labels["index"])
	}
	return f.Validation
}

// inspectFlags are data inspect's options.
type inspectFlags struct {
	corpusFlags
	rate      int
	split     string
	trimDB    float64
	trimRelDB float64
	frameMS   float64
	silent    float64
	levels    int
	top       int
	workers   int
	noBar     bool
	directory string
}

func runDataInspect(ctx context.Context, env *Env, args []string) error {
	var f inspectFlags
	fs := NewFlagSet(env, "data inspect", "data inspect [flags] DIR")
	f.corpusFlags.register(fs)
	fs.IntVar(&f.rate, "rate", 0, "model sample rate in Hz to report sample counts at (0: the files' own rate)")
	fs.StringVar(&f.split, "split", "", "validation split: none, hash=PERCENT or LABEL=VALUES (default index=5-9 when the pattern has an index group, else hash=10)")
	fs.Float64Var(&f.trimDB, "trim-db", corpus.DefaultTrimDB, "absolute silence floor: frames with RMS below this level (dBFS) are silent")
	fs.Float64Var(&f.trimRelDB, "trim-rel-db", corpus.DefaultTrimRelDB, "relative silence threshold: frames this many dB below the file's loudest frame are silent (negative: off)")
	fs.Float64Var(&f.frameMS, "frame-ms", corpus.DefaultFrameMS, "frame length in milliseconds for the silence statistics")
	fs.Float64Var(&f.silent, "mostly-silent", 0.6, "report files with at least this fraction of silent frames")
	fs.IntVar(&f.levels, "levels", corpus.DefaultLevels, "mu-law quantization levels Q (for the in-memory size estimate)")
	fs.IntVar(&f.top, "top", 10, "list at most this many files per problem (0: all)")
	fs.IntVar(&f.workers, "workers", 0, "files decoded in parallel (0: one per CPU)")
	fs.BoolVar(&f.noBar, "quiet", false, "no progress output on standard error")
	pos, err := interspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return Usagef("want exactly one directory or manifest, got %d arguments (usage: wavenet %s)", len(pos), dataUsage)
	}
	f.directory = pos[0]
	opts := corpus.Options{SampleRate: f.rate, Levels: f.levels,
		TrimDB: f.trimDB, TrimRelDB: f.trimRelDB, FrameMS: f.frameMS, Workers: f.workers}
	if err := f.corpusFlags.options(&opts); err != nil {
		return err
	}
	if f.split != "" {
		if opts.Split, err = corpus.ParseSplit(f.split); err != nil {
			return Usagef("%v", err)
		}
	}
	if f.silent < 0 || f.silent > 1 {
		return Usagef("--mostly-silent %g: want a fraction from 0 to 1", f.silent)
	}
	var bar *progress.Bar
	if !f.noBar {
		opts.Progress = func(done, total int) {
			if bar == nil {
				bar = progress.New(env.Stderr, "inspect", "files", int64(total))
			}
			bar.Set(int64(done), "")
		}
	}
	start := time.Now()
	c, err := corpus.Load(ctx, f.directory, opts)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return fmt.Errorf("data inspect: %w", err)
	}
	if bar != nil {
		bar.Finish()
	}
	if !f.noBar {
		fmt.Fprintf(env.Stderr, "loaded %d files in %.2f s\n", len(c.Train)+len(c.Validation)+len(c.Failed), time.Since(start).Seconds())
	}
	return corpus.Inspect(c, corpus.InspectOptions{SampleRate: f.rate, MostlySilent: f.silent, Top: f.top}).WriteText(env.Stdout)
}
