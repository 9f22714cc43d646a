package rl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// RunConfig names what to train.
type RunConfig struct {
	Env      string `json:"env"`
	Agent    string `json:"agent"`
	Episodes int    `json:"episodes"`
	Seed     uint64 `json:"seed"`
	// EvalEpisodes is how many greedy episodes the final evaluation runs.
	EvalEpisodes int `json:"eval_episodes"`
}

// Summary is what a run reports: its learning curve and final evaluation.
type Summary struct {
	Config RunConfig `json:"config"`
	// Returns is the return of each training episode (for bandits: the
	// cumulative regret after each pull).
	Returns     []float64 `json:"returns"`
	EvalMean    float64   `json:"eval_mean"`
	EvalEpisode int       `json:"eval_episodes"`
	// SolvedAt is the first training episode after which the evaluation
	// criterion held, or -1.
	SolvedAt   int     `json:"solved_at"`
	WallSecond float64 `json:"wall_seconds"`
}

// Policy maps observations to actions.
type Policy interface {
	Act(obs []float64) (int, error)
}

// Run is a finished (or interrupted) training run.
type Run struct {
	Summary Summary
	Policy  Policy
}

// Trainer trains one kind of agent. Registered trainers: see AgentNames.
type Trainer func(ctx context.Context, cfg RunConfig, progress func(episode int, ret float64)) (*Run, error)

var trainers = map[string]Trainer{
	"dqn": trainDQN,
	"reinforce": func(ctx context.Context, cfg RunConfig, progress func(int, float64)) (*Run, error) {
		return TrainPG(ctx, cfg, DefaultPG(), false, progress)
	},
	"alphazero": func(ctx context.Context, cfg RunConfig, progress func(int, float64)) (*Run, error) {
		return TrainZero(ctx, cfg, DefaultZero(), progress)
	},
	"actor-critic": func(ctx context.Context, cfg RunConfig, progress func(int, float64)) (*Run, error) {
		return TrainPG(ctx, cfg, DefaultPG(), true, progress)
	},
}

// AgentNames lists the agents Train accepts, with their environments.
func AgentNames() map[string]string {
	return map[string]string{
		"q-learning":      "FrozenLake*",
		"sarsa":           "FrozenLake*",
		"value-iteration": "FrozenLake*",
		"epsilon-greedy":  "bandit",
		"ucb1":            "bandit",
		"thompson":        "bandit",
		"dqn":             "CartPole-v1",
		"reinforce":       "CartPole-v1",
		"actor-critic":    "CartPole-v1",
		"alphazero":       "tictactoe",
	}
}

// Validate checks that the environment and agent exist and fit together.
func (c RunConfig) Validate() error {
	envs, ok := AgentNames()[c.Agent]
	if !ok {
		return fmt.Errorf("%w: unknown agent %q (allowed, with their environments: %v)", ErrBadConfig, c.Agent, AgentNames())
	}
	known := c.Env == "bandit" || c.Env == "tictactoe"
	if !known {
		_, err := NewEnv(c.Env)
		known = err == nil
	}
	if !known {
		return fmt.Errorf("%w: unknown environment %q (allowed: %v, bandit, tictactoe)", ErrBadConfig, c.Env, EnvNames())
	}
	fits := c.Env == envs || (strings.HasSuffix(envs, "*") && strings.HasPrefix(c.Env, strings.TrimSuffix(envs, "*")))
	if !fits {
		return fmt.Errorf("%w: agent %s runs on %s, not on %s", ErrBadConfig, c.Agent, envs, c.Env)
	}
	if c.Episodes <= 0 {
		return fmt.Errorf("%w: episodes must be positive, got %d", ErrBadConfig, c.Episodes)
	}
	return nil
}

// ErrBadConfig marks a run configuration that names an unknown environment
// or agent, or an agent that does not fit the environment.
var ErrBadConfig = errors.New("rl: bad run config")

// Train runs cfg. progress, if not nil, is called after each episode.
func Train(ctx context.Context, cfg RunConfig, progress func(episode int, ret float64)) (*Run, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.EvalEpisodes <= 0 {
		cfg.EvalEpisodes = 100
	}
	start := time.Now()
	var run *Run
	var err error
	switch cfg.Agent {
	case "q-learning", "sarsa", "value-iteration":
		run, err = trainTabular(ctx, cfg, progress)
	case "epsilon-greedy", "ucb1", "thompson":
		run, err = trainBandit(cfg)
	default:
		t, ok := trainers[cfg.Agent]
		if !ok {
			return nil, fmt.Errorf("%w: unknown agent %q (allowed: %v)", ErrBadConfig, cfg.Agent, AgentNames())
		}
		run, err = t(ctx, cfg, progress)
	}
	if run != nil {
		run.Summary.Config = cfg
		run.Summary.WallSecond = time.Since(start).Seconds()
	}
	return run, err
}

func discreteEnv(name string) (DiscreteEnv, error) {
	e, err := NewEnv(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadConfig, err)
	}
	d, ok := e.(DiscreteEnv)
	if !ok {
		return nil, fmt.Errorf("%w: tabular agents need a discrete environment (FrozenLake), not %s", ErrBadConfig, name)
	}
	return d, nil
}

// TablePolicy acts greedily on a table of actions per state; observations
// are one-hot state vectors.
type TablePolicy struct {
	Actions []int       `json:"actions"`
	Q       [][]float64 `json:"q,omitempty"`
}

func (p *TablePolicy) Act(obs []float64) (int, error) {
	if len(obs) != len(p.Actions) {
		return 0, fmt.Errorf("rl: observation has %d values, want a one-hot vector of %d states", len(obs), len(p.Actions))
	}
	s := -1
	for i, v := range obs {
		if v != 0 && v != 1 {
			return 0, fmt.Errorf("rl: observation[%d] = %v, want 0 or 1 (one-hot state)", i, v)
		}
		if v == 1 {
			if s >= 0 {
				return 0, fmt.Errorf("rl: observation has more than one 1, want one-hot")
			}
			s = i
		}
	}
	if s < 0 {
		return 0, fmt.Errorf("rl: observation has no 1, want one-hot")
	}
	return p.Actions[s], nil
}

func trainTabular(ctx context.Context, cfg RunConfig, progress func(int, float64)) (*Run, error) {
	env, err := discreteEnv(cfg.Env)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	run := &Run{Summary: Summary{SolvedAt: -1}}
	var pol *TablePolicy
	if cfg.Agent == "value-iteration" {
		_, actions := ValueIteration(env, 0.99, 1e-10, 100000)
		pol = &TablePolicy{Actions: actions}
	} else {
		tab, err := TrainTabular(ctx, env, TabularConfig{
			Episodes: cfg.Episodes, Alpha: 0.05, Gamma: 0.99, EpsStart: 1, EpsEnd: 0.05,
			SARSA: cfg.Agent == "sarsa",
			OnEpisode: func(ep int, ret float64) {
				run.Summary.Returns = append(run.Summary.Returns, ret)
				if progress != nil {
					progress(ep, ret)
				}
			},
		}, rng)
		if tab == nil {
			return nil, err
		}
		pol = &TablePolicy{Actions: tab.Policy(), Q: tab.Q}
		if err != nil {
			run.Policy = pol
			return run, err
		}
	}
	run.Policy = pol
	mean, err := EvaluatePolicy(env, pol.Actions, cfg.EvalEpisodes, rand.New(rand.NewPCG(cfg.Seed, 1)))
	run.Summary.EvalMean, run.Summary.EvalEpisode = mean, cfg.EvalEpisodes
	return run, err
}

// DefaultBandit is the campaign-targeting bandit of the curriculum: four
// customer segments with offer take-up rates 0.2, 0.4, 0.6 and 0.8.
func DefaultBandit() Bandit {
	return Bandit{Arms: []Arm{Bernoulli{0.2}, Bernoulli{0.4}, Bernoulli{0.6}, Bernoulli{0.8}}}
}

func trainBandit(cfg RunConfig) (*Run, error) {
	if cfg.Env != "bandit" {
		return nil, fmt.Errorf("%w: bandit agents run on env \"bandit\", not %q", ErrBadConfig, cfg.Env)
	}
	b := DefaultBandit()
	a, err := NewBanditAgent(cfg.Agent, len(b.Arms), false)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadConfig, err)
	}
	regret := RunBandit(b, a, cfg.Episodes, rand.New(rand.NewPCG(cfg.Seed, 2)))
	return &Run{Summary: Summary{Returns: regret, EvalMean: regret[len(regret)-1], SolvedAt: -1}}, nil
}

// Save writes summary.json and policy.json into dir (created if needed).
func (r *Run) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("rl: save run: %w", err)
	}
	if err := writeJSON(filepath.Join(dir, "summary.json"), r.Summary); err != nil {
		return err
	}
	if r.Policy == nil {
		return nil
	}
	if s, ok := r.Policy.(interface{ Save(dir string) error }); ok {
		return s.Save(dir)
	}
	return writeJSON(filepath.Join(dir, "policy.json"), r.Policy)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("rl: encode %s: %w", filepath.Base(path), err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("rl: write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// policyLoaders load the policy of an agent kind from a run directory.
var policyLoaders = map[string]func(dir string) (Policy, error){
	"dqn":          loadNetPolicy,
	"reinforce":    loadNetPolicy,
	"actor-critic": loadNetPolicy,
	"alphazero":    loadZeroPolicy,
}

// LoadRun reads a run directory written by Save.
func LoadRun(dir string) (*Run, error) {
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		return nil, fmt.Errorf("rl: load run: %w", err)
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("rl: load run %s: summary.json: %w", dir, err)
	}
	r := &Run{Summary: s}
	if load, ok := policyLoaders[s.Config.Agent]; ok {
		r.Policy, err = load(dir)
		return r, err
	}
	switch s.Config.Agent {
	case "q-learning", "sarsa", "value-iteration":
		b, err := os.ReadFile(filepath.Join(dir, "policy.json"))
		if err != nil {
			return nil, fmt.Errorf("rl: load run: %w", err)
		}
		var p TablePolicy
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("rl: load run %s: policy.json: %w", dir, err)
		}
		r.Policy = &p
	case "epsilon-greedy", "ucb1", "thompson":
		// Bandit runs keep only their regret curve.
	default:
		return nil, fmt.Errorf("rl: load run %s: unknown agent %q in summary.json", dir, s.Config.Agent)
	}
	return r, nil
}

// Evaluate runs a policy greedily on a fresh environment for n episodes and
// returns the mean return.
//
// For "tictactoe" the policy plays n games against the perfect minimax
// player (half as X) and the mean is (wins - losses) / n: 0 means it never
// lost.
func Evaluate(ctx context.Context, envName string, p Policy, n int, seed uint64) (float64, error) {
	if envName == "tictactoe" {
		zp, ok := p.(*ZeroPolicy)
		if !ok {
			return 0, fmt.Errorf("rl: tictactoe is evaluated with an alphazero policy, not %T", p)
		}
		w, _, l, err := PlayMinimax(ctx, zp, n, seed)
		return float64(w-l) / float64(n), err
	}
	env, err := NewEnv(envName)
	if err != nil {
		return 0, err
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	total := 0.0
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		obs := env.Reset(rng)
		for {
			a, err := p.Act(obs)
			if err != nil {
				return 0, err
			}
			var r float64
			var term, trunc bool
			obs, r, term, trunc, err = env.Step(a)
			if err != nil {
				return 0, err
			}
			total += r
			if term || trunc {
				break
			}
		}
	}
	return total / float64(n), nil
}
