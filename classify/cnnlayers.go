package classify

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/wavenet-go/wavenet/internal/kernel"
	"github.com/wavenet-go/wavenet/nn"
)

// The layers of the spectrogram CNNs, in plain Go on float32 slices laid
// out NCHW (a batch of n samples, each C planes of H x W). Each layer owns
// its output and input-gradient buffers (grown on demand and reused), keeps
// what its backward pass needs from the last forward pass, and accumulates
// its weights' gradients into Weight.Grad. A network is therefore not safe
// for concurrent use; CNN.Predict serialises its callers.

// shape is one sample's (C, H, W).
type shape struct{ C, H, W int }

func (s shape) size() int { return s.C * s.H * s.W }
func (s shape) hw() int   { return s.H * s.W }

// Weight is one named tensor of a network: trainable (Value and Grad of
// equal length) or a buffer (BatchNorm running statistics: Grad nil).
type Weight struct {
	Name  string
	Shape []int
	Value []float32
	Grad  []float32
}

func newWeight(name string, trainable bool, dims ...int) *Weight {
	n := 1
	for _, d := range dims {
		n *= d
	}
	w := &Weight{Name: name, Shape: dims, Value: make([]float32, n)}
	if trainable {
		w.Grad = make([]float32, n)
	}
	return w
}

// pass is the mode of one forward pass.
type pass struct {
	train   bool
	workers int        // samples processed in parallel (>= 1)
	rng     *rand.Rand // dropout masks (training only)
}

// LayerCost is one layer's row of a network summary.
type LayerCost struct {
	Name   string
	Out    [3]int // C, H, W of one sample's output
	Params int    // trainable parameters
	MACs   int    // multiply-accumulates per sample (FLOPs = 2 MACs)
}

// layer is one step of a network.
type layer interface {
	// setup binds the input shape and returns the output shape.
	setup(in shape) shape
	// forward returns the output of n samples x (n*in.size()); the slice
	// is the layer's own, valid until its next forward.
	forward(x []float32, n int, p *pass) []float32
	// backward takes dL/dy of the last forward and returns dL/dx (the
	// layer's own slice; nil when !needDX), adding to the weights' Grad.
	backward(dy []float32, n int, p *pass, needDX bool) []float32
	weights() []*Weight
	costs(dst []LayerCost) []LayerCost
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

func zero(b []float32) {
	for i := range b {
		b[i] = 0
	}
}

// split calls f(w, i0, i1) for workers contiguous ranges [i0, i1) of the
// n samples, one goroutine each (none for one range); w is the range's
// index.
func split(n, workers int, f func(w, i0, i1 int)) {
	workers = min(workers, n)
	if workers <= 1 {
		f(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(w, w*n/workers, (w+1)*n/workers)
		}()
	}
	wg.Wait()
}

// conv is a 2-D convolution with square kernels, stride and zero padding
// k/2: full (groups 1, weights (out, in, k, k)) or depthwise (groups = in
// = out, weights (in, 1, k, k)). It has no bias: a BatchNorm follows. The
// arithmetic is package nn's (Conv2DForward and its backward passes);
// with several workers each takes a contiguous range of the samples.
type conv struct {
	name           string
	out, k, stride int
	depthwise      bool
	in, o          shape
	spec           nn.Conv2DSpec
	w              *Weight
	x, y, dx       []float32
	dws            [][]float32 // per worker: dW of its samples
}

func newConv(name string, out, k, stride int) *conv {
	return &conv{name: name, out: out, k: k, stride: stride}
}

func newDepthwise(name string, k, stride int) *conv {
	return &conv{name: name, k: k, stride: stride, depthwise: true}
}

func (c *conv) setup(in shape) shape {
	c.in = in
	groups := 1
	if c.depthwise {
		c.out, groups = in.C, in.C
	}
	c.spec = nn.Conv2DSpec{InC: in.C, OutC: c.out, KH: c.k, KW: c.k, StrideH: c.stride, StrideW: c.stride, PadH: c.k / 2, PadW: c.k / 2, Groups: groups}
	c.w = newWeight(c.name+".weight", true, c.out, in.C/groups, c.k, c.k)
	oh, ow := c.spec.OutHW(in.H, in.W)
	c.o = shape{c.out, oh, ow}
	return c.o
}

func (c *conv) weights() []*Weight { return []*Weight{c.w} }

func (c *conv) costs(dst []LayerCost) []LayerCost {
	return append(dst, LayerCost{Name: c.name, Out: [3]int{c.o.C, c.o.H, c.o.W}, Params: len(c.w.Value), MACs: int(c.spec.MACs(c.in.H, c.in.W))})
}

func (c *conv) forward(x []float32, n int, p *pass) []float32 {
	c.x = x
	c.y = grow(c.y, n*c.o.size())
	if p.workers <= 1 || n <= 1 {
		c.forwardRange(0, 0, n) // no closure: inference allocates nothing
		return c.y
	}
	split(n, p.workers, c.forwardRange)
	return c.y
}

// forwardRange computes samples [i0, i1) of the last forward's input.
func (c *conv) forwardRange(_, i0, i1 int) {
	is, os := c.in.size(), c.o.size()
	nn.Conv2DForward(c.y[i0*os:i1*os], c.x[i0*is:i1*is], c.w.Value, nil, i1-i0, c.in.H, c.in.W, c.spec)
}

func (c *conv) backward(dy []float32, n int, p *pass, needDX bool) []float32 {
	is, os := c.in.size(), c.o.size()
	workers := max(1, min(p.workers, n))
	for len(c.dws) < workers {
		c.dws = append(c.dws, make([]float32, len(c.w.Value)))
	}
	if needDX {
		c.dx = grow(c.dx, n*is)
	}
	split(n, workers, func(w, i0, i1 int) {
		x, g := c.x[i0*is:i1*is], dy[i0*os:i1*os]
		nn.Conv2DBackwardWeight(c.dws[w], x, g, i1-i0, c.in.H, c.in.W, c.spec)
		if needDX {
			nn.Conv2DBackwardInput(c.dx[i0*is:i1*is], g, c.w.Value, i1-i0, c.in.H, c.in.W, c.spec)
		}
	})
	for w := 0; w < workers; w++ {
		kernel.Axpy(c.w.Grad, 1, c.dws[w])
	}
	if !needDX {
		return nil
	}
	return c.dx
}

// batchNorm normalises each channel over the batch and the plane (Ioffe
// and Szegedy 2015) in training, by its running statistics in eval mode
// (momentum 0.1, unbiased running variance, eps 1e-5, as
// torch.nn.BatchNorm2d), then scales and shifts; with relu it is followed
// by max(0, .).
type batchNorm struct {
	name                  string
	relu                  bool
	in                    shape
	gamma, beta           *Weight
	mean, variance        *Weight // running statistics
	y, xhat, dx           []float32
	bmean, binv, dg, dsum []float64
}

const bnEps, bnMomentum = 1e-5, 0.1

func newBatchNorm(name string, relu bool) *batchNorm { return &batchNorm{name: name, relu: relu} }

func (b *batchNorm) setup(in shape) shape {
	b.in = in
	b.gamma, b.beta = newWeight(b.name+".weight", true, in.C), newWeight(b.name+".bias", true, in.C)
	b.mean, b.variance = newWeight(b.name+".running_mean", false, in.C), newWeight(b.name+".running_var", false, in.C)
	for c := range in.C {
		b.gamma.Value[c], b.variance.Value[c] = 1, 1
	}
	b.bmean, b.binv = make([]float64, in.C), make([]float64, in.C)
	b.dg, b.dsum = make([]float64, in.C), make([]float64, in.C)
	return in
}

func (b *batchNorm) weights() []*Weight { return []*Weight{b.gamma, b.beta, b.mean, b.variance} }

func (b *batchNorm) costs(dst []LayerCost) []LayerCost {
	return append(dst, LayerCost{Name: b.name, Out: [3]int{b.in.C, b.in.H, b.in.W}, Params: 2 * b.in.C, MACs: b.in.size()})
}

func (b *batchNorm) forward(x []float32, n int, p *pass) []float32 {
	C, hw, sz := b.in.C, b.in.hw(), b.in.size()
	b.y = grow(b.y, n*sz)
	if p.train {
		b.xhat = grow(b.xhat, n*sz)
		m := float64(n * hw)
		for c := 0; c < C; c++ {
			var s, sq float64
			for i := 0; i < n; i++ {
				var ps float32 // one plane: at most a few thousand values
				for _, v := range x[i*sz+c*hw : i*sz+(c+1)*hw] {
					ps += v
				}
				s += float64(ps)
			}
			mean := s / m
			mf := float32(mean)
			for i := 0; i < n; i++ {
				var pq float32
				for _, v := range x[i*sz+c*hw : i*sz+(c+1)*hw] {
					pq += (v - mf) * (v - mf)
				}
				sq += float64(pq)
			}
			v := sq / m
			b.bmean[c], b.binv[c] = mean, 1/math.Sqrt(v+bnEps)
			unbiased := v
			if m > 1 {
				unbiased = sq / (m - 1)
			}
			b.mean.Value[c] = float32((1-bnMomentum)*float64(b.mean.Value[c]) + bnMomentum*mean)
			b.variance.Value[c] = float32((1-bnMomentum)*float64(b.variance.Value[c]) + bnMomentum*unbiased)
		}
	} else {
		for c := 0; c < C; c++ {
			b.bmean[c], b.binv[c] = float64(b.mean.Value[c]), 1/math.Sqrt(float64(b.variance.Value[c])+bnEps)
		}
	}
	for i := 0; i < n; i++ {
		for c := 0; c < C; c++ {
			off := i*sz + c*hw
			mean, inv := float32(b.bmean[c]), float32(b.binv[c])
			src, dst := x[off:off+hw], b.y[off:off+hw]
			if p.train {
				xh := b.xhat[off : off+hw]
				for j, v := range src {
					xh[j] = (v - mean) * inv
				}
				src = xh
				mean, inv = 0, 1
			}
			// y = g*(v-mean)*inv + be = a*v + o
			a := b.gamma.Value[c] * inv
			o := b.beta.Value[c] - a*mean
			if b.relu {
				for j, v := range src {
					dst[j] = max(a*v+o, 0)
				}
			} else {
				for j, v := range src {
					dst[j] = a*v + o
				}
			}
		}
	}
	return b.y
}

func (b *batchNorm) backward(dy []float32, n int, p *pass, needDX bool) []float32 {
	C, hw, sz := b.in.C, b.in.hw(), b.in.size()
	if b.relu {
		for i, v := range b.y[:n*sz] {
			if v <= 0 {
				dy[i] = 0
			}
		}
	}
	for c := 0; c < C; c++ {
		var sg, sgh float64
		for i := 0; i < n; i++ {
			off := i*sz + c*hw
			var pg, pgh float32
			xh := b.xhat[off : off+hw]
			for j, g := range dy[off : off+hw] {
				pg += g
				pgh += g * xh[j]
			}
			sg, sgh = sg+float64(pg), sgh+float64(pgh)
		}
		b.gamma.Grad[c] += float32(sgh)
		b.beta.Grad[c] += float32(sg)
		b.dsum[c], b.dg[c] = sg, sgh
	}
	if !needDX {
		return nil
	}
	b.dx = grow(b.dx, n*sz)
	m := float64(n * hw)
	for c := 0; c < C; c++ {
		// dx = gamma*inv/m * (m*dy - sum(dy) - xhat*sum(dy*xhat))
		k := float32(float64(b.gamma.Value[c]) * b.binv[c] / m)
		km, ks, kh := k*float32(m), k*float32(b.dsum[c]), k*float32(b.dg[c])
		for i := 0; i < n; i++ {
			off := i*sz + c*hw
			xh, dx := b.xhat[off:off+hw], b.dx[off:off+hw]
			for j, g := range dy[off : off+hw] {
				dx[j] = km*g - ks - kh*xh[j]
			}
		}
	}
	return b.dx
}

// avgPool is 2x2 average pooling with stride 2 (odd rows and columns at
// the end are dropped), DenseNet's transition pooling.
type avgPool struct {
	name  string
	in, o shape
	y, dx []float32
}

func (a *avgPool) setup(in shape) shape {
	a.in, a.o = in, shape{in.C, in.H / 2, in.W / 2}
	return a.o
}

func (a *avgPool) weights() []*Weight { return nil }

func (a *avgPool) costs(dst []LayerCost) []LayerCost {
	return append(dst, LayerCost{Name: a.name, Out: [3]int{a.o.C, a.o.H, a.o.W}, MACs: 4 * a.o.size()})
}

func (a *avgPool) forward(x []float32, n int, p *pass) []float32 {
	a.y = grow(a.y, n*a.o.size())
	nn.AvgPool2DForward(a.y, x, n, a.in.C, a.in.H, a.in.W, 2)
	return a.y
}

func (a *avgPool) backward(dy []float32, n int, p *pass, needDX bool) []float32 {
	if !needDX {
		return nil
	}
	a.dx = grow(a.dx, n*a.in.size())
	nn.AvgPool2DBackward(a.dx, dy, n, a.in.C, a.in.H, a.in.W, 2)
	return a.dx
}

// globalAvgPool averages each channel's plane: (C, H, W) -> (C, 1, 1).
type globalAvgPool struct {
	in    shape
	y, dx []float32
}

func (g *globalAvgPool) setup(in shape) shape { g.in = in; return shape{in.C, 1, 1} }
func (g *globalAvgPool) weights() []*Weight   { return nil }
func (g *globalAvgPool) costs(dst []LayerCost) []LayerCost {
	return append(dst, LayerCost{Name: "pool", Out: [3]int{g.in.C, 1, 1}, MACs: g.in.size()})
}

func (g *globalAvgPool) forward(x []float32, n int, p *pass) []float32 {
	g.y = grow(g.y, n*g.in.C)
	nn.GlobalAvgPool2DForward(g.y, x, g.in.hw())
	return g.y
}

func (g *globalAvgPool) backward(dy []float32, n int, p *pass, needDX bool) []float32 {
	if !needDX {
		return nil
	}
	g.dx = grow(g.dx, n*g.in.size())
	nn.GlobalAvgPool2DBackward(g.dx, dy[:n*g.in.C], g.in.hw())
	return g.dx
}

// dropout zeroes each input with probability rate in training and scales
// the rest by 1/(1-rate) (inverted dropout); it is the identity in eval
// mode.
type dropout struct {
	rate    float64
	in      shape
	y, mask []float32
}

func (d *dropout) setup(in shape) shape { d.in = in; return in }
func (d *dropout) weights() []*Weight   { return nil }
func (d *dropout) costs(dst []LayerCost) []LayerCost {
	return dst
}

func (d *dropout) forward(x []float32, n int, p *pass) []float32 {
	if !p.train || d.rate == 0 {
		d.mask = d.mask[:0]
		return x
	}
	d.y, d.mask = grow(d.y, n*d.in.size()), grow(d.mask, n*d.in.size())
	keep := float32(1 / (1 - d.rate))
	for i, v := range x[:n*d.in.size()] {
		m := keep
		if p.rng.Float64() < d.rate {
			m = 0
		}
		d.mask[i], d.y[i] = m, v*m
	}
	return d.y
}

func (d *dropout) backward(dy []float32, n int, p *pass, needDX bool) []float32 {
	if len(d.mask) == 0 {
		return dy
	}
	for i := range dy[:n*d.in.size()] {
		dy[i] *= d.mask[i]
	}
	return dy
}

// linear is y = x Wᵀ + b on flattened samples: W is (out, in).
type linear struct {
	name  string
	out   int
	in    int
	w, b  *Weight
	x, y  []float32
	dx    []float32
	shape shape
}

func (l *linear) setup(in shape) shape {
	l.in, l.shape = in.size(), in
	l.w, l.b = newWeight(l.name+".weight", true, l.out, l.in), newWeight(l.name+".bias", true, l.out)
	return shape{l.out, 1, 1}
}

func (l *linear) weights() []*Weight { return []*Weight{l.w, l.b} }
func (l *linear) costs(dst []LayerCost) []LayerCost {
	return append(dst, LayerCost{Name: l.name, Out: [3]int{l.out, 1, 1}, Params: l.out*l.in + l.out, MACs: l.out * l.in})
}

func (l *linear) forward(x []float32, n int, p *pass) []float32 {
	l.x, l.y = x, grow(l.y, n*l.out)
	for i := 0; i < n; i++ {
		copy(l.y[i*l.out:(i+1)*l.out], l.b.Value)
	}
	kernel.Gemm(false, true, n, l.out, l.in, 1, x, l.in, l.w.Value, l.in, 1, l.y, l.out)
	return l.y
}

func (l *linear) backward(dy []float32, n int, p *pass, needDX bool) []float32 {
	kernel.Gemm(true, false, l.out, l.in, n, 1, dy, l.out, l.x, l.in, 1, l.w.Grad, l.in)
	for i := 0; i < n; i++ {
		kernel.Axpy(l.b.Grad, 1, dy[i*l.out:(i+1)*l.out])
	}
	if !needDX {
		return nil
	}
	l.dx = grow(l.dx, n*l.in)
	kernel.Gemm(false, false, n, l.in, l.out, 1, dy, l.out, l.w.Value, l.in, 0, l.dx, l.in)
	return l.dx
}

// seq runs layers one after the other.
type seq struct {
	layers []layer
}

func (s *seq) setup(in shape) shape {
	for _, l := range s.layers {
		in = l.setup(in)
	}
	return in
}

func (s *seq) forward(x []float32, n int, p *pass) []float32 {
	for _, l := range s.layers {
		x = l.forward(x, n, p)
	}
	return x
}

func (s *seq) backward(dy []float32, n int, p *pass, needDX bool) []float32 {
	for i := len(s.layers) - 1; i >= 0; i-- {
		dy = s.layers[i].backward(dy, n, p, needDX || i > 0)
	}
	return dy
}

func (s *seq) weights() []*Weight {
	var ws []*Weight
	for _, l := range s.layers {
		ws = append(ws, l.weights()...)
	}
	return ws
}

func (s *seq) costs(dst []LayerCost) []LayerCost {
	for _, l := range s.layers {
		dst = l.costs(dst)
	}
	return dst
}

// denseBlock is a DenseNet block (Huang et al. 2017): each layer sees the
// concatenation (along channels) of the block's input and every earlier
// layer's output and adds growth channels to it. In NCHW the
// concatenation of one sample is its planes one after the other, so the
// block keeps one buffer of all its channels and each layer appends to it.
//
//	x ─┬──────────────┬────────────── ... ─> [x, y1, y2, ...]
//	   └─> layer1 ─ y1 ┴─> layer2 ─ y2 ─ ...
type denseBlock struct {
	layers []*seq
	growth int
	in     shape
	buf    []float32 // (n, C_in + L*growth, H, W)
	dbuf   []float32
	g, dx  []float32
	xs     [][]float32 // each layer's gathered input
}

func (d *denseBlock) total() int { return d.in.C + len(d.layers)*d.growth }

func (d *denseBlock) setup(in shape) shape {
	d.in = in
	for j, l := range d.layers {
		if o := l.setup(shape{in.C + j*d.growth, in.H, in.W}); o != (shape{d.growth, in.H, in.W}) {
			panic(fmt.Sprintf("classify: dense layer %d makes %v, want %d planes of %dx%d", j, o, d.growth, in.H, in.W))
		}
	}
	d.xs = make([][]float32, len(d.layers))
	return shape{d.total(), in.H, in.W}
}

func (d *denseBlock) weights() []*Weight {
	var ws []*Weight
	for _, l := range d.layers {
		ws = append(ws, l.weights()...)
	}
	return ws
}

func (d *denseBlock) costs(dst []LayerCost) []LayerCost {
	for _, l := range d.layers {
		dst = l.costs(dst)
	}
	return dst
}

// planes copies channels [lo, hi) of each of n samples of src (whose
// samples have cs channels) to dst (samples of hi-lo channels), or back
// (add: dst planes added into src's).
func planes(dst, src []float32, n, cs, lo, hi, hw int, back bool) {
	w := (hi - lo) * hw
	for i := 0; i < n; i++ {
		a := dst[i*w : (i+1)*w]
		b := src[(i*cs+lo)*hw : (i*cs+hi)*hw]
		if back {
			kernel.Axpy(b, 1, a)
		} else {
			copy(a, b)
		}
	}
}

func (d *denseBlock) forward(x []float32, n int, p *pass) []float32 {
	hw, tot := d.in.hw(), d.total()
	d.buf = grow(d.buf, n*tot*hw)
	for i := 0; i < n; i++ {
		copy(d.buf[i*tot*hw:(i*tot+d.in.C)*hw], x[i*d.in.C*hw:(i+1)*d.in.C*hw])
	}
	for j, l := range d.layers {
		c := d.in.C + j*d.growth
		d.xs[j] = grow(d.xs[j], n*c*hw)
		planes(d.xs[j], d.buf, n, tot, 0, c, hw, false)
		y := l.forward(d.xs[j], n, p)
		for i := 0; i < n; i++ {
			copy(d.buf[(i*tot+c)*hw:(i*tot+c+d.growth)*hw], y[i*d.growth*hw:(i+1)*d.growth*hw])
		}
	}
	return d.buf
}

func (d *denseBlock) backward(dy []float32, n int, p *pass, needDX bool) []float32 {
	hw, tot := d.in.hw(), d.total()
	d.dbuf = grow(d.dbuf, n*tot*hw)
	copy(d.dbuf, dy[:n*tot*hw])
	for j := len(d.layers) - 1; j >= 0; j-- {
		c := d.in.C + j*d.growth
		d.g = grow(d.g, n*d.growth*hw)
		planes(d.g, d.dbuf, n, tot, c, c+d.growth, hw, false)
		dx := d.layers[j].backward(d.g, n, p, true)
		planes(dx, d.dbuf, n, tot, 0, c, hw, true)
	}
	if !needDX {
		return nil
	}
	d.dx = grow(d.dx, n*d.in.C*hw)
	planes(d.dx, d.dbuf, n, tot, 0, d.in.C, hw, false)
	return d.dx
}
