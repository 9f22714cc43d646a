package train

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wavenet-go/wavenet/nn"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Graph is one replica of the training graph of a wavenet.Model for a
// fixed batch shape: Seqs sequences of Len input codes each, with the loss
// on the last LossRows predictions of each sequence. Its weight nodes alias
// the model's slices (no copy): an optimizer step on the model is seen by
// the next Run.
//
// One layer of the graph, on channels-last (Seqs*Len, C) tensors:
//
//	x ─ Conv(K, d) + bias + Σ cond ─ Gated ─ z ─┬─ Conv 1x1 (Res) + bias + x ─ next x
//	                                            └─ Conv 1x1 (Skip) + bias, last LossRows rows only ─ Σ layers
//
// then ReLU, Post1, ReLU, Post2 and the softmax cross-entropy on the
// (Seqs*LossRows, Q) logits. Each "+" chain is one nn.ConvSum Op (the
// biases, conditioning rows and residual are written first and the GEMMs
// accumulate onto them), and the skip outputs of all layers are one
// ConvSum with a term per layer. Each layer runs only on the time steps
// that later layers and the loss rows need (for `small` with 2047 + 4000
// codes, 5,300 of the 6,047 on average).
type Graph struct {
	Seqs, Len, LossRows int
	// Codes (Seqs*Len) are the input codes, Targets (Seqs*LossRows) the
	// codes to predict, Cond[c] (Seqs) the index of condition c for each
	// sequence. Fill them (SetBatch) before Run; never reslice them.
	Codes, Targets []int32
	Cond           [][]int32

	model  *wavenet.Model
	g      *gorgonia.ExprGraph
	vm     gorgonia.VM
	loss   *gorgonia.Node
	logits *gorgonia.Node
	// nodes[i] is the node of model.Params()[i], nil when the loss does
	// not depend on it (the last layer's residual output is never used).
	nodes []*gorgonia.Node
}

// NewGraph builds and compiles the graph for m. length is the number of
// input codes per sequence and lossRows the number of predictions per
// sequence that carry the loss (at most length; length =
// ReceptiveField()-1+lossRows gives every loss row a full receptive field).
func NewGraph(m *wavenet.Model, seqs, length, lossRows int) (*Graph, error) {
	cfg := m.Config
	if seqs < 1 || lossRows < 1 || lossRows > length {
		return nil, fmt.Errorf("train: graph of %d sequences of %d codes with loss on %d rows", seqs, length, lossRows)
	}
	if err := m.CheckShapes(); err != nil {
		return nil, err
	}
	gr := &Graph{
		Seqs: seqs, Len: length, LossRows: lossRows,
		Codes:   make([]int32, seqs*length),
		Targets: make([]int32, seqs*lossRows),
		model:   m,
		g:       gorgonia.NewGraph(),
	}
	for range cfg.Conditions {
		gr.Cond = append(gr.Cond, make([]int32, seqs))
	}
	params := m.Params()
	byName := map[string]*gorgonia.Node{}
	for _, p := range params {
		v := tensor.New(tensor.WithShape(p.Shape...), tensor.WithBacking(p.Data))
		var n *gorgonia.Node
		if len(p.Shape) == 1 {
			n = gorgonia.NewVector(gr.g, tensor.Float32, gorgonia.WithShape(p.Shape...), gorgonia.WithName(p.Name), gorgonia.WithValue(v))
		} else {
			n = gorgonia.NewMatrix(gr.g, tensor.Float32, gorgonia.WithShape(p.Shape...), gorgonia.WithName(p.Name), gorgonia.WithValue(v))
		}
		byName[p.Name] = n
	}
	used := map[string]bool{}
	node := func(name string) *gorgonia.Node {
		n, ok := byName[name]
		if !ok {
			return nil // a bias of a model without biases
		}
		used[name] = true
		return n
	}
	K := cfg.FilterWidth
	from := length - lossRows
	x, err := nn.CodeConv(node("input.weight"), node("input.bias"), gr.Codes, seqs, K)
	if err != nil {
		return nil, err
	}
	// Each layer computes only the times later layers and the loss need:
	// layer i's output z starts at time out[i] (the loss rows for the last
	// layer, then back through each layer's reach (K-1)*dilation), its
	// input x at max(0, out[i]-(K-1)*dilation) = out[i-1].
	out := make([]int, len(m.Layers))
	out[len(out)-1] = from
	for i := len(out) - 1; i > 0; i-- {
		out[i-1] = max(0, out[i]-(K-1)*m.Layers[i].Dilation)
	}
	var zs, skipW, skipB []*gorgonia.Node
	for i, l := range m.Layers {
		p := fmt.Sprintf("layers.%d.", i)
		var conds []nn.CondTable
		for c, cond := range cfg.Conditions {
			conds = append(conds, nn.CondTable{Table: node(p + "cond." + cond.Name), Index: gr.Cond[c]})
		}
		h, err := nn.ConvSum([]*gorgonia.Node{x}, []*gorgonia.Node{node(p + "gate.weight")}, biases(node(p+"gate.bias")), nil, conds,
			nn.ConvSpec{K: K, Dilation: l.Dilation, Seqs: seqs, From: out[i], Len: length, Planes: 2})
		if err != nil {
			return nil, err
		}
		// h is planar (tanh inputs, then sigmoid inputs): the gate runs as
		// two long vectors.
		z, err := nn.GatedPlanar(h)
		if err != nil {
			return nil, err
		}
		zs = append(zs, z)
		skipW = append(skipW, node(p+"skip.weight"))
		if b := node(p + "skip.bias"); b != nil {
			skipB = append(skipB, b)
		}
		if i == len(m.Layers)-1 {
			break // the last residual output feeds nothing
		}
		// x' = x + Res z + b, in one Op.
		x, err = nn.ConvSum([]*gorgonia.Node{z}, []*gorgonia.Node{node(p + "res.weight")}, biases(node(p+"res.bias")), x, nil,
			nn.ConvSpec{K: 1, Dilation: 1, Seqs: seqs, From: out[i], Len: length})
		if err != nil {
			return nil, err
		}
	}
	// The skip outputs of all layers, summed in one Op over the loss rows.
	skips, err := nn.ConvSum(zs, skipW, skipB, nil, nil, nn.ConvSpec{K: 1, Dilation: 1, Seqs: seqs, From: from, Len: length})
	if err != nil {
		return nil, err
	}
	one := nn.ConvSpec{K: 1, Dilation: 1, Seqs: seqs}
	a, err := relu(skips)
	if err != nil {
		return nil, err
	}
	a, err = nn.Conv(a, node("post1.weight"), node("post1.bias"), one)
	if err != nil {
		return nil, err
	}
	if a, err = relu(a); err != nil {
		return nil, err
	}
	if gr.logits, err = nn.Conv(a, node("post2.weight"), node("post2.bias"), one); err != nil {
		return nil, err
	}
	if gr.loss, err = nn.SoftmaxCE(gr.logits, gr.Targets, seqs, 0); err != nil {
		return nil, err
	}
	var wrt gorgonia.Nodes
	gr.nodes = make([]*gorgonia.Node, len(params))
	for i, p := range params {
		if used[p.Name] {
			gr.nodes[i] = byName[p.Name]
			wrt = append(wrt, byName[p.Name])
		}
	}
	grads, err := gorgonia.Grad(gr.loss, wrt...)
	if err != nil {
		return nil, fmt.Errorf("train: gradient graph: %w", err)
	}
	keep := append(append(gorgonia.Nodes{gr.loss, gr.logits}, wrt...), grads...)
	if _, err := gorgonia.ApplyOp(newSink(keep), keep...); err != nil {
		return nil, fmt.Errorf("train: graph: %w", err)
	}
	gr.vm = gorgonia.NewTapeMachine(gr.g, gorgonia.BindDualValues(wrt...))
	return gr, nil
}

// biases is the bias list ConvSum takes for one term: nil without a bias.
func biases(b *gorgonia.Node) []*gorgonia.Node {
	if b == nil {
		return nil
	}
	return []*gorgonia.Node{b}
}

// SetBatch copies a batch into the graph's inputs: segs[s] holds Len+1
// codes (the inputs and, shifted by one, the targets), cond[s] one index
// per condition of the model.
func (gr *Graph) SetBatch(segs [][]int32, cond [][]int) error {
	if len(segs) != gr.Seqs {
		return fmt.Errorf("train: batch of %d sequences, graph takes %d", len(segs), gr.Seqs)
	}
	for s, seg := range segs {
		if len(seg) != gr.Len+1 {
			return fmt.Errorf("train: sequence %d has %d codes, graph takes %d", s, len(seg), gr.Len+1)
		}
		var c []int
		if cond != nil {
			c = cond[s]
		}
		if err := gr.model.CheckInput(seg, c); err != nil {
			return fmt.Errorf("train: sequence %d: %w", s, err)
		}
		copy(gr.Codes[s*gr.Len:], seg[:gr.Len])
		copy(gr.Targets[s*gr.LossRows:], seg[gr.Len+1-gr.LossRows:])
		for i, v := range c {
			gr.Cond[i][s] = int32(v)
		}
	}
	return nil
}

// Run does one forward and backward pass and returns the mean loss in
// nats over the batch's loss rows. Gradients are added to the ones the
// graph holds (see Grads, ZeroGrads).
func (gr *Graph) Run() (float64, error) {
	gr.vm.Reset()
	if err := gr.vm.RunAll(); err != nil {
		return 0, fmt.Errorf("train: run graph: %w", err)
	}
	v := gr.loss.Value()
	switch l := v.(type) {
	case *gorgonia.F32:
		return float64(*l), nil
	}
	return 0, fmt.Errorf("train: loss value of type %T", v)
}

// Logits returns the (Seqs*LossRows, Q) logits of the last Run. The slice
// is reused by the next Run.
func (gr *Graph) Logits() []float32 { return f32(gr.logits.Value()) }

// Grads returns the gradient of each model.Params() entry accumulated by
// Run, nil for parameters the loss does not depend on.
func (gr *Graph) Grads() ([][]float32, error) {
	out := make([][]float32, len(gr.nodes))
	for i, n := range gr.nodes {
		if n == nil {
			continue
		}
		p, err := nn.ParamFromNode(n)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		if p.Grad == nil {
			return nil, fmt.Errorf("train: no gradient for %s (run the graph first)", p.Name)
		}
		out[i] = p.Grad
	}
	return out, nil
}

// ZeroGrads clears the accumulated gradients.
func (gr *Graph) ZeroGrads() error {
	gs, err := gr.Grads()
	if err != nil {
		return err
	}
	for _, g := range gs {
		clear(g)
	}
	return nil
}

// Close releases the graph's machine.
func (gr *Graph) Close() error { return gr.vm.Close() }
