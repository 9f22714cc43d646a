package nn

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Activation is an elementwise nonlinearity of a model builder. In graphs
// it is one of this package's Ops (same values as gorgonia's Rectify, Tanh
// and Sigmoid, but reusing its buffers across runs); at inference
// [Activation.Apply] runs the same function on a plain slice.
type Activation int

const (
	ActLinear  Activation = iota // identity
	ActReLU                      // max(x, 0)
	ActTanh                      // tanh(x)
	ActSigmoid                   // 1 / (1 + exp(-x))
	ActReLU6                     // min(max(x, 0), 6) (MobileNet v2)
)

var actNames = [...]string{"linear", "relu", "tanh", "sigmoid", "relu6"}

func (a Activation) String() string {
	if a >= 0 && int(a) < len(actNames) {
		return actNames[a]
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

// MarshalText encodes a as its name ("relu"), so configs read well in JSON.
func (a Activation) MarshalText() ([]byte, error) {
	if a < 0 || int(a) >= len(actNames) {
		return nil, fmt.Errorf("nn: unknown activation %d", int(a))
	}
	return []byte(actNames[a]), nil
}

// UnmarshalText decodes a name written by MarshalText.
func (a *Activation) UnmarshalText(b []byte) error {
	for i, n := range actNames {
		if n == string(b) {
			*a = Activation(i)
			return nil
		}
	}
	return fmt.Errorf("nn: unknown activation %q (want linear, relu, tanh, sigmoid or relu6)", b)
}

// Node applies a to x (any shape) in x's graph. The gradient is computed
// from the output y: dy ⊙ [y > 0] (ReLU), dy ⊙ (1 - y²) (tanh),
// dy ⊙ y (1 - y) (sigmoid), dy ⊙ [0 < y < 6] (ReLU6).
func (a Activation) Node(x *gorgonia.Node) (*gorgonia.Node, error) {
	if a == ActLinear {
		return x, nil
	}
	if a < 0 || int(a) >= len(actNames) {
		return nil, fmt.Errorf("nn: unknown activation %d", int(a))
	}
	if x == nil {
		return nil, fmt.Errorf("nn: %v: nil input", a)
	}
	d := x.Dims()
	op := &fnOp{name: "nn.Act{" + a.String() + "}", inDims: []int{d}, outDims: d, shape: sameShape,
		fwd32: func(y []float32, in [][]float32, _ []tensor.Shape) { actForward(a, y, in[0]) },
		fwd64: func(y []float64, in [][]float64, _ []tensor.Shape) { actForward(a, y, in[0]) },
		diff:  []bool{true}}
	op.grad = func(_ int, _ gorgonia.Nodes, y, dy *gorgonia.Node) (*gorgonia.Node, error) {
		return (&fnOp{name: "nn.ActGrad{" + a.String() + "}", inDims: []int{d, d}, outDims: d, shape: sameShape,
			fwd32: func(dx []float32, in [][]float32, _ []tensor.Shape) { actBackward(a, dx, in[0], in[1]) },
			fwd64: func(dx []float64, in [][]float64, _ []tensor.Shape) { actBackward(a, dx, in[0], in[1]) }}).apply(y, dy)
	}
	return op.apply(x)
}

func actForward[T float](a Activation, y, x []T) {
	switch a {
	case ActReLU:
		for i, v := range x {
			y[i] = max(v, 0)
		}
	case ActTanh:
		for i, v := range x {
			y[i] = T(math.Tanh(float64(v)))
		}
	case ActSigmoid:
		for i, v := range x {
			y[i] = T(1 / (1 + math.Exp(-float64(v))))
		}
	case ActReLU6:
		for i, v := range x {
			y[i] = min(max(v, 0), 6)
		}
	}
}

func actBackward[T float](a Activation, dx, y, dy []T) {
	switch a {
	case ActReLU:
		if y32, ok := any(y).([]float32); ok {
			reluBackward32(any(dx).([]float32), y32, any(dy).([]float32))
			return
		}
		for i, v := range y {
			if v > 0 {
				dx[i] = dy[i]
			} else {
				dx[i] = 0
			}
		}
	case ActTanh:
		for i, v := range y {
			dx[i] = dy[i] * (1 - v*v)
		}
	case ActSigmoid:
		for i, v := range y {
			dx[i] = dy[i] * v * (1 - v)
		}
	case ActReLU6:
		for i, v := range y {
			if v > 0 && v < 6 {
				dx[i] = dy[i]
			} else {
				dx[i] = 0
			}
		}
	}
}

// Apply applies a to v in place.
func (a Activation) Apply(v []float32) { actForward(a, v, v) }
