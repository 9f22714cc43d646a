package retrain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/wavenet-go/wavenet/compress"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/train"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Event is the progress of a compression flow: a line of text when Stage
// is empty, else Done of Total units of a stage (a progress bar titled
// Stage) with a status; a stage's last event has Final set.
type Event struct {
	Line        string
	Stage, Unit string
	Done, Total int
	Status      string
	Final       bool
}

// ProgressFunc receives a flow's events; nil drops them.
type ProgressFunc func(Event)

func (p ProgressFunc) logf(format string, args ...any) {
	if p != nil {
		p(Event{Line: fmt.Sprintf(format, args...)})
	}
}

func (p ProgressFunc) stage(stage, unit string, done, total int, status string) {
	if p != nil {
		p(Event{Stage: stage, Unit: unit, Done: done, Total: total, Status: status})
	}
}

func (p ProgressFunc) finish(stage string) {
	if p != nil {
		p(Event{Stage: stage, Final: true})
	}
}

// LoadOptions say how LoadCorpus reads a corpus.
type LoadOptions struct {
	Split corpus.Split // zero: the default of train.CorpusOptions
	// List's Layout, Pattern and SpeakerFromFolder say how the corpus
	// lists its files (zero: detected, FSDD names).
	List        corpus.Options
	ValidateMax int // keep at most this many validation utterances, evenly spread (0: all)
	Progress    func(done, total int)
}

// LoadCorpus reads the corpus in dir as the training of a model with cfg
// did (train.CorpusOptions: its rate, levels and preprocessing) and
// returns its training utterances and its validation subset.
func LoadCorpus(ctx context.Context, dir string, cfg wavenet.Config, opts LoadOptions) (trainUtts, val []*corpus.Utterance, err error) {
	co := train.CorpusOptions(cfg)
	if opts.Split.None || opts.Split.Label != "" || opts.Split.HashPercent != 0 {
		co.Split = opts.Split
	}
	co.Progress = opts.Progress
	co.Layout, co.Pattern, co.SpeakerFromFolder = opts.List.Layout, opts.List.Pattern, opts.List.SpeakerFromFolder
	c, err := corpus.Load(ctx, dir, co)
	if err != nil {
		return nil, nil, err
	}
	return c.Train, spread(c.Validation, opts.ValidateMax), nil
}

// spread returns at most n of utts, evenly spread (all when n <= 0).
func spread(utts []*corpus.Utterance, n int) []*corpus.Utterance {
	if n <= 0 || len(utts) <= n {
		return utts
	}
	sub := make([]*corpus.Utterance, n)
	for i := range sub {
		sub[i] = utts[i*len(utts)/n]
	}
	return sub
}

// Measurement is one row of the compression report: a model in a storage
// format, its size, validation bits per sample and generation speed.
type Measurement struct {
	Name      string  `json:"name"`
	Format    string  `json:"format"`
	Bytes     int     `json:"bytes"`
	Ratio     float64 `json:"ratio_to_fp32"`
	Sparsity  float64 `json:"sparsity"`
	Bits      float64 `json:"val_bits_per_sample"` // NaN: not measured
	Speed1    float64 `json:"samples_per_s_1_stream"`
	Speed16   float64 `json:"samples_per_s_16_streams"`
	CPUSpeed1 float64 `json:"cpu_samples_per_s_1_stream"`
	CPUSpd16  float64 `json:"cpu_samples_per_s_16_streams"`
	Int8Gen   bool    `json:"int8_generator"`
}

// MarshalJSON writes an unmeasured Bits (NaN, which JSON cannot hold) as
// null.
func (r Measurement) MarshalJSON() ([]byte, error) {
	type plain Measurement
	var bits *float64
	if !math.IsNaN(r.Bits) {
		bits = &r.Bits
	}
	return json.Marshal(struct {
		plain
		Bits *float64 `json:"val_bits_per_sample"`
	}{plain(r), bits})
}

// String is the measurement as one line.
func (r Measurement) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s, %d bytes (%.1f%% of fp32), sparsity %.1f%%", r.Name, r.Format, r.Bytes, 100*r.Ratio, 100*r.Sparsity)
	if !math.IsNaN(r.Bits) {
		fmt.Fprintf(&b, ", validation %.4f bits/sample", r.Bits)
	}
	if r.Speed1 > 0 {
		gen := "float32 generator"
		if r.Int8Gen {
			gen = "int8 generator"
		}
		fmt.Fprintf(&b, ", %s: %.0f samples/s (1 stream), %.0f samples/s (16 streams); per CPU second %.0f and %.0f",
			gen, r.Speed1, r.Speed16, r.CPUSpeed1, r.CPUSpd16)
	}
	return b.String()
}

// MeasureOptions configure Measure.
type MeasureOptions struct {
	Val      []*corpus.Utterance // scored when not empty (else Bits is NaN)
	Workers  int                 // goroutines scoring Val
	Bench    time.Duration       // generation measured this long per stream count (1 and 16); 0 skips
	Progress ProgressFunc
}

// Measure fills r's validation bits and generation speeds for m (with the
// int8 generator when r.Int8Gen).
func Measure(ctx context.Context, r *Measurement, m *wavenet.Model, opts MeasureOptions) error {
	r.Bits = math.NaN()
	if len(opts.Val) > 0 {
		opts.Progress.logf("compress: scoring %s on %d validation utterances...", r.Name, len(opts.Val))
		b, err := Validate(ctx, m, opts.Val, opts.Workers)
		if err != nil {
			return err
		}
		r.Bits = b
	}
	if opts.Bench > 0 {
		s1, err := compress.MeasureSpeed(ctx, m, r.Int8Gen, 1, opts.Bench)
		if err != nil {
			return err
		}
		s16, err := compress.MeasureSpeed(ctx, m, r.Int8Gen, 16, opts.Bench)
		if err != nil {
			return err
		}
		r.Speed1, r.Speed16, r.CPUSpeed1, r.CPUSpd16 = s1.PerSec, s16.PerSec, s1.PerCPUSec, s16.PerCPUSec
	}
	return nil
}

// MeasureCheckpoint loads the checkpoint written to dir and measures it;
// fp32 is the size of the uncompressed model (FP32Size).
func MeasureCheckpoint(ctx context.Context, dir string, fp32 int, int8Gen bool, opts MeasureOptions) (Measurement, error) {
	q, info, err := compress.Load(ctx, dir)
	if err != nil {
		return Measurement{}, err
	}
	r := Measurement{Name: filepath.Base(filepath.Clean(dir)), Format: string(info.Format), Bytes: int(info.Bytes),
		Ratio: float64(info.Bytes) / float64(fp32), Sparsity: info.Sparsity, Int8Gen: int8Gen}
	err = Measure(ctx, &r, q, opts)
	return r, err
}

// FP32Size is the size of m's model.safetensors in float32.
func FP32Size(m *wavenet.Model) (int, error) {
	b, err := compress.Marshal(m, compress.SaveOptions{})
	return len(b), err
}

// writeJSON writes v, indented, to the file beside png with the .json
// extension.
func writeJSON(png string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	if err := os.WriteFile(strings.TrimSuffix(png, ".png")+".json", append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	return nil
}

// PruneOptions configure Prune.
type PruneOptions struct {
	Amount float64 // fraction of the weights to prune
	// Global ranks all weight matrices together; Structured prunes whole
	// output channels by their Norm (1 or 2) in one shot.
	Global, Structured bool
	Norm               int
	// Rounds of the cubic schedule (PruneSchedule), each followed by
	// FineTune.Steps of fine-tuning on Train with the masks kept.
	Rounds   int
	FineTune Options
	// Train and Val: the training utterances and the validation subset
	// (Val empty: nothing is scored).
	Train, Val []*corpus.Utterance
	// Sweep also scores one-shot pruning of the dense model at 10%, ...,
	// 90%; DenseControl also fine-tunes the dense model for the same
	// rounds and steps.
	Sweep, DenseControl bool
	ValWorkers          int    // goroutines scoring Val
	Source              string // the dense model's directory, in progress lines
	Progress            ProgressFunc
}

// PruneResult is what Prune measured.
type PruneResult struct {
	Dense          float64 // the dense model's validation bits (NaN without Val)
	Rounds         []SparsityPoint
	OneShot        []SparsityPoint
	DenseFineTuned float64 // NaN without the control
	scored         bool
}

// Prune prunes m in place: structured in one shot, or unstructured on the
// cubic schedule with fine-tuning after each round; with Val it scores the
// dense model, the rounds and, if asked, the one-shot sweep and the dense
// control.
func Prune(ctx context.Context, m *wavenet.Model, o PruneOptions) (*PruneResult, error) {
	if o.FineTune.Steps > 0 && len(o.Train) == 0 && !o.Structured {
		return nil, errors.New("retrain: prune: fine-tuning needs training utterances (PruneOptions.Train is empty)")
	}
	res := &PruneResult{Dense: math.NaN(), DenseFineTuned: math.NaN(), scored: len(o.Val) > 0}
	var err error
	if len(o.Val) > 0 {
		if res.Dense, err = Validate(ctx, m, o.Val, o.ValWorkers); err != nil {
			return nil, err
		}
		o.Progress.logf("compress: dense model %s: validation %.4f bits/sample", o.Source, res.Dense)
	}
	if o.Sweep && len(o.Val) > 0 {
		o.Progress.logf("compress: one-shot pruning sweep...")
		if res.OneShot, err = OneShot(ctx, m, []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}, o.Global, o.Val, o.ValWorkers); err != nil {
			return nil, err
		}
	}
	steps := o.FineTune.Steps
	if o.DenseControl && steps > 0 && len(o.Val) > 0 && !o.Structured {
		const stage = "dense control"
		pts, _, err := IterativePrune(ctx, m.Clone(), PruneSchedule(0, o.Rounds), o.Global, o.Train, o.Val, o.FineTune, func(r int, p SparsityPoint) {
			o.Progress.stage(stage, "rounds", r+1, o.Rounds, fmt.Sprintf("%.4f bits fine-tuned", p.Tuned))
		})
		o.Progress.finish(stage)
		if err != nil {
			return nil, err
		}
		res.DenseFineTuned = pts[len(pts)-1].Tuned
		o.Progress.logf("compress: dense model fine-tuned %d x %d steps: validation %.4f bits/sample", o.Rounds, steps, res.DenseFineTuned)
	}
	if o.Structured {
		_, err := compress.PruneModel(m, compress.PruneOptions{Amount: compress.Fraction(o.Amount), Structured: true, Norm: o.Norm}, nil)
		return res, err
	}
	const stage = "prune + fine-tune"
	res.Rounds, _, err = IterativePrune(ctx, m, PruneSchedule(o.Amount, o.Rounds), o.Global, o.Train, o.Val, o.FineTune, func(r int, p SparsityPoint) {
		if steps > 0 {
			o.Progress.stage(stage, "rounds", r+1, o.Rounds, fmt.Sprintf("sparsity %.3f: %.4f bits pruned, %.4f fine-tuned", p.Sparsity, p.Bits, p.Tuned))
		}
	})
	if steps > 0 {
		o.Progress.finish(stage)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// HasCurve reports whether r has points to draw: rounds or a sweep, scored
// on a validation set.
func (r *PruneResult) HasCurve() bool {
	return len(r.Rounds)+len(r.OneShot) > 0 && r.scored
}

// WriteCurve draws the sparsity curve to the PNG file png (PlotSparsity)
// and writes the numbers beside it as JSON.
func (r *PruneResult) WriteCurve(png string) error {
	if err := PlotSparsity(png, r.Dense, r.Rounds, r.OneShot, r.DenseFineTuned); err != nil {
		return err
	}
	res := map[string]any{"dense_bits": r.Dense, "rounds": r.Rounds, "one_shot": r.OneShot}
	if !math.IsNaN(r.DenseFineTuned) {
		res["dense_fine_tuned_bits"] = r.DenseFineTuned
	}
	return writeJSON(png, res)
}

// StudentsOptions configure DistillStudents.
type StudentsOptions struct {
	// Student is the student's architecture; its rate, levels, conditions
	// and preprocessing are set to the teacher's.
	Student wavenet.Config
	// Distill configures the distilled student: Options.Seed is both
	// students' initialisation and data order.
	Distill DistillOptions
	// Baseline also trains the same student from scratch (alpha 0).
	Baseline   bool
	Train, Val []*corpus.Utterance
	// Out is the distilled student's checkpoint directory; the baseline
	// goes to Out + "-scratch".
	Out        string
	ValWorkers int    // goroutines scoring Val
	Source     string // the teacher's directory, in progress lines
	Progress   ProgressFunc
}

// Student is one trained student.
type Student struct {
	Name  string
	Dir   string
	Model *wavenet.Model
	Curve []Point
}

// StudentsResult is what DistillStudents trained and measured.
type StudentsResult struct {
	TeacherBits float64
	Students    []Student // the distilled one first
}

// DistillStudents trains the student of o.Student from teacher by
// distillation and, with Baseline, the same student from scratch, saves
// each (fp32) and returns their validation curves.
func DistillStudents(ctx context.Context, teacher *wavenet.Model, o StudentsOptions) (*StudentsResult, error) {
	cfg, tc := o.Student, teacher.Config
	cfg.SampleRate, cfg.QuantizationChannels, cfg.Conditions = tc.SampleRate, tc.QuantizationChannels, tc.Conditions
	cfg.Preprocess = tc.Preprocess // the student trains on the teacher's data, processed alike
	if tc.Local != nil {
		// A vocoder's student is a vocoder of the same frames.
		lc := *tc.Local
		lc.Scales = slices.Clone(lc.Scales)
		cfg.Local = &lc
	}
	tb, err := Validate(ctx, teacher, o.Val, o.ValWorkers)
	if err != nil {
		return nil, err
	}
	res := &StudentsResult{TeacherBits: tb}
	o.Progress.logf("compress: teacher %s: %d parameters, validation %.4f bits/sample", o.Source, teacher.NumParams(), tb)
	alpha := 0.5
	if o.Distill.Alpha != nil {
		alpha = *o.Distill.Alpha
	}
	runs := []Student{{Name: fmt.Sprintf("distilled (alpha %g, T %g)", alpha, o.Distill.Temperature), Dir: o.Out}}
	alphas := []float64{alpha}
	if o.Baseline {
		runs = append(runs, Student{Name: "from scratch", Dir: filepath.Clean(o.Out) + "-scratch"})
		alphas = append(alphas, 0)
	}
	for i, r := range runs {
		s, err := train.NewModel(cfg, o.Distill.Seed)
		if err != nil {
			return nil, err
		}
		d := o.Distill
		d.Alpha = &alphas[i]
		d.Val = o.Val
		d.Progress = func(st Status) {
			status := fmt.Sprintf("loss %.3f", st.Loss)
			if st.Val != nil {
				status += fmt.Sprintf(" val %.4f bits", st.Val.Bits)
			}
			o.Progress.stage(r.Name, "steps", st.Step, st.Steps, status)
		}
		c, err := Distill(ctx, s, teacher, o.Train, d)
		o.Progress.finish(r.Name)
		if err != nil {
			return nil, err
		}
		if err := compress.Save(ctx, r.Dir, s, compress.SaveOptions{}); err != nil {
			return nil, err
		}
		r.Model, r.Curve = s, c
		res.Students = append(res.Students, r)
	}
	return res, nil
}

// WriteCurves draws the students' validation curves to the PNG file png
// (PlotCurves) and writes them beside it as JSON with the teacher's bits.
func (r *StudentsResult) WriteCurves(png string) error {
	curves := map[string][]Point{}
	var order []string
	for _, s := range r.Students {
		curves[s.Name] = s.Curve
		order = append(order, s.Name)
	}
	if err := PlotCurves(png, "Distillation: the same student with and without a teacher", curves, order); err != nil {
		return err
	}
	return writeJSON(png, map[string]any{"teacher_bits": r.TeacherBits, "curves": curves})
}

// ReportOptions configure Report.
type ReportOptions struct {
	// Pruned are more models to measure as they are (fp32), by name.
	Pruned   []Named
	Val      []*corpus.Utterance
	Workers  int
	Bench    time.Duration
	Progress ProgressFunc
}

// Named is a model with a name for the report.
type Named struct {
	Name  string
	Model *wavenet.Model
}

// Report measures m in every storage format (fp32, fp16, bf16, int8 with
// the float32 and with the int8 generator) and the pruned models: the
// rows of the README's compression table.
func Report(ctx context.Context, m *wavenet.Model, o ReportOptions) ([]Measurement, error) {
	base, err := FP32Size(m)
	if err != nil {
		return nil, err
	}
	type variant struct {
		name    string
		model   *wavenet.Model
		opts    compress.SaveOptions
		int8Gen bool
	}
	int8Opts := compress.SaveOptions{Format: compress.Int8, DType: compress.QInt8, Scheme: compress.Symmetric, PerChannel: true}
	vs := []variant{
		{"fp32", m, compress.SaveOptions{}, false},
		{"fp16", m, compress.SaveOptions{Format: compress.FP16}, false},
		{"bf16", m, compress.SaveOptions{Format: compress.BF16}, false},
		{"int8 (qint8 per-channel symmetric), float32 generator", m, int8Opts, false},
		{"int8 (qint8 per-channel symmetric), int8 generator", m, int8Opts, true},
	}
	for _, p := range o.Pruned {
		vs = append(vs, variant{fmt.Sprintf("%s (sparsity %.0f%%)", p.Name, 100*compress.Sparsity(p.Model)), p.Model, compress.SaveOptions{}, false})
	}
	mo := MeasureOptions{Val: o.Val, Workers: o.Workers, Bench: o.Bench, Progress: o.Progress}
	var rows []Measurement
	for _, v := range vs {
		q, n, err := compress.Quantized(v.model, v.opts)
		if err != nil {
			return nil, err
		}
		f := v.opts.Format
		if f == "" {
			f = compress.FP32
		}
		r := Measurement{Name: v.name, Format: string(f), Bytes: n, Ratio: float64(n) / float64(base), Sparsity: compress.Sparsity(q), Int8Gen: v.int8Gen}
		if v.int8Gen {
			// The int8 generator quantizes activations too: score it by
			// teacher forcing through the generator itself.
			r.Bits = math.NaN()
			if len(o.Val) > 0 {
				o.Progress.logf("compress: scoring %s (teacher-forced int8 generator)...", r.Name)
				if r.Bits, err = compress.Int8Bits(ctx, q, o.Val, 16); err != nil {
					return nil, err
				}
			}
			speed := r
			noVal := mo
			noVal.Val = nil
			if err := Measure(ctx, &speed, q, noVal); err != nil {
				return nil, err
			}
			r.Speed1, r.Speed16, r.CPUSpeed1, r.CPUSpd16 = speed.Speed1, speed.Speed16, speed.CPUSpeed1, speed.CPUSpd16
		} else if err := Measure(ctx, &r, q, mo); err != nil {
			return nil, err
		}
		o.Progress.logf("%s", r)
		rows = append(rows, r)
	}
	return rows, nil
}

// WriteReport writes rows as the README's Markdown table, after a line
// describing the model (src, its size and rate), the validation set and
// the speed measurement.
func WriteReport(w io.Writer, src string, m *wavenet.Model, val int, bench time.Duration, rows []Measurement) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Model: `%s` (%d parameters, %d Hz, receptive field %d); validation: %d utterances; speed: `GOMAXPROCS=%d`, %s per measurement, samples/s per CPU second of the generating thread (wall-clock in parentheses; the machine is shared).\n\n",
		src, m.NumParams(), m.Config.SampleRate, m.Config.ReceptiveField(), val, runtime.GOMAXPROCS(0), bench)
	b.WriteString("| model | size | vs fp32 | validation bits/sample | 1-stream samples/s | 16-stream samples/s |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		bits := "-"
		if !math.IsNaN(r.Bits) {
			bits = fmt.Sprintf("%.4f", r.Bits)
		}
		fmt.Fprintf(&b, "| %s | %.1f KiB | %.1f%% | %s | %.0f (%.0f) | %.0f (%.0f) |\n", r.Name, float64(r.Bytes)/1024, 100*r.Ratio, bits,
			r.CPUSpeed1, r.Speed1, r.CPUSpd16, r.Speed16)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
