package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
)

// MobileNetConfig describes a [MobileNet]: a 3x3 stem convolution, then a
// stack of blocks, each a MobileNet v1 depthwise-separable block (Howard
// et al. 2017, arXiv:1704.04861) or a MobileNet v2 inverted residual
// (Sandler et al. 2018, arXiv:1801.04381):
//
//	v1 (Expand 0):  x ─ dw 3x3/s ─ BN ─ ReLU ─ pw 1x1 ─ BN ─ ReLU ─ y
//	v2 (Expand t):  x ─┬─ pw 1x1 (t C) ─ BN ─ ReLU6 ─ dw 3x3/s ─ BN ─ ReLU6 ─ pw 1x1 ─ BN ─┬─ y
//	                   └──────────── identity when s = 1 and C = Out ───────────────────────┘ (+)
//
// (t = 1 has no expansion layer). Channel counts are multiplied by the width
// multiplier Alpha and rounded (at least 1). The network ends with global
// average pooling: it returns features, and classification heads are the
// caller's ([Linear] / [Dense] on the (N, Features) output, [Dropout]
// before them if wanted), so one trunk can carry several heads.
type MobileNetConfig struct {
	In         int // input channels (1 for a log-mel image)
	Stem       int // stem output channels, before Alpha
	StemStride int // 0 means 2
	Blocks     []MobileBlock
	Alpha      float64 // width multiplier; 0 means 1
}

// MobileBlock is one block of a [MobileNetConfig]: Out channels (before
// Alpha), the depthwise convolution's Stride, and Expand, 0 for a v1
// block or the expansion factor t >= 1 of a v2 inverted residual.
type MobileBlock struct {
	Out, Stride, Expand int
}

// MobileNet is the network of a [MobileNetConfig] with plain float32
// weights: the graph of Build aliases them, and Forward runs the same
// network in plain Go with the BN running statistics. One MobileNet is not
// for concurrent use of Forward (it keeps scratch buffers).
type MobileNet struct {
	Name   string
	Config MobileNetConfig
	Stem   ConvBN
	Blocks []MobileNetBlock

	buf [3][]float32
	tmp []float32
}

// MobileNetBlock is the weights of one block: Expand is nil for v1 blocks
// and v2 blocks with t = 1; Residual says whether the input is added.
type MobileNetBlock struct {
	Expand   *ConvBN
	DW, PW   ConvBN
	Residual bool
}

func (c MobileNetConfig) width(ch int) int {
	a := c.Alpha
	if a == 0 {
		a = 1
	}
	return max(1, int(math.Round(float64(ch)*a)))
}

// NewMobileNet returns a network for cfg with He normal weights and fresh
// BatchNorms. name prefixes the parameter names.
func NewMobileNet(name string, cfg MobileNetConfig, rng *rand.Rand) (*MobileNet, error) {
	if cfg.StemStride == 0 {
		cfg.StemStride = 2
	}
	if cfg.In < 1 || cfg.Stem < 1 || cfg.StemStride < 1 || cfg.Alpha < 0 {
		return nil, fmt.Errorf("nn: mobilenet %s: bad config %+v", name, cfg)
	}
	m := &MobileNet{Name: name, Config: cfg}
	c := cfg.width(cfg.Stem)
	var err error
	if m.Stem, err = NewConvBN(conv3x3(cfg.In, c, cfg.StemStride, 1), ActReLU, false, rng); err != nil {
		return nil, fmt.Errorf("nn: mobilenet %s: stem: %w", name, err)
	}
	for i, b := range cfg.Blocks {
		out := cfg.width(b.Out)
		if b.Out < 1 || b.Stride < 1 || b.Expand < 0 {
			return nil, fmt.Errorf("nn: mobilenet %s: block %d: bad %+v", name, i, b)
		}
		var blk MobileNetBlock
		act, mid := ActReLU, c
		if b.Expand > 0 {
			act, mid = ActReLU6, c*b.Expand
			if b.Expand > 1 {
				e, err := NewConvBN(conv1x1(c, mid), ActReLU6, false, rng)
				if err != nil {
					return nil, err
				}
				blk.Expand = &e
			}
			blk.Residual = b.Stride == 1 && c == out
		}
		if blk.DW, err = NewConvBN(conv3x3(mid, mid, b.Stride, mid), act, false, rng); err != nil {
			return nil, err
		}
		pwAct := act
		if b.Expand > 0 {
			pwAct = ActLinear
		}
		if blk.PW, err = NewConvBN(conv1x1(mid, out), pwAct, false, rng); err != nil {
			return nil, err
		}
		m.Blocks = append(m.Blocks, blk)
		c = out
	}
	return m, nil
}

func conv3x3(in, out, stride, groups int) Conv2DSpec {
	return Conv2DSpec{InC: in, OutC: out, KH: 3, KW: 3, StrideH: stride, StrideW: stride, PadH: 1, PadW: 1, Groups: groups}
}

func conv1x1(in, out int) Conv2DSpec {
	return Conv2DSpec{InC: in, OutC: out, KH: 1, KW: 1, StrideH: 1, StrideW: 1}
}

// Features is the size of the output feature vector (the last block's
// channels).
func (m *MobileNet) Features() int {
	if len(m.Blocks) == 0 {
		return m.Stem.Spec.OutC
	}
	return m.Blocks[len(m.Blocks)-1].PW.Spec.OutC
}

// units lists the ConvBN units with their names, in parameter order.
func (m *MobileNet) units() ([]*ConvBN, []string) {
	us, ns := []*ConvBN{&m.Stem}, []string{m.Name + ".stem"}
	for i := range m.Blocks {
		b := &m.Blocks[i]
		p := fmt.Sprintf("%s.block%d.", m.Name, i)
		if b.Expand != nil {
			us, ns = append(us, b.Expand), append(ns, p+"expand")
		}
		us, ns = append(us, &b.DW, &b.PW), append(ns, p+"dw", p+"pw")
	}
	return us, ns
}

// Params returns the trainable weights, named, in the order of Build's
// parameter nodes.
func (m *MobileNet) Params() []Param { return unitParams(m.units()) }

// Buffers returns the BN running statistics, named.
func (m *MobileNet) Buffers() []Param { return unitBuffers(m.units()) }

// Tensors returns every parameter and buffer with its shape, in a stable
// order (unit by unit: w, bn.gamma, bn.beta, bn.running_mean,
// bn.running_var), for a checkpoint.
func (m *MobileNet) Tensors() []NamedTensor { return unitTensors(m.units()) }

// Build adds the network applied to x (N, In, H, W) to x's graph and
// returns the pooled features (N, Features) and the parameter nodes (in
// the order of Params). With train, BatchNorm uses batch statistics and
// updates its running ones on every run; without, the running ones.
func (m *MobileNet) Build(x *gorgonia.Node, train bool) (*gorgonia.Node, []*gorgonia.Node, error) {
	if x.Dims() != 4 || x.Shape()[1] != m.Config.In {
		return nil, nil, fmt.Errorf("nn: mobilenet %s: input is %v, want (N, %d, H, W)", m.Name, x.Shape(), m.Config.In)
	}
	b := &unitGraph{train: train}
	h := b.apply(&m.Stem, x, m.Name+".stem")
	for i := range m.Blocks {
		blk := &m.Blocks[i]
		p := fmt.Sprintf("%s.block%d.", m.Name, i)
		in := h
		if blk.Expand != nil {
			h = b.apply(blk.Expand, h, p+"expand")
		}
		h = b.apply(&blk.DW, h, p+"dw")
		h = b.apply(&blk.PW, h, p+"pw")
		if blk.Residual {
			h = b.then(h, func(h *gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Add(in, h) })
		}
	}
	f := b.then(h, GlobalAvgPool2D)
	if b.err != nil {
		return nil, nil, fmt.Errorf("nn: mobilenet %s: %w", m.Name, b.err)
	}
	return f, b.params, nil
}

// Forward runs the network on x (n, In, h, w) in plain Go and writes the
// pooled features (n, Features) into dst, returned; a nil or short dst is
// allocated. After the first call with a given input size it does not
// allocate.
func (m *MobileNet) Forward(dst, x []float32, n, h, w int) []float32 {
	if len(x) < n*m.Config.In*h*w {
		panic(fmt.Sprintf("nn: mobilenet %s: input has %d values, want %d", m.Name, len(x), n*m.Config.In*h*w))
	}
	// apply runs u from buffer src (-1: x) into buffer d.
	apply := func(u *ConvBN, src, d int) {
		in := x
		if src >= 0 {
			in = m.buf[src]
		}
		oh, ow := u.Spec.OutHW(h, w)
		out := grow(&m.buf[d], n*u.Spec.OutC*oh*ow)
		h, w = u.Forward(out, in, &m.tmp, n, h, w)
	}
	apply(&m.Stem, -1, 0)
	cur := 0
	for i := range m.Blocks {
		b := &m.Blocks[i]
		in, dw := cur, (cur+1)%3
		if b.Expand != nil {
			apply(b.Expand, in, (cur+1)%3)
			dw = (cur + 2) % 3
			apply(&b.DW, (cur+1)%3, dw)
		} else {
			apply(&b.DW, in, dw)
		}
		pw := 3 - in - dw // the buffer that is neither
		apply(&b.PW, dw, pw)
		if b.Residual {
			y := m.buf[pw]
			for j, v := range m.buf[in][:len(y)] {
				y[j] += v
			}
		}
		cur = pw
	}
	F := m.Features()
	if cap(dst) < n*F {
		dst = make([]float32, n*F)
	}
	dst = dst[:n*F]
	GlobalAvgPool2DForward(dst, m.buf[cur], h*w)
	return dst
}

// Summary returns the per-layer table for one h x w input.
func (m *MobileNet) Summary(h, w int) *Summary {
	s := &Summary{}
	us, ns := m.units()
	for i, u := range us {
		h, w = u.summarize(s, ns[i], h, w)
	}
	s.Add(m.Name+".pool", []int{m.Features()}, 0, 0)
	return s
}
