package dist

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/internal/safetensors"
	"github.com/wavenet-go/wavenet/nn"
	"github.com/wavenet-go/wavenet/train"
	"github.com/wavenet-go/wavenet/wavenet"
)

// run is what every rank (and the parameter server) keeps of a training
// run: the model, the optimizer, the data order, the counters, and on
// rank 0 the run directory it writes.
type run struct {
	Model   *wavenet.Model
	net     Transport
	dir     string
	opts    train.Options
	st      train.State // the hyperparameters and corpus source of the checkpoint started from
	train   []*corpus.Utterance
	val     []*corpus.Utterance
	cond    map[*corpus.Utterance][]int
	sampler *corpus.Sampler
	opt     *nn.Adam
	sched   nn.Schedule
	params  []nn.Param // the model's tensors; Grad is the gradient applied
	step    int64
	samples int64
	lastVal *train.Validation
	// optState, if set, is the optimizer state save writes instead of
	// opt's (a pipeline's rank 0 puts the stages' together).
	optState map[string][]float32
}

// newRun loads the checkpoint directory ckpt (package train's) and sets
// up the data order and optimizer it records. opts must have train's
// defaults filled in (train.Trainer.Options); its Batch, Segment, Seed
// and schedule are replaced by the checkpoint's.
func newRun(ctx context.Context, net Transport, dir, ckpt string, trainUtts, val []*corpus.Utterance, opts train.Options) (*run, error) {
	if opts.Workers <= 0 || opts.LogEvery <= 0 || opts.CheckpointEvery <= 0 || opts.Keep <= 0 {
		return nil, fmt.Errorf("dist: options without defaults (take them from train.Trainer.Options)")
	}
	if len(trainUtts) == 0 {
		return nil, fmt.Errorf("dist: no training utterances")
	}
	c, err := wavenet.LoadCheckpoint(ctx, ckpt)
	if err != nil {
		return nil, err
	}
	r := &run{Model: c.Model, net: net, dir: dir, train: trainUtts, val: val, cond: map[*corpus.Utterance][]int{},
		opt: nn.NewAdam(0.9, 0.999, 1e-8, 0)}
	sb, ok := c.Extra[train.StateFile]
	if !ok {
		return nil, fmt.Errorf("dist: checkpoint %s has no %s", ckpt, train.StateFile)
	}
	if err := json.Unmarshal(sb, &r.st); err != nil {
		return nil, fmt.Errorf("dist: checkpoint %s: %s: %w", ckpt, train.StateFile, err)
	}
	ob, ok := c.Extra[train.OptimizerFile]
	if !ok {
		return nil, fmt.Errorf("dist: checkpoint %s has no %s", ckpt, train.OptimizerFile)
	}
	if err := r.setOptimizer(ob); err != nil {
		return nil, fmt.Errorf("dist: checkpoint %s: %w", ckpt, err)
	}
	opts.Batch, opts.Segment, opts.Seed = r.st.Batch, r.st.Segment, r.st.Seed
	opts.LR, opts.Warmup, opts.Cosine, opts.CondDropout = r.st.LR, r.st.Warmup, r.st.Cosine, r.st.CondDropout
	opts.Steps = max(opts.Steps, r.st.Step)
	if opts.ValidationLabels == nil {
		for _, cd := range r.Model.Config.Conditions {
			opts.ValidationLabels = append(opts.ValidationLabels, cd.Name)
		}
	}
	if len(val) == 0 {
		opts.ValidateEvery = 0
	}
	r.opts, r.sched = opts, opts.Schedule()
	r.step, r.samples = r.st.Step, r.st.Samples
	for _, u := range trainUtts {
		ci, err := u.ConditionIndices(r.Model.Config.Conditions)
		if err != nil {
			return nil, fmt.Errorf("dist: %w", err)
		}
		r.cond[u] = ci
	}
	r.sampler = corpus.NewSampler(trainUtts, opts.Seed)
	r.sampler.SetLevels(r.Model.Config.QuantizationChannels)
	if err := r.sampler.Restore(r.st.Sampler); err != nil {
		return nil, fmt.Errorf("dist: checkpoint %s: %w", ckpt, err)
	}
	for _, mp := range r.Model.Params() {
		r.params = append(r.params, nn.Param{Name: mp.Name, Value: mp.Data, Grad: make([]float32, len(mp.Data))})
	}
	return r, nil
}

// setOptimizer restores Adam from optimizer.safetensors bytes.
func (r *run) setOptimizer(b []byte) error {
	f, err := safetensors.Decode(b)
	if err != nil {
		return fmt.Errorf("%s: %w", train.OptimizerFile, err)
	}
	tensors := map[string][]float32{}
	for _, tn := range f.Tensors {
		if tensors[tn.Name], err = tn.Float32s(); err != nil {
			return fmt.Errorf("%s: %w", train.OptimizerFile, err)
		}
	}
	var step int64
	if _, err := fmt.Sscan(f.Metadata["step"], &step); err != nil {
		return fmt.Errorf("%s: bad step metadata %q", train.OptimizerFile, f.Metadata["step"])
	}
	if len(tensors) == 0 && step == 0 {
		return nil // a new run's optimizer, saved before its first step
	}
	return r.opt.SetState(tensors, step)
}

// batch is the sequences of one step.
type batch struct {
	segs  [][]int32
	conds [][]int
	mels  [][]float32 // local conditioning: each sequence's frames and offset
	offs  []int
}

func newBatch(n int, local bool) *batch {
	b := &batch{segs: make([][]int32, n), conds: make([][]int, n)}
	if local {
		b.mels, b.offs = make([][]float32, n), make([]int, n)
	}
	return b
}

// slice is sequences lo..hi of b.
func (b *batch) slice(lo, hi int) *batch {
	s := &batch{segs: b.segs[lo:hi], conds: b.conds[lo:hi]}
	if b.mels != nil {
		s.mels, s.offs = b.mels[lo:hi], b.offs[lo:hi]
	}
	return s
}

// draw fills b with the next sequences of the data order, as
// train.Trainer draws them for step r.step: every rank draws the whole
// global batch, so the order is one process's.
func (r *run) draw(b *batch) {
	rf := r.Model.Config.ReceptiveField()
	seg := r.opts.Segment
	for i := range b.segs {
		var u *corpus.Utterance
		var from int
		b.segs[i], u, from = r.sampler.NextAt(b.segs[i], seg+1, rf-1)
		b.conds[i] = train.DropConds(b.conds[i], r.cond[u], r.Model.Config.Conditions, r.opts.CondDropout, r.opts.Seed, r.step, i)
		if lc := r.Model.Config.Local; lc != nil {
			b.mels[i], b.offs[i] = train.LocalWindow(b.mels[i], u.Mel, *lc, from+1, train.LocalFrames(*lc, rf-1+seg))
		}
	}
}

// apply clips the gradient in r.params, takes the optimizer step of
// r.step and counts it. It returns the norm before clipping (NaN when
// clipping is off) and the learning rate.
func (r *run) apply(samples int64) (norm, lr float64, err error) {
	norm = math.NaN()
	if r.opts.ClipNorm > 0 {
		norm = nn.ClipGlobalNorm(r.params, r.opts.ClipNorm)
	}
	lr = r.sched.LR(r.step)
	if err := r.opt.Step(r.params, lr); err != nil {
		return 0, 0, fmt.Errorf("dist: %w", err)
	}
	r.step++
	r.samples += samples
	return norm, lr, nil
}

// logger accumulates the metrics lines rank 0 writes.
type logger struct {
	lossSum, normSum float64
	n                int
}

// after runs what follows step r.step on rank 0: validation, the metrics
// line, progress and the checkpoint, as train.Trainer does.
func (r *run) after(ctx context.Context, lg *logger, loss, norm, lr, rate float64) error {
	o := &r.opts
	lg.lossSum += loss
	lg.normSum += norm
	lg.n++
	var val *train.Validation
	if o.ValidateEvery > 0 && (r.step%o.ValidateEvery == 0 || r.step == o.Steps) {
		v, err := train.Validate(ctx, r.Model, r.val, o.ValidationLabels, o.Workers)
		if err != nil {
			return err
		}
		val, r.lastVal = &v, &v
	}
	if r.step%o.LogEvery == 0 || val != nil || r.step == o.Steps {
		m := train.NewMetric(r.step, lg.lossSum/float64(lg.n), lg.normSum/float64(lg.n), lr, rate, val)
		if err := train.AppendMetric(filepath.Join(r.dir, train.MetricsFile), m); err != nil {
			return err
		}
		*lg = logger{}
	}
	if o.Progress != nil {
		o.Progress(train.Status{Step: r.step, Steps: o.Steps, Loss: loss, LR: lr, SamplesPerSec: rate, Val: r.lastVal})
	}
	if r.step%o.CheckpointEvery == 0 || r.step == o.End() {
		return r.save(context.WithoutCancel(ctx), nil)
	}
	return nil
}

// save writes a checkpoint of r.step that package train resumes (extra
// files added), drops all but the newest opts.Keep and redraws the curve.
func (r *run) save(ctx context.Context, extra map[string][]byte) error {
	tensors, optStep := r.opt.State()
	if r.optState != nil {
		tensors = r.optState
	}
	if len(tensors) == 0 {
		// Before the first step: Adam's zero moments, which nn.Adam
		// restores (it refuses an empty state).
		for _, p := range r.params {
			for _, kind := range []string{"m", "v"} {
				tensors["adam."+kind+"."+p.Name] = make([]float32, len(p.Value))
			}
		}
	}
	var ts []safetensors.Tensor
	for _, name := range slices.Sorted(maps.Keys(tensors)) {
		ts = append(ts, safetensors.FromFloat32(name, []int{len(tensors[name])}, tensors[name], safetensors.F32))
	}
	var ob bytes.Buffer
	if err := safetensors.Write(&ob, ts, map[string]string{"step": fmt.Sprint(optStep), "optimizer": "adam"}); err != nil {
		return fmt.Errorf("dist: save optimizer: %w", err)
	}
	st := r.st
	st.Step, st.Samples, st.Sampler = r.step, r.samples, r.sampler.State()
	sb, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("dist: save state: %w", err)
	}
	files := map[string][]byte{train.OptimizerFile: ob.Bytes(), train.StateFile: append(sb, '\n')}
	for k, v := range extra {
		files[k] = v
	}
	root := filepath.Join(r.dir, train.CheckpointDir)
	dir := filepath.Join(root, fmt.Sprintf("step-%09d", r.step))
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("dist: %w", err)
	}
	err = wavenet.SaveCheckpoint(ctx, dir, &wavenet.Checkpoint{Model: r.Model, Metadata: map[string]string{"step": fmt.Sprint(r.step)}, Extra: files})
	if err != nil {
		return fmt.Errorf("dist: save checkpoint: %w", err)
	}
	if r.opts.Logf != nil {
		r.opts.Logf("dist: saved checkpoint %s", dir)
	}
	entries, _ := os.ReadDir(root)
	var old []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "step-") {
			old = append(old, filepath.Join(root, e.Name()))
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(old))) // zero-padded: name order is step order
	for _, d := range old[min(len(old), r.opts.Keep):] {
		os.RemoveAll(d)
	}
	if err := train.PlotCurves(filepath.Join(r.dir, train.MetricsFile), filepath.Join(r.dir, train.CurveFile)); err != nil && r.opts.Logf != nil {
		r.opts.Logf("dist: plot: %v", err)
	}
	return nil
}

// saveStart saves the state of t, a train.Trainer whose run is in dir, as
// a checkpoint every rank starts from and returns its directory. A new
// run's step-0 checkpoint is written again with Adam's zero moments, so
// that it resumes (train.Resume refuses an optimizer without tensors).
func saveStart(ctx context.Context, dir string, t *train.Trainer, trainUtts []*corpus.Utterance) (string, error) {
	if err := t.Save(ctx); err != nil {
		return "", err
	}
	ckpt, err := train.LatestCheckpoint(dir)
	if err != nil || t.Step() > 0 {
		return ckpt, err
	}
	r, err := newRun(ctx, nil, dir, ckpt, trainUtts, nil, t.Options())
	if err != nil {
		return "", err
	}
	return ckpt, r.save(ctx, nil)
}
