package rl

import (
	"fmt"
	"strings"
)

// TicTacToe is a tic-tac-toe position. Cells hold +1 (X, who moves first),
// -1 (O) or 0; ToMove is the player to move.
type TicTacToe struct {
	Cells  [9]int8
	ToMove int8
}

// NewTicTacToe returns the empty board, X to move.
func NewTicTacToe() TicTacToe { return TicTacToe{ToMove: 1} }

var lines = [8][3]int{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {0, 3, 6}, {1, 4, 7}, {2, 5, 8}, {0, 4, 8}, {2, 4, 6}}

// Winner returns +1 or -1 for a completed line, 0 otherwise.
func (g TicTacToe) Winner() int8 {
	for _, l := range lines {
		if v := g.Cells[l[0]]; v != 0 && v == g.Cells[l[1]] && v == g.Cells[l[2]] {
			return v
		}
	}
	return 0
}

// Over reports whether the game has ended, and the winner (0 for a draw).
func (g TicTacToe) Over() (bool, int8) {
	if w := g.Winner(); w != 0 {
		return true, w
	}
	for _, c := range g.Cells {
		if c == 0 {
			return false, 0
		}
	}
	return true, 0
}

// Legal returns the empty cells.
func (g TicTacToe) Legal() []int {
	var m []int
	for i, c := range g.Cells {
		if c == 0 {
			m = append(m, i)
		}
	}
	return m
}

// Play returns the position after the player to move takes cell i.
func (g TicTacToe) Play(i int) (TicTacToe, error) {
	if i < 0 || i > 8 {
		return g, fmt.Errorf("rl: tic-tac-toe cell %d out of range [0, 8]", i)
	}
	if over, _ := g.Over(); over {
		return g, fmt.Errorf("rl: tic-tac-toe game is over")
	}
	if g.Cells[i] != 0 {
		return g, fmt.Errorf("rl: tic-tac-toe cell %d is taken", i)
	}
	g.Cells[i] = g.ToMove
	g.ToMove = -g.ToMove
	return g, nil
}

// Features encodes the position from the mover's point of view, as
// AlphaGo Zero's input planes: 9 cells of the mover's stones, then 9 of the
// opponent's.
func (g TicTacToe) Features(dst []float32) []float32 {
	dst = append(dst[:0], make([]float32, 18)...)
	for i, c := range g.Cells {
		switch c {
		case g.ToMove:
			dst[i] = 1
		case -g.ToMove:
			dst[9+i] = 1
		}
	}
	return dst
}

func (g TicTacToe) String() string {
	var b strings.Builder
	for i, c := range g.Cells {
		b.WriteByte(map[int8]byte{1: 'X', -1: 'O', 0: '.'}[c])
		if i%3 == 2 && i < 8 {
			b.WriteByte('/')
		}
	}
	return b.String()
}

// Minimax is a perfect tic-tac-toe player: exhaustive search with
// memoisation, preferring quicker wins and slower losses.
type Minimax struct{ memo map[TicTacToe]int }

// NewMinimax returns a perfect player.
func NewMinimax() *Minimax { return &Minimax{memo: map[TicTacToe]int{}} }

// value is the game value for the player to move, scaled so that a win in
// fewer moves scores higher: (10 - moves) for a win, 0 for a draw.
func (m *Minimax) value(g TicTacToe) int {
	if v, ok := m.memo[g]; ok {
		return v
	}
	over, w := g.Over()
	var v int
	if over {
		empty := len(g.Legal())
		switch w {
		case 0:
			v = 0
		case g.ToMove:
			v = 1 + empty
		default:
			v = -(1 + empty)
		}
	} else {
		v = -100
		for _, mv := range g.Legal() {
			next, _ := g.Play(mv)
			v = max(v, -m.value(next))
		}
	}
	m.memo[g] = v
	return v
}

// Moves returns every optimal move in the position.
func (m *Minimax) Moves(g TicTacToe) []int {
	best, moves := -100, []int(nil)
	for _, mv := range g.Legal() {
		next, _ := g.Play(mv)
		v := -m.value(next)
		switch {
		case v > best:
			best, moves = v, []int{mv}
		case v == best:
			moves = append(moves, mv)
		}
	}
	return moves
}

// Value is the game-theoretic result for the player to move: +1 win,
// 0 draw, -1 loss under perfect play.
func (m *Minimax) Value(g TicTacToe) int {
	v := m.value(g)
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}
