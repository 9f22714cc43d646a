package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/wavenet-go/wavenet/classify"
	"github.com/wavenet-go/wavenet/classify/cnntrain"
)

const classifyUsage = `classify train --arch densenet|mobilenet --out DIR [--data CORPUS] [--teacher DIR] [--init DIR --prune F] [flags]
       classify quantize --judge DIR --out DIR
       classify report [--data CORPUS] --judge DIR[,DIR...]
CORPUS has digit and speaker labels: FSDD names, a --pattern with groups (?P<digit>...) and (?P<speaker>...), or manifest columns digit and speaker`

func runClassify(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(env.Stderr, "usage: wavenet "+classifyUsage)
		if len(args) == 0 {
			return Usagef("a subcommand is required")
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "train":
		return runClassifyTrain(ctx, env, args[1:])
	case "quantize":
		return runClassifyQuantize(ctx, env, args[1:])
	case "report":
		return runClassifyReport(ctx, env, args[1:])
	}
	return Usagef("unknown classify subcommand %q (train, quantize, report)", args[0])
}

// loadSplit reads the recordings of the corpus at path (the value of
// flag, listed by cf), which must have digit and speaker labels: training
// outside the index range val (only if withTrain), validation inside (for
// a corpus without an index label, its split).
func loadSplit(ctx context.Context, flag, path string, cf *corpusFlags, val string, withTrain bool) (cnntrain.Data, error) {
	var d cnntrain.Data
	lo, hi, err := parseRange(val)
	if err != nil {
		return d, err
	}
	l, err := cf.list(ctx, flag, path)
	if err != nil {
		return d, err
	}
	if err := l.Require("digit", "speaker"); err != nil {
		return d, fmt.Errorf("%s %s: the classifier knows digits and speakers: %w", flag, path, err)
	}
	if len(l.Files) == 0 {
		return d, noRecordings(flag, path, l)
	}
	for _, f := range l.Files {
		if err := ctx.Err(); err != nil {
			return d, err
		}
		held := heldOut(l, f, lo, hi)
		if !held && !withTrain {
			continue
		}
		x, rate, err := readMono(f.Path)
		if err != nil {
			return d, fmt.Errorf("classify: %w", err)
		}
		ex := classify.Example{Samples: x, Rate: rate, Digit: f.Labels["digit"], Speaker: f.Labels["speaker"]}
		if held {
			d.Val, d.ValNames = append(d.Val, ex), append(d.ValNames, f.Name)
		} else {
			d.Train = append(d.Train, ex)
		}
	}
	return d, nil
}

func runClassifyTrain(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "classify train", classifyUsage)
	var o cnntrain.Options
	arch := fs.String("arch", "", "densenet (the teacher's preset) or mobilenet (the student's)")
	data := fs.String("data", defaultFSDD, "recordings with digit and speaker labels ("+corpusUsage+"): trained on indices outside --val-index")
	var corp corpusFlags
	corp.register(fs)
	val := fs.String("val-index", "5-9", "FSDD indices held out as validation (reported after every epoch, never trained on)")
	teacher := fs.String("teacher", "", "a trained judge to distill into this one (T²-scaled KL plus cross-entropy)")
	initDir := fs.String("init", "", "a trained judge to train further (its architecture; --arch ignored)")
	width := fs.Float64("width", 0, "MobileNet width multiplier (0: the preset's)")
	fs.Float64Var(&o.Prune, "prune", 0, "with --init: prune this fraction of the convolution and head weights (global magnitude) and keep them at zero")
	fs.StringVar(&o.Out, "out", "", "directory the judge is saved to after every epoch (config.json, model.safetensors)")
	fs.IntVar(&o.Epochs, "epochs", 30, "passes over the training split")
	fs.IntVar(&o.Batch, "batch", 32, "examples per step")
	fs.Float64Var(&o.LR, "lr", 3e-3, "peak learning rate (Adam; one epoch of warm-up, cosine to 0)")
	fs.Float64Var(&o.WeightDecay, "weight-decay", 1e-4, "Adam's L2 term")
	fs.Float64Var(&o.Alpha, "alpha", 0.7, "with --teacher: weight of the distillation loss (1-alpha on the labels)")
	fs.Float64Var(&o.Temperature, "temperature", 4, "with --teacher: distillation temperature T")
	fs.IntVar(&o.Masking.Shift, "shift", 800, "time shift of the window, up to this many samples either way")
	fs.IntVar(&o.Masking.FreqMasks, "freq-masks", 2, "SpecAugment frequency masks per example")
	fs.IntVar(&o.Masking.FreqWidth, "freq-width", 5, "widest frequency mask (mels)")
	fs.IntVar(&o.Masking.TimeMasks, "time-masks", 2, "SpecAugment time masks per example")
	fs.IntVar(&o.Masking.TimeWidth, "time-width", 6, "widest time mask (frames)")
	seed := fs.Uint64("seed", 1, "seed of the weights, the order and the augmentation")
	fs.IntVar(&o.Workers, "workers", runtime.GOMAXPROCS(0), "examples computed in parallel")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	o.Seed, o.Progress = *seed, env.Stdout
	if o.Out == "" {
		return Usagef("--out DIR is required")
	}
	var err error
	switch {
	case *initDir != "":
		if o.Init, err = classify.LoadCNN(*initDir); err != nil {
			return err
		}
	case *arch == "densenet":
		o.Config = cnntrain.Teacher()
	case *arch == "mobilenet":
		o.Config = cnntrain.Student()
		if *width > 0 {
			o.Config.Width = *width
		}
	default:
		return Usagef("--arch is %q, want densenet or mobilenet (or --init DIR)", *arch)
	}
	if *teacher != "" {
		if o.Teacher, err = classify.LoadCNN(*teacher); err != nil {
			return err
		}
	}
	d, err := loadSplit(ctx, "--data", *data, &corp, *val, true)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "training on %d recordings of %s, validating on %d (indices %s)\n", len(d.Train), *data, len(d.Val), *val)
	m, err := cnntrain.Train(ctx, d, o)
	if err != nil {
		return err
	}
	p, macs := m.Cost()
	_, err = fmt.Fprintf(env.Stdout, "saved %s: %s, %d parameters, %.2f M FLOPs per second of audio\n", o.Out, m.Name(), p, 2*float64(macs)/1e6)
	return err
}

func runClassifyQuantize(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "classify quantize", classifyUsage)
	judge := fs.String("judge", "", "a trained judge directory")
	out := fs.String("out", "", "directory of the int8 judge")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *judge == "" || *out == "" {
		return Usagef("--judge DIR and --out DIR are required")
	}
	m, err := classify.LoadCNN(*judge)
	if err != nil {
		return err
	}
	if err := cnntrain.SaveInt8(m, *out); err != nil {
		return err
	}
	_, err = fmt.Fprintf(env.Stdout, "saved %s: int8 weights, one scale per output channel\n", *out)
	return err
}

func runClassifyReport(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "classify report", classifyUsage)
	data := fs.String("data", defaultFSDD, "recordings with digit and speaker labels ("+corpusUsage+"): the validation files are those of --val-index")
	var corp corpusFlags
	corp.register(fs)
	val := fs.String("val-index", "5-9", "FSDD indices of the validation files")
	judges := fs.String("judge", "", "comma-separated judge directories, one table row each")
	bench := fs.Duration("bench", 2*time.Second, "time Predict on one second of audio this long per judge (one goroutine; run with GOMAXPROCS=1 for one core)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *judges == "" {
		return Usagef("--judge DIR[,DIR...] is required")
	}
	d, err := loadSplit(ctx, "--data", *data, &corp, *val, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "| judge | parameters | FLOPs per 1 s | size | digits | speakers | CPU ms per 1 s |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, dir := range strings.Split(*judges, ",") {
		m, err := classify.LoadCNN(dir)
		if err != nil {
			return err
		}
		st, err := os.Stat(filepath.Join(dir, classify.WeightsFile))
		if err != nil {
			return fmt.Errorf("classify report: %w", err)
		}
		rep, err := classify.Evaluate(m, d.Val, d.ValNames)
		if err != nil {
			return err
		}
		zeros := 0
		for _, w := range m.Weights() {
			if w.Grad != nil && len(w.Shape) > 1 {
				for _, v := range w.Value {
					if v == 0 {
						zeros++
					}
				}
			}
		}
		ms, err := cnntrain.PredictCPU(ctx, m, *bench)
		if err != nil {
			return err
		}
		p, _ := m.Cost()
		flops, from := cnntrain.FLOPs(m)
		fmt.Fprintf(env.Stdout, "| %s (%s; %d zero weights) | %d | %.2f M (%s) | %.1f kB | %.2f%% | %.2f%% | %.3f |\n", dir, m.Config.Arch, zeros, p,
			float64(flops)/1e6, from, float64(st.Size())/1000, 100*rep.DigitAccuracy(), 100*rep.SpeakerAccuracy(), ms)
	}
	return nil
}
