package rl

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func play(t *testing.T, moves ...int) TicTacToe {
	t.Helper()
	g := NewTicTacToe()
	for _, mv := range moves {
		var err error
		if g, err = g.Play(mv); err != nil {
			t.Fatalf("Play(%d) on %v: %v", mv, g, err)
		}
	}
	return g
}

func TestTicTacToeRules(t *testing.T) {
	g := play(t, 0, 3, 1, 4, 2) // X takes the top row
	if over, w := g.Over(); !over || w != 1 {
		t.Errorf("Over() after top row = %v, %d; want true, 1", over, w)
	}
	if _, err := g.Play(5); err == nil {
		t.Error("Play after the game ended: want an error")
	}
	if _, err := play(t, 4).Play(4); err == nil {
		t.Error("Play on a taken cell: want an error")
	}
	if _, err := NewTicTacToe().Play(9); err == nil {
		t.Error("Play(9): want an error")
	}
	f := play(t, 4).Features(nil) // O to move; X's stone is the opponent's
	if f[9+4] != 1 || f[4] != 0 {
		t.Errorf("Features after X plays 4, from O's view: %v", f)
	}
}

func TestMinimax(t *testing.T) {
	m := NewMinimax()
	if v := m.Value(NewTicTacToe()); v != 0 {
		t.Errorf("Value(empty) = %d, want 0 (tic-tac-toe is a draw)", v)
	}
	// X: 0, 1; O: 3, 4; X to move wins at 2 (O would win at 5).
	g := play(t, 0, 3, 1, 4)
	if got := m.Moves(g); !slices.Equal(got, []int{2}) {
		t.Errorf("Moves(%v) = %v, want [2]", g, got)
	}
	// X corner, O edge loses by force: value for O to move after X's reply.
	if v := m.Value(play(t, 0, 1)); v != 1 {
		t.Errorf("Value(X 0, O 1) for X = %d, want 1", v)
	}
	// Any optimal first move for O after X's corner is the centre.
	if got := m.Moves(play(t, 0)); !slices.Equal(got, []int{4}) {
		t.Errorf("Moves after X corner = %v, want [4]", got)
	}
}

func TestMCTSUniformFindsTactics(t *testing.T) {
	s := &MCTS{Eval: UniformEvaluator{}, Simulations: 400, CPuct: 1.5}
	cases := []struct {
		moves []int
		want  int
		why   string
	}{
		{[]int{0, 3, 1, 4}, 2, "win now"},
		{[]int{0, 3, 8, 4}, 5, "block O's row"},
	}
	for _, c := range cases {
		g := play(t, c.moves...)
		n := s.Search(g, rand.New(rand.NewPCG(1, 1)))
		best := 0
		for i := range n {
			if n[i] > n[best] {
				best = i
			}
		}
		if best != c.want {
			t.Errorf("%s: Search(%v) visits %v, most visited %d, want %d", c.why, g, n, best, c.want)
		}
	}
}
