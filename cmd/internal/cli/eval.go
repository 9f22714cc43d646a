package cli

import (
	"context"
	"fmt"
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
	if err := rep.WriteText(env.Stdout, "validation recordings (indices "+*val+")", *verbose); err != nil {
		return err
	}
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
		if err := rep.WriteText(env.Stdout, dir, *verbose); err != nil {
			return err
		}
	}
	return nil
}
