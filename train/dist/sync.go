package dist

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/nn"
	"github.com/wavenet-go/wavenet/train"
)

// Options configure the distributed side of a run.
type Options struct {
	Algorithm Algorithm // Sync: how gradients are averaged (default Reduce)
	Codec     Codec     // how gradients travel (default F32)
	// Timeout is how long a rank waits for another (default 2 minutes):
	// in Sync a missing gradient stops the run, rank 0 saving a checkpoint
	// of the last finished step (after a step rank 0 validates after, the
	// others wait 10 times as long); in Async a worker gives up on a silent
	// server, and a server with no worker for this long stops with a
	// checkpoint.
	Timeout time.Duration
	// Stages > 1 makes Sync compute each rank's gradient with a Pipeline
	// of that many stages and MicroBatches micro-batches (default 1)
	// instead of train.Parallel's replicas.
	Stages, MicroBatches int
	// PipelineRanks makes the ranks of a Sync run the stages of one
	// pipeline (NewPipelineRank, MicroBatches micro-batches) instead of
	// data-parallel replicas: each rank runs its stage on the whole batch,
	// and the stages' gradients are summed so that every rank takes the
	// same step on the whole model (the weights stay replicated: rank 0
	// checkpoints them as in data parallelism).
	PipelineRanks bool
	// MaxStaleness bounds Async: a gradient computed on weights more than
	// this many updates older than the server's is dropped (and its worker
	// pulls again). 0 means no bound.
	MaxStaleness int
}

func (o *Options) defaults() {
	if o.Algorithm == "" {
		o.Algorithm = Reduce
	}
	if o.Codec == "" {
		o.Codec = F32
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
}

// Sync is one rank of a synchronous data-parallel run: every step each of
// the N ranks computes the gradient of its slice of the global batch
// (rank r: sequences r*B/N..(r+1)*B/N-1 of the B that one process would
// draw), the gradients are averaged over the ranks in a fixed order, and
// every rank clips and takes the same Adam step. Rank 0 validates, writes
// metrics.jsonl and the checkpoints.
type Sync struct {
	*run
	dopts  Options
	par    gradients
	red    *reducer
	global *batch
	share  int
	vec    []float32 // the flattened gradient and the loss
}

// NewSync makes rank net.Rank() of a synchronous run that writes to dir
// (rank 0) from the checkpoint directory ckpt (package train's; every rank
// starts from the same one), on the same corpus on every rank. opts are
// a train.Trainer's Options (defaults filled in); opts.Workers replicas
// compute this rank's share. The global batch must split evenly over the
// ranks.
func NewSync(ctx context.Context, net Transport, dir, ckpt string, trainUtts, val []*corpus.Utterance, opts train.Options, dopts Options) (*Sync, error) {
	dopts.defaults()
	r, err := newRun(ctx, net, dir, ckpt, trainUtts, val, opts)
	if err != nil {
		return nil, err
	}
	N := net.World()
	if r.opts.Batch%N != 0 && !dopts.PipelineRanks {
		return nil, fmt.Errorf("dist: batch %d does not split over %d ranks", r.opts.Batch, N)
	}
	s := &Sync{run: r, dopts: dopts, share: r.opts.Batch / N}
	length := r.Model.Config.ReceptiveField() - 1 + r.opts.Segment
	switch {
	case dopts.PipelineRanks:
		s.share = r.opts.Batch // every stage sees the whole batch
		pp, err := NewPipelineRank(r.Model, net, max(dopts.MicroBatches, 1), s.share, length, r.opts.Segment, dopts.Timeout)
		if err != nil {
			return nil, err
		}
		s.par = pipelineGradients{pp}
	case dopts.Stages > 1:
		pp, err := NewPipeline(r.Model, dopts.Stages, max(dopts.MicroBatches, 1), s.share, length, r.opts.Segment)
		if err != nil {
			return nil, err
		}
		s.par = pipelineGradients{pp}
	default:
		pp, err := train.NewParallel(r.Model, fitWorkers(r.opts.Workers, s.share, r.opts.Segment), s.share, length, r.opts.Segment)
		if err != nil {
			return nil, err
		}
		s.par = parallelGradients{pp}
	}
	n := 1 // the loss
	for _, p := range r.params {
		n += len(p.Value)
	}
	s.vec = make([]float32, n)
	s.red = newReducer(net, dopts.Algorithm, dopts.Codec, n, dopts.Timeout)
	s.red.sum = dopts.PipelineRanks // each rank has its stage's gradients, zeros elsewhere
	s.global = newBatch(r.opts.Batch, r.Model.Config.Local != nil)
	return s, nil
}

// fitWorkers is the number of replicas, at most workers, that train.Parallel
// accepts for batch sequences of segment predictions.
func fitWorkers(workers, batch, segment int) int {
	for w := max(workers, 1); w > 1; w-- {
		if batch%w == 0 || w%batch == 0 && segment%(w/batch) == 0 {
			return w
		}
	}
	return 1
}

// Step is the number of optimizer steps done.
func (s *Sync) Step() int64 { return s.step }

// Close releases the replicas.
func (s *Sync) Close() error { return s.par.Close() }

// Run trains until opts.Steps (or opts.Until). When ctx is cancelled, a
// rank stops answering (ErrTimeout) or another rank stops the run
// (ErrStopped: every rank that stops tells the others), rank 0 saves a
// checkpoint of the last finished step and Run returns the error.
func (s *Sync) Run(ctx context.Context) error {
	o := &s.opts
	start, startSamples := time.Now(), s.samples
	saved := s.step
	var lg logger
	rank := s.net.Rank()
	// A rank that stops (interrupted, or it lost another) tells the rest,
	// which stop at once instead of after the timeout.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	go func() {
		if _, from, err := s.net.Recv(ctx, -1, tagAbort); err == nil {
			stop(fmt.Errorf("%w (rank %d)", ErrStopped, from))
		}
	}()
	var err error
	for s.step < o.End() {
		if err = ctx.Err(); err != nil {
			break
		}
		before := s.sampler.State() // a step that fails is not drawn
		s.draw(s.global)
		lo := rank * s.share
		if s.dopts.PipelineRanks {
			lo = 0
		}
		mine := s.global.slice(lo, lo+s.share)
		var loss float64
		// After a step rank 0 validates, the others wait for it longer.
		s.red.timeout = s.dopts.Timeout
		if ve := o.ValidateEvery; rank != 0 && ve > 0 && s.step > 0 && s.step%ve == 0 {
			s.red.timeout = validateWait * s.dopts.Timeout
		}
		if loss, err = s.par.StepLocal(ctx, mine.segs, mine.conds, mine.mels, mine.offs); err == nil {
			s.flatten(loss)
			err = s.red.average(ctx, s.step, s.vec)
		}
		if err != nil {
			if rerr := s.sampler.Restore(before); rerr != nil {
				return errors.Join(err, rerr)
			}
			break
		}
		loss = s.unflatten()
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return fmt.Errorf("dist: step %d: loss is %v (diverged; lower --lr)", s.step+1, loss)
		}
		var norm, lr float64
		if norm, lr, err = s.apply(int64(o.Batch * o.Segment)); err != nil {
			return err
		}
		rate := float64(s.samples-startSamples) / time.Since(start).Seconds()
		if rank != 0 {
			if o.Progress != nil {
				o.Progress(train.Status{Step: s.step, Steps: o.Steps, Loss: loss, LR: lr, SamplesPerSec: rate})
			}
			continue
		}
		if err = s.after(ctx, &lg, loss, norm, lr, rate); err != nil {
			return err
		}
		if s.step%o.CheckpointEvery == 0 || s.step == o.End() {
			saved = s.step
		}
	}
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); errors.Is(cause, ErrStopped) {
		err = cause
	}
	if !errors.Is(err, ErrStopped) {
		for to := range s.net.World() {
			if to != rank {
				s.net.Send(context.WithoutCancel(ctx), to, tagAbort, nil)
			}
		}
	}
	if rank == 0 && saved != s.step && (errors.Is(err, ErrTimeout) || errors.Is(err, ErrStopped) || ctx.Err() != nil) {
		if serr := s.save(context.WithoutCancel(ctx), nil); serr != nil {
			return errors.Join(err, serr)
		}
	}
	return err
}

// validateWait is how many timeouts the other ranks of a Sync run wait
// for rank 0 after a step it validates after.
const validateWait = 10

// ErrStopped reports that another rank stopped a synchronous run (it was
// interrupted, or lost a rank); this rank stops too.
var ErrStopped = errors.New("dist: another rank stopped the run")

const tagAbort = "abort"

// flatten copies the gradients of this rank's share and its loss into
// s.vec.
func (s *Sync) flatten(loss float64) {
	off := 0
	for _, p := range s.par.params() {
		off += copy(s.vec[off:], p.Grad)
	}
	s.vec[off] = float32(loss)
}

// unflatten copies the averaged gradient into s.params and returns the
// averaged loss.
func (s *Sync) unflatten() float64 {
	off := 0
	for _, p := range s.params {
		off += copy(p.Grad, s.vec[off:])
	}
	return float64(s.vec[off])
}

// gradients computes the gradient of a rank's share of a batch.
type gradients interface {
	StepLocal(ctx context.Context, segs [][]int32, cond [][]int, mels [][]float32, offs []int) (float64, error)
	params() []nn.Param // Grad holds the gradient after StepLocal
	Close() error
}

type parallelGradients struct{ *train.Parallel }

func (p parallelGradients) params() []nn.Param { return p.Params }

type pipelineGradients struct{ *Pipeline }

func (p pipelineGradients) params() []nn.Param { return p.Params }
func (p pipelineGradients) Close() error       { return nil }

func (p pipelineGradients) StepLocal(ctx context.Context, segs [][]int32, cond [][]int, mels [][]float32, offs []int) (float64, error) {
	if mels != nil {
		return 0, fmt.Errorf("dist: pipeline: models with local conditioning are not supported")
	}
	return p.Step(ctx, segs, cond)
}
