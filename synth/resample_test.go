package synth

import (
	"math"
	"testing"
)

// amplitude of frequency hz in x (rate), by correlation with sin and cos
// over the middle half (away from the edges' zero padding).
func amplitude(x []float32, rate int, hz float64) float64 {
	var s, c float64
	a, b := len(x)/4, 3*len(x)/4
	for i := a; i < b; i++ {
		w := 2 * math.Pi * hz * float64(i) / float64(rate)
		s += float64(x[i]) * math.Sin(w)
		c += float64(x[i]) * math.Cos(w)
	}
	return 2 * math.Hypot(s, c) / float64(b-a)
}

func tone(n, rate int, hz, amp float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
	}
	return x
}

func TestResample(t *testing.T) {
	for _, c := range []struct {
		from, to int
		hz       float64
		wantDB   float64 // gain of the tone, dB
		tolDB    float64
	}{
		// In the passband: kept within 0.1 dB.
		{8000, 16000, 1000, 0, 0.1},
		{16000, 8000, 1000, 0, 0.1},
		{8000, 44100, 440, 0, 0.1},
		{16000, 22050, 3000, 0, 0.1},
		// 6 kHz is above the 4 kHz Nyquist of the 8 kHz output: at least
		// 60 dB down (the Kaiser beta 8.6 window gives about 86 dB).
		{16000, 8000, 6000, -200, 140},
	} {
		x := tone(8000, c.from, c.hz, 0.5)
		y := resampleAll(x, c.from, c.to)
		if want := resampledLen(len(x), c.from, c.to); len(y) != want {
			t.Fatalf("resample %d -> %d: %d samples, want %d", c.from, c.to, len(y), want)
		}
		var db float64
		if c.hz < float64(c.to)/2 {
			db = 20 * math.Log10(amplitude(y, c.to, c.hz)/0.5)
		} else {
			// Aliased image: measure everything left, as RMS.
			var e float64
			for _, v := range y[len(y)/4 : 3*len(y)/4] {
				e += float64(v) * float64(v)
			}
			db = 10 * math.Log10(e/float64(len(y)/2)/(0.5*0.5/2))
		}
		if math.Abs(db-c.wantDB) > c.tolDB || (c.wantDB < -100 && db > -60) {
			t.Errorf("resample %d -> %d of %v Hz: gain %.3f dB, want %v +- %v", c.from, c.to, c.hz, db, c.wantDB, c.tolDB)
		}
	}
}

// TestResampleStreamingEqualsWhole pushes uneven chunks.
func TestResampleStreamingEqualsWhole(t *testing.T) {
	x := tone(5000, 8000, 700, 0.4)
	whole := resampleAll(x, 8000, 22050)
	r := newStreamResampler(8000, 22050)
	var got []float32
	for i, step := 0, 1; i < len(x); i, step = i+step, step*2+1 {
		got = append(got, r.push(x[i:min(i+step, len(x))])...)
	}
	got = append(got, r.flush()...)
	if len(got) != len(whole) {
		t.Fatalf("streamed %d samples, whole %d", len(got), len(whole))
	}
	for i := range got {
		if got[i] != whole[i] {
			t.Fatalf("sample %d: streamed %v, whole %v", i, got[i], whole[i])
		}
	}
}
