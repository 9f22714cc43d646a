package nn

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wavenet-go/wavenet/internal/kernel"
)

// This file holds the small framework behind the Ops of dense.go, loss.go,
// softmax.go and norm.go: an Op described by a forward function generic
// over float32 (the training dtype, on internal/kernel) and float64 (the
// dtype of gradient checks), and gradient nodes built from more such Ops.

type float interface{ ~float32 | ~float64 }

// fnOp is a gorgonia Op given by functions. Its inputs are tensors of the
// dims in inDims (0 means a scalar) of one dtype; its output has outDims
// dims. The forward function receives the output buffer (zeroed, of the
// size shape returns) and the inputs' backing slices and shapes.
type fnOp struct {
	name    string // with every parameter: gorgonia hashes Ops by it
	inDims  []int
	outDims int
	shape   func(in []tensor.Shape) (tensor.Shape, error)
	fwd32   func(out []float32, in [][]float32, sh []tensor.Shape)
	fwd64   func(out []float64, in [][]float64, sh []tensor.Shape)
	// grad builds the gradient of input i from the inputs, the output and
	// the output's gradient; nil, or diff[i] false, means no gradient.
	diff []bool
	grad func(i int, in gorgonia.Nodes, out, dout *gorgonia.Node) (*gorgonia.Node, error)

	// out is the output tensor of the last Do, reused by the next one when
	// the shape and dtype agree: every fnOp belongs to one node of one
	// graph, and a run rewrites the whole buffer, so steady-state training
	// allocates no activations or gradients.
	out *tensor.Dense
}

// outBuf returns a zeroed output tensor of the given shape and dtype, the
// previous one when it fits.
func (op *fnOp) outBuf(dt tensor.Dtype, shape tensor.Shape) *tensor.Dense {
	if o := op.out; o != nil && o.Dtype() == dt && o.Shape().Eq(shape) {
		switch d := o.Data().(type) {
		case []float32:
			clear(d)
		case []float64:
			clear(d)
		}
		return o
	}
	op.out = tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
	return op.out
}

func typeOfDims(d int) hm.Type {
	a := hm.TypeVariable('a')
	if d == 0 {
		return a
	}
	return gorgonia.TensorType{Dims: d, Of: a}
}

func (op *fnOp) Arity() int { return len(op.inDims) }

func (op *fnOp) Type() hm.Type {
	ts := make([]hm.Type, 0, len(op.inDims)+1)
	for _, d := range op.inDims {
		ts = append(ts, typeOfDims(d))
	}
	ts = append(ts, typeOfDims(op.outDims))
	return hm.NewFnType(ts...)
}

func (op *fnOp) InferShape(ds ...gorgonia.DimSizer) (tensor.Shape, error) {
	sh := make([]tensor.Shape, len(ds))
	for i, d := range ds {
		s, ok := d.(tensor.Shape)
		if !ok {
			return nil, fmt.Errorf("nn: %s: input %d has no shape", op.name, i)
		}
		sh[i] = s
	}
	return op.shape(sh)
}

func (op *fnOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	if len(vs) != len(op.inDims) {
		return nil, fmt.Errorf("nn: %s: got %d inputs, want %d", op.name, len(vs), len(op.inDims))
	}
	sh := make([]tensor.Shape, len(vs))
	for i, v := range vs {
		sh[i] = v.Shape()
	}
	outShape, err := op.shape(sh)
	if err != nil {
		return nil, err
	}
	dt := vs[0].Dtype()
	size := outShape.TotalSize()
	if op.outDims == 0 {
		size = 1
	}
	switch dt {
	case tensor.Float32:
		in, err := slicesOf[float32](op.name, vs)
		if err != nil {
			return nil, err
		}
		if op.outDims == 0 {
			out := []float32{0}
			op.fwd32(out, in, sh)
			return gorgonia.NewF32(out[0]), nil
		}
		o := op.outBuf(dt, outShape)
		op.fwd32(o.Float32s()[:size], in, sh)
		return o, nil
	case tensor.Float64:
		in, err := slicesOf[float64](op.name, vs)
		if err != nil {
			return nil, err
		}
		if op.outDims == 0 {
			out := []float64{0}
			op.fwd64(out, in, sh)
			return gorgonia.NewF64(out[0]), nil
		}
		o := op.outBuf(dt, outShape)
		op.fwd64(o.Float64s()[:size], in, sh)
		return o, nil
	}
	return nil, fmt.Errorf("nn: %s: dtype %v not supported (float32 or float64)", op.name, dt)
}

func slicesOf[T float32 | float64](name string, vs []gorgonia.Value) ([][]T, error) {
	in := make([][]T, len(vs))
	for i, v := range vs {
		switch d := v.Data().(type) {
		case []T:
			in[i] = d
		case T:
			in[i] = []T{d}
		default:
			return nil, fmt.Errorf("nn: %s: input %d holds %T, want %T", name, i, v.Data(), in[i])
		}
	}
	return in, nil
}

func (op *fnOp) ReturnsPtr() bool      { return false }
func (op *fnOp) CallsExtern() bool     { return false }
func (op *fnOp) OverwritesInput() int  { return -1 }
func (op *fnOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.name) }
func (op *fnOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}
func (op *fnOp) String() string { return op.name }

func (op *fnOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	if op.grad != nil {
		copy(d, op.diff)
	}
	return d
}

func (op *fnOp) SymDiff(in gorgonia.Nodes, out, dout *gorgonia.Node) (gorgonia.Nodes, error) {
	grads := make(gorgonia.Nodes, len(in))
	for i := range in {
		if i >= len(op.diff) || !op.diff[i] {
			continue
		}
		g, err := op.grad(i, in, out, dout)
		if err != nil {
			return nil, fmt.Errorf("nn: %s: gradient of input %d: %w", op.name, i, err)
		}
		grads[i] = g
	}
	return grads, nil
}

// apply checks the dims of the inputs and adds op to their graph.
func (op *fnOp) apply(in ...*gorgonia.Node) (*gorgonia.Node, error) {
	for i, n := range in {
		if n == nil {
			return nil, fmt.Errorf("nn: %s: input %d is nil", op.name, i)
		}
		if d := n.Dims(); d != op.inDims[i] {
			return nil, fmt.Errorf("nn: %s: input %d (%s) has %d dims, want %d", op.name, i, n.Name(), d, op.inDims[i])
		}
	}
	return gorgonia.ApplyOp(op, in...)
}

// sameShape is the shape function of Ops whose output has the shape of
// input 0.
func sameShape(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }

func scalarShape([]tensor.Shape) (tensor.Shape, error) { return tensor.ScalarShape(), nil }

// gemm is kernel.Gemm (C = op(A) op(B) + beta C, row-major, alpha 1) for
// float32 and its plain loop for float64.
func gemm[T float](transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if a32, ok := any(a).([]float32); ok {
		kernel.Gemm(transA, transB, m, n, k, 1, a32, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
		return
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s T
			for p := 0; p < k; p++ {
				var av, bv T
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = s
			} else {
				c[i*ldc+j] = s + beta*c[i*ldc+j]
			}
		}
	}
}

// sameShapeCheck reports whether the shapes of inputs a and b are equal.
func sameShapeCheck(name string, a, b tensor.Shape) error {
	if !a.Eq(b) {
		return fmt.Errorf("nn: %s: shapes %v and %v differ", name, a, b)
	}
	return nil
}
