package audio

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// voiced returns n samples at rate of a harmonic tone on f0 whose k-th
// harmonic has amplitude tilt^k, plus white noise of the given amplitude
// from seed: a crude vowel whose spectral envelope tilt sets.
func voiced(n, rate int, f0, tilt, noise float64, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n)
	for i := range x {
		t := float64(i) / float64(rate)
		v := 0.0
		a := 0.3
		for k := 1; float64(k)*f0 < float64(rate)/2; k++ {
			v += a * math.Sin(2*math.Pi*float64(k)*f0*t)
			a *= tilt
		}
		x[i] = float32(v + noise*r.NormFloat64())
	}
	return x
}

// envelopeRMS is the plain reference: for each frame pair it rebuilds both
// smoothed log mel envelopes from c_1..c_D, ln E_f = 2 sum_d (c_d/F)
// cos(pi d (f+1/2)/F) (c_0 left out), and takes the RMS over the F bands of
// their difference in dB (10 log10 = 10/ln 10 * ln). By Parseval this is
// the MCD formula; it does not share MCD's arithmetic.
func envelopeRMS(t *testing.T, ref, x []float32, rate, coeffs, filters int) float64 {
	t.Helper()
	m, err := NewMFCC(MFCCConfig{SampleRate: rate, Coeffs: coeffs, Filters: filters})
	if err != nil {
		t.Fatal(err)
	}
	a, b := m.Frames(ref), m.Frames(x)
	n := min(len(a), len(b))
	total := 0.0
	for i := range n {
		ss := 0.0
		for f := range filters {
			env := 0.0
			for d := 1; d < coeffs; d++ {
				env += 2 * (a[i][d] - b[i][d]) / float64(filters) * math.Cos(math.Pi*float64(d)*(float64(f)+0.5)/float64(filters))
			}
			db := 10 / math.Ln10 * env
			ss += db * db
		}
		total += math.Sqrt(ss / float64(filters))
	}
	return total / float64(n)
}

func TestMCDAgainstEnvelopes(t *testing.T) {
	const rate, n = 8000, 4000 // 0.5 s: 48 frames of 25 ms every 10 ms
	ref := voiced(n, rate, 120, 0.8, 0.01, 1)
	for _, tc := range []struct {
		name            string
		x               []float32
		coeffs, filters int
	}{
		{"tilt 13 of 26", voiced(n, rate, 120, 0.6, 0.01, 2), 13, 26},
		{"pitch 25 of 40", voiced(n, rate, 150, 0.8, 0.02, 3), 25, 40},
		// Coeffs == Filters: all the log mel spectrum but its mean.
		{"all 26 of 26", voiced(n, rate, 100, 0.9, 0.05, 4), 26, 26},
	} {
		got, err := MCD(ref, rate, tc.x, rate, MCDConfig{Coeffs: tc.coeffs, Filters: tc.filters})
		if err != nil {
			t.Fatalf("%s: MCD: %v", tc.name, err)
		}
		want := envelopeRMS(t, ref, tc.x, rate, tc.coeffs, tc.filters)
		// 1e-9 relative: float64 sums of a few thousand terms agree far
		// closer than that.
		if math.Abs(got.DB-want) > 1e-9*want || got.Frames != 48 {
			t.Errorf("%s: MCD = %.12g dB over %d frames, want %.12g dB (envelope RMS) over 48", tc.name, got.DB, got.Frames, want)
		}
		if got.DB < 0.5 {
			t.Errorf("%s: MCD = %g dB, want a clear distortion between different tones", tc.name, got.DB)
		}
	}
}

func TestMCDProperties(t *testing.T) {
	const rate, n = 8000, 4000
	x := voiced(n, rate, 120, 0.8, 0.01, 1)
	y := voiced(n+500, rate, 130, 0.7, 0.02, 2) // longer: the extra frames are dropped
	for _, dtw := range []bool{false, true} {
		cfg := MCDConfig{DTW: dtw}
		self, err := MCD(x, rate, x, rate, cfg)
		if err != nil || self.DB != 0 {
			t.Errorf("MCD(x, x) dtw=%v = %v, %v, want exactly 0", dtw, self, err)
		}
		xy, err1 := MCD(x, rate, y, rate, cfg)
		yx, err2 := MCD(y, rate, x, rate, cfg)
		// Symmetric up to the order of float64 additions.
		if err1 != nil || err2 != nil || math.Abs(xy.DB-yx.DB) > 1e-12*xy.DB || xy.Frames != yx.Frames {
			t.Errorf("dtw=%v: MCD(x, y) = %v (%v), MCD(y, x) = %v (%v), want equal", dtw, xy, err1, yx, err2)
		}
	}
	// Noise added to x: the distortion grows with its level.
	prev := 0.0
	for _, level := range []float64{0.001, 0.01, 0.05, 0.2} {
		noisy := voiced(n, rate, 120, 0.8, 0.01, 1)
		r := rand.New(rand.NewPCG(7, 7))
		for i := range noisy {
			noisy[i] += float32(level * r.NormFloat64())
		}
		got, err := MCD(x, rate, noisy, rate, MCDConfig{})
		if err != nil || got.DB <= prev {
			t.Errorf("MCD with noise %g = %v, %v, want more than %g dB (the lower level's)", level, got, err, prev)
		}
		prev = got.DB
	}
}

func TestMCDRateAndDTW(t *testing.T) {
	const rate = 8000
	x := voiced(4000, rate, 120, 0.8, 0, 1)
	// The same tone made at 16 kHz is resampled to 8 kHz: small (0.43 dB
	// measured, from the resampler's transition band under 4 kHz, where
	// the harmonics are 70 dB down). The bound 1 dB is under half the 2.9
	// dB of the shifted tone below.
	hi := voiced(8000, 2*rate, 120, 0.8, 0, 1)
	got, err := MCD(x, rate, hi, 2*rate, MCDConfig{})
	if err != nil || got.DB > 1 || got.Frames != 48 {
		t.Errorf("MCD(8 kHz, same tone at 16 kHz) = %v, %v, want under 1 dB over 48 frames", got, err)
	}
	// x between silences, once 150 ms later: time alignment compares
	// tone with silence around both onsets (2.9 dB measured), DTW realigns
	// them (0 dB measured: every frame finds its exact twin).
	pad := func(before, after int) []float32 {
		y := append(make([]float32, before), x...)
		return append(y, make([]float32, after)...)
	}
	onset, delayed := pad(1200, 2400), pad(2400, 1200)
	plain, err1 := MCD(onset, rate, delayed, rate, MCDConfig{})
	warped, err2 := MCD(onset, rate, delayed, rate, MCDConfig{DTW: true})
	if err1 != nil || err2 != nil || warped.DB >= plain.DB/2 {
		t.Errorf("MCD of a 150 ms shift: plain %v (%v), DTW %v (%v), want DTW under half of plain", plain, err1, warped, err2)
	}
}

func TestMCDErrors(t *testing.T) {
	x := voiced(4000, 8000, 120, 0.8, 0, 1)
	for _, tc := range []struct {
		name    string
		ref, x  []float32
		rate    int
		cfg     MCDConfig
		wantErr string
	}{
		{"short", x, x[:100], 8000, MCDConfig{}, "want at least one 200-sample frame"},
		{"empty ref", nil, x, 8000, MCDConfig{}, "want at least one"},
		{"one coefficient", x, x, 8000, MCDConfig{Coeffs: 1}, "c_0 is excluded"},
		{"too many", x, x, 8000, MCDConfig{Coeffs: 30, Filters: 26}, "audio: mcd: audio: mfcc"},
		{"rate", x, x, 0, MCDConfig{}, "audio: mcd:"},
	} {
		_, err := MCD(tc.ref, 8000, tc.x, tc.rate, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: MCD = %v, want an error containing %q", tc.name, err, tc.wantErr)
		}
	}
}
