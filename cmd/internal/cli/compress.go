package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
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
  quantize --dtype int8|fp16|bf16 [--per-channel=false] [--affine] [--unsigned] --model DIR --out DIR [--data DIR [--calibrate N]]
  prune    --amount 0.5 [--global] [--structured] [--finetune-steps N --rounds R --data DIR] --model DIR --out DIR
  distill  --teacher DIR [--preset small | --config F] --data DIR --steps N --out DIR [--alpha 0.5 --temperature 2]
  report   --model DIR --data DIR [--pruned DIR] [--out FILE.md]: the README table (size, bits/sample, speed per format)

--model takes a checkpoint directory or a training run directory (its newest checkpoint).
--data takes a corpus (a folder tree, an LJSpeech directory or a .csv/.jsonl manifest), listed by --layout, --pattern and --speaker-from-folder as train lists it.`

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
	corpusFlags
	dir, split  string
	validateMax int
	workers     int
}

func (d *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.dir, "data", "", corpusUsage)
	d.corpusFlags.register(fs)
	fs.StringVar(&d.split, "split", "", "validation split: hash=PERCENT or LABEL=VALUES (default: FSDD index=5-9)")
	fs.IntVar(&d.validateMax, "validate-max", 100, "score at most this many validation utterances (a fixed, evenly spread subset; 0: all)")
	fs.IntVar(&d.workers, "workers", 0, "goroutines for validation and data-parallel training (default: one per CPU)")
}

// load reads the corpus as the model's training did (retrain.LoadCorpus);
// it returns the training utterances and the validation subset. A corpus
// that lists no recordings is an error naming --data (noRecordings),
// before any audio is read.
func (d *dataFlags) load(ctx context.Context, env *Env, cfg wavenet.Config) (trainUtts, val []*corpus.Utterance, err error) {
	l, err := d.list(ctx, "--data", d.dir)
	if err != nil {
		return nil, nil, err
	}
	if len(l.Files) == 0 {
		return nil, nil, noRecordings("--data", d.dir, l)
	}
	opts := retrain.LoadOptions{ValidateMax: d.validateMax}
	if err := d.corpusFlags.options(&opts.List); err != nil {
		return nil, nil, err
	}
	if d.split != "" {
		if opts.Split, err = corpus.ParseSplit(d.split); err != nil {
			return nil, nil, Usagef("%v", err)
		}
	}
	bar := progress.New(env.Stderr, "load", "files", 0)
	opts.Progress = func(done, total int) { bar.Set(int64(done), fmt.Sprintf("of %d", total)) }
	trainUtts, val, err = retrain.LoadCorpus(ctx, d.dir, cfg, opts)
	bar.Finish()
	return trainUtts, val, err
}

func (d *dataFlags) nWorkers() int {
	if d.workers > 0 {
		return d.workers
	}
	return runtime.NumCPU()
}

// parseFlags parses args and refuses positional arguments, wherever they
// are among the flags.
func parseFlags(fs *flag.FlagSet, args []string) error {
	pos, err := interspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return Usagef("unexpected arguments %q", pos)
	}
	return nil
}

// compressProgress shows a flow's lines and stages on w, a progress bar per
// stage.
func compressProgress(w io.Writer) retrain.ProgressFunc {
	bars := map[string]*progress.Bar{}
	return func(e retrain.Event) {
		if e.Stage == "" {
			fmt.Fprintln(w, e.Line)
			return
		}
		b := bars[e.Stage]
		if e.Final {
			if b != nil {
				b.Finish()
				delete(bars, e.Stage)
			}
			return
		}
		if b == nil {
			b = progress.New(w, e.Stage, e.Unit, int64(e.Total))
			bars[e.Stage] = b
		}
		b.Set(int64(e.Done), e.Status)
	}
}

// finishOutput measures the checkpoint written to out and prints its line.
func finishOutput(ctx context.Context, env *Env, out string, base int, int8Gen bool, val []*corpus.Utterance, workers int, bench time.Duration) error {
	r, err := retrain.MeasureCheckpoint(ctx, out, base, int8Gen,
		retrain.MeasureOptions{Val: val, Workers: workers, Bench: bench, Progress: compressProgress(env.Stderr)})
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, r)
	return nil
}

func runQuantize(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "compress quantize", "compress quantize --dtype int8|fp16|bf16 [--per-channel=false] [--affine] [--unsigned] --model DIR --out DIR [--data DIR [--calibrate N]]")
	var (
		dtype, model, out          string
		perChannel, affine, unsign bool
		bench                      time.Duration
		calibrate                  int
		d                          dataFlags
	)
	fs.StringVar(&dtype, "dtype", "int8", "storage type: int8, fp16 or bf16")
	// The defaults are PyTorch's weight observers: qint8, symmetric, per
	// tensor (default_weight_observer) or per channel
	// (default_per_channel_weight_observer).
	fs.BoolVar(&perChannel, "per-channel", true, "int8: one scale per output channel (PerChannelMinMaxObserver); --per-channel=false: per tensor (+0.136 bits/sample on the default model)")
	fs.IntVar(&calibrate, "calibrate", 89, "int8 with --data: round the output layer by GPTQ against this many training recordings (evenly spread; 0: plain rounding, +0.011 bits/sample on the default model)")
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
	opts := compress.Int8Recipe(nil)
	opts.Format, opts.PerChannel = f, perChannel
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
	var trainUtts, val []*corpus.Utterance
	if d.dir != "" {
		if trainUtts, val, err = d.load(ctx, env, m.Config); err != nil {
			return err
		}
	}
	if f == compress.Int8 && calibrate > 0 && len(trainUtts) > 0 {
		var cal []*corpus.Utterance
		step := max(1, len(trainUtts)/calibrate)
		for i := 0; i < len(trainUtts) && len(cal) < calibrate; i += step {
			cal = append(cal, trainUtts[i])
		}
		switch opts.Calibration, err = compress.Calibrate(ctx, m, cal); {
		case errors.Is(err, compress.ErrNoCalibration):
			fmt.Fprintf(env.Stderr, "compress: no calibration: %v\n", err)
		case err != nil:
			return err
		default:
			fmt.Fprintf(env.Stderr, "compress: calibrated on %d training recordings (%d samples)\n", len(cal), opts.Calibration.N)
		}
	}
	if err := compress.Save(ctx, out, m, opts); err != nil {
		return err
	}
	base, err := retrain.FP32Size(m)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "compress: %s -> %s (%s)\n", src, out, f)
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
	base, err := retrain.FP32Size(m)
	if err != nil {
		return err
	}
	var trainUtts, val []*corpus.Utterance
	if d.dir != "" {
		if trainUtts, val, err = d.load(ctx, env, m.Config); err != nil {
			return err
		}
		if steps > 0 && len(trainUtts) == 0 {
			return Usagef("--data %s has no training recordings (all are in the validation split; see --split): --finetune-steps needs some", d.dir)
		}
	}
	res, err := retrain.Prune(ctx, m, retrain.PruneOptions{Amount: amount, Global: global, Structured: structured, Norm: norm, Rounds: rounds,
		FineTune: retrain.Options{Steps: steps, Batch: batch, Segment: segment, Workers: d.workers, LR: lr, Seed: 1},
		Train:    trainUtts, Val: val, Sweep: sweep, DenseControl: control, ValWorkers: d.nWorkers(), Source: src, Progress: compressProgress(env.Stderr)})
	if err != nil {
		return err
	}
	save := compress.SaveOptions{Format: f, DType: compress.QInt8, Scheme: compress.Symmetric, PerChannel: true}
	if err := compress.Save(ctx, out, m, save); err != nil {
		return err
	}
	if res.HasCurve() {
		if curve == "" {
			curve = filepath.Join(out, "sparsity.png")
		}
		if err := res.WriteCurve(curve); err != nil {
			return err
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
	trainUtts, val, err := d.load(ctx, env, teacher.Config)
	if err != nil {
		return err
	}
	res, err := retrain.DistillStudents(ctx, teacher, retrain.StudentsOptions{Student: cfg,
		Distill: retrain.DistillOptions{Options: retrain.Options{Steps: steps, Batch: batch, Segment: segment, Workers: d.workers,
			LR: lr, Seed: seed, ValidateEvery: validateEvery}, Temperature: temperature, Alpha: &alpha},
		Baseline: baseline, Train: trainUtts, Val: val, Out: out, ValWorkers: d.nWorkers(), Source: tsrc, Progress: compressProgress(env.Stderr)})
	if err != nil {
		return err
	}
	for _, s := range res.Students {
		if len(s.Curve) > 0 {
			fmt.Fprintf(env.Stdout, "%s: %d parameters, final validation %.4f bits/sample (teacher %.4f), saved in %s\n",
				s.Name, s.Model.NumParams(), s.Curve[len(s.Curve)-1].Bits, res.TeacherBits, s.Dir)
		}
	}
	if curve == "" {
		curve = filepath.Join(out, "distill.png")
	}
	if err := res.WriteCurves(curve); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "compress: curves in %s\n", curve)
	student := res.Students[0].Model
	base, err := retrain.FP32Size(student)
	if err != nil {
		return err
	}
	r := retrain.Measurement{Name: filepath.Base(filepath.Clean(out)), Format: string(compress.FP32), Bytes: base, Ratio: 1}
	if err := retrain.Measure(ctx, &r, student, retrain.MeasureOptions{Workers: d.nWorkers(), Bench: bench}); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, r)
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
	var val []*corpus.Utterance
	if d.dir != "" {
		if _, val, err = d.load(ctx, env, m.Config); err != nil {
			return err
		}
	}
	var more []retrain.Named
	for _, dir := range strings.Split(pruned, ",") {
		if dir == "" {
			continue
		}
		pm, _, _, err := loadCheckpointFlag(ctx, dir)
		if err != nil {
			return err
		}
		more = append(more, retrain.Named{Name: filepath.Base(filepath.Clean(dir)), Model: pm})
	}
	rows, err := retrain.Report(ctx, m, retrain.ReportOptions{Pruned: more, Val: val, Workers: d.nWorkers(), Bench: bench, Progress: compressProgress(env.Stderr)})
	if err != nil {
		return err
	}
	var b strings.Builder
	if err := retrain.WriteReport(&b, src, m, len(val), bench, rows); err != nil {
		return err
	}
	fmt.Fprint(env.Stdout, b.String())
	if out != "" {
		if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
			return fmt.Errorf("compress: %w", err)
		}
		j, err := json.MarshalIndent(rows, "", "  ")
		if err != nil {
			return fmt.Errorf("compress: %w", err)
		}
		if err := os.WriteFile(strings.TrimSuffix(out, filepath.Ext(out))+".json", append(j, '\n'), 0o644); err != nil {
			return fmt.Errorf("compress: %w", err)
		}
	}
	return nil
}
