package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gemmRef64 is gemmRef in float64, the exact-enough answer every
// implementation is compared with.
func gemmRef64(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	out := make([]float64, len(c))
	for i := range c {
		out[i] = float64(c[i])
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				ai, bi := i*lda+p, p*ldb+j
				if transA {
					ai = p*lda + i
				}
				if transB {
					bi = j*ldb + p
				}
				s += float64(a[ai]) * float64(b[bi])
			}
			s *= float64(alpha)
			if beta != 0 {
				s += float64(beta) * float64(c[i*ldc+j])
			}
			out[i*ldc+j] = s
		}
	}
	return out
}

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	padA, padB     int // extra row stride beyond the stored width
	alpha, beta    float32
}

func (g gemmCase) String() string {
	return fmt.Sprintf("Gemm(tA=%v tB=%v m=%d n=%d k=%d padA=%d padB=%d alpha=%g beta=%g)",
		g.transA, g.transB, g.m, g.n, g.k, g.padA, g.padB, g.alpha, g.beta)
}

func runGemmCase(t *testing.T, im *impl, rng *rand.Rand, g gemmCase) {
	t.Helper()
	ar, ac := g.m, g.k
	if g.transA {
		ar, ac = g.k, g.m
	}
	br, bc := g.k, g.n
	if g.transB {
		br, bc = g.n, g.k
	}
	lda, ldb, ldc := ac+g.padA, bc+g.padB, max(1, g.n+rng.IntN(3))
	a := randSlice(rng, max(0, (ar-1)*lda+ac))
	b := randSlice(rng, max(0, (br-1)*ldb+bc))
	c := randSlice(rng, max(0, (g.m-1)*ldc+g.n)+rng.IntN(4))
	if g.beta == 0 {
		// beta == 0 must not read C: NaN there must not leak out.
		for i := range c {
			c[i] = float32(math.NaN())
		}
	}
	orig := append([]float32(nil), c...)
	want := gemmRef64(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, orig, ldc)
	im.gemm(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, c, ldc)
	limit := tol(g.k, float64(g.k)/2*math.Abs(float64(g.alpha))+math.Abs(float64(g.beta)))
	for i := 0; i < g.m; i++ {
		for j := 0; j < g.n; j++ {
			idx := i*ldc + j
			if d := math.Abs(float64(c[idx]) - want[idx]); !(d <= limit) {
				t.Fatalf("%v: C[%d,%d] = %g, want %g (tolerance %g)", g, i, j, c[idx], want[idx], limit)
			}
		}
	}
	// Elements of C outside the m x n window must be untouched.
	for idx := range c {
		if i, j := idx/ldc, idx%ldc; i < g.m && j < g.n {
			continue
		}
		if math.Float32bits(c[idx]) != math.Float32bits(orig[idx]) {
			t.Fatalf("%v: C[%d] outside the result changed: %g, was %g", g, idx, c[idx], orig[idx])
		}
	}
}

func TestGemm(t *testing.T) {
	var cases []gemmCase
	// The training shapes (with T cut to 100 rows to keep the float64
	// reference cheap; the blocking over T is exercised by the
	// long-reduction case below) in the three forms nn and wavenet use.
	for _, nk := range [][2]int{{32, 32}, {64, 32}, {32, 64}, {128, 32}, {256, 128}, {64, 256}} {
		n, k := nk[0], nk[1]
		cases = append(cases,
			gemmCase{false, true, 100, n, k, k, 0, 1, 0},  // conv forward, strided tap view
			gemmCase{false, true, 100, n, k, 0, k, 1, 1},  // accumulate the second tap, strided W
			gemmCase{false, false, 100, k, n, 0, k, 1, 1}, // data gradient
			gemmCase{true, false, n, k, 100, 0, 0, 1, 1},  // weight gradient
		)
	}
	// A reduction longer than gemmKC (several k blocks) and 2 row tiles.
	cases = append(cases, gemmCase{true, false, 32, 64, 700, 3, 5, 1, 1}, gemmCase{false, true, 24, 64, 513, 0, 0, 1, 0})
	// Tiny and degenerate shapes.
	for _, s := range [][3]int{{0, 0, 0}, {0, 3, 2}, {3, 0, 2}, {3, 2, 0}, {1, 1, 1}, {1, 1, 5}, {2, 3, 1}, {12, 32, 1}, {13, 33, 17}, {11, 31, 3}} {
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for _, ab := range [][2]float32{{1, 0}, {1, 1}, {-0.7, 0.5}, {0, 0.5}} {
				cases = append(cases, gemmCase{tr[0], tr[1], s[0], s[1], s[2], 1, 2, ab[0], ab[1]})
			}
		}
	}
	// Randomized shapes: every combination of transposes, strides, alpha
	// and beta.
	rng := rand.New(rand.NewPCG(7, 8))
	alphas := []float32{1, -0.7, 2}
	betas := []float32{0, 1, 0.5}
	for range 60 {
		cases = append(cases, gemmCase{rng.IntN(2) == 0, rng.IntN(2) == 0, 1 + rng.IntN(40), 1 + rng.IntN(80), 1 + rng.IntN(90),
			rng.IntN(3), rng.IntN(3), alphas[rng.IntN(3)], betas[rng.IntN(3)]})
	}
	forEachImpl(t, func(t *testing.T, im *impl) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, g := range cases {
			runGemmCase(t, im, rng, g)
		}
	})
}

// TestGemmExported checks the exported entry point on one shape (it only
// adds the shape check to the implementation tested above).
func TestGemmExported(t *testing.T) {
	a := []float32{1, 2, 3, 4}        // (2, 2)
	b := []float32{5, 6, 7, 8}        // (2, 2)
	c := []float32{1, 1, 1, 1}        // (2, 2)
	want := []float32{20, 23, 44, 51} // A B + C, worked by hand
	Gemm(false, false, 2, 2, 2, 1, a, 2, b, 2, 1, c, 2)
	for i := range want {
		if c[i] != want[i] {
			t.Errorf("Gemm(2x2)[%d] = %g, want %g", i, c[i], want[i])
		}
	}
}

func BenchmarkGemm(b *testing.B) {
	// T = 2047 + 4000 rows: one training segment of the small preset.
	const T = 6047
	type shape struct {
		name           string
		transA, transB bool
		m, n, k        int
	}
	var shapes []shape
	for _, nk := range [][2]int{{32, 32}, {64, 32}, {128, 32}, {32, 64}, {128, 128}, {256, 256}} {
		n, k := nk[0], nk[1]
		shapes = append(shapes,
			shape{fmt.Sprintf("NT/%dx%dx%d", T, n, k), false, true, T, n, k},
			shape{fmt.Sprintf("NN/%dx%dx%d", T, k, n), false, false, T, k, n},
			shape{fmt.Sprintf("TN/%dx%dx%d", n, k, T), true, false, n, k, T},
		)
	}
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(11, 12))
			a := randSlice(rng, s.m*s.k)
			bb := randSlice(rng, s.k*s.n)
			c := make([]float32, s.m*s.n)
			lda, ldb := s.k, s.n
			if s.transA {
				lda = s.m
			}
			if s.transB {
				ldb = s.k
			}
			benchImpls(b, func(b *testing.B, im *impl) {
				b.ReportAllocs()
				for b.Loop() {
					im.gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 1, c, s.n)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		})
	}
}

// TestGemmConcurrent runs Gemm from several goroutines at once (the
// training workers do): the pooled packing buffers must not be shared.
func TestGemmConcurrent(t *testing.T) {
	const workers, m, n, k = 4, 50, 70, 300 // k > gemmKC: two packed blocks
	rng := rand.New(rand.NewPCG(29, 30))
	a, b := randSlice(rng, m*k), randSlice(rng, n*k)
	want := make([]float32, m*n)
	gemmRef(false, true, m, n, k, 1, a, k, b, k, 0, want, n)
	errs := make(chan string, workers)
	for range workers {
		go func() {
			c := make([]float32, m*n)
			for range 20 {
				Gemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
				for i := range c {
					if d := math.Abs(float64(c[i] - want[i])); d > tol(k, k/2) {
						errs <- fmt.Sprintf("concurrent Gemm: C[%d] = %g, want %g", i, c[i], want[i])
						return
					}
				}
			}
			errs <- ""
		}()
	}
	for range workers {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}
