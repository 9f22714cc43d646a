package nn

import (
	"fmt"
	"math"

	"gorgonia.org/gorgonia"
)

// Activation is an elementwise nonlinearity of a model builder. In graphs
// it is gorgonia's built-in Op (Rectify, Tanh, Sigmoid); at inference
// [Activation.Apply] runs the same function on a plain slice.
type Activation int

const (
	ActLinear  Activation = iota // identity
	ActReLU                      // max(x, 0)
	ActTanh                      // tanh(x)
	ActSigmoid                   // 1 / (1 + exp(-x))
)

var actNames = [...]string{"linear", "relu", "tanh", "sigmoid"}

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
	return fmt.Errorf("nn: unknown activation %q (want linear, relu, tanh or sigmoid)", b)
}

// Node applies a to x in x's graph.
func (a Activation) Node(x *gorgonia.Node) (*gorgonia.Node, error) {
	switch a {
	case ActLinear:
		return x, nil
	case ActReLU:
		return gorgonia.Rectify(x)
	case ActTanh:
		return gorgonia.Tanh(x)
	case ActSigmoid:
		return gorgonia.Sigmoid(x)
	}
	return nil, fmt.Errorf("nn: unknown activation %d", int(a))
}

// Apply applies a to v in place.
func (a Activation) Apply(v []float32) {
	switch a {
	case ActReLU:
		for i, x := range v {
			v[i] = max(x, 0)
		}
	case ActTanh:
		for i, x := range v {
			v[i] = float32(math.Tanh(float64(x)))
		}
	case ActSigmoid:
		for i, x := range v {
			v[i] = float32(1 / (1 + math.Exp(-float64(x))))
		}
	}
}
