package rl

import (
	"context"
	"fmt"
	"math/rand/v2"

	"gorgonia.org/gorgonia"

	"github.com/wavenet-go/wavenet/nn"
)

// DQNConfig holds DQN's hyperparameters (Mnih et al. 2015, "Human-level
// control through deep reinforcement learning"): experience replay, a
// target network copied every TargetEvery steps, Huber loss on the TD
// error, epsilon-greedy exploration decaying linearly.
type DQNConfig struct {
	Hidden       []int
	Batch        int
	Buffer       int
	LearnStart   int
	Gamma        float64
	LR           float64
	EpsStart     float64
	EpsEnd       float64
	EpsSteps     int
	TargetEvery  int     // hard target copies every so many steps (when Tau is 0)
	Tau          float64 // soft target update rate per training step (Polyak averaging), 0 for hard copies
	Double       bool    // Double DQN targets (van Hasselt et al. 2016)
	TrainEvery   int
	GradClipNorm float64
}

// DefaultDQN is tuned for CartPole-v1.
func DefaultDQN() DQNConfig {
	return DQNConfig{Hidden: []int{64, 64}, Batch: 64, Buffer: 50000, LearnStart: 1000, Gamma: 0.99,
		LR: 1e-3, EpsStart: 1, EpsEnd: 0.01, EpsSteps: 10000, TargetEvery: 500, Tau: 0.005, Double: true,
		TrainEvery: 1, GradClipNorm: 10}
}

type replay struct {
	obs, next []float32
	act       []int
	rew       []float32
	done      []bool
	n, pos    int
	dim       int
}

func newReplay(size, dim int) *replay {
	return &replay{obs: make([]float32, size*dim), next: make([]float32, size*dim), act: make([]int, size),
		rew: make([]float32, size), done: make([]bool, size), dim: dim}
}

func (r *replay) add(obs []float64, a int, rew float64, next []float64, done bool) {
	i := r.pos
	for j := 0; j < r.dim; j++ {
		r.obs[i*r.dim+j] = float32(obs[j])
		r.next[i*r.dim+j] = float32(next[j])
	}
	r.act[i], r.rew[i], r.done[i] = a, float32(rew), done
	r.pos = (r.pos + 1) % len(r.act)
	r.n = min(r.n+1, len(r.act))
}

// evaluator runs greedy evaluations for early stopping: every check
// episodes, a quick screen of 10 episodes, and when it averages at least
// the goal, a full evaluation of n episodes.
type evaluator struct {
	env   string
	goal  float64
	n     int
	seed  uint64
	calls uint64
}

func (e *evaluator) solved(ctx context.Context, p Policy) (bool, float64, error) {
	e.calls++
	quick, err := Evaluate(ctx, e.env, p, 10, e.seed+e.calls*7919)
	if err != nil || quick < e.goal {
		return false, quick, err
	}
	full, err := Evaluate(ctx, e.env, p, e.n, e.seed+e.calls*7919+1)
	return full >= e.goal, full, err
}

// episodeEnd records an episode's return and, when the return reaches the
// goal and the agent may be judged (ready), runs the evaluations; done
// means the run is solved and the summary filled in.
func (e *evaluator) episodeEnd(ctx context.Context, run *Run, p Policy, ep int, ret float64, ready bool, progress func(int, float64)) (done bool, err error) {
	run.Summary.Returns = append(run.Summary.Returns, ret)
	if progress != nil {
		progress(ep, ret)
	}
	if ret < e.goal || !ready {
		return false, nil
	}
	ok, mean, err := e.solved(ctx, p)
	if err != nil || !ok {
		return false, err
	}
	run.Summary.SolvedAt, run.Summary.EvalMean, run.Summary.EvalEpisode = ep, mean, e.n
	return true, nil
}

// final evaluates the policy at the end of an unsolved run.
func (e *evaluator) final(ctx context.Context, run *Run, p Policy) error {
	mean, err := Evaluate(ctx, e.env, p, e.n, e.seed+1)
	run.Summary.EvalMean, run.Summary.EvalEpisode = mean, e.n
	return err
}

func trainDQN(ctx context.Context, cfg RunConfig, progress func(int, float64)) (*Run, error) {
	return TrainDQN(ctx, cfg, DefaultDQN(), progress)
}

// TrainDQN trains a DQN agent; it stops early once the greedy policy's mean
// return over cfg.EvalEpisodes episodes reaches 475 (CartPole-v1's solved
// threshold), and keeps that policy.
func TrainDQN(ctx context.Context, cfg RunConfig, h DQNConfig, progress func(int, float64)) (*Run, error) {
	env, err := NewEnv(cfg.Env)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xd9e))
	sizes := append(append([]int{env.ObsSize()}, h.Hidden...), env.NumActions())
	q, err := nn.NewMLP("q", sizes, nn.ActReLU, nn.ActLinear, rng)
	if err != nil {
		return nil, err
	}
	target := q.Clone("target")
	g := gorgonia.NewGraph()
	x := newInput(g, "obs", h.Batch, env.ObsSize())
	mask := newInput(g, "mask", h.Batch, env.NumActions())
	y := newInput(g, "y", h.Batch)
	out, params, err := q.Build(x.node)
	if err != nil {
		return nil, err
	}
	sel, err := gorgonia.HadamardProd(out, mask.node)
	if err != nil {
		return nil, fmt.Errorf("rl: dqn graph: %w", err)
	}
	qsa, err := gorgonia.Sum(sel, 1)
	if err != nil {
		return nil, fmt.Errorf("rl: dqn graph: %w", err)
	}
	loss, err := nn.Huber(qsa, y.node, 1)
	if err != nil {
		return nil, err
	}
	m, err := nn.NewMachine(loss, params)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	opt := nn.NewAdam(0.9, 0.999, 1e-8, 0)
	buf := newReplay(h.Buffer, env.ObsSize())
	tq := make([]float32, h.Batch*env.NumActions())
	var oq []float32
	nextBatch := make([]float32, h.Batch*env.ObsSize())
	idx := make([]int, h.Batch)
	pol := &NetPolicy{Agent: "dqn", Net: q}
	ev := &evaluator{env: cfg.Env, goal: 475, n: cfg.EvalEpisodes, seed: cfg.Seed}
	run := &Run{Summary: Summary{Config: cfg, SolvedAt: -1}, Policy: pol}
	steps := 0
	qvals := make([]float32, env.NumActions())
	in := make([]float32, env.ObsSize())
	for ep := 0; ep < cfg.Episodes; ep++ {
		if ctx.Err() != nil {
			return run, ctx.Err()
		}
		obs := env.Reset(rng)
		ret := 0.0
		for {
			eps := h.EpsEnd
			if steps < h.EpsSteps {
				eps = h.EpsStart + (h.EpsEnd-h.EpsStart)*float64(steps)/float64(h.EpsSteps)
			}
			var a int
			if rng.Float64() < eps {
				a = rng.IntN(env.NumActions())
			} else {
				for j, v := range obs {
					in[j] = float32(v)
				}
				qvals = q.Forward(qvals, in)
				for j, v := range qvals {
					if v > qvals[a] {
						a = j
					}
				}
			}
			next, r, term, trunc, err := env.Step(a)
			if err != nil {
				return run, err
			}
			buf.add(obs, a, r, next, term)
			obs = next
			ret += r
			steps++
			if buf.n >= h.LearnStart && steps%h.TrainEvery == 0 {
				for i := range idx {
					idx[i] = rng.IntN(buf.n)
				}
				d := buf.dim
				for i, k := range idx {
					copy(x.data[i*d:(i+1)*d], buf.obs[k*d:(k+1)*d])
					copy(nextBatch[i*d:(i+1)*d], buf.next[k*d:(k+1)*d])
				}
				tq = target.ForwardBatch(tq, nextBatch, h.Batch)
				na := env.NumActions()
				if h.Double {
					oq = q.ForwardBatch(oq, nextBatch, h.Batch)
				}
				for i, k := range idx {
					best := tq[i*na]
					if h.Double {
						// Evaluate the online network's choice with the target network.
						arg := 0
						for j := 1; j < na; j++ {
							if oq[i*na+j] > oq[i*na+arg] {
								arg = j
							}
						}
						best = tq[i*na+arg]
					} else {
						for j := 1; j < na; j++ {
							best = max(best, tq[i*na+j])
						}
					}
					yv := buf.rew[k]
					if !buf.done[k] {
						yv += float32(h.Gamma) * best
					}
					y.data[i] = yv
					for j := 0; j < na; j++ {
						mask.data[i*na+j] = 0
					}
					mask.data[i*na+buf.act[k]] = 1
				}
				if _, err := m.Run(); err != nil {
					return run, err
				}
				ps := m.Params()
				if h.GradClipNorm > 0 {
					nn.ClipGlobalNorm(ps, h.GradClipNorm)
				}
				if err := opt.Step(ps, h.LR); err != nil {
					return run, err
				}
				if h.Tau > 0 {
					softUpdate(target, q, float32(h.Tau))
				}
			}
			if h.Tau == 0 && steps%h.TargetEvery == 0 {
				if err := target.CopyFrom(q); err != nil {
					return run, err
				}
			}
			if term || trunc {
				break
			}
		}
		done, err := ev.episodeEnd(ctx, run, pol, ep, ret, buf.n >= h.LearnStart, progress)
		if done || err != nil {
			return run, err
		}
	}
	return run, ev.final(ctx, run, pol)
}

// softUpdate moves target towards online: t = (1 - tau) t + tau o.
func softUpdate(target, online *nn.MLP, tau float32) {
	for i := range target.Layers {
		tl, ol := &target.Layers[i], &online.Layers[i]
		for j, v := range ol.W {
			tl.W[j] += tau * (v - tl.W[j])
		}
		for j, v := range ol.B {
			tl.B[j] += tau * (v - tl.B[j])
		}
	}
}
