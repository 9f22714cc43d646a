package rl

import (
	"fmt"
	"math/rand/v2"
)

// Env is an episodic environment with a discrete action space, in
// Gymnasium's terms: Reset starts an episode, Step advances it.
type Env interface {
	// Reset starts a new episode and returns the first observation.
	Reset(rng *rand.Rand) []float64
	// Step applies action and returns the next observation, the reward, and
	// whether the episode ended by reaching a terminal state (terminated) or
	// by hitting the step limit (truncated).
	Step(action int) (obs []float64, reward float64, terminated, truncated bool, err error)
	NumActions() int
	ObsSize() int
}

// Transition is one outcome of taking an action in a discrete state.
type Transition struct {
	Prob     float64
	Next     int
	Reward   float64
	Terminal bool
}

// DiscreteEnv is an environment with finitely many states whose dynamics are
// known, so it can be planned with value iteration.
type DiscreteEnv interface {
	Env
	NumStates() int
	// State is the current state's index.
	State() int
	// Transitions lists the outcomes of action a in state s.
	Transitions(s, a int) []Transition
}

// ActionError reports an action outside the environment's action space.
type ActionError struct {
	Action, NumActions int
}

func (e *ActionError) Error() string {
	return fmt.Sprintf("rl: action %d out of range [0, %d)", e.Action, e.NumActions)
}

func checkAction(a, n int) error {
	if a < 0 || a >= n {
		return &ActionError{Action: a, NumActions: n}
	}
	return nil
}

// NewEnv returns a registered environment by name: "CartPole-v1",
// "FrozenLake-v1" (4x4, slippery), "FrozenLake8x8-v1",
// "FrozenLake-v1-nonslippery", "FrozenLake8x8-v1-nonslippery".
func NewEnv(name string) (Env, error) {
	switch name {
	case "CartPole-v1":
		return NewCartPole(), nil
	case "FrozenLake-v1":
		return NewFrozenLake(Map4x4, true), nil
	case "FrozenLake-v1-nonslippery":
		return NewFrozenLake(Map4x4, false), nil
	case "FrozenLake8x8-v1":
		return NewFrozenLake(Map8x8, true), nil
	case "FrozenLake8x8-v1-nonslippery":
		return NewFrozenLake(Map8x8, false), nil
	}
	return nil, fmt.Errorf("rl: unknown environment %q (allowed: %v)", name, EnvNames())
}

// EnvNames lists the names NewEnv accepts.
func EnvNames() []string {
	return []string{"CartPole-v1", "FrozenLake-v1", "FrozenLake-v1-nonslippery", "FrozenLake8x8-v1", "FrozenLake8x8-v1-nonslippery"}
}
