package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
)

func TestExp32(t *testing.T) {
	// The softmax range: every 1/256 from -87 to 0, and a little above.
	for i := -87 * 256; i <= 4*256; i++ {
		x := float32(i) / 256
		got, want := float64(Exp32(x)), math.Exp(float64(x))
		if d := math.Abs(got-want) / want; d > 3e-7 {
			t.Fatalf("Exp32(%g) = %g, want %g (relative error %g)", x, got, want, d)
		}
	}
	if got := Exp32(-100); got != 0 {
		t.Errorf("Exp32(-100) = %g, want 0", got)
	}
}

func softmaxCERef(logits []float64, targets []int32, Q, seqs, from int) float64 {
	T := len(targets) / seqs
	sum := 0.0
	for s := 0; s < seqs; s++ {
		for t := from; t < T; t++ {
			i := s*T + t
			z := 0.0
			for _, v := range logits[i*Q : (i+1)*Q] {
				z += math.Exp(v)
			}
			sum += math.Log(z) - logits[i*Q+int(targets[i])]
		}
	}
	return sum / float64(seqs*(T-from))
}

func TestSoftmaxCE(t *testing.T) {
	for _, tc := range []struct{ seqs, t, q, from int }{{1, 3, 4, 0}, {2, 5, 6, 2}, {3, 4, 8, 3}} {
		rng := rand.New(rand.NewPCG(5, uint64(tc.t)))
		targets := make([]int32, tc.seqs*tc.t)
		for i := range targets {
			targets[i] = int32(rng.IntN(tc.q))
		}
		ins := []opInput{randInput(rng, "logits", tc.seqs*tc.t, tc.q)}
		build := func(n []*gorgonia.Node) (*gorgonia.Node, error) {
			return SoftmaxCE(n[0], targets, tc.seqs, tc.from)
		}
		ref := func(in [][]float64) []float64 {
			return []float64{softmaxCERef(in[0], targets, tc.q, tc.seqs, tc.from)}
		}
		checkOp(t, ins, build, ref, 1e-6, 1e-3)
	}
}

func TestSoftmaxCELargeLogits(t *testing.T) {
	// Logits of 1e4 overflow exp in float32 and float64 without the per-row
	// maximum; the second row's maximum is far below the first's, which a
	// single maximum over the tensor would turn into log(0).
	logits := []float32{1e4, 1e4 - 1, 0, -1e4, -1e4 - 2, -1e4}
	got, err := SoftmaxCEForward(logits, []int32{0, 2}, 3, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	l1 := math.Log(1 + math.Exp(-1) + 0) // row 1: target is the maximum
	l2 := math.Log(1+math.Exp(-2)+1) - 0 // row 2: target -1e4 is a maximum
	want := (l1 + l2) / 2
	if math.Abs(got-want) > 1e-6 {
		t.Errorf("SoftmaxCEForward(large logits) = %g, want %g", got, want)
	}
}

func TestSoftmaxCEBadTarget(t *testing.T) {
	if _, err := SoftmaxCEForward([]float32{0, 0}, []int32{2}, 2, 1, 0); err == nil {
		t.Errorf("SoftmaxCEForward(target 2, Q=2) = nil error, want an error")
	}
}
