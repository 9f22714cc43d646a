package cli

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/wavenet-go/wavenet/classify"
)

// defaultFSDD is where the shared corpus sits beside a checkout.
const defaultFSDD = "../shared/data/fsdd/train"

func parseRange(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		b = a
	}
	if lo, err = strconv.Atoi(a); err == nil {
		hi, err = strconv.Atoi(b)
	}
	if err != nil || lo > hi {
		return 0, 0, Usagef("index range %q: want LO-HI, e.g. 5-9", s)
	}
	return lo, hi, nil
}

func runEval(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "eval", "eval [--train DIR] [--val-index 5-9] [--verbose] [DIR...]")
	train := fs.String("train", defaultFSDD, "FSDD-style training recordings: the classifier trains on files outside --val-index")
	val := fs.String("val-index", "5-9", "FSDD indices held out as validation (never trained on)")
	verbose := fs.Bool("verbose", false, "print every file's verdict")
	if err := fs.Parse(args); err != nil {
		return err
	}
	lo, hi, err := parseRange(*val)
	if err != nil {
		return err
	}
	trainEx, _, _, err := classify.LoadDir(ctx, *train, classify.IndexIn(lo, hi, false))
	if err != nil {
		return err
	}
	valEx, valNames, _, err := classify.LoadDir(ctx, *train, classify.IndexIn(lo, hi, true))
	if err != nil {
		return err
	}
	c, err := classify.Train(ctx, trainEx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "classifier: MFCC + logistic regression, trained on %d recordings of %s (indices outside %d-%d)\n",
		len(trainEx), *train, lo, hi)
	rep, err := c.Evaluate(valEx, valNames)
	if err != nil {
		return err
	}
	printReport(env, "validation recordings (indices "+*val+")", rep, *verbose)
	for _, dir := range fs.Args() {
		ex, names, skipped, err := classify.LoadDir(ctx, dir, nil)
		if err != nil {
			return err
		}
		if len(skipped) > 0 {
			fmt.Fprintf(env.Stderr, "eval: %s: skipped %d files not named {digit}_{speaker}_*.wav: %s\n",
				dir, len(skipped), strings.Join(skipped[:min(5, len(skipped))], ", "))
		}
		rep, err := c.Evaluate(ex, names)
		if err != nil {
			return err
		}
		printReport(env, dir, rep, *verbose)
	}
	return nil
}

func printReport(env *Env, title string, rep *classify.Report, verbose bool) {
	fmt.Fprintf(env.Stdout, "\n%s: %d files, digit recognised %.1f%%, speaker recognised %.1f%%\n",
		title, rep.Files, 100*rep.DigitAccuracy(), 100*rep.SpeakerAccuracy())
	var speakers []string
	for s := range rep.PerSpeaker {
		speakers = append(speakers, s)
	}
	sort.Strings(speakers)
	for _, s := range speakers {
		ps := rep.PerSpeaker[s]
		sp := 0
		for _, r := range rep.Results {
			if r.Speaker == s && r.SpeakerOK {
				sp++
			}
		}
		fmt.Fprintf(env.Stdout, "  %-10s %3d files  digit %5.1f%%  speaker %5.1f%%\n", s, ps[1],
			100*float64(ps[0])/float64(ps[1]), 100*float64(sp)/float64(ps[1]))
	}
	if verbose {
		for _, r := range rep.Results {
			verdict := fmt.Sprintf("heard %s (p=%.2f) by %s (p=%.2f)", r.Pred.Digit, r.Pred.DigitProb, r.Pred.Speaker, r.Pred.SpeakerProb)
			if r.Err != nil {
				verdict = "error: " + r.Err.Error()
			}
			fmt.Fprintf(env.Stdout, "  %-28s %s\n", r.Name, verdict)
		}
	}
}
