package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/wavenet"
)

func runAverage(ctx context.Context, env *Env, args []string) error {
	fl := NewFlagSet(env, "average", "average [--null] --out DIR CHECKPOINT_DIR...")
	out := fl.String("out", "", "model directory to write (config.json, model.safetensors, and the first checkpoint's speech.json if it has one)")
	null := fl.Bool("null", false, "set every condition's null row (added if missing) to the mean of its value rows (untrained; say --candidates scores attempts against it; see wavenet.Model.WithMeanNull); do not use it on a model trained with --cond-dropout")
	dirs, err := interspersed(fl, args)
	if err != nil {
		return err
	}
	if *out == "" || len(dirs) == 0 {
		return Usagef("--out and at least one checkpoint directory are required")
	}
	var ms []*wavenet.Model
	for _, dir := range dirs {
		if filepath.Clean(dir) == filepath.Clean(*out) {
			return Usagef("--out %s is also an input", *out)
		}
		m, err := wavenet.Load(ctx, dir)
		if err != nil {
			return err
		}
		ms = append(ms, m)
	}
	avg, err := wavenet.Average(ms...)
	if err != nil {
		return err
	}
	if *null {
		avg = avg.WithMeanNull()
	}
	extra := map[string][]byte{}
	stats, err := os.ReadFile(filepath.Join(dirs[0], speech.StatsFile))
	switch {
	case err == nil:
		extra[speech.StatsFile] = stats
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if err := wavenet.Save(ctx, *out, avg, extra); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "average: %s = mean of %d checkpoints\n", *out, len(ms))
	if *null {
		fmt.Fprintf(env.Stdout, "average: null rows added (the mean of each condition's value rows)\n")
	}
	return nil
}
