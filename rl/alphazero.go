package rl

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"gorgonia.org/gorgonia"

	"github.com/wavenet-go/wavenet/nn"
)

// ZeroConfig holds the hyperparameters of AlphaGo Zero in miniature.
type ZeroConfig struct {
	Width, Blocks, ValueHidden int
	Simulations                int     // MCTS simulations per self-play move
	PlaySimulations            int     // MCTS simulations per move of the trained player
	CPuct                      float64 // exploration constant
	DirichletAlpha, NoiseFrac  float64 // root noise during self-play
	TempMoves                  int     // moves sampled in proportion to visits; greedy after
	GamesPerIter               int     // self-play games between training phases
	StepsPerIter               int     // gradient steps per training phase
	Batch                      int
	Buffer                     int // positions kept (with their 8 symmetries)
	LR, WeightDecay            float64
}

// DefaultZero is sized for tic-tac-toe on a CPU.
func DefaultZero() ZeroConfig {
	return ZeroConfig{Width: 64, Blocks: 2, ValueHidden: 32, Simulations: 60, PlaySimulations: 300, CPuct: 1.5,
		DirichletAlpha: 1.0, NoiseFrac: 0.25, TempMoves: 9, GamesPerIter: 25, StepsPerIter: 60,
		Batch: 64, Buffer: 20000, LR: 2e-3, WeightDecay: 1e-4}
}

// netEvaluator turns the network's logits into priors over legal moves.
type netEvaluator struct {
	net    *nn.ResNet
	feat   []float32
	logits []float32
}

func (e *netEvaluator) Evaluate(g TicTacToe) ([9]float64, float64) {
	e.feat = g.Features(e.feat)
	var v float32
	e.logits, v = e.net.Forward(e.logits, e.feat)
	var p [9]float64
	mx := math.Inf(-1)
	legal := g.Legal()
	for _, mv := range legal {
		mx = math.Max(mx, float64(e.logits[mv]))
	}
	sum := 0.0
	for _, mv := range legal {
		p[mv] = math.Exp(float64(e.logits[mv]) - mx)
		sum += p[mv]
	}
	for _, mv := range legal {
		p[mv] /= sum
	}
	return p, float64(v)
}

// symmetries lists the 8 permutations of the board (rotations and
// reflections): cell i of the transformed board is cell perm[i] of the
// original.
var symmetries = func() [][9]int {
	rot := func(p [9]int) [9]int { // 90 degrees clockwise
		var q [9]int
		for r := 0; r < 3; r++ {
			for c := 0; c < 3; c++ {
				q[r*3+c] = p[(2-c)*3+r]
			}
		}
		return q
	}
	flip := func(p [9]int) [9]int {
		var q [9]int
		for r := 0; r < 3; r++ {
			for c := 0; c < 3; c++ {
				q[r*3+c] = p[r*3+2-c]
			}
		}
		return q
	}
	id := [9]int{0, 1, 2, 3, 4, 5, 6, 7, 8}
	var out [][9]int
	p := id
	for i := 0; i < 4; i++ {
		out = append(out, p, flip(p))
		p = rot(p)
	}
	return out
}()

type zeroSample struct {
	feat []float32 // 18
	pi   [9]float32
	z    float32
}

// ZeroPolicy plays tic-tac-toe with MCTS guided by the trained network.
type ZeroPolicy struct {
	Net         *nn.ResNet `json:"net"`
	Simulations int        `json:"simulations"`
	CPuct       float64    `json:"c_puct"`
}

// Move returns the most visited move of a noise-free search.
func (p *ZeroPolicy) Move(g TicTacToe) int {
	s := &MCTS{Eval: &netEvaluator{net: p.Net}, Simulations: p.Simulations, CPuct: p.CPuct}
	n := s.Search(g, nil)
	best := -1
	for _, mv := range g.Legal() {
		if best < 0 || n[mv] > n[best] {
			best = mv
		}
	}
	return best
}

// Act takes the board as 9 cells (1 for X, -1 for O, 0 empty); the player
// to move follows from the counts (X moves first).
func (p *ZeroPolicy) Act(obs []float64) (int, error) {
	if len(obs) != 9 {
		return 0, fmt.Errorf("rl: tic-tac-toe observation has %d values, want 9 cells", len(obs))
	}
	g := NewTicTacToe()
	nx, no := 0, 0
	for i, v := range obs {
		switch v {
		case 1:
			g.Cells[i] = 1
			nx++
		case -1:
			g.Cells[i] = -1
			no++
		case 0:
		default:
			return 0, fmt.Errorf("rl: tic-tac-toe cell %d is %v, want 1 (X), -1 (O) or 0", i, v)
		}
	}
	switch nx - no {
	case 0:
		g.ToMove = 1
	case 1:
		g.ToMove = -1
	default:
		return 0, fmt.Errorf("rl: tic-tac-toe board has %d X and %d O, not a position of a game", nx, no)
	}
	if over, _ := g.Over(); over {
		return 0, fmt.Errorf("rl: tic-tac-toe game is over")
	}
	return p.Move(g), nil
}

// Save writes policy.json.
func (p *ZeroPolicy) Save(dir string) error { return writeJSON(filepath.Join(dir, "policy.json"), p) }

func loadZeroPolicy(dir string) (Policy, error) {
	b, err := os.ReadFile(filepath.Join(dir, "policy.json"))
	if err != nil {
		return nil, fmt.Errorf("rl: load policy: %w", err)
	}
	var p ZeroPolicy
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("rl: load policy %s: %w", dir, err)
	}
	if p.Net == nil || p.Simulations <= 0 {
		return nil, fmt.Errorf("rl: load policy %s: no network or simulations", dir)
	}
	if err := p.Net.Check(); err != nil {
		return nil, fmt.Errorf("rl: load policy %s: %w", dir, err)
	}
	return &p, nil
}

// PlayMinimax plays n games against the perfect player (which picks
// uniformly among optimal moves), half as X and half as O, and returns the
// agent's wins, draws and losses.
func PlayMinimax(ctx context.Context, p *ZeroPolicy, n int, seed uint64) (wins, draws, losses int, err error) {
	mm := NewMinimax()
	rng := rand.New(rand.NewPCG(seed, 5))
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			return wins, draws, losses, ctx.Err()
		}
		agent := int8(1)
		if i%2 == 1 {
			agent = -1
		}
		g := NewTicTacToe()
		for {
			over, w := g.Over()
			if over {
				switch w {
				case 0:
					draws++
				case agent:
					wins++
				default:
					losses++
				}
				break
			}
			var mv int
			if g.ToMove == agent {
				mv = p.Move(g)
			} else {
				opts := mm.Moves(g)
				mv = opts[rng.IntN(len(opts))]
			}
			if g, err = g.Play(mv); err != nil {
				return wins, draws, losses, err
			}
		}
	}
	return wins, draws, losses, nil
}

// TrainZero trains the policy-value network only by self-play (Silver et
// al. 2017): games played by MCTS with root Dirichlet noise, positions
// labelled with the visit distribution and the final result, the loss
// (z - v)^2 - pi . log p (+ weight decay), Adam. cfg.Episodes is the number
// of self-play games. Returns, per game, the self-play result for X.
func TrainZero(ctx context.Context, cfg RunConfig, h ZeroConfig, progress func(int, float64)) (*Run, error) {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xa0))
	net, err := nn.NewResNet("pv", 18, h.Width, h.Blocks, 9, h.ValueHidden, rng)
	if err != nil {
		return nil, err
	}
	g := gorgonia.NewGraph()
	x := newInput(g, "x", h.Batch, 18)
	piT := newInput(g, "pi", h.Batch, 9)
	zT := newInput(g, "z", h.Batch, 1)
	logits, value, params, err := net.Build(x.node)
	if err != nil {
		return nil, err
	}
	ce, err := nn.SoftCrossEntropy(logits, piT.node)
	if err != nil {
		return nil, err
	}
	mse, err := nn.MSE(value, zT.node)
	if err != nil {
		return nil, err
	}
	loss, err := gorgonia.Add(ce, mse)
	if err != nil {
		return nil, fmt.Errorf("rl: alphazero loss: %w", err)
	}
	m, err := nn.NewMachine(loss, params)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	opt := nn.NewAdam(0.9, 0.999, 1e-8, h.WeightDecay)
	pol := &ZeroPolicy{Net: net, Simulations: h.PlaySimulations, CPuct: h.CPuct}
	run := &Run{Summary: Summary{Config: cfg, SolvedAt: -1}, Policy: pol}
	var buf []zeroSample
	search := &MCTS{Eval: &netEvaluator{net: net}, Simulations: h.Simulations, CPuct: h.CPuct,
		DirichletAlpha: h.DirichletAlpha, NoiseFrac: h.NoiseFrac}
	for game := 0; game < cfg.Episodes; game++ {
		if ctx.Err() != nil {
			return run, ctx.Err()
		}
		type step struct {
			pos TicTacToe
			pi  [9]float32
		}
		var hist []step
		pos := NewTicTacToe()
		var winner int8
		for move := 0; ; move++ {
			if over, w := pos.Over(); over {
				winner = w
				break
			}
			n := search.Search(pos, rng)
			var st step
			st.pos = pos
			total := 0.0
			for _, c := range n {
				total += c
			}
			for i, c := range n {
				st.pi[i] = float32(c / total)
			}
			hist = append(hist, st)
			var mv int
			if move < h.TempMoves {
				u := rng.Float64() * total
				for i, c := range n {
					if u < c {
						mv = i
						break
					}
					u -= c
				}
				if n[mv] == 0 {
					mv = pos.Legal()[0]
				}
			} else {
				mv = -1
				for _, l := range pos.Legal() {
					if mv < 0 || n[l] > n[mv] {
						mv = l
					}
				}
			}
			if pos, err = pos.Play(mv); err != nil {
				return run, err
			}
		}
		for _, st := range hist {
			z := float32(0)
			if winner != 0 {
				z = -1
				if winner == st.pos.ToMove {
					z = 1
				}
			}
			feat := st.pos.Features(nil)
			for _, perm := range symmetries {
				s := zeroSample{feat: make([]float32, 18), z: z}
				for i, src := range perm {
					s.feat[i], s.feat[9+i] = feat[src], feat[9+src]
					s.pi[i] = st.pi[src]
				}
				buf = append(buf, s)
			}
		}
		if len(buf) > h.Buffer {
			buf = buf[len(buf)-h.Buffer:]
		}
		run.Summary.Returns = append(run.Summary.Returns, float64(winner))
		if progress != nil {
			progress(game, float64(winner))
		}
		if (game+1)%h.GamesPerIter == 0 && len(buf) >= h.Batch {
			for s := 0; s < h.StepsPerIter; s++ {
				for i := 0; i < h.Batch; i++ {
					smp := &buf[rng.IntN(len(buf))]
					copy(x.data[i*18:(i+1)*18], smp.feat)
					copy(piT.data[i*9:(i+1)*9], smp.pi[:])
					zT.data[i] = smp.z
				}
				if _, err := m.Run(); err != nil {
					return run, err
				}
				if err := opt.Step(m.Params(), h.LR); err != nil {
					return run, err
				}
			}
		}
	}
	wins, draws, losses, err := PlayMinimax(ctx, pol, cfg.EvalEpisodes, cfg.Seed+1)
	if err != nil {
		return run, err
	}
	run.Summary.EvalMean = float64(wins-losses) / float64(wins+draws+losses)
	run.Summary.EvalEpisode = cfg.EvalEpisodes
	if losses == 0 {
		run.Summary.SolvedAt = cfg.Episodes
	}
	return run, nil
}
