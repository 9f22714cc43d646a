package train

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/internal/safetensors"
	"github.com/wavenet-go/wavenet/nn"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Files of a run directory and of its checkpoints.
const (
	MetricsFile   = "metrics.jsonl"         // one JSON line per logged step
	CurveFile     = "curve.png"             // loss and validation curves
	CheckpointDir = "checkpoints"           // holds step-NNNNNNNNN/ checkpoint directories
	OptimizerFile = "optimizer.safetensors" // Adam's moments, in a checkpoint
	StateFile     = "trainer.json"          // step, data order, options, in a checkpoint
)

// Options configure a training run. Zero values take the defaults noted.
type Options struct {
	Steps   int64 // total optimizer steps of the run (default 1000)
	Batch   int   // sequences per step (default Workers)
	Segment int   // predictions per sequence (default 4000); each sequence also carries ReceptiveField()-1 codes of context
	Workers int   // data-parallel replicas (default runtime.NumCPU()); more workers than Batch split each sequence along time

	LR       float64 // peak learning rate (default 1e-3)
	Warmup   int64   // linear warm-up steps of the cosine schedule
	Cosine   bool    // cosine decay to LR/10 over Steps after Warmup; else constant
	ClipNorm float64 // global gradient-norm clip (default 1; negative disables)

	Seed uint64 // model initialisation and data order

	// CondDropout is the probability with which each training sequence's
	// value of each condition that has a null row (Condition.Null) is
	// replaced by the null row, independently per condition, so that the
	// model also learns the distribution with that condition unknown
	// (classifier-free guidance's unconditional model). 0 disables it.
	CondDropout float64

	// Until, if positive and below Steps, stops the run (with a checkpoint)
	// after that step; the learning-rate schedule still spans Steps, so a
	// long run can be trained in parts. It is not stored in checkpoints.
	Until int64

	CheckpointEvery int64 // steps between checkpoints (default 500; the last step always saves)
	Keep            int   // checkpoints kept (default 3)
	ValidateEvery   int64 // steps between validations (default 500; 0 with no validation data)
	ValidateMax     int   // validate on at most this many utterances (default all), a fixed subset
	LogEvery        int64 // steps between metrics lines (default 10)

	// ValidationLabels are the labels to break validation down by (default
	// the model's condition names).
	ValidationLabels []string

	// Progress, if set, is called after every step.
	Progress func(Status)
	// Logf, if set, receives warnings and events (checkpoint saved, a
	// corrupt checkpoint skipped on resume).
	Logf func(format string, args ...any)
}

func (o *Options) defaults() {
	if o.Steps <= 0 {
		o.Steps = 1000
	}
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.Batch <= 0 {
		o.Batch = o.Workers
	}
	if o.Segment <= 0 {
		o.Segment = 4000
	}
	// Fewer sequences than workers: split each along time (see Parallel)
	// when the numbers divide, else use fewer workers.
	if o.Batch < o.Workers && !(o.Workers%o.Batch == 0 && o.Segment%(o.Workers/o.Batch) == 0) {
		o.Workers = o.Batch
	}
	for o.Batch >= o.Workers && o.Batch%o.Workers != 0 {
		o.Workers--
	}
	if o.LR <= 0 {
		o.LR = 1e-3
	}
	if o.ClipNorm == 0 {
		o.ClipNorm = 1
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = 500
	}
	if o.Keep <= 0 {
		o.Keep = 3
	}
	if o.ValidateEvery < 0 {
		o.ValidateEvery = 0
	} else if o.ValidateEvery == 0 {
		o.ValidateEvery = 500
	}
	if o.LogEvery <= 0 {
		o.LogEvery = 10
	}
}

// End is the step a run stops at: Until if it is set and below Steps, else
// Steps.
func (o *Options) End() int64 {
	if o.Until > 0 && o.Until < o.Steps {
		return o.Until
	}
	return o.Steps
}

// Schedule is the learning-rate schedule the options describe.
func (o *Options) Schedule() nn.Schedule {
	if o.Cosine {
		return nn.CosineWarmup(o.LR, o.Warmup, o.Steps, o.LR/10)
	}
	return nn.Constant(o.LR)
}

// Status is the state after one step, for progress display.
type Status struct {
	Step, Steps   int64
	Loss          float64 // nats per predicted sample, this step
	LR            float64
	SamplesPerSec float64     // predicted samples per second since the run (or resume) started
	Val           *Validation // the latest validation, nil before the first
}

// Metric is one line of metrics.jsonl.
type Metric struct {
	Step          int64       `json:"step"`
	Loss          float64     `json:"loss"` // mean nats per predicted sample over the logged interval
	Bits          float64     `json:"bits"` // the same in bits
	LR            float64     `json:"lr"`
	SamplesPerSec float64     `json:"samples_per_s"`
	GradNorm      float64     `json:"grad_norm"`
	Val           *Validation `json:"validation,omitempty"`
}

// State is a checkpoint's trainer.json: what resumes a run beside the
// weights and the optimizer (train/dist writes and reads the same).
type State struct {
	Step    int64               `json:"step"`
	Seed    uint64              `json:"seed"`
	Sampler corpus.SamplerState `json:"sampler"`
	Batch   int                 `json:"batch"`
	Segment int                 `json:"segment"`
	LR      float64             `json:"lr"`
	Warmup  int64               `json:"warmup"`
	Cosine  bool                `json:"cosine"`
	// CondDropout is Options.CondDropout (absent in older checkpoints: 0).
	CondDropout float64 `json:"cond_dropout,omitempty"`
	Samples     int64   `json:"samples"` // predicted samples trained on
	// Corpus is how Open listed the corpus (absent in older checkpoints
	// and for trainers made without Open).
	Corpus *CorpusSource `json:"corpus,omitempty"`
}

// Trainer trains a model on a corpus; see New, Resume and Run.
type Trainer struct {
	Model *wavenet.Model
	opts  Options
	dir   string

	train, val []*corpus.Utterance
	sampler    *corpus.Sampler
	cond       map[*corpus.Utterance][]int
	par        *Parallel
	opt        *nn.Adam
	sched      nn.Schedule
	step       int64
	samples    int64
	lastVal    *Validation
	segs       [][]int32
	conds      [][]int
	mels       [][]float32 // local conditioning: each sequence's frames and offset
	offs       []int
	source     *CorpusSource // recorded in trainer.json
}

// New starts a run in directory dir (created; it must not hold
// checkpoints already: use Resume) for cfg on the training utterances,
// validating on val (may be empty). The model is initialised from
// opts.Seed.
func New(dir string, cfg wavenet.Config, trainUtts, val []*corpus.Utterance, opts Options) (*Trainer, error) {
	m, err := NewModel(cfg, opts.Seed)
	if err != nil {
		return nil, err
	}
	return NewFrom(dir, m, trainUtts, val, opts)
}

// NewFrom starts a run in directory dir like New, but from the weights of
// m (a warm start: fine-tuning a trained model with a new schedule,
// segment or batch). The optimizer state and the step counter start
// afresh; m is trained in place.
func NewFrom(dir string, m *wavenet.Model, trainUtts, val []*corpus.Utterance, opts Options) (*Trainer, error) {
	if _, err := latestCheckpoints(dir); err == nil {
		return nil, fmt.Errorf("train: %s already holds checkpoints (resume it, or choose another directory)", dir)
	}
	t, err := newTrainer(dir, m, trainUtts, val, opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	// A fresh run starts a fresh metrics file.
	if err := os.WriteFile(filepath.Join(dir, MetricsFile), nil, 0o644); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return t, nil
}

func newTrainer(dir string, m *wavenet.Model, trainUtts, val []*corpus.Utterance, opts Options) (*Trainer, error) {
	opts.defaults()
	if len(trainUtts) == 0 {
		return nil, errors.New("train: no training utterances")
	}
	if !(opts.CondDropout >= 0 && opts.CondDropout < 1) {
		return nil, fmt.Errorf("train: conditioning dropout is %v, want a probability in [0, 1)", opts.CondDropout)
	}
	if opts.CondDropout > 0 && !slices.ContainsFunc(m.Config.Conditions, func(c wavenet.Condition) bool { return c.Null }) {
		return nil, errors.New("train: conditioning dropout needs a condition with a null row (see wavenet.Model.WithNull)")
	}
	if len(val) == 0 {
		opts.ValidateEvery = 0
	}
	if opts.ValidateMax > 0 && len(val) > opts.ValidateMax {
		// A fixed, evenly spread subset, so every validation is comparable.
		sub := make([]*corpus.Utterance, opts.ValidateMax)
		for i := range sub {
			sub[i] = val[i*len(val)/opts.ValidateMax]
		}
		val = sub
	}
	if opts.ValidationLabels == nil {
		for _, c := range m.Config.Conditions {
			opts.ValidationLabels = append(opts.ValidationLabels, c.Name)
		}
	}
	t := &Trainer{Model: m, opts: opts, dir: dir, train: trainUtts, val: val,
		cond: map[*corpus.Utterance][]int{}, opt: nn.NewAdam(0.9, 0.999, 1e-8, 0), sched: opts.Schedule()}
	for _, u := range trainUtts {
		c, err := u.ConditionIndices(m.Config.Conditions)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		if err := m.CheckInput(u.Codes, c); err != nil {
			return nil, fmt.Errorf("train: %s: %w", u.Name, err)
		}
		t.cond[u] = c
	}
	if lc := m.Config.Local; lc != nil {
		for _, u := range slices.Concat(trainUtts, val) {
			if err := checkMel(*lc, u); err != nil {
				return nil, err
			}
		}
	}
	t.sampler = corpus.NewSampler(trainUtts, opts.Seed)
	t.sampler.SetLevels(m.Config.QuantizationChannels)
	length := m.Config.ReceptiveField() - 1 + opts.Segment
	par, err := NewParallel(m, opts.Workers, opts.Batch, length, opts.Segment)
	if err != nil {
		return nil, err
	}
	t.par = par
	t.segs = make([][]int32, opts.Batch)
	t.conds = make([][]int, opts.Batch)
	if m.Config.Local != nil {
		t.mels = make([][]float32, opts.Batch)
		t.offs = make([]int, opts.Batch)
	}
	return t, nil
}

// Resume continues the run in dir from its newest checkpoint that loads;
// newer ones that do not (corrupt, truncated) are reported through
// opts.Logf and skipped. The step counter, learning-rate schedule, Adam
// state and data order carry on exactly; the batch, segment, seed and
// schedule options are taken from the checkpoint (opts.Steps may extend
// the run). metrics.jsonl is cut back to the checkpoint's step.
func Resume(ctx context.Context, dir string, trainUtts, val []*corpus.Utterance, opts Options) (*Trainer, error) {
	dirs, err := latestCheckpoints(dir)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for _, d := range dirs {
		t, err := resumeFrom(ctx, dir, d, trainUtts, val, opts)
		if err == nil {
			cleanCheckpoints(dir, d, opts.Logf)
			return t, nil
		}
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		lastErr = err
		if opts.Logf != nil {
			opts.Logf("train: skipping checkpoint %s: %v", d, err)
		}
	}
	return nil, fmt.Errorf("train: no usable checkpoint in %s: %w", dir, lastErr)
}

// deletingSuffix marks a checkpoint directory that Save's rotation is
// deleting: ".step-NNN" + deletingSuffix.
const deletingSuffix = ".deleting"

// cleanCheckpoints removes what an interrupted save or rotation left in
// the run's checkpoint directory: wavenet.WriteDir's temporary
// directories, directories renamed for deletion, and checkpoints older
// than resumed (the one the run resumes from) that no longer read (a
// rotation killed part way by an older version). Newer unreadable ones
// are kept for inspection (Resume reported them).
func cleanCheckpoints(dir, resumed string, logf func(string, ...any)) {
	root := filepath.Join(dir, CheckpointDir)
	removed, err := wavenet.CleanTemp(root)
	if err != nil && logf != nil {
		logf("train: cleaning %s: %v", root, err)
	}
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		name, p := e.Name(), filepath.Join(root, e.Name())
		switch {
		case !e.IsDir():
		case strings.HasPrefix(name, ".") && strings.HasSuffix(name, deletingSuffix):
		case strings.HasPrefix(name, "step-") && name < filepath.Base(resumed):
			if _, ok := readable(p); ok {
				continue
			}
		default:
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			if logf != nil {
				logf("train: cleaning %s: %v", p, err)
			}
			continue
		}
		removed = append(removed, p)
	}
	if logf != nil {
		for _, p := range removed {
			logf("train: removed %s, left by an interrupted checkpoint save or rotation", p)
		}
	}
}

func resumeFrom(ctx context.Context, dir, ckpt string, trainUtts, val []*corpus.Utterance, opts Options) (*Trainer, error) {
	c, err := wavenet.LoadCheckpoint(ctx, ckpt)
	if err != nil {
		return nil, err
	}
	var st State
	sb, ok := c.Extra[StateFile]
	if !ok {
		return nil, fmt.Errorf("train: checkpoint %s has no %s", ckpt, StateFile)
	}
	if err := json.Unmarshal(sb, &st); err != nil {
		return nil, fmt.Errorf("train: checkpoint %s: %s: %w", ckpt, StateFile, err)
	}
	ob, ok := c.Extra[OptimizerFile]
	if !ok {
		return nil, fmt.Errorf("train: checkpoint %s has no %s", ckpt, OptimizerFile)
	}
	of, err := safetensors.Decode(ob)
	if err != nil {
		return nil, fmt.Errorf("train: checkpoint %s: %s: %w", ckpt, OptimizerFile, err)
	}
	tensors := map[string][]float32{}
	for _, tn := range of.Tensors {
		v, err := tn.Float32s()
		if err != nil {
			return nil, fmt.Errorf("train: checkpoint %s: %s: %w", ckpt, OptimizerFile, err)
		}
		tensors[tn.Name] = v
	}
	var optStep int64
	if _, err := fmt.Sscan(of.Metadata["step"], &optStep); err != nil {
		return nil, fmt.Errorf("train: checkpoint %s: %s: bad step metadata %q", ckpt, OptimizerFile, of.Metadata["step"])
	}
	opts.Batch, opts.Segment, opts.Seed = st.Batch, st.Segment, st.Seed
	opts.LR, opts.Warmup, opts.Cosine = st.LR, st.Warmup, st.Cosine
	opts.CondDropout = st.CondDropout
	if opts.Steps < st.Step {
		opts.Steps = st.Step
	}
	t, err := newTrainer(dir, c.Model, trainUtts, val, opts)
	if err != nil {
		return nil, err
	}
	if err := t.opt.SetState(tensors, optStep); err != nil {
		t.Close()
		return nil, fmt.Errorf("train: checkpoint %s: %w", ckpt, err)
	}
	if err := t.sampler.Restore(st.Sampler); err != nil {
		t.Close()
		return nil, fmt.Errorf("train: checkpoint %s: %w", ckpt, err)
	}
	t.step, t.samples, t.source = st.Step, st.Samples, st.Corpus
	if err := truncateMetrics(filepath.Join(dir, MetricsFile), st.Step); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// Step is the number of optimizer steps done.
func (t *Trainer) Step() int64 { return t.step }

// Options returns the options in effect (defaults filled in, resumed
// values applied).
func (t *Trainer) Options() Options { return t.opts }

// Close releases the graph replicas.
func (t *Trainer) Close() error { return t.par.Close() }

// Run trains until opts.Steps (or opts.Until). When ctx is cancelled (Ctrl-C, SIGTERM) it
// saves a checkpoint of the last finished step and returns ctx.Err().
func (t *Trainer) Run(ctx context.Context) error {
	o := &t.opts
	rf := t.Model.Config.ReceptiveField()
	start, startSamples := time.Now(), t.samples
	var lossSum, normSum float64
	var lossN int
	saved := t.step
	end := o.End()
	for t.step < end {
		if ctx.Err() != nil {
			break
		}
		// A step cut by ctx is not taken: its batch is drawn again on
		// resume (the checkpoint saved below holds the sampler as it was).
		before := t.sampler.State()
		for b := range t.segs {
			var u *corpus.Utterance
			var from int
			t.segs[b], u, from = t.sampler.NextAt(t.segs[b], o.Segment+1, rf-1)
			t.conds[b] = t.dropConds(t.conds[b], t.cond[u], b)
			if lc := t.Model.Config.Local; lc != nil {
				// The first prediction is of the code after the first.
				t.mels[b], t.offs[b] = LocalWindow(t.mels[b], u.Mel, *lc, from+1, LocalFrames(*lc, rf-1+o.Segment))
			}
		}
		loss, err := t.par.StepLocal(ctx, t.segs, t.conds, t.mels, t.offs)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				if rerr := t.sampler.Restore(before); rerr != nil {
					return errors.Join(err, rerr)
				}
				break
			}
			return err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return fmt.Errorf("train: step %d: loss is %v (diverged; lower --lr)", t.step+1, loss)
		}
		norm := math.NaN()
		if o.ClipNorm > 0 {
			norm = nn.ClipGlobalNorm(t.par.Params, o.ClipNorm)
		}
		lr := t.sched.LR(t.step)
		if err := t.opt.Step(t.par.Params, lr); err != nil {
			return fmt.Errorf("train: %w", err)
		}
		t.step++
		t.samples += int64(o.Batch * o.Segment)
		lossSum += loss
		normSum += norm
		lossN++
		rate := float64(t.samples-startSamples) / time.Since(start).Seconds()
		var val *Validation
		if o.ValidateEvery > 0 && (t.step%o.ValidateEvery == 0 || t.step == o.Steps) {
			v, err := Validate(ctx, t.Model, t.val, o.ValidationLabels, o.Workers)
			if err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			if err == nil {
				val = &v
				t.lastVal = val
			}
		}
		if t.step%o.LogEvery == 0 || val != nil || t.step == o.Steps {
			m := NewMetric(t.step, lossSum/float64(lossN), normSum/float64(lossN), lr, rate, val)
			if err := AppendMetric(filepath.Join(t.dir, MetricsFile), m); err != nil {
				return err
			}
			lossSum, normSum, lossN = 0, 0, 0
		}
		if o.Progress != nil {
			o.Progress(Status{Step: t.step, Steps: o.Steps, Loss: loss, LR: lr, SamplesPerSec: rate, Val: t.lastVal})
		}
		if t.step%o.CheckpointEvery == 0 || t.step == end {
			if err := t.Save(context.WithoutCancel(ctx)); err != nil {
				return err
			}
			saved = t.step
		}
	}
	if err := ctx.Err(); err != nil {
		if saved != t.step {
			if serr := t.Save(context.WithoutCancel(ctx)); serr != nil {
				return errors.Join(err, serr)
			}
		}
		return err
	}
	return nil
}

// Save writes a checkpoint of the current step into the run's checkpoint
// directory, drops all but the newest opts.Keep, and redraws curve.png.
func (t *Trainer) Save(ctx context.Context) error {
	tensors, optStep := t.opt.State()
	var ts []safetensors.Tensor
	for _, name := range sortedKeys(tensors) {
		v := tensors[name]
		ts = append(ts, safetensors.FromFloat32(name, []int{len(v)}, v, safetensors.F32))
	}
	var ob bytes.Buffer
	if err := safetensors.Write(&ob, ts, map[string]string{"step": fmt.Sprint(optStep), "optimizer": "adam"}); err != nil {
		return fmt.Errorf("train: save optimizer: %w", err)
	}
	o := t.opts
	sb, err := json.MarshalIndent(State{Step: t.step, Seed: o.Seed, Sampler: t.sampler.State(), Batch: o.Batch,
		Segment: o.Segment, LR: o.LR, Warmup: o.Warmup, Cosine: o.Cosine, CondDropout: o.CondDropout, Samples: t.samples, Corpus: t.source}, "", "  ")
	if err != nil {
		return fmt.Errorf("train: save state: %w", err)
	}
	root := filepath.Join(t.dir, CheckpointDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	dir := filepath.Join(root, fmt.Sprintf("step-%09d", t.step))
	err = wavenet.SaveCheckpoint(ctx, dir, &wavenet.Checkpoint{
		Model:    t.Model,
		Metadata: map[string]string{"step": fmt.Sprint(t.step)},
		Extra:    map[string][]byte{OptimizerFile: ob.Bytes(), StateFile: append(sb, '\n')},
	})
	if err != nil {
		return fmt.Errorf("train: save checkpoint: %w", err)
	}
	if t.opts.Logf != nil {
		t.opts.Logf("train: saved checkpoint %s", dir)
	}
	// Only after the new checkpoint is in place are old ones removed,
	// each renamed out of the checkpoints' names first so that a kill
	// part way leaves no half-deleted checkpoint (Resume removes what
	// is left).
	dirs, err := latestCheckpoints(t.dir)
	if err == nil {
		for _, d := range dirs[min(len(dirs), t.opts.Keep):] {
			gone := filepath.Join(filepath.Dir(d), "."+filepath.Base(d)+deletingSuffix)
			if os.Rename(d, gone) == nil {
				d = gone
			}
			os.RemoveAll(d)
		}
	}
	if err := PlotCurves(filepath.Join(t.dir, MetricsFile), filepath.Join(t.dir, CurveFile)); err != nil && t.opts.Logf != nil {
		t.opts.Logf("train: plot: %v", err)
	}
	return nil
}

// latestCheckpoints lists the run's checkpoint directories, newest first.
func latestCheckpoints(dir string) ([]string, error) {
	root := filepath.Join(dir, CheckpointDir)
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("train: no checkpoints in %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		var n int64
		if e.IsDir() && strings.HasPrefix(e.Name(), "step-") {
			if _, err := fmt.Sscanf(e.Name(), "step-%d", &n); err == nil {
				out = append(out, filepath.Join(root, e.Name()))
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("train: no checkpoints in %s: %w", dir, fs.ErrNotExist)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out))) // zero-padded: name order is step order
	return out, nil
}

// NewMetric is the metrics line of step with the mean loss (nats) and
// gradient norm (NaN when not clipped: recorded as 0) since the last line.
func NewMetric(step int64, loss, gradNorm, lr, samplesPerSec float64, val *Validation) Metric {
	if math.IsNaN(gradNorm) {
		gradNorm = 0
	}
	return Metric{Step: step, Loss: loss, Bits: loss / math.Ln2, LR: lr, SamplesPerSec: samplesPerSec, GradNorm: gradNorm, Val: val}
}

// AppendMetric appends m as one JSON line to the metrics file path (a
// run's MetricsFile), creating it if need be.
func AppendMetric(path string, m Metric) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("train: metrics: %w", err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("train: metrics: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("train: metrics: %w", err)
	}
	return nil
}

// readMetrics reads metrics.jsonl, skipping lines that do not parse (a
// line cut short by a crash).
func readMetrics(path string) ([]Metric, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ms []Metric
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for sc.Scan() {
		var m Metric
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			ms = append(ms, m)
		}
	}
	return ms, sc.Err()
}

// truncateMetrics keeps the lines of steps up to step.
func truncateMetrics(path string, step int64) error {
	ms, err := readMetrics(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("train: metrics: %w", err)
	}
	var b bytes.Buffer
	for _, m := range ms {
		if m.Step <= step {
			line, _ := json.Marshal(m)
			b.Write(append(line, '\n'))
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("train: metrics: %w", err)
	}
	return nil
}

// SetProgress replaces the Progress callback of the options.
func (t *Trainer) SetProgress(f func(Status)) { t.opts.Progress = f }

// RunConfig returns the model configuration of the run in dir, from the
// config.json of its newest checkpoint whose config and weights header
// read.
func RunConfig(dir string) (wavenet.Config, error) {
	_, cfg, err := latestGood(dir)
	return cfg, err
}

// dropConds writes into dst (reused) the conditions of batch row b for
// this step (DropConds).
func (t *Trainer) dropConds(dst, cond []int, b int) []int {
	return DropConds(dst, cond, t.Model.Config.Conditions, t.opts.CondDropout, t.opts.Seed, t.step, b)
}

// DropConds writes into dst (reused) the conditions of batch row b at
// step: cond with each nullable condition of conds replaced by its null
// row with probability p. The draws depend only on the seed, the step
// and b, so a resumed run (or any rank of a distributed one) drops
// exactly what an uninterrupted one does. With p 0 it returns cond.
func DropConds(dst, cond []int, conds []wavenet.Condition, p float64, seed uint64, step int64, b int) []int {
	if p == 0 {
		return cond
	}
	rng := rand.New(rand.NewPCG(seed^0xD509, uint64(step)<<16|uint64(b)))
	dst = append(dst[:0], cond...)
	for i, c := range conds {
		if c.Null && rng.Float64() < p {
			dst[i] = c.NullIndex()
		}
	}
	return dst
}

// checkMel reports an utterance whose mel frames cannot condition its
// codes: missing, not whole frames of lc.Channels, or too few to cover
// the len(Codes)+1 rows its score needs (centred frames give 1 + n/hop).
func checkMel(lc wavenet.LocalConfig, u *corpus.Utterance) error {
	C := lc.Channels
	switch {
	case u.Mel == nil:
		return fmt.Errorf("train: %s has no mel frames (load the corpus with corpus.Options.Mel)", u.Name)
	case len(u.Mel)%C != 0:
		return fmt.Errorf("train: %s: %d mel values are not whole frames of %d", u.Name, len(u.Mel), C)
	case len(u.Mel)/C*lc.Hop < len(u.Codes)+1:
		return fmt.Errorf("train: %s: %d mel frames of hop %d for %d codes", u.Name, len(u.Mel)/C, lc.Hop, len(u.Codes))
	}
	return nil
}
