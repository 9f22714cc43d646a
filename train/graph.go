package train

import (
	"fmt"

	"gorgonia.org/gorgonia"

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
// With local conditioning, each sequence's mel frames (Mels) go through
// the upsampling network (one Op per layer, wavenet.LocalConfig's causal
// transposed convolutions), the rows from each sequence's offset are taken
// (one window Op), and every layer adds their 1x1 projection Local.W to
// its gate pre-activations (a planar Conv and an add before Gated):
//
//	mels ─ Up_0 ─ ... ─ Up_n ─ window(Offsets) ─ c ─┬─ Conv 1x1 (layers.0.local) ─ + gate of layer 0
//	                                                 └─ ... every layer
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
	// With local conditioning, Mels (Seqs*Frames, C) holds Frames mel
	// frames per sequence and Offsets (Seqs) the row of each sequence's
	// upsampled frames that conditions its first prediction (SetLocal);
	// both are nil without it.
	Frames  int
	Mels    []float32
	Offsets []int32

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
	return NewGraphLoss(m, seqs, length, lossRows, nil)
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

// SetLocal copies a batch's local conditioning into the graph: mels[s]
// holds Frames frames of sequence s ((Frames, C) row-major) and offs[s] the
// row of their upsampling that conditions the prediction from the
// sequence's first code (see LocalWindow).
func (gr *Graph) SetLocal(mels [][]float32, offs []int) error {
	lc := gr.model.Config.Local
	if lc == nil {
		return fmt.Errorf("train: local conditioning given to a graph of a model without it")
	}
	if len(mels) != gr.Seqs || len(offs) != gr.Seqs {
		return fmt.Errorf("train: local conditioning of %d sequences (%d offsets), graph takes %d", len(mels), len(offs), gr.Seqs)
	}
	n := gr.Frames * lc.Channels
	for s, f := range mels {
		if len(f) != n {
			return fmt.Errorf("train: sequence %d has %d mel values, graph takes %d frames of %d", s, len(f), gr.Frames, lc.Channels)
		}
		if offs[s] < 0 || offs[s]+gr.Len > gr.Frames*lc.Hop {
			return fmt.Errorf("train: sequence %d: offset %d outside the %d upsampled rows", s, offs[s], gr.Frames*lc.Hop)
		}
		copy(gr.Mels[s*n:], f)
		gr.Offsets[s] = int32(offs[s])
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
