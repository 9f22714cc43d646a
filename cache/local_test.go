package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wavenet-go/wavenet/wavenet"
)

// localChannels and localHop are testLocalConfig's mel size and hop: 5
// channels (not a multiple of any SIMD width), hop 6 = 2*3 with kernels
// two input rows wide, so both upsampling layers overlap frames.
const localChannels, localHop = 5, 6

// testLocalConfig is testConfig(k) with local conditioning.
func testLocalConfig(k int) wavenet.Config {
	cfg := testConfig(k)
	cfg.Local = &wavenet.LocalConfig{Channels: localChannels, Hop: localHop, Scales: []int{2, 3}, Width: 2}
	return cfg
}

// testLocalConfigNet is testLocalConfig(k) with upsampling layers of kind
// net: repeat-conv2d ones of frequency width 3.
func testLocalConfigNet(k int, net string) wavenet.Config {
	cfg := testLocalConfig(k)
	if net == wavenet.UpsampleRepeatConv2D {
		cfg.Local.Net, cfg.Local.FreqWidth = net, 3
	}
	return cfg
}

// upsampleNets are the kinds of upsampling network.
var upsampleNets = []string{wavenet.UpsampleTransposed, wavenet.UpsampleRepeatConv2D}

// randomLocalModel is randomModel with the upsampling kernels uniform in
// [-0.5, 0.5) too (New starts them as a smoothed repeat or a moving
// average).
func randomLocalModel(tb testing.TB, cfg wavenet.Config, seed uint64) *wavenet.Model {
	m := randomModel(tb, cfg, seed)
	rng := rand.New(rand.NewPCG(seed, 9))
	for _, p := range m.Params() {
		if p.Init == wavenet.InitUpsample || p.Init == wavenet.InitMean {
			for i := range p.Data {
				p.Data[i] = float32(rng.Float64() - 0.5)
			}
		}
	}
	return m
}

// randomMels returns frames of localChannels standard normal values.
func randomMels(rng *rand.Rand, frames int) []float32 {
	return randomFrames(rng, frames, localChannels)
}

func randomFrames(rng *rand.Rand, frames, c int) []float32 {
	v := make([]float32, frames*c)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// TestNaiveMatchesCacheLocal is TestNaiveMatchesCache for a model with
// local conditioning: the cache's stream gets its mel frames while it
// generates (a few frames at Join, then `chunk` frames whenever it has
// used up its conditioning), the naive generator upsamples all of them at
// once; both draw from the same seed and must draw the same codes, with
// the logits within tol (the products sum in another order). Another
// stream with its own mels shares the batch. Both kinds of upsampling.
func TestNaiveMatchesCacheLocal(t *testing.T) {
	for _, tc := range []struct {
		net      string
		k, chunk int
	}{
		{wavenet.UpsampleTransposed, 2, 1}, {wavenet.UpsampleTransposed, 2, 3},
		{wavenet.UpsampleTransposed, 3, 1}, {wavenet.UpsampleTransposed, 3, 3},
		{wavenet.UpsampleRepeatConv2D, 2, 1}, {wavenet.UpsampleRepeatConv2D, 3, 3},
	} {
		k, chunk := tc.k, tc.chunk
		t.Run(fmt.Sprintf("%s/K=%d/chunk=%d", tc.net, k, chunk), func(t *testing.T) {
			cfg := testLocalConfigNet(k, tc.net)
			m := randomLocalModel(t, cfg, uint64(40+k))
			rf := cfg.ReceptiveField()
			n := 3 * rf
			frames := n/localHop + 1
			rng := rand.New(rand.NewPCG(uint64(k), uint64(chunk)))
			mels := randomMels(rng, frames)
			g := New(m, 3)
			if _, err := g.Join(StreamOptions{Cond: []int{0, 0}, Temperature: 1.3, Seed: 99, Local: randomMels(rng, frames)}); err != nil {
				t.Fatal(err)
			}
			opts := StreamOptions{Cond: []int{1, 3}, Temperature: 1, Seed: 7}
			nv := newNaive(m, opts)
			var err error
			if nv.local, err = m.Upsample(nil, mels); err != nil {
				t.Fatal(err)
			}
			opts.Local = mels[:2*localChannels]
			slot, err := g.Join(opts)
			if err != nil {
				t.Fatal(err)
			}
			pushed := 2
			var dst []int32
			distinct := map[int32]bool{}
			for i := 0; i < n; i++ {
				if g.Buffered(slot) == 0 {
					next := min(frames, pushed+chunk)
					if err := g.PushLocal(slot, mels[pushed*localChannels:next*localChannels]); err != nil {
						t.Fatal(err)
					}
					pushed = next
				}
				dst = stepBoth(t, g, nv, slot, i, dst)
				distinct[dst[slot]] = true
			}
			if len(distinct) < 3 {
				t.Errorf("only %d distinct codes drawn in %d samples: sampling looks stuck", len(distinct), n)
			}
		})
	}
}

// TestInt8Local feeds recorded codes and mels to two streams of an int8
// generator and compares the logits with ForwardLocal of its dequantized
// model, with TestInt8TeacherForced's bound (activation rounding only:
// the local projection stays float32).
func TestInt8Local(t *testing.T) {
	for _, net := range upsampleNets {
		t.Run(net, func(t *testing.T) { testInt8Local(t, testLocalConfigNet(3, net)) })
	}
}

func testInt8Local(t *testing.T, cfg wavenet.Config) {
	ctx := context.Background()
	m := randomLocalModel(t, cfg, 60)
	g := NewInt8(m, 2)
	dq := g.Model()
	rng := rand.New(rand.NewPCG(60, 1))
	n := 2*cfg.ReceptiveField() + 10
	Q := cfg.QuantizationChannels
	type stream struct {
		slot  int
		codes []int32
		want  []float32
	}
	var ss []stream
	for i := 0; i < 2; i++ {
		mels := randomMels(rng, n/localHop+1)
		s := stream{codes: randomCodes(rng, n, Q)}
		var err error
		if s.want, err = dq.ForwardMels(ctx, nil, s.codes, []int{i, 1}, mels); err != nil {
			t.Fatal(err)
		}
		if s.slot, err = g.Join(StreamOptions{Cond: []int{i, 1}, Greedy: true, Local: mels}); err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	var worst float64
	for step := 0; step < n; step++ {
		for _, s := range ss {
			g.Feed(s.slot, s.codes[step])
		}
		g.Step(nil)
		for _, s := range ss {
			worst = max(worst, maxDiff(g.Logits(s.slot), s.want[step*Q:(step+1)*Q]))
		}
	}
	if worst > 0.1 {
		t.Errorf("int8 logits differ from the dequantized model's ForwardMels by %.3g, want <= 0.1", worst)
	}
}

func TestLocalErrors(t *testing.T) {
	m := randomLocalModel(t, testLocalConfig(2), 70)
	g := New(m, 2)
	var le *wavenet.LocalError
	if _, err := g.Join(StreamOptions{Cond: []int{0, 0}, Greedy: true, Local: make([]float32, localChannels+1)}); !errors.As(err, &le) {
		t.Errorf("Join with a partial frame: error %v, want a *wavenet.LocalError", err)
	}
	slot, err := g.Join(StreamOptions{Cond: []int{0, 0}, Greedy: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Buffered(slot); got != 0 {
		t.Errorf("Buffered with no frames = %d, want 0", got)
	}
	if err := g.PushLocal(slot, make([]float32, 2)); !errors.As(err, &le) {
		t.Errorf("PushLocal of a partial frame: error %v, want a *wavenet.LocalError", err)
	}
	if err := g.Prime(context.Background(), slot, make([]int32, 3)); !errors.As(err, &le) {
		t.Errorf("Prime of 3 codes without frames: error %v, want a *wavenet.LocalError", err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("Step of a stream without conditioning did not panic")
			}
		}()
		g.Step(nil)
	}()
	g.Leave(slot)
	slot, _ = g.Join(StreamOptions{Cond: []int{0, 0}, Greedy: true})
	if err := g.PushLocal(slot, make([]float32, localChannels)); err != nil {
		t.Fatal(err)
	}
	if got := g.Buffered(slot); got != localHop {
		t.Errorf("Buffered after one frame = %d, want %d", got, localHop)
	}
	g.Step(nil)
	if got := g.Buffered(slot); got != localHop-1 {
		t.Errorf("Buffered after one frame and one step = %d, want %d", got, localHop-1)
	}

	plain := New(randomModel(t, testConfig(2), 70), 1)
	slot, _ = plain.Join(StreamOptions{Cond: []int{0, 0}, Greedy: true})
	if err := plain.PushLocal(slot, make([]float32, localChannels)); !errors.As(err, &le) {
		t.Errorf("PushLocal to a model without local conditioning: error %v, want a *wavenet.LocalError", err)
	}
	if _, err := plain.Join(StreamOptions{Cond: []int{0, 0}, Greedy: true, Local: make([]float32, localChannels)}); !errors.As(err, &le) {
		t.Errorf("Join with frames, model without local conditioning: error %v, want a *wavenet.LocalError", err)
	}
}

func TestStepDoesNotAllocateLocal(t *testing.T) {
	m := randomLocalModel(t, testLocalConfig(2), 80)
	g := New(m, 2)
	for i := 0; i < 2; i++ {
		if _, err := g.Join(StreamOptions{Cond: []int{0, 0}, Temperature: 1, Local: make([]float32, 100*localChannels)}); err != nil {
			t.Fatal(err)
		}
	}
	dst := make([]int32, 2)
	if a := testing.AllocsPerRun(100, func() { dst = g.Step(dst) }); a != 0 {
		t.Errorf("Step allocates %v times per call, want 0", a)
	}
}

// BenchmarkLocal measures one stream of the small preset at 8 kHz on the
// queue cache, without local conditioning and with 80 mel channels at hop
// 80 (10 ms; scales 2, 5, 8, width 2), frames pushed one at a time as a
// streaming request would. Run with GOMAXPROCS=1 for one core.
func BenchmarkLocal(b *testing.B) {
	for _, local := range []bool{false, true} {
		b.Run(fmt.Sprintf("local=%v", local), func(b *testing.B) {
			cfg, err := wavenet.Preset("small")
			if err != nil {
				b.Fatal(err)
			}
			cfg.SampleRate = 8000
			const C, hop = 80, 80
			if local {
				cfg.Local = &wavenet.LocalConfig{Channels: C, Hop: hop, Scales: []int{2, 5, 8}, Width: 2}
			}
			m := randomLocalModel(b, cfg, 1)
			g := New(m, 1)
			slot, err := g.Join(StreamOptions{Temperature: 1, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			frame := randomFrames(rand.New(rand.NewPCG(1, 1)), 1, C)
			dst := make([]int32, 1)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if local && g.Buffered(slot) == 0 {
					if err := g.PushLocal(slot, frame); err != nil {
						b.Fatal(err)
					}
				}
				dst = g.Step(dst)
			}
			reportRate(b, b.N)
		})
	}
}

// TestGuidedLocal: a guided stream's guide gets the stream's frames, at
// Join and through PushLocal, so a guided stream given its mels all at
// once and one given them frame by frame draw the same codes with the
// same guide score.
func TestGuidedLocal(t *testing.T) {
	m := randomLocalModel(t, testLocalConfig(2), 90)
	mels := randomMels(rand.New(rand.NewPCG(90, 90)), 20)
	opts := StreamOptions{Cond: []int{1, 2}, GuideCond: []int{0, 2}, Guidance: 1.5, Temperature: 1, Seed: 3}
	run := func(streamed bool) ([]int32, float64) {
		g := New(m, 2)
		o := opts
		if !streamed {
			o.Local = mels
		}
		slot, err := g.Join(o)
		if err != nil {
			t.Fatal(err)
		}
		var codes []int32
		dst := make([]int32, 2)
		for i := 0; i < 20*localHop; i++ {
			if streamed && i%localHop == 0 {
				f := i / localHop
				if err := g.PushLocal(slot, mels[f*localChannels:(f+1)*localChannels]); err != nil {
					t.Fatal(err)
				}
			}
			dst = g.Step(dst)
			codes = append(codes, dst[slot])
		}
		return codes, g.GuideScore(slot)
	}
	a, sa := run(false)
	b, sb := run(true)
	if !slices.Equal(a, b) || sa != sb {
		t.Errorf("guided stream with frames pushed one by one drew other codes (score %v) than with all frames at Join (score %v)", sb, sa)
	}
}
