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
//
// With fewer sequences than workers (batch 1 on 2 cores), each sequence is
// split into W/Batch chunks along time: chunk c keeps the lossRows/S
// predictions c*lossRows/S.. with the same length-lossRows codes of
// context before them, so every prediction still sees its whole receptive
// field and the gradient is the same as without the split (up to float
// rounding); the context is computed twice.
type Parallel struct {
	model  *wavenet.Model
	graphs []*Graph
	split  int // chunks per sequence
	length int // input codes per (unsplit) sequence
	rows   int // loss rows per (unsplit) sequence
	chunks [][]int32
	conds  [][]int
	mels   [][]float32
	offs   []int
	// Params are the model's tensors in model.Params() order: Value aliases
	// the model, Grad holds the averaged gradient after Step.
	Params []nn.Param
}

// NewParallel builds workers replicas for batches of batch sequences of
// length input codes with the loss on the last lossRows of each. batch
// must be a multiple of workers, or workers a multiple of batch with
// lossRows a multiple of workers/batch (the split described at Parallel).
func NewParallel(m *wavenet.Model, workers, batch, length, lossRows int) (*Parallel, error) {
	split := 1
	switch {
	case workers < 1 || batch < 1:
		return nil, fmt.Errorf("train: %d workers, batch %d", workers, batch)
	case batch >= workers && batch%workers == 0:
	case batch < workers && workers%batch == 0 && lossRows%(workers/batch) == 0:
		split = workers / batch
	default:
		return nil, fmt.Errorf("train: batch %d of %d predictions does not split over %d workers", batch, lossRows, workers)
	}
	p := &Parallel{model: m, split: split, length: length, rows: lossRows}
	chunkRows := lossRows / split
	chunkLen := length - lossRows + chunkRows
	frames := 0 // a chunk takes the frames of its whole sequence
	if lc := m.Config.Local; lc != nil {
		frames = LocalFrames(*lc, length)
	}
	for w := 0; w < workers; w++ {
		g, err := newGraph(m, batch*split/workers, chunkLen, chunkRows, frames, nil)
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
	return p.StepLocal(ctx, segs, cond, nil, nil)
}

// StepLocal is Step for a model with local conditioning: mels[s] holds the
// frames of sequence s (LocalFrames of the whole sequence, as LocalWindow
// cuts them) and offs[s] its offset (see Graph.SetLocal).
func (p *Parallel) StepLocal(ctx context.Context, segs [][]int32, cond [][]int, mels [][]float32, offs []int) (float64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if (p.model.Config.Local != nil) != (mels != nil) {
		return 0, fmt.Errorf("train: local conditioning given: %v, the model has it: %v", mels != nil, p.model.Config.Local != nil)
	}
	W := len(p.graphs)
	per := p.graphs[0].Seqs
	if len(segs)*p.split != W*per {
		return 0, fmt.Errorf("train: batch of %d sequences, want %d", len(segs), W*per/p.split)
	}
	if p.split > 1 {
		// Chunk c of a sequence: its share of the loss rows with all the
		// context before them.
		p.chunks, p.conds, p.mels, p.offs = p.chunks[:0], p.conds[:0], p.mels[:0], p.offs[:0]
		ctxLen, n := p.length-p.rows, p.rows/p.split
		for i, seg := range segs {
			if len(seg) != p.length+1 {
				return 0, fmt.Errorf("train: sequence %d has %d codes, want %d", i, len(seg), p.length+1)
			}
			for c := 0; c < p.split; c++ {
				p.chunks = append(p.chunks, seg[c*n:c*n+ctxLen+n+1])
				if cond != nil {
					p.conds = append(p.conds, cond[i])
				}
				if mels != nil {
					// The chunk's first code is the sequence's code c*n.
					p.mels, p.offs = append(p.mels, mels[i]), append(p.offs, offs[i]+c*n)
				}
			}
		}
		segs = p.chunks
		if cond != nil {
			cond = p.conds
		}
		if mels != nil {
			mels, offs = p.mels, p.offs
		}
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
		if mels != nil {
			if err := g.SetLocal(mels[w*per:(w+1)*per], offs[w*per:(w+1)*per]); err != nil {
				return 0, err
			}
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
