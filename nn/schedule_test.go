package nn

import (
	"math"
	"testing"
)

func TestSchedules(t *testing.T) {
	tests := []struct {
		name string
		s    Schedule
		step int64
		want float64
	}{
		{"constant", Constant(0.1), 12345, 0.1},
		// StepLR(step_size=10, gamma=0.5): steps 0..9 at lr, 10..19 at lr/2, ...
		{"step 0", StepDecay(1, 10, 0.5), 0, 1},
		{"step 9", StepDecay(1, 10, 0.5), 9, 1},
		{"step 10", StepDecay(1, 10, 0.5), 10, 0.5},
		{"step 35", StepDecay(1, 10, 0.5), 35, 0.125},
		// exponential_decay(1, decay_steps=100, rate=0.1): 0.1^(50/100) = sqrt(0.1).
		{"exp 0", ExponentialDecay(1, 0.1, 100), 0, 1},
		{"exp 50", ExponentialDecay(1, 0.1, 100), 50, math.Sqrt(0.1)},
		{"exp 200", ExponentialDecay(1, 0.1, 100), 200, 0.01},
		// nanoGPT get_lr(peak 1, warmup 10, total 110, floor 0.1):
		// step 0 -> 1*(0+1)/10; step 9 -> 1; step 10 -> cos(0): peak;
		// step 60 -> half way: 0.1 + 0.9*0.5 = 0.55; step 110 and later: floor.
		{"warm 0", CosineWarmup(1, 10, 110, 0.1), 0, 0.1},
		{"warm 4", CosineWarmup(1, 10, 110, 0.1), 4, 0.5},
		{"warm 9", CosineWarmup(1, 10, 110, 0.1), 9, 1},
		{"cos 10", CosineWarmup(1, 10, 110, 0.1), 10, 1},
		{"cos 60", CosineWarmup(1, 10, 110, 0.1), 60, 0.55},
		// Three quarters: 0.1 + 0.9*(1+cos(3π/4))/2 = 0.1 + 0.45*(1-√2/2).
		{"cos 85", CosineWarmup(1, 10, 110, 0.1), 85, 0.1 + 0.45*(1-math.Sqrt2/2)},
		{"cos 110", CosineWarmup(1, 10, 110, 0.1), 110, 0.1},
		{"cos 1000", CosineWarmup(1, 10, 110, 0.1), 1000, 0.1},
		{"no warmup", CosineWarmup(2, 0, 100, 0), 0, 2},
	}
	for _, tt := range tests {
		// 1e-12: float64 rounding of pow and cos.
		if got := tt.s.LR(tt.step); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: LR(%d) = %v, want %v", tt.name, tt.step, got, tt.want)
		}
	}
}
