package cli

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/cache"
	"github.com/wavenet-go/wavenet/internal/progress"
	"github.com/wavenet-go/wavenet/mulaw"
	"github.com/wavenet-go/wavenet/wavenet"
)

// DefaultModel, when not nil, loads the model that commands use when
// --model is not given (the embedded default model). The file that embeds
// the model sets it from an init function; until then --model is required.
var DefaultModel func(ctx context.Context) (*wavenet.Model, error)

// loadModel loads the checkpoint directory dir, or the default model when
// dir is empty.
func loadModel(ctx context.Context, dir string) (*wavenet.Model, error) {
	if dir != "" {
		return wavenet.Load(ctx, dir)
	}
	if DefaultModel == nil {
		return nil, Usagef("--model DIR is required (this binary has no embedded default model)")
	}
	return DefaultModel(ctx)
}

// condFlags collects the conditioning flags shared by generate and score:
// --speaker, --label and repeated --cond name=value.
type condFlags struct {
	speaker, label string
	conds          []string
}

func (c *condFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.speaker, "speaker", "", "value of the model's \"speaker\" condition")
	fs.StringVar(&c.label, "label", "", "value of the model's label condition: \"digit\", or else its one condition not named speaker")
	fs.Func("cond", "`name=value` of a global condition (repeatable)", func(s string) error {
		if _, _, ok := strings.Cut(s, "="); !ok {
			return fmt.Errorf("want name=value, got %q", s)
		}
		c.conds = append(c.conds, s)
		return nil
	})
}

// values returns the condition values given by the flags, by condition
// name, checked against cfg's conditions.
func (c *condFlags) values(cfg wavenet.Config) (map[string]string, error) {
	names := make([]string, len(cfg.Conditions))
	for i, cd := range cfg.Conditions {
		names[i] = cd.Name
	}
	vals := map[string]string{}
	if c.speaker != "" {
		if cfg.Condition("speaker") < 0 {
			return nil, Usagef("--speaker: the model has no speaker condition (conditions: %s)", listOrNone(names))
		}
		vals["speaker"] = c.speaker
	}
	if c.label != "" {
		lc := labelCondition(cfg)
		if lc == "" {
			return nil, Usagef("--label: the model has no label condition (conditions: %s), use --cond name=value", listOrNone(names))
		}
		vals[lc] = c.label
	}
	for _, s := range c.conds {
		n, v, _ := strings.Cut(s, "=")
		if cfg.Condition(n) < 0 {
			return nil, Usagef("--cond %s: the model has no condition %q (conditions: %s)", s, n, listOrNone(names))
		}
		vals[n] = v
	}
	return vals, nil
}

// flagHint names the short flag that also sets condition name, if any.
func flagHint(cfg wavenet.Config, name string) string {
	switch {
	case name == "speaker":
		return " or --speaker VALUE"
	case name == labelCondition(cfg):
		return " or --label VALUE"
	}
	return ""
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// condIndices turns condition values by name into the model's indices;
// every condition must have a value.
func condIndices(cfg wavenet.Config, vals map[string]string) ([]int, error) {
	idx := make([]int, len(cfg.Conditions))
	for i, cd := range cfg.Conditions {
		v, ok := vals[cd.Name]
		if !ok {
			return nil, Usagef("the model is conditioned on %s: give --cond %s=VALUE%s (allowed: %s)",
				cd.Name, cd.Name, flagHint(cfg, cd.Name), strings.Join(cd.Values, ", "))
		}
		h, err := cd.Index(v)
		if err != nil {
			return nil, Usagef("unknown %s %q (allowed: %s)", cd.Name, v, strings.Join(cd.Values, ", "))
		}
		idx[i] = h
	}
	return idx, nil
}

// readCodes decodes a WAV file to mono, resamples it to rate and encodes it
// to q-level mu-law codes.
func readCodes(name string, rate, q int) ([]int32, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	clip, err := audio.DecodeMono(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	x := clip.Samples
	if clip.Format.SampleRate != rate {
		if x, err = audio.Resample(nil, x, clip.Format.SampleRate, rate); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return mulaw.Encode(nil, x, q), nil
}

// genChunk is the number of samples generated between checks of the
// context and progress updates.
const genChunk = 1024

func runGenerate(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "generate", "generate [--model DIR] --seconds S [--speaker X] [--label Y] [--cond name=value...] [--temperature T] [--top-k K] [--greedy] [--seed N] [--prime file.wav] [--rate HZ] --out out.wav")
	modelDir := fs.String("model", "", "checkpoint directory (default: the embedded default model)")
	seconds := fs.Float64("seconds", 1, "length of the generated audio in seconds")
	temp := fs.Float64("temperature", 1, "sampling temperature (> 0; lower is more conservative)")
	topK := fs.Int("top-k", 0, "sample only among the K most likely codes (0: all)")
	greedy := fs.Bool("greedy", false, "always take the most likely code (ignores --temperature, --top-k, --seed)")
	seed := fs.Uint64("seed", 1, "random seed: the same seed, model and flags give the same audio")
	prime := fs.String("prime", "", "WAV file whose audio seeds the generation (not included in the output)")
	rate := fs.Int("rate", 0, "sample rate of the output WAV in Hz (default: the model's rate)")
	out := fs.String("out", "", "output WAV file (16-bit PCM)")
	var cf condFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return Usagef("unexpected arguments %q", fs.Args())
	case *out == "":
		return Usagef("--out FILE is required")
	case !(*seconds > 0) || math.IsInf(*seconds, 0):
		return Usagef("--seconds is %v, want a positive number", *seconds)
	case *rate < 0:
		return Usagef("--rate is %d, want a positive rate in Hz", *rate)
	case !*greedy && (!(*temp > 0) || math.IsInf(*temp, 0)):
		return Usagef("--temperature is %v, want a positive number (or --greedy)", *temp)
	case *topK < 0:
		return Usagef("--top-k is %d, want 0 (all codes) or more", *topK)
	}
	m, err := loadModel(ctx, *modelDir)
	if err != nil {
		return err
	}
	cfg := m.Config
	vals, err := cf.values(cfg)
	if err != nil {
		return err
	}
	cond, err := condIndices(cfg, vals)
	if err != nil {
		return err
	}
	outRate := cfg.SampleRate
	if *rate > 0 {
		outRate = *rate
	}
	n := int(math.Round(*seconds * float64(cfg.SampleRate)))
	if n < 1 || float64(n) > 24*3600*float64(cfg.SampleRate) {
		return Usagef("--seconds %v gives %d samples at %d Hz, want 1 sample to 24 hours", *seconds, n, cfg.SampleRate)
	}
	g := cache.New(m, 1)
	slot, err := g.Join(cache.StreamOptions{Cond: cond, Temperature: float32(*temp), TopK: *topK, Seed: *seed, Greedy: *greedy})
	if err != nil {
		return err
	}
	if *prime != "" {
		codes, err := readCodes(*prime, cfg.SampleRate, cfg.QuantizationChannels)
		if err != nil {
			return fmt.Errorf("prime: %w", err)
		}
		if err := g.Prime(ctx, slot, codes); err != nil {
			return err
		}
	}

	w, err := newWAVOut(*out, cfg.SampleRate, outRate)
	if err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	bar := progress.New(env.Stderr, "generate", "samples", int64(n))
	dst := make([]int32, 1)
	codes := make([]int32, 0, genChunk)
	var samples []float32
	var genErr error
	done := 0
	for done < n {
		if err := ctx.Err(); err != nil {
			genErr = err
			break
		}
		codes = codes[:0]
		for range min(genChunk, n-done) {
			dst = g.Step(dst)
			codes = append(codes, dst[slot])
		}
		samples = mulaw.Decode(samples, codes, cfg.QuantizationChannels)
		if err := w.write(samples); err != nil {
			w.abort()
			return fmt.Errorf("write %s: %w", *out, err)
		}
		done += len(codes)
		bar.Add(int64(len(codes)), "")
	}
	bar.Finish()
	frames, err := w.commit()
	if err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	if genErr != nil {
		fmt.Fprintf(env.Stderr, "generate: interrupted: wrote the %d samples generated so far (%.2f s) to %s\n",
			done, float64(done)/float64(cfg.SampleRate), *out)
		return genErr
	}
	fmt.Fprintf(env.Stderr, "generate: wrote %.2f s (%d samples at %d Hz) to %s\n",
		float64(frames)/float64(outRate), frames, outRate, *out)
	return nil
}

// wavOut writes a 16-bit PCM WAV file through a temporary file in the same
// directory, renamed into place by commit, so that a failed write leaves no
// partial file. At the model's rate, samples stream to the file as they
// come (memory stays bounded for long outputs); at another rate they are
// kept and resampled in one piece by commit.
type wavOut struct {
	name             string
	tmp              *os.File
	sw               *audio.Encoder // nil when resampling
	fromRate, toRate int
	kept             []float32
	frames           int
}

func newWAVOut(name string, fromRate, toRate int) (*wavOut, error) {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return nil, err
	}
	w := &wavOut{name: name, tmp: tmp, fromRate: fromRate, toRate: toRate}
	if fromRate == toRate {
		if w.sw, err = audio.NewEncoder(tmp, audio.EncodingWAV, toRate, -1); err != nil {
			w.abort()
			return nil, err
		}
	}
	return w, nil
}

func (w *wavOut) write(samples []float32) error {
	if w.sw == nil {
		w.kept = append(w.kept, samples...)
		return nil
	}
	w.frames += len(samples)
	return w.sw.Write(samples)
}

// commit finishes the file and renames it into place; it returns the
// number of frames written.
func (w *wavOut) commit() (frames int, err error) {
	defer func() {
		if err != nil {
			w.abort()
		}
	}()
	if w.sw != nil {
		err = w.sw.Close() // patches the sizes into the header
	} else {
		x := w.kept
		if len(x) > 0 {
			if x, err = audio.Resample(nil, x, w.fromRate, w.toRate); err != nil {
				return 0, err
			}
		}
		w.frames = len(x)
		err = audio.Encode(w.tmp, x, w.toRate, audio.PCM16)
	}
	if err != nil {
		return 0, err
	}
	if err = w.tmp.Chmod(0o644); err != nil {
		return 0, err
	}
	if err = w.tmp.Close(); err != nil {
		return 0, err
	}
	return w.frames, os.Rename(w.tmp.Name(), w.name)
}

// abort removes the temporary file.
func (w *wavOut) abort() {
	w.tmp.Close()
	os.Remove(w.tmp.Name())
}
