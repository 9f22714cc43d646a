package cache

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSelectKth(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 500; trial++ {
		n := 1 + rng.IntN(300)
		v := make([]float32, n)
		for i := range v {
			// Few distinct values (0..9) on half the trials, to test ties.
			if trial%2 == 0 {
				v[i] = float32(rng.IntN(10))
			} else {
				v[i] = float32(rng.NormFloat64())
			}
		}
		k := rng.IntN(n)
		sorted := slices.Clone(v)
		slices.Sort(sorted)
		want := sorted[n-1-k]
		if got := selectKth(slices.Clone(v), k); got != want {
			t.Fatalf("selectKth(%v, %d) = %v, want %v", v, k, got, want)
		}
	}
}

// TestSampleDistribution draws 200000 codes from fixed logits and compares
// the frequencies with softmax(logits/T), restricted to the top k. With
// N = 200000 draws the standard deviation of a frequency p is
// sqrt(p(1-p)/N) <= 0.0012; 0.006 is five of them.
func TestSampleDistribution(t *testing.T) {
	logits := []float32{0.5, 2, -1, 1.5, 2, 0, -3, 1}
	for _, tc := range []struct {
		temp float32
		topK int
	}{{1, 0}, {0.5, 0}, {2, 0}, {1, 3}, {1, 1}, {1, 8}, {1, 20}} {
		want := make([]float64, len(logits))
		// Top-k by hand: rank by logit, ties to the lower index.
		idx := []int{0, 1, 2, 3, 4, 5, 6, 7}
		slices.SortStableFunc(idx, func(a, b int) int {
			switch {
			case logits[a] > logits[b]:
				return -1
			case logits[a] < logits[b]:
				return 1
			}
			return 0
		})
		k := tc.topK
		if k <= 0 || k > len(logits) {
			k = len(logits)
		}
		sum := 0.0
		for _, i := range idx[:k] {
			want[i] = math.Exp(float64(logits[i]) / float64(tc.temp))
			sum += want[i]
		}
		for i := range want {
			want[i] /= sum
		}
		s := newSampler(len(logits))
		var rng rand.PCG
		rng.Seed(5, 6)
		const n = 200000
		counts := make([]float64, len(logits))
		for i := 0; i < n; i++ {
			counts[s.sample(logits, tc.temp, tc.topK, false, &rng)]++
		}
		for i := range counts {
			if got := counts[i] / n; math.Abs(got-want[i]) > 0.006 {
				t.Errorf("T=%v top-k=%d: frequency of code %d = %.4f, want %.4f", tc.temp, tc.topK, i, got, want[i])
			}
		}
	}
}

func TestSampleGreedy(t *testing.T) {
	s := newSampler(5)
	var rng rand.PCG
	for _, tc := range []struct {
		logits []float32
		want   int32
	}{
		{[]float32{0, 1, 3, 3, 2}, 2},
		{[]float32{-5, -4, -3, -2, -1}, 4},
		{[]float32{float32(math.NaN()), 0, 1, 0, 0}, 2},
	} {
		if got := s.sample(tc.logits, 1, 0, true, &rng); got != tc.want {
			t.Errorf("sample(%v, greedy) = %d, want %d", tc.logits, got, tc.want)
		}
	}
}

// TestExp32 checks exp32 against math.Exp on [-90, 0] with the relative
// error bound of its doc comment: 2e-7 (a few float32 roundings) plus
// 7e-8|x| (rounding x*64*log2(e) to float32 loses up to |x|*92*2^-24 in
// the exponent, times ln2/64). Below -87 the result flushes to 0.
func TestExp32(t *testing.T) {
	for i := 0; i <= 900000; i++ {
		x := -float32(i) * 1e-4
		got := float64(exp32(x))
		want := math.Exp(float64(x))
		if x < -87 {
			if got != 0 {
				t.Fatalf("exp32(%v) = %v, want 0 (flushed)", x, got)
			}
			continue
		}
		if math.Abs(got-want) > (2e-7+7e-8*math.Abs(float64(x)))*want {
			t.Fatalf("exp32(%v) = %v, want %v", x, got, want)
		}
	}
	if got := exp32(float32(math.NaN())); got != 0 {
		t.Errorf("exp32(NaN) = %v, want 0", got)
	}
}

// BenchmarkSample measures one draw from 256 logits (the sampler's share of
// a generated sample).
func BenchmarkSample(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	logits := make([]float32, 256)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64() * 3)
	}
	for _, tc := range []struct {
		name   string
		topK   int
		greedy bool
	}{{"all", 0, false}, {"top-k=40", 40, false}, {"greedy", 0, true}} {
		b.Run(tc.name, func(b *testing.B) {
			s := newSampler(256)
			var pcg rand.PCG
			cpu := threadCPU(b)
			for i := 0; i < b.N; i++ {
				s.sample(logits, 1, tc.topK, tc.greedy, &pcg)
			}
			b.ReportMetric(cpu()*1e9/float64(b.N), "cpu-ns/op")
		})
	}
}
