package cache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wavenet-go/wavenet/wavenet"
)

// tol is the largest difference allowed between logits of the cache and of
// the full forward pass: both compute the same sums in float32 in different
// orders over at most a few hundred terms of size ~1, and the cache uses a
// rational tanh good to 1e-6; 1e-4 is the bar.
const tol = 1e-4

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// TestTeacherForcedMatchesForward feeds recorded codes to streams that join
// and leave at different times and compares every step's logits with the
// rows of Forward over each stream's whole sequence.
func TestTeacherForcedMatchesForward(t *testing.T) {
	for _, k := range []int{2, 3} {
		for _, nStreams := range []int{1, 8} {
			t.Run(fmt.Sprintf("K=%d/streams=%d", k, nStreams), func(t *testing.T) {
				cfg := testConfig(k)
				m := randomModel(t, cfg, uint64(10+k))
				rf := cfg.ReceptiveField()
				rng := rand.New(rand.NewPCG(uint64(k), uint64(nStreams)))
				// Each stream runs for more than two receptive fields
				// (2*rf+5 .. 2*rf+40 steps) and starts at a different step;
				// with 8 streams and 6 slots, the last two wait for a slot
				// freed by an earlier stream, so slots are reused.
				type plan struct {
					start int
					cond  []int
					codes []int32
					want  []float32
					slot  int
					done  bool
				}
				plans := make([]*plan, nStreams)
				for i := range plans {
					n := 2*rf + 5 + rng.IntN(36)
					p := &plan{start: 3 * i, cond: []int{rng.IntN(3), rng.IntN(4)}, codes: randomCodes(rng, n, cfg.QuantizationChannels), slot: -1}
					var err error
					p.want, err = m.Forward(context.Background(), nil, p.codes, p.cond)
					if err != nil {
						t.Fatalf("Forward: %v", err)
					}
					plans[i] = p
				}
				slots := min(nStreams, 6)
				g := New(m, slots)
				stepped := make(map[*plan]int)
				Q := cfg.QuantizationChannels
				worst := 0.0
				defer func() { t.Logf("largest logit difference from Forward: %.3g", worst) }()
				for step := 0; ; step++ {
					for _, p := range plans {
						if p.slot < 0 && !p.done && step >= p.start {
							s, err := g.Join(StreamOptions{Cond: p.cond, Greedy: true})
							if errors.Is(err, ErrFull) {
								continue
							}
							if err != nil {
								t.Fatalf("Join: %v", err)
							}
							p.slot = s
						}
					}
					if g.Active() == 0 {
						break
					}
					for _, p := range plans {
						if p.slot >= 0 {
							if err := g.Feed(p.slot, p.codes[stepped[p]]); err != nil {
								t.Fatalf("Feed: %v", err)
							}
						}
					}
					g.Step(nil)
					for i, p := range plans {
						if p.slot < 0 {
							continue
						}
						n := stepped[p]
						got := g.Logits(p.slot)
						d := maxDiff(got, p.want[n*Q:(n+1)*Q])
						worst = max(worst, d)
						if d > tol {
							t.Fatalf("stream %d (slot %d) step %d: logits differ from Forward row by %.3g, want <= %g", i, p.slot, n, d, tol)
						}
						stepped[p] = n + 1
						if n+1 == len(p.codes) {
							g.Leave(p.slot)
							p.slot, p.done = -1, true
						}
					}
				}
				for i, p := range plans {
					if !p.done {
						t.Errorf("stream %d never ran to the end", i)
					}
				}
			})
		}
	}
}

// TestPrimeMatchesFeed primes a stream with n codes in one batched pass
// and checks that its next steps give bit-identical logits to those of a
// stream fed the same codes one step at a time (Prime runs the step's
// products with the window's rows as streams), for n around 1 and around
// the receptive field, with New and NewF16, without and with local
// conditioning (its mels given at Join).
func TestPrimeMatchesFeed(t *testing.T) {
	for _, k := range []int{2, 3} {
		for _, v := range []struct{ half, local bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
			half := v.half
			cfg := testConfig(k)
			m := randomModel(t, cfg, uint64(20+k))
			if v.local {
				cfg = testLocalConfig(k)
				m = randomLocalModel(t, cfg, uint64(20+k))
			}
			rf := cfg.ReceptiveField()
			for _, n := range []int{1, 2, 3, 7, rf - 1, rf, rf + 1, 3*rf + 4} {
				t.Run(fmt.Sprintf("K=%d/f16=%v/local=%v/n=%d", k, half, v.local, n), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(n), uint64(k)))
					codes := randomCodes(rng, n+10, cfg.QuantizationChannels)
					opts := StreamOptions{Cond: []int{2, 1}, Greedy: true}
					if v.local {
						opts.Local = randomMels(rng, (n+10)/localHop+1)
					}
					newGen := New
					if half {
						newGen = NewF16
					}
					g := newGen(m, 2)
					fed, _ := g.Join(opts)
					for i := 0; i < n-1; i++ {
						g.Feed(fed, codes[i])
						g.Step(nil)
					}
					primed, err := g.Join(opts)
					if err != nil {
						t.Fatalf("Join: %v", err)
					}
					if err := g.Prime(context.Background(), primed, codes[:n]); err != nil {
						t.Fatalf("Prime(%d codes): %v", n, err)
					}
					if got := g.Pending(primed); got != codes[n-1] {
						t.Fatalf("Pending after Prime = %d, want %d", got, codes[n-1])
					}
					if got := g.Len(primed); got != n-1 {
						t.Fatalf("Len after Prime = %d, want %d", got, n-1)
					}
					for i := n - 1; i < len(codes); i++ {
						g.Feed(fed, codes[i])
						g.Feed(primed, codes[i])
						g.Step(nil)
						if got, want := g.Logits(primed), g.Logits(fed); !slices.Equal(got, want) {
							t.Fatalf("step at time %d after Prime(%d codes): logits differ from the fed stream's (max %.3g), want bit-identical", i, n, maxDiff(got, want))
						}
					}
				})
			}
		}
	}
}

// TestNaiveMatchesCache draws three receptive fields of samples with the
// cache and with the naive generator (full forward over the receptive
// field every sample) from the same seed, and wants the same codes.
func TestNaiveMatchesCache(t *testing.T) {
	for _, k := range []int{2, 3} {
		cfg := testConfig(k)
		m := randomModel(t, cfg, uint64(30+k))
		rf := cfg.ReceptiveField()
		for _, opts := range []StreamOptions{
			{Cond: []int{0, 3}, Temperature: 1, Seed: 1},
			{Cond: []int{1, 0}, Temperature: 0.7, TopK: 5, Seed: 2},
			{Cond: []int{2, 2}, Greedy: true},
		} {
			t.Run(fmt.Sprintf("K=%d/T=%v/topk=%d/greedy=%v", k, opts.Temperature, opts.TopK, opts.Greedy), func(t *testing.T) {
				g := New(m, 3)
				// A second stream with other options shares the batch, so
				// batching must not change the first stream's draws.
				other, _ := g.Join(StreamOptions{Cond: []int{0, 0}, Temperature: 1.3, Seed: 99})
				_ = other
				slot, err := g.Join(opts)
				if err != nil {
					t.Fatalf("Join: %v", err)
				}
				nv := newNaive(m, opts)
				var dst []int32
				distinct := map[int32]bool{}
				for i := 0; i < 3*rf; i++ {
					dst = stepBoth(t, g, nv, slot, i, dst)
					distinct[dst[slot]] = true
				}
				if !opts.Greedy && len(distinct) < 3 {
					t.Errorf("only %d distinct codes drawn in %d samples: sampling looks stuck", len(distinct), 3*rf)
				}
			})
		}
	}
}

// TestBatchDoesNotChangeStream generates three receptive fields with one
// stream alone and with the same stream among 1 to 16 other streams, and
// wants bit-identical logits and the same codes at every sample: a
// stream's output does not depend on the load. The stream joins at
// different rows; with churn, every 7th step another stream leaves (the
// last row moves into its row, so the stream's row and the batch size
// change) and a new one joins. Channel counts are not multiples of the
// kernels' 16- or 32-row blocks, so their tail paths are covered too.
// (It relies on kernel.MatMulAddPacked computing every output as one fixed
// fma chain, and on the purego build it checks the same for pure Go.) The
// same holds for NewF16, whose binary16 kernels step each stream through
// the same code whatever the batch.
func TestBatchDoesNotChangeStream(t *testing.T) {
	wide := testConfig(3)
	// 2D = 80 rows: two full 32-row panels and a 16-row tail; S = 48, Q = 64.
	wide.ResidualChannels, wide.DilationChannels, wide.SkipChannels, wide.QuantizationChannels = 16, 40, 48, 64
	for _, tc := range []struct {
		name  string
		cfg   wavenet.Config
		newFn func(*wavenet.Model, int) *Generator
	}{
		{"K=2", testConfig(2), New}, {"K=3", testConfig(3), New}, {"wide", wide, New},
		{"K=2/f16", testConfig(2), NewF16}, {"wide/f16", wide, NewF16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.cfg, 41)
			opts := StreamOptions{Cond: []int{1, 1}, Temperature: 1, Seed: 7}
			n := 3 * tc.cfg.ReceptiveField()
			alone := tc.newFn(m, 1)
			s, _ := alone.Join(opts)
			var want []int32
			var wantLogits [][]float32
			var dst []int32
			for i := 0; i < n; i++ {
				dst = alone.Step(dst)
				want = append(want, dst[s])
				wantLogits = append(wantLogits, slices.Clone(alone.Logits(s)))
			}
			other := func(i int) StreamOptions {
				return StreamOptions{Cond: []int{i % 3, i % 4}, Temperature: 0.5, TopK: 3, Seed: uint64(100 + i)}
			}
			for others := 1; others <= 16; others++ {
				for _, churn := range []bool{false, true} {
					// The stream joins after `before` others: first,
					// last, or in between.
					before := (others * 5) % (others + 1)
					g := tc.newFn(m, others+1)
					for i := 0; i < before; i++ {
						g.Join(other(i))
					}
					slot, err := g.Join(opts)
					if err != nil {
						t.Fatal(err)
					}
					for i := before; i < others; i++ {
						g.Join(other(i))
					}
					joined := others
					dst = nil
					for i := 0; i < n; i++ {
						if churn && i%7 == 6 {
							leave := (slot + 1 + i%others) % (others + 1)
							g.Leave(leave)
							if _, err := g.Join(other(joined)); err != nil {
								t.Fatal(err)
							}
							joined++
						}
						dst = g.Step(dst)
						if got := g.Logits(slot); !slices.Equal(got, wantLogits[i]) {
							t.Fatalf("with %d others (churn %v), sample %d: logits differ from the stream alone (max %.3g)", others, churn, i, maxDiff(got, wantLogits[i]))
						}
						if dst[slot] != want[i] {
							t.Fatalf("with %d others (churn %v), sample %d = %d, alone = %d", others, churn, i, dst[slot], want[i])
						}
					}
				}
			}
		})
	}
}

// TestJoinTimeDoesNotChangeStream starts the same stream in a fresh
// generator and in one that has already stepped another stream 1 to 3
// times (so its queues sit at other ring positions and, with NewF16, its
// odd steps walk the big products' rows backwards), and wants
// bit-identical logits over three receptive fields.
func TestJoinTimeDoesNotChangeStream(t *testing.T) {
	big := testConfig(2)
	// S = 136 and Q = 128 rows: at least 4 chunks of halfChunk rows, so
	// NewF16 walks them backwards on odd steps, with an 8-row tail.
	big.ResidualChannels, big.DilationChannels, big.SkipChannels, big.QuantizationChannels = 16, 24, 136, 128
	for _, tc := range []struct {
		name  string
		cfg   wavenet.Config
		newFn func(*wavenet.Model, int) *Generator
	}{{"K=3", testConfig(3), New}, {"big", big, New}, {"K=3/f16", testConfig(3), NewF16}, {"big/f16", big, NewF16}} {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.cfg, 43)
			opts := StreamOptions{Cond: []int{2, 3}, Temperature: 1, Seed: 5}
			n := 3 * tc.cfg.ReceptiveField()
			run := func(lag int) [][]float32 {
				g := tc.newFn(m, 2)
				if lag > 0 {
					other, _ := g.Join(StreamOptions{Cond: []int{0, 0}, Greedy: true})
					for i := 0; i < lag; i++ {
						g.Step(nil)
					}
					g.Leave(other)
				}
				s, err := g.Join(opts)
				if err != nil {
					t.Fatal(err)
				}
				var out [][]float32
				for i := 0; i < n; i++ {
					g.Step(nil)
					out = append(out, slices.Clone(g.Logits(s)))
				}
				return out
			}
			want := run(0)
			for lag := 1; lag <= 3; lag++ {
				got := run(lag)
				for i := range want {
					if !slices.Equal(got[i], want[i]) {
						t.Fatalf("joined after %d steps, sample %d: logits differ from a fresh generator's (max %.3g)", lag, i, maxDiff(got[i], want[i]))
					}
				}
			}
		})
	}
}

func TestJoinErrors(t *testing.T) {
	m := randomModel(t, testConfig(2), 1)
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	for _, tc := range []struct {
		name string
		opts StreamOptions
	}{
		{"NaN temperature", StreamOptions{Cond: []int{0, 0}, Temperature: nan}},
		{"zero temperature", StreamOptions{Cond: []int{0, 0}}},
		{"negative temperature", StreamOptions{Cond: []int{0, 0}, Temperature: -1}},
		{"infinite temperature", StreamOptions{Cond: []int{0, 0}, Temperature: inf}},
		{"temperature whose inverse overflows", StreamOptions{Cond: []int{0, 0}, Temperature: 1e-40}},
		{"negative top-k", StreamOptions{Cond: []int{0, 0}, Temperature: 1, TopK: -1}},
		{"missing condition", StreamOptions{Cond: []int{0}, Temperature: 1}},
		{"condition out of range", StreamOptions{Cond: []int{3, 0}, Temperature: 1}},
	} {
		g := New(m, 1)
		if s, err := g.Join(tc.opts); err == nil {
			t.Errorf("Join(%s) = slot %d, nil error; want an error", tc.name, s)
		}
		if g.Active() != 0 {
			t.Errorf("Join(%s) failed but left %d active streams", tc.name, g.Active())
		}
	}
	var ie *wavenet.InputError
	if _, err := New(m, 1).Join(StreamOptions{Cond: []int{0, 9}, Greedy: true}); !errors.As(err, &ie) {
		t.Errorf("Join(bad condition) error = %v, want a *wavenet.InputError", err)
	}
	// Greedy needs no temperature.
	g := New(m, 2)
	if _, err := g.Join(StreamOptions{Cond: []int{0, 0}, Greedy: true}); err != nil {
		t.Errorf("Join(greedy, zero temperature) = %v, want nil", err)
	}
	if _, err := g.Join(StreamOptions{Cond: []int{0, 0}, Greedy: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Join(StreamOptions{Cond: []int{0, 0}, Greedy: true}); !errors.Is(err, ErrFull) {
		t.Errorf("Join on a full generator = %v, want ErrFull", err)
	}
	g.Leave(0)
	g.Leave(0) // a second Leave is a no-op
	if s, err := g.Join(StreamOptions{Cond: []int{0, 0}, Greedy: true}); err != nil || s != 0 {
		t.Errorf("Join after Leave(0) = %d, %v; want slot 0", s, err)
	}
	if err := g.Feed(0, 32); err == nil {
		t.Errorf("Feed(code 32) with Q=32 = nil, want an error")
	}
}

func TestPrimeErrors(t *testing.T) {
	m := randomModel(t, testConfig(2), 1)
	g := New(m, 2)
	s, _ := g.Join(StreamOptions{Cond: []int{0, 0}, Greedy: true})
	if err := g.Prime(context.Background(), s, []int32{1, 2, 40}); err == nil {
		t.Errorf("Prime(code 40, Q=32) = nil, want an error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Prime(ctx, s, randomCodes(rand.New(rand.NewPCG(1, 1)), 100, 32)); !errors.Is(err, context.Canceled) {
		t.Errorf("Prime(cancelled ctx) = %v, want context.Canceled", err)
	}
	g.Step(nil)
	if err := g.Prime(context.Background(), s, []int32{1, 2}); err == nil {
		t.Errorf("Prime after Step = nil, want an error (stream not fresh)")
	}
	if err := g.Prime(context.Background(), 1, []int32{1, 2}); err == nil {
		t.Errorf("Prime(inactive slot) = nil, want an error")
	}
}

func TestStepDoesNotAllocate(t *testing.T) {
	m := randomModel(t, testConfig(3), 1)
	for _, n := range []int{1, 4} {
		g := New(m, 4)
		for i := 0; i < n; i++ {
			g.Join(StreamOptions{Cond: []int{0, 0}, Temperature: 1, TopK: 4, Seed: uint64(i)})
		}
		dst := make([]int32, 4)
		if a := testing.AllocsPerRun(100, func() { g.Step(dst) }); a != 0 {
			t.Errorf("Step with %d streams: %v allocations, want 0", n, a)
		}
	}
}

// TestNoBiasesNoConditions runs a model without biases or conditions
// (UseBiases false leaves every bias nil) against Forward.
func TestNoBiasesNoConditions(t *testing.T) {
	cfg := testConfig(3)
	cfg.UseBiases = false
	cfg.Conditions = nil
	m := randomModel(t, cfg, 51)
	rng := rand.New(rand.NewPCG(5, 5))
	codes := randomCodes(rng, 2*cfg.ReceptiveField()+9, cfg.QuantizationChannels)
	want, err := m.Forward(context.Background(), nil, codes, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := New(m, 2)
	s, err := g.Join(StreamOptions{Greedy: true})
	if err != nil {
		t.Fatal(err)
	}
	Q := cfg.QuantizationChannels
	for i, c := range codes {
		g.Feed(s, c)
		g.Step(nil)
		if d := maxDiff(g.Logits(s), want[i*Q:(i+1)*Q]); d > tol {
			t.Fatalf("step %d: logits differ from Forward by %.3g, want <= %g", i, d, tol)
		}
	}
}

// TestF16MatchesForward checks NewF16 teacher-forced over more than two
// receptive fields, for K = 2 and 3 and 1 and 4 streams, one of them
// primed with its first receptive field: its logits must equal Forward of
// the generator's own model (the weights rounded to binary16) within tol,
// like New's, and Forward of the original float32 model within tolF16.
func TestF16MatchesForward(t *testing.T) {
	// tolF16 bounds the effect of rounding the weights to binary16
	// (relative error up to 2^-11 each) on logits of size ~1 made of a few
	// hundred such terms through the layers; this test sees about 1e-3.
	const tolF16 = 1e-2
	for _, k := range []int{2, 3} {
		for _, nStreams := range []int{1, 4} {
			t.Run(fmt.Sprintf("K=%d/streams=%d", k, nStreams), func(t *testing.T) {
				cfg := testConfig(k)
				m := randomModel(t, cfg, uint64(70+k))
				g := NewF16(m, nStreams)
				r := g.Model()
				if r == m {
					t.Fatal("NewF16(m).Model() is m, want a rounded copy")
				}
				rf := cfg.ReceptiveField()
				n := 2*rf + 11
				rng := rand.New(rand.NewPCG(uint64(k), 7))
				codes := make([][]int32, nStreams)
				want := make([][]float32, nStreams)
				want32 := make([][]float32, nStreams)
				start := make([]int, nStreams)
				for i := range codes {
					cond := []int{i % 3, (i + 1) % 4}
					codes[i] = randomCodes(rng, n, cfg.QuantizationChannels)
					var err error
					if want[i], err = r.Forward(context.Background(), nil, codes[i], cond); err != nil {
						t.Fatal(err)
					}
					if want32[i], err = m.Forward(context.Background(), nil, codes[i], cond); err != nil {
						t.Fatal(err)
					}
					s, err := g.Join(StreamOptions{Cond: cond, Greedy: true})
					if err != nil || s != i {
						t.Fatalf("Join = %d, %v; want slot %d", s, err, i)
					}
					if i == nStreams-1 {
						// Primed with codes[0..rf-1]: its first step feeds codes[rf-1].
						if err := g.Prime(context.Background(), s, codes[i][:rf]); err != nil {
							t.Fatal(err)
						}
						start[i] = rf - 1
					}
				}
				Q := cfg.QuantizationChannels
				worst, worst32 := 0.0, 0.0
				for step := 0; step < n-rf+1; step++ {
					for i := range codes {
						g.Feed(i, codes[i][start[i]+step])
					}
					g.Step(nil)
					for i := range codes {
						row := (start[i] + step) * Q
						d := maxDiff(g.Logits(i), want[i][row:row+Q])
						d32 := maxDiff(g.Logits(i), want32[i][row:row+Q])
						worst, worst32 = max(worst, d), max(worst32, d32)
						if d > tol {
							t.Fatalf("stream %d time %d: logits differ from the rounded model's Forward by %.3g, want <= %g", i, start[i]+step, d, tol)
						}
						if d32 > tolF16 {
							t.Fatalf("stream %d time %d: logits differ from the float32 model's Forward by %.3g, want <= %g", i, start[i]+step, d32, tolF16)
						}
					}
				}
				t.Logf("largest logit difference from Forward: %.3g (rounded model), %.3g (float32 model)", worst, worst32)
			})
		}
	}
}
