package cache

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/wavenet-go/wavenet/wavenet"
)

// naive is the reference generator: every sample it runs the full forward
// pass over the last ReceptiveField codes and keeps the last row. It draws
// with the same sampler and the same PCG seeding as a Generator stream, so
// with the same seed both must draw the same codes.
type naive struct {
	m     *wavenet.Model
	opts  StreamOptions
	rng   rand.PCG
	smp   sampler
	codes []int32 // every code fed so far, plus the pending one last
	buf   []float32
	// local is the model's whole upsampled local conditioning (T, C),
	// for a model with Config.Local (Upsample of all the mels at once).
	local []float32
}

func newNaive(m *wavenet.Model, opts StreamOptions) *naive {
	n := &naive{m: m, opts: opts, smp: newSampler(m.Config.QuantizationChannels)}
	n.rng.Seed(opts.Seed, seedStream)
	n.codes = []int32{int32(m.Config.QuantizationChannels / 2)}
	return n
}

// step feeds the pending code and returns the drawn one and the logits.
func (n *naive) step(ctx context.Context) (int32, []float32, error) {
	rf := n.m.Config.ReceptiveField()
	win := n.codes[max(0, len(n.codes)-rf):]
	var err error
	if lc := n.m.Config.Local; lc != nil {
		start := len(n.codes) - len(win)
		n.buf, err = n.m.ForwardLocal(ctx, n.buf, win, n.opts.Cond, n.local[start*lc.Channels:len(n.codes)*lc.Channels])
	} else {
		n.buf, err = n.m.Forward(ctx, n.buf, win, n.opts.Cond)
	}
	if err != nil {
		return 0, nil, err
	}
	q := n.m.Config.QuantizationChannels
	logits := n.buf[(len(win)-1)*q:]
	c := n.smp.sample(logits, n.opts.Temperature, n.opts.TopK, n.opts.Greedy, &n.rng)
	n.codes = append(n.codes, c)
	return c, logits, nil
}

// stepBoth steps g and nv once (sample i) and wants slot's logits within
// tol of the naive ones and the same code drawn; it returns g.Step's dst.
func stepBoth(t *testing.T, g *Generator, nv *naive, slot, i int, dst []int32) []int32 {
	t.Helper()
	dst = g.Step(dst)
	want, wantLogits, err := nv.step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(g.Logits(slot), wantLogits); d > tol {
		t.Fatalf("sample %d: logits differ from naive by %.3g, want <= %g", i, d, tol)
	}
	if dst[slot] != want {
		t.Fatalf("sample %d: cache drew %d, naive drew %d", i, dst[slot], want)
	}
	return dst
}

// testConfig is a small model with two global conditions: dilations
// 1..8 twice (receptive field 32 for K=2, 63 for K=3), few channels so the
// plain-loop kernels are quick, Q=32 so sampling spreads over many codes.
func testConfig(k int) wavenet.Config {
	return wavenet.Config{
		FilterWidth: k, SampleRate: 8000, Dilations: []int{1, 2, 4, 8, 1, 2, 4, 8},
		ResidualChannels: 8, DilationChannels: 6, SkipChannels: 12, QuantizationChannels: 32, UseBiases: true,
		Conditions: []wavenet.Condition{
			{Name: "speaker", Values: []string{"a", "b", "c"}},
			{Name: "digit", Values: []string{"0", "1", "2", "3"}},
		},
	}
}

// randomModel returns a model for cfg with Glorot weights and biases and
// conditioning embeddings uniform in [-0.5, 0.5) (New leaves them zero,
// which would not test them).
func randomModel(tb testing.TB, cfg wavenet.Config, seed uint64) *wavenet.Model {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	m, err := wavenet.New(cfg, rng)
	if err != nil {
		tb.Fatalf("wavenet.New: %v", err)
	}
	for _, p := range m.Params() {
		if p.Init == wavenet.InitZero {
			for i := range p.Data {
				p.Data[i] = float32(rng.Float64() - 0.5)
			}
		}
	}
	return m
}

func randomCodes(rng *rand.Rand, n, q int) []int32 {
	c := make([]int32, n)
	for i := range c {
		c[i] = int32(rng.IntN(q))
	}
	return c
}
