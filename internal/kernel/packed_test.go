package kernel

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

func TestMatMulAddPacked(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	type shape struct{ rows, cols int }
	// Hot shapes, then rows that are not multiples of the 32-row panel
	// and odd column counts.
	shapes := []shape{{64, 64}, {32, 32}, {128, 640}, {256, 128}, {0, 3}, {3, 0}, {1, 1}, {31, 5}, {33, 17}, {70, 9}, {100, 300}}
	forEachImpl(t, func(t *testing.T, im *impl) {
		for _, sh := range shapes {
			w := randSlice(rng, sh.rows*sh.cols)
			p := NewPacked(w, sh.rows, sh.cols)
			for _, nb := range []int{0, 1, 7, 8, 9, 16, 19} {
				ldx, ldy := sh.cols+rng.IntN(3), sh.rows+rng.IntN(3)
				x := randSlice(rng, max(0, (nb-1)*ldx+sh.cols))
				y := randSlice(rng, max(0, (nb-1)*ldy+sh.rows))
				want := append([]float32(nil), y...)
				for s := 0; s < nb; s++ {
					matVecAddRef(want[s*ldy:], w, x[s*ldx:], sh.rows, sh.cols)
				}
				got := append([]float32(nil), y...)
				im.packed(got, ldy, p, x, ldx, nb)
				for i := range got {
					if d := math.Abs(float64(got[i] - want[i])); !(d <= tol(sh.cols, float64(sh.cols)/2)) {
						t.Fatalf("packed(%dx%d, nb=%d)[%d] = %g, want %g", sh.rows, sh.cols, nb, i, got[i], want[i])
					}
				}
			}
		}
	})
}

func TestPackedRepack(t *testing.T) {
	w := []float32{1, 2, 3, 4} // (2, 2)
	p := NewPacked(w, 2, 2)
	w[0] = 10
	p.Repack()
	x := make([]float32, 8*2)
	for i := range x {
		x[i] = 1
	}
	y := make([]float32, 8*2)
	MatMulAddPacked(y, 2, p, x, 2, 8)
	// Row sums of the updated W: 10+2 and 3+4, for each of the 8 streams.
	for s := 0; s < 8; s++ {
		if y[2*s] != 12 || y[2*s+1] != 7 {
			t.Fatalf("MatMulAddPacked after Repack: stream %d = %v, want [12 7]", s, y[2*s:2*s+2])
		}
	}
	if p.Rows() != 2 || p.Cols() != 2 {
		t.Errorf("Rows(), Cols() = %d, %d, want 2, 2", p.Rows(), p.Cols())
	}
}

func BenchmarkMatMulAddPacked(b *testing.B) {
	shapes := [][2]int{{64, 64}, {32, 32}, {128, 640}, {128, 128}, {256, 128}, {512, 512}}
	for _, sh := range shapes {
		for _, nb := range []int{8, 16, 32} {
			rows, cols := sh[0], sh[1]
			b.Run(fmt.Sprintf("%dx%d/B=%d", rows, cols, nb), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(5, 6))
				w, x, y := randSlice(rng, rows*cols), randSlice(rng, nb*cols), make([]float32, nb*rows)
				p := NewPacked(w, rows, cols)
				benchImpls(b, func(b *testing.B, im *impl) {
					b.ReportAllocs()
					for b.Loop() {
						im.packed(y, rows, p, x, cols, nb)
					}
					b.ReportMetric(2*float64(nb*rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			})
		}
	}
}

// fma32Big is a*b + c computed exactly with math/big and rounded once to
// float32 (nearest, ties to even).
func fma32Big(a, b, c float32) float32 {
	x := new(big.Float).SetPrec(200).SetFloat64(float64(a))
	x.Mul(x, new(big.Float).SetPrec(200).SetFloat64(float64(b)))
	x.Add(x, new(big.Float).SetPrec(200).SetFloat64(float64(c)))
	f, _ := x.Float32()
	return f
}

func TestFMA32(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	type abc struct{ a, b, c float32 }
	// Ties: (1+2^-12)^2 = 1 + 2^-11 + 2^-24; with c = -2^-24 the exact
	// result 1 + 2^-11 is representable, with c = 0 the sum lies just
	// above a float32 midpoint... and random operands of every magnitude
	// in between.
	cases := []abc{
		{1 + 1.0/4096, 1 + 1.0/4096, 0},
		{1 + 1.0/4096, 1 + 1.0/4096, -1.0 / (1 << 24)},
		{1 + 1.0/(1<<23), 1 - 1.0/(1<<23), -1},
		{3, 1.0 / 3, -1},
		// a*b = 2^-24 - 2^-70, c = 1 + 2^-23: the float64 sum rounds onto
		// the float32 midpoint 1 + 2^-23 + 2^-24, where ties-to-even would
		// go up; the exact value is below it, so the answer is 1 + 2^-23.
		{(1 + 1.0/(1<<23)) / 4096, (1 - 1.0/(1<<23)) / 4096, 1 + 1.0/(1<<23)},
		{-(1 + 1.0/(1<<23)) / 4096, (1 - 1.0/(1<<23)) / 4096, -1 - 1.0/(1<<23)},
		// Results in float32's subnormal range.
		{1e-20, 1e-20, 1e-45},
		{1.5e-23, -1e-22, 3e-45},
		{0, 5, -0.0},
	}
	for range 20000 {
		ea, eb := rng.IntN(40)-20, rng.IntN(40)-20
		a := float32(math.Ldexp(2*rng.Float64()-1, ea))
		b := float32(math.Ldexp(2*rng.Float64()-1, eb))
		// c near -a*b makes the cancellation cases that need the exact
		// error term.
		c := float32(math.Ldexp(2*rng.Float64()-1, ea+eb+rng.IntN(6)-3))
		if rng.IntN(2) == 0 {
			c = -a*b + float32(math.Ldexp(rng.Float64(), ea+eb-rng.IntN(30)))
		}
		cases = append(cases, abc{a, b, c})
	}
	for _, tc := range cases {
		if got, want := fma32(tc.a, tc.b, tc.c), fma32Big(tc.a, tc.b, tc.c); math.Float32bits(got) != math.Float32bits(want) && !(got == 0 && want == 0) {
			t.Fatalf("fma32(%g, %g, %g) = %g, want %g", tc.a, tc.b, tc.c, got, want)
		}
	}
}

// TestPackedBitIdentical checks the promise of MatMulAddPacked: every
// implementation, at every batch size, gives the bits of the pure-Go
// reference chain for every stream.
func TestPackedBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	type shape struct{ rows, cols int }
	shapes := []shape{{64, 64}, {32, 32}, {128, 640}, {256, 128}, {1, 1}, {31, 5}, {33, 17}, {100, 300}, {160, 40}}
	forEachImpl(t, func(t *testing.T, im *impl) {
		for _, sh := range shapes {
			w := randSlice(rng, sh.rows*sh.cols)
			p := NewPacked(w, sh.rows, sh.cols)
			for _, nb := range []int{1, 2, 3, 4, 5, 8, 9, 11, 16, 17} {
				ldx, ldy := sh.cols+rng.IntN(3), sh.rows+rng.IntN(3)
				x := randSlice(rng, (nb-1)*ldx+sh.cols)
				y := randSlice(rng, (nb-1)*ldy+sh.rows)
				want := append([]float32(nil), y...)
				packedGo(want, ldy, p, x, ldx, nb)
				got := append([]float32(nil), y...)
				im.packed(got, ldy, p, x, ldx, nb)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("packed(%dx%d, nb=%d)[%d] = %g (%#08x), want the bits of the reference chain %g (%#08x)",
							sh.rows, sh.cols, nb, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
					}
				}
			}
		}
	})
}
