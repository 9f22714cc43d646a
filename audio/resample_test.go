package audio

import (
	"fmt"
	"math"
	"testing"
)

func tone(n, rate int, freq, amp float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return x
}

// fitTone least-squares fits a*sin + b*cos at freq to x and returns the
// amplitude sqrt(a^2+b^2) and the RMS of what the fit leaves over.
func fitTone(x []float32, rate int, freq float64) (amp, residual float64) {
	var ss, cc, sc, xs, xc float64
	for i, v := range x {
		w := 2 * math.Pi * freq * float64(i) / float64(rate)
		s, c := math.Sin(w), math.Cos(w)
		ss += s * s
		cc += c * c
		sc += s * c
		xs += float64(v) * s
		xc += float64(v) * c
	}
	det := ss*cc - sc*sc
	a := (xs*cc - xc*sc) / det
	b := (xc*ss - xs*sc) / det
	var r float64
	for i, v := range x {
		w := 2 * math.Pi * freq * float64(i) / float64(rate)
		d := float64(v) - a*math.Sin(w) - b*math.Cos(w)
		r += d * d
	}
	return math.Hypot(a, b), math.Sqrt(r / float64(len(x)))
}

func rms(x []float32) float64 { return math.Sqrt(meanSquare(x)) }

// middle drops the first and last quarter: the filter sees zeros beyond
// the ends, so edge samples are not steady state.
func middle(x []float32) []float32 { return x[len(x)/4 : len(x)-len(x)/4] }

func TestResampleKeepsTone(t *testing.T) {
	// 8000 -> 8001 has 8001 phases, more than maxPhases: rounded phases.
	// 96000 -> 1000 (ratio 96, 6400-tap filter) has coarser phases still.
	pairs := [][2]int{{8000, 16000}, {16000, 8000}, {44100, 16000}, {48000, 8000}, {22050, 16000}, {16000, 44100}, {11025, 8000}, {8000, 8001}, {44100, 44099}, {96000, 2999}}
	for _, p := range pairs {
		from, to := p[0], p[1]
		t.Run(fmt.Sprintf("%d-%d", from, to), func(t *testing.T) {
			const amp = 0.5
			x := tone(from, from, 1000, amp) // 1 s
			y, err := Resample(nil, x, from, to)
			if err != nil {
				t.Fatal(err)
			}
			if want := (from*to + from - 1) / from; len(y) != want {
				t.Errorf("Resample(%d samples, %d->%d) = %d samples, want %d", len(x), from, to, len(y), want)
			}
			a, res := fitTone(middle(y), to, 1000)
			// 0.1 dB is the amplitude tolerance.
			if db := 20 * math.Log10(a/amp); math.Abs(db) > 0.1 {
				t.Errorf("Resample(1 kHz, %d->%d): amplitude %.5f, %+.4f dB, want within 0.1 dB of %g", from, to, a, db, amp)
			}
			// A tone at another frequency (or noise) would not fit: the
			// residual after the 1 kHz fit must be 60 dB below the tone.
			if db := 20 * math.Log10(res/(amp/math.Sqrt2)); db > -60 {
				t.Errorf("Resample(1 kHz, %d->%d): residual after a 1 kHz fit at %.1f dB, want <= -60 dB", from, to, db)
			}
		})
	}
}

func TestResampleAttenuatesAboveNyquist(t *testing.T) {
	tests := []struct {
		from, to int
		freq     float64
	}{
		{16000, 8000, 4100},   // just above the new Nyquist (4 kHz)
		{16000, 8000, 6000},   // would alias to 2 kHz
		{48000, 8000, 5000},   // would alias to 3 kHz
		{48000, 8000, 11000},  // would alias to 3 kHz
		{44100, 16000, 8500},  // just above 8 kHz
		{44100, 16000, 15000}, // would alias to 1 kHz
		{22050, 16000, 9000},
	}
	for _, tt := range tests {
		x := tone(tt.from, tt.from, tt.freq, 0.5)
		y, err := Resample(nil, x, tt.from, tt.to)
		if err != nil {
			t.Fatal(err)
		}
		// 60 dB is the requirement.
		db := 20 * math.Log10(rms(middle(y))/rms(middle(x)))
		if db > -60 {
			t.Errorf("Resample(%g Hz tone, %d->%d): %.1f dB, want <= -60 dB", tt.freq, tt.from, tt.to, db)
		}
	}
}

func TestResampleEdges(t *testing.T) {
	// Equal rates copy; empty input gives empty output.
	x := []float32{1, 2, 3}
	if y, _ := Resample(nil, x, 8000, 8000); len(y) != 3 || y[2] != 3 {
		t.Errorf("Resample(%v, 8000->8000) = %v, want a copy", x, y)
	}
	if y, _ := Resample(nil, nil, 8000, 16000); len(y) != 0 {
		t.Errorf("Resample(nil, 8000->16000) = %v, want empty", y)
	}
	// A short input shorter than the filter still works (edge path only).
	if y, _ := Resample(nil, x, 8000, 16000); len(y) != 6 {
		t.Errorf("Resample(%v, 8000->16000) = %d samples, want 6", x, len(y))
	}
	for _, r := range [][2]int{{0, 8000}, {8000, -1}, {8000, 8000 * 257}, {1 << 25, 8000}} {
		if _, err := Resample(nil, x, r[0], r[1]); err == nil {
			t.Errorf("Resample(_, %d->%d) = nil error, want one", r[0], r[1])
		}
	}
	// DC passes with unit gain (every phase is normalised).
	dc := make([]float32, 4000)
	for i := range dc {
		dc[i] = 0.25
	}
	y, _ := Resample(nil, dc, 44100, 16000)
	for _, v := range middle(y) {
		if math.Abs(float64(v)-0.25) > 1e-5 {
			t.Fatalf("Resample(DC 0.25, 44100->16000) = %g in the middle, want 0.25 +- 1e-5", v)
		}
	}
	// The cache of filters stays bounded whatever rates come in.
	for i := 1; i <= 2*maxCached; i++ {
		if _, err := Resample(nil, x, 1000*i, 1000*(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if n := cached.Load(); n > maxCached {
		t.Errorf("%d resamplers cached, want at most %d", n, maxCached)
	}
	r, _ := NewResampler(8000, 16000)
	dst := make([]float32, 0, 2*len(dc))
	if n := testing.AllocsPerRun(5, func() { r.Resample(dst, dc) }); n != 0 {
		t.Errorf("Resampler.Resample with capacity allocates %v times, want 0", n)
	}
}

func BenchmarkResample(b *testing.B) {
	for _, p := range [][2]int{{8000, 16000}, {16000, 8000}, {44100, 16000}, {48000, 8000}} {
		x := tone(p[0], p[0], 440, 0.5) // 1 s
		r, err := NewResampler(p[0], p[1])
		if err != nil {
			b.Fatal(err)
		}
		dst := make([]float32, r.OutputLen(len(x)))
		b.Run(fmt.Sprintf("%d-%d", p[0], p[1]), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Resample(dst, x)
			}
			// Input samples per second.
			b.ReportMetric(float64(len(x)*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
