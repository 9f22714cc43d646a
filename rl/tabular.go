package rl

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// ValueIteration solves a discrete environment's Bellman optimality
// equation to tolerance tol (max change of V in a sweep) with discount
// gamma, and returns V and the greedy policy (ties to the lowest action).
func ValueIteration(env DiscreteEnv, gamma, tol float64, maxSweeps int) (v []float64, policy []int) {
	ns, na := env.NumStates(), env.NumActions()
	v = make([]float64, ns)
	q := func(s, a int) float64 {
		sum := 0.0
		for _, t := range env.Transitions(s, a) {
			next := v[t.Next]
			if t.Terminal {
				next = 0
			}
			sum += t.Prob * (t.Reward + gamma*next)
		}
		return sum
	}
	for sweep := 0; sweep < maxSweeps; sweep++ {
		delta := 0.0
		for s := 0; s < ns; s++ {
			best := math.Inf(-1)
			for a := 0; a < na; a++ {
				best = math.Max(best, q(s, a))
			}
			delta = math.Max(delta, math.Abs(best-v[s]))
			v[s] = best
		}
		if delta < tol {
			break
		}
	}
	policy = make([]int, ns)
	for s := 0; s < ns; s++ {
		best := math.Inf(-1)
		for a := 0; a < na; a++ {
			if x := q(s, a); x > best+1e-12 {
				best, policy[s] = x, a
			}
		}
	}
	return v, policy
}

// Tabular is a Q table for a discrete environment.
type Tabular struct {
	Q          [][]float64 // Q[state][action]
	NumActions int
}

// NewTabular returns a zero Q table.
func NewTabular(states, actions int) *Tabular {
	q := make([][]float64, states)
	for i := range q {
		q[i] = make([]float64, actions)
	}
	return &Tabular{Q: q, NumActions: actions}
}

// Greedy returns the best action in state s (ties to the lowest).
func (t *Tabular) Greedy(s int) int { return argmax(t.Q[s]) }

// Policy is the greedy policy of the table.
func (t *Tabular) Policy() []int {
	p := make([]int, len(t.Q))
	for s := range p {
		p[s] = t.Greedy(s)
	}
	return p
}

func (t *Tabular) epsilonGreedy(s int, eps float64, rng *rand.Rand) int {
	if rng.Float64() < eps {
		return rng.IntN(t.NumActions)
	}
	// Break ties at random so an all-zero table still explores.
	best, n := 0, 0
	for a, q := range t.Q[s] {
		switch {
		case n == 0 || q > t.Q[s][best]:
			best, n = a, 1
		case q == t.Q[s][best]:
			n++
			if rng.IntN(n) == 0 {
				best = a
			}
		}
	}
	return best
}

// TabularConfig configures Q-learning and SARSA.
type TabularConfig struct {
	Episodes  int
	Alpha     float64 // learning rate
	Gamma     float64 // discount
	EpsStart  float64 // epsilon at episode 0
	EpsEnd    float64 // epsilon at the last episode (linear decay)
	SARSA     bool    // on-policy SARSA instead of Q-learning
	OnEpisode func(episode int, ret float64)
}

// TrainTabular runs Q-learning (or SARSA) on a discrete environment.
func TrainTabular(ctx context.Context, env DiscreteEnv, cfg TabularConfig, rng *rand.Rand) (*Tabular, error) {
	if cfg.Episodes <= 0 || cfg.Alpha <= 0 || cfg.Alpha > 1 || cfg.Gamma < 0 || cfg.Gamma > 1 {
		return nil, fmt.Errorf("rl: tabular config: need episodes > 0, alpha in (0, 1], gamma in [0, 1]; got %+v", cfg)
	}
	t := NewTabular(env.NumStates(), env.NumActions())
	for ep := 0; ep < cfg.Episodes; ep++ {
		if ep%100 == 0 && ctx.Err() != nil {
			return t, ctx.Err()
		}
		eps := cfg.EpsStart
		if cfg.Episodes > 1 {
			eps += (cfg.EpsEnd - cfg.EpsStart) * float64(ep) / float64(cfg.Episodes-1)
		}
		env.Reset(rng)
		s := env.State()
		a := t.epsilonGreedy(s, eps, rng)
		ret := 0.0
		for {
			_, r, term, trunc, err := env.Step(a)
			if err != nil {
				return t, err
			}
			ret += r
			s2 := env.State()
			a2 := t.epsilonGreedy(s2, eps, rng)
			target := r
			if !term {
				if cfg.SARSA {
					target += cfg.Gamma * t.Q[s2][a2]
				} else {
					target += cfg.Gamma * t.Q[s2][t.Greedy(s2)]
				}
			}
			t.Q[s][a] += cfg.Alpha * (target - t.Q[s][a])
			if term || trunc {
				break
			}
			s, a = s2, a2
		}
		if cfg.OnEpisode != nil {
			cfg.OnEpisode(ep, ret)
		}
	}
	return t, nil
}

// EvaluatePolicy runs a deterministic policy over states for n episodes and
// returns the mean return.
func EvaluatePolicy(env DiscreteEnv, policy []int, n int, rng *rand.Rand) (float64, error) {
	total := 0.0
	for i := 0; i < n; i++ {
		env.Reset(rng)
		for {
			_, r, term, trunc, err := env.Step(policy[env.State()])
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
