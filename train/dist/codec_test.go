package dist

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func randVec(seed uint64, n int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// TestCodecRoundTrip: f32 is exact; bf16 keeps 8 significant bits
// (relative error at most 2^-8); int8 errs by at most half a step,
// max|x|/127/2.
func TestCodecRoundTrip(t *testing.T) {
	x := randVec(1, 1000)
	var maxAbs float64
	for _, v := range x {
		maxAbs = max(maxAbs, math.Abs(float64(v)))
	}
	for _, tc := range []struct {
		codec Codec
		tol   func(x float32) float64
		bytes int // payload bytes without the header
	}{
		{F32, func(float32) float64 { return 0 }, 4000},
		{BF16, func(x float32) float64 { return math.Abs(float64(x)) / 256 }, 2000},
		{Int8, func(float32) float64 { return maxAbs / 127 / 2 * 1.0001 }, 1000},
	} {
		in := append([]float32(nil), x...)
		c := NewCompressor(tc.codec, len(in))
		b := c.Encode(in, 0)
		got, err := Decode(make([]float32, len(x)), b)
		if err != nil {
			t.Fatalf("%s: Decode: %v", tc.codec, err)
		}
		if len(b) < tc.bytes || len(b) > tc.bytes+200 {
			t.Errorf("%s: %d bytes, want %d plus a header under 200", tc.codec, len(b), tc.bytes)
		}
		for i := range x {
			if got[i] != in[i] {
				t.Fatalf("%s: decoded[%d] = %v, the sender kept %v", tc.codec, i, got[i], in[i])
			}
			if d := math.Abs(float64(got[i] - x[i])); d > tc.tol(x[i]) {
				t.Fatalf("%s: decoded[%d] = %v, want %v within %v", tc.codec, i, got[i], x[i], tc.tol(x[i]))
			}
		}
	}
}

// TestErrorFeedbackUnbiased sends the same gradient T times: one large
// value makes the int8 step so coarse that the small values round to zero
// every time without error feedback (a bias of the whole value); with it
// the mean of what arrived is off by at most the last residual over T
// (half a step / T).
func TestErrorFeedbackUnbiased(t *testing.T) {
	g := []float32{100, 0.3, -0.2, 0.05, 0.01}
	const T = 200
	for _, feedback := range []bool{false, true} {
		sum := make([]float64, len(g))
		c := NewCompressor(Int8, len(g))
		for step := 0; step < T; step++ {
			if !feedback {
				clear(c.residual)
			}
			x := append([]float32(nil), g...)
			got, err := Decode(make([]float32, len(g)), c.Encode(x, 0))
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range got {
				sum[i] += float64(v)
			}
		}
		halfStep := 100.0 / 127 / 2
		for i := 1; i < len(g); i++ {
			mean := sum[i] / T
			bias := math.Abs(mean - float64(g[i]))
			if feedback && bias > halfStep/T*1.01 {
				t.Errorf("error feedback: mean of %d messages of %v = %v, want within %v", T, g[i], mean, halfStep/T)
			}
			if !feedback && bias < math.Abs(float64(g[i]))*0.99 {
				t.Errorf("no feedback: mean of %d messages of %v = %v, want the bias of rounding to 0", T, g[i], mean)
			}
		}
	}
}

// TestAverage checks both all-reduce algorithms on 1 to 4 ranks against
// the mean summed in rank order: the reduce is exact (same order), the
// ring sums chunk c from rank c, within 4 ulps of values near 1 (1e-6
// after summing 4 values of size ~3).
func TestAverage(t *testing.T) {
	const n = 37 // not a multiple of the ranks: uneven chunks
	for _, alg := range []Algorithm{Reduce, Ring} {
		for world := 1; world <= 4; world++ {
			want := make([]float32, n)
			xs := make([][]float32, world)
			for r := range xs {
				xs[r] = randVec(uint64(r), n)
				for i, v := range xs[r] {
					want[i] += v
				}
			}
			scale(want, world)
			nets := Local(world)
			var wg sync.WaitGroup
			errs := make([]error, world)
			for r := range world {
				wg.Go(func() {
					red := newReducer(nets[r], alg, F32, n, time.Minute)
					errs[r] = red.average(context.Background(), 7, xs[r])
				})
			}
			wg.Wait()
			for r := range world {
				if errs[r] != nil {
					t.Fatalf("%s on %d ranks: rank %d: %v", alg, world, r, errs[r])
				}
				for i := range want {
					if xs[r][i] != xs[0][i] {
						t.Fatalf("%s on %d ranks: rank %d has [%d] = %v, rank 0 %v", alg, world, r, i, xs[r][i], xs[0][i])
					}
					if d := math.Abs(float64(xs[r][i] - want[i])); d > 1e-6 || (alg == Reduce && d != 0) {
						t.Fatalf("%s on %d ranks: [%d] = %v, want %v", alg, world, i, xs[r][i], want[i])
					}
				}
			}
		}
	}
}

// TestAverageTimeout: a rank that never sends makes the others fail with
// ErrTimeout instead of waiting forever.
func TestAverageTimeout(t *testing.T) {
	for _, alg := range []Algorithm{Reduce, Ring} {
		nets := Local(3)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for r := range 2 { // rank 2 is dead
			wg.Go(func() {
				errs[r] = newReducer(nets[r], alg, F32, 8, 50*time.Millisecond).average(context.Background(), 1, make([]float32, 8))
			})
		}
		wg.Wait()
		for r, err := range errs {
			if r == 0 && err == nil || err != nil && !errors.Is(err, ErrTimeout) {
				t.Errorf("%s: rank %d with rank 2 dead: %v, want ErrTimeout", alg, r, err)
			}
		}
	}
}
