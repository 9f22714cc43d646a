package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/internal/progress"
	"github.com/wavenet-go/wavenet/train"
	"github.com/wavenet-go/wavenet/train/dist"
	"github.com/wavenet-go/wavenet/wavenet"
)

type trainFlags struct {
	corpusFlags
	data, preset, out, cond, config, split string
	init, grow                             string
	local, upScales, upNet                 string
	mels, hop, upWidth, upFreqWidth        int
	resume, cosine, trim, normalize        bool
	steps, checkpointEvery, validateEvery  int64
	until                                  int64
	warmup, logEvery                       int64
	batch, segment, workers, rate, keep    int
	validateMax                            int
	lr, clip, condDropout                  float64
	seed                                   uint64
	dist                                   distFlags
}

func runTrain(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "train", "train --data DIR|MANIFEST --out runs/NAME [--preset small] [--resume] [flags]")
	var f trainFlags
	fs.StringVar(&f.data, "data", "", corpusUsage)
	f.corpusFlags.register(fs)
	fs.StringVar(&f.preset, "preset", "small", "model preset: "+strings.Join(wavenet.Presets(), ", "))
	fs.StringVar(&f.config, "config", "", "model config JSON (ibab wavenet_params.json fields) instead of --preset")
	fs.StringVar(&f.out, "out", "", "run directory (checkpoints, metrics.jsonl, curve.png)")
	fs.BoolVar(&f.resume, "resume", false, "continue the run in --out from its newest good checkpoint (with the model, schedule, data order and corpus layout, pattern and split it records)")
	fs.StringVar(&f.init, "init", "", "start a new run from this model or checkpoint directory's weights (fine-tuning; its config and conditions are kept)")
	fs.StringVar(&f.grow, "grow", "", "with --init: append residual blocks of these comma-separated dilations (e.g. 1024,2048) to widen the receptive field; they start as a no-op")
	fs.Int64Var(&f.steps, "steps", 10000, "total optimizer steps of the run")
	fs.Int64Var(&f.until, "until", 0, "stop after this step (with a checkpoint) though the schedule spans --steps; continue later with --resume")
	fs.IntVar(&f.batch, "batch", 0, "sequences per step (default: --workers)")
	fs.IntVar(&f.segment, "segment", 4000, "predicted samples per sequence (each also carries receptive field - 1 samples of context)")
	fs.IntVar(&f.workers, "workers", 0, "data-parallel workers (default: one per CPU)")
	fs.Float64Var(&f.lr, "lr", 1e-3, "peak learning rate (Adam)")
	fs.BoolVar(&f.cosine, "cosine", false, "cosine learning-rate decay to lr/10 over --steps (after --warmup)")
	fs.Int64Var(&f.warmup, "warmup", 0, "linear warm-up steps (with --cosine)")
	fs.Float64Var(&f.clip, "clip", 1, "clip the global gradient norm to this (negative: off)")
	fs.IntVar(&f.rate, "rate", 0, "sample rate in Hz (default: the corpus's own rate)")
	fs.StringVar(&f.cond, "cond", "", "comma-separated labels to condition on, e.g. speaker,digit")
	fs.StringVar(&f.local, "local", "", "local conditioning of a new model: mel (a vocoder: log-mel frames of the audio, upsampled, enter every layer; needs --rate)")
	fs.IntVar(&f.mels, "mels", 0, "with --local mel: mel bands (default 80)")
	fs.IntVar(&f.hop, "hop", 0, "with --local mel: samples per mel frame (default: the power of two nearest rate/86, 128 at 8 kHz, 256 at 16-24 kHz); n_fft is 4 hops")
	fs.StringVar(&f.upScales, "upsample-scales", "", "with --local mel: comma-separated upsampling factors whose product is the hop (default: 4s, then the rest)")
	fs.IntVar(&f.upWidth, "upsample-width", 0, "with --local mel: input rows each upsampled row sees per layer (default 2)")
	fs.StringVar(&f.upNet, "upsample-net", "", "with --local mel: the upsampling layers: transposed (causal transposed convolutions, the default) or repeat-conv2d (nearest repeat, then a causal 2-D convolution over time and mel bands, as r9y9's UpsampleNetwork)")
	fs.IntVar(&f.upFreqWidth, "upsample-freq-width", 0, "with --upsample-net repeat-conv2d: mel bands each kernel spans, odd (default 3)")
	fs.Float64Var(&f.condDropout, "cond-dropout", 0, "replace each condition of a training sequence by a learned null value with this probability, so that guided sampling (--guidance) can use the model (adds the null rows to an --init model)")
	fs.StringVar(&f.split, "split", "", "validation split: none, hash=PERCENT or LABEL=VALUES (default: index=5-9 when the corpus has an index label, as FSDD names do, else hash=10)")
	fs.BoolVar(&f.trim, "trim", true, "trim leading and trailing silence")
	fs.BoolVar(&f.normalize, "normalize", true, "normalise each file's peak level")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the initial weights and the data order")
	fs.Int64Var(&f.checkpointEvery, "checkpoint-every", 500, "steps between checkpoints")
	fs.IntVar(&f.keep, "keep", 3, "checkpoints kept")
	fs.Int64Var(&f.validateEvery, "validate-every", 500, "steps between validations (negative: never)")
	fs.IntVar(&f.validateMax, "validate-max", 0, "validate on at most this many utterances (a fixed subset; 0: all)")
	fs.Int64Var(&f.logEvery, "log-every", 10, "steps between metrics.jsonl lines")
	f.dist.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.data == "" || f.out == "" {
		return Usagef("--data and --out are required")
	}

	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if f.init != "" {
		for _, name := range []string{"resume", "preset", "config", "cond", "rate", "local"} {
			if set[name] {
				return Usagef("--init takes the model's configuration: it cannot be combined with --%s", name)
			}
		}
	} else if f.grow != "" {
		return Usagef("--grow needs --init (the model to grow)")
	}
	if f.resume && f.condDropout != 0 {
		return Usagef("--resume takes --cond-dropout from the checkpoint: it cannot be given again")
	}
	var copts corpus.Options
	if err := f.corpusFlags.options(&copts); err != nil {
		return err
	}
	spec := train.Spec{Data: f.data, Layout: copts.Layout, Pattern: copts.Pattern, SpeakerFromFolder: copts.SpeakerFromFolder, Dir: f.out, Resume: f.resume, Init: f.init, Preset: f.preset, ConfigFile: f.config,
		Rate: f.rate, Preprocess: audio.Preprocess{Trim: f.trim, Normalize: f.normalize}}
	var err error
	if f.grow != "" {
		if spec.Grow, err = parseInts(f.grow); err != nil {
			return Usagef("--grow: %v", err)
		}
	}
	if f.cond != "" {
		spec.Cond = strings.Split(f.cond, ",")
	}
	if spec.Local, err = f.localSpec(set); err != nil {
		return err
	}
	if f.split != "" {
		if spec.Split, err = corpus.ParseSplit(f.split); err != nil {
			return Usagef("%v", err)
		}
	}
	opts := train.Options{
		Steps: f.steps, Until: f.until, Batch: f.batch, Segment: f.segment, Workers: f.workers,
		LR: f.lr, Warmup: f.warmup, Cosine: f.cosine, ClipNorm: f.clip, Seed: f.seed, CondDropout: f.condDropout,
		CheckpointEvery: f.checkpointEvery, Keep: f.keep, ValidateEvery: f.validateEvery,
		ValidateMax: f.validateMax, LogEvery: f.logEvery,
		Logf: func(format string, args ...any) { fmt.Fprintf(env.Stderr, "\n"+format+"\n", args...) },
	}
	if f.validateEvery < 0 {
		opts.ValidateEvery = -1
	}
	if f.dist.mode != "" {
		return runDistTrain(ctx, env, &f.dist, spec, opts)
	}
	for _, name := range []string{"nats", "nats-listen", "nats-subject", "rank", "world", "allreduce", "grad-codec", "max-staleness", "pipeline-stages", "micro-batches", "dist-timeout"} {
		if set[name] {
			return Usagef("--%s needs --distributed", name)
		}
	}
	bar := progress.New(env.Stderr, "load", "files", 0)
	spec.LoadProgress = func(done, total int) { bar.Set(int64(done), fmt.Sprintf("of %d", total)) }
	t, c, err := train.Open(ctx, spec, opts)
	bar.Finish()
	if errors.Is(err, train.ErrSpec) {
		return Usagef("%v", err)
	}
	if err != nil {
		return err
	}
	defer t.Close()
	o := t.Options()
	m := t.Model
	fmt.Fprintf(env.Stderr, "train: %d training / %d validation utterances at %d Hz; %d parameters, receptive field %d; "+
		"batch %d x (%d + %d) on %d workers; from step %d to %d\n",
		len(c.Train), len(c.Validation), m.Config.SampleRate, m.NumParams(), m.Config.ReceptiveField(),
		o.Batch, m.Config.ReceptiveField()-1, o.Segment, o.Workers, t.Step(), o.Steps)
	first, last := t.Step(), o.End()
	bar = progress.New(env.Stderr, fmt.Sprintf("train (steps %d-%d)", first, last), "steps", last-first)
	t.SetProgress(func(s train.Status) { bar.Set(s.Step-first, trainStatus(s)) })
	err = t.Run(ctx)
	bar.Finish()
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(env.Stderr, "train: interrupted at step %d; checkpoint saved, continue with --resume\n", t.Step())
	}
	return err
}

// trainStatus is the progress bar's status after a step.
func trainStatus(s train.Status) string {
	status := fmt.Sprintf("loss %.3f nats (%.3f bits)", s.Loss, s.Loss/0.6931471805599453)
	if s.Val != nil {
		status += fmt.Sprintf(" val %.3f bits", s.Val.Bits)
	}
	return status + fmt.Sprintf(" %.0f samples/s lr %.2g", s.SamplesPerSec, s.LR)
}

// localSpec is the local conditioning the flags ask for: nil without
// --local, whose companion flags need it.
func (f *trainFlags) localSpec(set map[string]bool) (*train.LocalSpec, error) {
	switch f.local {
	case "":
		for _, name := range []string{"mels", "hop", "upsample-scales", "upsample-width", "upsample-net", "upsample-freq-width"} {
			if set[name] {
				return nil, Usagef("--%s needs --local mel", name)
			}
		}
		return nil, nil
	case "mel":
		if f.mels < 0 || f.hop < 0 || f.upWidth < 0 {
			return nil, Usagef("--mels, --hop and --upsample-width take positive values")
		}
	default:
		return nil, Usagef("--local %q: the only local conditioning is mel", f.local)
	}
	switch f.upNet {
	case "", wavenet.UpsampleTransposed:
		if set["upsample-freq-width"] {
			return nil, Usagef("--upsample-freq-width needs --upsample-net %s", wavenet.UpsampleRepeatConv2D)
		}
	case wavenet.UpsampleRepeatConv2D:
		if f.upFreqWidth < 0 || (f.upFreqWidth > 0 && f.upFreqWidth%2 == 0) || (set["upsample-freq-width"] && f.upFreqWidth == 0) {
			return nil, Usagef("--upsample-freq-width is %d, want an odd positive width (the kernel is centred on its band)", f.upFreqWidth)
		}
	default:
		return nil, Usagef("--upsample-net %q: want %s or %s", f.upNet, wavenet.UpsampleTransposed, wavenet.UpsampleRepeatConv2D)
	}
	l := &train.LocalSpec{NMels: f.mels, Hop: f.hop, Width: f.upWidth, Net: f.upNet, FreqWidth: f.upFreqWidth}
	if f.upScales != "" {
		var err error
		if l.Scales, err = parseInts(f.upScales); err != nil {
			return nil, Usagef("--upsample-scales: %v", err)
		}
	}
	return l, nil
}

// parseInts parses a comma-separated list of integers.
func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// distFlags are the flags of a distributed run (package dist).
type distFlags struct {
	mode, url, listen, subject, allreduce, codec string
	rank, world, maxStaleness, stages, micro     int
	timeout                                      time.Duration
}

func (d *distFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.mode, "distributed", "", "train as one rank of a distributed run: sync (gradients averaged every step: equal to one process with the global --batch), async (rank 0 is a parameter server, workers push gradients without waiting) or pipeline (each rank one stage of the model's layers, GPipe; weights replicated)")
	fs.StringVar(&d.url, "nats", "", "with --distributed: the NATS server the ranks meet at (nats://HOST:PORT)")
	fs.StringVar(&d.listen, "nats-listen", "", "with --distributed, rank 0: start an embedded NATS server on HOST:PORT for the others' --nats")
	fs.StringVar(&d.subject, "nats-subject", "wavenet.dist", "with --distributed: subject prefix of the run (runs sharing a server need different ones)")
	fs.IntVar(&d.rank, "rank", 0, "with --distributed: this process's rank, 0 to --world - 1 (rank 0 writes --out)")
	fs.IntVar(&d.world, "world", 1, "with --distributed: number of ranks; --batch is the global batch, split evenly")
	fs.StringVar(&d.allreduce, "allreduce", "reduce", "with --distributed sync: reduce (to rank 0, then broadcast) or ring")
	fs.StringVar(&d.codec, "grad-codec", "f32", "with --distributed: how gradients travel: f32, bf16 or int8 (with error feedback)")
	fs.IntVar(&d.maxStaleness, "max-staleness", 0, "with --distributed async: drop gradients computed on weights more than this many updates old (0: no bound)")
	fs.IntVar(&d.stages, "pipeline-stages", 1, "with --distributed sync: split the model's residual layers into this many pipelined stages (GPipe model parallelism, threads of each rank; no local conditioning)")
	fs.IntVar(&d.micro, "micro-batches", 1, "with --pipeline-stages or --distributed pipeline: micro-batches the batch is cut into (they overlap in the pipeline)")
	fs.DurationVar(&d.timeout, "dist-timeout", 2*time.Minute, "with --distributed: how long a rank waits for another, loading the corpus included (ten times that for rank 0's validations), before the run stops (sync: rank 0 saves a checkpoint; resume with --resume on every rank)")
}

// runDistTrain runs one rank of a distributed run.
func runDistTrain(ctx context.Context, env *Env, d *distFlags, spec train.Spec, opts train.Options) error {
	mode := dist.Mode(d.mode)
	if mode != dist.SyncMode && mode != dist.AsyncMode && mode != dist.PipelineMode {
		return Usagef("--distributed %q: want sync, async or pipeline", d.mode)
	}
	if d.world < 1 || d.rank < 0 || d.rank >= d.world {
		return Usagef("--rank %d of --world %d: want 0 <= rank < world", d.rank, d.world)
	}
	if d.stages > 1 && mode != dist.SyncMode {
		return Usagef("--pipeline-stages needs --distributed sync")
	}
	dopts := dist.Options{MaxStaleness: d.maxStaleness, Timeout: d.timeout, Stages: d.stages, MicroBatches: d.micro}
	var err error
	if dopts.Algorithm, err = dist.ParseAlgorithm(d.allreduce); err != nil {
		return Usagef("%v", err)
	}
	if dopts.Codec, err = dist.ParseCodec(d.codec); err != nil {
		return Usagef("%v", err)
	}
	url := d.url
	if d.listen != "" {
		if d.rank != 0 {
			return Usagef("--nats-listen is for rank 0; the other ranks give --nats")
		}
		srv, err := dist.Serve(d.listen)
		if err != nil {
			return err
		}
		defer srv.Close()
		url = srv.URL()
		fmt.Fprintf(env.Stderr, "train: NATS server at %s\n", url)
	}
	var net dist.Transport
	switch {
	case url == "" && d.world == 1:
		net = dist.Local(1)[0] // one rank: pipeline stages only
	case url == "":
		return Usagef("--distributed needs --nats URL (or --nats-listen on rank 0)")
	default:
		var wait []int // sync: every rank; async: the server, and the server no one
		if mode == dist.AsyncMode {
			wait = []int{}
			if d.rank > 0 {
				wait = []int{0}
			}
		}
		dctx, cancel := context.WithTimeout(ctx, d.timeout)
		net, err = dist.Dial(dctx, url, d.rank, d.world, dist.NATSOptions{Subject: d.subject, Wait: wait})
		cancel()
		if err != nil {
			return err
		}
	}
	defer net.Close()
	var bar *progress.Bar
	opts.Progress = func(s train.Status) {
		if bar == nil {
			bar = progress.New(env.Stderr, fmt.Sprintf("train rank %d (to step %d)", d.rank, s.Steps), "steps", s.Steps)
		}
		bar.Set(s.Step, trainStatus(s))
	}
	t, c, err := dist.Open(ctx, net, mode, spec, opts, dopts)
	if errors.Is(err, train.ErrSpec) {
		return Usagef("%v", err)
	}
	if err != nil {
		return err
	}
	defer t.Close()
	if c != nil {
		fmt.Fprintf(env.Stderr, "train: %s rank %d of %d: %d training / %d validation utterances; from step %d\n",
			mode, d.rank, d.world, len(c.Train), len(c.Validation), t.Step())
	} else {
		fmt.Fprintf(env.Stderr, "train: %s worker %d of %d\n", mode, d.rank, d.world)
	}
	start, first := time.Now(), t.Step()
	err = t.Run(ctx)
	if bar != nil {
		bar.Finish()
	}
	steps := t.Step() - first
	fmt.Fprintf(env.Stderr, "train: rank %d sent %d bytes in %.1f s", d.rank, net.Sent(), time.Since(start).Seconds())
	if steps > 0 {
		fmt.Fprintf(env.Stderr, " (%d per step over %d steps)", net.Sent()/steps, steps)
	}
	fmt.Fprintln(env.Stderr)
	if a, ok := unwrapAsync(t); ok && d.rank == 0 {
		st := a.Staleness()
		fmt.Fprintf(env.Stderr, "train: staleness of the updates %v (index = updates behind), %d dropped\n", st.Counts, st.Dropped)
	}
	switch {
	case !errors.Is(err, context.Canceled) && !errors.Is(err, dist.ErrTimeout) && !errors.Is(err, dist.ErrStopped):
	case mode == dist.AsyncMode && d.rank > 0:
		fmt.Fprintf(env.Stderr, "train: worker %d stopped; it can join the server again\n", d.rank)
	default:
		fmt.Fprintf(env.Stderr, "train: stopped at step %d; rank 0 saved a checkpoint: continue with --resume on every rank\n", t.Step())
	}
	return err
}

func unwrapAsync(t dist.Trainer) (*dist.Async, bool) {
	if u, ok := t.(interface{ Unwrap() dist.Trainer }); ok {
		t = u.Unwrap()
	}
	a, ok := t.(*dist.Async)
	return a, ok
}
