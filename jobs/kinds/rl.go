package kinds

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/rl"
)

// MaxRLEpisodes bounds the training episodes of one rl job.
const MaxRLEpisodes = 1_000_000

// RLRequest is an rl job: an agent trained on an environment (the
// fields of rl.RunConfig, as POST /v1/rl/runs takes them). The run's
// summary.json, policy and curve.png are the outputs run/...; a
// redelivered rl job runs again from the start (the seed makes it the
// same run).
type RLRequest = rl.RunConfig

// RLResult is the result of an rl job.
type RLResult struct {
	Episodes int     `json:"episodes"`
	EvalMean float64 `json:"eval_mean"`
	SolvedAt int     `json:"solved_at"`
}

func checkRL(r RLRequest) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrRequest, err)
	}
	if r.Episodes > MaxRLEpisodes || r.EvalEpisodes < 0 || r.EvalEpisodes > 100_000 {
		return badRequest(RL, "episodes %d and eval_episodes %d: want at most %d and 0 to 100000", r.Episodes, r.EvalEpisodes, MaxRLEpisodes)
	}
	return nil
}

func (o Options) rl(ctx context.Context, t *jobs.Task) error {
	var r RLRequest
	if err := t.Decode(&r); err != nil {
		return fmt.Errorf("%w: %w", ErrRequest, err)
	}
	if err := checkRL(r); err != nil {
		return err
	}
	run, err := rl.Train(ctx, r, func(ep int, _ float64) {
		_ = t.Progress(ctx, fmt.Sprintf("episode %d of %d", ep+1, r.Episodes), float64(ep+1)/float64(r.Episodes))
	})
	if errors.Is(err, rl.ErrBadConfig) {
		return fmt.Errorf("%w: %w", ErrRequest, err)
	}
	if err != nil {
		return err
	}
	dir, err := o.tempDir("rl-" + t.ID)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := run.Save(dir); err != nil {
		return err
	}
	s := run.Summary
	if err := rl.PlotCurves(dir+"/curve.png", r.Agent+" on "+r.Env, "episode", "return", []rl.Curve{{Name: r.Agent, Y: s.Returns}}, 20); err != nil {
		return err
	}
	out := dirSync{t: t, prefix: RunPrefix, dir: dir}
	if err := out.sync(ctx); err != nil {
		return err
	}
	return t.SetResult(RLResult{Episodes: len(s.Returns), EvalMean: s.EvalMean, SolvedAt: s.SolvedAt})
}
