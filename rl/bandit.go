package rl

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Arm is one arm of a multi-armed bandit.
type Arm interface {
	Pull(rng *rand.Rand) float64
	Mean() float64
}

// Bernoulli pays 1 with probability P, else 0: whether a customer who gets
// an offer takes it, in the curriculum's campaign-targeting example.
type Bernoulli struct{ P float64 }

func (b Bernoulli) Pull(rng *rand.Rand) float64 {
	if rng.Float64() < b.P {
		return 1
	}
	return 0
}
func (b Bernoulli) Mean() float64 { return b.P }

// Gaussian pays a normal draw with mean Mu and standard deviation Sigma.
type Gaussian struct{ Mu, Sigma float64 }

func (g Gaussian) Pull(rng *rand.Rand) float64 { return g.Mu + g.Sigma*rng.NormFloat64() }
func (g Gaussian) Mean() float64               { return g.Mu }

// Bandit is a multi-armed bandit.
type Bandit struct{ Arms []Arm }

// Best is the largest arm mean.
func (b Bandit) Best() float64 {
	best := math.Inf(-1)
	for _, a := range b.Arms {
		best = math.Max(best, a.Mean())
	}
	return best
}

// BanditAgent chooses arms and learns from their rewards.
type BanditAgent interface {
	Choose(rng *rand.Rand) int
	Update(arm int, reward float64)
}

// counts holds per-arm pull counts and mean rewards.
type counts struct {
	n    []float64
	mean []float64
	t    float64
}

func newCounts(k int) counts { return counts{n: make([]float64, k), mean: make([]float64, k)} }

func (c *counts) Update(arm int, r float64) {
	c.t++
	c.n[arm]++
	c.mean[arm] += (r - c.mean[arm]) / c.n[arm]
}

func argmax(xs []float64) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

// EpsilonGreedy explores a uniformly random arm with probability Epsilon and
// otherwise pulls the arm with the best mean so far.
type EpsilonGreedy struct {
	Epsilon float64
	counts
}

func NewEpsilonGreedy(k int, eps float64) *EpsilonGreedy {
	return &EpsilonGreedy{Epsilon: eps, counts: newCounts(k)}
}

func (e *EpsilonGreedy) Choose(rng *rand.Rand) int {
	if rng.Float64() < e.Epsilon {
		return rng.IntN(len(e.n))
	}
	return argmax(e.mean)
}

// UCB1 (Auer, Cesa-Bianchi and Fischer 2002) pulls every arm once, then the
// arm maximising mean + sqrt(2 ln t / n).
type UCB1 struct{ counts }

func NewUCB1(k int) *UCB1 { return &UCB1{newCounts(k)} }

func (u *UCB1) Choose(*rand.Rand) int {
	for i, n := range u.n {
		if n == 0 {
			return i
		}
	}
	best, bestV := 0, math.Inf(-1)
	for i := range u.n {
		v := u.mean[i] + math.Sqrt(2*math.Log(u.t)/u.n[i])
		if v > bestV {
			best, bestV = i, v
		}
	}
	return best
}

// Thompson samples each arm's mean from its posterior and pulls the best
// draw: Beta(1+successes, 1+failures) for rewards in {0, 1}
// (Bernoulli arms), or a normal posterior N(mean, 1/(n+1)) under a
// unit-variance likelihood for real-valued rewards.
type Thompson struct {
	Gaussian bool
	counts
}

func NewThompson(k int, gaussian bool) *Thompson {
	return &Thompson{Gaussian: gaussian, counts: newCounts(k)}
}

func (t *Thompson) Choose(rng *rand.Rand) int {
	best, bestV := 0, math.Inf(-1)
	for i := range t.n {
		var v float64
		if t.Gaussian {
			v = t.mean[i] + rng.NormFloat64()/math.Sqrt(t.n[i]+1)
		} else {
			s := t.mean[i] * t.n[i]
			v = betaSample(rng, 1+s, 1+t.n[i]-s)
		}
		if v > bestV {
			best, bestV = i, v
		}
	}
	return best
}

// betaSample draws Beta(a, b) as X/(X+Y) with gamma draws.
func betaSample(rng *rand.Rand, a, b float64) float64 {
	x, y := gammaSample(rng, a), gammaSample(rng, b)
	return x / (x + y)
}

// gammaSample draws Gamma(a, 1) by Marsaglia and Tsang (2000), with the
// a < 1 boost.
func gammaSample(rng *rand.Rand, a float64) float64 {
	if a < 1 {
		return gammaSample(rng, a+1) * math.Pow(rng.Float64(), 1/a)
	}
	d := a - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// NewBanditAgent returns an agent by name: "epsilon-greedy" (epsilon 0.1),
// "ucb1", "thompson" (Beta posterior; Gaussian posterior when gaussian).
func NewBanditAgent(name string, k int, gaussian bool) (BanditAgent, error) {
	switch name {
	case "epsilon-greedy":
		return NewEpsilonGreedy(k, 0.1), nil
	case "ucb1":
		return NewUCB1(k), nil
	case "thompson":
		return NewThompson(k, gaussian), nil
	}
	return nil, fmt.Errorf("rl: unknown bandit agent %q (allowed: epsilon-greedy, ucb1, thompson)", name)
}

// RunBandit pulls n times and returns the cumulative expected regret after
// each pull: sum over pulls of best mean minus the pulled arm's mean.
func RunBandit(b Bandit, agent BanditAgent, n int, rng *rand.Rand) []float64 {
	regret := make([]float64, n)
	best, total := b.Best(), 0.0
	for i := 0; i < n; i++ {
		a := agent.Choose(rng)
		agent.Update(a, b.Arms[a].Pull(rng))
		total += best - b.Arms[a].Mean()
		regret[i] = total
	}
	return regret
}
