package train

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/wavenet-go/wavenet/mulaw"
	"github.com/wavenet-go/wavenet/nn"
	"github.com/wavenet-go/wavenet/nn/nntest"
	"github.com/wavenet-go/wavenet/wavenet"
)

// testLocal is a small upsampling network: 3 mel channels, hop 6 = 2 * 3
// (two layers of different scales), width 3 (each layer looks back two
// input rows, so the windows' margin matters).
func testLocal() *wavenet.LocalConfig {
	return &wavenet.LocalConfig{Channels: 3, Hop: 6, Scales: []int{2, 3}, Width: 3}
}

// testLocalRepeat is testLocal with repeat-conv2d upsampling of frequency
// width 3 (both band edges matter with 3 channels); width 3 at scales 2
// and 3 looks back 3 input rows per layer.
func testLocalRepeat() *wavenet.LocalConfig {
	lc := testLocal()
	lc.Net, lc.FreqWidth = wavenet.UpsampleRepeatConv2D, 3
	return lc
}

// testLocals are testLocal with each kind of upsampling network.
func testLocals() map[string]*wavenet.LocalConfig {
	return map[string]*wavenet.LocalConfig{"transposed": testLocal(), "repeat-conv2d": testLocalRepeat()}
}

func TestRepeatConvGradient(t *testing.T) {
	// As TestUpsampleGradient: the Op is linear in each input, so the
	// float32 GradCheck defaults hold with a wide margin. Cases: overlap
	// of frames (wd 2, s 3), a scale 1 layer, a frequency width wider
	// than the band (5 > 2 of C 2: every value sees the edges).
	for _, tc := range []struct{ seqs, n, c, s, wd, fw int }{
		{2, 5, 3, 3, 2, 3},
		{1, 4, 4, 1, 3, 1},
		{2, 3, 2, 2, 1, 3},
		{1, 4, 3, 2, 2, 5},
	} {
		rng := rand.New(rand.NewPCG(41, uint64(tc.fw)))
		c := nn.GradCheck{Inputs: []*tensor.Dense{nn.RandTensor32(rng, tc.seqs*tc.n, tc.c), nn.RandTensor32(rng, tc.wd*tc.s, tc.fw)}, Seed: 42}
		nntest.CheckGradients(t, fmt.Sprintf("repeat-conv2d %+v", tc), c, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
			return repeatConv(in[0], in[1], tc.seqs, tc.s, tc.wd, tc.fw)
		})
	}
}

// repeatConvReference is a repeat-conv2d layer (wavenet.LocalConfig) as
// its formula reads, in float64, for one sequence x (n, C): rep[t] =
// x[t/s], y[t, c] = Σ_k Σ_f w[k, f] rep[t-k, c+f-fw/2], zero outside.
func repeatConvReference(x, w []float32, C, s, wd, fw int) []float64 {
	n := len(x) / C
	y := make([]float64, n*s*C)
	for t := range n * s {
		for c := range C {
			for k := 0; k < wd*s && k <= t; k++ {
				for f := range fw {
					if cc := c + f - fw/2; cc >= 0 && cc < C {
						y[t*C+c] += float64(w[k*fw+f]) * float64(x[(t-k)/s*C+cc])
					}
				}
			}
		}
	}
	return y
}

// TestRepeatConvMatchesReference runs the forward Op of a model's
// repeat-conv2d layers, one sequence, against the plain loop layer by
// layer and against wavenet's Upsampler on the whole stack.
func TestRepeatConvMatchesReference(t *testing.T) {
	m := testModelLocal(t, 43, testLocalRepeat())
	lc := m.Config.Local
	in, want := randomUpsampled(t, m, 44)
	for i, ly := range m.Up {
		g := gorgonia.NewGraph()
		x := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(len(in)/lc.Channels, lc.Channels),
			gorgonia.WithValue(tensor.New(tensor.WithShape(len(in)/lc.Channels, lc.Channels), tensor.WithBacking(in))))
		w := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(ly.Width*ly.Scale, ly.FreqWidth),
			gorgonia.WithValue(tensor.New(tensor.WithShape(ly.Width*ly.Scale, ly.FreqWidth), tensor.WithBacking(ly.W))))
		y, err := repeatConv(x, w, 1, ly.Scale, ly.Width, ly.FreqWidth)
		if err != nil {
			t.Fatal(err)
		}
		vm := gorgonia.NewTapeMachine(g)
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		out := slices.Clone(y.Value().Data().([]float32))
		vm.Close()
		ref := repeatConvReference(in, ly.W, lc.Channels, ly.Scale, ly.Width, ly.FreqWidth)
		// Sums of at most Width*s*FreqWidth = 27 products of O(1) values,
		// folded in float32: rounding near 1e-6.
		for j := range ref {
			if d := math.Abs(float64(out[j]) - ref[j]); d > 1e-5 {
				t.Fatalf("layer %d: Op output[%d] = %g, reference %g", i, j, out[j], ref[j])
			}
		}
		in = out
	}
	// The same calls (UpLayer.RepeatConvRows) as the Upsampler: equal bits.
	if !slices.Equal(in, want) {
		t.Errorf("the Op's upsampled rows differ from Model.Upsample's")
	}
}

func TestUpsampleGradient(t *testing.T) {
	// float32 inputs (the Op has only a float32 kernel): GradCheck's
	// float32 defaults (step 1e-2, tolerance 1e-3 + 1e-2 relative) are far
	// above the rounding of a linear Op, whose central difference is exact.
	const seqs, n, C, s, wd = 2, 5, 3, 3, 2
	rng := rand.New(rand.NewPCG(21, 21))
	c := nn.GradCheck{Inputs: []*tensor.Dense{nn.RandTensor32(rng, seqs*n, C), nn.RandTensor32(rng, C, wd*s*C)}, Seed: 22}
	nntest.CheckGradients(t, "upsample", c, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		return upsample(in[0], in[1], seqs, s, wd)
	})
}

func TestWindowGradient(t *testing.T) {
	const seqs, n, length, C = 3, 7, 4, 2
	rng := rand.New(rand.NewPCG(23, 23))
	c := nn.GradCheck{Inputs: []*tensor.Dense{nn.RandTensor32(rng, seqs*n, C)}, Seed: 24}
	nntest.CheckGradients(t, "window", c, func(g *gorgonia.ExprGraph, in []*gorgonia.Node) (*gorgonia.Node, error) {
		return window(in[0], seqs, length, []int32{0, 3, 2})
	})
}

func TestUpsampleMatchesModel(t *testing.T) {
	// The Op's GEMMs against wavenet's Upsampler (a packed kernel per
	// phase): the same sums in another order, 1e-5 relative.
	m := testModelLocal(t, 25, testLocal())
	lc := m.Config.Local
	mels, want := randomUpsampled(t, m, 26)
	in := mels
	for _, ly := range m.Up {
		out := make([]float32, len(in)*ly.Scale)
		upForwardRows(out, in, ly.W, 1, len(in)/lc.Channels, lc.Channels, ly.Scale, ly.Width)
		in = out
	}
	for i := range want {
		if math.Abs(float64(in[i]-want[i])) > 1e-5*math.Max(1, math.Abs(float64(want[i]))) {
			t.Fatalf("upsampled[%d] = %g, Model.Upsample = %g", i, in[i], want[i])
		}
	}
}

// randomUpsampled returns 9 random mel frames drawn from seed and
// Model.Upsample of them.
func randomUpsampled(t *testing.T, m *wavenet.Model, seed uint64) (mels, up []float32) {
	t.Helper()
	const F = 9
	rng := rand.New(rand.NewPCG(seed, seed))
	mels = make([]float32, F*m.Config.Local.Channels)
	for i := range mels {
		mels[i] = float32(rng.NormFloat64())
	}
	up, err := m.Upsample(nil, mels)
	if err != nil {
		t.Fatal(err)
	}
	return mels, up
}

// localUtterance is a random utterance of n codes with its mel frames
// (enough to cover n+1 rows, as LogMel's centred frames do).
func localUtterance(rng *rand.Rand, m *wavenet.Model, n int) ([]int32, []float32) {
	lc := m.Config.Local
	codes := make([]int32, n)
	for i := range codes {
		codes[i] = int32(rng.IntN(m.Config.QuantizationChannels))
	}
	mels := make([]float32, (n/lc.Hop+1)*lc.Channels)
	for i := range mels {
		mels[i] = float32(rng.NormFloat64())
	}
	return codes, mels
}

func TestGraphLocalForwardMatchesModel(t *testing.T) {
	// Sequences cut from one utterance at several starts (0: the go code,
	// then within frames and on frame boundaries), each with its window of
	// frames: the loss rows, which see their whole receptive field, must
	// give ForwardLocal's logits on the whole utterance (codes [go, x0,
	// ...], its whole upsampled mels).
	for name, lc := range testLocals() {
		t.Run(name, func(t *testing.T) { testGraphLocalForward(t, lc) })
	}
}

func testGraphLocalForward(t *testing.T, lc0 *wavenet.LocalConfig) {
	m := testModelLocal(t, 35, lc0)
	lc := m.Config.Local
	ctxLen := m.Config.ReceptiveField() - 1
	const lossRows = 11
	length := ctxLen + lossRows
	rng := rand.New(rand.NewPCG(28, 28))
	utt, mels := localUtterance(rng, m, 120)
	Q := m.Config.QuantizationChannels
	ref := append([]int32{mulaw.Silence(Q)}, utt...)
	cond := []int{1, 0}
	local, err := m.Upsample(nil, mels)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.ForwardLocal(context.Background(), nil, ref, cond, local)
	if err != nil {
		t.Fatal(err)
	}
	starts := []int{0, 1, 5, 6, 13, 120 - length}
	gr, err := NewGraph(m, len(starts), length, lossRows)
	if err != nil {
		t.Fatal(err)
	}
	defer gr.Close()
	segs := make([][]int32, len(starts))
	conds := make([][]int, len(starts))
	frames := make([][]float32, len(starts))
	offs := make([]int, len(starts))
	for s, a := range starts {
		// ref[a] is utterance sample a-1: the first prediction is of sample a.
		segs[s] = ref[a : a+length+1]
		conds[s] = cond
		frames[s], offs[s] = LocalWindow(nil, mels, *lc, a, gr.Frames)
	}
	if err := gr.SetBatch(segs, conds); err != nil {
		t.Fatal(err)
	}
	if err := gr.SetLocal(frames, offs); err != nil {
		t.Fatal(err)
	}
	if _, err := gr.Run(); err != nil {
		t.Fatal(err)
	}
	got := gr.Logits()
	for s, a := range starts {
		for r := 0; r < lossRows; r++ {
			for q := 0; q < Q; q++ {
				g, w := got[(s*lossRows+r)*Q+q], want[(a+ctxLen+r)*Q+q]
				// The bar for the graph against the plain pass: 1e-4.
				if math.Abs(float64(g-w)) > 1e-4 {
					t.Fatalf("start %d: graph logits[row %d, %d] = %g, ForwardLocal = %g", a, r, q, g, w)
				}
			}
		}
	}
}

// logSoftmaxNLL is -log softmax(logits)[target], in float64.
func logSoftmaxNLL(logits []float32, target int32) float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(sum) - float64(logits[target])
}

func TestGraphLocalGradientMatchesFiniteDifferences(t *testing.T) {
	// The whole-graph check of TestGraphGradientMatchesFiniteDifferences
	// on a model with local conditioning: every upsampling kernel and
	// every layer's local projection must have informative entries that
	// agree. The reference loss upsamples each sequence's frames with
	// Model.Upsample and runs ForwardLocal on its rows from the offset.
	//
	// The seeds: whole-model finite differences depend on how close the
	// random model's ReLU inputs sit to 0. The repeat-conv2d model of seed
	// 29 has 531 of its draws at a kink and 13 entries off; seeds 31 and 33
	// pass both kinds, 35 neither (one entry each).
	for _, tc := range []struct {
		lc   *wavenet.LocalConfig
		seed uint64
	}{{testLocal(), 29}, {testLocalRepeat(), 31}} {
		t.Run(cmp.Or(tc.lc.Net, wavenet.UpsampleTransposed), func(t *testing.T) { testGraphLocalGradient(t, tc.lc, tc.seed) })
	}
}

func testGraphLocalGradient(t *testing.T, lc0 *wavenet.LocalConfig, seed uint64) {
	m := testModelLocal(t, seed, lc0)
	lc := m.Config.Local
	const seqs, length, lossRows = 2, 24, 10
	gr, err := NewGraph(m, seqs, length, lossRows)
	if err != nil {
		t.Fatal(err)
	}
	defer gr.Close()
	rng := rand.New(rand.NewPCG(30, 30))
	segs, cond := randSegs(rng, m, seqs, length+1)
	frames := make([][]float32, seqs)
	offs := make([]int, seqs)
	for s := range frames {
		_, mels := localUtterance(rng, m, 60)
		frames[s], offs[s] = LocalWindow(nil, mels, *lc, 7+11*s, gr.Frames)
	}
	if err := gr.SetBatch(segs, cond); err != nil {
		t.Fatal(err)
	}
	if err := gr.SetLocal(frames, offs); err != nil {
		t.Fatal(err)
	}
	loss, err := gr.Run()
	if err != nil {
		t.Fatal(err)
	}
	grads, err := gr.Grads()
	if err != nil {
		t.Fatal(err)
	}
	Q, C := m.Config.QuantizationChannels, lc.Channels
	lossOf := func() float64 {
		var nats float64
		for s := range segs {
			local, err := m.Upsample(nil, frames[s])
			if err != nil {
				t.Fatal(err)
			}
			logits, err := m.ForwardLocal(context.Background(), nil, segs[s][:length], cond[s], local[offs[s]*C:(offs[s]+length)*C])
			if err != nil {
				t.Fatal(err)
			}
			for r := length - lossRows; r < length; r++ {
				nats += logSoftmaxNLL(logits[r*Q:(r+1)*Q], segs[s][r+1])
			}
		}
		return nats / float64(seqs*lossRows)
	}
	if ref := lossOf(); math.Abs(loss-ref) > 1e-5*ref {
		t.Errorf("graph loss %g, reference %g", loss, ref)
	}
	checkGraphGradient(t, m, grads, lossOf)
}
