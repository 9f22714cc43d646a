package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
)

// ResNet is a small policy-value network: the residual tower of AlphaGo
// Zero (Silver et al. 2017, "Mastering the game of Go without human
// knowledge", Methods) with dense layers in place of convolutions and no
// batch normalisation, sized for board games such as tic-tac-toe.
//
//	x (In) ─ Stem (Width, In) ─ ReLU ─┬─ block ─ ... ─ block ─┬─ Policy (Actions, Width) ─ logits
//	                                   │                       └─ Value1 (VH, Width) ─ ReLU ─ Value2 (1, VH) ─ tanh ─ v
//	block:  h ─┬─ A (Width, Width) ─ ReLU ─ B (Width, Width) ─ + ─ ReLU ─ h'
//	           └────────────────────────────────────────────────┘
//
// Like [MLP], the graph of [ResNet.Build] aliases the weights that
// [ResNet.Forward] uses, and one ResNet is not for concurrent use.
type ResNet struct {
	Name           string
	Stem           Linear
	Blocks         []ResBlock
	Policy         Linear
	Value1, Value2 Linear

	h, t, v []float32 // Forward scratch
}

// ResBlock is one residual block of a [ResNet]: h' = ReLU(h + B ReLU(A h)).
type ResBlock struct{ A, B Linear }

// NewResNet returns a ResNet for in inputs and actions policy outputs, with
// blocks residual blocks of the given width and a value head with
// valueHidden units. Weights are He uniform where a ReLU follows, Glorot
// uniform otherwise; each block's B starts at zero, so the tower starts as
// the identity on its stem (the "zero-init residual" of Goyal et al. 2017).
func NewResNet(name string, in, width, blocks, actions, valueHidden int, rng *rand.Rand) (*ResNet, error) {
	if in <= 0 || width <= 0 || blocks < 0 || actions <= 0 || valueHidden <= 0 {
		return nil, fmt.Errorf("nn: resnet %s: sizes in %d, width %d, blocks %d, actions %d, value hidden %d: want > 0 (blocks >= 0)",
			name, in, width, blocks, actions, valueHidden)
	}
	r := &ResNet{Name: name,
		Stem:   NewLinear(width, in, HeUniform(rng)),
		Policy: NewLinear(actions, width, GlorotUniform(rng)),
		Value1: NewLinear(valueHidden, width, HeUniform(rng)),
		Value2: NewLinear(1, valueHidden, GlorotUniform(rng)),
	}
	for range blocks {
		r.Blocks = append(r.Blocks, ResBlock{A: NewLinear(width, width, HeUniform(rng)), B: NewLinear(width, width, Zeros)})
	}
	return r, nil
}

// In is the input size, Actions the policy size.
func (r *ResNet) In() int      { return r.Stem.In }
func (r *ResNet) Actions() int { return r.Policy.Out }

// layers lists the layers in parameter order.
func (r *ResNet) layers() []*Linear {
	ls := []*Linear{&r.Stem}
	for i := range r.Blocks {
		ls = append(ls, &r.Blocks[i].A, &r.Blocks[i].B)
	}
	return append(ls, &r.Policy, &r.Value1, &r.Value2)
}

func (r *ResNet) layerNames() []string {
	ns := []string{"stem"}
	for i := range r.Blocks {
		ns = append(ns, fmt.Sprintf("block%d.a", i), fmt.Sprintf("block%d.b", i))
	}
	return append(ns, "policy", "value1", "value2")
}

// Check reports a ResNet whose layers do not chain (after decoding one).
func (r *ResNet) Check() error {
	w := r.Stem.Out
	ls, ns := r.layers(), r.layerNames()
	for i, l := range ls {
		if err := l.check(); err != nil {
			return fmt.Errorf("nn: resnet %s: %s: %w", r.Name, ns[i], err)
		}
		if l.B == nil {
			return fmt.Errorf("nn: resnet %s: %s has no bias", r.Name, ns[i])
		}
	}
	for i, b := range r.Blocks {
		if b.A.In != w || b.A.Out != w || b.B.In != w || b.B.Out != w {
			return fmt.Errorf("nn: resnet %s: block %d is not %dx%d", r.Name, i, w, w)
		}
	}
	if r.Policy.In != w || r.Value1.In != w || r.Value2.In != r.Value1.Out || r.Value2.Out != 1 {
		return fmt.Errorf("nn: resnet %s: heads do not match width %d", r.Name, w)
	}
	return nil
}

// Build adds the network applied to x (N, In), a float32 matrix node, to
// x's graph. It returns the policy logits (N, Actions), the value (N, 1)
// in (-1, 1) and the parameter nodes (w, b of stem, blocks, policy,
// value1, value2, in that order), whose values alias the weights.
func (r *ResNet) Build(x *gorgonia.Node) (logits, value *gorgonia.Node, params []*gorgonia.Node, err error) {
	if x.Dims() != 2 || x.Shape()[1] != r.In() {
		return nil, nil, nil, fmt.Errorf("nn: resnet %s: input is %v, want (N, %d)", r.Name, x.Shape(), r.In())
	}
	ns := r.layerNames()
	for i, l := range r.layers() {
		w, b := l.Nodes(x.Graph(), r.Name+"."+ns[i])
		params = append(params, w, b)
	}
	logits, value, err = r.buildWith(x, params)
	return logits, value, params, err
}

// buildWith builds the network from parameter nodes of any float dtype (a
// float64 copy in the gradient check).
func (r *ResNet) buildWith(x *gorgonia.Node, p []*gorgonia.Node) (logits, value *gorgonia.Node, err error) {
	dense := func(h *gorgonia.Node, i int, act Activation) *gorgonia.Node {
		if err != nil {
			return nil
		}
		var y *gorgonia.Node
		if y, err = Dense(h, p[2*i], p[2*i+1]); err != nil {
			return nil
		}
		if y, err = act.Node(y); err != nil {
			return nil
		}
		return y
	}
	h := dense(x, 0, ActReLU)
	for b := range r.Blocks {
		t := dense(h, 1+2*b, ActReLU)
		t = dense(t, 2+2*b, ActLinear)
		if err != nil {
			return nil, nil, err
		}
		if t, err = gorgonia.Add(h, t); err != nil {
			return nil, nil, err
		}
		if h, err = ActReLU.Node(t); err != nil {
			return nil, nil, err
		}
	}
	k := 1 + 2*len(r.Blocks)
	logits = dense(h, k, ActLinear)
	v := dense(h, k+1, ActReLU)
	value = dense(v, k+2, ActTanh)
	if err != nil {
		return nil, nil, fmt.Errorf("nn: resnet %s: %w", r.Name, err)
	}
	return logits, value, nil
}

// Forward runs the network on one input x (In) in plain Go, writes the
// policy logits into logits (Actions; nil or short is allocated) and
// returns them with the value. After the first call it does not allocate.
func (r *ResNet) Forward(logits, x []float32) ([]float32, float32) {
	if len(x) < r.In() {
		panic(fmt.Sprintf("nn: resnet %s: input has %d values, want %d", r.Name, len(x), r.In()))
	}
	r.h = r.Stem.Forward(r.h, x)
	ActReLU.Apply(r.h)
	for i := range r.Blocks {
		b := &r.Blocks[i]
		r.t = b.A.Forward(r.t, r.h)
		ActReLU.Apply(r.t)
		r.v = b.B.Forward(r.v, r.t)
		for j := range r.h {
			r.h[j] = max(r.h[j]+r.v[j], 0)
		}
	}
	logits = r.Policy.Forward(logits, r.h)
	r.t = r.Value1.Forward(r.t, r.h)
	ActReLU.Apply(r.t)
	r.v = r.Value2.Forward(r.v, r.t)
	return logits, float32(math.Tanh(float64(r.v[0])))
}

// CopyFrom copies src's weights into r; the shapes must match.
func (r *ResNet) CopyFrom(src *ResNet) error {
	if len(r.Blocks) != len(src.Blocks) {
		return fmt.Errorf("nn: resnet %s: copy from %d blocks into %d", r.Name, len(src.Blocks), len(r.Blocks))
	}
	sl, ns := src.layers(), r.layerNames()
	for i, l := range r.layers() {
		if err := l.copyFrom(sl[i]); err != nil {
			return fmt.Errorf("nn: resnet %s: %s: %w", r.Name, ns[i], err)
		}
	}
	return nil
}

// Clone returns a deep copy of r with the given name.
func (r *ResNet) Clone(name string) *ResNet {
	c := &ResNet{Name: name, Stem: r.Stem.clone(), Policy: r.Policy.clone(), Value1: r.Value1.clone(), Value2: r.Value2.clone()}
	for _, b := range r.Blocks {
		c.Blocks = append(c.Blocks, ResBlock{A: b.A.clone(), B: b.B.clone()})
	}
	return c
}

// Tensors returns the weights by parameter name ("name.stem.w", ...),
// aliasing the network's slices.
func (r *ResNet) Tensors() map[string][]float32 {
	t := make(map[string][]float32)
	ns := r.layerNames()
	for i, l := range r.layers() {
		t[r.Name+"."+ns[i]+".w"] = l.W
		t[r.Name+"."+ns[i]+".b"] = l.B
	}
	return t
}
