package rl

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wavenet-go/wavenet/nn"
)

// input is a float32 matrix node whose backing slice the caller fills
// before each run.
type input struct {
	node *gorgonia.Node
	data []float32
}

func newInput(g *gorgonia.ExprGraph, name string, shape ...int) input {
	n := 1
	for _, s := range shape {
		n *= s
	}
	d := make([]float32, n)
	t := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
	var node *gorgonia.Node
	if len(shape) == 1 {
		node = gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(shape...), gorgonia.WithName(name), gorgonia.WithValue(t))
	} else {
		node = gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(shape...), gorgonia.WithName(name), gorgonia.WithValue(t))
	}
	return input{node: node, data: d}
}

// NetPolicy acts greedily on an MLP's outputs (Q values or policy logits).
type NetPolicy struct {
	Agent string  `json:"agent"`
	Net   *nn.MLP `json:"net"`
	out   []float32
	in    []float32
}

// Act returns the action of largest output for an observation.
func (p *NetPolicy) Act(obs []float64) (int, error) {
	if len(obs) != p.Net.In() {
		return 0, fmt.Errorf("rl: observation has %d values, want %d", len(obs), p.Net.In())
	}
	p.in = p.in[:0]
	for _, v := range obs {
		p.in = append(p.in, float32(v))
	}
	p.out = p.Net.Forward(p.out, p.in)
	best := 0
	for i, v := range p.out {
		if v > p.out[best] {
			best = i
		}
	}
	return best, nil
}

// Save writes policy.json.
func (p *NetPolicy) Save(dir string) error { return writeJSON(filepath.Join(dir, "policy.json"), p) }

func loadNetPolicy(dir string) (Policy, error) {
	b, err := os.ReadFile(filepath.Join(dir, "policy.json"))
	if err != nil {
		return nil, fmt.Errorf("rl: load policy: %w", err)
	}
	var p NetPolicy
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("rl: load policy %s: %w", dir, err)
	}
	if p.Net == nil {
		return nil, fmt.Errorf("rl: load policy %s: no network", dir)
	}
	if err := p.Net.Check(); err != nil {
		return nil, fmt.Errorf("rl: load policy %s: %w", dir, err)
	}
	return &p, nil
}

// snapshot returns a copy of the policy's network, for keeping the best.
func (p *NetPolicy) snapshot() *NetPolicy {
	return &NetPolicy{Agent: p.Agent, Net: p.Net.Clone(p.Net.Name)}
}
