package rl

import (
	"slices"
	"testing"
)

func TestMovingAverage(t *testing.T) {
	y := []float64{1, 3, 5, 7}
	tests := []struct {
		window int
		want   []float64
	}{
		// window <= 1 is the running sum (cumulative regret).
		{0, []float64{1, 4, 9, 16}},
		{1, []float64{1, 4, 9, 16}},
		// Before the window fills, the mean of the values so far.
		{2, []float64{1, 2, 4, 6}},
		{3, []float64{1, 2, 3, 5}},
		{10, []float64{1, 2, 3, 4}},
	}
	for _, tt := range tests {
		if got := movingAverage(y, tt.window); !slices.Equal(got, tt.want) {
			t.Errorf("movingAverage(%v, %d) = %v, want %v", y, tt.window, got, tt.want)
		}
	}
}
