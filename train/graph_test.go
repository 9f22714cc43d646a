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
	return testModelLocal(t, seed, nil)
}

// testModelLocal is testModel with local conditioning lc (nil: none).
func testModelLocal(t testing.TB, seed uint64, lc *wavenet.LocalConfig) *wavenet.Model {
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
	cfg.Local = lc
	m, err := wavenet.NewZero(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, p := range m.Params() {
		sd := 0.3
		if p.Init == wavenet.InitUpsample {
			// An upsampling kernel sums Width*C inputs per layer: 0.3/Width
			// keeps the conditioning rows near the mels' size instead of
			// growing 1.5x per layer.
			sd /= float64(lc.Width)
		}
		if p.Init == wavenet.InitMean {
			// A repeat-conv2d kernel sums its len(p.Data) products per
			// output: 1/sqrt of that keeps the rows near the mels' size.
			sd = 1 / math.Sqrt(float64(len(p.Data)))
		}
		for i := range p.Data {
			p.Data[i] = float32(rng.NormFloat64() * sd)
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
	checkGraphGradient(t, m, grads, lossOf)
}

// checkGraphGradient compares the graph's gradients grads (in
// m.Params() order) with central differences of the reference loss lossOf.
func checkGraphGradient(t *testing.T, m *wavenet.Model, grads [][]float32, lossOf func() float64) {
	t.Helper()
	// Up to 4 entries per parameter whose finite difference is above
	// gradFloor are compared (the informative ones); the entries drawn on
	// the way (the loss does not depend on every weight: condition rows no
	// sequence uses, the last layer's residual output) are compared too,
	// but a zero gradient would pass them, so they are not counted.
	//
	// The loss has kinks (the ReLUs after the skip sum and post1): a step
	// that moves a row across one gives a finite difference that mixes the
	// two one-sided slopes. Such an entry is found without looking at the
	// gradient, and left out, in two ways: its differences at steps h and
	// h/2 disagree by more than truncation and rounding allow (a kink
	// between h/2 and h from the point), or its second differences D2(h) =
	// f(x+h) - 2f(x) + f(x-h) are not in the ratio 4 of a smooth function
	// (D2(h) - 4 D2(h/2) = h^4 f''''/16, nothing at h = 1e-2): a kink at a
	// distance δ < h/2 with slopes s1, s2 adds (s2-s1)(h-δ) to D2(h), so
	// it shows as about |s2-s1| h, while both central differences carry
	// the same error (s2-s1)/2 and agree with each other.
	const perParam, maxDraws = 4, 32
	f0 := lossOf()
	diff := func(p []float32, j int, h float32) (d, d2 float64) {
		x0 := p[j]
		p[j] = x0 + h
		lp := lossOf()
		p[j] = x0 - h
		lm := lossOf()
		p[j] = x0
		return (lp - lm) / (2 * float64(h)), lp - 2*f0 + lm
	}
	var an, fd []float64
	informative, kinks := 0, 0
	rng := rand.New(rand.NewPCG(5, 5))
	for i, p := range m.Params() {
		found := 0
		for draw := 0; draw < maxDraws && found < perParam; draw++ {
			j := rng.IntN(len(p.Data))
			d, d2 := diff(p.Data, j, gradStep)
			half, d2half := diff(p.Data, j, gradStep/2)
			// Rounding: gradATol at h plus twice that at h/2; truncation:
			// below gradRTol for both. The second differences: 20 loss
			// roundings of gradATol*gradStep each (see the constants).
			if math.Abs(d-half) > gradRTol*math.Max(math.Abs(d), math.Abs(half))+3*gradATol ||
				math.Abs(d2-4*d2half) > 20*gradATol*gradStep {
				kinks++
				continue
			}
			g := 0.0
			if grads[i] != nil {
				g = float64(grads[i][j])
			}
			if !gradEntryOK(g, d) {
				t.Errorf("d loss/d %s[%d] = %g, want %g (finite difference)", p.Name, j, g, d)
			}
			an, fd = append(an, g), append(fd, d)
			if math.Abs(d) > gradFloor {
				found++
			}
		}
		informative += found
	}
	if bad, rel := gradCheck(an, fd); bad > 0 || rel > gradNormTol {
		t.Errorf("gradient against finite differences: %d of %d entries out of tolerance, norm-relative error %.3g (want <= %g)", bad, len(an), rel, gradNormTol)
	}
	// The check's power: the same criterion rejects a zero and a halved
	// gradient, on the whole vector and on every informative entry.
	if informative < len(m.Params()) {
		t.Errorf("only %d informative entries over %d parameters", informative, len(m.Params()))
	}
	for _, scale := range []float64{0, 0.5} {
		wrong := make([]float64, len(an))
		for k := range an {
			wrong[k] = scale * an[k]
		}
		bad, rel := gradCheck(wrong, fd)
		if bad < informative || rel <= gradNormTol {
			t.Errorf("%g x gradient: %d entries rejected (want >= %d informative), norm-relative error %.3g (want > %g)", scale, bad, informative, rel, gradNormTol)
		}
	}
	t.Logf("%d gradient entries checked, %d informative (|finite difference| > %g), %d left out at a kink", len(an), informative, gradFloor, kinks)
}

// Tolerances of the whole-graph gradient check. The reference is the
// central difference (f(x+h) - f(x-h)) / 2h of the float32 forward pass
// (Model.Score: float32 logits, float64 sums), with two errors:
//   - truncation, h^2 f3(x) / 6 with f3 the third derivative, relative to
//     the gradient: the step gradStep = 1e-2 on weights of size ~0.3
//     gives at most 2.7% on the informative entries (measured, kinks left
//     out), so gradRTol is 5e-2, about twice that.
//   - rounding, u |f| / h with u = 2^-24 (float32) and a loss f ~ 3.5:
//     about 2e-5 absolute, which is gradATol; the median |gradient| of the
//     informative entries is about 1e-2, 500 times larger.
//
// An entry passes when |g - fd| <= gradRTol max(|g|, |fd|) + gradATol;
// the whole vector when every entry passes and ||g - fd|| / ||fd|| <=
// gradNormTol (1e-2; measured 2.5e-3, the truncation error of the largest
// entries). A zero gradient fails every entry with |fd| > gradATol / (1 -
// gradRTol) ~ 2.1e-5, a halved one every entry with |g| > gradATol / (0.5
// - gradRTol) ~ 4.4e-5: gradFloor (10 gradATol) is above both, so both
// fail every entry whose |fd| exceeds it (an informative entry).
const (
	gradStep    = 1e-2
	gradRTol    = 5e-2
	gradATol    = 2e-5
	gradNormTol = 1e-2
	gradFloor   = 10 * gradATol
)

// gradEntryOK reports whether the gradient entry g agrees with the finite
// difference fd.
func gradEntryOK(g, fd float64) bool {
	return math.Abs(g-fd) <= gradRTol*math.Max(math.Abs(g), math.Abs(fd))+gradATol
}

// gradCheck returns how many entries of g disagree with fd and the
// norm-relative error ||g - fd|| / ||fd||.
func gradCheck(g, fd []float64) (bad int, rel float64) {
	var num, den float64
	for k := range g {
		if !gradEntryOK(g[k], fd[k]) {
			bad++
		}
		num += (g[k] - fd[k]) * (g[k] - fd[k])
		den += fd[k] * fd[k]
	}
	return bad, math.Sqrt(num / den)
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
