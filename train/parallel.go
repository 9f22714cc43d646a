package train

import (
	"context"
	"fmt"
	"sync"

	"github.com/wavenet-go/wavenet/nn"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Parallel computes the gradient of a batch with W workers, each running
// its own Graph replica over the same model weights (read-only during the
// step) on Batch/W of the sequences. The workers' gradients are averaged in
// worker order, so the result for a batch does not depend on timing; with
// equal shares, the average of the workers' mean losses is the batch mean.
type Parallel struct {
	model  *wavenet.Model
	graphs []*Graph
	// Params are the model's tensors in model.Params() order: Value aliases
	// the model, Grad holds the averaged gradient after Step.
	Params []nn.Param
}

// NewParallel builds workers replicas for batches of batch sequences of
// length input codes with the loss on the last lossRows of each. batch
// must be a multiple of workers.
func NewParallel(m *wavenet.Model, workers, batch, length, lossRows int) (*Parallel, error) {
	if workers < 1 || batch < workers || batch%workers != 0 {
		return nil, fmt.Errorf("train: batch %d does not split over %d workers", batch, workers)
	}
	p := &Parallel{model: m}
	for w := 0; w < workers; w++ {
		g, err := NewGraph(m, batch/workers, length, lossRows)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.graphs = append(p.graphs, g)
	}
	for _, mp := range m.Params() {
		p.Params = append(p.Params, nn.Param{Name: mp.Name, Value: mp.Data, Grad: make([]float32, len(mp.Data))})
	}
	return p, nil
}

// Workers is the number of replicas.
func (p *Parallel) Workers() int { return len(p.graphs) }

// Step runs forward and backward on a batch (segs[s] holds Len+1 codes,
// cond[s] the condition indices; cond may be nil for an unconditioned
// model), leaves the averaged gradient in p.Params[i].Grad and returns the
// mean loss in nats.
func (p *Parallel) Step(ctx context.Context, segs [][]int32, cond [][]int) (float64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	W := len(p.graphs)
	per := p.graphs[0].Seqs
	if len(segs) != W*per {
		return 0, fmt.Errorf("train: batch of %d sequences, want %d", len(segs), W*per)
	}
	losses := make([]float64, W)
	errs := make([]error, W)
	var wg sync.WaitGroup
	for w, g := range p.graphs {
		var c [][]int
		if cond != nil {
			c = cond[w*per : (w+1)*per]
		}
		if err := g.SetBatch(segs[w*per:(w+1)*per], c); err != nil {
			return 0, err
		}
		wg.Go(func() { losses[w], errs[w] = g.Run() })
	}
	wg.Wait()
	var loss float64
	for w := range p.graphs {
		if errs[w] != nil {
			return 0, errs[w]
		}
		loss += losses[w]
	}
	for w, g := range p.graphs {
		gs, err := g.Grads()
		if err != nil {
			return 0, err
		}
		for i, gi := range gs {
			dst := p.Params[i].Grad
			switch {
			case gi == nil:
				if w == 0 {
					clear(dst)
				}
			case w == 0:
				copy(dst, gi)
			default:
				for j, v := range gi {
					dst[j] += v
				}
			}
			clear(gi) // gorgonia adds the next run's gradient to it
		}
	}
	if W > 1 {
		s := 1 / float32(W)
		for _, pr := range p.Params {
			for j := range pr.Grad {
				pr.Grad[j] *= s
			}
		}
	}
	return loss / float64(W), nil
}

// Close releases the replicas.
func (p *Parallel) Close() error {
	for _, g := range p.graphs {
		g.Close()
	}
	return nil
}
