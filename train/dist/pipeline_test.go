package dist

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/nn"
	"github.com/wavenet-go/wavenet/train"
	"github.com/wavenet-go/wavenet/wavenet"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

// TestPipelineGradient: the gradient of the pipeline, for 1 to 5 stages
// of the tiny model's 5 layers and 1 to 4 micro-batches, equals
// train.Graph's for the whole batch (the unsplit model) within 1e-6 plus
// 1e-4 relative: float32 rounding of sums taken in another order (per
// layer instead of one skip sum, micro-batch means averaged); measured
// below 1e-8, for gradients up to ~1e-2 (checked above 1e-4).
// pipelineBatch is a batch of 4 sequences with the loss on 10 rows for
// the tiny model m, and the loss and gradient train.Graph computes for it
// (nil for parameters the loss does not depend on).
func pipelineBatch(t *testing.T, m *wavenet.Model) (segs [][]int32, conds [][]int, length int, wantLoss float64, want [][]float32) {
	t.Helper()
	const batch, lossRows = 4, 10
	length = m.Config.ReceptiveField() - 1 + lossRows
	tr, _ := testCorpus(256)
	s := corpus.NewSampler(tr, 7)
	segs, conds = make([][]int32, batch), make([][]int, batch)
	for b := range segs {
		var u *corpus.Utterance
		segs[b], u = s.Next(nil, lossRows+1, length-lossRows)
		c, err := u.ConditionIndices(m.Config.Conditions)
		if err != nil {
			t.Fatal(err)
		}
		conds[b] = c
	}
	g, err := train.NewGraph(m, batch, length, lossRows)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.SetBatch(segs, conds); err != nil {
		t.Fatal(err)
	}
	if wantLoss, err = g.Run(); err != nil {
		t.Fatal(err)
	}
	if want, err = g.Grads(); err != nil {
		t.Fatal(err)
	}
	var largest float64
	for _, gr := range want {
		for _, v := range gr {
			largest = max(largest, math.Abs(float64(v)))
		}
	}
	if largest < 1e-4 {
		t.Fatalf("largest gradient %g: the comparison would say nothing", largest)
	}
	return segs, conds, length, wantLoss, want
}

// checkGradient compares a pipeline's loss and gradient (grad(i) of
// parameter i) with the graph's, within the tolerance of
// TestPipelineGradient.
func checkGradient(t *testing.T, params []nn.Param, grad func(i int) []float32, loss, wantLoss float64, want [][]float32) {
	t.Helper()
	if math.Abs(loss-wantLoss) > 1e-5 {
		t.Errorf("loss %v, want the graph's %v", loss, wantLoss)
	}
	var worst float64
	for i, pr := range params {
		for j, v := range grad(i) {
			var w float64
			if want[i] != nil {
				w = float64(want[i][j])
			}
			d := math.Abs(float64(v) - w)
			worst = max(worst, d)
			if d > 1e-6+1e-4*math.Abs(w) {
				t.Fatalf("%s[%d] = %v, the unsplit graph's %v", pr.Name, j, v, w)
			}
		}
	}
	t.Logf("largest difference %g", worst)
}

func TestPipelineGradient(t *testing.T) {
	m := wavenettest.Tiny(t, 5, wavenettest.FSDD())
	segs, conds, length, wantLoss, want := pipelineBatch(t, m)
	for _, tc := range []struct{ stages, micro int }{{1, 1}, {2, 2}, {3, 4}, {5, 2}, {2, 1}} {
		t.Run(fmt.Sprintf("stages=%d/micro=%d", tc.stages, tc.micro), func(t *testing.T) {
			p, err := NewPipeline(m, tc.stages, tc.micro, len(segs), length, 10)
			if err != nil {
				t.Fatal(err)
			}
			loss, err := p.Step(context.Background(), segs, conds)
			if err != nil {
				t.Fatal(err)
			}
			checkGradient(t, p.Params, func(i int) []float32 { return p.Params[i].Grad }, loss, wantLoss, want)
		})
	}
}

// TestPipelineNATS runs the stages as ranks over a real NATS server (2
// and 5 ranks, goroutines standing in for processes): the owners'
// gradients put together are the unsplit graph's.
func TestPipelineNATS(t *testing.T) {
	url := natsURL(t)
	m := wavenettest.Tiny(t, 5, wavenettest.FSDD())
	segs, conds, length, wantLoss, want := pipelineBatch(t, m)
	for _, world := range []int{2, 5} {
		t.Run(fmt.Sprint("ranks=", world), func(t *testing.T) {
			nets := dialAll(t, url, world, NATSOptions{Subject: fmt.Sprint("test.pipe.", world)})
			ps := make([]*Pipeline, world)
			losses := make([]float64, world)
			errs := make([]error, world)
			var wg sync.WaitGroup
			for r := range world {
				wg.Go(func() {
					if ps[r], errs[r] = NewPipelineRank(m.Clone(), nets[r], 2, len(segs), length, 10, 20*time.Second); errs[r] == nil {
						losses[r], errs[r] = ps[r].Step(context.Background(), segs, conds)
					}
				})
			}
			wg.Wait()
			for r, err := range errs {
				if err != nil {
					t.Fatalf("rank %d: %v", r, err)
				}
			}
			owner := func(i int) []float32 {
				for r, p := range ps {
					if p.Owns(r, p.Params[i].Name) {
						return p.Params[i].Grad
					}
				}
				t.Fatalf("no rank owns %s", ps[0].Params[i].Name)
				return nil
			}
			checkGradient(t, ps[0].Params, owner, losses[world-1], wantLoss, want)
		})
	}
}

func TestNewPipelineErrors(t *testing.T) {
	tiny := wavenettest.Tiny(t, 5, nil) // 5 layers
	for _, tc := range []struct {
		name                 string
		stages, micro, batch int
		local                bool
	}{
		{"more stages than layers", 6, 1, 2, false},
		{"no stage", 0, 1, 2, false},
		{"uneven micro-batches", 2, 3, 4, false},
		{"local conditioning", 2, 1, 2, true},
	} {
		m := tiny
		if tc.local {
			m = wavenettest.Vocoder(t, 1)
		}
		if _, err := NewPipeline(m, tc.stages, tc.micro, tc.batch, 50, 10); err == nil {
			t.Errorf("%s: NewPipeline(%d stages, %d micro-batches, batch %d) succeeded, want an error", tc.name, tc.stages, tc.micro, tc.batch)
		}
	}
}

// BenchmarkPipeline computes the gradient of a batch of 2 x 1000
// predictions of the small preset with 1 and 2 stages (2 micro-batches)
// against train.Parallel with 1 and 2 workers.
func BenchmarkPipeline(b *testing.B) {
	m := smallModel(b)
	cfg := m.Config
	const batch, lossRows = 2, 1000
	length := cfg.ReceptiveField() - 1 + lossRows
	segs := make([][]int32, batch)
	for i := range segs {
		segs[i] = make([]int32, length+1)
		for j := range segs[i] {
			segs[i][j] = int32((i*7 + j*13) % cfg.QuantizationChannels)
		}
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.N*batch*lossRows)/b.Elapsed().Seconds(), "samples/s")
	}
	for _, stages := range []int{1, 2} {
		b.Run(fmt.Sprintf("pipeline/stages=%d", stages), func(b *testing.B) {
			p, err := NewPipeline(m, stages, 2, batch, length, lossRows)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := p.Step(context.Background(), segs, nil); err != nil {
					b.Fatal(err)
				}
			}
			report(b)
		})
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("parallel/workers=%d", workers), func(b *testing.B) {
			p, err := train.NewParallel(m, workers, batch, length, lossRows)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			for b.Loop() {
				if _, err := p.Step(context.Background(), segs, nil); err != nil {
					b.Fatal(err)
				}
			}
			report(b)
		})
	}
}
