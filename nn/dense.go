package nn

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wavenet-go/wavenet/internal/kernel"
)

// Dense adds a fully connected layer to x's graph: y = x Wᵀ + b, with
// x (N, In), w (Out, In) as wavenet.Dense stores it, b (Out) or nil, and y
// (N, Out). It is one custom Op on kernel.Gemm; its gradients are
// dx = dy W, dW = dyᵀ x and db = the column sums of dy.
func Dense(x, w, b *gorgonia.Node) (*gorgonia.Node, error) {
	if x == nil || w == nil {
		return nil, fmt.Errorf("nn: dense: nil input")
	}
	if x.Dims() != 2 || w.Dims() != 2 {
		return nil, fmt.Errorf("nn: dense: x is %v and w is %v, want matrices", x.Shape(), w.Shape())
	}
	if xs, ws := x.Shape(), w.Shape(); xs[1] != ws[1] {
		return nil, fmt.Errorf("nn: dense: x is %v, w is %v: x has %d columns, w %d", xs, ws, xs[1], ws[1])
	}
	in := gorgonia.Nodes{x, w}
	if b != nil {
		if b.Dims() != 1 || b.Shape()[0] != w.Shape()[0] {
			return nil, fmt.Errorf("nn: dense: b is %v, want (%d)", b.Shape(), w.Shape()[0])
		}
		in = append(in, b)
	}
	return denseOp(len(in)).apply(in...)
}

func denseOp(arity int) *fnOp {
	op := &fnOp{
		name:    fmt.Sprintf("nn.Dense{%d}", arity),
		inDims:  []int{2, 2, 1}[:arity],
		outDims: 2,
		shape: func(in []tensor.Shape) (tensor.Shape, error) {
			if in[0][1] != in[1][1] {
				return nil, fmt.Errorf("nn: dense: x %v and w %v do not match", in[0], in[1])
			}
			return tensor.Shape{in[0][0], in[1][0]}, nil
		},
		fwd32: denseForward[float32],
		fwd64: denseForward[float64],
		diff:  []bool{true, true, true},
	}
	op.grad = func(i int, in gorgonia.Nodes, out, dout *gorgonia.Node) (*gorgonia.Node, error) {
		switch i {
		case 0: // dx = dy W: (N, Out)(Out, In)
			return (&fnOp{name: "nn.DenseGradX", inDims: []int{2, 2}, outDims: 2,
				shape: func(sh []tensor.Shape) (tensor.Shape, error) { return tensor.Shape{sh[0][0], sh[1][1]}, nil },
				fwd32: denseGradX[float32], fwd64: denseGradX[float64]}).apply(dout, in[1])
		case 1: // dW = dyᵀ x: (Out, N)(N, In)
			return (&fnOp{name: "nn.DenseGradW", inDims: []int{2, 2}, outDims: 2,
				shape: func(sh []tensor.Shape) (tensor.Shape, error) { return tensor.Shape{sh[0][1], sh[1][1]}, nil },
				fwd32: denseGradW[float32], fwd64: denseGradW[float64]}).apply(dout, in[0])
		default: // db = column sums of dy
			return fnColSumOp().apply(dout)
		}
	}
	return op
}

func denseForward[T float](y []T, in [][]T, sh []tensor.Shape) {
	n, k, m := sh[0][0], sh[0][1], sh[1][0]
	gemm(false, true, n, m, k, in[0], k, in[1], k, 0, y, m)
	if len(in) == 3 {
		b := in[2]
		for r := 0; r < n; r++ {
			row := y[r*m : r*m+m]
			for j := range row {
				row[j] += b[j]
			}
		}
	}
}

// denseGradX computes dx (N, In) = dy (N, Out) W (Out, In).
func denseGradX[T float](dx []T, in [][]T, sh []tensor.Shape) {
	n, m, k := sh[0][0], sh[0][1], sh[1][1]
	gemm(false, false, n, k, m, in[0], m, in[1], k, 0, dx, k)
}

// denseGradW computes dW (Out, In) = dyᵀ (Out, N) x (N, In).
func denseGradW[T float](dw []T, in [][]T, sh []tensor.Shape) {
	n, m, k := sh[0][0], sh[0][1], sh[1][1]
	gemm(true, false, m, k, n, in[0], m, in[1], k, 0, dw, k)
}

// fnColSumOp sums a matrix's rows: (N, C) -> (C).
func fnColSumOp() *fnOp {
	return &fnOp{name: "nn.ColSum", inDims: []int{2}, outDims: 1,
		shape: func(sh []tensor.Shape) (tensor.Shape, error) { return tensor.Shape{sh[0][1]}, nil },
		fwd32: fnColSum[float32], fwd64: fnColSum[float64]}
}

func fnColSum[T float](out []T, in [][]T, sh []tensor.Shape) {
	c := sh[0][1]
	x := in[0]
	for r := 0; r+c <= len(x); r += c {
		for j, v := range x[r : r+c] {
			out[j] += v
		}
	}
}

// Linear is a fully connected layer's weights as plain slices, the layout
// of wavenet.Dense: W is (Out, In) row-major, B is (Out) or nil.
type Linear struct {
	Out, In int
	W, B    []float32
}

// NewLinear returns an Out x In layer with a bias, weights drawn by init
// (e.g. [HeUniform]) and a zero bias.
func NewLinear(out, in int, init Init) Linear {
	l := Linear{Out: out, In: in, W: make([]float32, out*in), B: make([]float32, out)}
	if init != nil {
		init(l.W, in, out)
	}
	return l
}

// Forward computes y = W x + B for one input vector x (In) into dst (Out)
// and returns dst; a nil or short dst is allocated. It does not allocate
// otherwise.
func (l *Linear) Forward(dst, x []float32) []float32 {
	if cap(dst) < l.Out {
		dst = make([]float32, l.Out)
	}
	dst = dst[:l.Out]
	if l.B != nil {
		copy(dst, l.B)
	} else {
		clear(dst)
	}
	kernel.MatVecAdd(dst, l.W, x, l.Out, l.In)
	return dst
}

// ForwardBatch computes y = x Wᵀ + B for n rows x (n, In) into dst (n, Out)
// and returns dst; a nil or short dst is allocated.
func (l *Linear) ForwardBatch(dst, x []float32, n int) []float32 {
	if cap(dst) < n*l.Out {
		dst = make([]float32, n*l.Out)
	}
	dst = dst[:n*l.Out]
	kernel.Gemm(false, true, n, l.Out, l.In, 1, x, l.In, l.W, l.In, 0, dst, l.Out)
	if l.B != nil {
		for r := 0; r < n; r++ {
			row := dst[r*l.Out : r*l.Out+l.Out]
			for j := range row {
				row[j] += l.B[j]
			}
		}
	}
	return dst
}

// Nodes adds the layer's weights to g as nodes named name+".w" and
// name+".b" whose values alias W and B, so an optimizer step on their
// Params updates the layer in place. B nil gives a nil bias node.
func (l *Linear) Nodes(g *gorgonia.ExprGraph, name string) (w, b *gorgonia.Node) {
	w = gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(l.Out, l.In), gorgonia.WithName(name+".w"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(l.Out, l.In), tensor.WithBacking(l.W))))
	if l.B != nil {
		b = gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(l.Out), gorgonia.WithName(name+".b"),
			gorgonia.WithValue(tensor.New(tensor.WithShape(l.Out), tensor.WithBacking(l.B))))
	}
	return w, b
}

// clone returns a deep copy.
func (l Linear) clone() Linear {
	l.W = append([]float32(nil), l.W...)
	if l.B != nil {
		l.B = append([]float32(nil), l.B...)
	}
	return l
}

// copyFrom copies src's weights into l; shapes must match.
func (l *Linear) copyFrom(src *Linear) error {
	if l.Out != src.Out || l.In != src.In || len(l.W) != len(src.W) || len(l.B) != len(src.B) {
		return fmt.Errorf("nn: copy %dx%d layer into %dx%d", src.Out, src.In, l.Out, l.In)
	}
	copy(l.W, src.W)
	copy(l.B, src.B)
	return nil
}

func (l *Linear) check() error {
	if l.Out <= 0 || l.In <= 0 || len(l.W) != l.Out*l.In || (l.B != nil && len(l.B) != l.Out) {
		return fmt.Errorf("nn: layer %dx%d has %d weights and %d biases", l.Out, l.In, len(l.W), len(l.B))
	}
	return nil
}
