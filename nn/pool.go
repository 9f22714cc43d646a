package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// This file holds the NCHW Ops around Conv2D: average pooling, global
// average pooling, channel concatenation (DenseNet) and dropout. Each has
// a plain-Go forward on slices for inference.

// GlobalAvgPool2D averages each channel of x (N, C, H, W) over its H*W
// positions: the result is (N, C).
func GlobalAvgPool2D(x *gorgonia.Node) (*gorgonia.Node, error) {
	op := &fnOp{name: "nn.GlobalAvgPool2D", inDims: []int{4}, outDims: 2, diff: []bool{true},
		shape: func(sh []tensor.Shape) (tensor.Shape, error) { return tensor.Shape{sh[0][0], sh[0][1]}, nil },
		fwd32: func(y []float32, in [][]float32, sh []tensor.Shape) { globalAvgPool(y, in[0], sh[0][2]*sh[0][3]) },
		fwd64: func(y []float64, in [][]float64, sh []tensor.Shape) { globalAvgPool(y, in[0], sh[0][2]*sh[0][3]) },
	}
	op.grad = func(_ int, in gorgonia.Nodes, _, dy *gorgonia.Node) (*gorgonia.Node, error) {
		// (x, dy) -> dx = dy / HW at every position; x gives the shape
		return (&fnOp{name: "nn.GlobalAvgPool2DGrad", inDims: []int{4, 2}, outDims: 4, shape: sameShape,
			fwd32: func(dx []float32, in [][]float32, sh []tensor.Shape) { globalAvgPoolGrad(dx, in[1], sh[0][2]*sh[0][3]) },
			fwd64: func(dx []float64, in [][]float64, sh []tensor.Shape) { globalAvgPoolGrad(dx, in[1], sh[0][2]*sh[0][3]) },
		}).apply(in[0], dy)
	}
	return op.apply(x)
}

// GlobalAvgPool2DForward writes the channel means of x (n*C, hw) into dst
// (n*C): the plain form of GlobalAvgPool2D.
func GlobalAvgPool2DForward(dst, x []float32, hw int) { globalAvgPool(dst, x, hw) }

// GlobalAvgPool2DBackward writes the gradient of GlobalAvgPool2DForward,
// dx (len(dy)*hw) = dy / hw at every position, into dx.
func GlobalAvgPool2DBackward(dx, dy []float32, hw int) { globalAvgPoolGrad(dx, dy, hw) }

func globalAvgPool[T float](y, x []T, hw int) {
	for i := range y {
		var s T
		for _, v := range x[i*hw : (i+1)*hw] {
			s += v
		}
		y[i] = s / T(hw)
	}
}

func globalAvgPoolGrad[T float](dx, dy []T, hw int) {
	for i, g := range dy {
		g /= T(hw)
		d := dx[i*hw : (i+1)*hw]
		for j := range d {
			d[j] = g
		}
	}
}

// AvgPool2D averages x (N, C, H, W) over non-overlapping k x k windows
// (stride k, no padding, trailing rows and columns dropped): the result is
// (N, C, H/k, W/k), as torch.nn.AvgPool2d(k).
func AvgPool2D(x *gorgonia.Node, k int) (*gorgonia.Node, error) {
	if x == nil || x.Dims() != 4 || k < 1 || x.Shape()[2] < k || x.Shape()[3] < k {
		return nil, fmt.Errorf("nn: avgpool2d: input %v with window %d", shapeOf(x), k)
	}
	op := &fnOp{name: fmt.Sprintf("nn.AvgPool2D{%d}", k), inDims: []int{4}, outDims: 4, diff: []bool{true},
		shape: func(sh []tensor.Shape) (tensor.Shape, error) {
			return tensor.Shape{sh[0][0], sh[0][1], sh[0][2] / k, sh[0][3] / k}, nil
		},
		fwd32: func(y []float32, in [][]float32, sh []tensor.Shape) {
			avgPool(y, in[0], sh[0][0]*sh[0][1], sh[0][2], sh[0][3], k, false)
		},
		fwd64: func(y []float64, in [][]float64, sh []tensor.Shape) {
			avgPool(y, in[0], sh[0][0]*sh[0][1], sh[0][2], sh[0][3], k, false)
		},
	}
	op.grad = func(_ int, in gorgonia.Nodes, _, dy *gorgonia.Node) (*gorgonia.Node, error) {
		return (&fnOp{name: fmt.Sprintf("nn.AvgPool2DGrad{%d}", k), inDims: []int{4, 4}, outDims: 4, shape: sameShape,
			fwd32: func(dx []float32, in [][]float32, sh []tensor.Shape) {
				avgPool(in[1], dx, sh[0][0]*sh[0][1], sh[0][2], sh[0][3], k, true)
			},
			fwd64: func(dx []float64, in [][]float64, sh []tensor.Shape) {
				avgPool(in[1], dx, sh[0][0]*sh[0][1], sh[0][2], sh[0][3], k, true)
			},
		}).apply(in[0], dy)
	}
	return op.apply(x)
}

func shapeOf(x *gorgonia.Node) tensor.Shape {
	if x == nil {
		return nil
	}
	return x.Shape()
}

// AvgPool2DForward writes the k x k average pooling of x (n, c, h, w)
// into dst (n, c, h/k, w/k).
func AvgPool2DForward(dst, x []float32, n, c, h, w, k int) {
	avgPool(dst, x, n*c, h, w, k, false)
}

// AvgPool2DBackward writes the gradient of AvgPool2DForward, dx (n, c, h,
// w), from dy (n, c, h/k, w/k); positions outside every window get 0.
func AvgPool2DBackward(dx, dy []float32, n, c, h, w, k int) {
	avgPool(dy, dx, n*c, h, w, k, true)
}

// avgPool computes y = pool(x) for x (planes, h, w) or, with back, its
// transpose: x = poolᵀ(y) (x zeroed first; positions outside
// every window get 0).
func avgPool[T float](y, x []T, planes, h, w, k int, back bool) {
	oh, ow := h/k, w/k
	inv := 1 / T(k*k)
	if back {
		clear(x[:planes*h*w])
	}
	for i := 0; i < planes; i++ {
		xc, yc := x[i*h*w:(i+1)*h*w], y[i*oh*ow:(i+1)*oh*ow]
		for r := 0; r < oh; r++ {
			for o := 0; o < ow; o++ {
				if back {
					g := yc[r*ow+o] * inv
					for a := 0; a < k; a++ {
						row := xc[(r*k+a)*w+o*k:][:k]
						for j := range row {
							row[j] = g
						}
					}
					continue
				}
				var s T
				for a := 0; a < k; a++ {
					for _, v := range xc[(r*k+a)*w+o*k:][:k] {
						s += v
					}
				}
				yc[r*ow+o] = s * inv
			}
		}
	}
}

// ConcatChannels joins xs (N, C_i, H, W) along the channel axis into
// (N, Σ C_i, H, W), in order: DenseNet's concatenation.
func ConcatChannels(xs ...*gorgonia.Node) (*gorgonia.Node, error) {
	if len(xs) == 0 {
		return nil, fmt.Errorf("nn: concat channels: no inputs")
	}
	cs := make([]int, len(xs))
	in := make([]int, len(xs))
	for i, x := range xs {
		if x == nil || x.Dims() != 4 {
			return nil, fmt.Errorf("nn: concat channels: input %d is %v, want 4 dims", i, shapeOf(x))
		}
		s0, s := xs[0].Shape(), x.Shape()
		if s[0] != s0[0] || s[2] != s0[2] || s[3] != s0[3] {
			return nil, fmt.Errorf("nn: concat channels: input %d is %v, input 0 %v", i, s, s0)
		}
		cs[i], in[i] = s[1], 4
	}
	C := 0
	for _, c := range cs {
		C += c
	}
	op := &fnOp{name: fmt.Sprintf("nn.ConcatChannels{%v}", cs), inDims: in, outDims: 4, diff: make([]bool, len(xs)),
		shape: func(sh []tensor.Shape) (tensor.Shape, error) {
			return tensor.Shape{sh[0][0], C, sh[0][2], sh[0][3]}, nil
		},
		fwd32: func(y []float32, in [][]float32, sh []tensor.Shape) {
			concatChannels(y, in, cs, sh[0][0], sh[0][2]*sh[0][3])
		},
		fwd64: func(y []float64, in [][]float64, sh []tensor.Shape) {
			concatChannels(y, in, cs, sh[0][0], sh[0][2]*sh[0][3])
		},
	}
	for i := range op.diff {
		op.diff[i] = true
	}
	op.grad = func(i int, _ gorgonia.Nodes, _, dy *gorgonia.Node) (*gorgonia.Node, error) {
		off := 0
		for _, c := range cs[:i] {
			off += c
		}
		c := cs[i]
		return (&fnOp{name: fmt.Sprintf("nn.ChannelSlice{%d:%d}", off, off+c), inDims: []int{4}, outDims: 4,
			shape: func(sh []tensor.Shape) (tensor.Shape, error) {
				return tensor.Shape{sh[0][0], c, sh[0][2], sh[0][3]}, nil
			},
			fwd32: func(dx []float32, in [][]float32, sh []tensor.Shape) {
				channelSlice(dx, in[0], sh[0][0], sh[0][1], sh[0][2]*sh[0][3], off, c)
			},
			fwd64: func(dx []float64, in [][]float64, sh []tensor.Shape) {
				channelSlice(dx, in[0], sh[0][0], sh[0][1], sh[0][2]*sh[0][3], off, c)
			},
		}).apply(dy)
	}
	return op.apply(xs...)
}

// ConcatChannelsForward writes the concatenation of xs (n, cs[i], hw)
// along channels into dst (n, Σ cs, hw).
func ConcatChannelsForward(dst []float32, xs [][]float32, cs []int, n, hw int) {
	concatChannels(dst, xs, cs, n, hw)
}

func concatChannels[T float](y []T, xs [][]T, cs []int, n, hw int) {
	C := 0
	for _, c := range cs {
		C += c
	}
	for i := 0; i < n; i++ {
		off := 0
		for j, x := range xs {
			copy(y[(i*C+off)*hw:(i*C+off+cs[j])*hw], x[i*cs[j]*hw:(i+1)*cs[j]*hw])
			off += cs[j]
		}
	}
}

// channelSlice copies channels off..off+c-1 of x (n, C, hw) into y (n, c,
// hw).
func channelSlice[T float](y, x []T, n, C, hw, off, c int) {
	for i := 0; i < n; i++ {
		copy(y[i*c*hw:(i+1)*c*hw], x[(i*C+off)*hw:(i*C+off+c)*hw])
	}
}

// Dropout adds inverted dropout of x (any shape) to x's graph: each run of
// the graph draws a fresh mask from rng, zeroing each element with
// probability p and scaling the others by 1/(1-p), so that inference needs
// no rescaling (Srivastava et al. 2014). Use it in training graphs only; p
// = 0 returns x. The backward pass uses the forward pass's mask.
func Dropout(x *gorgonia.Node, p float64, rng *rand.Rand) (*gorgonia.Node, error) {
	if !(p >= 0 && p < 1) || rng == nil {
		return nil, fmt.Errorf("nn: dropout: p %v (want 0 <= p < 1), rng %v", p, rng)
	}
	if x == nil {
		return nil, fmt.Errorf("nn: dropout: nil input")
	}
	if p == 0 {
		return x, nil
	}
	d := x.Dims()
	var m32 []float32
	var m64 []float64
	scale := 1 / (1 - p)
	op := &fnOp{name: fmt.Sprintf("nn.Dropout{%v,%p}", p, &m32), inDims: []int{d}, outDims: d, shape: sameShape, diff: []bool{true},
		fwd32: func(y []float32, in [][]float32, _ []tensor.Shape) {
			m32 = dropMask(m32, len(y), p, float32(scale), rng)
			mulInto(y, in[0], m32)
		},
		fwd64: func(y []float64, in [][]float64, _ []tensor.Shape) {
			m64 = dropMask(m64, len(y), p, scale, rng)
			mulInto(y, in[0], m64)
		},
	}
	op.grad = func(_ int, _ gorgonia.Nodes, _, dy *gorgonia.Node) (*gorgonia.Node, error) {
		return (&fnOp{name: fmt.Sprintf("nn.DropoutGrad{%v,%p}", p, &m32), inDims: []int{d}, outDims: d, shape: sameShape,
			fwd32: func(dx []float32, in [][]float32, _ []tensor.Shape) { mulInto(dx, in[0], m32) },
			fwd64: func(dx []float64, in [][]float64, _ []tensor.Shape) { mulInto(dx, in[0], m64) },
		}).apply(dy)
	}
	return op.apply(x)
}

func dropMask[T float](m []T, n int, p float64, scale T, rng *rand.Rand) []T {
	if cap(m) < n {
		m = make([]T, n)
	}
	m = m[:n]
	for i := range m {
		if rng.Float64() < p {
			m[i] = 0
		} else {
			m[i] = scale
		}
	}
	return m
}

func mulInto[T float](y, a, b []T) {
	for i := range y {
		y[i] = a[i] * b[i]
	}
}

// reluBackward32 is ReLU's backward pass dx = dy ⊙ [y > 0] for float32
// without a branch per element: on the N(0, 1) inputs of a network half
// the signs are unpredictable, and the masked form is about 5 times faster
// than the branchy one.
func reluBackward32(dx, y, dy []float32) {
	dx, dy = dx[:len(y)], dy[:len(y)]
	for i, v := range y {
		var m uint32
		if math.Float32bits(v)-1 < 0x7f800000 { // 0 < v <= +Inf (not -0, negative or NaN)
			m = ^uint32(0)
		}
		dx[i] = math.Float32frombits(math.Float32bits(dy[i]) & m)
	}
}
