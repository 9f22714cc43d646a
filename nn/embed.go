package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wavenet-go/wavenet/internal/kernel"
)

// This file holds the two embedding Ops of WaveNet: the causal one-hot
// convolution over integer codes (the network's input layer) and the global
// conditioning bias (one embedding row per sequence added to every time
// step, van den Oord et al. 2016, eq. 3).
//
// Integer inputs (codes, condition indices) are not graph nodes: the Op
// keeps the caller's slice, and the caller overwrites its elements in place
// before each run of the graph (the length is fixed with the graph).

// CodeConv is the causal convolution of one-hot codes: codes holds Seqs*T
// codes in 0..Q-1 (Seqs sequences of T), w is (C, K*Q) with columns k*Q+q
// for tap k and code q (tap k looks at time t-(K-1-k)), b is (C) or nil.
// The result is (Seqs*T, C); codes before time 0 contribute nothing.
func CodeConv(w, b *gorgonia.Node, codes []int32, seqs, k int) (*gorgonia.Node, error) {
	ws := w.Shape()
	if len(ws) != 2 || k < 1 || ws[1]%k != 0 || seqs < 1 || len(codes) == 0 || len(codes)%seqs != 0 {
		return nil, fmt.Errorf("nn: code conv: weight %v, %d codes, %d sequences, %d taps do not fit", ws, len(codes), seqs, k)
	}
	op := &codeConvOp{codes: codes, seqs: seqs, t: len(codes) / seqs, k: k, q: ws[1] / k, c: ws[0], bias: b != nil}
	if b != nil {
		if b.Shape().TotalSize() != ws[0] {
			return nil, fmt.Errorf("nn: code conv: bias shape %v, want (%d)", b.Shape(), ws[0])
		}
		return gorgonia.ApplyOp(op, w, b)
	}
	return gorgonia.ApplyOp(op, w)
}

// CodeConvForward is the computation behind CodeConv on slices.
func CodeConvForward(y, w, b []float32, codes []int32, seqs, K, Q, C int) error {
	T := len(codes) / seqs
	for _, c := range codes {
		if c < 0 || int(c) >= Q {
			return fmt.Errorf("nn: code conv: code %d outside 0..%d", c, Q-1)
		}
	}
	for s := 0; s < seqs; s++ {
		cs := codes[s*T : (s+1)*T]
		for t := 0; t < T; t++ {
			row := y[(s*T+t)*C : (s*T+t+1)*C : (s*T+t+1)*C]
			if b != nil {
				copy(row, b)
			} else {
				clear(row)
			}
			for k := 0; k < K; k++ {
				tt := t - (K - 1 - k)
				if tt < 0 {
					continue
				}
				col := k*Q + int(cs[tt])
				for r := range row {
					row[r] += w[r*K*Q+col]
				}
			}
		}
	}
	return nil
}

// CodeConvBackward computes dw (C, K*Q) from dy (Seqs*T, C). The codes were
// checked by the forward pass.
func CodeConvBackward(dw, dy []float32, codes []int32, seqs, K, Q, C int) {
	T := len(codes) / seqs
	clear(dw[:C*K*Q])
	for s := 0; s < seqs; s++ {
		cs := codes[s*T : (s+1)*T]
		for t := 0; t < T; t++ {
			row := dy[(s*T+t)*C : (s*T+t+1)*C : (s*T+t+1)*C]
			for k := 0; k < K; k++ {
				tt := t - (K - 1 - k)
				if tt < 0 {
					continue
				}
				col := k*Q + int(cs[tt])
				for r, v := range row {
					dw[r*K*Q+col] += v
				}
			}
		}
	}
}

type codeConvOp struct {
	buf              buffer
	codes            []int32
	seqs, t, k, q, c int
	bias             bool
}

func (op *codeConvOp) Arity() int {
	if op.bias {
		return 2
	}
	return 1
}
func (op *codeConvOp) Type() hm.Type {
	if op.bias {
		return hm.NewFnType(matType, vecType, matType)
	}
	return hm.NewFnType(matType, matType)
}
func (op *codeConvOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.seqs * op.t, op.c}, nil
}
func (op *codeConvOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *codeConvOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, in); err != nil {
		return nil, err
	}
	var b []float32
	if op.bias {
		b = f32(in[1])
	}
	out, y := op.buf.get(op.seqs*op.t, op.c)
	if err := CodeConvForward(y, f32(in[0]), b, op.codes, op.seqs, op.k, op.q, op.c); err != nil {
		return nil, err
	}
	return out, nil
}
func (op *codeConvOp) ReturnsPtr() bool      { return false }
func (op *codeConvOp) CallsExtern() bool     { return false }
func (op *codeConvOp) OverwritesInput() int  { return -1 }
func (op *codeConvOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *codeConvOp) Hashcode() uint32      { return hashOf(op) }
func (op *codeConvOp) String() string {
	// The address of the codes tells apart two Ops over different inputs,
	// which gorgonia would otherwise merge as the same expression.
	return fmt.Sprintf("CodeConv{%p,seqs=%d,T=%d,K=%d,Q=%d,C=%d,bias=%v}", &op.codes[0], op.seqs, op.t, op.k, op.q, op.c, op.bias)
}
func (op *codeConvOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	return d
}
func (op *codeConvOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dw, err := gorgonia.ApplyOp(&codeConvGradOp{f: op.params()}, grad)
	if err != nil {
		return nil, err
	}
	out := gorgonia.Nodes{dw}
	if op.bias {
		db, err := gorgonia.ApplyOp(&colSumOp{n: op.c}, grad)
		if err != nil {
			return nil, err
		}
		out = append(out, db)
	}
	return out, nil
}

// codeConvGradOp is dy -> dw.
type codeConvGradOp struct {
	buf buffer
	f   codeConvOp
}

func (op *codeConvGradOp) Arity() int    { return 1 }
func (op *codeConvGradOp) Type() hm.Type { return hm.NewFnType(matType, matType) }
func (op *codeConvGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.f.c, op.f.k * op.f.q}, nil
}
func (op *codeConvGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *codeConvGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, in); err != nil {
		return nil, err
	}
	f := op.f
	out, dw := op.buf.get(f.c, f.k*f.q)
	CodeConvBackward(dw, f32(in[0]), f.codes, f.seqs, f.k, f.q, f.c)
	return out, nil
}
func (op *codeConvGradOp) ReturnsPtr() bool      { return false }
func (op *codeConvGradOp) CallsExtern() bool     { return false }
func (op *codeConvGradOp) OverwritesInput() int  { return -1 }
func (op *codeConvGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *codeConvGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *codeConvGradOp) String() string        { return "Grad" + op.f.String() }

// CondBias adds row index[s] of table (V, C) to every row of sequence s of
// h (Seqs*T, C): the global conditioning of one categorical input. index
// has Seqs entries in 0..V-1.
func CondBias(h, table *gorgonia.Node, index []int32) (*gorgonia.Node, error) {
	hs, ts := h.Shape(), table.Shape()
	if len(hs) != 2 || len(ts) != 2 || hs[1] != ts[1] || len(index) == 0 || hs[0]%len(index) != 0 {
		return nil, fmt.Errorf("nn: cond bias: h %v, table %v, %d sequences do not fit", hs, ts, len(index))
	}
	return gorgonia.ApplyOp(&condBiasOp{index: index, n: hs[0], v: ts[0], c: ts[1]}, h, table)
}

// CondBiasForward is the computation behind CondBias: y = h + table[index[s]].
// y may be h.
func CondBiasForward(y, h, table []float32, index []int32, C int) error {
	V := len(table) / C
	T := len(h) / C / len(index)
	for s, ix := range index {
		if ix < 0 || int(ix) >= V {
			return fmt.Errorf("nn: cond bias: index %d outside 0..%d", ix, V-1)
		}
		e := table[int(ix)*C : int(ix+1)*C]
		for t := s * T; t < (s+1)*T; t++ {
			src := h[t*C : (t+1)*C : (t+1)*C]
			dst := y[t*C : (t+1)*C : (t+1)*C]
			for j, v := range e {
				dst[j] = src[j] + v
			}
		}
	}
	return nil
}

// CondBiasBackward computes dtable (V, C) from dy (Seqs*T, C).
func CondBiasBackward(dtable, dy []float32, index []int32, C int) {
	condBiasBackward(dtable, dy, index, C, 1)
}

// condBiasBackward is CondBiasBackward for a dy stored in planes (see
// ConvSpec.Planes).
func condBiasBackward(dtable, dy []float32, index []int32, C, planes int) {
	clear(dtable)
	cp := C / planes
	m := len(dy) / planes    // elements per plane
	T := m / cp / len(index) // rows per sequence
	for p := 0; p < planes; p++ {
		dyp := dy[p*m : (p+1)*m]
		for s, ix := range index {
			e := dtable[int(ix)*C+p*cp : int(ix)*C+(p+1)*cp]
			for t := s * T; t < (s+1)*T; t++ {
				kernel.Add(e, e, dyp[t*cp:(t+1)*cp])
			}
		}
	}
}

type condBiasOp struct {
	buf     buffer
	index   []int32
	n, v, c int
	planes  int // of the gradient, for condBiasGradOp
}

func (op *condBiasOp) Arity() int    { return 2 }
func (op *condBiasOp) Type() hm.Type { return hm.NewFnType(matType, matType, matType) }
func (op *condBiasOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.n, op.c}, nil
}
func (op *condBiasOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *condBiasOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, in); err != nil {
		return nil, err
	}
	out, y := op.buf.get(op.n, op.c)
	if err := CondBiasForward(y, f32(in[0]), f32(in[1]), op.index, op.c); err != nil {
		return nil, err
	}
	return out, nil
}
func (op *condBiasOp) ReturnsPtr() bool      { return false }
func (op *condBiasOp) CallsExtern() bool     { return false }
func (op *condBiasOp) OverwritesInput() int  { return -1 }
func (op *condBiasOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *condBiasOp) Hashcode() uint32      { return hashOf(op) }
func (op *condBiasOp) String() string {
	return fmt.Sprintf("CondBias{%p,seqs=%d,%dx%d,V=%d}", &op.index[0], len(op.index), op.n, op.c, op.v)
}
func (op *condBiasOp) DiffWRT(n int) []bool { return []bool{true, true} }
func (op *condBiasOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dt, err := gorgonia.ApplyOp(&condBiasGradOp{f: condBiasOp{index: op.index, n: op.n, v: op.v, c: op.c}}, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{grad, dt}, nil
}

// condBiasGradOp is dy -> dtable.
type condBiasGradOp struct {
	buf buffer
	f   condBiasOp
}

func (op *condBiasGradOp) Arity() int    { return 1 }
func (op *condBiasGradOp) Type() hm.Type { return hm.NewFnType(matType, matType) }
func (op *condBiasGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.f.v, op.f.c}, nil
}
func (op *condBiasGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *condBiasGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, in); err != nil {
		return nil, err
	}
	out, dt := op.buf.get(op.f.v, op.f.c)
	condBiasBackward(dt, f32(in[0]), op.f.index, op.f.c, max(1, op.f.planes))
	return out, nil
}
func (op *condBiasGradOp) ReturnsPtr() bool      { return false }
func (op *condBiasGradOp) CallsExtern() bool     { return false }
func (op *condBiasGradOp) OverwritesInput() int  { return -1 }
func (op *condBiasGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *condBiasGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *condBiasGradOp) String() string {
	return fmt.Sprintf("Grad%v/%d", op.f.String(), op.f.planes)
}

// params returns a copy of the Op's parameters without its buffer.
func (op *codeConvOp) params() codeConvOp {
	return codeConvOp{codes: op.codes, seqs: op.seqs, t: op.t, k: op.k, q: op.q, c: op.c, bias: op.bias}
}
