package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// activationInputs covers the whole finite float32 range: zero and
// subnormals, every binary exponent from 2^-40 to 2^127 with a random
// mantissa and both signs, the clamp edges of exp (-87, 88 and around
// them, halved and doubled because tanh uses exp(2x)), the largest finite
// values and a dense random sample of [-20, 20] where the functions are not
// saturated. Its length (several hundred) is deliberately not a multiple
// of 16 so the masked tails run.
func activationInputs(rng *rand.Rand) []float32 {
	xs := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, 1e-38, -1e-38,
		43.5, 44, 44.5, -43.5, -44, -44.5, 86.9, 87, 87.1, 88, 88.1, 89, -86.9, -87, -87.1, -88, -89,
		174, 176, -174, -176, math.MaxFloat32, -math.MaxFloat32}
	for e := -40; e <= 127; e++ {
		m := 1 + rng.Float64()
		xs = append(xs, float32(math.Ldexp(m, e)), float32(-math.Ldexp(m, e)))
	}
	for range 501 {
		xs = append(xs, 40*rng.Float32()-20)
	}
	return xs
}

func sigmoid64(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// activationTol is the accuracy the package documents: 2e-6 absolute.
const activationTol = 2e-6

func checkActivation(t *testing.T, name string, got []float32, want func(i int) float64, in func(i int) string) {
	t.Helper()
	var worst float64
	for i, g := range got {
		w := want(i)
		d := math.Abs(float64(g) - w)
		if math.IsNaN(float64(g)) || d > activationTol {
			t.Errorf("%s(%s) = %g, want %g (error %.3g > %g)", name, in(i), g, w, d, activationTol)
			return
		}
		worst = max(worst, d)
	}
	if len(got) > 100 {
		t.Logf("%s: max abs error %.3g over %d inputs", name, worst, len(got))
	}
}

func TestActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	xs := activationInputs(rng)
	gs := activationInputs(rng)
	rng.Shuffle(len(gs), func(i, j int) { gs[i], gs[j] = gs[j], gs[i] })
	forEachImpl(t, func(t *testing.T, im *impl) {
		for _, n := range []int{len(xs), 0, 1, 7, 8, 15, 16, 17, 33} {
			x, g := xs[:n], gs[:n]
			fmtX := func(i int) string { return fmt.Sprint(x[i]) }
			got := make([]float32, n)
			im.tanh(got, x)
			checkActivation(t, "tanh", got, func(i int) float64 { return math.Tanh(float64(x[i])) }, fmtX)
			im.sigmoid(got, x)
			checkActivation(t, "sigmoid", got, func(i int) float64 { return sigmoid64(float64(x[i])) }, fmtX)
			im.gate(got, x, g)
			checkActivation(t, "gate", got, func(i int) float64 { return math.Tanh(float64(x[i])) * sigmoid64(float64(g[i])) },
				func(i int) string { return fmt.Sprint(x[i], ",", g[i]) })
		}
	})
}

func TestGateTanhSigmoid(t *testing.T) {
	// pre = filter half then gate half, as the exported function documents.
	pre := []float32{0.5, -1, 2, 0, 3, -3}
	got := make([]float32, 3)
	GateTanhSigmoid(got, pre)
	for i := range got {
		want := math.Tanh(float64(pre[i])) * sigmoid64(float64(pre[3+i]))
		if d := math.Abs(float64(got[i]) - want); d > activationTol {
			t.Errorf("GateTanhSigmoid(%v)[%d] = %g, want %g", pre, i, got[i], want)
		}
	}
}

func TestVectorOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	forEachImpl(t, func(t *testing.T, im *impl) {
		for _, n := range []int{0, 1, 5, 8, 15, 16, 17, 31, 32, 33, 100, 257} {
			a, b := randSlice(rng, n), randSlice(rng, n+1)
			got := make([]float32, n)
			im.add(got, a, b)
			for i := range got {
				if got[i] != a[i]+b[i] {
					t.Fatalf("add(n=%d)[%d] = %g, want %g", n, i, got[i], a[i]+b[i])
				}
			}
			im.relu(got, a)
			for i := range got {
				if want := max(a[i], 0); got[i] != want {
					t.Fatalf("relu(n=%d)(%g) = %g, want %g", n, a[i], got[i], want)
				}
			}
			y := append([]float32(nil), b...)
			const alpha = -0.37
			im.axpy(y, alpha, a)
			for i := range y {
				want := float64(b[i])
				if i < n {
					want += alpha * float64(a[i])
				}
				// One fused or two separate roundings: within 2 ulps of
				// values of magnitude <= 1.37.
				if d := math.Abs(float64(y[i]) - want); d > 3e-7 {
					t.Fatalf("axpy(n=%d)[%d] = %g, want %g", n, i, y[i], want)
				}
			}
		}
	})
}

func TestSoftmax(t *testing.T) {
	cases := []struct {
		n      int
		offset float32 // large offsets overflow a naive exp
	}{{1, 0}, {2, 0}, {15, 0}, {16, 0}, {17, 80}, {33, -80}, {256, 0}, {256, 1e4}, {256, -1e4}, {257, 3}}
	forEachImpl(t, func(t *testing.T, im *impl) {
		rng := rand.New(rand.NewPCG(17, 18))
		for _, tc := range cases {
			x := make([]float32, tc.n)
			for i := range x {
				x[i] = tc.offset + 10*rng.Float32() - 5
			}
			mx := math.Inf(-1)
			for _, v := range x {
				mx = max(mx, float64(v))
			}
			var sum float64
			for _, v := range x {
				sum += math.Exp(float64(v) - mx)
			}
			sm := make([]float32, tc.n)
			im.softmax(sm, x)
			ls := append([]float32(nil), x...)
			im.logSoftmax(ls, ls) // in place: dst aliases x
			var total float64
			for i, v := range x {
				wantLog := float64(v) - mx - math.Log(sum)
				// exp32 is accurate to a few ulps and the sum to about
				// 1e-7 relative: 1e-6 relative for the probabilities. The
				// log-softmax is a float32 difference of values up to
				// |offset|+5, so its error scales with that.
				if d := math.Abs(float64(sm[i]) - math.Exp(wantLog)); d > 1e-6*math.Exp(wantLog)+1e-9 {
					t.Errorf("softmax(n=%d, offset=%g)[%d] = %g, want %g", tc.n, tc.offset, i, sm[i], math.Exp(wantLog))
				}
				if d := math.Abs(float64(ls[i]) - wantLog); d > 1e-6*(math.Abs(float64(tc.offset))+10) {
					t.Errorf("logSoftmax(n=%d, offset=%g)[%d] = %g, want %g", tc.n, tc.offset, i, ls[i], wantLog)
				}
				total += float64(sm[i])
			}
			if math.Abs(total-1) > 1e-5 {
				t.Errorf("sum of softmax(n=%d, offset=%g) = %g, want 1", tc.n, tc.offset, total)
			}
		}
	})
	// The exported wrappers accept an empty row.
	Softmax(nil, nil)
	LogSoftmax(nil, nil)
}

func BenchmarkSoftmax(b *testing.B) {
	// Q = 256 logits: one sampling step of one stream.
	rng := rand.New(rand.NewPCG(23, 24))
	x := randSlice(rng, 256)
	dst := make([]float32, 256)
	benchImpls(b, func(b *testing.B, im *impl) {
		b.ReportAllocs()
		for b.Loop() {
			im.softmax(dst, x)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

func BenchmarkGateTanhSigmoid(b *testing.B) {
	// D = 32 outputs per layer, 20 layers: one generated sample of small.
	const d, layers = 32, 20
	rng := rand.New(rand.NewPCG(19, 20))
	pre := make([]float32, 2*d*layers)
	for i := range pre {
		pre[i] = 8*rng.Float32() - 4
	}
	dst := make([]float32, d)
	benchImpls(b, func(b *testing.B, im *impl) {
		b.ReportAllocs()
		for b.Loop() {
			for l := 0; l < layers; l++ {
				p := pre[2*d*l:]
				im.gate(dst, p[:d], p[d:2*d])
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	})
}

// TestActivationsSIMDIdentical checks that the AVX-512 and AVX2 kernels
// give the same bits, ragged tails included (they run the same sequence of
// correctly rounded operations), so generation agrees between machines
// with either; the
// pure-Go versions round differently (no fused multiply-add) and are only
// held to the accuracy bound.
func TestActivationsSIMDIdentical(t *testing.T) {
	var simd []*impl
	for _, im := range impls {
		if im != goImpl {
			simd = append(simd, im)
		}
	}
	if len(simd) < 2 {
		t.Skipf("only %d SIMD implementation(s) on this CPU", len(simd))
	}
	rng := rand.New(rand.NewPCG(35, 36))
	xs, gs := activationInputs(rng), activationInputs(rng)
	rng.Shuffle(len(gs), func(i, j int) { gs[i], gs[j] = gs[j], gs[i] })
	n := len(xs) // deliberately not a multiple of 8 or 16
	for _, f := range []struct {
		name string
		run  func(im *impl, dst []float32)
	}{
		{"tanh", func(im *impl, dst []float32) { im.tanh(dst, xs[:n]) }},
		{"sigmoid", func(im *impl, dst []float32) { im.sigmoid(dst, xs[:n]) }},
		{"gate", func(im *impl, dst []float32) { im.gate(dst, xs[:n], gs[:n]) }},
	} {
		want := make([]float32, n)
		f.run(simd[0], want)
		for _, im := range simd[1:] {
			got := make([]float32, n)
			f.run(im, got)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Errorf("%s %s(%g) = %g, %s gives %g", im.name, f.name, xs[i], got[i], simd[0].name, want[i])
					break
				}
			}
		}
	}
}

// TestLongVectors crosses the chunking of long vectors into several
// assembly calls (maxCallElems elements each).
func TestLongVectors(t *testing.T) {
	const n = 1<<16*2 + 37
	rng := rand.New(rand.NewPCG(39, 40))
	x, y := randSlice(rng, n), randSlice(rng, n)
	forEachImpl(t, func(t *testing.T, im *impl) {
		var want float64
		for i := range x {
			want += float64(x[i]) * float64(y[i])
		}
		if got := im.dot(x, y); math.Abs(float64(got)-want) > tol(n, n/2) {
			t.Errorf("dot(n=%d) = %g, want %g", n, got, want)
		}
		got := make([]float32, n)
		im.tanh(got, x)
		for i := range got {
			if d := math.Abs(float64(got[i]) - math.Tanh(float64(x[i]))); d > activationTol {
				t.Fatalf("tanh(n=%d)[%d] = %g, want %g", n, i, got[i], math.Tanh(float64(x[i])))
			}
		}
		im.softmax(got, x)
		var sum float64
		for _, v := range got {
			sum += float64(v)
		}
		// n terms of about 1/n, each within 1e-6 relative.
		if math.Abs(sum-1) > 1e-4 {
			t.Errorf("sum of softmax(n=%d) = %g, want 1", n, sum)
		}
	})
}
