package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// f16Value64 decodes binary16 by its definition, in float64.
func f16Value64(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e, m := int(h>>10)&0x1f, float64(h&0x3ff)
	switch e {
	case 0x1f:
		if m != 0 {
			return math.NaN()
		}
		return sign * math.Inf(1)
	case 0:
		return sign * m * math.Ldexp(1, -24)
	}
	return sign * (1 + m/1024) * math.Ldexp(1, e-15)
}

func TestF16(t *testing.T) {
	// Every binary16 value decodes exactly and encodes back to itself.
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		want := f16Value64(h)
		got := Float32FromF16(h)
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) || !math.IsNaN(float64(Float32FromF16(F16FromFloat32(got)))) {
				t.Fatalf("Float32FromF16(%#04x) = %g, want NaN (and back)", h, got)
			}
			continue
		}
		if float64(got) != want {
			t.Fatalf("Float32FromF16(%#04x) = %g, want %g", h, got, want)
		}
		if back := F16FromFloat32(got); back != h {
			t.Fatalf("F16FromFloat32(%g) = %#04x, want %#04x", got, back, h)
		}
	}
	// Rounding: the nearest binary16, ties to even, overflow to infinity.
	cases := []struct {
		in   float32
		want uint16
	}{
		{1 + 1.0/2048, 0x3c00},                // halfway between 1 and 1+2^-10: even is 1
		{1 + 3.0/2048, 0x3c02},                // halfway, rounds up to even
		{1 + 1.0/2048 + 1.0/65536, 0x3c01},    // just above halfway
		{65504, 0x7bff},                       // largest finite
		{65520, 0x7c00},                       // halfway to 2^16: rounds to infinity
		{1e6, 0x7c00},                         // overflow
		{-1e6, 0xfc00},                        //
		{float32(math.Ldexp(1, -24)), 0x0001}, // smallest subnormal
		{float32(math.Ldexp(1, -25)), 0x0000}, // halfway to it: even is 0
		{float32(math.Ldexp(1.5, -25)), 0x0001},
		{float32(math.Ldexp(1, -14)), 0x0400}, // smallest normal
		{float32(math.Inf(-1)), 0xfc00},
	}
	for _, c := range cases {
		if got := F16FromFloat32(c.in); got != c.want {
			t.Errorf("F16FromFloat32(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	v := []float32{0.1, -3.3}
	RoundF16(v)
	if h := ToF16(nil, v); Float32FromF16(h[0]) != v[0] || Float32FromF16(h[1]) != v[1] {
		t.Errorf("RoundF16 then ToF16 = %v, not the rounded %v", h, v)
	}
}

func TestMatVecAddF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	type shape struct{ rows, cols int }
	shapes := []shape{{64, 64}, {512, 1600}, {256, 512}, {0, 3}, {1, 1}, {17, 33}, {33, 7}, {15, 100}}
	forEachImpl(t, func(t *testing.T, im *impl) {
		for _, sh := range shapes {
			for _, nb := range []int{1, 3} {
				w32 := randSlice(rng, sh.rows*sh.cols)
				RoundF16(w32)
				w := ToF16(nil, w32)
				ldx, ldy := sh.cols+rng.IntN(3), sh.rows+rng.IntN(3)
				x := randSlice(rng, max(0, (nb-1)*ldx+sh.cols))
				y := randSlice(rng, max(0, (nb-1)*ldy+sh.rows))
				want := append([]float32(nil), y...)
				for s := 0; s < nb; s++ {
					matVecAddRef(want[s*ldy:], w32, x[s*ldx:], sh.rows, sh.cols)
				}
				got := append([]float32(nil), y...)
				im.matVecF16(got, w, x, sh.rows, sh.cols, nb, ldx, ldy)
				for i := range got {
					if d := math.Abs(float64(got[i] - want[i])); !(d <= tol(sh.cols, float64(sh.cols)/2)) {
						t.Fatalf("matVecF16(%dx%d, nb=%d)[%d] = %g, want %g", sh.rows, sh.cols, nb, i, got[i], want[i])
					}
				}
			}
		}
	})
}

func BenchmarkMatVecAddF16(b *testing.B) {
	// 512 x 1600 is the skip product of ibab (S x 50 D): 3.3 MB in
	// float32, more than L2; 128 x 640 is small's (fits).
	for _, sh := range [][2]int{{512, 1600}, {128, 640}, {512, 512}} {
		rows, cols := sh[0], sh[1]
		b.Run(fmt.Sprintf("%dx%d", rows, cols), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(5, 6))
			w32, x, y := randSlice(rng, rows*cols), randSlice(rng, cols), make([]float32, rows)
			w := ToF16(nil, w32)
			benchImpls(b, func(b *testing.B, im *impl) {
				b.ReportAllocs()
				for b.Loop() {
					im.matVecF16(y, w, x, rows, cols, 1, 0, 0)
				}
				b.ReportMetric(2*float64(rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		})
	}
}
