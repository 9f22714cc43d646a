package train

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wavenet-go/wavenet/nn"
	"github.com/wavenet-go/wavenet/wavenet"
)

// LossHead builds a training loss on the logits (Seqs*LossRows, Q) of a
// graph, whose hard targets are targets (Seqs*LossRows codes, filled by
// SetBatch): the hook of losses other than the softmax cross-entropy, such
// as knowledge distillation (package compress/retrain). It returns the
// scalar loss and the extra input nodes it made (a teacher's logits, say),
// which are kept alive to the end of the tape like the weights.
type LossHead func(g *gorgonia.ExprGraph, logits *gorgonia.Node, targets []int32, seqs int) (loss *gorgonia.Node, inputs gorgonia.Nodes, err error)

// NewGraphLoss is NewGraph with the loss built by head (nil: the softmax
// cross-entropy of NewGraph, which is NewGraphLoss with a nil head).
func NewGraphLoss(m *wavenet.Model, seqs, length, lossRows int, head LossHead) (*Graph, error) {
	return newGraph(m, seqs, length, lossRows, 0, head)
}

// newGraph is NewGraphLoss with frames mel frames per sequence for a model
// with local conditioning (0: LocalFrames of length).
func newGraph(m *wavenet.Model, seqs, length, lossRows, frames int, head LossHead) (*Graph, error) {
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
	if lc := cfg.Local; lc != nil {
		if frames == 0 {
			frames = LocalFrames(*lc, length)
		}
		if frames*lc.Hop < LocalMargin(*lc)*lc.Hop+lc.Hop-1+length {
			return nil, fmt.Errorf("train: graph of %d codes with %d mel frames per sequence, want at least %d", length, frames, LocalFrames(*lc, length))
		}
		gr.Frames = frames
		gr.Mels = make([]float32, seqs*frames*lc.Channels)
		gr.Offsets = make([]int32, seqs)
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
	var extra gorgonia.Nodes
	var err error
	// local (Seqs*Len, C): the upsampled mels, row t for the prediction
	// from code t (see wavenet.Model.ForwardLocal).
	var local *gorgonia.Node
	if lc := cfg.Local; lc != nil {
		mels := gorgonia.NewMatrix(gr.g, tensor.Float32, gorgonia.WithShape(seqs*gr.Frames, lc.Channels), gorgonia.WithName("mels"),
			gorgonia.WithValue(tensor.New(tensor.WithShape(seqs*gr.Frames, lc.Channels), tensor.WithBacking(gr.Mels))))
		extra = append(extra, mels)
		local = mels
		for i, s := range lc.Scales {
			w := node(fmt.Sprintf("upsample.%d.weight", i))
			if lc.RepeatConv() {
				local, err = repeatConv(local, w, seqs, s, lc.Width, lc.FreqKernel())
			} else {
				local, err = upsample(local, w, seqs, s, lc.Width)
			}
			if err != nil {
				return nil, err
			}
		}
		if local, err = window(local, seqs, length, gr.Offsets); err != nil {
			return nil, err
		}
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
		if local != nil {
			// The local projection, planar like h, added to it.
			l, err := nn.Conv(local, node(p+"local.weight"), nil,
				nn.ConvSpec{K: 1, Dilation: 1, Seqs: seqs, From: out[i], Len: length, Planes: 2})
			if err != nil {
				return nil, err
			}
			if h, err = add(h, l); err != nil {
				return nil, err
			}
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
	var headIn gorgonia.Nodes
	if head == nil {
		gr.loss, err = nn.SoftmaxCE(gr.logits, gr.Targets, seqs, 0)
	} else {
		gr.loss, headIn, err = head(gr.g, gr.logits, gr.Targets, seqs)
	}
	extra = append(extra, headIn...)
	if err != nil {
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
	keep := append(append(append(gorgonia.Nodes{gr.loss, gr.logits}, wrt...), grads...), extra...)
	if _, err := gorgonia.ApplyOp(newSink(keep), keep...); err != nil {
		return nil, fmt.Errorf("train: graph: %w", err)
	}
	gr.vm = gorgonia.NewTapeMachine(gr.g, gorgonia.BindDualValues(wrt...))
	return gr, nil
}
