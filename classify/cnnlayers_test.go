package classify

import (
	"math"
	"math/rand/v2"
	"testing"
)

// checkSeq compares seq's backward pass (dL/dx and 5 entries of every
// weight's gradient) with central differences of L = sum(r*y), r random,
// in training mode.
func checkSeq(t *testing.T, name string, ls []layer, in shape, n int) {
	rng := rand.New(rand.NewPCG(3, 4))
	s := &seq{layers: ls}
	out := s.setup(in)
	for _, w := range s.weights() {
		if w.Grad != nil && len(w.Shape) > 1 {
			for i := range w.Value {
				w.Value[i] = float32(rng.NormFloat64() * 0.5)
			}
		}
	}
	x := make([]float32, n*in.size())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	r := make([]float32, n*out.size())
	for i := range r {
		r[i] = float32(rng.NormFloat64())
	}
	p := &pass{train: true, workers: 1}
	loss := func() float64 {
		y := s.forward(x, n, p)
		var l float64
		for i, v := range y[:len(r)] {
			l += float64(v) * float64(r[i])
		}
		return l
	}
	loss()
	dx := s.backward(append([]float32(nil), r...), n, p, true)
	dx = append([]float32(nil), dx...)
	for k := 0; k < 10; k++ {
		i := rng.IntN(len(x))
		num := centralDiff(&x[i], loss)
		if math.Abs(num-float64(dx[i])) > 2e-3+0.02*math.Abs(num) {
			t.Errorf("%s: dx[%d] %.5f, numeric %.5f", name, i, dx[i], num)
		}
	}
	for _, w := range s.weights() {
		if w.Grad == nil {
			continue
		}
		zero(w.Grad)
	}
	loss()
	s.backward(append([]float32(nil), r...), n, p, true)
	for _, w := range s.weights() {
		if w.Grad == nil {
			continue
		}
		for k := 0; k < 5; k++ {
			i := rng.IntN(len(w.Value))
			num := centralDiff(&w.Value[i], loss)
			if math.Abs(num-float64(w.Grad[i])) > 2e-3+0.02*math.Abs(num) {
				t.Errorf("%s: %s[%d] %.5f, numeric %.5f", name, w.Name, i, w.Grad[i], num)
			}
		}
	}
}

// TestLayerGradients checks each layer alone. ReLU kinks make central
// differences of whole networks unreliable (TestCNNGradients checks their
// direction); alone, at a step of 1e-3, the float32 forward passes give
// differences within 2e-3 + 2% of the analytic gradient.
func TestLayerGradients(t *testing.T) {
	in := shape{3, 6, 7}
	checkSeq(t, "conv3", []layer{newConv("c", 4, 3, 1)}, in, 2)
	checkSeq(t, "conv3s2", []layer{newConv("c", 4, 3, 2)}, in, 2)
	checkSeq(t, "pw", []layer{newConv("c", 4, 1, 1)}, in, 2)
	checkSeq(t, "dw", []layer{newDepthwise("c", 3, 2)}, in, 2)
	checkSeq(t, "bn", []layer{newBatchNorm("b", false)}, in, 2)
	checkSeq(t, "bnrelu", []layer{newBatchNorm("b", true)}, in, 2)
	checkSeq(t, "pool", []layer{&avgPool{}}, in, 2)
	checkSeq(t, "gap", []layer{&globalAvgPool{}}, in, 2)
	checkSeq(t, "lin", []layer{&linear{name: "l", out: 3}}, in, 2)
	checkSeq(t, "dense", []layer{&denseBlock{growth: 2, layers: []*seq{{layers: []layer{newConv("a", 2, 3, 1)}}, {layers: []layer{newConv("b", 2, 1, 1)}}}}}, in, 2)
}

// TestLayerCompositions checks short stacks as the networks use them.
func TestLayerCompositions(t *testing.T) {
	in := shape{1, 8, 14}
	checkSeq(t, "stem", []layer{newConv("c", 4, 3, 2), newBatchNorm("b", false), &globalAvgPool{}}, in, 3)
	checkSeq(t, "stem-relu", []layer{newConv("c", 4, 3, 2), newBatchNorm("b", true), &globalAvgPool{}}, in, 3)
	checkSeq(t, "stem-relu-lin", []layer{newConv("c", 4, 3, 2), newBatchNorm("b", true), &globalAvgPool{}, &linear{name: "l", out: 3}}, in, 3)
	checkSeq(t, "bn-bn", []layer{newConv("c", 4, 3, 2), newBatchNorm("b", false), newDepthwise("d", 3, 1), newBatchNorm("b2", false), &globalAvgPool{}}, in, 3)
}

// centralDiff is loss's derivative in *v by central differences (step
// 1e-3); *v is restored.
func centralDiff(v *float32, loss func() float64) float64 {
	const h = 1e-3
	old := *v
	*v = old + h
	lp := loss()
	*v = old - h
	lm := loss()
	*v = old
	return (lp - lm) / (2 * h)
}
