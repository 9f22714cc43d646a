package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
)

func TestTanh32(t *testing.T) {
	// Every 1/1024 from -10 to 10, plus the clamp edges and tiny inputs:
	// 1e-6 absolute is ~16 float32 ulp at 1 (float32 spacing below 1 is
	// 6e-8): the rational approximation evaluated in float32 reaches ~5 ulp
	// near |x| = 6, the clamp at ±7.905 costs 2e-7.
	for i := -10240; i <= 10240; i++ {
		x := float32(i) / 1024
		for _, v := range []float32{x, x * 1e-4} {
			got, want := Tanh32(v), math.Tanh(float64(v))
			if d := math.Abs(float64(got) - want); d > 1e-6 {
				t.Fatalf("Tanh32(%g) = %g, want %g", v, got, want)
			}
		}
	}
	for _, x := range []float32{float32(math.Inf(1)), 1e30, -1e30} {
		if got := Tanh32(x); math.Abs(float64(got)) > 1 {
			t.Errorf("Tanh32(%g) = %g, want within [-1, 1]", x, got)
		}
	}
}

func TestSigmoid32(t *testing.T) {
	for i := -2000; i <= 2000; i++ {
		x := float32(i) / 100
		got, want := Sigmoid32(x), 1/(1+math.Exp(-float64(x)))
		if d := math.Abs(float64(got) - want); d > 1e-6 {
			t.Fatalf("Sigmoid32(%g) = %g, want %g", x, got, want)
		}
	}
}

func gatedRef(h []float64, d int) []float64 {
	n := len(h) / (2 * d)
	z := make([]float64, n*d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			z[i*d+j] = math.Tanh(h[i*2*d+j]) / (1 + math.Exp(-h[i*2*d+d+j]))
		}
	}
	return z
}

func TestGated(t *testing.T) {
	for _, tc := range []struct{ n, d int }{{1, 1}, {5, 3}, {7, 8}} {
		rng := rand.New(rand.NewPCG(2, uint64(tc.n)))
		ins := []opInput{randInput(rng, "h", tc.n, 2*tc.d)}
		build := func(n []*gorgonia.Node) (*gorgonia.Node, error) { return Gated(n[0]) }
		ref := func(in [][]float64) []float64 { return gatedRef(in[0], tc.d) }
		// Tanh32 and Sigmoid32 are within 2e-7 of the exact functions.
		checkOp(t, ins, build, ref, 1e-6, 1e-3)
	}
}

func TestGatedPlanar(t *testing.T) {
	for _, tc := range []struct{ n, d int }{{1, 1}, {5, 3}, {7, 8}} {
		rng := rand.New(rand.NewPCG(3, uint64(tc.n)))
		ins := []opInput{randInput(rng, "h", tc.n, 2*tc.d)}
		build := func(n []*gorgonia.Node) (*gorgonia.Node, error) { return GatedPlanar(n[0]) }
		ref := func(in [][]float64) []float64 {
			// The planar h is the interleaved one's columns regrouped.
			inter := make([]float64, len(in[0]))
			m := tc.n * tc.d
			for r := 0; r < tc.n; r++ {
				for j := 0; j < tc.d; j++ {
					inter[r*2*tc.d+j] = in[0][r*tc.d+j]
					inter[r*2*tc.d+tc.d+j] = in[0][m+r*tc.d+j]
				}
			}
			return gatedRef(inter, tc.d)
		}
		checkOp(t, ins, build, ref, 1e-6, 1e-3)
	}
}

func BenchmarkGatedForward(b *testing.B) {
	// One `small` layer on a 6047-sample segment: (6047, 64) -> (6047, 32).
	const n, d = 6047, 32
	h, z := make([]float32, n*2*d), make([]float32, n*d)
	for i := range h {
		h[i] = float32(i%17) / 4
	}
	b.ReportAllocs()
	for b.Loop() {
		GatedForward(z, h, d)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "samples/s")
}
