package listeningtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
)

// WriteDigitCorpus writes an FSDD-like directory for the classifier:
// speakers alice and bob (the test model's), digits 0-9, indices 0-2 and
// 10-11 for training and 5 for validation (FSDD's 5-9), 0.4 s each. A digit is a pair of tones
// whose frequencies depend on it, a speaker a pitch with harmonics (the
// recipe of classify's own tests), so the classes are far apart.
func WriteDigitCorpus(t testing.TB, dir string) {
	t.Helper()
	const rate = 8000
	rng := rand.New(rand.NewPCG(3, 3))
	for s, sp := range []string{"alice", "bob"} {
		for d := 0; d < 10; d++ {
			for _, i := range []int{0, 1, 2, 5, 10, 11} {
				x := make([]float32, 3200)
				f1, f2 := 300+120*float64(d), 2200-150*float64(d)
				pitch := 90 + 60*float64(s)
				for n := range x {
					tt := float64(n) / rate
					v := 0.2*math.Sin(2*math.Pi*f1*tt) + 0.1*math.Sin(2*math.Pi*f2*tt)
					for h := 1; h <= 4; h++ {
						v += 0.05 / float64(h) * math.Sin(2*math.Pi*pitch*float64(h)*tt)
					}
					x[n] = float32(v + 0.01*rng.NormFloat64())
				}
				f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%d_%s_%d.wav", d, sp, i)))
				if err != nil {
					t.Fatal(err)
				}
				if err := audio.Encode(f, x, rate, audio.PCM16); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
		}
	}
}
