package nn

import (
	"encoding/json"
	"math"
	"testing"
)

func TestActivation(t *testing.T) {
	tests := []struct {
		a    Activation
		x    float32
		want float64
	}{
		{ActLinear, -2, -2},
		{ActReLU, -2, 0},
		{ActReLU, 3, 3},
		{ActTanh, 0.5, math.Tanh(0.5)},
		{ActSigmoid, 0.5, 1 / (1 + math.Exp(-0.5))},
	}
	for _, tt := range tests {
		v := []float32{tt.x}
		tt.a.Apply(v)
		// 1e-7: float32 rounding of values below 1.
		if math.Abs(float64(v[0])-tt.want) > 1e-7 {
			t.Errorf("%v.Apply(%v) = %v, want %v", tt.a, tt.x, v[0], tt.want)
		}
		b, err := json.Marshal(tt.a)
		if err != nil {
			t.Fatal(err)
		}
		var back Activation
		if err := json.Unmarshal(b, &back); err != nil || back != tt.a {
			t.Errorf("JSON round trip of %v: %s -> %v, %v", tt.a, b, back, err)
		}
	}
	var a Activation
	if err := json.Unmarshal([]byte(`"gelu"`), &a); err == nil {
		t.Error(`Unmarshal("gelu"): no error`)
	}
	if _, err := json.Marshal(Activation(9)); err == nil {
		t.Error("Marshal(Activation(9)): no error")
	}
}
