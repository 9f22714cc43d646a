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

// This file holds the causal dilated 1-D convolution Op and the helpers the
// other custom Ops of the package share (conv.go, gated.go, embed.go,
// softmax_ce.go).
//
// Sequences are channels-last and stored one after the other: Seqs sequences
// of T rows each make a (Seqs*T, C) matrix. A dilated tap is then a
// row-shifted view of a sequence, and the convolution is one GEMM per
// sequence and tap (kernel.Gemm with strides), never an im2col copy.

// ConvSpec describes a causal dilated convolution over Seqs sequences.
//
// The weight is (Cout, K*Cin) as in wavenet.Dense: columns k*Cin..k*Cin+Cin-1
// are tap k, which multiplies the input at time t-(K-1-k)*Dilation (tap K-1
// is the current sample). The input is zero before time 0 of each sequence
// (causal zero padding). Output rows are the times From..T-1 of each
// sequence, so with From > 0 only the last T-From outputs are computed (the
// rows that carry a loss). K = 1 is the 1x1 convolution (a dense layer
// applied at every time step).
type ConvSpec struct {
	K, Dilation int
	Seqs        int // number of sequences stacked in the rows
	From        int // first output time of each sequence
}

func (s ConvSpec) valid(T int) error {
	if s.K < 1 || s.Dilation < 1 || s.Seqs < 1 || s.From < 0 || s.From >= T {
		return fmt.Errorf("nn: conv: bad spec %+v for %d rows per sequence", s, T)
	}
	return nil
}

// Conv applies the causal dilated convolution: x is (Seqs*T, Cin), w is
// (Cout, K*Cin), b is (Cout) or nil; the result is (Seqs*(T-From), Cout).
func Conv(x, w, b *gorgonia.Node, spec ConvSpec) (*gorgonia.Node, error) {
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 2 || len(ws) != 2 || xs[0]%spec.Seqs != 0 || ws[1] != spec.K*xs[1] {
		return nil, fmt.Errorf("nn: conv: shapes x %v w %v do not fit %+v", xs, ws, spec)
	}
	T := xs[0] / spec.Seqs
	if err := spec.valid(T); err != nil {
		return nil, err
	}
	op := &convOp{spec: spec, t: T, cin: xs[1], cout: ws[0], bias: b != nil}
	if b != nil {
		if bs := b.Shape(); bs.TotalSize() != ws[0] {
			return nil, fmt.Errorf("nn: conv: bias shape %v, want (%d)", bs, ws[0])
		}
		return gorgonia.ApplyOp(op, x, w, b)
	}
	return gorgonia.ApplyOp(op, x, w)
}

// ConvForward is the plain computation behind Conv on slices:
// y (Seqs*(T-From), Cout) = conv(x (Seqs*T, Cin), w, b). b may be nil.
func ConvForward(y, x, w, b []float32, spec ConvSpec, T, cin, cout int) {
	K, rows := spec.K, T-spec.From
	for s := 0; s < spec.Seqs; s++ {
		xs := x[s*T*cin : (s+1)*T*cin]
		ys := y[s*rows*cout : (s+1)*rows*cout]
		// Tap K-1 (shift 0) covers every output row, so it initialises y
		// (after the bias, when there is one).
		beta := float32(0)
		if b != nil {
			for i := 0; i < rows; i++ {
				copy(ys[i*cout:(i+1)*cout], b)
			}
			beta = 1
		}
		kernel.Gemm(false, true, rows, cout, cin, 1, xs[spec.From*cin:], cin, w[(K-1)*cin:], K*cin, beta, ys, cout)
		for k := 0; k < K-1; k++ {
			shift := (K - 1 - k) * spec.Dilation
			t0 := max(spec.From, shift)
			if t0 >= T {
				continue
			}
			kernel.Gemm(false, true, T-t0, cout, cin, 1, xs[(t0-shift)*cin:], cin, w[k*cin:], K*cin, 1, ys[(t0-spec.From)*cout:], cout)
		}
	}
}

// ConvBackwardInput computes dx (Seqs*T, Cin) from dy (Seqs*(T-From), Cout).
func ConvBackwardInput(dx, dy, w []float32, spec ConvSpec, T, cin, cout int) {
	K, rows := spec.K, T-spec.From
	for s := 0; s < spec.Seqs; s++ {
		dxs := dx[s*T*cin : (s+1)*T*cin]
		dys := dy[s*rows*cout : (s+1)*rows*cout]
		beta := float32(0)
		if spec.From > 0 {
			clear(dxs[:spec.From*cin])
		}
		// Tap K-1 writes rows From..T-1 of dx, which initialises them.
		kernel.Gemm(false, false, rows, cin, cout, 1, dys, cout, w[(K-1)*cin:], K*cin, beta, dxs[spec.From*cin:], cin)
		for k := 0; k < K-1; k++ {
			shift := (K - 1 - k) * spec.Dilation
			t0 := max(spec.From, shift)
			if t0 >= T {
				continue
			}
			kernel.Gemm(false, false, T-t0, cin, cout, 1, dys[(t0-spec.From)*cout:], cout, w[k*cin:], K*cin, 1, dxs[(t0-shift)*cin:], cin)
		}
	}
}

// ConvBackwardWeight computes dw (Cout, K*Cin) from x and dy.
func ConvBackwardWeight(dw, x, dy []float32, spec ConvSpec, T, cin, cout int) {
	K, rows := spec.K, T-spec.From
	clear(dw[:cout*K*cin])
	for s := 0; s < spec.Seqs; s++ {
		xs := x[s*T*cin : (s+1)*T*cin]
		dys := dy[s*rows*cout : (s+1)*rows*cout]
		for k := 0; k < K; k++ {
			shift := (K - 1 - k) * spec.Dilation
			t0 := max(spec.From, shift)
			if t0 >= T {
				continue
			}
			kernel.Gemm(true, false, cout, cin, T-t0, 1, dys[(t0-spec.From)*cout:], cout, xs[(t0-shift)*cin:], cin, 1, dw[k*cin:], K*cin)
		}
	}
}

// colSums writes the column sums of the row-major (len(dy)/n, n) matrix dy
// into db (n).
func colSums(db, dy []float32) {
	n := len(db)
	clear(db)
	for i := 0; i+n <= len(dy); i += n {
		row := dy[i : i+n : i+n]
		for j, v := range row {
			db[j] += v
		}
	}
}

// convOp is the forward convolution: (x, w[, b]) -> y.
type convOp struct {
	buf          buffer
	spec         ConvSpec
	t, cin, cout int
	bias         bool
}

func (op *convOp) Arity() int {
	if op.bias {
		return 3
	}
	return 2
}

func (op *convOp) Type() hm.Type {
	if op.bias {
		return hm.NewFnType(matType, matType, vecType, matType)
	}
	return hm.NewFnType(matType, matType, matType)
}

func (op *convOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.spec.Seqs * (op.t - op.spec.From), op.cout}, nil
}

func (op *convOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *convOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, in); err != nil {
		return nil, err
	}
	x, w := f32(in[0]), f32(in[1])
	var b []float32
	if op.bias {
		b = f32(in[2])
	}
	out, y := op.buf.get(op.spec.Seqs*(op.t-op.spec.From), op.cout)
	ConvForward(y, x, w, b, op.spec, op.t, op.cin, op.cout)
	return out, nil
}

func (op *convOp) ReturnsPtr() bool      { return false }
func (op *convOp) CallsExtern() bool     { return false }
func (op *convOp) OverwritesInput() int  { return -1 }
func (op *convOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *convOp) Hashcode() uint32      { return hashOf(op) }
func (op *convOp) String() string {
	return fmt.Sprintf("Conv{K=%d,d=%d,seqs=%d,from=%d,T=%d,%dx%d,bias=%v}", op.spec.K, op.spec.Dilation, op.spec.Seqs, op.spec.From, op.t, op.cin, op.cout, op.bias)
}

func (op *convOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	return d
}

func (op *convOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != op.Arity() {
		return nil, fmt.Errorf("nn: conv: SymDiff got %d inputs, want %d", len(inputs), op.Arity())
	}
	dx, err := gorgonia.ApplyOp(&convGradOp{conv: op.spec0(), wrt: 0}, inputs[1], grad)
	if err != nil {
		return nil, err
	}
	dw, err := gorgonia.ApplyOp(&convGradOp{conv: op.spec0(), wrt: 1}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	out := gorgonia.Nodes{dx, dw}
	if op.bias {
		db, err := gorgonia.ApplyOp(&colSumOp{n: op.cout}, grad)
		if err != nil {
			return nil, err
		}
		out = append(out, db)
	}
	return out, nil
}

// convGradOp computes one gradient of the convolution: wrt 0 is
// (w, dy) -> dx, wrt 1 is (x, dy) -> dw.
type convGradOp struct {
	buf  buffer
	conv convOp
	wrt  int
}

func (op *convGradOp) Arity() int    { return 2 }
func (op *convGradOp) Type() hm.Type { return hm.NewFnType(matType, matType, matType) }
func (op *convGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	c := op.conv
	if op.wrt == 0 {
		return tensor.Shape{c.spec.Seqs * c.t, c.cin}, nil
	}
	return tensor.Shape{c.cout, c.spec.K * c.cin}, nil
}

func (op *convGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}

func (op *convGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, in); err != nil {
		return nil, err
	}
	c := op.conv
	a, dy := f32(in[0]), f32(in[1])
	if op.wrt == 0 {
		out, dx := op.buf.get(c.spec.Seqs*c.t, c.cin)
		ConvBackwardInput(dx, dy, a, c.spec, c.t, c.cin, c.cout)
		return out, nil
	}
	out, dw := op.buf.get(c.cout, c.spec.K*c.cin)
	ConvBackwardWeight(dw, a, dy, c.spec, c.t, c.cin, c.cout)
	return out, nil
}

func (op *convGradOp) ReturnsPtr() bool      { return false }
func (op *convGradOp) CallsExtern() bool     { return false }
func (op *convGradOp) OverwritesInput() int  { return -1 }
func (op *convGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *convGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *convGradOp) String() string {
	return fmt.Sprintf("ConvGrad%d{%v}", op.wrt, op.conv.String())
}

// colSumOp sums the rows of a (rows, n) matrix: the gradient of a bias.
type colSumOp struct {
	buf buffer
	n   int
}

func (op *colSumOp) Arity() int    { return 1 }
func (op *colSumOp) Type() hm.Type { return hm.NewFnType(matType, vecType) }
func (op *colSumOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.n}, nil
}
func (op *colSumOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *colSumOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, in); err != nil {
		return nil, err
	}
	out, db := op.buf.get(op.n)
	colSums(db, f32(in[0]))
	return out, nil
}
func (op *colSumOp) ReturnsPtr() bool      { return false }
func (op *colSumOp) CallsExtern() bool     { return false }
func (op *colSumOp) OverwritesInput() int  { return -1 }
func (op *colSumOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *colSumOp) Hashcode() uint32      { return hashOf(op) }
func (op *colSumOp) String() string        { return fmt.Sprintf("ColSum{%d}", op.n) }

// Shared helpers of the custom Ops.

var (
	matType = gorgonia.TensorType{Dims: 2, Of: tensor.Float32}
	vecType = gorgonia.TensorType{Dims: 1, Of: tensor.Float32}
)

func hashOf(op fmt.Stringer) uint32 {
	h := fnv.New32a()
	fmt.Fprint(h, op.String())
	return h.Sum32()
}

func checkArity(op gorgonia.Op, in []gorgonia.Value) error {
	if len(in) != op.Arity() {
		return fmt.Errorf("nn: %v: got %d inputs, want %d", op, len(in), op.Arity())
	}
	return nil
}

// f32 returns the float32 backing slice of a value. The graph's types are
// checked when it is built, so anything else is a programmer mistake.
func f32(v gorgonia.Value) []float32 {
	switch t := v.(type) {
	case *tensor.Dense:
		return t.Float32s()
	case *gorgonia.F32:
		return []float32{float32(*t)}
	case tensor.Tensor:
		return t.Data().([]float32)
	}
	panic(fmt.Sprintf("nn: value of type %T is not float32", v))
}

// buffer is the output tensor an Op instance owns and reuses on every run.
//
// The Ops ignore the register value gorgonia's tape machine offers as
// prealloc: its register allocator may hand over a register that last held
// an input node's bound value, and writing into it would overwrite a
// weight. Each node has its own Op instance, so its own buffer.
type buffer struct{ t *tensor.Dense }

func (b *buffer) get(shape ...int) (*tensor.Dense, []float32) {
	if b.t == nil || !b.t.Shape().Eq(tensor.Shape(shape)) {
		b.t = tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
	}
	return b.t, b.t.Float32s()
}

// spec0 returns a copy of the Op's parameters without its buffer.
func (op *convOp) spec0() convOp {
	return convOp{spec: op.spec, t: op.t, cin: op.cin, cout: op.cout, bias: op.bias}
}
