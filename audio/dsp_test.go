package audio

import (
	"math"
	"testing"
)

func TestTrim(t *testing.T) {
	const rate = 8000
	x := make([]float32, 3*rate) // 1 s silence, 1 s tone, 1 s silence
	copy(x[rate:], tone(rate, rate, 440, 0.3))
	// A quiet hum at -60 dBFS stays below a -40 dB threshold.
	for i := range x {
		x[i] += 0.001 * float32(math.Sin(float64(i)))
	}
	start, end := Trim(x, rate, -40, 25)
	frame := rate * 25 / 1000
	if start < rate-frame || start > rate || end < 2*rate || end > 2*rate+frame {
		t.Errorf("Trim(silence+tone+silence) = [%d, %d), want within one %d-sample frame outside [%d, %d)", start, end, frame, rate, 2*rate)
	}
	if s, e := Trim(make([]float32, 1000), rate, -40, 25); s != e {
		t.Errorf("Trim(silence) = [%d, %d), want an empty range", s, e)
	}
	if s, e := Trim(nil, rate, -40, 25); s != 0 || e != 0 {
		t.Errorf("Trim(nil) = [%d, %d), want [0, 0)", s, e)
	}
	// A whole-tone clip keeps everything, including a short last frame.
	y := tone(1003, rate, 440, 0.5) // 1003: the last 3-sample frame is not at a zero crossing
	if s, e := Trim(y, rate, -40, 25); s != 0 || e != len(y) {
		t.Errorf("Trim(tone) = [%d, %d), want [0, %d)", s, e, len(y))
	}
}

func TestLevels(t *testing.T) {
	x := []float32{0.5, -0.25, 0.1}
	if p := Peak(x); p != 0.5 {
		t.Errorf("Peak(%v) = %g, want 0.5", x, p)
	}
	g := Normalize(x, -6)
	// -6 dBFS is 10^(-6/20) = 0.501187.
	if p := Peak(x); math.Abs(float64(p)-0.501187) > 1e-5 || math.Abs(g-1.002374) > 1e-5 {
		t.Errorf("Normalize(-6 dB): peak %g, gain %g, want 0.501187, 1.002374", p, g)
	}
	if g := Normalize(make([]float32, 3), 0); g != 1 {
		t.Errorf("Normalize(silence) gain = %g, want 1", g)
	}
	y := []float32{1.5, 0.5, 1}
	if m := RemoveDC(y); m != 1 || y[0] != 0.5 || y[1] != -0.5 || y[2] != 0 {
		t.Errorf("RemoveDC([1.5 0.5 1]) = %g, %v; want 1, [0.5 -0.5 0]", m, y)
	}
	// A full-scale sine has RMS 1/sqrt(2): -3.01 dBFS.
	if db := RMSdB(tone(8000, 8000, 1000, 1)); math.Abs(db+3.0103) > 0.01 {
		t.Errorf("RMSdB(full-scale sine) = %.4f, want -3.0103", db)
	}
	c := []float32{32767.0 / 32768, -1, 0.99, 0}
	if n := Clipped(c, 16); n != 2 {
		t.Errorf("Clipped(%v, 16) = %d, want 2", c, n)
	}
	if n := Clipped([]float32{1, 1.2, 0.999}, 0); n != 2 {
		t.Errorf("Clipped(float) = %d, want 2", n)
	}
}

func TestSilentFrames(t *testing.T) {
	const rate = 8000
	x := make([]float32, 4*rate) // 3 s silence, then 1 s tone
	copy(x[3*rate:], tone(rate, rate, 440, 0.3))
	s, n := SilentFrames(x, rate, -40, 20)
	// 20 ms frames: 200 in 4 s, the first 150 silent.
	if s != 150 || n != 200 {
		t.Errorf("SilentFrames(3 s silence + 1 s tone) = %d, %d; want 150, 200", s, n)
	}
}

func TestLoudestFrameDB(t *testing.T) {
	x := make([]float32, 8000)
	copy(x[4000:], tone(800, 8000, 1000, 0.1))
	// A sine of amplitude 0.1 has RMS 0.1/sqrt(2): -23.01 dBFS; 20 ms frames
	// of 160 samples hold whole 1 kHz periods (8 samples), so exactly that.
	if db := LoudestFrameDB(x, 8000, 20); math.Abs(db+23.0103) > 0.01 {
		t.Errorf("LoudestFrameDB(0.1 sine) = %.4f, want -23.0103", db)
	}
	if db := LoudestFrameDB(make([]float32, 10), 8000, 20); !math.IsInf(db, -1) {
		t.Errorf("LoudestFrameDB(silence) = %g, want -Inf", db)
	}
}
