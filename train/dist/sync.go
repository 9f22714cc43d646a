package dist

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/internal/safetensors"
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
	// data-parallel replicas: each rank runs its stage on the whole batch
	// and steps its own weights with its own part of Adam, clipping by the
	// norm of all stages' gradients (one sum of three numbers a step).
	// After the steps rank 0 validates or checkpoints after, and when the
	// run is interrupted, the stages send it their weights and moments;
	// when a stage is lost (ErrTimeout), rank 0 saves nothing (it has the
	// other stages' weights of its last checkpoint only), and the run
	// resumes from that checkpoint.
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
	vec    []float32  // the flattened gradient and the loss
	owned  []nn.Param // PipelineRanks: this rank's stage's parameters
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
		for _, pr := range pp.Params {
			if pp.Owns(net.Rank(), pr.Name) {
				s.owned = append(s.owned, pr)
			}
		}
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
	if dopts.PipelineRanks {
		// Only the squared gradient norm (in two float32 parts) and the
		// loss are summed over the stages.
		s.vec = make([]float32, 3)
		s.red = newReducer(net, dopts.Algorithm, F32, len(s.vec), dopts.Timeout)
		s.red.sum = true
		s.global = newBatch(r.opts.Batch, r.Model.Config.Local != nil)
		return s, nil
	}
	n := 1 // the loss
	for _, p := range r.params {
		n += len(p.Value)
	}
	s.vec = make([]float32, n)
	s.red = newReducer(net, dopts.Algorithm, dopts.Codec, n, dopts.Timeout)
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
		if s.owned != nil {
			norm, lr, err = s.applyOwned(int64(o.Batch * o.Segment))
			if err == nil && s.needsWeights() {
				err = s.gather(ctx, fmt.Sprint("gather", s.step))
			}
		} else {
			norm, lr, err = s.apply(int64(o.Batch * o.Segment))
		}
		if err != nil {
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
	if s.owned != nil && saved != s.step && !errors.Is(err, ErrTimeout) && (errors.Is(err, ErrStopped) || ctx.Err() != nil) {
		// Interrupted pipeline stages are alive: they send rank 0 their
		// weights, which it saves if all are of its step.
		if gerr := s.gather(context.WithoutCancel(ctx), "final"); gerr != nil {
			if rank == 0 && s.opts.Logf != nil {
				s.opts.Logf("dist: no checkpoint of step %d: %v", s.step, gerr)
			}
			return err
		}
	} else if s.owned != nil {
		// rank 0 has the other stages' weights of its last checkpoint
		// only: it cannot save the step it stopped at.
		return err
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
// s.vec; for a pipeline stage, its squared gradient norm (as a float32
// and the rest) and its loss (the last stage's).
func (s *Sync) flatten(loss float64) {
	if s.owned != nil {
		var ss float64
		for _, p := range s.owned {
			for _, g := range p.Grad {
				ss += float64(g) * float64(g)
			}
		}
		hi := float32(ss)
		s.vec[0], s.vec[1], s.vec[2] = hi, float32(ss-float64(hi)), float32(loss)
		return
	}
	off := 0
	for _, p := range s.par.params() {
		off += copy(s.vec[off:], p.Grad)
	}
	s.vec[off] = float32(loss)
}

// unflatten copies the averaged gradient into s.params and returns the
// averaged loss (a pipeline's: the loss).
func (s *Sync) unflatten() float64 {
	if s.owned != nil {
		return float64(s.vec[2])
	}
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

// applyOwned is run.apply for a pipeline stage: its own parameters,
// clipped by the global norm of all stages' gradients (s.vec after the
// sum), as nn.ClipGlobalNorm clips.
func (s *Sync) applyOwned(samples int64) (norm, lr float64, err error) {
	norm = math.NaN()
	if s.opts.ClipNorm > 0 {
		norm = math.Sqrt(max(float64(s.vec[0])+float64(s.vec[1]), 0))
		if c := s.opts.ClipNorm / (norm + 1e-6); c < 1 && !math.IsNaN(norm) && !math.IsInf(norm, 0) {
			fc := float32(c)
			for _, p := range s.owned {
				for j := range p.Grad {
					p.Grad[j] *= fc
				}
			}
		}
	}
	lr = s.sched.LR(s.step)
	if err := s.opt.Step(s.owned, lr); err != nil {
		return 0, 0, fmt.Errorf("dist: %w", err)
	}
	s.step++
	s.samples += samples
	return norm, lr, nil
}

// needsWeights says whether rank 0 validates or saves after this step
// (s.step), so that a pipeline's stages send it their weights.
func (s *Sync) needsWeights() bool {
	o := &s.opts
	return o.ValidateEvery > 0 && (s.step%o.ValidateEvery == 0 || s.step == o.Steps) ||
		s.step%o.CheckpointEvery == 0 || s.step == o.End()
}

// gather sends this stage's weights and Adam moments of step s.step to
// rank 0 (messages tagged tag), which puts them into its model and into
// the optimizer state it saves; a stage at another step is an error.
func (s *Sync) gather(ctx context.Context, tag string) error {
	if s.net.Rank() != 0 {
		tensors, _ := s.opt.State()
		var ts []safetensors.Tensor
		for _, p := range s.owned {
			ts = append(ts, safetensors.FromFloat32("w."+p.Name, []int{len(p.Value)}, p.Value, safetensors.F32))
		}
		for _, name := range slices.Sorted(maps.Keys(tensors)) {
			ts = append(ts, safetensors.FromFloat32("o."+name, []int{len(tensors[name])}, tensors[name], safetensors.F32))
		}
		return s.net.Send(ctx, 0, tag, writeTensors(ts, map[string]string{"step": strconv.FormatInt(s.step, 10)}))
	}
	full, _ := s.opt.State()
	value := map[string][]float32{}
	for _, p := range s.params {
		value[p.Name] = p.Value
	}
	for from := 1; from < s.net.World(); from++ {
		msg, err := s.red.recvRaw(ctx, s.step, from, tag)
		if err != nil {
			return err
		}
		f, err := safetensors.Decode(msg)
		if err != nil {
			return fmt.Errorf("dist: stage %d's weights: %w", from, err)
		}
		if step := f.Metadata["step"]; step != strconv.FormatInt(s.step, 10) {
			return fmt.Errorf("dist: stage %d's weights are of step %s, rank 0 is at %d", from, step, s.step)
		}
		for _, t := range f.Tensors {
			kind, name, _ := strings.Cut(t.Name, ".")
			switch dst, ok := value[name]; {
			case kind == "w" && ok && t.NumElements() == len(dst):
				if err := decodeFloats(dst, t); err != nil {
					return err
				}
			case kind == "o":
				v, err := t.Float32s()
				if err != nil {
					return fmt.Errorf("dist: stage %d's optimizer: %w", from, err)
				}
				full[name] = v
			default:
				return fmt.Errorf("dist: stage %d's weights: bad tensor %s", from, t.Name)
			}
		}
	}
	s.optState = full
	return nil
}
