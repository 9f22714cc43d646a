package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/wavenet-go/wavenet/internal/progress"
	"github.com/wavenet-go/wavenet/rl"
)

func runRL(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return Usagef("rl needs a subcommand: train or eval")
	}
	switch args[0] {
	case "train":
		return runRLTrain(ctx, env, args[1:])
	case "eval":
		return runRLEval(ctx, env, args[1:])
	}
	return Usagef("unknown rl subcommand %q (allowed: train, eval)", args[0])
}

func runRLTrain(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "rl train", "rl train --env NAME --agent NAME --episodes N --seed S --out DIR")
	var cfg rl.RunConfig
	fs.StringVar(&cfg.Env, "env", "", "environment: "+strings.Join(append(rl.EnvNames(), "bandit", "tictactoe"), ", "))
	fs.StringVar(&cfg.Agent, "agent", "", "agent (see wavenet rl train -h)")
	fs.IntVar(&cfg.Episodes, "episodes", 1000, "training episodes (bandits: pulls; tictactoe: self-play games)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	fs.IntVar(&cfg.EvalEpisodes, "eval-episodes", 100, "greedy evaluation episodes at the end")
	out := fs.String("out", "", "run directory (summary.json, policy, learning-curve.png)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.Env == "" || cfg.Agent == "" || *out == "" {
		fs.Usage()
		var agents []string
		for a, e := range rl.AgentNames() {
			agents = append(agents, a+" ("+e+")")
		}
		return Usagef("--env, --agent and --out are required; agents: %s", strings.Join(agents, ", "))
	}
	bar := progress.New(env.Stderr, "rl train", "episodes", int64(cfg.Episodes))
	run, err := rl.Train(ctx, cfg, func(ep int, ret float64) {
		bar.Set(int64(ep+1), fmt.Sprintf("return %.1f", ret))
	})
	bar.Finish()
	if run == nil {
		return err
	}
	// An interrupted run still saves what it learned.
	if serr := run.Save(*out); serr != nil {
		return serr
	}
	ylabel, window := "return", 20
	if cfg.Env == "bandit" {
		ylabel, window = "cumulative regret", 1
	}
	if len(run.Summary.Returns) > 0 {
		if perr := rl.PlotCurves(filepath.Join(*out, "learning-curve.png"), cfg.Agent+" on "+cfg.Env, "episode", ylabel,
			[]rl.Curve{{Name: cfg.Agent, Y: run.Summary.Returns}}, window); perr != nil {
			return perr
		}
	}
	if err != nil {
		return err
	}
	b, _ := json.Marshal(map[string]any{"env": cfg.Env, "agent": cfg.Agent, "seed": cfg.Seed,
		"eval_mean": run.Summary.EvalMean, "eval_episodes": run.Summary.EvalEpisode,
		"wall_seconds": run.Summary.WallSecond, "out": *out})
	fmt.Fprintln(env.Stdout, string(b))
	return nil
}

func runRLEval(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "rl eval", "rl eval --run DIR --episodes N --seed S")
	dir := fs.String("run", "", "run directory written by rl train")
	n := fs.Int("episodes", 100, "evaluation episodes")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *n <= 0 {
		return Usagef("--run DIR and a positive --episodes are required")
	}
	run, err := rl.LoadRun(*dir)
	if err != nil {
		return err
	}
	if run.Policy == nil {
		return fmt.Errorf("rl eval: run %s (agent %s) has no policy to evaluate", *dir, run.Summary.Config.Agent)
	}
	mean, err := rl.Evaluate(ctx, run.Summary.Config.Env, run.Policy, *n, *seed)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "mean return %.4f over %d episodes (env %s, agent %s, seed %d)\n",
		mean, *n, run.Summary.Config.Env, run.Summary.Config.Agent, *seed)
	return nil
}
