package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
)

// BenchmarkDenseStep times one forward and backward pass of an MLP
// (Dense Ops on kernel.Gemm) with an MSE loss, per batch size, against the
// same network built from gorgonia's built-in Mul and BroadcastAdd.
func BenchmarkDenseStep(b *testing.B) {
	for _, n := range []int{1, 32, 256} {
		for _, builtin := range []bool{false, true} {
			name := fmt.Sprintf("batch=%d/nn", n)
			if builtin {
				name = fmt.Sprintf("batch=%d/gorgonia", n)
			}
			b.Run(name, func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				m, _ := NewMLP("m", []int{64, 128, 128, 16}, ActReLU, ActLinear, rng)
				g := gorgonia.NewGraph()
				x, xd := inputNode(g, "x", n, 64)
				t, _ := inputNode(g, "t", n, 16)
				for i := range xd {
					xd[i] = float32(rng.NormFloat64())
				}
				var out *gorgonia.Node
				var params []*gorgonia.Node
				if builtin {
					h := x
					for i := range m.Layers {
						w, bias := m.Layers[i].Nodes(g, fmt.Sprintf("m.%d", i))
						params = append(params, w, bias)
						h = gorgonia.Must(gorgonia.Mul(h, gorgonia.Must(gorgonia.Transpose(w))))
						h = gorgonia.Must(gorgonia.BroadcastAdd(h, bias, nil, []byte{0}))
						if i < len(m.Layers)-1 {
							h = gorgonia.Must(gorgonia.Rectify(h))
						}
					}
					out = h
				} else {
					var err error
					if out, params, err = m.Build(x); err != nil {
						b.Fatal(err)
					}
				}
				loss, err := MSE(out, t)
				if err != nil {
					b.Fatal(err)
				}
				mc, err := NewMachine(loss, params)
				if err != nil {
					b.Fatal(err)
				}
				defer mc.Close()
				b.ReportAllocs()
				for b.Loop() {
					if _, err := mc.Run(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
			})
		}
	}
}

// BenchmarkAdamStep times one Adam update over 1M parameters (about the
// size of the small WaveNet preset's weights).
func BenchmarkAdamStep(b *testing.B) {
	const n = 1 << 20
	ps := []Param{{Name: "w", Value: make([]float32, n), Grad: make([]float32, n)}}
	for i := range ps[0].Grad {
		ps[0].Grad[i] = float32(i%7) - 3
	}
	opt := NewAdam(0.9, 0.999, 1e-8, 0)
	b.ReportAllocs()
	for b.Loop() {
		if err := opt.Step(ps, 1e-3); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "params/s")
}
