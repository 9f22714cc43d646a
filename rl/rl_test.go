package rl

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

func TestCartPoleFirstStepFromZero(t *testing.T) {
	// Hand-derived from Gymnasium's equations with state 0 and action 1:
	// temp = 10/1.1, thetaacc = -600/41, xacc = 400/41, times tau = 0.02.
	c := NewCartPole()
	c.State = [4]float64{}
	obs, r, term, trunc, err := c.Step(1)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0, 8.0 / 41, 0, -12.0 / 41}
	for i := range want {
		if math.Abs(obs[i]-want[i]) > 1e-12 {
			t.Errorf("Step(1) from zero: obs[%d] = %.17g, want %.17g", i, obs[i], want[i])
		}
	}
	if r != 1 || term || trunc {
		t.Errorf("Step(1) from zero: reward %v term %v trunc %v, want 1 false false", r, term, trunc)
	}
	// Action 0 mirrors action 1.
	c.State = [4]float64{}
	obs, _, _, _, _ = c.Step(0)
	for i := range want {
		if math.Abs(obs[i]+want[i]) > 1e-12 {
			t.Errorf("Step(0) from zero: obs[%d] = %.17g, want %.17g", i, obs[i], -want[i])
		}
	}
}

func TestCartPoleTerminationAndTruncation(t *testing.T) {
	c := NewCartPole()
	c.Reset(rand.New(rand.NewPCG(1, 2)))
	// Always pushing right makes the pole fall: terminated well before 500.
	steps := 0
	for {
		_, r, term, trunc, err := c.Step(1)
		if err != nil {
			t.Fatal(err)
		}
		steps++
		if r != 1 {
			t.Fatalf("reward at step %d = %v, want 1", steps, r)
		}
		if trunc {
			t.Fatalf("truncated at step %d, want terminated", steps)
		}
		if term {
			break
		}
	}
	th := c.State[2]
	if math.Abs(th) <= 12*math.Pi/180 && math.Abs(c.State[0]) <= 2.4 {
		t.Errorf("terminated with x=%v theta=%v inside the bounds", c.State[0], th)
	}
	if _, _, _, _, err := c.Step(0); err != ErrEpisodeOver {
		t.Errorf("Step after termination: err = %v, want ErrEpisodeOver", err)
	}
	if _, _, _, _, err := c.Step(2); err == nil {
		t.Error("Step(2): want an action error")
	}
	// Truncation: hold the state at zero; the 500th step truncates.
	c.Reset(rand.New(rand.NewPCG(1, 2)))
	for i := 1; i <= 500; i++ {
		c.State = [4]float64{}
		_, _, term, trunc, err := c.Step(i % 2)
		if err != nil || term {
			t.Fatalf("step %d: term %v err %v", i, term, err)
		}
		if trunc != (i == 500) {
			t.Fatalf("step %d: truncated = %v", i, trunc)
		}
	}
}

func TestFrozenLakeTransitions(t *testing.T) {
	f := NewFrozenLake(Map4x4, true)
	// From state 0, Down slips Left (stays at 0), Down (to 4) or Right (to 1).
	got := f.Transitions(0, Down)
	want := []Transition{{1.0 / 3, 0, 0, false}, {1.0 / 3, 4, 0, false}, {1.0 / 3, 1, 0, false}}
	if len(got) != len(want) {
		t.Fatalf("Transitions(0, Down) = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Transitions(0, Down)[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	// State 14 (row 3, col 2), Right reaches G = 15 with reward 1.
	nonSlip := NewFrozenLake(Map4x4, false)
	if tr := nonSlip.Transitions(14, Right); len(tr) != 1 || tr[0] != (Transition{1, 15, 1, true}) {
		t.Errorf("non-slippery Transitions(14, Right) = %v", tr)
	}
	if tr := nonSlip.Transitions(4, Right); tr[0].Next != 5 || !tr[0].Terminal {
		t.Errorf("Transitions(4, Right) = %v, want hole 5 terminal", tr)
	}
}

func TestValueIterationFrozenLake(t *testing.T) {
	f := NewFrozenLake(Map4x4, true)
	v, policy := ValueIteration(f, 0.99, 1e-10, 10000)
	// The optimal policy for slippery 4x4 FrozenLake with gamma 0.99, as
	// published in many course notes (e.g. the Gymnasium FrozenLake
	// tutorial's value-iteration result): L U U U / L . L . / U D L . / . R D .
	// (holes and goal are terminal; their action is irrelevant).
	want := map[int]int{0: Left, 1: Up, 2: Up, 3: Up, 4: Left, 6: Left, 8: Up, 9: Down, 10: Left, 13: Right, 14: Down}
	for s, a := range want {
		if policy[s] != a {
			t.Errorf("ValueIteration policy[%d] = %d, want %d", s, policy[s], a)
		}
	}
	// V(start) with gamma 0.99 is about 0.54 (the same tutorials).
	if v[0] < 0.5 || v[0] > 0.6 {
		t.Errorf("V(0) = %v, want about 0.54", v[0])
	}
	rate, err := EvaluatePolicy(f, policy, 10000, rand.New(rand.NewPCG(7, 7)))
	if err != nil {
		t.Fatal(err)
	}
	// About 74% of episodes reach G within the 100-step limit; 10,000
	// episodes give a standard error of 0.44%.
	if rate < 0.71 || rate > 0.77 {
		t.Errorf("optimal policy success rate = %.3f, want about 0.74", rate)
	}
}

func TestQLearningFrozenLake(t *testing.T) {
	f := NewFrozenLake(Map4x4, true)
	rng := rand.New(rand.NewPCG(3, 4))
	tab, err := TrainTabular(context.Background(), f, TabularConfig{
		Episodes: 20000, Alpha: 0.05, Gamma: 0.99, EpsStart: 1, EpsEnd: 0.05,
	}, rng)
	if err != nil {
		t.Fatal(err)
	}
	rate, err := EvaluatePolicy(f, tab.Policy(), 10000, rand.New(rand.NewPCG(9, 9)))
	if err != nil {
		t.Fatal(err)
	}
	// The bar: at least 70% success for the greedy policy.
	if rate < 0.70 {
		t.Errorf("Q-learning greedy success rate = %.3f, want >= 0.70", rate)
	}
	t.Logf("Q-learning greedy success rate over 10000 episodes: %.3f", rate)
}

func TestBanditRegret(t *testing.T) {
	// Campaign targeting: four customer segments with offer take-up rates.
	b := Bandit{Arms: []Arm{Bernoulli{0.2}, Bernoulli{0.4}, Bernoulli{0.6}, Bernoulli{0.8}}}
	const pulls, runs = 10000, 10
	at1k, final := map[string]float64{}, map[string]float64{}
	for _, name := range []string{"epsilon-greedy", "ucb1", "thompson"} {
		for seed := uint64(0); seed < runs; seed++ {
			a, err := NewBanditAgent(name, len(b.Arms), false)
			if err != nil {
				t.Fatal(err)
			}
			r := RunBandit(b, a, pulls, rand.New(rand.NewPCG(seed, 1)))
			at1k[name] += r[999] / runs
			final[name] += r[pulls-1] / runs
		}
	}
	t.Logf("mean regret after 1000 pulls: %v; after %d: %v", at1k, pulls, final)
	// Epsilon-greedy with eps 0.1 pays eps times the mean gap of a random
	// arm, 0.1 * 0.3 = 0.03 per pull, forever: about 300 at 10,000 pulls and
	// ten times its value at 1,000. Logarithmic regret grows by about
	// ln(10000)/ln(1000) = 1.33 over the same span; allow up to 2.
	if final["epsilon-greedy"] < 250 || final["epsilon-greedy"]/at1k["epsilon-greedy"] < 4 {
		t.Errorf("epsilon-greedy regret %v (at 1000: %v), want linear growth to about 300", final["epsilon-greedy"], at1k["epsilon-greedy"])
	}
	for _, name := range []string{"ucb1", "thompson"} {
		if growth := final[name] / at1k[name]; growth > 2 {
			t.Errorf("%s regret grew %.2fx from 1000 to 10000 pulls, want logarithmic (< 2x)", name, growth)
		}
		if final[name] > final["epsilon-greedy"]/2 {
			t.Errorf("%s regret %v not far below epsilon-greedy %v", name, final[name], final["epsilon-greedy"])
		}
	}
}

func TestGammaSampleMean(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, a := range []float64{0.5, 1, 3.5} {
		sum := 0.0
		const n = 200000
		for i := 0; i < n; i++ {
			sum += gammaSample(rng, a)
		}
		// Gamma(a, 1) has mean a and variance a: 5 standard errors.
		if m := sum / n; math.Abs(m-a) > 5*math.Sqrt(a/n) {
			t.Errorf("mean of Gamma(%v) draws = %v, want %v", a, m, a)
		}
	}
}
