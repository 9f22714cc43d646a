package classify

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

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
