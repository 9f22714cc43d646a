package nn

import (
	"fmt"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
)

// DenseNetConfig describes a [DenseNet]: DenseNet-BC (Huang et al. 2017,
// "Densely connected convolutional networks", arXiv:1608.06993) sized for
// small spectrograms:
//
//	x ─ stem 3x3/s ─ BN ─ ReLU ─ block ─ transition ─ block ─ ... ─ block ─ BN ─ ReLU ─ global avg pool ─ features
//
//	dense layer:  h ─┬─ BN ─ ReLU ─ 1x1 (Bottleneck*Growth) ─ BN ─ ReLU ─ 3x3 (Growth) ─┬─ concat ─ h'
//	                 └──────────────────────────────────────────────────────────────────┘
//	transition:   h (C) ─ BN ─ ReLU ─ 1x1 (floor(Theta C)) ─ 2x2 average pool
//
// A block of L layers adds L*Growth channels; a transition follows every
// block but the last. As with [MobileNet], the output is the pooled
// feature vector and classification heads are the caller's.
type DenseNetConfig struct {
	In         int     // input channels
	Stem       int     // stem output channels (2*Growth in the paper)
	StemStride int     // 0 means 1
	Growth     int     // growth rate k
	Blocks     []int   // layers per dense block
	Theta      float64 // transition compression; 0 means 0.5
	Bottleneck int     // bottleneck width in units of Growth; 0 means 4
}

// DenseNet is the network of a [DenseNetConfig] with plain float32 weights
// (see [MobileNet] for Build, Forward and concurrency).
type DenseNet struct {
	Name        string
	Config      DenseNetConfig
	Stem        ConvBN
	Blocks      [][]DenseLayer
	Transitions []ConvBN
	Final       *BatchNorm

	feat, next, mid, grow, tmp []float32
}

// DenseLayer is one layer of a dense block: both units pre-activation.
type DenseLayer struct{ Bottleneck, Conv ConvBN }

// NewDenseNet returns a network for cfg with He normal weights and fresh
// BatchNorms. name prefixes the parameter names.
func NewDenseNet(name string, cfg DenseNetConfig, rng *rand.Rand) (*DenseNet, error) {
	if cfg.StemStride == 0 {
		cfg.StemStride = 1
	}
	if cfg.Theta == 0 {
		cfg.Theta = 0.5
	}
	if cfg.Bottleneck == 0 {
		cfg.Bottleneck = 4
	}
	if cfg.In < 1 || cfg.Stem < 1 || cfg.StemStride < 1 || cfg.Growth < 1 || len(cfg.Blocks) == 0 || !(cfg.Theta > 0 && cfg.Theta <= 1) || cfg.Bottleneck < 1 {
		return nil, fmt.Errorf("nn: densenet %s: bad config %+v", name, cfg)
	}
	d := &DenseNet{Name: name, Config: cfg}
	var err error
	if d.Stem, err = NewConvBN(conv3x3(cfg.In, cfg.Stem, cfg.StemStride, 1), ActReLU, false, rng); err != nil {
		return nil, fmt.Errorf("nn: densenet %s: stem: %w", name, err)
	}
	c := cfg.Stem
	for b, layers := range cfg.Blocks {
		if layers < 1 {
			return nil, fmt.Errorf("nn: densenet %s: block %d has %d layers", name, b, layers)
		}
		var blk []DenseLayer
		for range layers {
			var l DenseLayer
			if l.Bottleneck, err = NewConvBN(conv1x1(c, cfg.Bottleneck*cfg.Growth), ActReLU, true, rng); err != nil {
				return nil, err
			}
			if l.Conv, err = NewConvBN(conv3x3(cfg.Bottleneck*cfg.Growth, cfg.Growth, 1, 1), ActReLU, true, rng); err != nil {
				return nil, err
			}
			blk = append(blk, l)
			c += cfg.Growth
		}
		d.Blocks = append(d.Blocks, blk)
		if b < len(cfg.Blocks)-1 {
			out := max(1, int(cfg.Theta*float64(c)))
			t, err := NewConvBN(conv1x1(c, out), ActReLU, true, rng)
			if err != nil {
				return nil, err
			}
			d.Transitions = append(d.Transitions, t)
			c = out
		}
	}
	d.Final = NewBatchNorm(c)
	return d, nil
}

// Features is the size of the output feature vector.
func (d *DenseNet) Features() int { return d.Final.C }

// units lists the ConvBN units with their names, in parameter order.
func (d *DenseNet) units() ([]*ConvBN, []string) {
	us, ns := []*ConvBN{&d.Stem}, []string{d.Name + ".stem"}
	for b := range d.Blocks {
		for l := range d.Blocks[b] {
			p := fmt.Sprintf("%s.block%d.layer%d.", d.Name, b, l)
			us, ns = append(us, &d.Blocks[b][l].Bottleneck, &d.Blocks[b][l].Conv), append(ns, p+"bottleneck", p+"conv")
		}
		if b < len(d.Transitions) {
			us, ns = append(us, &d.Transitions[b]), append(ns, fmt.Sprintf("%s.transition%d", d.Name, b))
		}
	}
	return us, ns
}

// Params returns the trainable weights, named, in the order of Build's
// parameter nodes (the final BN's gamma and beta last).
func (d *DenseNet) Params() []Param {
	ps := unitParams(d.units())
	f := d.Name + ".final.bn"
	return append(ps, Param{Name: f + ".gamma", Value: d.Final.Gamma}, Param{Name: f + ".beta", Value: d.Final.Beta})
}

// Buffers returns the BN running statistics, named.
func (d *DenseNet) Buffers() []Param {
	return append(unitBuffers(d.units()), bnBuffers(d.Final, d.Name+".final.bn")...)
}

// Tensors returns every parameter and buffer with its shape, in a stable
// order (as [MobileNet.Tensors], the final BN last), for a checkpoint.
func (d *DenseNet) Tensors() []NamedTensor {
	return append(unitTensors(d.units()), bnTensors(d.Final, d.Name+".final.bn")...)
}

// Build adds the network applied to x (N, In, H, W) to x's graph and
// returns the pooled features (N, Features) and the parameter nodes (in
// the order of Params); train as in [MobileNet.Build].
func (d *DenseNet) Build(x *gorgonia.Node, train bool) (*gorgonia.Node, []*gorgonia.Node, error) {
	if x.Dims() != 4 || x.Shape()[1] != d.Config.In {
		return nil, nil, fmt.Errorf("nn: densenet %s: input is %v, want (N, %d, H, W)", d.Name, x.Shape(), d.Config.In)
	}
	b := &unitGraph{train: train}
	us, ns := d.units()
	h := b.apply(us[0], x, ns[0])
	k := 1
	for i := range d.Blocks {
		for range d.Blocks[i] {
			t := b.apply(us[k], h, ns[k])
			t = b.apply(us[k+1], t, ns[k+1])
			k += 2
			h = b.then(h, func(h *gorgonia.Node) (*gorgonia.Node, error) { return ConcatChannels(h, t) })
		}
		if i < len(d.Transitions) {
			h = b.apply(us[k], h, ns[k])
			k++
			h = b.then(h, func(h *gorgonia.Node) (*gorgonia.Node, error) { return AvgPool2D(h, 2) })
		}
	}
	var fp []*gorgonia.Node
	h = b.then(h, func(h *gorgonia.Node) (y *gorgonia.Node, err error) {
		y, fp, err = d.Final.Build2D(h, d.Name+".final.bn", train)
		return y, err
	})
	h = b.then(h, ActReLU.Node)
	h = b.then(h, GlobalAvgPool2D)
	if b.err != nil {
		return nil, nil, fmt.Errorf("nn: densenet %s: %w", d.Name, b.err)
	}
	return h, append(b.params, fp...), nil
}

// Forward runs the network on x (n, In, h, w) in plain Go and writes the
// pooled features (n, Features) into dst, returned; a nil or short dst is
// allocated. After the first call with a given input size it does not
// allocate.
func (d *DenseNet) Forward(dst, x []float32, n, h, w int) []float32 {
	if len(x) < n*d.Config.In*h*w {
		panic(fmt.Sprintf("nn: densenet %s: input has %d values, want %d", d.Name, len(x), n*d.Config.In*h*w))
	}
	oh, ow := d.Stem.Spec.OutHW(h, w)
	h, w = d.Stem.Forward(grow(&d.feat, n*d.Stem.Spec.OutC*oh*ow), x, &d.tmp, n, h, w)
	c := d.Stem.Spec.OutC
	for b, blk := range d.Blocks {
		for i := range blk {
			l := &blk[i]
			hw := h * w
			mid := grow(&d.mid, n*l.Bottleneck.Spec.OutC*hw)
			l.Bottleneck.Forward(mid, d.feat, &d.tmp, n, h, w)
			g := grow(&d.grow, n*l.Conv.Spec.OutC*hw)
			l.Conv.Forward(g, mid, &d.tmp, n, h, w)
			next := grow(&d.next, n*(c+l.Conv.Spec.OutC)*hw)
			ConcatChannelsForward(next, [][]float32{d.feat, g}, []int{c, l.Conv.Spec.OutC}, n, hw)
			d.feat, d.next = d.next, d.feat
			c += l.Conv.Spec.OutC
		}
		if b < len(d.Transitions) {
			t := &d.Transitions[b]
			mid := grow(&d.mid, n*t.Spec.OutC*h*w)
			t.Forward(mid, d.feat, &d.tmp, n, h, w)
			c = t.Spec.OutC
			AvgPool2DForward(grow(&d.feat, n*c*(h/2)*(w/2)), mid, n, c, h, w, 2)
			h, w = h/2, w/2
		}
	}
	f := d.Final.Forward2D(d.feat, d.feat, n, h*w)
	ActReLU.Apply(f)
	if cap(dst) < n*c {
		dst = make([]float32, n*c)
	}
	dst = dst[:n*c]
	GlobalAvgPool2DForward(dst, f, h*w)
	return dst
}

// Summary returns the per-layer table for one h x w input: a row per
// unit, the transitions' pooling, the final BN and the global pooling.
func (d *DenseNet) Summary(h, w int) *Summary {
	s := &Summary{}
	us, ns := d.units()
	h, w = us[0].summarize(s, ns[0], h, w)
	c := d.Stem.Spec.OutC
	k := 1
	for b := range d.Blocks {
		for range d.Blocks[b] {
			us[k].summarize(s, ns[k], h, w)
			us[k+1].summarize(s, ns[k+1], h, w)
			c += us[k+1].Spec.OutC
			k += 2
		}
		if b < len(d.Transitions) {
			us[k].summarize(s, ns[k], h, w)
			c = us[k].Spec.OutC
			h, w = h/2, w/2
			s.Add(fmt.Sprintf("%s.transition%d.pool", d.Name, b), []int{c, h, w}, 0, 0)
			k++
		}
	}
	s.Add(d.Name+".final.bn", []int{c, h, w}, 2*c, 0)
	s.Add(d.Name+".pool", []int{c}, 0, 0)
	return s
}
