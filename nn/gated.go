package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wavenet-go/wavenet/internal/kernel"
)

// Gated applies WaveNet's gated activation unit (van den Oord et al. 2016,
// eq. 2) to h (N, 2D): z = tanh(h[:, :D]) ⊙ sigmoid(h[:, D:]), (N, D).
func Gated(h *gorgonia.Node) (*gorgonia.Node, error) {
	s := h.Shape()
	if len(s) != 2 || s[1]%2 != 0 {
		return nil, fmt.Errorf("nn: gated: input shape %v, want (N, 2D)", s)
	}
	return gorgonia.ApplyOp(&gatedOp{n: s[0], d: s[1] / 2}, h)
}

// GatedPlanar is Gated for an h stored in 2 planes (ConvSpec.Planes = 2):
// the N x D tanh inputs, then the N x D sigmoid inputs. Each half is one
// contiguous vector for the kernels; the gradient it passes back is planar
// too.
func GatedPlanar(h *gorgonia.Node) (*gorgonia.Node, error) {
	s := h.Shape()
	if len(s) != 2 || s[1]%2 != 0 {
		return nil, fmt.Errorf("nn: gated: input shape %v, want (N, 2D)", s)
	}
	return gorgonia.ApplyOp(&gatedOp{n: s[0], d: s[1] / 2, planar: true}, h)
}

// GatedPlanarBackward computes the planar dh (2 x N x D) from the planar h
// and dz (N, D).
func GatedPlanarBackward(dh, h, dz []float32) {
	m := len(dz)
	da, db := dh[:m:m], dh[m:2*m:2*m]
	kernel.Tanh(da, h[:m])
	kernel.Sigmoid(db, h[m:2*m])
	for j, g := range dz {
		t, s := da[j], db[j]
		da[j] = g * s * (1 - t*t)
		db[j] = g * t * s * (1 - s)
	}
}

// GatedForward is the computation behind Gated on slices: z (N, D) from
// h (N, 2D), with the vectorised kernels of internal/kernel.
func GatedForward(z, h []float32, d int) {
	n := len(h) / (2 * d)
	for i := 0; i < n; i++ {
		kernel.GateTanhSigmoid(z[d*i:d*(i+1)], h[2*d*i:2*d*(i+1)])
	}
}

// GatedBackward computes dh (N, 2D) from h (N, 2D) and dz (N, D):
// d/da = dz σ(b) (1 - tanh²a), d/db = dz tanh(a) σ(b) (1 - σ(b)).
func GatedBackward(dh, h, dz []float32, d int) {
	n := len(h) / (2 * d)
	for i := 0; i < n; i++ {
		// tanh(a) and σ(b) go straight into dh's halves, then become the
		// derivatives in place.
		da := dh[2*d*i : 2*d*i+d : 2*d*i+d]
		db := dh[2*d*i+d : 2*d*(i+1) : 2*d*(i+1)]
		kernel.Tanh(da, h[2*d*i:2*d*i+d])
		kernel.Sigmoid(db, h[2*d*i+d:2*d*(i+1)])
		g := dz[d*i : d*(i+1) : d*(i+1)]
		da = da[:len(g)]
		db = db[:len(g)]
		for j, gj := range g {
			t, s := da[j], db[j]
			da[j] = gj * s * (1 - t*t)
			db[j] = gj * t * s * (1 - s)
		}
	}
}

// Tanh32 is a float32 tanh accurate to a few ulp: the rational (13, 6)
// minimax approximation that Eigen uses for its vectorised tanh, on the
// input clamped to ±7.905 where float32 tanh rounds to ±1.
func Tanh32(x float32) float32 {
	const clamp = 7.90531110763549805
	if x > clamp {
		x = clamp
	} else if x < -clamp {
		x = -clamp
	}
	if x < 0.0004 && x > -0.0004 {
		return x
	}
	x2 := x * x
	p := float32(-2.76076847742355e-16)
	p = p*x2 + 2.00018790482477e-13
	p = p*x2 - 8.60467152213735e-11
	p = p*x2 + 5.12229709037114e-08
	p = p*x2 + 1.48572235717979e-05
	p = p*x2 + 6.37261928875436e-04
	p = p*x2 + 4.89352455891786e-03
	p *= x
	q := float32(1.19825839466702e-06)
	q = q*x2 + 1.18534705686654e-04
	q = q*x2 + 2.26843463243900e-03
	q = q*x2 + 4.89352518554385e-03
	return p / q
}

// Sigmoid32 is the logistic function through Tanh32: σ(x) = (1 + tanh(x/2)) / 2.
func Sigmoid32(x float32) float32 { return 0.5 + 0.5*Tanh32(0.5*x) }

type gatedOp struct {
	buf    buffer
	n, d   int
	planar bool
}

func (op *gatedOp) Arity() int    { return 1 }
func (op *gatedOp) Type() hm.Type { return hm.NewFnType(matType, matType) }
func (op *gatedOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.n, op.d}, nil
}
func (op *gatedOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *gatedOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, in); err != nil {
		return nil, err
	}
	out, z := op.buf.get(op.n, op.d)
	if op.planar {
		kernel.GateTanhSigmoid(z, f32(in[0]))
	} else {
		GatedForward(z, f32(in[0]), op.d)
	}
	return out, nil
}
func (op *gatedOp) ReturnsPtr() bool      { return false }
func (op *gatedOp) CallsExtern() bool     { return false }
func (op *gatedOp) OverwritesInput() int  { return -1 }
func (op *gatedOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *gatedOp) Hashcode() uint32      { return hashOf(op) }
func (op *gatedOp) String() string {
	return fmt.Sprintf("Gated{%dx%d,planar=%v}", op.n, op.d, op.planar)
}
func (op *gatedOp) DiffWRT(n int) []bool { return []bool{true} }
func (op *gatedOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("nn: gated: SymDiff got %d inputs, want 1", len(inputs))
	}
	dh, err := gorgonia.ApplyOp(&gatedGradOp{g: gatedOp{n: op.n, d: op.d, planar: op.planar}}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dh}, nil
}

// gatedGradOp is (h, dz) -> dh.
type gatedGradOp struct {
	buf buffer
	g   gatedOp
}

func (op *gatedGradOp) Arity() int    { return 2 }
func (op *gatedGradOp) Type() hm.Type { return hm.NewFnType(matType, matType, matType) }
func (op *gatedGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.g.n, 2 * op.g.d}, nil
}
func (op *gatedGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	return op.UsePreallocDo(nil, in...)
}
func (op *gatedGradOp) UsePreallocDo(prealloc gorgonia.Value, in ...gorgonia.Value) (gorgonia.Value, error) {
	if err := checkArity(op, in); err != nil {
		return nil, err
	}
	out, dh := op.buf.get(op.g.n, 2*op.g.d)
	if op.g.planar {
		GatedPlanarBackward(dh, f32(in[0]), f32(in[1]))
	} else {
		GatedBackward(dh, f32(in[0]), f32(in[1]), op.g.d)
	}
	return out, nil
}
func (op *gatedGradOp) ReturnsPtr() bool      { return false }
func (op *gatedGradOp) CallsExtern() bool     { return false }
func (op *gatedGradOp) OverwritesInput() int  { return -1 }
func (op *gatedGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *gatedGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *gatedGradOp) String() string {
	return fmt.Sprintf("GatedGrad{%dx%d,planar=%v}", op.g.n, op.g.d, op.g.planar)
}
