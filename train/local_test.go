package train

import (
	"context"
	"math"
	"math/rand/v2"
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
	const F = 9
	rng := rand.New(rand.NewPCG(26, 26))
	mels := make([]float32, F*lc.Channels)
	for i := range mels {
		mels[i] = float32(rng.NormFloat64())
	}
	want, err := m.Upsample(nil, mels)
	if err != nil {
		t.Fatal(err)
	}
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
	m := testModelLocal(t, 27, testLocal())
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
	m := testModelLocal(t, 29, testLocal())
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
