package mulaw

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// formula is the DESIGN.md companding written out independently of the
// package, in float64: the reference every test compares against. ln(1+y)
// is math.Log1p, the accurate float64 evaluation: math.Log(1+y) loses y
// below 1e-16, which moves tiny negative samples across the bin edge at
// 0.0 (mathematically every x < 0 has code Q/2-1 for even Q; in float64,
// negatives above about -1e-18 round to Q/2 for Q = 256, the code of 0.0).
func formula(x float64, q int) int32 {
	mu := float64(q - 1)
	x = math.Max(-1, math.Min(1, x))
	s := 1.0
	if x < 0 {
		s = -1
	}
	f := s * math.Log1p(mu*math.Abs(x)) / math.Log1p(mu)
	return int32(math.Floor((f+1)/2*mu + 0.5))
}

// inverse is the float64 value of code c's bin centre.
func inverse(c int32, q int) float64 {
	mu := float64(q - 1)
	y := 2*float64(c)/mu - 1
	s := 1.0
	if y < 0 {
		s = -1
	}
	return s * (math.Pow(1+mu, math.Abs(y)) - 1) / mu
}

// levels covers the extremes, odd and even counts, the paper's 256 (fast
// path) and a 16-bit count.
var levels = []int{2, 3, 16, 255, 256, 257, 1024, 65536}

func TestSilence(t *testing.T) {
	for _, q := range levels {
		want := formula(0, q)
		if got := Silence(q); got != want {
			t.Errorf("Silence(%d) = %d, want %d (the code of 0.0)", q, got, want)
		}
		if got := EncodeOne(0, q); got != want {
			t.Errorf("EncodeOne(0, %d) = %d, want %d", q, got, want)
		}
		if q%2 == 0 && want != int32(q/2) {
			t.Errorf("code of 0.0 for even Q=%d is %d, want Q/2 = %d", q, want, q/2)
		}
	}
}

func TestRoundTripEveryCode(t *testing.T) {
	for _, q := range levels {
		codes := make([]int32, q)
		for i := range codes {
			codes[i] = int32(i)
		}
		x := Decode(nil, codes, q)
		got := Encode(nil, x, q)
		for c := range codes {
			if got[c] != int32(c) {
				t.Errorf("Q=%d: Encode(Decode(%d)) = Encode(%g) = %d, want %d", q, c, x[c], got[c], c)
			}
			if one := EncodeOne(DecodeOne(int32(c), q), q); one != int32(c) {
				t.Errorf("Q=%d: EncodeOne(DecodeOne(%d)) = %d, want %d", q, c, one, c)
			}
		}
	}
}

func TestDecodeMatchesFormula(t *testing.T) {
	// 1e-6 is the tolerance; float32 has 2^-24 = 6e-8 relative
	// precision on values in [-1, 1], so rounding stays well inside it.
	const tol = 1e-6
	for _, q := range levels {
		for c := int32(0); c < int32(q); c += 1 + int32(q/512) {
			want := inverse(c, q)
			if got := DecodeOne(c, q); math.Abs(float64(got)-want) > tol {
				t.Errorf("DecodeOne(%d, %d) = %.9g, want %.9g", c, q, got, want)
			}
		}
	}
}

func TestEncodeMatchesFormula(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, q := range levels {
		var xs []float32
		// Points near every bin edge: the float64 edge value and its float32
		// neighbours are where a sloppy implementation rounds the wrong way.
		mu := float64(q - 1)
		for c := 1; c < q && c < 4096; c++ {
			f := (float64(c)-0.5)*2/mu - 1
			e := float32(math.Copysign(math.Expm1(math.Abs(f)*math.Log1p(mu))/mu, f))
			xs = append(xs, e, math.Nextafter32(e, -2), math.Nextafter32(e, 2))
		}
		for range 20000 {
			xs = append(xs, float32(r.Float64()*2-1), float32(math.Ldexp(r.Float64()*2-1, -r.IntN(40))))
		}
		codes := Encode(nil, xs, q)
		for i, x := range xs {
			want := formula(float64(x), q)
			if codes[i] != want {
				t.Errorf("Encode(%.9g, %d) = %d, want %d", x, q, codes[i], want)
			}
			if got := EncodeOne(x, q); got != want {
				t.Errorf("EncodeOne(%.9g, %d) = %d, want %d", x, q, got, want)
			}
		}
	}
}

// TestFastPathExact checks the Q=256 table path against the float64
// formula at every threshold's float32 neighbours, at every bucket start,
// and at a million random float32 bit patterns in [-1, 1].
func TestFastPathExact(t *testing.T) {
	check := func(x float32) {
		t.Helper()
		if got, want := encode256(x), formula(float64(x), 256); got != want {
			t.Fatalf("encode256(%.9g [bits %#x]) = %d, want %d", x, math.Float32bits(x), got, want)
		}
	}
	for c := 1; c < 256; c++ {
		e := thr256[c]
		check(e)
		check(math.Nextafter32(e, -2))
		check(math.Nextafter32(e, 2))
	}
	for i := range base256 {
		k := (baseOff256 + uint32(i)) << 16
		if k >= orderKey(-1) && k <= orderKey(1) {
			check(fromOrderKey(k))
			check(fromOrderKey(k - 1))
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	lo, hi := orderKey(-1), orderKey(1)
	for range 1_000_000 {
		check(fromOrderKey(lo + r.Uint32N(hi-lo+1)))
	}
}

func TestMonotonic(t *testing.T) {
	for _, q := range levels {
		// 200001 evenly spaced points, plus a dense sweep near 0 where the
		// curve is steepest.
		var xs []float32
		for i := -100000; i <= 100000; i++ {
			xs = append(xs, float32(i)/100000)
		}
		codes := Encode(nil, xs, q)
		for i := 1; i < len(codes); i++ {
			if codes[i] < codes[i-1] {
				t.Fatalf("Q=%d: Encode(%g) = %d < Encode(%g) = %d: not monotonic", q, xs[i], codes[i], xs[i-1], codes[i-1])
			}
		}
		if codes[0] != 0 || codes[len(codes)-1] != int32(q-1) {
			t.Errorf("Q=%d: Encode(-1), Encode(1) = %d, %d, want 0, %d", q, codes[0], codes[len(codes)-1], q-1)
		}
	}
}

func TestClipping(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	for _, q := range levels {
		tests := []struct {
			x    float32
			want int32
		}{
			{2, int32(q - 1)},
			{inf, int32(q - 1)},
			{-1.5, 0},
			{-inf, 0},
			{nan, Silence(q)},
			{float32(math.Copysign(0, -1)), Silence(q)},
		}
		for _, tt := range tests {
			if got := EncodeOne(tt.x, q); got != tt.want {
				t.Errorf("EncodeOne(%g, %d) = %d, want %d", tt.x, q, got, tt.want)
			}
			if got := Encode(nil, []float32{tt.x}, q)[0]; got != tt.want {
				t.Errorf("Encode([%g], %d) = %d, want %d", tt.x, q, got, tt.want)
			}
		}
		// Codes outside [0, Q-1] decode as the nearest valid code.
		if got, want := DecodeOne(-5, q), DecodeOne(0, q); got != want {
			t.Errorf("DecodeOne(-5, %d) = %g, want %g", q, got, want)
		}
		if got, want := Decode(nil, []int32{int32(q) + 7}, q)[0], DecodeOne(int32(q-1), q); got != want {
			t.Errorf("Decode([%d], %d) = %g, want %g", q+7, q, got, want)
		}
	}
}

func TestBytes(t *testing.T) {
	xs := []float32{-1, -0.5, 0, 0.001, 0.5, 1, float32(math.NaN())}
	b := EncodeBytes(nil, xs)
	codes := Encode(nil, xs, 256)
	for i := range xs {
		if int32(b[i]) != codes[i] {
			t.Errorf("EncodeBytes(%g) = %d, want %d", xs[i], b[i], codes[i])
		}
	}
	back := DecodeBytes(nil, b)
	want := Decode(nil, codes, 256)
	for i := range back {
		if back[i] != want[i] {
			t.Errorf("DecodeBytes(%d) = %g, want %g", b[i], back[i], want[i])
		}
	}
}

func TestNoAllocation(t *testing.T) {
	x := make([]float32, 1024)
	codes := make([]int32, 1024)
	y := make([]float32, 1024)
	b := make([]byte, 1024)
	for _, q := range []int{256, 1024} {
		if n := testing.AllocsPerRun(10, func() { Encode(codes, x, q) }); n != 0 {
			t.Errorf("Encode(dst with capacity, %d) allocates %v times, want 0", q, n)
		}
		if n := testing.AllocsPerRun(10, func() { Decode(y, codes, q) }); n != 0 {
			t.Errorf("Decode(dst with capacity, %d) allocates %v times, want 0", q, n)
		}
	}
	if n := testing.AllocsPerRun(10, func() { EncodeBytes(b, x) }); n != 0 {
		t.Errorf("EncodeBytes(dst with capacity) allocates %v times, want 0", n)
	}
}

func TestBadLevelsPanics(t *testing.T) {
	for _, q := range []int{-1, 0, 1, 65537} {
		if err := CheckLevels(q); err == nil {
			t.Errorf("CheckLevels(%d) = nil, want an error", q)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Encode(_, _, %d) did not panic", q)
				}
			}()
			Encode(nil, []float32{0}, q)
		}()
	}
}

func FuzzEncode(f *testing.F) {
	f.Add(uint32(0), uint16(255))
	f.Add(math.Float32bits(0.5), uint16(0))
	f.Add(math.Float32bits(-1), uint16(1))
	f.Add(math.Float32bits(float32(math.NaN())), uint16(65534))
	f.Fuzz(func(t *testing.T, bits uint32, qm uint16) {
		q := int(qm) + 1
		if q < 2 {
			q = 2
		}
		x := math.Float32frombits(bits)
		c := EncodeOne(x, q)
		if c < 0 || c >= int32(q) {
			t.Fatalf("EncodeOne(%g, %d) = %d, outside [0, %d]", x, q, c, q-1)
		}
		if x == x {
			if want := formula(float64(x), q); c != want {
				t.Fatalf("EncodeOne(%g, %d) = %d, want %d", x, q, c, want)
			}
			if q256 := EncodeOne(x, 256); q256 != formula(float64(x), 256) {
				t.Fatalf("EncodeOne(%g, 256) = %d, want %d", x, q256, formula(float64(x), 256))
			}
		} else if c != Silence(q) {
			t.Fatalf("EncodeOne(NaN, %d) = %d, want %d", q, c, Silence(q))
		}
		if back := EncodeOne(DecodeOne(c, q), q); back != c {
			t.Fatalf("EncodeOne(DecodeOne(%d, %d)) = %d", c, q, back)
		}
		// Any int32 decodes without panic, to a value in [-1, 1].
		if v := DecodeOne(int32(bits), q); !(v >= -1 && v <= 1) {
			t.Fatalf("DecodeOne(%d, %d) = %g, outside [-1, 1]", int32(bits), q, v)
		}
	})
}

func benchInput(n int) []float32 {
	r := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, n)
	for i := range x {
		// Speech-like amplitudes: mostly small, some loud.
		x[i] = float32(r.NormFloat64() * 0.1)
	}
	return x
}

func BenchmarkEncode(b *testing.B) {
	const n = 16384 // 1 s at 16 kHz
	x := benchInput(n)
	dst := make([]int32, n)
	for _, q := range []int{256, 1024, 65536} {
		b.Run(fmt.Sprintf("Q=%d", q), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Encode(dst, x, q)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	const n = 16384
	for _, q := range []int{256, 1024, 65536} {
		codes := Encode(nil, benchInput(n), q)
		dst := make([]float32, n)
		b.Run(fmt.Sprintf("Q=%d", q), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Decode(dst, codes, q)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
