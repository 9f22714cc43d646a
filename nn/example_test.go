package nn_test

import (
	"fmt"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wavenet-go/wavenet/nn"
)

// A Q-network trained on a fixed batch with the DQN loss (Huber of the
// chosen actions' Q values against targets), a target network kept by
// CopyFrom, and greedy action selection with the pure-Go forward pass.
func ExampleMLP() {
	rng := rand.New(rand.NewPCG(1, 2))
	q, _ := nn.NewMLP("q", []int{4, 32, 2}, nn.ActReLU, nn.ActLinear, rng)
	target := q.Clone("target")

	// One graph per batch shape; inputs are tensors whose backing slices we
	// fill before each run.
	const batch = 3
	g := gorgonia.NewGraph()
	obs := make([]float32, batch*4)
	mask := make([]float32, batch*2) // one-hot of the actions taken
	tdTarget := make([]float32, batch)
	x := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(batch, 4), gorgonia.WithName("obs"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(batch, 4), tensor.WithBacking(obs))))
	m := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(batch, 2), gorgonia.WithName("mask"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(batch, 2), tensor.WithBacking(mask))))
	y := gorgonia.NewVector(g, tensor.Float32, gorgonia.WithShape(batch), gorgonia.WithName("y"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(batch), tensor.WithBacking(tdTarget))))
	qs, params, _ := q.Build(x)
	qa, _ := nn.RowDot(qs, m)
	loss, _ := nn.Huber(qa, y, 1)
	machine, _ := nn.NewMachine(loss, params)
	defer machine.Close()
	opt := nn.NewAdam(0.9, 0.999, 1e-8, 0)

	copy(obs, []float32{0.1, 0, 0, 0, 0, 0.1, 0, 0, 0, 0, 0.1, 0})
	copy(mask, []float32{1, 0, 0, 1, 1, 0})
	copy(tdTarget, []float32{1, 2, 3})
	var l float64
	for step := 0; step < 500; step++ {
		l, _ = machine.Run()
		nn.ClipGlobalNorm(machine.Params(), 10)
		_ = opt.Step(machine.Params(), 1e-2)
		if step%100 == 0 {
			_ = target.CopyFrom(q) // target network update
		}
	}
	qv := q.Forward(nil, obs[8:12])
	fmt.Printf("loss below 1e-3: %v\n", l < 1e-3)
	fmt.Printf("Q(s3, a0) = %.2f\n", qv[0])
	// Output:
	// loss below 1e-3: true
	// Q(s3, a0) = 3.00
}
