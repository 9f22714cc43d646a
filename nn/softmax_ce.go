package nn

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wavenet-go/wavenet/internal/kernel"
)

// SoftmaxCE is the mean softmax cross-entropy, in nats, of logits
// (Seqs*T, Q) against integer targets (Seqs*T codes in 0..Q-1), counting
// only rows From..T-1 of each sequence. Each row's maximum is subtracted
// before exponentiating, so large logits stay finite (gorgonia's SoftMax in
// tensor v0.9.24 subtracts one maximum for the whole tensor). The targets
// slice is kept: overwrite its elements in place between runs.
func SoftmaxCE(logits *gorgonia.Node, targets []int32, seqs, from int) (*gorgonia.Node, error) {
	s := logits.Shape()
	if len(s) != 2 || seqs < 1 || s[0]%seqs != 0 || len(targets) != s[0] || from < 0 || from >= s[0]/seqs {
		return nil, fmt.Errorf("nn: softmax cross-entropy: logits %v, %d targets, %d sequences, from %d do not fit", s, len(targets), seqs, from)
	}
	return gorgonia.ApplyOp(&softmaxCEOp{targets: targets, seqs: seqs, from: from, n: s[0], q: s[1]}, logits)
}

// SoftmaxCEForward is the computation behind SoftmaxCE on slices. It
// returns an error for a target outside 0..Q-1.
func SoftmaxCEForward(logits []float32, targets []int32, Q, seqs, from int) (float64, error) {
	T := len(targets) / seqs
	var sum float64
	ls := make([]float32, Q)
	for s := 0; s < seqs; s++ {
		for t := from; t < T; t++ {
			i := s*T + t
			y := targets[i]
			if y < 0 || int(y) >= Q {
				return 0, fmt.Errorf("nn: softmax cross-entropy: target %d outside 0..%d", y, Q-1)
			}
			// Subtracting the maximum first keeps the float32 log-softmax
			// exact for large logits (ulp(1e4) is 1e-3).
			row := logits[i*Q : (i+1)*Q]
			m := maxOf(row)
			for j, v := range row {
				ls[j] = v - m
			}
			kernel.LogSoftmax(ls, ls)
			sum -= float64(ls[y])
		}
	}
	return sum / float64(seqs*(T-from)), nil
}

// SoftmaxCEBackward writes into dl (Seqs*T, Q) the gradient of g times the
// mean cross-entropy: g (softmax(row) - onehot(target)) / count on counted
// rows, zero elsewhere.
func SoftmaxCEBackward(dl, logits []float32, targets []int32, Q, seqs, from int, g float32) {
	T := len(targets) / seqs
	scale := g / float32(seqs*(T-from))
	for s := 0; s < seqs; s++ {
		clear(dl[s*T*Q : (s*T+from)*Q])
		for t := from; t < T; t++ {
			i := s*T + t
			d := dl[i*Q : (i+1)*Q : (i+1)*Q]
			kernel.Softmax(d, logits[i*Q:(i+1)*Q])
			for j := range d {
				d[j] *= scale
			}
			if y := targets[i]; y >= 0 && int(y) < Q {
				d[y] -= scale
			}
		}
	}
}

func maxOf(row []float32) float32 {
	m := row[0]
	for _, v := range row[1:] {
		if v > m {
			m = v
		}
	}
	return m
}

// Exp32 is a float32 e^x with relative error below 2e-7 on the inputs a
// softmax gives it (x <= 0): x = n ln2 + r with |r| <= ln2/2, a degree-6
// Taylor polynomial for e^r, and 2^n put in the exponent bits. It returns 0
// below -87 (where float32 e^x is subnormal) and +Inf above 88.
func Exp32(x float32) float32 {
	if x < -87 {
		return 0
	}
	if x > 88 {
		return float32(math.Inf(1))
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375 // ln2 split in two so n*ln2hi is exact (Cephes)
		ln2lo = -2.12194440e-4
	)
	n := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - n*ln2hi - n*ln2lo
	p := float32(1.0 / 720)
	p = p*r + 1.0/120
	p = p*r + 1.0/24
	p = p*r + 1.0/6
	p = p*r + 0.5
	p = p*r + 1
	p = p*r + 1
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

type softmaxCEOp struct {
	targets          []int32
	seqs, from, n, q int
}

func (op *softmaxCEOp) Arity() int    { return 1 }
func (op *softmaxCEOp) Type() hm.Type { return hm.NewFnType(matType, tensor.Float32) }
func (op *softmaxCEOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}
func (op *softmaxCEOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, in); err != nil {
		return nil, err
	}
	loss, err := SoftmaxCEForward(f32(in[0]), op.targets, op.q, op.seqs, op.from)
	if err != nil {
		return nil, err
	}
	return gorgonia.NewF32(float32(loss)), nil
}
func (op *softmaxCEOp) ReturnsPtr() bool      { return false }
func (op *softmaxCEOp) CallsExtern() bool     { return false }
func (op *softmaxCEOp) OverwritesInput() int  { return -1 }
func (op *softmaxCEOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *softmaxCEOp) Hashcode() uint32      { return hashOf(op) }
func (op *softmaxCEOp) String() string {
	return fmt.Sprintf("SoftmaxCE{%p,seqs=%d,from=%d,%dx%d}", &op.targets[0], op.seqs, op.from, op.n, op.q)
}
func (op *softmaxCEOp) DiffWRT(n int) []bool { return []bool{true} }
func (op *softmaxCEOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dl, err := gorgonia.ApplyOp(&softmaxCEGradOp{f: *op}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dl}, nil
}

// softmaxCEGradOp is (logits, g) -> dlogits.
type softmaxCEGradOp struct {
	buf buffer
	f   softmaxCEOp
}

func (op *softmaxCEGradOp) Arity() int { return 2 }
func (op *softmaxCEGradOp) Type() hm.Type {
	return hm.NewFnType(matType, tensor.Float32, matType)
}
func (op *softmaxCEGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.f.n, op.f.q}, nil
}
func (op *softmaxCEGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *softmaxCEGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, in); err != nil {
		return nil, err
	}
	f := op.f
	out, dl := op.buf.get(f.n, f.q)
	SoftmaxCEBackward(dl, f32(in[0]), f.targets, f.q, f.seqs, f.from, f32(in[1])[0])
	return out, nil
}
func (op *softmaxCEGradOp) ReturnsPtr() bool      { return false }
func (op *softmaxCEGradOp) CallsExtern() bool     { return false }
func (op *softmaxCEGradOp) OverwritesInput() int  { return -1 }
func (op *softmaxCEGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *softmaxCEGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *softmaxCEGradOp) String() string        { return "Grad" + op.f.String() }
