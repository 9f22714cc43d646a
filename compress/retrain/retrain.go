package retrain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"

	"github.com/wavenet-go/wavenet/compress"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/nn"
	"github.com/wavenet-go/wavenet/train"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Options configure a training flow. Zero values take the defaults noted.
type Options struct {
	Steps    int     // optimizer steps (default 200)
	Batch    int     // sequences per step (default Workers)
	Segment  int     // predicted samples per sequence (default 2000)
	Workers  int     // data-parallel graph replicas (default NumCPU, capped at Batch)
	LR       float64 // Adam learning rate (default 1e-4 for fine-tuning, as a small step keeps the pruned solution near the dense one)
	ClipNorm float64 // global gradient-norm clip (default 1; negative: off)
	Seed     uint64  // data order

	// Val, if not empty, is scored every ValidateEvery steps (default
	// Steps/10) and at the end; ValidateMax bounds it to a fixed, evenly
	// spread subset (default all).
	Val           []*corpus.Utterance
	ValidateEvery int
	ValidateMax   int

	// Progress, if set, is called after every step.
	Progress func(Status)
}

// Status is the state after one step.
type Status struct {
	Step, Steps int
	Loss        float64 // nats per predicted sample, this step
	Val         *Point  // the latest validation, nil before the first
}

// Point is one validation: bits per sample after Step steps.
type Point struct {
	Step int     `json:"step"`
	Bits float64 `json:"bits"`
}

func (o *Options) defaults(lr float64) {
	if o.Steps <= 0 {
		o.Steps = 200
	}
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.Batch <= 0 {
		o.Batch = o.Workers
	}
	o.Workers = min(o.Workers, o.Batch)
	for o.Batch%o.Workers != 0 {
		o.Workers--
	}
	if o.Segment <= 0 {
		o.Segment = 2000
	}
	if o.LR <= 0 {
		o.LR = lr
	}
	if o.ClipNorm == 0 {
		o.ClipNorm = 1
	}
	if o.ValidateEvery <= 0 {
		o.ValidateEvery = max(1, o.Steps/10)
	}
	o.Val = spread(o.Val, o.ValidateMax)
}

// Validate returns m's bits per sample on utts (teacher forcing, every
// prediction, the pure-Go forward pass), with workers goroutines.
func Validate(ctx context.Context, m *wavenet.Model, utts []*corpus.Utterance, workers int) (float64, error) {
	v, err := train.Validate(ctx, m, utts, nil, max(1, workers))
	if err != nil {
		return 0, err
	}
	return v.Bits, nil
}

// batches draws training batches for m from utts: codes, conditions and,
// for a model with local conditioning, each sequence's mel window and
// offset (train.LocalWindow), as train's trainer draws them.
type batches struct {
	smp   *corpus.Sampler
	cond  map[*corpus.Utterance][]int
	segs  [][]int32
	conds [][]int
	seg   int
	pad   int
	local *wavenet.LocalConfig
	mels  [][]float32
	offs  []int
}

func newBatches(m *wavenet.Model, utts []*corpus.Utterance, o *Options) (*batches, error) {
	if len(utts) == 0 {
		return nil, errors.New("retrain: no training utterances")
	}
	b := &batches{smp: corpus.NewSampler(utts, o.Seed), cond: map[*corpus.Utterance][]int{},
		segs: make([][]int32, o.Batch), conds: make([][]int, o.Batch), seg: o.Segment, pad: m.Config.ReceptiveField() - 1,
		local: m.Config.Local}
	b.smp.SetLevels(m.Config.QuantizationChannels)
	for _, u := range utts {
		c, err := u.ConditionIndices(m.Config.Conditions)
		if err != nil {
			return nil, fmt.Errorf("retrain: %w", err)
		}
		if err := m.CheckInput(u.Codes, c); err != nil {
			return nil, fmt.Errorf("retrain: %s: %w", u.Name, err)
		}
		if b.local != nil && len(u.Mel) == 0 {
			return nil, fmt.Errorf("retrain: %s: %w", u.Name, &wavenet.LocalError{Msg: "the model is a vocoder and the utterance has no mel frames (load the corpus with the model's mel parameters: LoadCorpus)"})
		}
		b.cond[u] = c
	}
	if b.local != nil {
		b.mels, b.offs = make([][]float32, o.Batch), make([]int, o.Batch)
	}
	return b, nil
}

// next fills segs (each pad + Segment + 1 codes: inputs and, shifted by
// one, targets), conds and, with local conditioning, mels and offs.
func (b *batches) next() {
	for i := range b.segs {
		var u *corpus.Utterance
		var from int
		b.segs[i], u, from = b.smp.NextAt(b.segs[i], b.seg+1, b.pad)
		b.conds[i] = b.cond[u]
		if lc := b.local; lc != nil {
			// The first prediction is of the code after the first.
			b.mels[i], b.offs[i] = train.LocalWindow(b.mels[i], u.Mel, *lc, from+1, train.LocalFrames(*lc, b.pad+b.seg))
		}
	}
}

// step runs one forward and backward pass of par on the batch.
func (b *batches) step(ctx context.Context, par *train.Parallel) (float64, error) {
	if b.local != nil {
		return par.StepLocal(ctx, b.segs, b.conds, b.mels, b.offs)
	}
	return par.Step(ctx, b.segs, b.conds)
}

// FineTune trains m on utts with Adam for opts.Steps steps, keeping the
// pruned weights of masks at zero: their gradients are zeroed before each
// optimizer step (so Adam's moments for them stay zero) and the masks are
// applied again after it, as torch.nn.utils.prune's forward pre-hook
// multiplies the weight by its mask on every use. It returns the
// validation curve (empty without opts.Val).
func FineTune(ctx context.Context, m *wavenet.Model, masks compress.Masks, utts []*corpus.Utterance, opts Options) ([]Point, error) {
	opts.defaults(1e-4)
	bt, err := newBatches(m, utts, &opts)
	if err != nil {
		return nil, err
	}
	par, err := train.NewParallel(m, opts.Workers, opts.Batch, bt.pad+opts.Segment, opts.Segment)
	if err != nil {
		return nil, err
	}
	defer par.Close()
	gradMasks := make([]compress.Mask, len(par.Params))
	for i, p := range par.Params {
		gradMasks[i] = masks[p.Name]
	}
	opt := nn.NewAdam(0.9, 0.999, 1e-8, 0)
	masks.Apply(m)
	vt := &curveTracker{m: m, val: opts.Val, workers: opts.Workers}
	if err := vt.validate(ctx, 0); err != nil {
		return nil, err
	}
	for step := 1; step <= opts.Steps; step++ {
		bt.next()
		loss, err := bt.step(ctx, par)
		if err != nil {
			return vt.curve, err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return vt.curve, fmt.Errorf("retrain: step %d: loss is %v (diverged; lower the learning rate)", step, loss)
		}
		for i, mk := range gradMasks {
			if mk != nil {
				mk.Apply(par.Params[i].Grad)
			}
		}
		if opts.ClipNorm > 0 {
			nn.ClipGlobalNorm(par.Params, opts.ClipNorm)
		}
		if err := opt.Step(par.Params, opts.LR); err != nil {
			return vt.curve, fmt.Errorf("retrain: %w", err)
		}
		masks.Apply(m)
		if err := vt.after(ctx, step, loss, &opts); err != nil {
			return vt.curve, err
		}
	}
	return vt.curve, nil
}

// curveTracker keeps a validation curve during training.
type curveTracker struct {
	m       *wavenet.Model
	val     []*corpus.Utterance
	workers int
	curve   []Point
}

// validate scores the model (nothing without validation data).
func (vt *curveTracker) validate(ctx context.Context, step int) error {
	if len(vt.val) == 0 {
		return nil
	}
	bits, err := Validate(ctx, vt.m, vt.val, vt.workers)
	if err != nil {
		return err
	}
	vt.curve = append(vt.curve, Point{Step: step, Bits: bits})
	return nil
}

// after validates when the options say so and reports progress.
func (vt *curveTracker) after(ctx context.Context, step int, loss float64, o *Options) error {
	if step%o.ValidateEvery == 0 || step == o.Steps {
		if err := vt.validate(ctx, step); err != nil {
			return err
		}
	}
	if o.Progress != nil {
		s := Status{Step: step, Steps: o.Steps, Loss: loss}
		if n := len(vt.curve); n > 0 {
			s.Val = &vt.curve[n-1]
		}
		o.Progress(s)
	}
	return nil
}

// SparsityPoint is one point of a sparsity curve.
type SparsityPoint struct {
	Sparsity float64 `json:"sparsity"` // fraction of zero weights in the weight matrices
	// Bits is the validation bits per sample right after pruning, Tuned
	// after fine-tuning (NaN without fine-tuning).
	Bits  float64 `json:"bits"`
	Tuned float64 `json:"tuned"`
}

// MarshalJSON writes NaN (not measured) as null.
func (p SparsityPoint) MarshalJSON() ([]byte, error) {
	f := func(v float64) any {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return v
	}
	return json.Marshal(map[string]any{"sparsity": f(p.Sparsity), "bits": f(p.Bits), "tuned": f(p.Tuned)})
}

// PruneSchedule returns the target sparsities of rounds rounds towards
// final with the cubic schedule of Zhu and Gupta 2017 ("To prune, or not
// to prune"): s_i = final * (1 - (1 - i/rounds)^3), which prunes fast
// while many weights are redundant and slowly near the end.
func PruneSchedule(final float64, rounds int) []float64 {
	s := make([]float64, rounds)
	for i := range s {
		f := 1 - float64(i+1)/float64(rounds)
		s[i] = final * (1 - f*f*f)
	}
	s[rounds-1] = final
	return s
}

// IterativePrune prunes m in rounds to the sparsities of schedule
// (increasing, in [0, 1)), fine-tuning opts.Steps steps on utts after each
// round with the masks kept (pruned weights never come back); val is
// scored after each pruning and each fine-tuning. Global ranks all weight
// matrices together, else each loses the same fraction. It returns one
// point per round and the final masks.
func IterativePrune(ctx context.Context, m *wavenet.Model, schedule []float64, global bool, utts, val []*corpus.Utterance,
	opts Options, progress func(round int, p SparsityPoint)) ([]SparsityPoint, compress.Masks, error) {
	var masks compress.Masks
	var points []SparsityPoint
	prev := 0.0
	for r, target := range schedule {
		if !(target >= prev && target < 1) {
			return points, masks, fmt.Errorf("retrain: sparsity schedule %v: want increasing values in [0, 1)", schedule)
		}
		// Of the weights still alive (1 - prev), prune enough to leave
		// 1 - target.
		frac := 1 - (1-target)/(1-prev)
		var err error
		masks, err = compress.PruneModel(m, compress.PruneOptions{Amount: compress.Fraction(frac), Global: global}, masks)
		if err != nil {
			return points, masks, err
		}
		prev = target
		p := SparsityPoint{Sparsity: compress.Sparsity(m), Bits: math.NaN(), Tuned: math.NaN()}
		if len(val) > 0 {
			if p.Bits, err = Validate(ctx, m, val, opts.Workers); err != nil {
				return points, masks, err
			}
		}
		if opts.Steps > 0 && len(utts) > 0 {
			o := opts
			o.Val = nil
			o.Seed = opts.Seed + uint64(r)
			if _, err := FineTune(ctx, m, masks, utts, o); err != nil {
				return points, masks, err
			}
			if len(val) > 0 {
				if p.Tuned, err = Validate(ctx, m, val, opts.Workers); err != nil {
					return points, masks, err
				}
			}
		}
		points = append(points, p)
		if progress != nil {
			progress(r, p)
		}
	}
	return points, masks, nil
}

// OneShot prunes copies of m to each of sparsities (globally or per
// matrix, no fine-tuning) and scores them on val.
func OneShot(ctx context.Context, m *wavenet.Model, sparsities []float64, global bool, val []*corpus.Utterance, workers int) ([]SparsityPoint, error) {
	var pts []SparsityPoint
	for _, s := range sparsities {
		c := m.Clone()
		if _, err := compress.PruneModel(c, compress.PruneOptions{Amount: compress.Fraction(s), Global: global}, nil); err != nil {
			return pts, err
		}
		bits, err := Validate(ctx, c, val, workers)
		if err != nil {
			return pts, err
		}
		pts = append(pts, SparsityPoint{Sparsity: compress.Sparsity(c), Bits: bits, Tuned: math.NaN()})
	}
	return pts, nil
}
