package nn

import (
	"fmt"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
)

// MLP is a multilayer perceptron: Linear layers with the Hidden activation
// between them and Output after the last. Weights are plain slices: the
// gorgonia graph of [MLP.Build] aliases them, so an optimizer step updates
// the MLP that [MLP.Forward] runs, with no copy.
//
// Forward keeps scratch buffers in the MLP: one MLP is not for concurrent
// use (Clone one per goroutine).
type MLP struct {
	Name           string
	Layers         []Linear
	Hidden, Output Activation

	buf [2][]float32
}

// NewMLP returns an MLP with layer sizes sizes[0] (the input) to
// sizes[len-1] (the output), weights drawn with He uniform initialisation
// for ReLU hidden layers and Glorot uniform otherwise, zero biases. name
// prefixes its parameter names ("name.0.w", "name.0.b", ...): give two
// MLPs of one graph different names.
func NewMLP(name string, sizes []int, hidden, output Activation, rng *rand.Rand) (*MLP, error) {
	if len(sizes) < 2 {
		return nil, fmt.Errorf("nn: mlp %s: %d sizes, want input and output at least", name, len(sizes))
	}
	for i, s := range sizes {
		if s <= 0 {
			return nil, fmt.Errorf("nn: mlp %s: size %d is %d, want > 0", name, i, s)
		}
	}
	m := &MLP{Name: name, Hidden: hidden, Output: output}
	for i := 1; i < len(sizes); i++ {
		init := GlorotUniform(rng)
		if hidden == ActReLU && i < len(sizes)-1 {
			init = HeUniform(rng)
		}
		m.Layers = append(m.Layers, NewLinear(sizes[i], sizes[i-1], init))
	}
	return m, nil
}

// In is the input size.
func (m *MLP) In() int { return m.Layers[0].In }

// Out is the output size.
func (m *MLP) Out() int { return m.Layers[len(m.Layers)-1].Out }

// Check reports an MLP whose layers do not chain (after decoding one).
func (m *MLP) Check() error {
	if len(m.Layers) == 0 {
		return fmt.Errorf("nn: mlp %s: no layers", m.Name)
	}
	for i := range m.Layers {
		if err := m.Layers[i].check(); err != nil {
			return fmt.Errorf("nn: mlp %s: layer %d: %w", m.Name, i, err)
		}
		if i > 0 && m.Layers[i].In != m.Layers[i-1].Out {
			return fmt.Errorf("nn: mlp %s: layer %d takes %d inputs, layer %d gives %d", m.Name, i, m.Layers[i].In, i-1, m.Layers[i-1].Out)
		}
	}
	return nil
}

// Build adds the MLP applied to x (N, In), a float32 matrix node, to x's
// graph. It returns the output node (N, Out) and the parameter nodes
// (w, b of each layer, in order), whose values alias the MLP's weights.
// Build once per graph: a second call on the same graph shares nothing.
func (m *MLP) Build(x *gorgonia.Node) (*gorgonia.Node, []*gorgonia.Node, error) {
	if x.Dims() != 2 || x.Shape()[1] != m.In() {
		return nil, nil, fmt.Errorf("nn: mlp %s: input is %v, want (N, %d)", m.Name, x.Shape(), m.In())
	}
	var params []*gorgonia.Node
	for i := range m.Layers {
		w, b := m.Layers[i].Nodes(x.Graph(), fmt.Sprintf("%s.%d", m.Name, i))
		params = append(params, w)
		if b != nil {
			params = append(params, b)
		}
	}
	y, err := m.buildWith(x, params)
	return y, params, err
}

// buildWith builds the MLP from parameter nodes of any float dtype (a
// float64 copy in the gradient check).
func (m *MLP) buildWith(x *gorgonia.Node, params []*gorgonia.Node) (*gorgonia.Node, error) {
	h, k := x, 0
	for i := range m.Layers {
		w := params[k]
		var b *gorgonia.Node
		if m.Layers[i].B != nil {
			b = params[k+1]
			k++
		}
		k++
		var err error
		if h, err = Dense(h, w, b); err != nil {
			return nil, fmt.Errorf("nn: mlp %s: layer %d: %w", m.Name, i, err)
		}
		act := m.Hidden
		if i == len(m.Layers)-1 {
			act = m.Output
		}
		if h, err = act.Node(h); err != nil {
			return nil, fmt.Errorf("nn: mlp %s: layer %d: %w", m.Name, i, err)
		}
	}
	return h, nil
}

// Forward runs the MLP on one input x (In) in plain Go, writes the output
// into dst (Out) and returns it; a nil or short dst is allocated. After the
// first call it does not allocate.
func (m *MLP) Forward(dst, x []float32) []float32 {
	if len(x) < m.In() {
		panic(fmt.Sprintf("nn: mlp %s: input has %d values, want %d", m.Name, len(x), m.In()))
	}
	h := x
	for i := range m.Layers {
		l := &m.Layers[i]
		var out []float32
		if i == len(m.Layers)-1 {
			out = l.Forward(dst, h)
			dst = out
		} else {
			m.buf[i%2] = l.Forward(m.buf[i%2], h)
			out = m.buf[i%2]
		}
		if i == len(m.Layers)-1 {
			m.Output.Apply(out)
		} else {
			m.Hidden.Apply(out)
		}
		h = out
	}
	return dst
}

// ForwardBatch runs the MLP on n inputs x (n, In) into dst (n, Out).
func (m *MLP) ForwardBatch(dst, x []float32, n int) []float32 {
	h := x
	for i := range m.Layers {
		l := &m.Layers[i]
		if i == len(m.Layers)-1 {
			dst = l.ForwardBatch(dst, h, n)
			m.Output.Apply(dst)
			return dst
		}
		m.buf[i%2] = l.ForwardBatch(m.buf[i%2], h, n)
		m.Hidden.Apply(m.buf[i%2])
		h = m.buf[i%2]
	}
	return dst
}

// CopyFrom copies src's weights into m (a DQN target network update);
// the layer shapes must match.
func (m *MLP) CopyFrom(src *MLP) error {
	if len(m.Layers) != len(src.Layers) {
		return fmt.Errorf("nn: mlp %s: copy from %d layers into %d", m.Name, len(src.Layers), len(m.Layers))
	}
	for i := range m.Layers {
		if err := m.Layers[i].copyFrom(&src.Layers[i]); err != nil {
			return fmt.Errorf("nn: mlp %s: layer %d: %w", m.Name, i, err)
		}
	}
	return nil
}

// Clone returns a deep copy of m with the given name.
func (m *MLP) Clone(name string) *MLP {
	c := &MLP{Name: name, Hidden: m.Hidden, Output: m.Output, Layers: make([]Linear, len(m.Layers))}
	for i, l := range m.Layers {
		c.Layers[i] = l.clone()
	}
	return c
}

// Tensors returns the weights by parameter name ("name.0.w", ...), aliasing
// the MLP's slices, e.g. to save them as safetensors.
func (m *MLP) Tensors() map[string][]float32 {
	t := make(map[string][]float32, 2*len(m.Layers))
	for i, l := range m.Layers {
		t[fmt.Sprintf("%s.%d.w", m.Name, i)] = l.W
		if l.B != nil {
			t[fmt.Sprintf("%s.%d.b", m.Name, i)] = l.B
		}
	}
	return t
}
