package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/wavenet"
)

// ErrSpec marks a run specification that names nothing usable or
// contradicts itself (an unknown preset, an unreadable config or initial
// model, a condition the corpus has no label for). Errors wrapping it are
// the caller's to fix; the CLI reports them as usage errors.
var ErrSpec = errors.New("train: bad run specification")

func specErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSpec}, args...)...)
}

// Spec says which model a run trains and on what: a new model (Preset or
// ConfigFile, with the corpus's rate and the Cond labels as conditions),
// a new run from a trained model's weights (Init, optionally grown), or
// the continuation of the run in Dir (Resume).
type Spec struct {
	Data string // corpus: a directory or manifest file (corpus.Load)

	// Layout, Pattern and SpeakerFromFolder say how Data lists its files
	// and labels (corpus.Options; zero: detected, FSDD names).
	Layout            corpus.Layout
	Pattern           string
	SpeakerFromFolder bool

	Dir    string // run directory
	Resume bool   // continue the run in Dir from its newest good checkpoint: the model's configuration is the run's

	Init string // start a new run from this checkpoint directory's weights (its configuration is kept)
	Grow []int  // with Init: residual blocks of these dilations appended (wavenet.Model.Grow)

	Preset     string   // preset of a new model (wavenet.Preset)
	ConfigFile string   // config JSON of a new model instead of Preset
	Rate       int      // sample rate of a new model (0: the corpus's own)
	Cond       []string // labels a new model is conditioned on
	// Local gives a new model local conditioning on log-mel frames of its
	// training audio (nil: none, or what ConfigFile says). It needs Rate.
	Local *LocalSpec

	// Preprocess is how the training audio is processed; the model's
	// config records it (wavenet.Config.Preprocess). A resumed run keeps
	// the processing it recorded; a run from before the record is resumed
	// with Preprocess, which its checkpoints then record.
	Preprocess audio.Preprocess
	Split      corpus.Split // validation split (zero: corpus's default)

	// LoadProgress, if set, follows the loading of the corpus.
	LoadProgress func(done, total int)
}

// Open resolves spec, loads its corpus as the model's training processes
// it, and returns the trainer, resumed, started from Init's weights, or
// new (with opts.Seed; opts.CondDropout > 0 gives every condition a null
// row), and the corpus. The trainer is Closed by the caller.
func Open(ctx context.Context, spec Spec, opts Options) (*Trainer, *corpus.Corpus, error) {
	var cfg wavenet.Config
	var init *wavenet.Model
	var err error
	switch {
	case spec.Resume:
		if cfg, err = RunConfig(spec.Dir); err != nil {
			return nil, nil, err
		}
		if err := resumeSource(&spec); err != nil {
			return nil, nil, err
		}
	case spec.Init != "":
		if init, err = initModel(ctx, spec, opts); err != nil {
			return nil, nil, err
		}
		cfg = init.Config
	default:
		if len(spec.Grow) > 0 {
			return nil, nil, specErr("growing needs an initial model to grow")
		}
		if cfg, err = ModelConfig(spec.Preset, spec.ConfigFile); err != nil {
			return nil, nil, err
		}
	}
	if err := resolveLocal(&cfg, &spec, init != nil); err != nil {
		return nil, nil, err
	}
	pre := spec.Preprocess.WithDefaults()
	if spec.Resume && cfg.Preprocess != nil {
		pre = cfg.Preprocessing()
	}
	copts := corpus.Options{Layout: spec.Layout, Pattern: spec.Pattern, SpeakerFromFolder: spec.SpeakerFromFolder,
		SampleRate: spec.Rate, Levels: cfg.QuantizationChannels, Split: spec.Split, Progress: spec.LoadProgress}
	setPreprocess(&copts, pre)
	if spec.Resume || init != nil {
		copts.SampleRate = cfg.SampleRate
	}
	if cfg.Local != nil {
		copts.Mel = cfg.Local.Mel
	}
	c, err := corpus.Load(ctx, spec.Data, copts)
	if err != nil {
		return nil, nil, err
	}
	if len(c.Train) == 0 {
		return nil, nil, fmt.Errorf("train: no training utterances in %s", spec.Data)
	}
	var t *Trainer
	switch {
	case spec.Resume:
		if t, err = Resume(ctx, spec.Dir, c.Train, c.Validation, opts); err == nil && t.Model.Config.Preprocess == nil {
			t.Model.Config.Preprocess = &pre
		}
	case init != nil:
		init.Config.Preprocess = &pre
		t, err = NewFrom(spec.Dir, init, c.Train, c.Validation, opts)
	default:
		if cfg, err = newConfig(cfg, spec, c, opts.CondDropout); err != nil {
			return nil, nil, err
		}
		cfg.Preprocess = &pre
		t, err = New(spec.Dir, cfg, c.Train, c.Validation, opts)
	}
	if err != nil {
		return nil, nil, err
	}
	t.source = &CorpusSource{Layout: spec.Layout, Pattern: spec.Pattern, SpeakerFromFolder: spec.SpeakerFromFolder}
	if !spec.Split.IsZero() {
		t.source.Split = spec.Split.String()
	}
	return t, c, nil
}

// CorpusSource is how a run lists its corpus (Spec's Layout, Pattern,
// SpeakerFromFolder and Split; empty: the default), recorded in each
// checkpoint's trainer.json so that a resumed run reads the same
// utterances with the same labels and validation split.
type CorpusSource struct {
	Layout            corpus.Layout `json:"layout,omitempty"`
	Pattern           string        `json:"pattern,omitempty"`
	SpeakerFromFolder bool          `json:"speaker_from_folder,omitempty"`
	Split             string        `json:"split,omitempty"`
}

// resumeSource gives a resumed run's spec the corpus source its newest
// good checkpoint recorded, where the spec does not say; a spec that says
// otherwise is an ErrSpec: the labels and the split would change under the
// run. Checkpoints older than the record leave the spec as it is.
func resumeSource(spec *Spec) error {
	d, _, err := latestGood(spec.Dir)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(d, StateFile))
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("train: %s: %w", filepath.Join(d, StateFile), err)
	}
	src := st.Corpus
	if src == nil {
		return nil
	}
	split := ""
	if !spec.Split.IsZero() {
		split = spec.Split.String()
	}
	for _, f := range []struct {
		flag, given, recorded string
	}{
		{"layout", string(spec.Layout), string(src.Layout)},
		{"pattern", spec.Pattern, src.Pattern},
		{"split", split, src.Split},
		{"speaker-from-folder", fmt.Sprint(spec.SpeakerFromFolder), fmt.Sprint(src.SpeakerFromFolder)},
	} {
		if f.given != "" && f.given != "false" && f.given != f.recorded {
			return specErr("--%s %s: the run was started with %q; a resumed run reads its corpus as it started (leave the flag out)", f.flag, f.given, f.recorded)
		}
	}
	spec.Layout, spec.Pattern, spec.SpeakerFromFolder = src.Layout, src.Pattern, src.SpeakerFromFolder
	if src.Split != "" {
		if spec.Split, err = corpus.ParseSplit(src.Split); err != nil {
			return fmt.Errorf("train: %s: %w", filepath.Join(d, StateFile), err)
		}
	}
	return nil
}

// resolveLocal settles the local conditioning of the run: a resumed or
// initial model's own (spec.Local must be nil), or spec.Local's for a new
// model (at spec.Rate), or the config file's. Training computes the frames
// from the audio, so the config must say how (LocalConfig.Mel), and a new
// model's rate is the mels' rate.
func resolveLocal(cfg *wavenet.Config, spec *Spec, fromModel bool) error {
	if spec.Local != nil {
		if spec.Resume || fromModel {
			return specErr("local conditioning is the model's own when resuming or starting from a model")
		}
		if spec.Rate <= 0 {
			return specErr("local conditioning needs the sample rate: the mels are computed at the model's rate")
		}
		lc, err := spec.Local.Config(spec.Rate)
		if err != nil {
			return err
		}
		cfg.Local = &lc
	}
	lc := cfg.Local
	if lc == nil {
		return nil
	}
	if lc.Mel == nil {
		return specErr("the model's local conditioning does not say how its mel frames are computed (local_conditioning.mel): training cannot make them")
	}
	if !spec.Resume && !fromModel && spec.Rate == 0 {
		spec.Rate = lc.Mel.SampleRate
	}
	return nil
}

// LocalSpec describes local conditioning on log-mel frames for a new model:
// audio.DefaultMelParams at the model's rate, with these changes.
type LocalSpec struct {
	NMels  int   // mel bands (0: the default 80)
	Hop    int   // samples per frame (0: the default at the rate); n_fft and the window are 4 hops, as by default
	Scales []int // upsampling scales, whose product is the hop (nil: DefaultScales)
	Width  int   // input rows each upsampled row sees per layer (0: 2)
	// Net is the kind of upsampling layer (wavenet.LocalConfig.Net: ""
	// or "transposed", or "repeat-conv2d"), FreqWidth the frequency
	// width of a repeat-conv2d kernel (0: wavenet.DefaultFreqWidth).
	Net       string
	FreqWidth int
}

// Config is the local conditioning l describes at rate Hz.
func (l LocalSpec) Config(rate int) (wavenet.LocalConfig, error) {
	mel := audio.DefaultMelParams(rate)
	if l.NMels > 0 {
		mel.NMels = l.NMels
	}
	if l.Hop > 0 {
		mel.HopLength, mel.NFFT, mel.WinLength = l.Hop, 4*l.Hop, 4*l.Hop
	}
	if err := mel.Validate(); err != nil {
		return wavenet.LocalConfig{}, specErr("mel: %v", err)
	}
	lc := wavenet.LocalConfig{Channels: mel.NMels, Hop: mel.HopLength, Scales: l.Scales, Width: l.Width, Net: l.Net, FreqWidth: l.FreqWidth, Mel: &mel}
	if lc.RepeatConv() {
		lc.FreqWidth = lc.FreqKernel() // recorded in the config as trained
	}
	if lc.Scales == nil {
		lc.Scales = DefaultScales(lc.Hop)
	}
	if lc.Width == 0 {
		lc.Width = 2
	}
	prod := 1
	for _, sc := range lc.Scales {
		prod *= max(sc, 0)
	}
	if prod != lc.Hop || lc.Width < 1 {
		return wavenet.LocalConfig{}, specErr("upsampling scales %v of width %d for hop %d: the scales' product must be the hop, the width positive", lc.Scales, lc.Width, lc.Hop)
	}
	return lc, nil // the rest is checked with the whole config (wavenet.Config.Validate)
}

// DefaultScales splits hop into upsampling scales: as many 4s as divide
// it, then its remaining prime factors in increasing order (128 = 4*4*4*2,
// 256 = 4*4*4*4, 300 = 4*3*5*5).
func DefaultScales(hop int) []int {
	var s []int
	for hop%4 == 0 {
		s, hop = append(s, 4), hop/4
	}
	for p := 2; hop > 1; p++ {
		for hop%p == 0 {
			s, hop = append(s, p), hop/p
		}
	}
	return s
}

// initModel loads spec.Init, grows it by spec.Grow (the new blocks drawn
// from opts.Seed) and adds null rows when opts.CondDropout asks for them.
func initModel(ctx context.Context, spec Spec, opts Options) (*wavenet.Model, error) {
	m, err := wavenet.Load(ctx, spec.Init)
	if err != nil {
		return nil, specErr("initial model: %v", err)
	}
	if len(spec.Grow) > 0 {
		if m, err = m.Grow(spec.Grow, rand.New(rand.NewPCG(opts.Seed, 0x6207))); err != nil {
			return nil, specErr("grow: %v", err)
		}
	}
	if opts.CondDropout > 0 {
		m = m.WithNull()
	}
	return m, nil
}

// newConfig completes the configuration of a new model with what the
// corpus c says: the rate (spec.Rate, else the files'), the conditions
// (spec.Cond's labels, with null rows when condDropout > 0).
func newConfig(cfg wavenet.Config, spec Spec, c *corpus.Corpus, condDropout float64) (wavenet.Config, error) {
	switch {
	case spec.Rate > 0:
		cfg.SampleRate = spec.Rate
	case c.SampleRate > 0:
		cfg.SampleRate = c.SampleRate
	default:
		return cfg, specErr("the files of %s have different rates: give the sample rate", spec.Data)
	}
	if len(spec.Cond) > 0 {
		var err error
		if cfg.Conditions, err = c.Conditions(spec.Cond...); err != nil {
			return cfg, specErr("conditions: %v", err)
		}
	}
	if condDropout > 0 {
		for i := range cfg.Conditions {
			cfg.Conditions[i].Null = true
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// ModelConfig is the configuration of a new model: read from the JSON
// file configFile (this package's config.json or ibab's
// wavenet_params.json) when it is not empty, else the named preset.
func ModelConfig(preset, configFile string) (wavenet.Config, error) {
	if configFile == "" {
		cfg, err := wavenet.Preset(preset)
		if err != nil {
			return cfg, specErr("%v", err)
		}
		return cfg, nil
	}
	r, err := os.Open(configFile)
	if err != nil {
		return wavenet.Config{}, specErr("config: %v", err)
	}
	defer r.Close()
	cfg, err := wavenet.LoadConfigJSON(r)
	if err != nil {
		return wavenet.Config{}, specErr("config %s: %v", configFile, err)
	}
	return cfg, nil
}

// NewModel is a new model for cfg with the initial weights New draws from
// seed: the same weights for the same seed.
func NewModel(cfg wavenet.Config, seed uint64) (*wavenet.Model, error) {
	return wavenet.New(cfg, rand.New(rand.NewPCG(seed, 0x5EED)))
}

// LatestCheckpoint returns dir itself when it is a checkpoint directory
// (it holds wavenet.ConfigFile), else the newest checkpoint of the run
// directory dir whose config and weights header read.
func LatestCheckpoint(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, wavenet.ConfigFile)); err == nil {
		return dir, nil
	}
	d, _, err := latestGood(dir)
	return d, err
}

// latestGood is the newest checkpoint of the run in dir whose config
// reads and whose weights header reads, and its config.
func latestGood(dir string) (string, wavenet.Config, error) {
	dirs, err := latestCheckpoints(dir)
	if err != nil {
		return "", wavenet.Config{}, err
	}
	for _, d := range dirs {
		if cfg, ok := readable(d); ok {
			return d, cfg, nil
		}
	}
	return "", wavenet.Config{}, fmt.Errorf("train: no checkpoint of %s has a readable %s and %s", dir, wavenet.ConfigFile, wavenet.WeightsFile)
}

// readable reports whether checkpoint directory d's config and weights
// header read, and returns the config.
func readable(d string) (wavenet.Config, bool) {
	f, err := os.Open(filepath.Join(d, wavenet.ConfigFile))
	if err != nil {
		return wavenet.Config{}, false
	}
	cfg, err := wavenet.LoadConfigJSON(f)
	f.Close()
	if err != nil {
		return wavenet.Config{}, false
	}
	if _, err := wavenet.StoredDType(os.DirFS(d), "."); err != nil {
		return wavenet.Config{}, false
	}
	return cfg, true
}

// CorpusOptions are the corpus options that load audio as the training of
// a model of cfg did: cfg's rate and levels, and the preprocessing its
// config records (cfg.Preprocessing(): wavenet.DefaultPreprocess for
// checkpoints older than the record). The split, workers and progress
// are left for the caller.
func CorpusOptions(cfg wavenet.Config) corpus.Options {
	o := corpus.Options{SampleRate: cfg.SampleRate, Levels: cfg.QuantizationChannels}
	setPreprocess(&o, cfg.Preprocessing())
	if cfg.Local != nil {
		o.Mel = cfg.Local.Mel
	}
	return o
}

// setPreprocess sets the processing fields of o to p's.
func setPreprocess(o *corpus.Options, p audio.Preprocess) {
	o.RemoveDC, o.Trim, o.TrimDB, o.TrimRelDB, o.FrameMS = p.RemoveDC, p.Trim, p.TrimDB, p.TrimRelDB, p.FrameMS
	o.Normalize, o.NormalizeDB = p.Normalize, p.NormalizeDB
}
