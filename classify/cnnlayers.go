package classify

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/wavenet-go/wavenet/internal/kernel"
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

// parallel calls f(w, i) for every sample i < n, spread over workers
// goroutines; w is the worker's index.
func parallel(n, workers int, f func(w, i int)) {
	if workers <= 1 || n <= 1 {
		for i := 0; i < n; i++ {
			f(0, i)
		}
		return
	}
	workers = min(workers, n)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				f(w, i)
			}
		}()
	}
	wg.Wait()
}

// conv is a 2-D convolution with square kernels, stride and zero padding
// k/2: full (groups 1, weights (out, in, k, k)) or depthwise (groups = in
// = out, weights (in, 1, k, k)). It has no bias: a BatchNorm follows.
type conv struct {
	name               string
	out, k, stride     int
	depthwise          bool
	in, o              shape
	w                  *Weight
	x, y, dx           []float32
	cols, dcols, dws   [][]float32 // per worker: im2col, its gradient, dW partial sums
	colRows, pad, outN int
}

func newConv(name string, out, k, stride int) *conv {
	return &conv{name: name, out: out, k: k, stride: stride}
}

func newDepthwise(name string, k, stride int) *conv {
	return &conv{name: name, k: k, stride: stride, depthwise: true}
}

func (c *conv) setup(in shape) shape {
	c.in, c.pad = in, c.k/2
	if c.depthwise {
		c.out = in.C
		c.w = newWeight(c.name+".weight", true, in.C, 1, c.k, c.k)
	} else {
		c.w = newWeight(c.name+".weight", true, c.out, in.C, c.k, c.k)
	}
	c.o = shape{c.out, (in.H+2*c.pad-c.k)/c.stride + 1, (in.W+2*c.pad-c.k)/c.stride + 1}
	c.colRows = in.C * c.k * c.k
	return c.o
}

func (c *conv) weights() []*Weight { return []*Weight{c.w} }

func (c *conv) costs(dst []LayerCost) []LayerCost {
	macs := c.o.size() * c.k * c.k
	if !c.depthwise {
		macs *= c.in.C
	}
	return append(dst, LayerCost{Name: c.name, Out: [3]int{c.o.C, c.o.H, c.o.W}, Params: len(c.w.Value), MACs: macs})
}

// pointwise is a 1x1, stride 1 full convolution: a matrix product with no
// im2col.
func (c *conv) pointwise() bool { return !c.depthwise && c.k == 1 && c.stride == 1 }

func (c *conv) scratch(workers int, grads bool) {
	for len(c.cols) < workers {
		c.cols = append(c.cols, nil)
		c.dcols = append(c.dcols, nil)
		c.dws = append(c.dws, nil)
	}
	if !c.depthwise && !c.pointwise() {
		for w := 0; w < workers; w++ {
			c.cols[w] = grow(c.cols[w], c.colRows*c.o.hw())
			if grads {
				c.dcols[w] = grow(c.dcols[w], c.colRows*c.o.hw())
			}
		}
	}
	if grads {
		for w := 1; w < workers; w++ {
			c.dws[w] = grow(c.dws[w], len(c.w.Value))
			zero(c.dws[w])
		}
	}
}

// im2col writes the (in.C*k*k, Ho*Wo) patch matrix of one sample.
func (c *conv) im2col(col, x []float32) {
	in, o, k, s, pad := c.in, c.o, c.k, c.stride, c.pad
	for ci := 0; ci < in.C; ci++ {
		plane := x[ci*in.hw() : (ci+1)*in.hw()]
		for ky := 0; ky < k; ky++ {
			for kx := 0; kx < k; kx++ {
				row := col[((ci*k+ky)*k+kx)*o.hw():][:o.hw()]
				for oy := 0; oy < o.H; oy++ {
					iy := oy*s + ky - pad
					r := row[oy*o.W : (oy+1)*o.W]
					if iy < 0 || iy >= in.H {
						zero(r)
						continue
					}
					src := plane[iy*in.W : (iy+1)*in.W]
					for ox := range r {
						ix := ox*s + kx - pad
						if ix < 0 || ix >= in.W {
							r[ox] = 0
						} else {
							r[ox] = src[ix]
						}
					}
				}
			}
		}
	}
}

// col2im adds the patch-matrix gradient dcol of one sample into dx.
func (c *conv) col2im(dx, dcol []float32) {
	in, o, k, s, pad := c.in, c.o, c.k, c.stride, c.pad
	for ci := 0; ci < in.C; ci++ {
		plane := dx[ci*in.hw() : (ci+1)*in.hw()]
		for ky := 0; ky < k; ky++ {
			for kx := 0; kx < k; kx++ {
				row := dcol[((ci*k+ky)*k+kx)*o.hw():][:o.hw()]
				for oy := 0; oy < o.H; oy++ {
					iy := oy*s + ky - pad
					if iy < 0 || iy >= in.H {
						continue
					}
					dst := plane[iy*in.W : (iy+1)*in.W]
					for ox, v := range row[oy*o.W : (oy+1)*o.W] {
						if ix := ox*s + kx - pad; ix >= 0 && ix < in.W {
							dst[ix] += v
						}
					}
				}
			}
		}
	}
}

func (c *conv) forward(x []float32, n int, p *pass) []float32 {
	c.x = x
	c.y = grow(c.y, n*c.o.size())
	c.scratch(p.workers, false)
	if p.workers <= 1 || n <= 1 {
		for i := 0; i < n; i++ {
			c.forwardOne(0, i) // no closure: inference allocates nothing
		}
		return c.y
	}
	parallel(n, p.workers, c.forwardOne)
	return c.y
}

// forwardOne computes sample i of the last forward's input with worker
// w's scratch.
func (c *conv) forwardOne(w, i int) {
	is, os, hw := c.in.size(), c.o.size(), c.o.hw()
	xi, yi := c.x[i*is:(i+1)*is], c.y[i*os:(i+1)*os]
	switch {
	case c.depthwise:
		c.depthwiseForward(yi, xi)
	case c.pointwise():
		kernel.Gemm(false, false, c.out, hw, c.in.C, 1, c.w.Value, c.in.C, xi, hw, 0, yi, hw)
	default:
		c.im2col(c.cols[w], xi)
		kernel.Gemm(false, false, c.out, hw, c.colRows, 1, c.w.Value, c.colRows, c.cols[w], hw, 0, yi, hw)
	}
}

func (c *conv) backward(dy []float32, n int, p *pass, needDX bool) []float32 {
	c.scratch(p.workers, true)
	is, os, hw := c.in.size(), c.o.size(), c.o.hw()
	if needDX {
		c.dx = grow(c.dx, n*is)
		zero(c.dx)
	}
	parallel(n, p.workers, func(w, i int) {
		dw := c.w.Grad
		if w > 0 {
			dw = c.dws[w]
		}
		xi, dyi := c.x[i*is:(i+1)*is], dy[i*os:(i+1)*os]
		var dxi []float32
		if needDX {
			dxi = c.dx[i*is : (i+1)*is]
		}
		switch {
		case c.depthwise:
			c.depthwiseBackward(dxi, dw, xi, dyi)
		case c.pointwise():
			kernel.Gemm(false, true, c.out, c.in.C, hw, 1, dyi, hw, xi, hw, 1, dw, c.in.C)
			if needDX {
				kernel.Gemm(true, false, c.in.C, hw, c.out, 1, c.w.Value, c.in.C, dyi, hw, 0, dxi, hw)
			}
		default:
			c.im2col(c.cols[w], xi)
			kernel.Gemm(false, true, c.out, c.colRows, hw, 1, dyi, hw, c.cols[w], hw, 1, dw, c.colRows)
			if needDX {
				kernel.Gemm(true, false, c.colRows, hw, c.out, 1, c.w.Value, c.colRows, dyi, hw, 0, c.dcols[w], hw)
				c.col2im(dxi, c.dcols[w])
			}
		}
	})
	for w := 1; w < min(p.workers, n); w++ {
		kernel.Axpy(c.w.Grad, 1, c.dws[w])
	}
	if !needDX {
		return nil
	}
	return c.dx
}

func (c *conv) depthwiseForward(y, x []float32) {
	in, o, k, s, pad := c.in, c.o, c.k, c.stride, c.pad
	for ch := 0; ch < in.C; ch++ {
		plane, out := x[ch*in.hw():(ch+1)*in.hw()], y[ch*o.hw():(ch+1)*o.hw()]
		zero(out)
		wk := c.w.Value[ch*k*k : (ch+1)*k*k]
		for oy := 0; oy < o.H; oy++ {
			dst := out[oy*o.W : (oy+1)*o.W]
			for ky := 0; ky < k; ky++ {
				iy := oy*s + ky - pad
				if iy < 0 || iy >= in.H {
					continue
				}
				row := plane[iy*in.W : (iy+1)*in.W]
				for kx := 0; kx < k; kx++ {
					// Outputs ox with 0 <= ox*s + kx - pad < in.W.
					lo := max(0, (pad-kx+s-1)/s)
					hi := min(o.W, (in.W-1+pad-kx)/s+1)
					if lo >= hi {
						continue
					}
					w := wk[ky*k+kx]
					if s == 1 {
						kernel.Axpy(dst[lo:hi], w, row[lo+kx-pad:hi+kx-pad])
						continue
					}
					for ox := lo; ox < hi; ox++ {
						dst[ox] += w * row[ox*s+kx-pad]
					}
				}
			}
		}
	}
}

func (c *conv) depthwiseBackward(dx, dw, x, dy []float32) {
	in, o, k, s, pad := c.in, c.o, c.k, c.stride, c.pad
	for ch := 0; ch < in.C; ch++ {
		plane, g := x[ch*in.hw():(ch+1)*in.hw()], dy[ch*o.hw():(ch+1)*o.hw()]
		wk, dwk := c.w.Value[ch*k*k:(ch+1)*k*k], dw[ch*k*k:(ch+1)*k*k]
		var dplane []float32
		if dx != nil {
			dplane = dx[ch*in.hw() : (ch+1)*in.hw()]
		}
		for oy := 0; oy < o.H; oy++ {
			for ox := 0; ox < o.W; ox++ {
				d := g[oy*o.W+ox]
				for ky := 0; ky < k; ky++ {
					iy := oy*s + ky - pad
					if iy < 0 || iy >= in.H {
						continue
					}
					for kx := 0; kx < k; kx++ {
						if ix := ox*s + kx - pad; ix >= 0 && ix < in.W {
							dwk[ky*k+kx] += d * plane[iy*in.W+ix]
							if dplane != nil {
								dplane[iy*in.W+ix] += d * wk[ky*k+kx]
							}
						}
					}
				}
			}
		}
	}
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
	for pl := 0; pl < n*a.in.C; pl++ {
		src, dst := x[pl*a.in.hw():], a.y[pl*a.o.hw():]
		for oy := 0; oy < a.o.H; oy++ {
			r0, r1 := src[2*oy*a.in.W:], src[(2*oy+1)*a.in.W:]
			for ox := 0; ox < a.o.W; ox++ {
				dst[oy*a.o.W+ox] = 0.25 * (r0[2*ox] + r0[2*ox+1] + r1[2*ox] + r1[2*ox+1])
			}
		}
	}
	return a.y
}

func (a *avgPool) backward(dy []float32, n int, p *pass, needDX bool) []float32 {
	if !needDX {
		return nil
	}
	a.dx = grow(a.dx, n*a.in.size())
	zero(a.dx)
	for pl := 0; pl < n*a.in.C; pl++ {
		g, dst := dy[pl*a.o.hw():], a.dx[pl*a.in.hw():]
		for oy := 0; oy < a.o.H; oy++ {
			for ox := 0; ox < a.o.W; ox++ {
				v := 0.25 * g[oy*a.o.W+ox]
				dst[2*oy*a.in.W+2*ox] = v
				dst[2*oy*a.in.W+2*ox+1] = v
				dst[(2*oy+1)*a.in.W+2*ox] = v
				dst[(2*oy+1)*a.in.W+2*ox+1] = v
			}
		}
	}
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
	hw := g.in.hw()
	for pl := range g.y {
		var s float32
		for _, v := range x[pl*hw : (pl+1)*hw] {
			s += v
		}
		g.y[pl] = s / float32(hw)
	}
	return g.y
}

func (g *globalAvgPool) backward(dy []float32, n int, p *pass, needDX bool) []float32 {
	if !needDX {
		return nil
	}
	hw := g.in.hw()
	g.dx = grow(g.dx, n*g.in.size())
	for pl, d := range dy[:n*g.in.C] {
		v := d / float32(hw)
		for j := range g.dx[pl*hw : (pl+1)*hw] {
			g.dx[pl*hw+j] = v
		}
	}
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
