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
// (causal zero padding). Output rows are the times From..Len-1 of each
// sequence, so with From > 0 only the last Len-From outputs are computed
// (the rows that carry a loss, or that later layers need). The input may
// likewise hold only the times InFrom..Len-1, when no output reads before
// InFrom (From-(K-1)*Dilation >= InFrom) or InFrom is 0. K = 1 is the 1x1
// convolution (a dense layer applied at every time step).
type ConvSpec struct {
	K, Dilation int
	Seqs        int // number of sequences stacked in the rows
	From        int // first output time of each sequence
	// Len is the number of time steps of each sequence; 0 means the input
	// rows per sequence (InFrom 0). ConvSum derives InFrom of each input
	// from its rows.
	Len, InFrom int
	// Planes > 1 stores the output planar: output columns are cut into
	// Planes equal groups, and group p of every row is stored in block p,
	// a (Seqs*(Len-From), Cout/Planes) matrix, the blocks one after the
	// other. The gate pre-activations of a WaveNet layer use 2 planes, so
	// that the tanh half and the sigmoid half are each one contiguous
	// vector (GatedPlanar). The gradient arriving at the Op is planar too.
	Planes int
}

func (s ConvSpec) planes() int { return max(1, s.Planes) }

func (s ConvSpec) valid() error {
	if s.K < 1 || s.Dilation < 1 || s.Seqs < 1 || s.From < 0 || s.From >= s.Len || s.InFrom < 0 || s.InFrom >= s.Len ||
		(s.InFrom > 0 && s.From-(s.K-1)*s.Dilation < s.InFrom) {
		return fmt.Errorf("nn: conv: bad spec %+v", s)
	}
	return nil
}

// Conv applies the causal dilated convolution: x is (Seqs*T, Cin), w is
// (Cout, K*Cin), b is (Cout) or nil; the result is (Seqs*(T-From), Cout).
func Conv(x, w, b *gorgonia.Node, spec ConvSpec) (*gorgonia.Node, error) {
	var bs []*gorgonia.Node
	if b != nil {
		bs = []*gorgonia.Node{b}
	}
	return ConvSum([]*gorgonia.Node{x}, []*gorgonia.Node{w}, bs, nil, nil, spec)
}

// CondTable is a global-conditioning embedding for ConvSum: row Index[s]
// of Table (V, Cout) is added to every output row of sequence s. Index has
// Seqs entries; the caller overwrites them in place between runs.
type CondTable struct {
	Table *gorgonia.Node
	Index []int32
}

// ConvSum is the fused sum of convolutions that a WaveNet layer needs:
//
//	y = Σ_l Conv(xs[l], ws[l], bs[l]) + r + Σ_c conds[c].Table[Index[s]]
//
// with every xs[l] of one shape (Seqs*T, Cin) and every ws[l] (Cout,
// K*Cin). bs is nil or one bias (Cout) per term; r is nil or (Seqs*(T-From),
// Cout), a residual added to the result. The biases, conditioning rows and
// r are written into the output first and the convolutions accumulate onto
// them (GEMM with beta = 1), so the whole sum is one pass over the output:
// the gate pre-activation of a layer (conv + bias + conditioning), the
// residual output (1x1 conv + bias + x) and the sum of all layers' skip
// outputs are each one Op.
func ConvSum(xs, ws, bs []*gorgonia.Node, r *gorgonia.Node, conds []CondTable, spec ConvSpec) (*gorgonia.Node, error) {
	if len(xs) == 0 || len(ws) != len(xs) || (bs != nil && len(bs) != len(xs)) {
		return nil, fmt.Errorf("nn: conv: %d inputs, %d weights, %d biases", len(xs), len(ws), len(bs))
	}
	xsh, wsh := xs[0].Shape(), ws[0].Shape()
	if len(xsh) != 2 || len(wsh) != 2 || spec.Seqs < 1 || xsh[0]%spec.Seqs != 0 || wsh[1] != spec.K*xsh[1] {
		return nil, fmt.Errorf("nn: conv: shapes x %v w %v do not fit %+v", xsh, wsh, spec)
	}
	if spec.Len == 0 {
		spec.Len = xsh[0] / spec.Seqs
	}
	T, cin, cout := spec.Len, xsh[1], wsh[0]
	op := &convOp{spec: spec, t: T, cin: cin, cout: cout, terms: len(xs), bias: bs != nil, resid: r != nil}
	inputs := gorgonia.Nodes{}
	for l := range xs {
		sh := xs[l].Shape()
		if len(sh) != 2 || sh[1] != cin || sh[0]%spec.Seqs != 0 || sh[0]/spec.Seqs > T || !ws[l].Shape().Eq(wsh) {
			return nil, fmt.Errorf("nn: conv: term %d: shapes x %v w %v do not fit %+v with %d inputs", l, sh, ws[l].Shape(), spec, cin)
		}
		ts := spec
		ts.InFrom = T - sh[0]/spec.Seqs
		if err := ts.valid(); err != nil {
			return nil, fmt.Errorf("nn: conv: term %d: %w", l, err)
		}
		op.inFrom = append(op.inFrom, ts.InFrom)
		inputs = append(inputs, xs[l])
	}
	inputs = append(inputs, ws...)
	for l, b := range bs {
		if b.Shape().TotalSize() != cout {
			return nil, fmt.Errorf("nn: conv: bias %d shape %v, want (%d)", l, b.Shape(), cout)
		}
		inputs = append(inputs, b)
	}
	if P := spec.planes(); cout%P != 0 || (P > 1 && r != nil) {
		return nil, fmt.Errorf("nn: conv: %d planes for %d outputs (with a residual: %v)", P, cout, r != nil)
	}
	if r != nil {
		rs := r.Shape()
		if len(rs) != 2 || rs[1] != cout || rs[0]%spec.Seqs != 0 || rs[0]/spec.Seqs < T-spec.From || rs[0]/spec.Seqs > T {
			return nil, fmt.Errorf("nn: conv: residual shape %v, want (%d*n, %d) with %d <= n <= %d", rs, spec.Seqs, cout, T-spec.From, T)
		}
		op.rFrom = T - rs[0]/spec.Seqs
		inputs = append(inputs, r)
	}
	for c, ct := range conds {
		ts := ct.Table.Shape()
		if len(ts) != 2 || ts[1] != cout || len(ct.Index) != spec.Seqs {
			return nil, fmt.Errorf("nn: conv: condition %d: table %v with %d indices, want (V, %d) and %d", c, ts, len(ct.Index), cout, spec.Seqs)
		}
		op.conds = append(op.conds, ct.Index)
		op.condV = append(op.condV, ts[0])
		inputs = append(inputs, ct.Table)
	}
	return gorgonia.ApplyOp(op, inputs...)
}

// ConvForward is the plain computation behind Conv on slices:
// y (Seqs*(Len-From), Cout) = conv(x (Seqs*(Len-InFrom), Cin), w, b). b may
// be nil.
func ConvForward(y, x, w, b []float32, spec ConvSpec, cin, cout int) {
	rows := spec.Len - spec.From
	beta := float32(0)
	if b != nil {
		for i := 0; i < spec.Seqs*rows; i++ {
			copy(y[i*cout:(i+1)*cout], b)
		}
		beta = 1
	}
	convAccumulate(y, x, w, beta, spec, cin, cout)
}

// convAccumulate computes y = beta*y + conv(x, w). With beta = 0, y is not
// read.
func convAccumulate(y, x, w []float32, beta float32, spec ConvSpec, cin, cout int) {
	P := spec.planes()
	cp := cout / P
	n := spec.Seqs * (spec.Len - spec.From) * cp
	for p := 0; p < P; p++ {
		convAccumulate1(y[p*n:(p+1)*n], x, w[p*cp*spec.K*cin:], beta, spec, cin, cp)
	}
}

// convAccumulate1 is convAccumulate for one plane.
func convAccumulate1(y, x, w []float32, beta float32, spec ConvSpec, cin, cout int) {
	K, T, in := spec.K, spec.Len, spec.InFrom
	rows := T - spec.From
	for s := 0; s < spec.Seqs; s++ {
		xs := x[s*(T-in)*cin : (s+1)*(T-in)*cin]
		ys := y[s*rows*cout : (s+1)*rows*cout]
		// Tap K-1 (shift 0) covers every output row, so it goes first and
		// applies beta. Input row i holds time in+i.
		kernel.Gemm(false, true, rows, cout, cin, 1, xs[(spec.From-in)*cin:], cin, w[(K-1)*cin:], K*cin, beta, ys, cout)
		for k := 0; k < K-1; k++ {
			shift := (K - 1 - k) * spec.Dilation
			t0 := max(spec.From, shift)
			if t0 >= T {
				continue
			}
			kernel.Gemm(false, true, T-t0, cout, cin, 1, xs[(t0-shift-in)*cin:], cin, w[k*cin:], K*cin, 1, ys[(t0-spec.From)*cout:], cout)
		}
	}
}

// ConvBackwardInput computes dx (Seqs*(Len-InFrom), Cin) from dy
// (Seqs*(Len-From), Cout).
func ConvBackwardInput(dx, dy, w []float32, spec ConvSpec, cin, cout int) {
	P := spec.planes()
	cp := cout / P
	n := spec.Seqs * (spec.Len - spec.From) * cp
	for p := 0; p < P; p++ {
		convBackwardInput1(dx, dy[p*n:(p+1)*n], w[p*cp*spec.K*cin:], p > 0, spec, cin, cp)
	}
}

// convBackwardInput1 is ConvBackwardInput for one plane; acc adds to dx.
func convBackwardInput1(dx, dy, w []float32, acc bool, spec ConvSpec, cin, cout int) {
	K, T, in := spec.K, spec.Len, spec.InFrom
	rows := T - spec.From
	for s := 0; s < spec.Seqs; s++ {
		dxs := dx[s*(T-in)*cin : (s+1)*(T-in)*cin]
		dys := dy[s*rows*cout : (s+1)*rows*cout]
		beta := float32(1)
		if !acc {
			// Times InFrom..From-1 get only shifted taps: start them at
			// zero; tap K-1 writes times From..T-1, which initialises them.
			clear(dxs[:(spec.From-in)*cin])
			beta = 0
		}
		kernel.Gemm(false, false, rows, cin, cout, 1, dys, cout, w[(K-1)*cin:], K*cin, beta, dxs[(spec.From-in)*cin:], cin)
		for k := 0; k < K-1; k++ {
			shift := (K - 1 - k) * spec.Dilation
			t0 := max(spec.From, shift)
			if t0 >= T {
				continue
			}
			kernel.Gemm(false, false, T-t0, cin, cout, 1, dys[(t0-spec.From)*cout:], cout, w[k*cin:], K*cin, 1, dxs[(t0-shift-in)*cin:], cin)
		}
	}
}

// ConvBackwardWeight computes dw (Cout, K*Cin) from x and dy.
func ConvBackwardWeight(dw, x, dy []float32, spec ConvSpec, cin, cout int) {
	P := spec.planes()
	cp := cout / P
	n := spec.Seqs * (spec.Len - spec.From) * cp
	for p := 0; p < P; p++ {
		convBackwardWeight1(dw[p*cp*spec.K*cin:], x, dy[p*n:(p+1)*n], spec, cin, cp)
	}
}

// convBackwardWeight1 is ConvBackwardWeight for one plane.
func convBackwardWeight1(dw, x, dy []float32, spec ConvSpec, cin, cout int) {
	K, T, in := spec.K, spec.Len, spec.InFrom
	rows := T - spec.From
	clear(dw[:cout*K*cin])
	for s := 0; s < spec.Seqs; s++ {
		xs := x[s*(T-in)*cin : (s+1)*(T-in)*cin]
		dys := dy[s*rows*cout : (s+1)*rows*cout]
		for k := 0; k < K; k++ {
			shift := (K - 1 - k) * spec.Dilation
			t0 := max(spec.From, shift)
			if t0 >= T {
				continue
			}
			kernel.Gemm(true, false, cout, cin, T-t0, 1, dys[(t0-spec.From)*cout:], cout, xs[(t0-shift-in)*cin:], cin, 1, dw[k*cin:], K*cin)
		}
	}
}

// colSums writes the column sums of the row-major (len(dy)/n, n) matrix dy
// into db (n); a planar dy (see ConvSpec.Planes) has planes blocks.
func colSums(db, dy []float32, planes int) {
	cp := len(db) / planes
	m := len(dy) / planes
	clear(db)
	for p := 0; p < planes; p++ {
		dbp, dyp := db[p*cp:(p+1)*cp], dy[p*m:(p+1)*m]
		for i := 0; i+cp <= len(dyp); i += cp {
			kernel.Add(dbp, dbp, dyp[i:i+cp])
		}
	}
}

// convOp is ConvSum: inputs are the terms' x, their w, their biases (if
// bias), the residual (if resid) and the conditioning tables.
type convOp struct {
	buf          buffer
	row          []float32 // scratch: summed biases and conditioning rows
	spec         ConvSpec
	t, cin, cout int
	terms        int
	inFrom       []int // first input time of each term
	rFrom        int   // first time of the residual
	bias, resid  bool
	conds        [][]int32 // per condition, the index of each sequence
	condV        []int     // per condition, the table's rows
}

func (op *convOp) Arity() int {
	n := 2 * op.terms
	if op.bias {
		n += op.terms
	}
	if op.resid {
		n++
	}
	return n + len(op.conds)
}

func (op *convOp) Type() hm.Type {
	ts := make([]hm.Type, 0, op.Arity()+1)
	for i := 0; i < 2*op.terms; i++ {
		ts = append(ts, matType)
	}
	if op.bias {
		for i := 0; i < op.terms; i++ {
			ts = append(ts, vecType)
		}
	}
	if op.resid {
		ts = append(ts, matType)
	}
	for range op.conds {
		ts = append(ts, matType)
	}
	return hm.NewFnType(append(ts, matType)...)
}

func (op *convOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.spec.Seqs * (op.t - op.spec.From), op.cout}, nil
}

func (op *convOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, in); err != nil {
		return nil, err
	}
	L, cout := op.terms, op.cout
	rows := op.t - op.spec.From
	out, y := op.buf.get(op.spec.Seqs*rows, cout)
	i := 2 * L
	var biases [][]float32
	if op.bias {
		for l := 0; l < L; l++ {
			biases = append(biases, f32(in[i+l]))
		}
		i += L
	}
	var r []float32
	if op.resid {
		r = f32(in[i])
		i++
	}
	tables := in[i:]
	beta := float32(0)
	if op.bias || op.resid || len(op.conds) > 0 {
		beta = 1
		if len(op.row) != cout {
			op.row = make([]float32, cout)
		}
		for s := 0; s < op.spec.Seqs; s++ {
			row := op.row
			clear(row)
			for _, b := range biases {
				kernel.Add(row, row, b)
			}
			for c, idx := range op.conds {
				ix := int(idx[s])
				if ix < 0 || ix >= op.condV[c] {
					return nil, fmt.Errorf("nn: conv: condition %d: index %d outside 0..%d", c, ix, op.condV[c]-1)
				}
				kernel.Add(row, row, f32(tables[c])[ix*cout:(ix+1)*cout])
			}
			ys := y[s*rows*cout : (s+1)*rows*cout]
			if r != nil {
				rr := op.t - op.rFrom // residual rows per sequence
				rs := r[(s*rr+op.spec.From-op.rFrom)*cout : (s+1)*rr*cout]
				if len(biases) == 0 && len(op.conds) == 0 {
					copy(ys, rs)
				} else {
					for t := 0; t < rows; t++ {
						kernel.Add(ys[t*cout:(t+1)*cout], rs[t*cout:(t+1)*cout], row)
					}
				}
			} else if P := op.spec.planes(); P > 1 {
				cp, n := cout/P, op.spec.Seqs*rows*cout/P
				for p := 0; p < P; p++ {
					yp := y[p*n+s*rows*cp : p*n+(s+1)*rows*cp]
					for t := 0; t < rows; t++ {
						copy(yp[t*cp:(t+1)*cp], row[p*cp:(p+1)*cp])
					}
				}
			} else {
				for t := 0; t < rows; t++ {
					copy(ys[t*cout:(t+1)*cout], row)
				}
			}
		}
	}
	for l := 0; l < L; l++ {
		convAccumulate(y, f32(in[l]), f32(in[L+l]), beta, op.single(l).spec, op.cin, cout)
		beta = 1
	}
	return out, nil
}

func (op *convOp) UsePreallocDo(_ gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.Do(in...)
}

func (op *convOp) ReturnsPtr() bool      { return false }
func (op *convOp) CallsExtern() bool     { return false }
func (op *convOp) OverwritesInput() int  { return -1 }
func (op *convOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *convOp) Hashcode() uint32      { return hashOf(op) }
func (op *convOp) String() string {
	s := fmt.Sprintf("Conv{K=%d,d=%d,seqs=%d,from=%d,in=%v,T=%d,%dx%d,planes=%d,terms=%d,bias=%v,resid=%v@%d", op.spec.K, op.spec.Dilation, op.spec.Seqs, op.spec.From, op.inFrom, op.t, op.cin, op.cout, op.spec.planes(), op.terms, op.bias, op.resid, op.rFrom)
	for _, c := range op.conds {
		s += fmt.Sprintf(",cond=%p", &c[0])
	}
	return s + "}"
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
	L := op.terms
	out := make(gorgonia.Nodes, 0, len(inputs))
	for l := 0; l < L; l++ {
		dx, err := gorgonia.ApplyOp(&convGradOp{conv: op.single(l), wrt: 0}, inputs[L+l], grad)
		if err != nil {
			return nil, err
		}
		out = append(out, dx)
	}
	for l := 0; l < L; l++ {
		dw, err := gorgonia.ApplyOp(&convGradOp{conv: op.single(l), wrt: 1}, inputs[l], grad)
		if err != nil {
			return nil, err
		}
		out = append(out, dw)
	}
	if op.bias {
		db, err := gorgonia.ApplyOp(&colSumOp{n: op.cout, planes: op.spec.planes()}, grad)
		if err != nil {
			return nil, err
		}
		for l := 0; l < L; l++ {
			out = append(out, db)
		}
	}
	if op.resid {
		dr := grad
		if op.rFrom < op.spec.From {
			// The residual has rows before From: their gradient is zero.
			var err error
			dr, err = gorgonia.ApplyOp(&padOp{seqs: op.spec.Seqs, in: op.t - op.spec.From, out: op.t - op.rFrom, c: op.cout}, grad)
			if err != nil {
				return nil, err
			}
		}
		out = append(out, dr)
	}
	for c, idx := range op.conds {
		dt, err := gorgonia.ApplyOp(&condBiasGradOp{f: condBiasOp{index: idx, n: op.spec.Seqs * (op.t - op.spec.From), v: op.condV[c], c: op.cout, planes: op.spec.planes()}}, grad)
		if err != nil {
			return nil, err
		}
		out = append(out, dt)
	}
	return out, nil
}

// single returns the parameters of term l as a plain convolution.
func (op *convOp) single(l int) convOp {
	spec := op.spec
	spec.InFrom = op.inFrom[l]
	return convOp{spec: spec, t: op.t, cin: op.cin, cout: op.cout, terms: 1, inFrom: []int{op.inFrom[l]}}
}

// padOp puts zero rows before each sequence's rows: (seqs*in, c) ->
// (seqs*out, c), out >= in.
type padOp struct {
	buf              buffer
	seqs, in, out, c int
}

func (op *padOp) Arity() int    { return 1 }
func (op *padOp) Type() hm.Type { return hm.NewFnType(matType, matType) }
func (op *padOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.seqs * op.out, op.c}, nil
}
func (op *padOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, in); err != nil {
		return nil, err
	}
	out, y := op.buf.get(op.seqs*op.out, op.c)
	x := f32(in[0])
	pad := (op.out - op.in) * op.c
	for s := 0; s < op.seqs; s++ {
		ys := y[s*op.out*op.c : (s+1)*op.out*op.c]
		clear(ys[:pad])
		copy(ys[pad:], x[s*op.in*op.c:(s+1)*op.in*op.c])
	}
	return out, nil
}
func (op *padOp) UsePreallocDo(_ gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.Do(in...)
}
func (op *padOp) ReturnsPtr() bool      { return false }
func (op *padOp) CallsExtern() bool     { return false }
func (op *padOp) OverwritesInput() int  { return -1 }
func (op *padOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *padOp) Hashcode() uint32      { return hashOf(op) }
func (op *padOp) String() string {
	return fmt.Sprintf("Pad{%d,%d->%d,%d}", op.seqs, op.in, op.out, op.c)
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
		return tensor.Shape{c.spec.Seqs * (c.t - c.spec.InFrom), c.cin}, nil
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
		out, dx := op.buf.get(c.spec.Seqs*(c.t-c.spec.InFrom), c.cin)
		ConvBackwardInput(dx, dy, a, c.spec, c.cin, c.cout)
		return out, nil
	}
	out, dw := op.buf.get(c.cout, c.spec.K*c.cin)
	ConvBackwardWeight(dw, a, dy, c.spec, c.cin, c.cout)
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
	buf    buffer
	n      int
	planes int
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
	colSums(db, f32(in[0]), max(1, op.planes))
	return out, nil
}
func (op *colSumOp) ReturnsPtr() bool      { return false }
func (op *colSumOp) CallsExtern() bool     { return false }
func (op *colSumOp) OverwritesInput() int  { return -1 }
func (op *colSumOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *colSumOp) Hashcode() uint32      { return hashOf(op) }
func (op *colSumOp) String() string        { return fmt.Sprintf("ColSum{%d,planes=%d}", op.n, op.planes) }

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
