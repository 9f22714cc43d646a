package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/wavenet-go/wavenet/compress"
	"github.com/wavenet-go/wavenet/compress/retrain"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/internal/progress"
	"github.com/wavenet-go/wavenet/train"
	"github.com/wavenet-go/wavenet/wavenet"
)

const compressUsage = `compress SUBCOMMAND [flags]

subcommands:
  quantize --dtype int8|fp16|bf16 [--per-channel] [--affine] [--unsigned] --model DIR --out DIR [--data DIR]
  prune    --amount 0.5 [--global] [--structured] [--finetune-steps N --rounds R --data DIR] --model DIR --out DIR
  distill  --teacher DIR [--preset small | --config F] --data DIR --steps N --out DIR [--alpha 0.5 --temperature 2]
  report   --model DIR --data DIR [--pruned DIR] [--out FILE.md]: the README table (size, bits/sample, speed per format)

--model takes a checkpoint directory or a training run directory (its newest checkpoint).`

func runCompress(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(env.Stderr, "usage: wavenet "+compressUsage)
		if len(args) == 0 {
			return Usagef("a subcommand is required")
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "quantize":
		return runQuantize(ctx, env, args[1:])
	case "prune":
		return runPrune(ctx, env, args[1:])
	case "distill":
		return runDistill(ctx, env, args[1:])
	case "report":
		return runCompressReport(ctx, env, args[1:])
	}
	return Usagef("unknown compress subcommand %q (quantize, prune, distill, report)", args[0])
}

func loadCheckpointFlag(ctx context.Context, dir string) (*wavenet.Model, compress.Info, string, error) {
	if dir == "" {
		return nil, compress.Info{}, "", Usagef("--model DIR is required")
	}
	d, err := train.LatestCheckpoint(dir)
	if err != nil {
		return nil, compress.Info{}, "", err
	}
	m, info, err := compress.Load(ctx, d)
	return m, info, d, err
}

// dataFlags are the corpus flags shared by the subcommands.
type dataFlags struct {
	dir, split  string
	validateMax int
	workers     int
}

func (d *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.dir, "data", "", "directory of WAV files (FSDD names give the labels and the validation split)")
	fs.StringVar(&d.split, "split", "", "validation split: hash=PERCENT or LABEL=VALUES (default: FSDD index=5-9)")
	fs.IntVar(&d.validateMax, "validate-max", 100, "score at most this many validation utterances (a fixed, evenly spread subset; 0: all)")
	fs.IntVar(&d.workers, "workers", 0, "goroutines for validation and data-parallel training (default: one per CPU)")
}

// load reads the corpus as the model's training did (train.CorpusOptions:
// its rate, levels and preprocessing); it returns the training utterances
// and the validation subset.
func (d *dataFlags) load(ctx context.Context, env *Env, cfg wavenet.Config) (trainUtts, val []*corpus.Utterance, err error) {
	opts := train.CorpusOptions(cfg)
	if d.split != "" {
		if opts.Split, err = corpus.ParseSplit(d.split); err != nil {
			return nil, nil, Usagef("%v", err)
		}
	}
	bar := progress.New(env.Stderr, "load", "files", 0)
	opts.Progress = func(done, total int) { bar.Set(int64(done), fmt.Sprintf("of %d", total)) }
	c, err := corpus.Load(ctx, d.dir, opts)
	bar.Finish()
	if err != nil {
		return nil, nil, err
	}
	val = c.Validation
	if d.validateMax > 0 && len(val) > d.validateMax {
		sub := make([]*corpus.Utterance, d.validateMax)
		for i := range sub {
			sub[i] = val[i*len(val)/d.validateMax]
		}
		val = sub
	}
	return c.Train, val, nil
}

// parseFlags parses args and refuses positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return Usagef("unexpected arguments %q", fs.Args())
	}
	return nil
}

// finishOutput loads the checkpoint written to out, measures it and prints
// its line.
func finishOutput(ctx context.Context, env *Env, out string, base int, int8Gen bool, val []*corpus.Utterance, workers int, bench time.Duration) error {
	q, info, err := compress.Load(ctx, out)
	if err != nil {
		return err
	}
	r := measure{Name: filepath.Base(filepath.Clean(out)), Format: string(info.Format), Bytes: int(info.Bytes),
		Ratio: float64(info.Bytes) / float64(base), Sparsity: info.Sparsity, Int8Gen: int8Gen}
	if err := measureModel(ctx, env, &r, q, val, workers, bench); err != nil {
		return err
	}
	printMeasure(env.Stdout, r)
	return nil
}

func (d *dataFlags) nWorkers() int {
	if d.workers > 0 {
		return d.workers
	}
	return runtime.NumCPU()
}

// measure is one row of the report: a model in a storage format.
type measure struct {
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

// measureModel fills the bits (if val is not empty) and speeds of m.
func measureModel(ctx context.Context, env *Env, r *measure, m *wavenet.Model, val []*corpus.Utterance, workers int, bench time.Duration) error {
	r.Bits = math.NaN()
	if len(val) > 0 {
		fmt.Fprintf(env.Stderr, "compress: scoring %s on %d validation utterances...\n", r.Name, len(val))
		b, err := retrain.Validate(ctx, m, val, workers)
		if err != nil {
			return err
		}
		r.Bits = b
	}
	if bench > 0 {
		s1, err := compress.MeasureSpeed(ctx, m, r.Int8Gen, 1, bench)
		if err != nil {
			return err
		}
		s16, err := compress.MeasureSpeed(ctx, m, r.Int8Gen, 16, bench)
		if err != nil {
			return err
		}
		r.Speed1, r.Speed16, r.CPUSpeed1, r.CPUSpd16 = s1.PerSec, s16.PerSec, s1.PerCPUSec, s16.PerCPUSec
	}
	return nil
}

func printMeasure(w io.Writer, r measure) {
	fmt.Fprintf(w, "%s: %s, %d bytes (%.1f%% of fp32), sparsity %.1f%%", r.Name, r.Format, r.Bytes, 100*r.Ratio, 100*r.Sparsity)
	if !math.IsNaN(r.Bits) {
		fmt.Fprintf(w, ", validation %.4f bits/sample", r.Bits)
	}
	if r.Speed1 > 0 {
		gen := "float32 generator"
		if r.Int8Gen {
			gen = "int8 generator"
		}
		fmt.Fprintf(w, ", %s: %.0f samples/s (1 stream), %.0f samples/s (16 streams); per CPU second %.0f and %.0f",
			gen, r.Speed1, r.Speed16, r.CPUSpeed1, r.CPUSpd16)
	}
	fmt.Fprintln(w)
}

// fp32Size is the size of m's model.safetensors in float32.
func fp32Size(m *wavenet.Model) (int, error) {
	b, err := compress.Marshal(m, compress.SaveOptions{})
	return len(b), err
}

func runQuantize(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "compress quantize", "compress quantize --dtype int8|fp16|bf16 [--per-channel] [--affine] [--unsigned] --model DIR --out DIR [--data DIR]")
	var (
		dtype, model, out          string
		perChannel, affine, unsign bool
		bench                      time.Duration
		d                          dataFlags
	)
	fs.StringVar(&dtype, "dtype", "int8", "storage type: int8, fp16 or bf16")
	// The defaults are PyTorch's weight observers: qint8, symmetric, per
	// tensor (default_weight_observer) or per channel
	// (default_per_channel_weight_observer).
	fs.BoolVar(&perChannel, "per-channel", false, "int8: one scale per output channel (PerChannelMinMaxObserver) instead of per tensor")
	fs.BoolVar(&affine, "affine", false, "int8: affine range [min, max] with a zero point (stored as I32) instead of symmetric")
	fs.BoolVar(&unsign, "unsigned", false, "int8: quint8 (U8) instead of qint8 (I8)")
	fs.StringVar(&model, "model", "", "checkpoint or run directory of the float model")
	fs.StringVar(&out, "out", "", "directory of the quantized checkpoint")
	fs.DurationVar(&bench, "bench", 2*time.Second, "measure generation speed this long per stream count (0: skip)")
	d.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if out == "" {
		return Usagef("--out DIR is required")
	}
	f, err := compress.ParseFormat(dtype)
	if err != nil {
		return Usagef("--dtype: %v", err)
	}
	opts := compress.SaveOptions{Format: f, PerChannel: perChannel, DType: compress.QInt8, Scheme: compress.Symmetric}
	if unsign {
		opts.DType = compress.QUInt8
	}
	if affine {
		opts.Scheme = compress.Affine
	}
	m, _, src, err := loadCheckpointFlag(ctx, model)
	if err != nil {
		return err
	}
	if err := compress.Save(ctx, out, m, opts); err != nil {
		return err
	}
	base, err := fp32Size(m)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "compress: %s -> %s (%s)\n", src, out, f)
	var val []*corpus.Utterance
	if d.dir != "" {
		if _, val, err = d.load(ctx, env, m.Config); err != nil {
			return err
		}
	}
	return finishOutput(ctx, env, out, base, f == compress.Int8, val, d.nWorkers(), bench)
}

func runPrune(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "compress prune", "compress prune --amount 0.5 [--global] [--structured] [--finetune-steps N --rounds R --data DIR] --model DIR --out DIR")
	var (
		model, out, curve, dtype string
		amount, lr               float64
		global, structured       bool
		steps, rounds, batch     int
		segment, norm            int
		sweep, control           bool
		bench                    time.Duration
		d                        dataFlags
	)
	fs.Float64Var(&amount, "amount", 0.5, "fraction of the weights to prune (rounded half to even, as torch)")
	fs.BoolVar(&global, "global", false, "rank all weight matrices together (global_unstructured) instead of each alone")
	fs.BoolVar(&structured, "structured", false, "prune whole output channels by their Ln norm (ln_structured, dim 0); one shot")
	fs.IntVar(&norm, "norm", 2, "--structured: the norm (1 or 2)")
	fs.IntVar(&steps, "finetune-steps", 0, "fine-tuning steps after each pruning round (needs --data); masks keep pruned weights at zero")
	fs.IntVar(&rounds, "rounds", 1, "with --finetune-steps: prune in this many rounds on a cubic schedule (Zhu and Gupta 2017)")
	fs.Float64Var(&lr, "lr", 1e-4, "fine-tuning learning rate (Adam)")
	fs.IntVar(&batch, "batch", 0, "fine-tuning sequences per step (default: --workers)")
	fs.IntVar(&segment, "segment", 2000, "fine-tuning predicted samples per sequence")
	fs.StringVar(&curve, "curve", "", "PNG of validation bits/sample against sparsity (default OUT/sparsity.png with --data)")
	fs.BoolVar(&sweep, "sweep", false, "with --data: also score one-shot pruning (no fine-tuning) of the dense model at 10%, 20%, ..., 90% for the curve")
	fs.BoolVar(&control, "dense-control", false, "with --finetune-steps: also fine-tune the dense model for the same rounds and steps (the curve's control line)")
	fs.StringVar(&dtype, "dtype", "fp32", "storage type of the pruned checkpoint: fp32, fp16, bf16 or int8")
	fs.StringVar(&model, "model", "", "checkpoint or run directory of the dense model")
	fs.StringVar(&out, "out", "", "directory of the pruned checkpoint")
	fs.DurationVar(&bench, "bench", 2*time.Second, "measure generation speed this long per stream count (0: skip)")
	d.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if out == "" {
		return Usagef("--out DIR is required")
	}
	if !(amount >= 0 && amount < 1) {
		return Usagef("--amount is %v, want a fraction in [0, 1)", amount)
	}
	if steps > 0 && d.dir == "" {
		return Usagef("--finetune-steps needs --data")
	}
	if rounds < 1 || (structured && (rounds > 1 || steps > 0)) {
		return Usagef("--rounds must be at least 1; --structured prunes in one shot without fine-tuning")
	}
	f, err := compress.ParseFormat(dtype)
	if err != nil {
		return Usagef("--dtype: %v", err)
	}
	m, _, src, err := loadCheckpointFlag(ctx, model)
	if err != nil {
		return err
	}
	base, err := fp32Size(m)
	if err != nil {
		return err
	}
	var trainUtts, val []*corpus.Utterance
	if d.dir != "" {
		if trainUtts, val, err = d.load(ctx, env, m.Config); err != nil {
			return err
		}
	}
	dense := math.NaN()
	if len(val) > 0 {
		if dense, err = retrain.Validate(ctx, m, val, d.nWorkers()); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "compress: dense model %s: validation %.4f bits/sample\n", src, dense)
	}
	var oneShot []retrain.SparsityPoint
	if sweep && len(val) > 0 {
		fmt.Fprintf(env.Stderr, "compress: one-shot pruning sweep...\n")
		if oneShot, err = retrain.OneShot(ctx, m, []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}, global, val, d.nWorkers()); err != nil {
			return err
		}
	}
	controlBits := math.NaN()
	if control && steps > 0 && len(val) > 0 && !structured {
		c := m.Clone()
		opts := retrain.Options{Steps: steps, Batch: batch, Segment: segment, Workers: d.workers, LR: lr, Seed: 1}
		bar := progress.New(env.Stderr, "dense control", "rounds", int64(rounds))
		pts, _, err := retrain.IterativePrune(ctx, c, retrain.PruneSchedule(0, rounds), global, trainUtts, val, opts, func(r int, p retrain.SparsityPoint) {
			bar.Set(int64(r+1), fmt.Sprintf("%.4f bits fine-tuned", p.Tuned))
		})
		bar.Finish()
		if err != nil {
			return err
		}
		controlBits = pts[len(pts)-1].Tuned
		fmt.Fprintf(env.Stderr, "compress: dense model fine-tuned %d x %d steps: validation %.4f bits/sample\n", rounds, steps, controlBits)
	}
	var points []retrain.SparsityPoint
	if structured {
		if _, err := compress.PruneModel(m, compress.PruneOptions{Amount: compress.Fraction(amount), Structured: true, Norm: norm}, nil); err != nil {
			return err
		}
	} else {
		opts := retrain.Options{Steps: steps, Batch: batch, Segment: segment, Workers: d.workers, LR: lr, Seed: 1}
		sched := retrain.PruneSchedule(amount, rounds)
		var bar *progress.Bar
		if steps > 0 {
			bar = progress.New(env.Stderr, "prune + fine-tune", "rounds", int64(rounds))
		}
		points, _, err = retrain.IterativePrune(ctx, m, sched, global, trainUtts, val, opts, func(r int, p retrain.SparsityPoint) {
			if bar != nil {
				bar.Set(int64(r+1), fmt.Sprintf("sparsity %.3f: %.4f bits pruned, %.4f fine-tuned", p.Sparsity, p.Bits, p.Tuned))
			}
		})
		if bar != nil {
			bar.Finish()
		}
		if err != nil {
			return err
		}
	}
	save := compress.SaveOptions{Format: f, DType: compress.QInt8, Scheme: compress.Symmetric, PerChannel: true}
	if err := compress.Save(ctx, out, m, save); err != nil {
		return err
	}
	if len(points)+len(oneShot) > 0 && len(val) > 0 {
		if curve == "" {
			curve = filepath.Join(out, "sparsity.png")
		}
		if err := retrain.PlotSparsity(curve, dense, points, oneShot, controlBits); err != nil {
			return err
		}
		res := map[string]any{"dense_bits": dense, "rounds": points, "one_shot": oneShot}
		if !math.IsNaN(controlBits) {
			res["dense_fine_tuned_bits"] = controlBits
		}
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return fmt.Errorf("compress: %w", err)
		}
		if err := os.WriteFile(strings.TrimSuffix(curve, ".png")+".json", append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("compress: %w", err)
		}
		fmt.Fprintf(env.Stderr, "compress: sparsity curve in %s\n", curve)
	}
	return finishOutput(ctx, env, out, base, f == compress.Int8, val, d.nWorkers(), bench)
}

func runDistill(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "compress distill", "compress distill --teacher DIR [--preset small | --config F] --data DIR --steps N --out DIR")
	var (
		teacherDir, preset, config, out, curve string
		steps, batch, segment, validateEvery   int
		lr, alpha, temperature                 float64
		baseline                               bool
		seed                                   uint64
		bench                                  time.Duration
		d                                      dataFlags
	)
	fs.StringVar(&teacherDir, "teacher", "", "checkpoint or run directory of the teacher (fixed)")
	fs.StringVar(&preset, "preset", "tiny", "student preset: "+strings.Join(wavenet.Presets(), ", "))
	fs.StringVar(&config, "config", "", "student config JSON instead of --preset (rate, levels and conditions are the teacher's)")
	fs.StringVar(&out, "out", "", "directory of the student checkpoint (the baseline goes to OUT-scratch)")
	fs.IntVar(&steps, "steps", 1000, "optimizer steps")
	fs.IntVar(&batch, "batch", 0, "sequences per step (default: --workers)")
	fs.IntVar(&segment, "segment", 2000, "predicted samples per sequence")
	fs.IntVar(&validateEvery, "validate-every", 0, "steps between validations (default steps/10)")
	fs.Float64Var(&lr, "lr", 1e-3, "learning rate (Adam)")
	fs.Float64Var(&alpha, "alpha", 0.5, "weight of the soft loss: alpha T^2 KL + (1-alpha) CE")
	fs.Float64Var(&temperature, "temperature", 2, "softmax temperature T")
	fs.BoolVar(&baseline, "baseline", true, "also train the same student from scratch (alpha 0) for the same steps and plot both curves")
	fs.StringVar(&curve, "curve", "", "PNG of both validation curves (default OUT/distill.png)")
	fs.Uint64Var(&seed, "seed", 1, "student initialisation and data order (the same for both students)")
	fs.DurationVar(&bench, "bench", 2*time.Second, "measure generation speed this long per stream count (0: skip)")
	d.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if out == "" || d.dir == "" {
		return Usagef("--out DIR and --data DIR are required")
	}
	teacher, _, tsrc, err := loadCheckpointFlag(ctx, teacherDir)
	if err != nil {
		return err
	}
	cfg, err := train.ModelConfig(preset, config)
	if err != nil {
		return Usagef("%v", err)
	}
	tc := teacher.Config
	cfg.SampleRate, cfg.QuantizationChannels, cfg.Conditions = tc.SampleRate, tc.QuantizationChannels, tc.Conditions
	cfg.Preprocess = tc.Preprocess // the student trains on the teacher's data, processed alike
	trainUtts, val, err := d.load(ctx, env, tc)
	if err != nil {
		return err
	}
	teacherBits, err := retrain.Validate(ctx, teacher, val, d.nWorkers())
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "compress: teacher %s: %d parameters, validation %.4f bits/sample\n", tsrc, teacher.NumParams(), teacherBits)
	runs := []struct {
		name  string
		alpha float64
		dir   string
	}{{fmt.Sprintf("distilled (alpha %g, T %g)", alpha, temperature), alpha, out}}
	if baseline {
		runs = append(runs, struct {
			name  string
			alpha float64
			dir   string
		}{"from scratch", 0, filepath.Clean(out) + "-scratch"})
	}
	curves := map[string][]retrain.Point{}
	var order []string
	var student *wavenet.Model
	for i, r := range runs {
		s, err := train.NewModel(cfg, seed)
		if err != nil {
			return err
		}
		bar := progress.New(env.Stderr, r.name, "steps", int64(steps))
		o := retrain.DistillOptions{Options: retrain.Options{Steps: steps, Batch: batch, Segment: segment, Workers: d.workers,
			LR: lr, Seed: seed, Val: val, ValidateEvery: validateEvery,
			Progress: func(st retrain.Status) {
				status := fmt.Sprintf("loss %.3f", st.Loss)
				if st.Val != nil {
					status += fmt.Sprintf(" val %.4f bits", st.Val.Bits)
				}
				bar.Set(int64(st.Step), status)
			}}, Temperature: temperature, Alpha: &r.alpha}
		c, err := retrain.Distill(ctx, s, teacher, trainUtts, o)
		bar.Finish()
		if err != nil {
			return err
		}
		if err := compress.Save(ctx, r.dir, s, compress.SaveOptions{}); err != nil {
			return err
		}
		curves[r.name] = c
		order = append(order, r.name)
		if len(c) > 0 {
			fmt.Fprintf(env.Stdout, "%s: %d parameters, final validation %.4f bits/sample (teacher %.4f), saved in %s\n",
				r.name, s.NumParams(), c[len(c)-1].Bits, teacherBits, r.dir)
		}
		if i == 0 {
			student = s
		}
	}
	if curve == "" {
		curve = filepath.Join(out, "distill.png")
	}
	if err := retrain.PlotCurves(curve, "Distillation: the same student with and without a teacher", curves, order); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(map[string]any{"teacher_bits": teacherBits, "curves": curves}, "", "  ")
	if err := os.WriteFile(strings.TrimSuffix(curve, ".png")+".json", append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	fmt.Fprintf(env.Stderr, "compress: curves in %s\n", curve)
	base, err := fp32Size(student)
	if err != nil {
		return err
	}
	r := measure{Name: filepath.Base(filepath.Clean(out)), Format: string(compress.FP32), Bytes: base, Ratio: 1}
	if err := measureModel(ctx, env, &r, student, nil, d.nWorkers(), bench); err != nil {
		return err
	}
	printMeasure(env.Stdout, r)
	return nil
}

func runCompressReport(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "compress report", "compress report --model DIR --data DIR [--pruned DIR] [--out FILE.md]")
	var (
		model, pruned, out string
		bench              time.Duration
		d                  dataFlags
	)
	fs.StringVar(&model, "model", "", "checkpoint or run directory of the float model")
	fs.StringVar(&pruned, "pruned", "", "comma-separated checkpoints to add as rows (pruned models made by compress prune, or their dense control)")
	fs.StringVar(&out, "out", "", "write the Markdown table here too")
	fs.DurationVar(&bench, "bench", 3*time.Second, "measure generation speed this long per stream count")
	d.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	m, _, src, err := loadCheckpointFlag(ctx, model)
	if err != nil {
		return err
	}
	base, err := fp32Size(m)
	if err != nil {
		return err
	}
	var val []*corpus.Utterance
	if d.dir != "" {
		if _, val, err = d.load(ctx, env, m.Config); err != nil {
			return err
		}
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
	for _, dir := range strings.Split(pruned, ",") {
		if dir == "" {
			continue
		}
		pm, _, _, err := loadCheckpointFlag(ctx, dir)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("%s (sparsity %.0f%%)", filepath.Base(filepath.Clean(dir)), 100*compress.Sparsity(pm))
		vs = append(vs, variant{name, pm, compress.SaveOptions{}, false})
	}
	var rows []measure
	for _, v := range vs {
		q, n, err := compress.Quantized(v.model, v.opts)
		if err != nil {
			return err
		}
		f := v.opts.Format
		if f == "" {
			f = compress.FP32
		}
		r := measure{Name: v.name, Format: string(f), Bytes: n, Ratio: float64(n) / float64(base), Sparsity: compress.Sparsity(q), Int8Gen: v.int8Gen}
		if v.int8Gen {
			// The int8 generator quantizes activations too: score it by
			// teacher forcing through the generator itself.
			r.Bits = math.NaN()
			if len(val) > 0 {
				fmt.Fprintf(env.Stderr, "compress: scoring %s (teacher-forced int8 generator)...\n", r.Name)
				if r.Bits, err = compress.Int8Bits(ctx, q, val, 16); err != nil {
					return err
				}
			}
			v := r
			v.Bits = 0
			if err := measureModel(ctx, env, &v, q, nil, d.nWorkers(), bench); err != nil {
				return err
			}
			r.Speed1, r.Speed16, r.CPUSpeed1, r.CPUSpd16 = v.Speed1, v.Speed16, v.CPUSpeed1, v.CPUSpd16
		} else if err := measureModel(ctx, env, &r, q, val, d.nWorkers(), bench); err != nil {
			return err
		}
		printMeasure(env.Stderr, r)
		rows = append(rows, r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Model: `%s` (%d parameters, %d Hz, receptive field %d); validation: %d utterances; speed: `GOMAXPROCS=%d`, %s per measurement, samples/s per CPU second of the generating thread (wall-clock in parentheses; the machine is shared).\n\n",
		src, m.NumParams(), m.Config.SampleRate, m.Config.ReceptiveField(), len(val), runtime.GOMAXPROCS(0), bench)
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
	fmt.Fprint(env.Stdout, b.String())
	if out != "" {
		if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
			return fmt.Errorf("compress: %w", err)
		}
		j, _ := json.MarshalIndent(rows, "", "  ")
		if err := os.WriteFile(strings.TrimSuffix(out, filepath.Ext(out))+".json", append(j, '\n'), 0o644); err != nil {
			return fmt.Errorf("compress: %w", err)
		}
	}
	return nil
}
