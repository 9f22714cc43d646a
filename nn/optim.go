package nn

import (
	"fmt"
	"math"
	"slices"
)

// Optimizer updates params in place from their gradients. Params must be
// passed in the same order on every call (state is kept per position and
// checked against Name). Step reads Grad and does not change it: zero the
// gradients yourself ([ZeroGrads]) before the next accumulation.
type Optimizer interface {
	Step(params []Param, lr float64) error
	// State returns the optimizer state as named tensors (e.g.
	// "adam.m.<param>", "adam.v.<param>") plus the step count, for
	// checkpoints; SetState restores it.
	State() (tensors map[string][]float32, step int64)
	SetState(tensors map[string][]float32, step int64) error
}

// slots holds an optimizer's per-parameter buffers: kinds[k][i] is buffer
// kind k (e.g. Adam's m and v) of the i-th parameter.
type slots struct {
	prefix  string   // "adam", "sgd", "rmsprop"
	kinds   []string // buffer kinds, e.g. "m", "v"
	names   []string // parameter names, in Step order; nil before the first Step
	bufs    [][][]float32
	pending map[string][]float32 // state given to SetState before the first Step
	step    int64
}

func newSlots(prefix string, kinds ...string) slots {
	return slots{prefix: prefix, kinds: kinds}
}

func (s *slots) key(kind, name string) string { return s.prefix + "." + kind + "." + name }

// bind checks params against the state (same names, same lengths, same
// order) and allocates the state on the first call.
func (s *slots) bind(params []Param) error {
	if err := checkParams(params); err != nil {
		return err
	}
	if s.names != nil {
		if len(params) != len(s.names) {
			return fmt.Errorf("nn: %s: step with %d params, state has %d", s.prefix, len(params), len(s.names))
		}
		for i, p := range params {
			if p.Name != s.names[i] {
				return fmt.Errorf("nn: %s: param %d is %q, state has %q (params must keep their order)", s.prefix, i, p.Name, s.names[i])
			}
			if len(p.Value) != len(s.bufs[0][i]) {
				return fmt.Errorf("nn: %s: param %s has %d elements, state has %d", s.prefix, p.Name, len(p.Value), len(s.bufs[0][i]))
			}
		}
		return nil
	}
	names := make([]string, len(params))
	seen := make(map[string]bool, len(params))
	for i, p := range params {
		if seen[p.Name] {
			return fmt.Errorf("nn: %s: duplicate param name %q", s.prefix, p.Name)
		}
		seen[p.Name] = true
		names[i] = p.Name
	}
	bufs := make([][][]float32, len(s.kinds))
	for k, kind := range s.kinds {
		bufs[k] = make([][]float32, len(params))
		for i, p := range params {
			b := make([]float32, len(p.Value))
			if s.pending != nil {
				src, ok := s.pending[s.key(kind, p.Name)]
				if !ok {
					return fmt.Errorf("nn: %s: restored state has no tensor %q", s.prefix, s.key(kind, p.Name))
				}
				if len(src) != len(b) {
					return fmt.Errorf("nn: %s: restored tensor %q has %d elements, param has %d", s.prefix, s.key(kind, p.Name), len(src), len(b))
				}
				copy(b, src)
			}
			bufs[k][i] = b
		}
	}
	s.names, s.bufs, s.pending = names, bufs, nil
	return nil
}

func (s *slots) state() (map[string][]float32, int64) {
	m := make(map[string][]float32)
	if s.names == nil {
		for k, v := range s.pending {
			m[k] = slices.Clone(v)
		}
		return m, s.step
	}
	for k, kind := range s.kinds {
		for i, name := range s.names {
			m[s.key(kind, name)] = slices.Clone(s.bufs[k][i])
		}
	}
	return m, s.step
}

func (s *slots) setState(tensors map[string][]float32, step int64) error {
	if step < 0 {
		return fmt.Errorf("nn: %s: negative step %d", s.prefix, step)
	}
	if len(tensors) == 0 && s.names == nil {
		// The state of an optimizer that never stepped (a step-0
		// checkpoint): fresh moments at the first Step.
		if step != 0 {
			return fmt.Errorf("nn: %s: state of step %d has no tensors", s.prefix, step)
		}
		s.pending, s.step = nil, 0
		return nil
	}
	if s.names == nil {
		// Not bound yet: keep a copy, checked against the params at the first Step.
		p := make(map[string][]float32, len(tensors))
		for k, v := range tensors {
			p[k] = slices.Clone(v)
		}
		s.pending, s.step = p, step
		return nil
	}
	for k, kind := range s.kinds {
		for i, name := range s.names {
			src, ok := tensors[s.key(kind, name)]
			if !ok {
				return fmt.Errorf("nn: %s: state has no tensor %q", s.prefix, s.key(kind, name))
			}
			if len(src) != len(s.bufs[k][i]) {
				return fmt.Errorf("nn: %s: tensor %q has %d elements, param has %d", s.prefix, s.key(kind, name), len(src), len(s.bufs[k][i]))
			}
		}
	}
	for k, kind := range s.kinds {
		for i, name := range s.names {
			copy(s.bufs[k][i], tensors[s.key(kind, name)])
		}
	}
	s.step = step
	return nil
}

// Adam is the Adam optimizer (Kingma & Ba 2015, Algorithm 1) with bias
// correction, as torch.optim.Adam: with g the gradient plus WeightDecay*p
// (L2 penalty, or decoupled as torch.optim.AdamW when Decoupled is set),
//
//	m = β1 m + (1-β1) g
//	v = β2 v + (1-β2) g²
//	p -= lr (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + ε)
//
// where t counts steps from 1.
type Adam struct {
	Beta1, Beta2, Eps, WeightDecay float64
	// Decoupled applies weight decay as p -= lr*WeightDecay*p before the
	// update (AdamW, Loshchilov & Hutter 2019) instead of adding it to g.
	Decoupled bool
	s         slots
}

// NewAdam returns an Adam optimizer. PyTorch's defaults are beta1 0.9, beta2
// 0.999, eps 1e-8, weightDecay 0.
func NewAdam(beta1, beta2, eps, weightDecay float64) *Adam {
	return &Adam{Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: weightDecay, s: newSlots("adam", "m", "v")}
}

// Step applies one Adam update with learning rate lr.
func (a *Adam) Step(params []Param, lr float64) error {
	if err := a.s.bind(params); err != nil {
		return err
	}
	a.s.step++
	t := float64(a.s.step)
	bc1 := 1 - math.Pow(a.Beta1, t)
	bc2 := 1 - math.Pow(a.Beta2, t)
	b1, b2 := float32(a.Beta1), float32(a.Beta2)
	c1, c2 := float32(1-a.Beta1), float32(1-a.Beta2)
	stepSize := float32(lr / bc1)
	invSqrtBC2 := float32(1 / math.Sqrt(bc2))
	eps := float32(a.Eps)
	wd := float32(a.WeightDecay)
	decay := float32(1 - lr*a.WeightDecay)
	for i, p := range params {
		m, v := a.s.bufs[0][i], a.s.bufs[1][i]
		val, grad := p.Value, p.Grad
		m, v = m[:len(val)], v[:len(val)]
		grad = grad[:len(val)]
		for j := range val {
			g := grad[j]
			if wd != 0 {
				if a.Decoupled {
					val[j] *= decay
				} else {
					g += wd * val[j]
				}
			}
			mj := b1*m[j] + c1*g
			vj := b2*v[j] + c2*g*g
			m[j], v[j] = mj, vj
			val[j] -= stepSize * mj / (float32(math.Sqrt(float64(vj)))*invSqrtBC2 + eps)
		}
	}
	return nil
}

// State returns copies of m and v ("adam.m.<param>", "adam.v.<param>") and
// the number of steps taken.
func (a *Adam) State() (map[string][]float32, int64) { return a.s.state() }

// SetState restores a state returned by State. Before the first Step it is
// checked against the params at that Step.
func (a *Adam) SetState(tensors map[string][]float32, step int64) error {
	return a.s.setState(tensors, step)
}

// SGD is stochastic gradient descent with optional momentum, as
// torch.optim.SGD with dampening 0:
//
//	b = μ b + g            (b = g at the first step)
//	p -= lr (g + μ b)      with Nesterov
//	p -= lr b              otherwise
//
// With Momentum 0 it is plain SGD, p -= lr g.
type SGD struct {
	Momentum    float64
	Nesterov    bool
	WeightDecay float64 // L2 penalty added to g, as torch.optim.SGD's weight_decay
	s           slots
}

// NewSGD returns an SGD optimizer.
func NewSGD(momentum float64, nesterov bool) *SGD {
	return &SGD{Momentum: momentum, Nesterov: nesterov, s: newSlots("sgd", "momentum")}
}

// Step applies one SGD update with learning rate lr.
func (o *SGD) Step(params []Param, lr float64) error {
	if err := o.s.bind(params); err != nil {
		return err
	}
	o.s.step++
	mu := float32(o.Momentum)
	wd := float32(o.WeightDecay)
	flr := float32(lr)
	for i, p := range params {
		b := o.s.bufs[0][i]
		val, grad := p.Value, p.Grad[:len(p.Value)]
		b = b[:len(val)]
		for j := range val {
			g := grad[j] + wd*val[j]
			if mu != 0 {
				b[j] = mu*b[j] + g // b starts at 0, so the first step gives b = g
				if o.Nesterov {
					g += mu * b[j]
				} else {
					g = b[j]
				}
			}
			val[j] -= flr * g
		}
	}
	return nil
}

// State returns a copy of the momentum buffers ("sgd.momentum.<param>") and
// the number of steps taken.
func (o *SGD) State() (map[string][]float32, int64) { return o.s.state() }

// SetState restores a state returned by State.
func (o *SGD) SetState(tensors map[string][]float32, step int64) error {
	return o.s.setState(tensors, step)
}

// RMSProp is RMSProp (Tieleman & Hinton 2012, lecture 6.5) as
// torch.optim.RMSprop without momentum or centring:
//
//	v = α v + (1-α) g²
//	p -= lr g / (sqrt(v) + ε)
type RMSProp struct {
	Decay, Eps float64
	s          slots
}

// NewRMSProp returns an RMSProp optimizer; decay is torch's alpha (default
// 0.99), eps its eps (default 1e-8).
func NewRMSProp(decay, eps float64) *RMSProp {
	return &RMSProp{Decay: decay, Eps: eps, s: newSlots("rmsprop", "v")}
}

// Step applies one RMSProp update with learning rate lr.
func (o *RMSProp) Step(params []Param, lr float64) error {
	if err := o.s.bind(params); err != nil {
		return err
	}
	o.s.step++
	a, c := float32(o.Decay), float32(1-o.Decay)
	eps, flr := float32(o.Eps), float32(lr)
	for i, p := range params {
		v := o.s.bufs[0][i]
		val, grad := p.Value, p.Grad[:len(p.Value)]
		v = v[:len(val)]
		for j := range val {
			g := grad[j]
			v[j] = a*v[j] + c*g*g
			val[j] -= flr * g / (float32(math.Sqrt(float64(v[j]))) + eps)
		}
	}
	return nil
}

// State returns a copy of the squared-gradient averages
// ("rmsprop.v.<param>") and the number of steps taken.
func (o *RMSProp) State() (map[string][]float32, int64) { return o.s.state() }

// SetState restores a state returned by State.
func (o *RMSProp) SetState(tensors map[string][]float32, step int64) error {
	return o.s.setState(tensors, step)
}
