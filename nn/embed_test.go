package nn

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
)

func codeConvRef(w, b []float64, codes []int32, seqs, K, Q, C int) []float64 {
	T := len(codes) / seqs
	y := make([]float64, len(codes)*C)
	for s := 0; s < seqs; s++ {
		for t := 0; t < T; t++ {
			for r := 0; r < C; r++ {
				v := 0.0
				if b != nil {
					v = b[r]
				}
				for k := 0; k < K; k++ {
					if tt := t - (K - 1 - k); tt >= 0 {
						v += w[r*K*Q+k*Q+int(codes[s*T+tt])]
					}
				}
				y[(s*T+t)*C+r] = v
			}
		}
	}
	return y
}

func TestCodeConv(t *testing.T) {
	for _, tc := range []struct {
		seqs, t, k, q, c int
		bias             bool
	}{
		{1, 6, 2, 5, 3, true},
		{2, 5, 3, 4, 2, false},
		{3, 4, 1, 6, 2, true},
	} {
		rng := rand.New(rand.NewPCG(3, uint64(tc.t)))
		codes := make([]int32, tc.seqs*tc.t)
		for i := range codes {
			codes[i] = int32(rng.IntN(tc.q))
		}
		ins := []opInput{randInput(rng, "w", tc.c, tc.k*tc.q)}
		if tc.bias {
			ins = append(ins, randInput(rng, "b", tc.c))
		}
		build := func(n []*gorgonia.Node) (*gorgonia.Node, error) {
			var b *gorgonia.Node
			if tc.bias {
				b = n[1]
			}
			return CodeConv(n[0], b, codes, tc.seqs, tc.k)
		}
		ref := func(in [][]float64) []float64 {
			var b []float64
			if tc.bias {
				b = in[1]
			}
			return codeConvRef(in[0], b, codes, tc.seqs, tc.k, tc.q, tc.c)
		}
		// Sums of at most K+1 weights: exact up to float32 rounding.
		checkOp(t, ins, build, ref, 1e-6, 1e-3)
	}
}

func TestCodeConvBadCode(t *testing.T) {
	y, w := make([]float32, 4*2), make([]float32, 2*2*3)
	err := CodeConvForward(y, w, nil, []int32{0, 1, 3, 2}, 1, 2, 3, 2)
	if err == nil {
		t.Errorf("CodeConvForward(code 3, Q=3) = nil, want an error")
	}
}

func TestCondBias(t *testing.T) {
	for _, tc := range []struct {
		index []int32
		t, v  int
		c     int
	}{
		{[]int32{1}, 4, 3, 2},
		{[]int32{2, 0, 2}, 3, 4, 3},
	} {
		rng := rand.New(rand.NewPCG(4, uint64(tc.t)))
		n := len(tc.index) * tc.t
		ins := []opInput{randInput(rng, "h", n, tc.c), randInput(rng, "table", tc.v, tc.c)}
		build := func(n []*gorgonia.Node) (*gorgonia.Node, error) { return CondBias(n[0], n[1], tc.index) }
		ref := func(in [][]float64) []float64 {
			y := append([]float64(nil), in[0]...)
			for i := range y {
				s := i / tc.c / tc.t
				y[i] += in[1][int(tc.index[s])*tc.c+i%tc.c]
			}
			return y
		}
		checkOp(t, ins, build, ref, 1e-6, 1e-3)
	}
}

func TestCondBiasBadIndex(t *testing.T) {
	h := make([]float32, 4)
	if err := CondBiasForward(h, h, make([]float32, 2*2), []int32{2}, 2); err == nil {
		t.Errorf("CondBiasForward(index 2, V=2) = nil, want an error")
	}
}
