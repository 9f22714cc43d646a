package nn

import (
	"fmt"
	"sync"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wavenet-go/wavenet/internal/kernel"
)

// This file holds the 2-D convolution over NCHW images (the spectrogram
// CNNs' layer). It has three paths:
//
//	pointwise (1x1, stride 1, no padding, 1 group): y_n = W x_n, one GEMM
//	                per sample with x_n seen as a (C, H*W) matrix
//	depthwise (Groups == InC == OutC): a direct loop per channel, each
//	                tap one scaled row added to an output row
//	general:        im2col per sample and group, then one GEMM
//	                (Chellapilla et al. 2006, "High performance
//	                convolutional neural networks for document processing")
//
// Every function is generic over float32 (training, inference, on
// kernel.Gemm) and float64 (gradient checks).

// Conv2DSpec describes a 2-D convolution over NCHW images: x is
// (N, InC, H, W), the weight (OutC, InC/Groups, KH, KW), the bias (OutC).
// Groups 0 means 1; OutC and InC must be multiples of Groups. The output is
// (N, OutC, OH, OW) with OH = (H + 2 PadH - KH) / StrideH + 1 (floor), as
// torch.nn.Conv2d with zero padding and dilation 1.
type Conv2DSpec struct {
	InC, OutC, KH, KW, StrideH, StrideW, PadH, PadW, Groups int
}

func (s Conv2DSpec) groups() int { return max(1, s.Groups) }

// Check reports a spec that does not describe a convolution.
func (s Conv2DSpec) Check() error {
	g := s.groups()
	if s.InC < 1 || s.OutC < 1 || s.KH < 1 || s.KW < 1 || s.StrideH < 1 || s.StrideW < 1 || s.PadH < 0 || s.PadW < 0 ||
		s.Groups < 0 || s.InC%g != 0 || s.OutC%g != 0 {
		return fmt.Errorf("nn: conv2d: bad spec %+v", s)
	}
	return nil
}

// OutHW returns the output height and width for an h x w input (values
// below 1 mean the kernel does not fit).
func (s Conv2DSpec) OutHW(h, w int) (int, int) {
	return (h+2*s.PadH-s.KH)/s.StrideH + 1, (w+2*s.PadW-s.KW)/s.StrideW + 1
}

// WeightLen is the number of weights: OutC * InC/Groups * KH * KW.
func (s Conv2DSpec) WeightLen() int { return s.OutC * s.InC / s.groups() * s.KH * s.KW }

// MACs is the number of multiply-adds of one sample with an h x w input
// (the bias not counted).
func (s Conv2DSpec) MACs(h, w int) int64 {
	oh, ow := s.OutHW(h, w)
	return int64(oh*ow) * int64(s.WeightLen())
}

// sizes returns, for an h x w input, the output size oh x ow, the output
// and input positions P and HW, the groups G, the input and output
// channels per group and K, the length of a column of im2col.
func (s Conv2DSpec) sizes(h, w int) (oh, ow, P, HW, G, cin, cout, K int) {
	oh, ow = s.OutHW(h, w)
	G = s.groups()
	cin, cout = s.InC/G, s.OutC/G
	return oh, ow, oh * ow, h * w, G, cin, cout, cin * s.KH * s.KW
}

func (s Conv2DSpec) pointwise() bool {
	return s.KH == 1 && s.KW == 1 && s.StrideH == 1 && s.StrideW == 1 && s.PadH == 0 && s.PadW == 0 && s.groups() == 1
}

func (s Conv2DSpec) depthwise() bool { return s.groups() == s.InC && s.InC == s.OutC }

func (s Conv2DSpec) String() string {
	return fmt.Sprintf("%d->%d,k%dx%d,s%dx%d,p%dx%d,g%d", s.InC, s.OutC, s.KH, s.KW, s.StrideH, s.StrideW, s.PadH, s.PadW, s.groups())
}

// Conv2D adds the convolution of x (N, InC, H, W) with w (OutC,
// InC/Groups, KH, KW) plus b (OutC; nil for none) to x's graph; the result
// is (N, OutC, OH, OW). Float32 or float64.
func Conv2D(x, w, b *gorgonia.Node, spec Conv2DSpec) (*gorgonia.Node, error) {
	if err := spec.Check(); err != nil {
		return nil, err
	}
	if x == nil || w == nil {
		return nil, fmt.Errorf("nn: conv2d: nil input")
	}
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 4 || xs[1] != spec.InC || !ws.Eq(tensor.Shape{spec.OutC, spec.InC / spec.groups(), spec.KH, spec.KW}) {
		return nil, fmt.Errorf("nn: conv2d: x %v and w %v do not fit %v", xs, ws, spec)
	}
	if oh, ow := spec.OutHW(xs[2], xs[3]); oh < 1 || ow < 1 {
		return nil, fmt.Errorf("nn: conv2d: input %dx%d is smaller than the kernel of %v", xs[2], xs[3], spec)
	}
	if b != nil && (b.Dims() != 1 || b.Shape()[0] != spec.OutC) {
		return nil, fmt.Errorf("nn: conv2d: bias %v, want (%d)", b.Shape(), spec.OutC)
	}
	outShape := func(sh []tensor.Shape) (tensor.Shape, error) {
		oh, ow := spec.OutHW(sh[0][2], sh[0][3])
		return tensor.Shape{sh[0][0], spec.OutC, oh, ow}, nil
	}
	inDims, diff := []int{4, 4}, []bool{true, true}
	if b != nil {
		inDims, diff = append(inDims, 1), append(diff, true)
	}
	op := &fnOp{name: fmt.Sprintf("nn.Conv2D{%v,bias=%v}", spec, b != nil), inDims: inDims, outDims: 4, shape: outShape, diff: diff,
		fwd32: func(y []float32, in [][]float32, sh []tensor.Shape) {
			conv2dForward(y, in[0], in[1], biasOf(in), sh[0][0], sh[0][2], sh[0][3], spec)
		},
		fwd64: func(y []float64, in [][]float64, sh []tensor.Shape) {
			conv2dForward(y, in[0], in[1], biasOf(in), sh[0][0], sh[0][2], sh[0][3], spec)
		},
	}
	op.grad = func(i int, in gorgonia.Nodes, _, dy *gorgonia.Node) (*gorgonia.Node, error) {
		name := fmt.Sprintf("nn.Conv2DGrad%d{%v}", i, spec)
		switch i {
		case 0: // (x, w, dy) -> dx; x gives the shape only
			return (&fnOp{name: name, inDims: []int{4, 4, 4}, outDims: 4, shape: sameShape,
				fwd32: func(dx []float32, in [][]float32, sh []tensor.Shape) {
					conv2dBackwardInput(dx, in[2], in[1], sh[0][0], sh[0][2], sh[0][3], spec)
				},
				fwd64: func(dx []float64, in [][]float64, sh []tensor.Shape) {
					conv2dBackwardInput(dx, in[2], in[1], sh[0][0], sh[0][2], sh[0][3], spec)
				}}).apply(in[0], in[1], dy)
		case 1: // (x, w, dy) -> dw
			return (&fnOp{name: name, inDims: []int{4, 4, 4}, outDims: 4, shape: func(sh []tensor.Shape) (tensor.Shape, error) { return sh[1].Clone(), nil },
				fwd32: func(dw []float32, in [][]float32, sh []tensor.Shape) {
					conv2dBackwardWeight(dw, in[0], in[2], sh[0][0], sh[0][2], sh[0][3], spec)
				},
				fwd64: func(dw []float64, in [][]float64, sh []tensor.Shape) {
					conv2dBackwardWeight(dw, in[0], in[2], sh[0][0], sh[0][2], sh[0][3], spec)
				}}).apply(in[0], in[1], dy)
		}
		return (&fnOp{name: name, inDims: []int{4}, outDims: 1, shape: func(sh []tensor.Shape) (tensor.Shape, error) { return tensor.Shape{sh[0][1]}, nil },
			fwd32: func(db []float32, in [][]float32, sh []tensor.Shape) {
				conv2dBackwardBias(db, in[0], sh[0][0], sh[0][2]*sh[0][3])
			},
			fwd64: func(db []float64, in [][]float64, sh []tensor.Shape) {
				conv2dBackwardBias(db, in[0], sh[0][0], sh[0][2]*sh[0][3])
			},
		}).apply(dy)
	}
	return op.apply(append([]*gorgonia.Node{x, w}, nonNil(b)...)...)
}

func biasOf[T float](in [][]T) []T {
	if len(in) > 2 {
		return in[2]
	}
	return nil
}

func nonNil(ns ...*gorgonia.Node) []*gorgonia.Node {
	var out []*gorgonia.Node
	for _, n := range ns {
		if n != nil {
			out = append(out, n)
		}
	}
	return out
}

// Conv2DForward is the plain computation behind Conv2D: y (n, OutC, OH,
// OW) = conv(x (n, InC, h, wdt), w) + b; b may be nil. It does not
// allocate once its im2col scratch (kept in a pool) has grown.
func Conv2DForward(y, x, w, b []float32, n, h, wdt int, spec Conv2DSpec) {
	conv2dForward(y, x, w, b, n, h, wdt, spec)
}

// Conv2DBackwardInput computes dx (n, InC, h, wdt) from dy (n, OutC, OH,
// OW) and w.
func Conv2DBackwardInput(dx, dy, w []float32, n, h, wdt int, spec Conv2DSpec) {
	conv2dBackwardInput(dx, dy, w, n, h, wdt, spec)
}

// Conv2DBackwardWeight computes dw (OutC, InC/Groups, KH, KW) from x (n,
// InC, h, wdt) and dy.
func Conv2DBackwardWeight(dw, x, dy []float32, n, h, wdt int, spec Conv2DSpec) {
	conv2dBackwardWeight(dw, x, dy, n, h, wdt, spec)
}

// Conv2DBackwardBias computes db (C) from dy (n, C, hw) (hw = OH*OW).
func Conv2DBackwardBias(db, dy []float32, n, hw int) { conv2dBackwardBias(db, dy, n, hw) }

// scratch pools for im2col columns, one per dtype.
var (
	cols32 = sync.Pool{New: func() any { return new([]float32) }}
	cols64 = sync.Pool{New: func() any { return new([]float64) }}
)

func getCols[T float](n int) (*[]T, *sync.Pool) {
	var p *sync.Pool
	if _, ok := any(T(0)).(float32); ok {
		p = &cols32
	} else {
		p = &cols64
	}
	c := p.Get().(*[]T)
	if cap(*c) < n {
		*c = make([]T, n)
	}
	*c = (*c)[:n]
	return c, p
}

func conv2dForward[T float](y, x, w, b []T, n, h, wdt int, s Conv2DSpec) {
	oh, ow, P, HW, _, _, cout, K := s.sizes(h, wdt)
	if len(y) < n*s.OutC*P || len(x) < n*s.InC*HW || len(w) < s.WeightLen() || (b != nil && len(b) < s.OutC) {
		panic(fmt.Sprintf("nn: conv2d: buffers y %d x %d w %d for n %d %dx%d %v", len(y), len(x), len(w), n, h, wdt, s))
	}
	beta := T(0)
	if b != nil {
		for i := 0; i < n*s.OutC; i++ {
			yc := y[i*P : (i+1)*P]
			v := b[i%s.OutC]
			for j := range yc {
				yc[j] = v
			}
		}
		beta = 1
	}
	switch {
	case s.pointwise():
		for i := 0; i < n; i++ {
			gemm(false, false, s.OutC, P, s.InC, w, s.InC, x[i*s.InC*HW:], HW, beta, y[i*s.OutC*P:], P)
		}
	case s.depthwise():
		if b == nil {
			clear(y[:n*s.OutC*P])
		}
		for i := 0; i < n*s.InC; i++ {
			c := i % s.InC
			depthwiseForward(y[i*P:(i+1)*P], x[i*HW:(i+1)*HW], w[c*s.KH*s.KW:(c+1)*s.KH*s.KW], h, wdt, oh, ow, s)
		}
	default:
		eachCols(x, n, h, wdt, s, func(i, g int, col []T) {
			gemm(false, false, cout, P, K, w[g*cout*K:], K, col, P, beta, y[(i*s.OutC+g*cout)*P:], P)
		})
	}
}

// taps calls f for each kernel tap (kh, kw) and output row r with the
// range of output columns [o0, o1) whose input column is inside the image,
// the input row ih and the first input column (o0*stride + kw - pad).
func taps(h, wdt, oh, ow int, s Conv2DSpec, f func(kh, kw, r, ih, o0, o1, i0 int)) {
	for kh := 0; kh < s.KH; kh++ {
		for kw := 0; kw < s.KW; kw++ {
			off := kw - s.PadW
			// o*stride + off in [0, wdt)
			o0 := max(0, (-off+s.StrideW-1)/s.StrideW)
			o1 := min(ow, (wdt-off+s.StrideW-1)/s.StrideW)
			if o0 >= o1 {
				continue
			}
			for r := 0; r < oh; r++ {
				ih := r*s.StrideH + kh - s.PadH
				if ih < 0 || ih >= h {
					continue
				}
				f(kh, kw, r, ih, o0, o1, o0*s.StrideW+off)
			}
		}
	}
}

// depthwiseForward adds the convolution of one channel x (h, wdt) with its
// kernel wc (KH, KW) to y (oh, ow).
func depthwiseForward[T float](y, x, wc []T, h, wdt, oh, ow int, s Conv2DSpec) {
	if s.KH == 3 && s.KW == 3 && s.PadH == 1 && s.PadW == 1 {
		depthwise3x3(y, x, wc, h, wdt, oh, ow, s.StrideH, s.StrideW)
		return
	}
	taps(h, wdt, oh, ow, s, func(kh, kw, r, ih, o0, o1, i0 int) {
		wv := wc[kh*s.KW+kw]
		yr := y[r*ow+o0 : r*ow+o1]
		xr := x[ih*wdt+i0:]
		if s.StrideW == 1 {
			axpy(yr, wv, xr[:len(yr)])
			return
		}
		for j := range yr {
			yr[j] += wv * xr[j*s.StrideW]
		}
	})
}

// eachCols calls f with the im2col matrix of each sample i and group g of
// x (n, InC, h, wdt), in a pooled scratch buffer.
func eachCols[T float](x []T, n, h, wdt int, s Conv2DSpec, f func(i, g int, col []T)) {
	oh, ow, P, HW, G, cin, _, K := s.sizes(h, wdt)
	col, pool := getCols[T](K * P)
	defer pool.Put(col)
	for i := 0; i < n; i++ {
		for g := 0; g < G; g++ {
			im2col(*col, x[(i*s.InC+g*cin)*HW:], cin, h, wdt, oh, ow, s)
			f(i, g, *col)
		}
	}
}

// depthwise3x3 is depthwiseForward for the 3x3 kernel with padding 1 (the
// MobileNet one): each output is one sum of its 9 taps, with the columns
// away from the border free of bounds tests.
func depthwise3x3[T float](y, x, wc []T, h, wdt, oh, ow, sh, sw int) {
	// Interior columns o have 0 <= o*sw-1 and o*sw+1 < wdt.
	lo, hi := 1, min(ow-1, (wdt-2)/sw)
	for r := 0; r < oh; r++ {
		var w [9]T
		var rows [3][]T
		for k := 0; k < 3; k++ {
			ih := r*sh - 1 + k
			if ih < 0 || ih >= h {
				rows[k] = x[:wdt] // any row: its weights stay 0
				continue
			}
			rows[k] = x[ih*wdt : (ih+1)*wdt]
			copy(w[3*k:3*k+3], wc[3*k:3*k+3])
		}
		x0, x1, x2 := rows[0], rows[1], rows[2]
		yr := y[r*ow : (r+1)*ow]
		for o := lo; o <= hi; o++ {
			c := o * sw
			a0, a1, a2 := x0[c-1:c+2], x1[c-1:c+2], x2[c-1:c+2]
			yr[o] += w[0]*a0[0] + w[1]*a0[1] + w[2]*a0[2] +
				w[3]*a1[0] + w[4]*a1[1] + w[5]*a1[2] +
				w[6]*a2[0] + w[7]*a2[1] + w[8]*a2[2]
		}
		for o := 0; o < ow; o++ {
			if o >= lo && o <= hi {
				continue
			}
			var acc T
			for kw := 0; kw < 3; kw++ {
				if iw := o*sw - 1 + kw; iw >= 0 && iw < wdt {
					acc += w[kw]*x0[iw] + w[3+kw]*x1[iw] + w[6+kw]*x2[iw]
				}
			}
			yr[o] += acc
		}
	}
}

// axpy is y += a x, on kernel.Axpy for float32.
func axpy[T float](y []T, a T, x []T) {
	if y32, ok := any(y).([]float32); ok {
		kernel.Axpy(y32, float32(a), any(x).([]float32))
		return
	}
	for j := range y {
		y[j] += a * x[j]
	}
}

// im2col writes the (cin*KH*KW, oh*ow) column matrix of x (cin, h, wdt)
// into col: row (c, kh, kw), column (r, o) holds x[c, r*sh+kh-ph,
// o*sw+kw-pw], zero outside the image.
func im2col[T float](col, x []T, cin, h, wdt, oh, ow int, s Conv2DSpec) {
	P := oh * ow
	clear(col[:cin*s.KH*s.KW*P])
	for c := 0; c < cin; c++ {
		xc := x[c*h*wdt : (c+1)*h*wdt]
		cc := col[c*s.KH*s.KW*P:]
		taps(h, wdt, oh, ow, s, func(kh, kw, r, ih, o0, o1, i0 int) {
			yr := cc[(kh*s.KW+kw)*P+r*ow:][o0:o1]
			xr := xc[ih*wdt+i0:]
			if s.StrideW == 1 {
				copy(yr, xr)
				return
			}
			for j := range yr {
				yr[j] = xr[j*s.StrideW]
			}
		})
	}
}

// col2im adds the column matrix col back into x (cin, h, wdt): the
// transpose of im2col.
func col2im[T float](x, col []T, cin, h, wdt, oh, ow int, s Conv2DSpec) {
	P := oh * ow
	for c := 0; c < cin; c++ {
		xc := x[c*h*wdt : (c+1)*h*wdt]
		cc := col[c*s.KH*s.KW*P:]
		taps(h, wdt, oh, ow, s, func(kh, kw, r, ih, o0, o1, i0 int) {
			xr := xc[ih*wdt+i0:]
			for j, v := range cc[(kh*s.KW+kw)*P+r*ow:][o0:o1] {
				xr[j*s.StrideW] += v
			}
		})
	}
}

func conv2dBackwardInput[T float](dx, dy, w []T, n, h, wdt int, s Conv2DSpec) {
	oh, ow, P, HW, G, cin, cout, K := s.sizes(h, wdt)
	switch {
	case s.pointwise():
		for i := 0; i < n; i++ {
			gemm(true, false, s.InC, P, s.OutC, w, s.InC, dy[i*s.OutC*P:], P, 0, dx[i*s.InC*HW:], HW)
		}
	case s.depthwise():
		clear(dx[:n*s.InC*HW])
		for i := 0; i < n*s.InC; i++ {
			c := i % s.InC
			wc := w[c*s.KH*s.KW:]
			dxc, dyc := dx[i*HW:(i+1)*HW], dy[i*P:(i+1)*P]
			taps(h, wdt, oh, ow, s, func(kh, kw, r, ih, o0, o1, i0 int) {
				wv := wc[kh*s.KW+kw]
				xr := dxc[ih*wdt+i0:]
				for j, v := range dyc[r*ow+o0 : r*ow+o1] {
					xr[j*s.StrideW] += wv * v
				}
			})
		}
	default:
		clear(dx[:n*s.InC*HW])
		col, pool := getCols[T](K * P)
		defer pool.Put(col)
		for i := 0; i < n; i++ {
			for g := 0; g < G; g++ {
				gemm(true, false, K, P, cout, w[g*cout*K:], K, dy[(i*s.OutC+g*cout)*P:], P, 0, *col, P)
				col2im(dx[(i*s.InC+g*cin)*HW:], *col, cin, h, wdt, oh, ow, s)
			}
		}
	}
}

func conv2dBackwardWeight[T float](dw, x, dy []T, n, h, wdt int, s Conv2DSpec) {
	oh, ow, P, HW, _, _, cout, K := s.sizes(h, wdt)
	clear(dw[:s.WeightLen()])
	switch {
	case s.pointwise():
		for i := 0; i < n; i++ {
			gemm(false, true, s.OutC, s.InC, P, dy[i*s.OutC*P:], P, x[i*s.InC*HW:], HW, 1, dw, s.InC)
		}
	case s.depthwise():
		for i := 0; i < n*s.InC; i++ {
			c := i % s.InC
			dwc := dw[c*s.KH*s.KW:]
			xc, dyc := x[i*HW:(i+1)*HW], dy[i*P:(i+1)*P]
			taps(h, wdt, oh, ow, s, func(kh, kw, r, ih, o0, o1, i0 int) {
				var acc T
				xr := xc[ih*wdt+i0:]
				for j, v := range dyc[r*ow+o0 : r*ow+o1] {
					acc += v * xr[j*s.StrideW]
				}
				dwc[kh*s.KW+kw] += acc
			})
		}
	default:
		eachCols(x, n, h, wdt, s, func(i, g int, col []T) {
			gemm(false, true, cout, K, P, dy[(i*s.OutC+g*cout)*P:], P, col, P, 1, dw[g*cout*K:], K)
		})
	}
}

// conv2dBackwardBias sums dy (n, C, hw) over samples and positions into
// db (C).
func conv2dBackwardBias[T float](db, dy []T, n, hw int) {
	clear(db)
	C := len(db)
	for i := 0; i < n*C; i++ {
		var s T
		for _, v := range dy[i*hw : (i+1)*hw] {
			s += v
		}
		db[i%C] += s
	}
}
