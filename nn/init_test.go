package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestInitialisers(t *testing.T) {
	const fanIn, fanOut = 100, 50
	const n = 100000
	// Each case's variance by its definition (torch.nn.init): uniform on
	// (-a, a) has variance a²/3.
	tests := []struct {
		name    string
		init    func(*rand.Rand) Init
		bound   float64 // 0: unbounded (normal)
		wantVar float64
	}{
		{"GlorotUniform", GlorotUniform, math.Sqrt(6.0 / (fanIn + fanOut)), 2.0 / (fanIn + fanOut)},
		{"GlorotNormal", GlorotNormal, 0, 2.0 / (fanIn + fanOut)},
		{"HeUniform", HeUniform, math.Sqrt(6.0 / fanIn), 2.0 / fanIn},
		{"HeNormal", HeNormal, 0, 2.0 / fanIn},
	}
	for _, tt := range tests {
		w := make([]float32, n)
		tt.init(rand.New(rand.NewPCG(1, 2)))(w, fanIn, fanOut)
		var mean, v float64
		for _, x := range w {
			if tt.bound > 0 && math.Abs(float64(x)) > tt.bound {
				t.Fatalf("%s: |w| = %v beyond the bound %v", tt.name, x, tt.bound)
			}
			mean += float64(x)
		}
		mean /= n
		for _, x := range w {
			v += (float64(x) - mean) * (float64(x) - mean)
		}
		v /= n
		// The sample mean's standard error is sqrt(var/n); 5 of them.
		if math.Abs(mean) > 5*math.Sqrt(tt.wantVar/n) {
			t.Errorf("%s: mean = %v, want 0 within %v", tt.name, mean, 5*math.Sqrt(tt.wantVar/n))
		}
		// The sample variance's relative standard error is at most
		// sqrt(2/n) = 0.45% (normal); 3% is over 6 of them.
		if math.Abs(v/tt.wantVar-1) > 0.03 {
			t.Errorf("%s: variance = %v, want %v within 3%%", tt.name, v, tt.wantVar)
		}
		w2 := make([]float32, n)
		tt.init(rand.New(rand.NewPCG(1, 2)))(w2, fanIn, fanOut)
		if w[0] != w2[0] || w[n-1] != w2[n-1] {
			t.Errorf("%s: two runs with one seed differ", tt.name)
		}
	}
	w := []float32{1, 2}
	Zeros(w, 1, 1)
	if w[0] != 0 || w[1] != 0 {
		t.Errorf("Zeros: w = %v", w)
	}
	ConstantInit(0.5)(w, 1, 1)
	if w[0] != 0.5 || w[1] != 0.5 {
		t.Errorf("ConstantInit(0.5): w = %v", w)
	}
}

func TestPureGoSoftmaxAndKL(t *testing.T) {
	// Large logits: per-row max keeps them finite.
	x := []float32{1000, 999, 999}
	p := Softmax(nil, x)
	lp := LogSoftmax(nil, x)
	z := 1 + 2*math.Exp(-1)
	for i, want := range []float64{1 / z, math.Exp(-1) / z, math.Exp(-1) / z} {
		if math.Abs(float64(p[i])-want) > 1e-6 {
			t.Errorf("Softmax(1000,999,999)[%d] = %v, want %v", i, p[i], want)
		}
		if math.Abs(float64(lp[i])-math.Log(want)) > 1e-5 {
			t.Errorf("LogSoftmax(1000,999,999)[%d] = %v, want %v", i, lp[i], math.Log(want))
		}
	}
	in := []float32{1000, 999, 999}
	Softmax(in, in) // in place
	for i := range in {
		if in[i] != p[i] {
			t.Errorf("Softmax in place [%d] = %v, want %v", i, in[i], p[i])
		}
	}
	// KL at T=2 of student (0, 0) from teacher (2, 0), as in TestForwardValues.
	e := math.E
	want := 4 * (e/(1+e)*math.Log(2*e/(1+e)) + 1/(1+e)*math.Log(2/(1+e)))
	if got := KLTemperature([]float32{0, 0}, []float32{2, 0}, 2, 2); math.Abs(got-want) > 1e-12 {
		t.Errorf("KLTemperature = %v, want %v", got, want)
	}
}
