package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// forEachImpl runs f once per implementation this CPU supports, so the
// AVX-512, AVX2 and Go paths are all checked on a machine that has them.
func forEachImpl(t *testing.T, f func(t *testing.T, im *impl)) {
	t.Helper()
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) { f(t, im) })
	}
}

// randSlice returns n values uniform in [-1, 1).
func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*rng.Float32() - 1
	}
	return s
}

// tol is the accepted error of a float32 sum of k products of values in
// [-1, 1]: rounding errors of a k-term sum grow like sqrt(k) ulps for
// random data; 1e-5*sqrt(k) relative to the magnitude sum, with a floor for
// k <= 1, leaves room for any summation order.
func tol(k int, mag float64) float64 {
	return 1e-5 * math.Sqrt(float64(max(k, 1))) * max(mag, 1)
}

func TestImpl(t *testing.T) {
	if len(impls) == 0 || impls[len(impls)-1] != goImpl {
		t.Fatalf("impls does not end with the Go fallback: %v", impls)
	}
	if Impl() != impls[0].name {
		t.Errorf("Impl() = %q, want %q", Impl(), impls[0].name)
	}
	t.Logf("implementations on this CPU: %d, in use: %s", len(impls), Impl())
}

func TestMatVecAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type shape struct{ rows, cols int }
	// The hot shapes of the small and ibab presets, then edge cases: sizes
	// that are not multiples of 8 or 16, single rows and columns, zero.
	shapes := []shape{{64, 64}, {32, 32}, {128, 32}, {512, 32}, {128, 128}, {256, 128}, {512, 512}, {256, 512},
		{0, 0}, {0, 5}, {5, 0}, {1, 1}, {1, 17}, {17, 1}, {15, 15}, {16, 16}, {17, 33}, {33, 7}, {31, 100}, {8, 9}, {24, 250}}
	for range 20 {
		shapes = append(shapes, shape{rng.IntN(70), 1 + rng.IntN(300)})
	}
	forEachImpl(t, func(t *testing.T, im *impl) {
		for _, sh := range shapes {
			for _, nb := range []int{1, 3, 4, 9} {
				ldx, ldy := sh.cols+rng.IntN(3), sh.rows+rng.IntN(3)
				w := randSlice(rng, sh.rows*sh.cols)
				x := randSlice(rng, max(0, (nb-1)*ldx+sh.cols))
				y := randSlice(rng, max(0, (nb-1)*ldy+sh.rows))
				want := append([]float32(nil), y...)
				for s := 0; s < nb; s++ {
					matVecAddRef(want[s*ldy:], w, x[s*ldx:], sh.rows, sh.cols)
				}
				got := append([]float32(nil), y...)
				im.matVec(got, w, x, sh.rows, sh.cols, nb, ldx, ldy)
				for i := range got {
					if d := math.Abs(float64(got[i] - want[i])); d > tol(sh.cols, float64(sh.cols)/2) || math.IsNaN(d) {
						t.Errorf("matVec(%dx%d, nb=%d)[%d] = %g, want %g", sh.rows, sh.cols, nb, i, got[i], want[i])
						break
					}
				}
			}
		}
	})
}

func TestDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	forEachImpl(t, func(t *testing.T, im *impl) {
		for n := 0; n < 300; n++ {
			x, y := randSlice(rng, n), randSlice(rng, n+rng.IntN(2))
			var want float64
			for i := range x {
				want += float64(x[i]) * float64(y[i])
			}
			if got := im.dot(x, y); math.Abs(float64(got)-want) > tol(n, float64(n)/2) {
				t.Errorf("dot(n=%d) = %g, want %g", n, got, want)
			}
		}
	})
}

func TestPanics(t *testing.T) {
	cases := []struct {
		name string
		f    func()
	}{
		{"MatVecAdd short w", func() { MatVecAdd(make([]float32, 2), make([]float32, 3), make([]float32, 2), 2, 2) }},
		{"MatMulAddBatch short x", func() {
			MatMulAddBatch(make([]float32, 4), 2, make([]float32, 4), make([]float32, 3), 2, 2, 2, 2)
		}},
		{"Gemm short c", func() {
			Gemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
		}},
		{"Dot short y", func() { Dot(make([]float32, 3), make([]float32, 2)) }},
		{"GateTanhSigmoid short pre", func() { GateTanhSigmoid(make([]float32, 3), make([]float32, 5)) }},
	}
	for _, c := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", c.name)
				}
			}()
			c.f()
		}()
	}
}

var sink float32

func benchImpls(b *testing.B, f func(b *testing.B, im *impl)) {
	for _, im := range impls {
		b.Run(im.name, func(b *testing.B) { f(b, im) })
	}
}

func BenchmarkMatVecAdd(b *testing.B) {
	shapes := [][2]int{{64, 64}, {32, 32}, {128, 32}, {512, 32}, {128, 128}, {256, 128}, {512, 512}, {256, 512}}
	for _, sh := range shapes {
		rows, cols := sh[0], sh[1]
		b.Run(fmt.Sprintf("%dx%d", rows, cols), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(5, 6))
			w, x, y := randSlice(rng, rows*cols), randSlice(rng, cols), make([]float32, rows)
			benchImpls(b, func(b *testing.B, im *impl) {
				b.ReportAllocs()
				for b.Loop() {
					im.matVec(y, w, x, rows, cols, 1, 0, 0)
				}
				b.ReportMetric(2*float64(rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		})
	}
}

func BenchmarkMatMulAddBatch(b *testing.B) {
	shapes := [][2]int{{64, 64}, {128, 32}, {256, 128}, {512, 512}}
	for _, sh := range shapes {
		for _, nb := range []int{1, 8, 16, 32} {
			rows, cols := sh[0], sh[1]
			b.Run(fmt.Sprintf("%dx%d/B=%d", rows, cols, nb), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(5, 6))
				w, x, y := randSlice(rng, rows*cols), randSlice(rng, nb*cols), make([]float32, nb*rows)
				benchImpls(b, func(b *testing.B, im *impl) {
					b.ReportAllocs()
					for b.Loop() {
						im.matVec(y, w, x, rows, cols, nb, cols, rows)
					}
					b.ReportMetric(2*float64(nb*rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			})
		}
	}
}

// TestMatMulAddBatchInvariant checks what the cache package relies on in
// its default mode: with rows a multiple of 16, a stream's result from
// MatMulAddBatch has the same bits whatever the batch it is stepped in
// (the 16-row and the 4x4 kernels run the same per-lane chains and the
// same reduction tree).
func TestMatMulAddBatchInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	forEachImpl(t, func(t *testing.T, im *impl) {
		for _, sh := range [][2]int{{64, 64}, {32, 32}, {128, 640}, {256, 128}, {16, 7}, {48, 33}} {
			rows, cols := sh[0], sh[1]
			w := randSlice(rng, rows*cols)
			const nb = 17
			x := randSlice(rng, nb*cols)
			batch := make([]float32, nb*rows)
			im.matVec(batch, w, x, rows, cols, nb, cols, rows)
			for s := 0; s < nb; s++ {
				alone := make([]float32, rows)
				im.matVec(alone, w, x[s*cols:], rows, cols, 1, cols, rows)
				for r := range alone {
					if math.Float32bits(alone[r]) != math.Float32bits(batch[s*rows+r]) {
						t.Fatalf("matVec(%dx%d): stream %d row %d = %g in a batch of %d, %g alone", rows, cols, s, r, batch[s*rows+r], nb, alone[r])
					}
				}
			}
		}
	})
}
