package rl

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"

	"github.com/wavenet-go/wavenet/nn"
)

// PGConfig holds the hyperparameters of the policy-gradient agents.
type PGConfig struct {
	Hidden    []int
	Gamma     float64
	Lambda    float64 // GAE lambda for actor-critic
	PolicyLR  float64
	ValueLR   float64
	ValueCoef float64
	MaxSteps  int // the graph's fixed episode capacity
	Normalize bool
}

// DefaultPG is tuned for CartPole-v1.
func DefaultPG() PGConfig {
	return PGConfig{Hidden: []int{64}, Gamma: 0.99, Lambda: 0.95, PolicyLR: 5e-3, ValueLR: 1e-2,
		ValueCoef: 1, MaxSteps: 500, Normalize: true}
}

// TrainPG trains REINFORCE with a learned baseline (Williams 1992; Sutton
// and Barto ch. 13.4: the policy-gradient theorem, ascending the expected
// return with the gradient of log pi(a|s) times the return minus a
// state-value baseline) or, with actorCritic, an advantage actor-critic
// whose advantages are generalised advantage estimates (Schulman et al.
// 2016) from the learned critic. One update per episode; early stopping as
// TrainDQN.
func TrainPG(ctx context.Context, cfg RunConfig, h PGConfig, actorCritic bool, progress func(int, float64)) (*Run, error) {
	env, err := NewEnv(cfg.Env)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x96))
	nObs, nAct := env.ObsSize(), env.NumActions()
	pi, err := nn.NewMLP("pi", append(append([]int{nObs}, h.Hidden...), nAct), nn.ActTanh, nn.ActLinear, rng)
	if err != nil {
		return nil, err
	}
	vf, err := nn.NewMLP("v", append(append([]int{nObs}, h.Hidden...), 1), nn.ActTanh, nn.ActLinear, rng)
	if err != nil {
		return nil, err
	}
	T := h.MaxSteps
	g := gorgonia.NewGraph()
	x := newInput(g, "obs", T, nObs)
	coef := newInput(g, "coef", T, nAct) // one-hot action times -advantage/n
	vt := newInput(g, "vtarget", T, 1)
	vm := newInput(g, "vmask", T, 1) // 1/n on valid rows, 0 on padding
	logits, piParams, err := pi.Build(x.node)
	if err != nil {
		return nil, err
	}
	vout, vParams, err := vf.Build(x.node)
	if err != nil {
		return nil, err
	}
	loss, err := pgLoss(logits, coef.node, vout, vt.node, vm.node, h.ValueCoef)
	if err != nil {
		return nil, err
	}
	m, err := nn.NewMachine(loss, append(append([]*gorgonia.Node{}, piParams...), vParams...))
	if err != nil {
		return nil, err
	}
	defer m.Close()
	piOpt, vOpt := nn.NewAdam(0.9, 0.999, 1e-8, 0), nn.NewAdam(0.9, 0.999, 1e-8, 0)
	agent := "reinforce"
	if actorCritic {
		agent = "actor-critic"
	}
	pol := &NetPolicy{Agent: agent, Net: pi}
	run := &Run{Summary: Summary{Config: cfg, SolvedAt: -1}, Policy: pol}
	ev := &evaluator{env: cfg.Env, goal: 475, n: cfg.EvalEpisodes, seed: cfg.Seed}
	var obsBuf []float32
	var acts []int
	var rews []float64
	probs := make([]float32, nAct)
	vals := make([]float32, T+1)
	for ep := 0; ep < cfg.Episodes; ep++ {
		if ctx.Err() != nil {
			return run, ctx.Err()
		}
		obs := env.Reset(rng)
		obsBuf, acts, rews = obsBuf[:0], acts[:0], rews[:0]
		truncated := false
		for len(acts) < T {
			start := len(obsBuf)
			for _, v := range obs {
				obsBuf = append(obsBuf, float32(v))
			}
			probs = pi.Forward(probs, obsBuf[start:])
			nn.Softmax(probs, probs)
			a, u := nAct-1, float32(rng.Float64())
			for j, p := range probs {
				if u < p {
					a = j
					break
				}
				u -= p
			}
			next, r, term, trunc, err := env.Step(a)
			if err != nil {
				return run, err
			}
			acts, rews = append(acts, a), append(rews, r)
			obs = next
			if term || trunc {
				truncated = trunc
				break
			}
		}
		n := len(acts)
		ret := 0.0
		for _, r := range rews {
			ret += r
		}
		// Values of the visited states (and the state after the last, for
		// bootstrapping a truncated episode).
		copy(x.data, obsBuf)
		clear(x.data[len(obsBuf):])
		vals = vf.ForwardBatch(vals[:0], x.data, n)
		last := float32(0)
		if truncated {
			o := make([]float32, nObs)
			for j, v := range obs {
				o[j] = float32(v)
			}
			last = vf.Forward(nil, o)[0]
		}
		adv := make([]float64, n)
		target := make([]float64, n)
		if actorCritic {
			gae := 0.0
			for t := n - 1; t >= 0; t-- {
				nextV := float64(last)
				if t+1 < n {
					nextV = float64(vals[t+1])
				}
				delta := rews[t] + h.Gamma*nextV - float64(vals[t])
				gae = delta + h.Gamma*h.Lambda*gae
				adv[t] = gae
				target[t] = gae + float64(vals[t])
			}
		} else {
			G := float64(last)
			for t := n - 1; t >= 0; t-- {
				G = rews[t] + h.Gamma*G
				target[t] = G
				adv[t] = G - float64(vals[t])
			}
		}
		if h.Normalize && n > 1 {
			mean, sq := 0.0, 0.0
			for _, a := range adv {
				mean += a / float64(n)
			}
			for _, a := range adv {
				sq += (a - mean) * (a - mean) / float64(n)
			}
			sd := math.Sqrt(sq) + 1e-8
			for t := range adv {
				adv[t] = (adv[t] - mean) / sd
			}
		}
		clear(coef.data)
		clear(vm.data)
		clear(vt.data)
		for t := 0; t < n; t++ {
			coef.data[t*nAct+acts[t]] = float32(-adv[t] / float64(n))
			vt.data[t] = float32(target[t])
			vm.data[t] = float32(1 / float64(n))
		}
		if _, err := m.Run(); err != nil {
			return run, err
		}
		ps := m.Params()
		np := len(piParams)
		if err := piOpt.Step(ps[:np], h.PolicyLR); err != nil {
			return run, err
		}
		if err := vOpt.Step(ps[np:], h.ValueLR); err != nil {
			return run, err
		}
		done, err := ev.episodeEnd(ctx, run, pol, ep, ret, true, progress)
		if done || err != nil {
			return run, err
		}
	}
	return run, ev.final(ctx, run, pol)
}

// pgLoss is sum(log_softmax(logits) * coef) + c * sum(vmask * (v - vt)^2):
// the policy-gradient surrogate (coef holds -advantage/n at the action
// taken) plus the critic's mean squared error.
func pgLoss(logits, coef, v, vt, vmask *gorgonia.Node, c float64) (*gorgonia.Node, error) {
	logp, err := nn.LogSoftmaxRows(logits)
	if err != nil {
		return nil, err
	}
	wrap := func(n *gorgonia.Node, err error) *gorgonia.Node {
		if err != nil {
			panic(err) // shapes are fixed by TrainPG: a programmer mistake
		}
		return n
	}
	pl := wrap(gorgonia.Sum(wrap(gorgonia.HadamardProd(logp, coef))))
	d := wrap(gorgonia.Sub(v, vt))
	vl := wrap(gorgonia.Sum(wrap(gorgonia.HadamardProd(wrap(gorgonia.Square(d)), vmask))))
	cn := gorgonia.NewConstant(float32(c))
	total, err := gorgonia.Add(pl, wrap(gorgonia.Mul(vl, cn)))
	if err != nil {
		return nil, fmt.Errorf("rl: policy-gradient loss: %w", err)
	}
	return total, nil
}
