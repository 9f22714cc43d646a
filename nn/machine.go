package nn

import (
	"fmt"

	"gorgonia.org/gorgonia"
)

// Machine runs a training graph: forward pass, backward pass, and the
// gradients of its parameters as [Param]s ready for an [Optimizer]. It
// hides two gorgonia habits: gradients accumulate across runs (Run zeroes
// them first) and the gradient buffers live in the machine (Params
// refreshes the views after each run).
type Machine struct {
	loss   *gorgonia.Node
	nodes  []*gorgonia.Node
	vm     gorgonia.VM
	params []Param
}

// NewMachine adds the gradients of the scalar loss with respect to params
// to loss's graph and compiles it. Build the whole graph first: nodes
// added afterwards are not run.
func NewMachine(loss *gorgonia.Node, params []*gorgonia.Node) (*Machine, error) {
	if loss == nil || !loss.IsScalar() {
		return nil, fmt.Errorf("nn: machine: loss must be a scalar node")
	}
	if _, err := gorgonia.Grad(loss, params...); err != nil {
		return nil, fmt.Errorf("nn: machine: gradients: %w", err)
	}
	vm := gorgonia.NewTapeMachine(loss.Graph(), gorgonia.BindDualValues(params...))
	return &Machine{loss: loss, nodes: params, vm: vm}, nil
}

// Run zeroes the gradients, runs the graph forward and backward and returns
// the loss. Set the input nodes' values (gorgonia.Let, or write into the
// tensors they hold) before calling it.
func (m *Machine) Run() (float64, error) {
	ZeroGrads(m.params)
	m.vm.Reset()
	if err := m.vm.RunAll(); err != nil {
		return 0, fmt.Errorf("nn: machine: run: %w", err)
	}
	ps, err := ParamsFromNodes(m.nodes)
	if err != nil {
		return 0, err
	}
	m.params = ps
	switch v := m.loss.Value().Data().(type) {
	case float32:
		return float64(v), nil
	case float64:
		return v, nil
	}
	return 0, fmt.Errorf("nn: machine: loss holds %T", m.loss.Value().Data())
}

// Params returns the parameters with the gradients of the last Run, in the
// order given to NewMachine.
func (m *Machine) Params() []Param { return m.params }

// Close releases the machine.
func (m *Machine) Close() error { return m.vm.Close() }
