package compress

import (
	"math/rand/v2"
	"testing"
)

// TestGPTQLowersOutputError checks gptqRows against plain per-row rounding
// on correlated inputs: the output error sum over samples of (W h - Q h)^2
// must be lower, every row's largest weight must sit at +-127 (so the int8
// generator's max|w|/127 scale finds the same integers), and no value may
// be -128.
func TestGPTQLowersOutputError(t *testing.T) {
	const rows, cols, samples = 8, 16, 400
	r := rand.New(rand.NewPCG(1, 2))
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	// Correlated, non-negative inputs, as ReLU outputs are.
	hs := make([][]float32, samples)
	H := make([]float64, cols*cols)
	for s := range hs {
		base := r.Float64()
		h := make([]float32, cols)
		for i := range h {
			h[i] = float32(max(0, base+0.3*r.NormFloat64()))
		}
		hs[s] = h
		for i := range cols {
			for j := range cols {
				H[i*cols+j] += float64(h[i]) * float64(h[j])
			}
		}
	}
	outErr := func(q []float32) float64 {
		var e float64
		for _, h := range hs {
			for o := range rows {
				var d float64
				for c := range cols {
					d += float64(w[o*cols+c]-q[o*cols+c]) * float64(h[c])
				}
				e += d * d
			}
		}
		return e
	}
	plain, err := QuantizeInt8(w, rows, cols, QInt8, Symmetric, true)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gptqRows(w, rows, cols, H)
	if err != nil {
		t.Fatal(err)
	}
	ep, eg := outErr(plain.Dequantize(nil)), outErr(g.Dequantize(nil))
	// GPTQ's gain on such inputs is a factor of several; 0.5 leaves room.
	if eg > 0.5*ep {
		t.Errorf("gptqRows output error %.4g, want at most half of per-row rounding's %.4g", eg, ep)
	}
	for o := range rows {
		top := int32(0)
		for c := range cols {
			v := g.Value(o*cols + c)
			if v == -128 {
				t.Errorf("row %d column %d is -128, want [-127, 127]", o, c)
			}
			top = max(top, v, -v)
		}
		if top != 127 {
			t.Errorf("row %d: max |q| = %d, want 127", o, top)
		}
	}
	// All-zero moments (a dead layer) are damped by the floor and stay
	// invertible.
	if _, err := gptqRows(w, rows, cols, make([]float64, cols*cols)); err != nil {
		t.Errorf("gptqRows with zero moments: %v", err)
	}
}
