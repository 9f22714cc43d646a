package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wavenet-go/wavenet/internal/kernel"
)

// ConvBN is the unit the CNN builders ([MobileNet], [DenseNet]) are made
// of: a convolution without bias, batch normalisation and an activation,
// in one of two orders:
//
//	post (MobileNet, stems): x ─ conv ─ BN(OutC) ─ act ─ y
//	pre  (DenseNet-BC):      x ─ BN(InC) ─ act ─ conv ─ y
//
// W is (OutC, InC/Groups, KH, KW). Its parameters, in Build's order, are
// name.w, name.bn.gamma, name.bn.beta; its buffers name.bn.running_mean
// and name.bn.running_var.
type ConvBN struct {
	Spec Conv2DSpec
	W    []float32
	BN   *BatchNorm
	Act  Activation
	Pre  bool

	fw, fb []float32 // Forward scratch: the BN-folded weights and bias
}

// NewConvBN returns a unit with He normal weights (fan-in InC/Groups*KH*KW)
// and a fresh BatchNorm.
func NewConvBN(spec Conv2DSpec, act Activation, pre bool, rng *rand.Rand) (ConvBN, error) {
	if err := spec.Check(); err != nil {
		return ConvBN{}, err
	}
	u := ConvBN{Spec: spec, W: make([]float32, spec.WeightLen()), Act: act, Pre: pre}
	g := spec.groups()
	HeNormal(rng)(u.W, spec.InC/g*spec.KH*spec.KW, spec.OutC/g*spec.KH*spec.KW)
	if pre {
		u.BN = NewBatchNorm(spec.InC)
	} else {
		u.BN = NewBatchNorm(spec.OutC)
	}
	return u, nil
}

// Build adds the unit applied to x (N, InC, H, W) to x's graph and returns
// its output and parameter nodes (w, gamma, beta), which alias W and BN.
func (u *ConvBN) Build(x *gorgonia.Node, name string, train bool) (*gorgonia.Node, []*gorgonia.Node, error) {
	s := u.Spec
	sh := []int{s.OutC, s.InC / s.groups(), s.KH, s.KW}
	w := gorgonia.NewTensor(x.Graph(), tensor.Float32, 4, gorgonia.WithShape(sh...), gorgonia.WithName(name+".w"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(sh...), tensor.WithBacking(u.W))))
	var bnp []*gorgonia.Node
	var err error
	h := x
	if u.Pre {
		if h, bnp, err = u.BN.Build2D(h, name+".bn", train); err != nil {
			return nil, nil, err
		}
		if h, err = u.Act.Node(h); err != nil {
			return nil, nil, err
		}
	}
	if h, err = Conv2D(h, w, nil, s); err != nil {
		return nil, nil, fmt.Errorf("nn: %s: %w", name, err)
	}
	if !u.Pre {
		if h, bnp, err = u.BN.Build2D(h, name+".bn", train); err != nil {
			return nil, nil, err
		}
		if h, err = u.Act.Node(h); err != nil {
			return nil, nil, err
		}
	}
	return h, append([]*gorgonia.Node{w}, bnp...), nil
}

// Forward runs the unit on x (n, InC, h, w) in plain Go (BN with its
// running statistics) into dst (n, OutC, OH, OW); tmp is scratch for the
// pre order (grown when short). It returns OH and OW.
func (u *ConvBN) Forward(dst, x []float32, tmp *[]float32, n, h, w int) (int, int) {
	s := u.Spec
	oh, ow := s.OutHW(h, w)
	if u.Pre {
		t := grow(tmp, n*s.InC*h*w)
		bnAct(t, x, u.BN, u.Act, n, h*w)
		Conv2DForward(dst, t, u.W, nil, n, h, w, s)
		return oh, ow
	}
	// Fold BN into the convolution: W' = scale W per output channel, b = shift.
	fw, fb := grow(&u.fw, len(u.W)), grow(&u.fb, s.OutC)
	u.BN.Affine(fw[:s.OutC], fb)
	per := len(u.W) / s.OutC
	for c := s.OutC - 1; c >= 0; c-- { // backwards: fw[c] holds scale[c] until row c is written
		sc := fw[c]
		for j, v := range u.W[c*per : (c+1)*per] {
			fw[c*per+j] = v * sc
		}
	}
	Conv2DForward(dst, x, fw, fb, n, h, w, s)
	y := dst[:n*s.OutC*oh*ow]
	switch u.Act {
	case ActReLU:
		kernel.ReLU(y, y)
	case ActReLU6:
		for j, v := range y {
			y[j] = min(max(v, 0), 6)
		}
	default:
		u.Act.Apply(y)
	}
	return oh, ow
}

// bnAct is bn.Forward2D followed by act in one pass over x (n, C, hw)
// (dst may be x).
func bnAct(dst, x []float32, bn *BatchNorm, act Activation, n, hw int) {
	hi := float32(math.Inf(1))
	switch act {
	case ActReLU6:
		hi = 6
	case ActLinear, ActReLU:
	default:
		bn.Forward2D(dst, x, n, hw)
		act.Apply(dst[:n*bn.C*hw])
		return
	}
	lo := float32(0)
	if act == ActLinear {
		lo = float32(math.Inf(-1))
	}
	for c := 0; c < bn.C; c++ {
		s := bn.Gamma[c] / float32(math.Sqrt(float64(bn.RunningVar[c])+bn.Eps))
		t := bn.Beta[c] - bn.RunningMean[c]*s
		for i := 0; i < n; i++ {
			o := (i*bn.C + c) * hw
			d := dst[o : o+hw]
			for j, v := range x[o : o+hw] {
				d[j] = min(max(v*s+t, lo), hi)
			}
		}
	}
}

// Params returns the unit's trainable slices in Build's order, named.
func (u *ConvBN) Params(name string) []Param {
	return []Param{{Name: name + ".w", Value: u.W}, {Name: name + ".bn.gamma", Value: u.BN.Gamma}, {Name: name + ".bn.beta", Value: u.BN.Beta}}
}

// NamedTensor is a named weight or buffer with its shape, for
// checkpoints (safetensors): Value aliases the model's slice.
type NamedTensor struct {
	Name  string
	Shape []int
	Value []float32
}

// Tensors returns the unit's parameters and buffers with shapes: w (OutC,
// InC/Groups, KH, KW), then the BN's gamma, beta, running_mean and
// running_var (C).
func (u *ConvBN) Tensors(name string) []NamedTensor {
	s := u.Spec
	return append([]NamedTensor{{name + ".w", []int{s.OutC, s.InC / s.groups(), s.KH, s.KW}, u.W}}, bnTensors(u.BN, name+".bn")...)
}

func bnTensors(bn *BatchNorm, name string) []NamedTensor {
	c := []int{bn.C}
	return []NamedTensor{{name + ".gamma", c, bn.Gamma}, {name + ".beta", c, bn.Beta},
		{name + ".running_mean", c, bn.RunningMean}, {name + ".running_var", c, bn.RunningVar}}
}

func unitTensors(us []*ConvBN, ns []string) []NamedTensor {
	var ts []NamedTensor
	for i, u := range us {
		ts = append(ts, u.Tensors(ns[i])...)
	}
	return ts
}

// Buffers returns the BN running statistics, named.
func (u *ConvBN) Buffers(name string) []Param { return bnBuffers(u.BN, name+".bn") }

func bnBuffers(bn *BatchNorm, name string) []Param {
	return []Param{{Name: name + ".running_mean", Value: bn.RunningMean}, {Name: name + ".running_var", Value: bn.RunningVar}}
}

// summarize adds the unit's row for an h x w input and returns the output
// size.
func (u *ConvBN) summarize(s *Summary, name string, h, w int) (int, int) {
	oh, ow := u.Spec.OutHW(h, w)
	s.Add(name, []int{u.Spec.OutC, oh, ow}, len(u.W)+2*u.BN.C, 2*u.Spec.MACs(h, w))
	return oh, ow
}

// unitGraph builds a chain of units into a graph, collecting their
// parameter nodes and keeping the first error (later calls do nothing).
type unitGraph struct {
	train  bool
	params []*gorgonia.Node
	err    error
}

func (b *unitGraph) apply(u *ConvBN, h *gorgonia.Node, name string) *gorgonia.Node {
	if b.err != nil {
		return nil
	}
	h, ps, err := u.Build(h, name, b.train)
	b.params, b.err = append(b.params, ps...), err
	return h
}

// then runs f on h unless an error came before.
func (b *unitGraph) then(h *gorgonia.Node, f func(*gorgonia.Node) (*gorgonia.Node, error)) *gorgonia.Node {
	if b.err != nil {
		return nil
	}
	h, b.err = f(h)
	return h
}

// unitParams and unitBuffers list the named slices of units us named ns.
func unitParams(us []*ConvBN, ns []string) []Param {
	var ps []Param
	for i, u := range us {
		ps = append(ps, u.Params(ns[i])...)
	}
	return ps
}

func unitBuffers(us []*ConvBN, ns []string) []Param {
	var ps []Param
	for i, u := range us {
		ps = append(ps, u.Buffers(ns[i])...)
	}
	return ps
}

// grow returns (*b)[:n], reallocating when the capacity is short.
func grow(b *[]float32, n int) []float32 {
	if cap(*b) < n {
		*b = make([]float32, n)
	}
	*b = (*b)[:n]
	return *b
}
