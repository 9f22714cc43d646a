package classify

import (
	"context"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

// TestMFCCAgainstNaiveDFT recomputes one frame's MFCCs with a plain DFT.
func TestMFCCAgainstNaiveDFT(t *testing.T) {
	const rate = 8000
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, 1000)
	for i := range x {
		x[i] = float32(0.3*math.Sin(2*math.Pi*440*float64(i)/rate) + 0.05*rng.NormFloat64())
	}
	m := NewMFCC(rate, 13, 26)
	frames := m.Frames(x)
	// (1000 - 200) / 80 + 1 = 11 frames of 200 samples every 80.
	if len(frames) != 11 {
		t.Fatalf("Frames: %d frames, want 11", len(frames))
	}
	start := 3 * m.hop
	buf := make([]complex128, m.nfft)
	for i := 0; i < m.frame; i++ {
		v := float64(x[start+i]) - 0.97*float64(x[start+i-1])
		buf[i] = complex(v*m.window[i], 0)
	}
	power := make([]float64, m.nfft/2+1)
	for k := range power {
		var s complex128
		for n, v := range buf {
			s += v * cmplx.Exp(complex(0, -2*math.Pi*float64(k*n)/float64(m.nfft)))
		}
		power[k] = real(s)*real(s) + imag(s)*imag(s)
	}
	logE := make([]float64, 26)
	for f := range logE {
		e := 0.0
		for b, w := range m.bank[f] {
			e += w * power[b]
		}
		logE[f] = math.Log(e + 1e-10)
	}
	for k := 0; k < 13; k++ {
		want := 0.0
		for f, v := range logE {
			want += v * math.Cos(math.Pi*float64(k)*(float64(f)+0.5)/26)
		}
		if got := frames[3][k]; math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("MFCC frame 3 coeff %d = %v, naive DFT gives %v", k, got, want)
		}
	}
}

// synth makes an utterance whose "digit" is a pair of formant-like tones
// and whose "speaker" is a pitch with harmonics.
func synth(rng *rand.Rand, digit, speaker int) []float32 {
	const rate = 8000
	n := 3000 + rng.IntN(1000)
	x := make([]float32, n)
	f1, f2 := 300+120*float64(digit), 2200-150*float64(digit)
	pitch := 90 + 40*float64(speaker)
	ph := rng.Float64() * 6
	for i := range x {
		tt := float64(i) / rate
		half := 1.0
		if i > n/2 {
			half = 0.4
		}
		v := 0.2*math.Sin(2*math.Pi*f1*tt+ph) + 0.1*half*math.Sin(2*math.Pi*f2*tt)
		for h := 1; h <= 4; h++ {
			v += 0.05 / float64(h) * math.Sin(2*math.Pi*pitch*float64(h)*tt)
		}
		x[i] = float32(v + 0.01*rng.NormFloat64())
	}
	return x
}

func TestClassifierLearnsSyntheticDigitsAndSpeakers(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	var train, test []Example
	for d := 0; d < 4; d++ {
		for s := 0; s < 3; s++ {
			for i := 0; i < 12; i++ {
				e := Example{Samples: synth(rng, d, s), Rate: 8000, Digit: string(rune('0' + d)), Speaker: string(rune('a' + s))}
				if i < 9 {
					train = append(train, e)
				} else {
					test = append(test, e)
				}
			}
		}
	}
	c, err := Train(context.Background(), train)
	if err != nil {
		t.Fatal(err)
	}
	okD, okS := 0, 0
	for _, e := range test {
		p, err := c.Predict(e.Samples)
		if err != nil {
			t.Fatal(err)
		}
		if p.Digit == e.Digit {
			okD++
		}
		if p.Speaker == e.Speaker {
			okS++
		}
	}
	// The classes are far apart in frequency: every held-out example is
	// recognised.
	if okD != len(test) || okS != len(test) {
		t.Errorf("held-out accuracy: digit %d/%d, speaker %d/%d, want all", okD, len(test), okS, len(test))
	}
	if _, err := c.Predict(make([]float32, 100)); err == nil {
		t.Error("Predict on 100 samples: want a too-short error")
	}
}

func TestFeaturesIgnoreLevel(t *testing.T) {
	x := synth(rand.New(rand.NewPCG(9, 9)), 2, 1)
	quiet := make([]float32, len(x))
	for i, v := range x {
		quiet[i] = v * 0.05 // 26 dB quieter
	}
	a, err := Features(x, 8000)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Features(quiet, 8000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		// Peak normalisation makes both inputs identical up to float32
		// rounding of the gain.
		if math.Abs(a[i]-b[i]) > 1e-3*math.Max(1, math.Abs(a[i])) {
			t.Errorf("feature %d: %v at full level, %v 26 dB down", i, a[i], b[i])
		}
	}
}
