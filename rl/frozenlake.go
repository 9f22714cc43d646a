package rl

import (
	"math/rand/v2"
)

// FrozenLake maps from Gymnasium's toy_text/frozen_lake.py: S start,
// F frozen, H hole, G goal.
var (
	Map4x4 = []string{"SFFF", "FHFH", "FFFH", "HFFG"}
	Map8x8 = []string{
		"SFFFFFFF", "FFFFFFFF", "FFFHFFFF", "FFFFFHFF",
		"FFFHFFFF", "FHHFFFHF", "FHFFHFHF", "FFFHFFFG",
	}
)

// FrozenLake actions, as Gymnasium numbers them.
const (
	Left = iota
	Down
	Right
	Up
)

// FrozenLake is Gymnasium's FrozenLake-v1: walk from S to G without falling
// into a hole. On a slippery lake the agent moves in the intended direction
// or either perpendicular one, each with probability 1/3. Reward is 1 on
// reaching G, 0 otherwise; holes and the goal end the episode; the step
// limit is 100 on 4x4 and 200 on 8x8 maps (Gymnasium's registrations).
type FrozenLake struct {
	Map      []string
	Slippery bool
	MaxSteps int
	rows     int
	cols     int
	state    int
	steps    int
	done     bool
	rng      *rand.Rand
}

// NewFrozenLake returns a lake over m (rows of S/F/H/G).
func NewFrozenLake(m []string, slippery bool) *FrozenLake {
	f := &FrozenLake{Map: m, Slippery: slippery, rows: len(m), cols: len(m[0]), MaxSteps: 100}
	if len(m) == 8 {
		f.MaxSteps = 200
	}
	return f
}

func (f *FrozenLake) NumActions() int { return 4 }
func (f *FrozenLake) NumStates() int  { return f.rows * f.cols }

// ObsSize is the number of states: observations are one-hot.
func (f *FrozenLake) ObsSize() int { return f.NumStates() }
func (f *FrozenLake) State() int   { return f.state }

func (f *FrozenLake) tile(s int) byte { return f.Map[s/f.cols][s%f.cols] }

func (f *FrozenLake) obs() []float64 {
	o := make([]float64, f.NumStates())
	o[f.state] = 1
	return o
}

// Reset puts the agent on S. rng drives the slippery moves of the episode.
func (f *FrozenLake) Reset(rng *rand.Rand) []float64 {
	f.rng = rng
	for s := 0; s < f.NumStates(); s++ {
		if f.tile(s) == 'S' {
			f.state = s
		}
	}
	f.steps, f.done = 0, false
	return f.obs()
}

func (f *FrozenLake) move(s, a int) int {
	r, c := s/f.cols, s%f.cols
	switch a {
	case Left:
		c = max(c-1, 0)
	case Down:
		r = min(r+1, f.rows-1)
	case Right:
		c = min(c+1, f.cols-1)
	case Up:
		r = max(r-1, 0)
	}
	return r*f.cols + c
}

// Transitions lists the outcomes of action a in state s; terminal states
// (H, G) lead to themselves with no reward, as in Gymnasium's P table.
func (f *FrozenLake) Transitions(s, a int) []Transition {
	t := f.tile(s)
	if t == 'H' || t == 'G' {
		return []Transition{{Prob: 1, Next: s, Terminal: true}}
	}
	dirs := []int{a}
	if f.Slippery {
		dirs = []int{(a + 3) % 4, a, (a + 1) % 4}
	}
	out := make([]Transition, 0, len(dirs))
	for _, d := range dirs {
		n := f.move(s, d)
		nt := f.tile(n)
		tr := Transition{Prob: 1 / float64(len(dirs)), Next: n, Terminal: nt == 'H' || nt == 'G'}
		if nt == 'G' {
			tr.Reward = 1
		}
		out = append(out, tr)
	}
	return out
}

// Step moves the agent; on a slippery lake the direction is drawn from the
// rng given to Reset.
func (f *FrozenLake) Step(action int) ([]float64, float64, bool, bool, error) {
	if err := checkAction(action, 4); err != nil {
		return nil, 0, false, false, err
	}
	if f.done || f.rng == nil {
		return nil, 0, false, false, ErrEpisodeOver
	}
	tr := f.Transitions(f.state, action)
	pick := tr[0]
	if len(tr) > 1 {
		pick = tr[f.rng.IntN(len(tr))]
	}
	f.state = pick.Next
	f.steps++
	truncated := !pick.Terminal && f.steps >= f.MaxSteps
	f.done = pick.Terminal || truncated
	return f.obs(), pick.Reward, pick.Terminal, truncated, nil
}
