package rl

import (
	"math"
	"math/rand/v2"
)

// Evaluator gives a position's move priors (9 probabilities, summing to 1
// over legal moves) and its value in [-1, 1] for the player to move: the
// policy and value heads of AlphaGo Zero's network.
type Evaluator interface {
	Evaluate(g TicTacToe) (priors [9]float64, value float64)
}

// MCTS is AlphaGo Zero's search (Silver et al. 2017, "Mastering the game of
// Go without human knowledge", Methods): PUCT selection
// a = argmax Q(s,a) + c_puct P(s,a) sqrt(N(s)) / (1 + N(s,a)), expansion
// and evaluation by the network at leaves (no rollouts), values backed up
// with the sign flipped at each ply.
type MCTS struct {
	Eval        Evaluator
	Simulations int
	CPuct       float64
	// Dirichlet noise at the root during self-play: alpha and weight.
	DirichletAlpha, NoiseFrac float64
}

type mctsNode struct {
	pos      TicTacToe
	prior    [9]float64
	children [9]*mctsNode
	n        [9]float64
	w        [9]float64
	expanded bool
	terminal bool
	value    float64 // value for the player to move, when terminal
}

func newNode(g TicTacToe) *mctsNode {
	nd := &mctsNode{pos: g}
	if over, w := g.Over(); over {
		nd.terminal = true
		if w != 0 {
			nd.value = -1 // the previous player completed a line
		}
	}
	return nd
}

// Search runs the simulations from g and returns the visit counts of the
// root's moves.
func (m *MCTS) Search(g TicTacToe, rng *rand.Rand) [9]float64 {
	root := newNode(g)
	m.expand(root)
	if m.NoiseFrac > 0 && rng != nil {
		legal := g.Legal()
		noise := make([]float64, len(legal))
		sum := 0.0
		for i := range noise {
			noise[i] = gammaSample(rng, m.DirichletAlpha)
			sum += noise[i]
		}
		for i, mv := range legal {
			root.prior[mv] = (1-m.NoiseFrac)*root.prior[mv] + m.NoiseFrac*noise[i]/sum
		}
	}
	for s := 0; s < m.Simulations; s++ {
		m.simulate(root)
	}
	return root.n
}

func (m *MCTS) expand(nd *mctsNode) float64 {
	nd.expanded = true
	if nd.terminal {
		return nd.value
	}
	pri, v := m.Eval.Evaluate(nd.pos)
	nd.prior = pri
	return v
}

// simulate descends to a leaf, evaluates it and returns the value for the
// player to move at nd.
func (m *MCTS) simulate(nd *mctsNode) float64 {
	if nd.terminal {
		return nd.value
	}
	if !nd.expanded {
		return m.expand(nd)
	}
	total := 0.0
	for _, c := range nd.n {
		total += c
	}
	sq := math.Sqrt(total + 1)
	best, bestU := -1, math.Inf(-1)
	for _, mv := range nd.pos.Legal() {
		q := 0.0
		if nd.n[mv] > 0 {
			q = nd.w[mv] / nd.n[mv]
		}
		u := q + m.CPuct*nd.prior[mv]*sq/(1+nd.n[mv])
		if u > bestU {
			best, bestU = mv, u
		}
	}
	child := nd.children[best]
	if child == nil {
		next, _ := nd.pos.Play(best)
		child = newNode(next)
		nd.children[best] = child
	}
	v := -m.simulate(child)
	nd.n[best]++
	nd.w[best] += v
	return v
}

// UniformEvaluator gives uniform priors and value 0: plain PUCT search with
// no knowledge, the baseline the trained network improves on.
type UniformEvaluator struct{}

func (UniformEvaluator) Evaluate(g TicTacToe) ([9]float64, float64) {
	var p [9]float64
	legal := g.Legal()
	for _, mv := range legal {
		p[mv] = 1 / float64(len(legal))
	}
	return p, 0
}
