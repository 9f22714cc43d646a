package train

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wavenet-go/wavenet/wavenet"
)

// testModel is the tiny preset with two conditions, filter width 3 (to
// cover K > 2) and every weight random, biases and embeddings included.
func testModel(t testing.TB, seed uint64) *wavenet.Model {
	t.Helper()
	cfg, err := wavenet.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.FilterWidth = 3
	cfg.Dilations = []int{1, 2, 4, 1, 2}
	cfg.QuantizationChannels = 32
	cfg.Conditions = []wavenet.Condition{
		{Name: "speaker", Values: []string{"a", "b", "c"}},
		{Name: "digit", Values: []string{"0", "1"}},
	}
	m, err := wavenet.NewZero(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, p := range m.Params() {
		for i := range p.Data {
			p.Data[i] = float32(rng.NormFloat64() * 0.3)
		}
	}
	return m
}

func randSegs(rng *rand.Rand, m *wavenet.Model, seqs, n int) ([][]int32, [][]int) {
	segs := make([][]int32, seqs)
	cond := make([][]int, seqs)
	for s := range segs {
		segs[s] = make([]int32, n)
		for i := range segs[s] {
			segs[s][i] = int32(rng.IntN(m.Config.QuantizationChannels))
		}
		for _, c := range m.Config.Conditions {
			cond[s] = append(cond[s], rng.IntN(len(c.Values)))
		}
	}
	return segs, cond
}

func TestGraphForwardMatchesModel(t *testing.T) {
	m := testModel(t, 1)
	const seqs, length = 3, 40
	for _, lossRows := range []int{length, 13} {
		gr, err := NewGraph(m, seqs, length, lossRows)
		if err != nil {
			t.Fatal(err)
		}
		segs, cond := randSegs(rand.New(rand.NewPCG(2, 2)), m, seqs, length+1)
		if err := gr.SetBatch(segs, cond); err != nil {
			t.Fatal(err)
		}
		loss, err := gr.Run()
		if err != nil {
			t.Fatal(err)
		}
		got := gr.Logits()
		Q := m.Config.QuantizationChannels
		var nats float64
		for s := 0; s < seqs; s++ {
			want, err := m.Forward(context.Background(), nil, segs[s][:length], cond[s])
			if err != nil {
				t.Fatal(err)
			}
			for r := 0; r < lossRows; r++ {
				for q := 0; q < Q; q++ {
					g, w := got[(s*lossRows+r)*Q+q], want[(length-lossRows+r)*Q+q]
					// The bar: the two forward passes agree to 1e-4.
					if math.Abs(float64(g-w)) > 1e-4 {
						t.Fatalf("lossRows %d: graph logits[seq %d, row %d, %d] = %g, Model.Forward = %g", lossRows, s, r, q, g, w)
					}
				}
			}
			n, cnt, err := m.Score(context.Background(), segs[s], cond[s], length-lossRows)
			if err != nil {
				t.Fatal(err)
			}
			if cnt != lossRows {
				t.Fatalf("Score counted %d rows, want %d", cnt, lossRows)
			}
			nats += n
		}
		want := nats / float64(seqs*lossRows)
		if math.Abs(loss-want) > 1e-4*math.Max(1, want) {
			t.Errorf("lossRows %d: graph loss = %g, Model.Score mean = %g", lossRows, loss, want)
		}
		gr.Close()
	}
}

func TestGraphGradientMatchesFiniteDifferences(t *testing.T) {
	m := testModel(t, 3)
	const seqs, length, lossRows = 2, 24, 10
	gr, err := NewGraph(m, seqs, length, lossRows)
	if err != nil {
		t.Fatal(err)
	}
	defer gr.Close()
	segs, cond := randSegs(rand.New(rand.NewPCG(4, 4)), m, seqs, length+1)
	if err := gr.SetBatch(segs, cond); err != nil {
		t.Fatal(err)
	}
	if _, err := gr.Run(); err != nil {
		t.Fatal(err)
	}
	grads, err := gr.Grads()
	if err != nil {
		t.Fatal(err)
	}
	// The reference loss is Model.Score (pure Go, float32 logits, float64
	// sums) with the same rows counted.
	lossOf := func() float64 {
		var nats float64
		for s := range segs {
			n, _, err := m.Score(context.Background(), segs[s], cond[s], length-lossRows)
			if err != nil {
				t.Fatal(err)
			}
			nats += n
		}
		return nats / float64(seqs*lossRows)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	// Step 1e-2 on weights of size ~0.3: the float32 loss (~3.5, relative
	// precision 1e-7) gives finite differences good to ~2e-5, and the
	// curvature term h^2 f''' stays below ~1e-4.
	const h, tol = 1e-2, 2e-3
	checked := 0
	for i, p := range m.Params() {
		g := grads[i]
		for n := 0; n < 4; n++ {
			j := rng.IntN(len(p.Data))
			x0 := p.Data[j]
			p.Data[j] = x0 + h
			lp := lossOf()
			p.Data[j] = x0 - h
			lm := lossOf()
			p.Data[j] = x0
			fd := (lp - lm) / (2 * h)
			an := 0.0
			if g != nil {
				an = float64(g[j])
			}
			if math.Abs(an-fd) > tol*math.Max(1, math.Abs(fd)) {
				t.Errorf("d loss/d %s[%d] = %g, want %g (finite difference)", p.Name, j, an, fd)
			}
			checked++
		}
	}
	t.Logf("%d gradient entries checked", checked)
}

func TestParallelSplitMatchesWhole(t *testing.T) {
	// One sequence on 1 worker, and split along time over 2 and 3 workers:
	// the same loss and gradient up to float32 rounding.
	m := testModel(t, 6)
	ctxLen := m.Config.ReceptiveField() - 1
	const lossRows = 18
	length := ctxLen + lossRows
	segs, cond := randSegs(rand.New(rand.NewPCG(7, 7)), m, 1, length+1)
	var refLoss float64
	var ref [][]float32
	for _, w := range []int{1, 2, 3} {
		p, err := NewParallel(m, w, 1, length, lossRows)
		if err != nil {
			t.Fatal(err)
		}
		loss, err := p.Step(context.Background(), segs, cond)
		if err != nil {
			t.Fatal(err)
		}
		if w == 1 {
			refLoss = loss
			for _, pr := range p.Params {
				ref = append(ref, append([]float32(nil), pr.Grad...))
			}
			p.Close()
			continue
		}
		// float32 sums over 18 rows in a different grouping: 1e-5 relative.
		if math.Abs(loss-refLoss) > 1e-5*refLoss {
			t.Errorf("%d workers: loss %g, want %g", w, loss, refLoss)
		}
		for i, pr := range p.Params {
			for j, g := range pr.Grad {
				if d := math.Abs(float64(g - ref[i][j])); d > 1e-5*math.Max(1, math.Abs(float64(ref[i][j]))) {
					t.Fatalf("%d workers: grad %s[%d] = %g, want %g", w, pr.Name, j, g, ref[i][j])
				}
			}
		}
		p.Close()
	}
	if _, err := NewParallel(m, 4, 1, length, lossRows); err == nil {
		t.Errorf("NewParallel(4 workers, 18 loss rows) = nil error, want an error (18 does not split in 4)")
	}
}

func TestRunLeavesWeightsAlone(t *testing.T) {
	// Shapes chosen so that activation gradients have as many elements as
	// some weights (32 rows x 8 channels = 256 = the (16, 16) gate and
	// post1 weights; 64 rows x 8 = 512 = post2): gorgonia may offer a dead
	// weight's register as the output buffer of its own Add.
	cfg, err := wavenet.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.QuantizationChannels = 32
	rng := rand.New(rand.NewPCG(8, 8))
	m, err := wavenet.New(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	before := m.Clone()
	for _, shape := range [][3]int{{1, 32, 8}, {2, 32, 16}, {1, 64, 32}, {2, 16, 16}} {
		gr, err := NewGraph(m, shape[0], shape[1], shape[2])
		if err != nil {
			t.Fatal(err)
		}
		segs, _ := randSegs(rng, m, shape[0], shape[1]+1)
		if err := gr.SetBatch(segs, nil); err != nil {
			t.Fatal(err)
		}
		for run := 0; run < 2; run++ {
			if _, err := gr.Run(); err != nil {
				t.Fatal(err)
			}
		}
		if d, same := diffWeights(before, m); !same {
			t.Errorf("graph %v: running changed the weights (by up to %g)", shape, d)
		}
		gr.Close()
	}
}
