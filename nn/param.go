package nn

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Param is a trainable tensor seen as flat float32 slices of equal length.
// Value usually aliases a gorgonia tensor's backing array (or a
// wavenet.Model slice); Grad is the gradient buffer.
type Param struct {
	Name        string
	Value, Grad []float32
}

// ParamFromNode returns the Param view of a gorgonia node whose value is a
// float32 tensor: Value is the tensor's backing array and Grad the backing
// array of its gradient. The gradient exists only after the graph has been
// run with a backward pass (gorgonia.Grad or BindDualValues); before that
// Grad is nil. Gorgonia may give the gradient a new buffer on a later run,
// so call ParamFromNode again after each run rather than keeping Grad.
func ParamFromNode(n *gorgonia.Node) (Param, error) {
	p := Param{Name: n.Name()}
	v, err := float32Data(n.Value())
	if err != nil {
		return Param{}, fmt.Errorf("nn: param %s: value: %w", p.Name, err)
	}
	p.Value = v
	if g, gerr := n.Grad(); gerr == nil && g != nil {
		gd, err := float32Data(g)
		if err != nil {
			return Param{}, fmt.Errorf("nn: param %s: grad: %w", p.Name, err)
		}
		if len(gd) != len(v) {
			return Param{}, fmt.Errorf("nn: param %s: grad has %d elements, value %d", p.Name, len(gd), len(v))
		}
		p.Grad = gd
	}
	return p, nil
}

// ParamsFromNodes calls [ParamFromNode] for each node, in order.
func ParamsFromNodes(nodes []*gorgonia.Node) ([]Param, error) {
	ps := make([]Param, len(nodes))
	for i, n := range nodes {
		p, err := ParamFromNode(n)
		if err != nil {
			return nil, err
		}
		ps[i] = p
	}
	return ps, nil
}

// ZeroGrads sets every gradient to zero. Gorgonia accumulates gradients
// across runs, so call it once per step (after the optimizer step).
func ZeroGrads(params []Param) {
	for _, p := range params {
		clear(p.Grad)
	}
}

func float32Data(v gorgonia.Value) ([]float32, error) {
	if v == nil {
		return nil, fmt.Errorf("no value bound")
	}
	t, ok := v.(tensor.Tensor)
	if !ok {
		return nil, fmt.Errorf("value is %T, not a tensor", v)
	}
	d, ok := t.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("tensor data is %T, not []float32", t.Data())
	}
	return d, nil
}

// checkParams reports a param whose Grad and Value lengths differ.
func checkParams(params []Param) error {
	for _, p := range params {
		if len(p.Grad) != len(p.Value) {
			return fmt.Errorf("nn: param %s: grad has %d elements, value %d", p.Name, len(p.Grad), len(p.Value))
		}
	}
	return nil
}
