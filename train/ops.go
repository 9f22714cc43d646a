package train

import (
	"fmt"
	"hash"
	"hash/fnv"
	"sync/atomic"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wavenet-go/wavenet/internal/kernel"
)

// The two element-wise Ops of the graph besides nn's: ReLU and the sum of
// two tensors of one shape. Gorgonia has both, but its versions write into
// whatever register value the tape machine offers (which may hold a weight,
// see nn's buffer), so these own their output buffers like nn's Ops.

var matType = gorgonia.TensorType{Dims: 2, Of: tensor.Float32}

type buffer struct{ t *tensor.Dense }

func (b *buffer) get(shape tensor.Shape) (*tensor.Dense, []float32) {
	if b.t == nil || !b.t.Shape().Eq(shape) {
		b.t = tensor.New(tensor.WithShape(shape.Clone()...), tensor.Of(tensor.Float32))
	}
	return b.t, b.t.Float32s()
}

func f32(v gorgonia.Value) []float32 {
	if d, ok := v.(*tensor.Dense); ok {
		return d.Float32s()
	}
	panic(fmt.Sprintf("train: value of type %T is not a float32 tensor", v))
}

func hashOf(s fmt.Stringer) uint32 {
	h := fnv.New32a()
	fmt.Fprint(h, s.String())
	return h.Sum32()
}

// kind of an elementwise Op.
const (
	kindAdd      = iota // (a, b) -> a + b
	kindReLU            // x -> max(x, 0)
	kindReLUGrad        // (x, dy) -> dy where x > 0
)

type elemOp struct {
	buf   buffer
	kind  int
	shape tensor.Shape
	id    int64 // tells apart Ops gorgonia would otherwise merge
}

func (op *elemOp) Arity() int {
	if op.kind == kindReLU {
		return 1
	}
	return 2
}
func (op *elemOp) Type() hm.Type {
	if op.kind == kindReLU {
		return hm.NewFnType(matType, matType)
	}
	return hm.NewFnType(matType, matType, matType)
}
func (op *elemOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) { return op.shape, nil }
func (op *elemOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != op.Arity() {
		return nil, fmt.Errorf("train: %v: got %d inputs, want %d", op, len(in), op.Arity())
	}
	out, y := op.buf.get(op.shape)
	switch op.kind {
	case kindAdd:
		kernel.Add(y, f32(in[0]), f32(in[1]))
	case kindReLU:
		kernel.ReLU(y, f32(in[0]))
	case kindReLUGrad:
		x, dy := f32(in[0]), f32(in[1])
		dy = dy[:len(x)]
		y = y[:len(x)]
		for i, v := range x {
			if v > 0 {
				y[i] = dy[i]
			} else {
				y[i] = 0
			}
		}
	}
	return out, nil
}
func (op *elemOp) UsePreallocDo(_ gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.Do(in...)
}
func (op *elemOp) ReturnsPtr() bool      { return false }
func (op *elemOp) CallsExtern() bool     { return false }
func (op *elemOp) OverwritesInput() int  { return -1 }
func (op *elemOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *elemOp) Hashcode() uint32      { return hashOf(op) }
func (op *elemOp) String() string {
	return fmt.Sprintf("train.elem{%d,%v,#%d}", op.kind, op.shape, op.id)
}
func (op *elemOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = op.kind != kindReLUGrad
	}
	return d
}
func (op *elemOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	switch op.kind {
	case kindAdd:
		return gorgonia.Nodes{grad, grad}, nil
	case kindReLU:
		dx, err := gorgonia.ApplyOp(&elemOp{kind: kindReLUGrad, shape: op.shape, id: op.id}, in[0], grad)
		return gorgonia.Nodes{dx}, err
	}
	return nil, fmt.Errorf("train: %v is not differentiable", op)
}

var elemIDs atomic.Int64

func add(a, b *gorgonia.Node) (*gorgonia.Node, error) {
	if !a.Shape().Eq(b.Shape()) {
		return nil, fmt.Errorf("train: add: shapes %v and %v differ", a.Shape(), b.Shape())
	}
	return gorgonia.ApplyOp(&elemOp{kind: kindAdd, shape: a.Shape().Clone(), id: elemIDs.Add(1)}, a, b)
}

func relu(x *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(&elemOp{kind: kindReLU, shape: x.Shape().Clone(), id: elemIDs.Add(1)}, x)
}

// sinkOp reads its inputs and returns nothing useful. NewGraph makes it
// the last instruction of the tape, reading every weight, the logits and
// the loss: gorgonia's register allocator frees a register after its
// value's last use and may hand it to a later Op as a preallocated output
// (its own Add, which sums the gradient contributions of a node with two
// consumers, writes into such a register). Keeping these values alive to
// the end means no later Op can overwrite a weight or the logits.
type sinkOp struct {
	types []hm.Type
}

func newSink(nodes []*gorgonia.Node) *sinkOp {
	op := &sinkOp{}
	for _, n := range nodes {
		switch n.Dims() {
		case 0:
			op.types = append(op.types, tensor.Float32)
		default:
			op.types = append(op.types, gorgonia.TensorType{Dims: n.Dims(), Of: tensor.Float32})
		}
	}
	return op
}

func (op *sinkOp) Arity() int { return len(op.types) }
func (op *sinkOp) Type() hm.Type {
	return hm.NewFnType(append(append([]hm.Type(nil), op.types...), tensor.Float32)...)
}
func (op *sinkOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}
func (op *sinkOp) Do(...gorgonia.Value) (gorgonia.Value, error) { return gorgonia.NewF32(0), nil }
func (op *sinkOp) ReturnsPtr() bool                             { return false }
func (op *sinkOp) CallsExtern() bool                            { return false }
func (op *sinkOp) OverwritesInput() int                         { return -1 }
func (op *sinkOp) WriteHash(h hash.Hash)                        { fmt.Fprint(h, op.String()) }
func (op *sinkOp) Hashcode() uint32                             { return hashOf(op) }
func (op *sinkOp) String() string                               { return fmt.Sprintf("train.sink{%d}", len(op.types)) }
