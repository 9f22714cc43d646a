package train

import (
	"fmt"
	"hash"
	"slices"
	"sync/atomic"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wavenet-go/wavenet/internal/kernel"
	"github.com/wavenet-go/wavenet/wavenet"
)

// The Ops of local conditioning: the causal transposed convolution of the
// upsampling network (wavenet.LocalConfig) and the per-sequence window of
// its output rows that a batch's codes see. Both are linear, and each
// gradient is another mode of the same Op.

// upKind is what an upOp computes.
const (
	upForward = iota // (x, w) -> y
	upGradX          // (w, dy) -> dx
	upGradW          // (x, dy) -> dw
)

// upOp is one upsampling layer over Seqs sequences of N input rows of C
// channels, x (Seqs*N, C), kernel w (C, Width*Scale*C) as wavenet.UpLayer
// stores it, output y (Seqs*N*Scale, C):
//
//	y[j*s + r] = Σ_{m<W} w[:, (m*s + r)*C : (m*s + r + 1)*C] · x[j - m]
//
// with x zero before row 0 of each sequence. Per sequence and tap (m, r)
// this is one GEMM on strided views: the output rows r, r+s, ... from
// row m on, the input rows from 0, and the (C, C) block of w at column
// (m*s+r)*C.
//
// With fw > 0 it is a repeat-conv2d layer (wavenet.LocalConfig) instead,
// with kernel w (wd*s, fw) and the same x and y, computed as
// wavenet.UpLayer.RepeatConvRows computes it (see repeatConvDo).
type upOp struct {
	buf               buffer
	kind              int
	seqs, n, c, s, wd int
	fw                int
	id                int64
	fold, pad         []float32 // repeat-conv2d scratch
}

var upIDs atomic.Int64

// upsample applies one upsampling layer of scale s and width wd to x
// (seqs*n, C) with kernel w (C, wd*s*C).
func upsample(x, w *gorgonia.Node, seqs, s, wd int) (*gorgonia.Node, error) {
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 2 || len(ws) != 2 || xs[0]%seqs != 0 || ws[0] != xs[1] || ws[1] != wd*s*xs[1] {
		return nil, fmt.Errorf("train: upsample: shapes x %v w %v for %d sequences, scale %d, width %d", xs, ws, seqs, s, wd)
	}
	op := &upOp{kind: upForward, seqs: seqs, n: xs[0] / seqs, c: xs[1], s: s, wd: wd, id: upIDs.Add(1)}
	return gorgonia.ApplyOp(op, x, w)
}

// repeatConv applies one repeat-conv2d upsampling layer of scale s, width
// wd and frequency width fw to x (seqs*n, C) with kernel w (wd*s, fw).
func repeatConv(x, w *gorgonia.Node, seqs, s, wd, fw int) (*gorgonia.Node, error) {
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 2 || len(ws) != 2 || xs[0]%seqs != 0 || ws[0] != wd*s || ws[1] != fw || fw < 1 || fw%2 != 1 {
		return nil, fmt.Errorf("train: repeat-conv2d upsample: shapes x %v w %v for %d sequences, scale %d, width %d, frequency width %d", xs, ws, seqs, s, wd, fw)
	}
	op := &upOp{kind: upForward, seqs: seqs, n: xs[0] / seqs, c: xs[1], s: s, wd: wd, fw: fw, id: upIDs.Add(1)}
	return gorgonia.ApplyOp(op, x, w)
}

func (op *upOp) shape() tensor.Shape {
	switch op.kind {
	case upGradX:
		return tensor.Shape{op.seqs * op.n, op.c}
	case upGradW:
		if op.fw > 0 {
			return tensor.Shape{op.wd * op.s, op.fw}
		}
		return tensor.Shape{op.c, op.wd * op.s * op.c}
	}
	return tensor.Shape{op.seqs * op.n * op.s, op.c}
}

func (op *upOp) Arity() int    { return 2 }
func (op *upOp) Type() hm.Type { return hm.NewFnType(matType, matType, matType) }
func (op *upOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.shape(), nil
}

func (op *upOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("train: %v: got %d inputs, want 2", op, len(in))
	}
	out, o := op.buf.get(op.shape())
	a, b := f32(in[0]), f32(in[1])
	if op.fw > 0 {
		op.repeatConvDo(o, a, b)
		return out, nil
	}
	switch op.kind {
	case upForward:
		upForwardRows(o, a, b, op.seqs, op.n, op.c, op.s, op.wd)
	case upGradX:
		clear(o)
		C, s, n, ld := op.c, op.s, op.n, op.wd*op.s*op.c
		for q := 0; q < op.seqs; q++ {
			dx, dy := o[q*n*C:(q+1)*n*C], b[q*n*s*C:(q+1)*n*s*C]
			for m := 0; m < min(op.wd, n); m++ {
				for r := 0; r < s; r++ {
					// dx[j-m] += dy[j*s+r] · w_{m,r}, j = m..n-1.
					kernel.Gemm(false, false, n-m, C, C, 1, dy[(m*s+r)*C:], s*C, a[(m*s+r)*C:], ld, 1, dx, C)
				}
			}
		}
	case upGradW:
		clear(o)
		C, s, n, ld := op.c, op.s, op.n, op.wd*op.s*op.c
		for q := 0; q < op.seqs; q++ {
			x, dy := a[q*n*C:(q+1)*n*C], b[q*n*s*C:(q+1)*n*s*C]
			for m := 0; m < min(op.wd, n); m++ {
				for r := 0; r < s; r++ {
					// dw_{m,r} += Σ_j dy[j*s+r]^T x[j-m], j = m..n-1.
					kernel.Gemm(true, false, C, C, n-m, 1, dy[(m*s+r)*C:], s*C, x, C, 1, o[(m*s+r)*C:], ld)
				}
			}
		}
	}
	return out, nil
}

// upForwardRows computes y (seqs*n*s, C) of the upsampling layer (see
// upOp) from x (seqs*n, C) and w (C, wd*s*C).
func upForwardRows(y, x, w []float32, seqs, n, C, s, wd int) {
	clear(y[:seqs*n*s*C])
	ld := wd * s * C
	for q := 0; q < seqs; q++ {
		xq, yq := x[q*n*C:(q+1)*n*C], y[q*n*s*C:(q+1)*n*s*C]
		for m := 0; m < min(wd, n); m++ {
			for r := 0; r < s; r++ {
				kernel.Gemm(false, true, n-m, C, C, 1, xq, C, w[(m*s+r)*C:], ld, 1, yq[(m*s+r)*C:], s*C)
			}
		}
	}
}

// repeatConvDo computes o for a repeat-conv2d layer from the inputs a, b:
// (x, w) -> y, (w, dy) -> dx or (x, dy) -> dw. With fold the kernel folded
// over the repeats (wavenet.UpLayer.Fold), M = Taps() and each sequence's
// x padded (M-1 zero rows before, fw/2 zero channels either side):
//
//	y[j*s+r]           = Σ_{m,f} fold[r,m,f] · xpad[j-m][f : f+C]
//	dxpad[j-m][f : f+C] += fold[r,m,f] · dy[j*s+r]
//	dfold[r,m,f]       += dy[j*s+r] · xpad[j-m][f : f+C]
//
// and dw is dfold unfolded (wavenet.UpLayer.Unfold).
func (op *upOp) repeatConvDo(o, a, b []float32) {
	ly := wavenet.UpLayer{Scale: op.s, Width: op.wd, FreqWidth: op.fw}
	C, n, s, fw, M := op.c, op.n, op.s, op.fw, ly.Taps()
	P := C + fw - 1
	switch op.kind {
	case upForward:
		ly.W = b
		op.fold = ly.Fold(op.fold)
		for q := 0; q < op.seqs; q++ {
			op.pad = ly.PadRows(op.pad, a[q*n*C:(q+1)*n*C], C, M-1)
			ly.RepeatConvRows(o[q*n*s*C:(q+1)*n*s*C], op.pad, op.fold, C)
		}
	case upGradX:
		ly.W = a
		op.fold = ly.Fold(op.fold)
		op.pad = slices.Grow(op.pad[:0], (M-1+n)*P)[:(M-1+n)*P]
		for q := 0; q < op.seqs; q++ {
			clear(op.pad)
			op.eachTap(b[q*n*s*C:(q+1)*n*s*C], M, func(g, row []float32, k int) {
				for f, v := range op.fold[k : k+fw] {
					kernel.Axpy(row[f:f+C], v, g)
				}
			})
			for i := 0; i < n; i++ {
				copy(o[(q*n+i)*C:(q*n+i+1)*C], op.pad[(M-1+i)*P+fw/2:])
			}
		}
	case upGradW:
		op.fold = slices.Grow(op.fold[:0], s*M*fw)[:s*M*fw]
		clear(op.fold) // dfold
		for q := 0; q < op.seqs; q++ {
			op.pad = ly.PadRows(op.pad, a[q*n*C:(q+1)*n*C], C, M-1)
			op.eachTap(b[q*n*s*C:(q+1)*n*s*C], M, func(g, row []float32, k int) {
				for f := range fw {
					op.fold[k+f] += kernel.Dot(g, row[f:f+C])
				}
			})
		}
		clear(o)
		ly.Unfold(o, op.fold)
	}
}

// eachTap calls fn for every output row j*s+r of a repeat-conv2d layer
// and tap m < M: g is the row of dy (n*s rows of C), row the padded input
// row j-m in op.pad from its first value on, k the offset of fold[r, m, 0].
func (op *upOp) eachTap(dy []float32, M int, fn func(g, row []float32, k int)) {
	C, P := op.c, op.c+op.fw-1
	for j := 0; j < op.n; j++ {
		for r := 0; r < op.s; r++ {
			g := dy[(j*op.s+r)*C : (j*op.s+r+1)*C]
			for m := 0; m < M; m++ {
				fn(g, op.pad[(j+M-1-m)*P:], (r*M+m)*op.fw)
			}
		}
	}
}

func (op *upOp) UsePreallocDo(_ gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.Do(in...)
}
func (op *upOp) ReturnsPtr() bool      { return false }
func (op *upOp) CallsExtern() bool     { return false }
func (op *upOp) OverwritesInput() int  { return -1 }
func (op *upOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *upOp) Hashcode() uint32      { return hashOf(op) }
func (op *upOp) String() string {
	return fmt.Sprintf("train.upsample{%d,%dx%dx%d,s%d,w%d,f%d,#%d}", op.kind, op.seqs, op.n, op.c, op.s, op.wd, op.fw, op.id)
}
func (op *upOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = op.kind == upForward
	}
	return d
}
func (op *upOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.kind != upForward {
		return nil, fmt.Errorf("train: %v is not differentiable", op)
	}
	mode := func(kind int) *upOp {
		return &upOp{kind: kind, seqs: op.seqs, n: op.n, c: op.c, s: op.s, wd: op.wd, fw: op.fw, id: op.id}
	}
	dx, err := gorgonia.ApplyOp(mode(upGradX), in[1], grad)
	if err != nil {
		return nil, err
	}
	dw, err := gorgonia.ApplyOp(mode(upGradW), in[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dw}, nil
}

// windowOp takes rows off[q] .. off[q]+Len-1 of each sequence q of an
// input (Seqs*N, C): out (Seqs*Len, C). Off has Seqs entries, overwritten
// in place between runs (like the codes). Its gradient (grad mode) scatters
// dy back into a zero (Seqs*N, C).
type windowOp struct {
	buf                buffer
	grad               bool
	seqs, n, length, c int
	off                []int32
	id                 int64
}

var windowIDs atomic.Int64

// window selects length rows from off[q] in each of the seqs sequences of x.
func window(x *gorgonia.Node, seqs, length int, off []int32) (*gorgonia.Node, error) {
	xs := x.Shape()
	if len(xs) != 2 || xs[0]%seqs != 0 || xs[0]/seqs < length || len(off) != seqs {
		return nil, fmt.Errorf("train: window: shape %v for %d sequences of %d rows (%d offsets)", xs, seqs, length, len(off))
	}
	op := &windowOp{seqs: seqs, n: xs[0] / seqs, length: length, c: xs[1], off: off, id: windowIDs.Add(1)}
	return gorgonia.ApplyOp(op, x)
}

func (op *windowOp) shape() tensor.Shape {
	if op.grad {
		return tensor.Shape{op.seqs * op.n, op.c}
	}
	return tensor.Shape{op.seqs * op.length, op.c}
}

func (op *windowOp) Arity() int    { return 1 }
func (op *windowOp) Type() hm.Type { return hm.NewFnType(matType, matType) }
func (op *windowOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.shape(), nil
}
func (op *windowOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("train: %v: got %d inputs, want 1", op, len(in))
	}
	out, o := op.buf.get(op.shape())
	x := f32(in[0])
	C, n, L := op.c, op.n, op.length
	if op.grad {
		clear(o)
	}
	for q, off := range op.off {
		if off < 0 || int(off)+L > n {
			return nil, fmt.Errorf("train: %v: sequence %d: offset %d out of range", op, q, off)
		}
		full := q*n*C + int(off)*C
		if op.grad {
			copy(o[full:full+L*C], x[q*L*C:(q+1)*L*C])
		} else {
			copy(o[q*L*C:(q+1)*L*C], x[full:full+L*C])
		}
	}
	return out, nil
}
func (op *windowOp) UsePreallocDo(_ gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.Do(in...)
}
func (op *windowOp) ReturnsPtr() bool      { return false }
func (op *windowOp) CallsExtern() bool     { return false }
func (op *windowOp) OverwritesInput() int  { return -1 }
func (op *windowOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *windowOp) Hashcode() uint32      { return hashOf(op) }
func (op *windowOp) String() string {
	return fmt.Sprintf("train.window{%v,%dx%d,%d,%d,#%d}", op.grad, op.seqs, op.n, op.length, op.c, op.id)
}
func (op *windowOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = !op.grad
	}
	return d
}
func (op *windowOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.grad {
		return nil, fmt.Errorf("train: %v is not differentiable", op)
	}
	g := &windowOp{grad: true, seqs: op.seqs, n: op.n, length: op.length, c: op.c, off: op.off, id: op.id}
	dx, err := gorgonia.ApplyOp(g, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx}, nil
}
