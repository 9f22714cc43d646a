package cache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// guidedNaive is the reference for a guided stream: every sample it runs
// the full forward pass under Cond and under GuideCond, mixes the last
// rows as z + w (z - z0) and draws from that with the stream's sampler
// and seeding.
type guidedNaive struct {
	n, guide *naive
	score    float64 // sum of log p(c | Cond) - log p(c | GuideCond)
}

// logSoftmax64 returns log softmax(z)[c] in float64.
func logSoftmax64(z []float32, c int32) float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = max(m, float64(v))
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v) - m)
	}
	return float64(z[c]) - m - math.Log(s)
}

func (gn *guidedNaive) step(ctx context.Context) (int32, []float32, error) {
	n := gn.n
	rf := n.m.Config.ReceptiveField()
	win := n.codes[max(0, len(n.codes)-rf):]
	q := n.m.Config.QuantizationChannels
	var err error
	if n.buf, err = n.m.Forward(ctx, n.buf, win, n.opts.Cond); err != nil {
		return 0, nil, err
	}
	if gn.guide.buf, err = n.m.Forward(ctx, gn.guide.buf, win, n.opts.GuideCond); err != nil {
		return 0, nil, err
	}
	z, z0 := n.buf[(len(win)-1)*q:], gn.guide.buf[(len(win)-1)*q:]
	mixed := make([]float32, q)
	for i := range mixed {
		mixed[i] = z[i] + n.opts.Guidance*(z[i]-z0[i])
	}
	c := n.smp.sample(mixed, n.opts.Temperature, n.opts.TopK, n.opts.Greedy, &n.rng)
	n.codes = append(n.codes, c)
	gn.score += logSoftmax64(z, c) - logSoftmax64(z0, c)
	return c, mixed, nil
}

// TestGuidedMatchesNaive primes a guided stream (the digit's null row as
// the guide) and draws three receptive fields from it beside an unguided
// stream, and wants the reference's guided logits (within tol) and the
// same codes at every sample.
func TestGuidedMatchesNaive(t *testing.T) {
	for _, k := range []int{2, 3} {
		for _, w := range []float32{0.5, 2} {
			t.Run(fmt.Sprintf("K=%d/w=%v", k, w), func(t *testing.T) {
				cfg := testConfig(k)
				cfg.Conditions[0].Null = true
				cfg.Conditions[1].Null = true
				m := randomModel(t, cfg, uint64(40+k))
				rf := cfg.ReceptiveField()
				opts := StreamOptions{Cond: []int{1, 2}, Temperature: 1, Seed: 7, Guidance: w,
					GuideCond: []int{1, cfg.Conditions[1].NullIndex()}}
				g := New(m, 4)
				if _, err := g.Join(StreamOptions{Cond: []int{0, 0}, Temperature: 1.3, Seed: 99}); err != nil {
					t.Fatal(err)
				}
				slot, err := g.Join(opts)
				if err != nil {
					t.Fatalf("Join(guided): %v", err)
				}
				if g.Active() != 3 {
					t.Fatalf("Active() = %d after one plain and one guided Join, want 3 (the guide stream counts)", g.Active())
				}
				prime := randomCodes(rand.New(rand.NewPCG(uint64(k), 5)), rf+3, cfg.QuantizationChannels)
				if err := g.Prime(context.Background(), slot, prime); err != nil {
					t.Fatalf("Prime: %v", err)
				}
				gn := &guidedNaive{n: newNaive(m, opts), guide: newNaive(m, opts)}
				gn.n.codes = append([]int32(nil), prime...)
				var dst []int32
				distinct := map[int32]bool{}
				for i := 0; i < 3*rf; i++ {
					dst = g.Step(dst)
					want, wantLogits, err := gn.step(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					if d := maxDiff(g.Logits(slot), wantLogits); d > tol*(1+2*float64(w)) {
						t.Fatalf("sample %d: guided logits differ from the reference by %.3g, want <= %g", i, d, tol*(1+2*float64(w)))
					}
					if dst[slot] != want {
						t.Fatalf("sample %d: cache drew %d, reference drew %d", i, dst[slot], want)
					}
					distinct[want] = true
				}
				if len(distinct) < 3 {
					t.Errorf("only %d distinct codes drawn: sampling looks stuck", len(distinct))
				}
				// exp32 and float32 sums against float64: 1e-4 per code.
				if got, want := g.GuideScore(slot), gn.score; math.Abs(got-want) > 1e-4*float64(3*rf) || want == 0 {
					t.Errorf("GuideScore = %.6f, reference %.6f (want within %g, and non-zero)", got, want, 1e-4*float64(3*rf))
				}
				// Guidance must change what is drawn: the guided logits are
				// not the stream's own.
				plain := newNaive(m, StreamOptions{Cond: opts.Cond, Temperature: 1, Seed: 7})
				plain.codes = append([]int32(nil), gn.n.codes[:len(gn.n.codes)-1]...)
				_, own, _ := plain.step(context.Background())
				if d := maxDiff(g.Logits(slot), own); d < 1e-3 {
					t.Errorf("guided logits equal the unguided ones (max diff %.3g): guidance had no effect", d)
				}
			})
		}
	}
}

// TestGuidedSlots checks that a guided stream takes two slots, that its
// guide slot is not the caller's, and that Leave frees both.
func TestGuidedSlots(t *testing.T) {
	cfg := testConfig(2)
	cfg.Conditions[1].Null = true
	m := randomModel(t, cfg, 3)
	guided := StreamOptions{Cond: []int{0, 1}, Temperature: 1, Guidance: 1, GuideCond: []int{0, 4}}
	if _, err := New(m, 1).Join(guided); !errors.Is(err, ErrFull) {
		t.Errorf("guided Join with one slot = %v, want ErrFull", err)
	}
	g := New(m, 3)
	s, err := g.Join(guided)
	if err != nil {
		t.Fatal(err)
	}
	guide := g.streams[s].guide
	if guide < 0 || guide == s || !g.streams[guide].hidden {
		t.Fatalf("guided stream in slot %d has guide slot %d, want another, hidden slot", s, guide)
	}
	if _, err := g.Join(guided); !errors.Is(err, ErrFull) {
		t.Errorf("second guided Join with one slot free = %v, want ErrFull", err)
	}
	if err := g.Feed(guide, 1); err == nil {
		t.Errorf("Feed(guide slot) = nil, want an error")
	}
	if err := g.Prime(context.Background(), guide, []int32{1, 2}); err == nil {
		t.Errorf("Prime(guide slot) = nil, want an error")
	}
	g.Leave(guide) // not the caller's: a no-op
	if g.Active() != 2 {
		t.Fatalf("Active() = %d after Leave(guide slot), want 2", g.Active())
	}
	if err := g.Feed(s, 5); err != nil {
		t.Fatal(err)
	}
	if g.Pending(guide) != 5 {
		t.Errorf("guide's pending code = %d after Feed(5), want 5", g.Pending(guide))
	}
	// A cancelled Prime leaves both streams fresh.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Prime(ctx, s, []int32{1, 2, 3}); !errors.Is(err, context.Canceled) {
		t.Errorf("Prime(cancelled) = %v, want context.Canceled", err)
	}
	if g.Len(s) != 0 || g.Len(guide) != 0 {
		t.Errorf("Len after a cancelled Prime = %d, %d (stream, guide), want 0, 0", g.Len(s), g.Len(guide))
	}
	g.Leave(s)
	if g.Active() != 0 {
		t.Fatalf("Active() = %d after Leave(guided stream), want 0", g.Active())
	}
	for range 3 {
		if _, err := g.Join(StreamOptions{Cond: []int{0, 0}, Greedy: true}); err != nil {
			t.Fatalf("Join after the guided stream left: %v (its slots were not freed)", err)
		}
	}

	nan := float32(math.NaN())
	for _, tc := range []struct {
		name string
		opts StreamOptions
	}{
		{"negative guidance", StreamOptions{Cond: []int{0, 0}, Temperature: 1, Guidance: -1, GuideCond: []int{0, 4}}},
		{"NaN guidance", StreamOptions{Cond: []int{0, 0}, Temperature: 1, Guidance: nan, GuideCond: []int{0, 4}}},
		{"guidance without guide conditions", StreamOptions{Cond: []int{0, 0}, Temperature: 1, Guidance: 1}},
		{"guide condition out of range", StreamOptions{Cond: []int{0, 0}, Temperature: 1, Guidance: 1, GuideCond: []int{0, 5}}},
	} {
		g := New(m, 2)
		if s, err := g.Join(tc.opts); err == nil {
			t.Errorf("Join(%s) = slot %d, nil error; want an error", tc.name, s)
		}
		if g.Active() != 0 {
			t.Errorf("Join(%s) failed but left %d active streams", tc.name, g.Active())
		}
	}
}

// TestGuideWithoutGuidance: a guide with weight 0 only scores: the stream
// draws what an unguided stream with the same seed draws, and its score
// is the reference's.
func TestGuideWithoutGuidance(t *testing.T) {
	cfg := testConfig(2)
	cfg.Conditions[1].Null = true
	m := randomModel(t, cfg, 8)
	rf := cfg.ReceptiveField()
	plainOpts := StreamOptions{Cond: []int{2, 3}, Temperature: 1, Seed: 11}
	scored := plainOpts
	scored.GuideCond = []int{2, 4}
	g := New(m, 3)
	plain, _ := g.Join(plainOpts)
	s, err := g.Join(scored)
	if err != nil {
		t.Fatal(err)
	}
	gn := &guidedNaive{n: newNaive(m, scored), guide: newNaive(m, scored)}
	var dst []int32
	for i := 0; i < 2*rf; i++ {
		dst = g.Step(dst)
		want, _, err := gn.step(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if dst[s] != dst[plain] || dst[s] != want {
			t.Fatalf("sample %d: scored stream drew %d, plain stream %d, reference %d; want all equal", i, dst[s], dst[plain], want)
		}
	}
	if got, want := g.GuideScore(s), gn.score; math.Abs(got-want) > 1e-4*float64(2*rf) || want == 0 {
		t.Errorf("GuideScore = %.6f, reference %.6f", got, want)
	}
	if g.GuideScore(plain) != 0 {
		t.Errorf("GuideScore of a stream without a guide = %v, want 0", g.GuideScore(plain))
	}
}
