package audio

import (
	"math"
	"testing"
)

// zeroCrossingHz estimates the frequency of a tone from its rising zero
// crossings over x[lo:hi].
func zeroCrossingHz(x []float32, rate, lo, hi int) float64 {
	first, last, n := -1, -1, 0
	for i := lo + 1; i < hi; i++ {
		if x[i-1] < 0 && x[i] >= 0 {
			if first < 0 {
				first = i
			} else {
				n++
			}
			last = i
		}
	}
	if n == 0 {
		return 0
	}
	return float64(n) * float64(rate) / float64(last-first)
}

// TestTimeStretch: a 220 Hz tone (and one with a harmonic) at 8 and 24 kHz
// stretched to every speed in range keeps its pitch (zero-crossing
// frequency within 1% over the middle of the output, where resampling
// would have moved it by the speed factor) and its level (RMS within 5%),
// and lasts round(len/speed) samples.
func TestTimeStretch(t *testing.T) {
	for _, rate := range []int{8000, 24000} {
		x := make([]float32, rate) // 1 s
		for i := range x {
			ph := 2 * math.Pi * 220 * float64(i) / float64(rate)
			x[i] = float32(0.5*math.Sin(ph) + 0.1*math.Sin(2*ph))
		}
		for _, speed := range []float64{0.25, 0.5, 0.8, 1, 1.25, 2, 3.3, 4} {
			y, err := TimeStretch(x, rate, speed)
			if err != nil {
				t.Fatalf("rate %d speed %v: %v", rate, speed, err)
			}
			if want := int(math.Round(float64(len(x)) / speed)); len(y) != want {
				t.Errorf("rate %d speed %v: %d samples, want %d", rate, speed, len(y), want)
				continue
			}
			mid := middle(y)
			if f := zeroCrossingHz(y, rate, len(y)/4, 3*len(y)/4); math.Abs(f-220) > 2.2 {
				t.Errorf("rate %d speed %v: pitch %.2f Hz, want 220 +- 1%%", rate, speed, f)
			}
			if r, r0 := rms(mid), rms(x); math.Abs(r-r0) > 0.05*r0 {
				t.Errorf("rate %d speed %v: RMS %.4f, want %.4f +- 5%%", rate, speed, r, r0)
			}
		}
	}
	for _, bad := range []struct {
		speed float64
		rate  int
	}{{0.2, 8000}, {4.5, 8000}, {math.NaN(), 8000}, {1.5, 0}} {
		if _, err := TimeStretch(make([]float32, 100), bad.rate, bad.speed); err == nil {
			t.Errorf("TimeStretch(speed %v, rate %d): no error", bad.speed, bad.rate)
		}
	}
	if y, err := TimeStretch(nil, 8000, 2); err != nil || len(y) != 0 {
		t.Errorf("TimeStretch(empty) = %d samples, %v; want none, no error", len(y), err)
	}
}
