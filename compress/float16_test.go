package compress

import (
	"math"
	"testing"
)

func TestFloat16(t *testing.T) {
	cases := []struct {
		in   float32
		want uint16
		why  string
	}{
		{0, 0x0000, "zero"},
		{float32(math.Copysign(0, -1)), 0x8000, "negative zero"},
		{1, 0x3c00, "one"},
		{-2, 0xc000, "minus two"},
		{65504, 0x7bff, "largest finite half"},
		{65519.996, 0x7bff, "just below the midpoint to 65536 rounds down"},
		{65520, 0x7c00, "the midpoint rounds to even: infinity"},
		{1e6, 0x7c00, "overflow"},
		{0.1, 0x2e66, "0.1 = 0x2e66 (0.0999755859375)"},
		{2049, 0x6800, "2049 ties between 2048 and 2050: even mantissa 2048"},
		{2051, 0x6802, "2051 ties between 2050 and 2052: even mantissa 2052"},
		{6.103515625e-05, 0x0400, "smallest normal 2^-14"},
		{5.960464477539063e-08, 0x0001, "smallest subnormal 2^-24"},
		{2.9802322387695312e-08, 0x0000, "2^-25, exactly half the smallest subnormal: ties to even zero"},
		{3.0e-08, 0x0001, "just above half the smallest subnormal"},
		{1e-8, 0x0000, "1e-8 is below 2^-25: zero"},
		{float32(math.Inf(-1)), 0xfc00, "minus infinity"},
	}
	for _, c := range cases {
		if got := Float16(c.in); got != c.want {
			t.Errorf("Float16(%g) = %#04x, want %#04x (%s)", c.in, got, c.want, c.why)
		}
	}
	if h := Float16(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("Float16(NaN) = %#04x, want a NaN", h)
	}
}

func TestFloat16RoundTripAndNearest(t *testing.T) {
	// Every finite half converts to float32 and back to itself.
	for h := 0; h < 1<<16; h++ {
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			continue // NaN
		}
		f := Float16To32(uint16(h))
		if got := Float16(f); got != uint16(h) {
			t.Fatalf("Float16(Float16To32(%#04x) = %g) = %#04x", h, f, got)
		}
	}
	// Rounding picks the nearest half: compare against a float64 search
	// over neighbours on a sweep of values.
	for x := float32(-70000); x < 70000; x += 0.37 * (1 + float32(math.Abs(float64(x)))/100) {
		h := Float16(x)
		got := float64(Float16To32(h))
		if math.IsInf(got, 0) {
			continue
		}
		for _, n := range []uint16{h - 1, h + 1} {
			other := float64(Float16To32(n))
			if math.Abs(other-float64(x)) < math.Abs(got-float64(x)) {
				t.Fatalf("Float16(%g) = %g, but %g is nearer", x, got, other)
			}
		}
	}
}

func TestBFloat16(t *testing.T) {
	cases := []struct {
		in   float32
		want uint16
	}{
		{1, 0x3f80},
		{0.1, 0x3dcd}, // 0x3dcccccd rounds up
		{float32(math.Float32frombits(0x3f808000)), 0x3f80}, // tie, even stays
		{float32(math.Float32frombits(0x3f818000)), 0x3f82}, // tie, odd rounds up
		{float32(math.Float32frombits(0x3f808001)), 0x3f81}, // above the tie
		{math.MaxFloat32, 0x7f80},                           // the largest float32 rounds to infinity
		{2049, 0x4500},                                      // 2049 = 0x45001000: below the tie, down
	}
	for _, c := range cases {
		if got := BFloat16(c.in); got != c.want {
			t.Errorf("BFloat16(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	if h := BFloat16(float32(math.NaN())); BFloat16To32(h) == BFloat16To32(h) {
		t.Errorf("BFloat16(NaN) = %#04x, not a NaN", h)
	}
}
