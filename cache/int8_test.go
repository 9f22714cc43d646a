package cache

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// klBits returns KL(softmax(p) || softmax(q)) in bits for one row of
// logits.
func klBits(p, q []float32) float64 {
	lse := func(x []float32) float64 {
		m := math.Inf(-1)
		for _, v := range x {
			m = max(m, float64(v))
		}
		s := 0.0
		for _, v := range x {
			s += math.Exp(float64(v) - m)
		}
		return m + math.Log(s)
	}
	lp, lq := lse(p), lse(q)
	kl := 0.0
	for i := range p {
		a, b := float64(p[i])-lp, float64(q[i])-lq
		kl += math.Exp(a) * (a - b)
	}
	return kl / math.Ln2
}

// TestInt8TeacherForced feeds recorded codes to four streams of an int8
// generator and compares every step's logits with the rows of the fp32
// Forward pass, of the original model and of the model with the
// dequantized int8 weights (Model()).
func TestInt8TeacherForced(t *testing.T) {
	for _, k := range []int{2, 3} {
		t.Run(fmt.Sprintf("K=%d", k), func(t *testing.T) {
			cfg := testConfig(k)
			m := randomModel(t, cfg, uint64(20+k))
			g := NewInt8(m, 4)
			dq := g.Model()
			rng := rand.New(rand.NewPCG(uint64(k), 7))
			n := 2*cfg.ReceptiveField() + 10
			Q := cfg.QuantizationChannels
			type stream struct {
				slot         int
				codes        []int32
				want, wantDQ []float32
				cond         []int
			}
			var ss []*stream
			for i := 0; i < 4; i++ {
				s := &stream{cond: []int{rng.IntN(3), rng.IntN(4)}, codes: randomCodes(rng, n, Q)}
				var err error
				if s.want, err = m.Forward(context.Background(), nil, s.codes, s.cond); err != nil {
					t.Fatal(err)
				}
				if s.wantDQ, err = dq.Forward(context.Background(), nil, s.codes, s.cond); err != nil {
					t.Fatal(err)
				}
				if s.slot, err = g.Join(StreamOptions{Cond: s.cond, Greedy: true}); err != nil {
					t.Fatal(err)
				}
				ss = append(ss, s)
			}
			var worstDQ, worstKL, sumKL float64
			rows := 0
			for step := 0; step < n; step++ {
				for _, s := range ss {
					if err := g.Feed(s.slot, s.codes[step]); err != nil {
						t.Fatal(err)
					}
				}
				g.Step(nil)
				for _, s := range ss {
					got := g.Logits(s.slot)
					worstDQ = max(worstDQ, maxDiff(got, s.wantDQ[step*Q:(step+1)*Q]))
					kl := klBits(s.want[step*Q:(step+1)*Q], got)
					worstKL = max(worstKL, kl)
					sumKL += kl
					rows++
				}
			}
			meanKL := sumKL / float64(rows)
			t.Logf("int8 vs fp32 Forward: mean KL %.2g bits, max %.2g; vs dequantized-weight Forward: max logit difference %.3g", meanKL, worstKL, worstDQ)
			// Against the dequantized-weight model the only error left is
			// the activations' rounding: each product input is off by at
			// most half a step of max|x|/127 (0.4% of its largest
			// element); through 8 layers and 3 output products on logits
			// of size O(1) that gave at most 0.03 here; 0.1 leaves room for
			// other seeds while still catching a wrong scale or a lost
			// term (errors of O(1)).
			if worstDQ > 0.1 {
				t.Errorf("largest logit difference from the dequantized model's Forward = %.3g, want <= 0.1", worstDQ)
			}
			// Against fp32, the mean KL divergence of the predicted
			// distributions is the expected increase in bits per sample
			// that int8 costs when the fp32 model is right; issue 9's bar is
			// 0.05 bits/sample on real data, so this test asks 0.01 on a
			// random model.
			if meanKL > 0.01 {
				t.Errorf("mean KL(fp32 || int8) = %.3g bits per sample, want <= 0.01", meanKL)
			}
		})
	}
}

func TestInt8StepDoesNotAllocate(t *testing.T) {
	m := randomModel(t, testConfig(2), 3)
	g := NewInt8(m, 4)
	for i := 0; i < 3; i++ {
		if _, err := g.Join(StreamOptions{Cond: []int{i % 3, i % 4}, Temperature: 1, Seed: uint64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	dst := g.Step(nil)
	if a := testing.AllocsPerRun(10, func() { dst = g.Step(dst) }); a != 0 {
		t.Errorf("Int8Generator.Step allocates %v times per call, want 0", a)
	}
}

// BenchmarkInt8Step compares the int8 generator with the float32 one in
// the same run: one op is one Step of every stream. cpu-samples/s (per CPU
// second of the benchmark's thread) is the steadier number on a shared
// machine.
func BenchmarkInt8Step(b *testing.B) {
	for _, bc := range []struct {
		preset  string
		streams int
	}{{"small", 1}, {"small", 16}, {"ibab", 1}, {"ibab", 16}} {
		for _, kind := range []string{"fp32", "int8"} {
			b.Run(fmt.Sprintf("%s/streams=%d/%s", bc.preset, bc.streams, kind), func(b *testing.B) {
				m := presetModel(b, bc.preset)
				var step func([]int32) []int32
				var join func(StreamOptions) (int, error)
				if kind == "int8" {
					g := NewInt8(m, bc.streams)
					step, join = g.Step, g.Join
				} else {
					g := New(m, bc.streams)
					step, join = g.Step, g.Join
				}
				for i := 0; i < bc.streams; i++ {
					if _, err := join(StreamOptions{Temperature: 1, Seed: uint64(i)}); err != nil {
						b.Fatal(err)
					}
				}
				dst := step(make([]int32, bc.streams))
				b.ReportAllocs()
				b.ResetTimer()
				cpu := threadCPU(b)
				for i := 0; i < b.N; i++ {
					dst = step(dst)
				}
				reportRate(b, b.N*bc.streams)
				b.ReportMetric(float64(b.N*bc.streams)/cpu(), "cpu-samples/s")
			})
		}
	}
}

// TestInt8Guided: the int8 generator's guided streams follow the same
// rule as the float32 one's. Teacher-forced with the same codes, a stream
// whose guide scores and one guided with weight 2 give, at every step,
// logits z + 2 (z - z0) computed from the plain streams of Cond and
// GuideCond beside them, and a GuideScore equal to the sum of the
// plain streams' log-probability differences.
func TestInt8Guided(t *testing.T) {
	cfg := testConfig(2)
	cfg.Conditions[1].Null = true
	m := randomModel(t, cfg, 31)
	g := NewInt8(m, 8)
	cond, gc := []int{1, 2}, []int{1, 4}
	z, _ := g.Join(StreamOptions{Cond: cond, Temperature: 1})
	z0, _ := g.Join(StreamOptions{Cond: gc, Temperature: 1})
	scored, _ := g.Join(StreamOptions{Cond: cond, Temperature: 1, GuideCond: gc})
	guided, err := g.Join(StreamOptions{Cond: cond, Temperature: 1, GuideCond: gc, Guidance: 2})
	if err != nil {
		t.Fatal(err)
	}
	codes := randomCodes(rand.New(rand.NewPCG(4, 4)), 2*cfg.ReceptiveField(), cfg.QuantizationChannels)
	var want float64
	for i, c := range codes {
		for _, s := range []int{z, z0, scored, guided} {
			if err := g.Feed(s, c); err != nil {
				t.Fatal(err)
			}
		}
		dst := g.Step(nil)
		lz, lz0 := g.Logits(z), g.Logits(z0)
		mixed := make([]float32, len(lz))
		for j := range mixed {
			mixed[j] = lz[j] + 2*(lz[j]-lz0[j])
		}
		if d := maxDiff(g.Logits(guided), mixed); d > 1e-4 {
			t.Fatalf("step %d: guided logits differ from z + 2 (z - z0) by %.3g", i, d)
		}
		d := dst[scored] // the code the scored stream drew: the score's
		want += logSoftmax64(lz, d) - logSoftmax64(lz0, d)
	}
	if got := g.GuideScore(scored); math.Abs(got-want) > 1e-4*float64(len(codes)) || want == 0 {
		t.Errorf("GuideScore = %.6f, want %.6f from the plain streams", got, want)
	}
}
