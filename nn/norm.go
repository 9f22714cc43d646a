package nn

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The normalisation layers share one computation: split x into groups,
// normalise each group to zero mean and unit variance (biased variance, eps
// added inside the square root), then scale and shift by gamma and beta
// (C values, one per channel):
//
//	LayerNorm    x (N, C):    a group is a row, over its C channels
//	             (Ba, Kiros & Hinton 2016, arXiv:1607.06450)
//	BatchNorm    x (N, C):    a group is a channel, over the N rows
//	             (Ioffe & Szegedy 2015, arXiv:1502.03167), training mode
//	InstanceNorm x (N, L, C): a group is a channel of one sample, over
//	             its L positions (Ulyanov et al. 2016, arXiv:1607.08022)
//
// The gradient, with x̂ = (x - μ) / σ, g = dy ⊙ gamma and m elements per group:
//
//	dx = (m g - Σ g - x̂ Σ (g ⊙ x̂)) / (m σ)   per group
//	dgamma = Σ dy ⊙ x̂,  dbeta = Σ dy         per channel

type normKind int

const (
	normLayer normKind = iota
	normBatch
	normInstance
)

var normNames = [...]string{"LayerNorm", "BatchNorm", "InstanceNorm"}

// normLayout says where the elements of group g are: base(g) + j*stride
// for j < count.
type normLayout struct {
	kind                  normKind
	groups, count, stride int
	c                     int // channels (gamma/beta length)
}

func layoutOf(kind normKind, sh tensor.Shape) normLayout {
	switch kind {
	case normLayer:
		return normLayout{kind, sh[0], sh[1], 1, sh[1]}
	case normBatch:
		return normLayout{kind, sh[1], sh[0], sh[1], sh[1]}
	default:
		return normLayout{kind, sh[0] * sh[2], sh[1], sh[2], sh[2]}
	}
}

func (l normLayout) base(g int) int {
	switch l.kind {
	case normLayer:
		return g * l.count
	case normBatch:
		return g
	default:
		n, c := g/l.c, g%l.c
		return n*l.count*l.c + c
	}
}

// channel is the gamma/beta index of element j of group g.
func (l normLayout) channel(g, j int) int {
	switch l.kind {
	case normLayer:
		return j
	case normBatch:
		return g
	default:
		return g % l.c
	}
}

// groupStats returns the mean and 1/sqrt(var + eps) of group g, in float64.
func groupStats[T float](x []T, l normLayout, g int, eps float64) (mean, variance, rstd float64) {
	b := l.base(g)
	for j := 0; j < l.count; j++ {
		mean += float64(x[b+j*l.stride])
	}
	mean /= float64(l.count)
	for j := 0; j < l.count; j++ {
		d := float64(x[b+j*l.stride]) - mean
		variance += d * d
	}
	variance /= float64(l.count)
	return mean, variance, 1 / math.Sqrt(variance+eps)
}

// normForward writes the normalised, scaled and shifted x into y and calls
// stats (if not nil) with each group's mean and biased variance.
func normForward[T float](y, x, gamma, beta []T, l normLayout, eps float64, stats func(g int, mean, variance float64)) {
	for g := 0; g < l.groups; g++ {
		mean, variance, rstd := groupStats(x, l, g, eps)
		if stats != nil {
			stats(g, mean, variance)
		}
		b := l.base(g)
		for j := 0; j < l.count; j++ {
			i := b + j*l.stride
			c := l.channel(g, j)
			y[i] = T((float64(x[i])-mean)*rstd)*gamma[c] + beta[c]
		}
	}
}

// normBackward computes the gradient of input which (0 x, 1 gamma, 2 beta)
// into out from x, gamma and dy.
func normBackward[T float](out, x, gamma, dy []T, l normLayout, eps float64, which int) {
	clear(out)
	for g := 0; g < l.groups; g++ {
		mean, _, rstd := groupStats(x, l, g, eps)
		b := l.base(g)
		var sg, sgx float64
		for j := 0; j < l.count; j++ {
			i := b + j*l.stride
			c := l.channel(g, j)
			xh := (float64(x[i]) - mean) * rstd
			switch which {
			case 0:
				gi := float64(dy[i]) * float64(gamma[c])
				sg += gi
				sgx += gi * xh
			case 1:
				out[c] += T(float64(dy[i]) * xh)
			case 2:
				out[c] += dy[i]
			}
		}
		if which != 0 {
			continue
		}
		m := float64(l.count)
		for j := 0; j < l.count; j++ {
			i := b + j*l.stride
			c := l.channel(g, j)
			xh := (float64(x[i]) - mean) * rstd
			gi := float64(dy[i]) * float64(gamma[c])
			out[i] = T((m*gi - sg - xh*sgx) * rstd / m)
		}
	}
}

// normOp builds the Op of a normalisation kind; stats, when not nil, gets
// each forward pass's batch statistics (BatchNorm's running averages).
func normOp(kind normKind, x, gamma, beta *gorgonia.Node, eps float64, stats func(g int, mean, variance float64, count int)) (*gorgonia.Node, error) {
	name := normNames[kind]
	dims := 2
	if kind == normInstance {
		dims = 3
	}
	if x == nil || gamma == nil || beta == nil {
		return nil, fmt.Errorf("nn: %s: nil input", name)
	}
	if x.Dims() != dims {
		return nil, fmt.Errorf("nn: %s: x is %v, want %d dims", name, x.Shape(), dims)
	}
	c := x.Shape()[dims-1]
	if gamma.Dims() != 1 || beta.Dims() != 1 || gamma.Shape()[0] != c || beta.Shape()[0] != c {
		return nil, fmt.Errorf("nn: %s: gamma %v and beta %v, want (%d)", name, gamma.Shape(), beta.Shape(), c)
	}
	if !(eps > 0) {
		return nil, fmt.Errorf("nn: %s: eps %v, want > 0", name, eps)
	}
	fwd := func(sh []tensor.Shape) (normLayout, func(int, float64, float64)) {
		l := layoutOf(kind, sh[0])
		if stats == nil {
			return l, nil
		}
		return l, func(g int, m, v float64) { stats(g, m, v, l.count) }
	}
	op := &fnOp{name: fmt.Sprintf("nn.%s{%v}", name, eps), inDims: []int{dims, 1, 1}, outDims: dims, shape: sameShape,
		fwd32: func(y []float32, in [][]float32, sh []tensor.Shape) {
			l, s := fwd(sh)
			normForward(y, in[0], in[1], in[2], l, eps, s)
		},
		fwd64: func(y []float64, in [][]float64, sh []tensor.Shape) {
			l, s := fwd(sh)
			normForward(y, in[0], in[1], in[2], l, eps, s)
		},
		diff: []bool{true, true, true},
	}
	op.grad = func(i int, in gorgonia.Nodes, _, dy *gorgonia.Node) (*gorgonia.Node, error) {
		shape := sameShape
		if i > 0 {
			shape = func(sh []tensor.Shape) (tensor.Shape, error) { return sh[1].Clone(), nil }
		}
		g := &fnOp{name: fmt.Sprintf("nn.%sGrad{%v,%d}", name, eps, i), inDims: []int{dims, 1, dims}, outDims: []int{dims, 1, 1}[i], shape: shape,
			fwd32: func(out []float32, in [][]float32, sh []tensor.Shape) {
				normBackward(out, in[0], in[1], in[2], layoutOf(kind, sh[0]), eps, i)
			},
			fwd64: func(out []float64, in [][]float64, sh []tensor.Shape) {
				normBackward(out, in[0], in[1], in[2], layoutOf(kind, sh[0]), eps, i)
			}}
		return g.apply(in[0], in[1], dy)
	}
	return op.apply(x, gamma, beta)
}

// LayerNorm adds layer normalisation of each row of x (N, C), scaled by
// gamma (C) and shifted by beta (C), as torch.nn.LayerNorm(C, eps) (default
// eps 1e-5).
func LayerNorm(x, gamma, beta *gorgonia.Node, eps float64) (*gorgonia.Node, error) {
	return normOp(normLayer, x, gamma, beta, eps, nil)
}

// InstanceNorm adds instance normalisation of x (N, L, C), channels-last:
// each channel of each sample is normalised over its L positions, as
// torch.nn.InstanceNorm1d(C, affine=True) on the (N, C, L) transpose.
func InstanceNorm(x, gamma, beta *gorgonia.Node, eps float64) (*gorgonia.Node, error) {
	return normOp(normInstance, x, gamma, beta, eps, nil)
}

// BatchNormTrain adds training-mode batch normalisation of x (N, C): each
// channel is normalised with the batch's mean and biased variance. For
// running averages and inference use [BatchNorm].
func BatchNormTrain(x, gamma, beta *gorgonia.Node, eps float64) (*gorgonia.Node, error) {
	return normOp(normBatch, x, gamma, beta, eps, nil)
}

// BatchNorm is a batch-normalisation layer over C channels with the
// running statistics of torch.nn.BatchNorm1d: in training mode (the graph
// of Build) each forward run normalises with the batch statistics and
// updates running = (1 - Momentum) running + Momentum batch, with the
// unbiased batch variance for RunningVar; Forward (inference) normalises
// with the running statistics.
type BatchNorm struct {
	C                       int
	Gamma, Beta             []float32
	RunningMean, RunningVar []float32
	Momentum, Eps           float64
}

// NewBatchNorm returns a layer with PyTorch's defaults: gamma 1, beta 0,
// running mean 0 and variance 1, momentum 0.1, eps 1e-5.
func NewBatchNorm(c int) *BatchNorm {
	bn := &BatchNorm{C: c, Gamma: make([]float32, c), Beta: make([]float32, c),
		RunningMean: make([]float32, c), RunningVar: make([]float32, c), Momentum: 0.1, Eps: 1e-5}
	for i := range bn.Gamma {
		bn.Gamma[i], bn.RunningVar[i] = 1, 1
	}
	return bn
}

// Build adds the layer in training mode applied to x (N, C) to x's graph
// and returns its output and its parameter nodes (gamma, beta, named
// name+".gamma" and name+".beta"), whose values alias Gamma and Beta. Each
// run of the graph updates the running statistics.
func (bn *BatchNorm) Build(x *gorgonia.Node, name string) (*gorgonia.Node, []*gorgonia.Node, error) {
	g := x.Graph()
	gamma := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(bn.C), gorgonia.WithName(name+".gamma"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(bn.C), tensor.WithBacking(bn.Gamma))))
	beta := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(bn.C), gorgonia.WithName(name+".beta"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(bn.C), tensor.WithBacking(bn.Beta))))
	y, err := normOp(normBatch, x, gamma, beta, bn.Eps, bn.update)
	if err != nil {
		return nil, nil, err
	}
	return y, []*gorgonia.Node{gamma, beta}, nil
}

func (bn *BatchNorm) update(c int, mean, variance float64, n int) {
	m := bn.Momentum
	unbiased := variance
	if n > 1 {
		unbiased = variance * float64(n) / float64(n-1)
	}
	bn.RunningMean[c] = float32((1-m)*float64(bn.RunningMean[c]) + m*mean)
	bn.RunningVar[c] = float32((1-m)*float64(bn.RunningVar[c]) + m*unbiased)
}

// Forward normalises n rows x (n, C) with the running statistics
// (inference mode) into dst and returns it; a nil or short dst is
// allocated.
func (bn *BatchNorm) Forward(dst, x []float32, n int) []float32 {
	if cap(dst) < n*bn.C {
		dst = make([]float32, n*bn.C)
	}
	dst = dst[:n*bn.C]
	for c := 0; c < bn.C; c++ {
		s := bn.Gamma[c] / float32(math.Sqrt(float64(bn.RunningVar[c])+bn.Eps))
		t := bn.Beta[c] - bn.RunningMean[c]*s
		for r := 0; r < n; r++ {
			dst[r*bn.C+c] = x[r*bn.C+c]*s + t
		}
	}
	return dst
}

// LayerNormRows applies layer normalisation to n rows x (n, c) in plain Go
// (inference) into dst and returns it; a nil or short dst is allocated.
func LayerNormRows(dst, x, gamma, beta []float32, c int, eps float64) []float32 {
	if cap(dst) < len(x) {
		dst = make([]float32, len(x))
	}
	dst = dst[:len(x)]
	normForward(dst, x, gamma, beta, normLayout{normLayer, len(x) / c, c, 1, c}, eps, nil)
	return dst
}
