package nn

import (
	"math"
	"testing"
)

func TestClipGlobalNorm(t *testing.T) {
	tests := []struct {
		name     string
		grads    [][]float32
		maxNorm  float64
		wantNorm float64
		want     [][]float32
	}{
		// Joint norm of (3) and (4) is 5; scale 1/(5+1e-6) ≈ 0.2.
		{"clipped", [][]float32{{3}, {4}}, 1, 5, [][]float32{{0.6}, {0.8}}},
		// Norm 5 below 10: untouched.
		{"below", [][]float32{{3}, {4}}, 10, 5, [][]float32{{3}, {4}}},
		// Norm sqrt(1+4+4) = 3, max 1.5: halved.
		{"vector", [][]float32{{1, 2, 2}}, 1.5, 3, [][]float32{{0.5, 1, 1}}},
		{"zero", [][]float32{{0, 0}}, 1, 0, [][]float32{{0, 0}}},
	}
	for _, tt := range tests {
		ps := make([]Param, len(tt.grads))
		for i, g := range tt.grads {
			ps[i] = Param{Name: "p", Value: make([]float32, len(g)), Grad: append([]float32(nil), g...)}
		}
		got := ClipGlobalNorm(ps, tt.maxNorm)
		if math.Abs(got-tt.wantNorm) > 1e-9 {
			t.Errorf("%s: ClipGlobalNorm = %v, want %v", tt.name, got, tt.wantNorm)
		}
		for i := range ps {
			for j := range ps[i].Grad {
				// 1e-6: the 1e-6 of torch's max/(norm+1e-6) plus float32 rounding.
				if math.Abs(float64(ps[i].Grad[j]-tt.want[i][j])) > 1e-6 {
					t.Errorf("%s: grad[%d][%d] = %v, want %v", tt.name, i, j, ps[i].Grad[j], tt.want[i][j])
				}
			}
		}
	}

	nan := []Param{{Name: "p", Value: []float32{0, 0}, Grad: []float32{float32(math.NaN()), 1}}}
	if got := ClipGlobalNorm(nan, 1); !math.IsNaN(got) || nan[0].Grad[1] != 1 {
		t.Errorf("ClipGlobalNorm(NaN grads) = %v, grad %v; want NaN and grads untouched", got, nan[0].Grad)
	}
}

func TestClipValue(t *testing.T) {
	ps := []Param{{Name: "p", Value: make([]float32, 3), Grad: []float32{-3, 0.5, 2}}}
	ClipValue(ps, 1)
	want := []float32{-1, 0.5, 1}
	for j := range want {
		if ps[0].Grad[j] != want[j] {
			t.Errorf("ClipValue(1): grad[%d] = %v, want %v", j, ps[0].Grad[j], want[j])
		}
	}
}
