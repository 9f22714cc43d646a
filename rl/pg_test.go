package rl

import (
	"context"
	"os"
	"testing"
)

// The bar, on the seeds the tests run: REINFORCE with a baseline and
// the actor-critic reach a mean greedy return of at least 475 over 100
// evaluation episodes within 1,000 training episodes.
func TestPolicyGradientSolvesCartPole(t *testing.T) {
	for _, ac := range []bool{false, true} {
		for _, seed := range []uint64{1, 2} {
			cfg := RunConfig{Env: "CartPole-v1", Agent: "reinforce", Episodes: 1000, Seed: seed, EvalEpisodes: 100}
			run, err := TrainPG(context.Background(), cfg, DefaultPG(), ac, nil)
			if err != nil {
				t.Fatal(err)
			}
			if run.Summary.SolvedAt < 0 || run.Summary.EvalMean < 475 {
				t.Errorf("actorCritic=%v seed %d: solved at %d, eval mean %.1f; want solved (>= 475)",
					ac, seed, run.Summary.SolvedAt, run.Summary.EvalMean)
			}
			// The kept policy evaluates the same on fresh episodes.
			mean, err := Evaluate(context.Background(), "CartPole-v1", run.Policy, 20, 99)
			if err != nil {
				t.Fatal(err)
			}
			if mean < 400 {
				t.Errorf("actorCritic=%v seed %d: re-evaluated mean %.1f, want >= 400", ac, seed, mean)
			}
		}
	}
}

func TestDQNLearns(t *testing.T) {
	if testing.Short() {
		t.Skip("DQN takes about 10 s")
	}
	cfg := RunConfig{Env: "CartPole-v1", Agent: "dqn", Episodes: 150, Seed: 1, EvalEpisodes: 20}
	run, err := TrainDQN(context.Background(), cfg, DefaultDQN(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// A random policy averages about 22 steps; after 150 episodes of DQN
	// the greedy policy balances much longer.
	if run.Summary.EvalMean < 100 {
		t.Errorf("DQN after 150 episodes: greedy mean return %.1f, want >= 100", run.Summary.EvalMean)
	}
	dir := t.TempDir()
	if err := run.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	m1, _ := Evaluate(context.Background(), "CartPole-v1", run.Policy, 5, 3)
	m2, _ := Evaluate(context.Background(), "CartPole-v1", back.Policy, 5, 3)
	if m1 != m2 {
		t.Errorf("saved and loaded DQN policy: mean %v vs %v, want equal", m1, m2)
	}
	if _, err := os.Stat(dir + "/policy.json"); err != nil {
		t.Error(err)
	}
}
