package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/internal/progress"
	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet"
)

// loadModel loads the checkpoint directory dir, or the embedded default
// model when dir is empty (synth's bundle loader).
func loadModel(ctx context.Context, dir string) (*wavenet.Model, error) {
	if dir != "" {
		return wavenet.Load(ctx, dir)
	}
	if !models.Available() {
		return nil, Usagef("--model DIR is required (this binary has no embedded default model)")
	}
	b, err := synth.LoadFS(models.FS(), models.ID)
	if err != nil {
		return nil, err
	}
	return b.Model, nil
}

// condFlags collects the conditioning flags shared by generate and score:
// --speaker, --label and repeated --cond name=value.
type condFlags struct {
	speaker, label string
	conds          []string
}

// register adds --speaker and --cond to fs, and --label when label is set
// (say takes its labels from the text).
func (c *condFlags) register(fs *flag.FlagSet, label bool) {
	fs.StringVar(&c.speaker, "speaker", "", "value of the model's \"speaker\" condition")
	if label {
		fs.StringVar(&c.label, "label", "", "value of the model's label condition: \"digit\", or else its one condition not named speaker")
	}
	fs.Func("cond", "`name=value` of a global condition (repeatable)", func(s string) error {
		if _, _, ok := strings.Cut(s, "="); !ok {
			return fmt.Errorf("want name=value, got %q", s)
		}
		c.conds = append(c.conds, s)
		return nil
	})
}

// named returns the --cond values by condition name. The engine checks
// them against the model (synth.ResolveConditions): the same rule as the
// service's, conditions not given taking their first value.
func (c *condFlags) named() map[string]string {
	vals := map[string]string{}
	for _, s := range c.conds {
		n, v, _ := strings.Cut(s, "=")
		vals[n] = v
	}
	return vals
}

// genChunk is the number of samples generated between checks of the
// context and writes to the file.
const genChunk = 1024

func runGenerate(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "generate", "generate [--model DIR] --seconds S [--speaker X] [--label Y] [--cond name=value...] [--temperature T] [--top-k K] [--greedy] [--seed N] [--prime file.wav] [--rate HZ] [--format wav] --out out.wav")
	modelDir := fs.String("model", "", "checkpoint directory (default: the embedded default model)")
	seconds := fs.Float64("seconds", 1, "length of the generated audio in seconds")
	temp := fs.Float64("temperature", 1, "sampling temperature (> 0; lower is more conservative)")
	topK := fs.Int("top-k", 0, "sample only among the K most likely codes (0: all)")
	greedy := fs.Bool("greedy", false, "always take the most likely code (ignores --temperature, --top-k, --seed)")
	seed := fs.Uint64("seed", 1, "random seed: the same seed, model and flags give the same audio")
	prime := fs.String("prime", "", "WAV file whose audio seeds the generation (not included in the output)")
	rate := fs.Int("rate", 0, "sample rate of the output in Hz (default: the model's rate)")
	format := fs.String("format", string(audio.EncodingWAV), formatUsage)
	out := fs.String("out", "", "output file")
	var cf condFlags
	cf.register(fs, true)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
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
	t, g := *temp, 0.0
	if *greedy {
		t = 0
	}
	req := &synth.Request{Seconds: seconds, Speaker: cf.speaker, Label: cf.label, Conditions: cf.named(), Temperature: &t, TopK: *topK, Seed: seed, Guidance: &g,
		SampleRate: *rate, Format: audio.Encoding(*format)}
	if *prime != "" {
		if req.Prime, _, err = recordingCodes(*prime, cfg, true); err != nil {
			return fmt.Errorf("prime: %w", err)
		}
	}
	syn, done, err := startOne(ctx, env, "generate", &synth.Bundle{Model: m}, req)
	if err != nil {
		return err
	}
	defer done()
	f, err := createOut(*out)
	if err != nil {
		return err
	}
	bar := progress.New(env.Stderr, "generate", "samples", int64(syn.Samples))
	n, genErr := syn.Stream(ctxWriter{ctx, f}, func() { bar.Set(int64(syn.Streamed()), "") })
	bar.Finish()
	var we *synth.WriteError
	if errors.As(genErr, &we) && !errors.Is(genErr, context.Canceled) {
		f.abort()
		return fmt.Errorf("write %s: %w", *out, we.Err)
	}
	// The streamed header declares an unknown length: write the exact one
	// (FLAC's only when the last frame, up to 4095 samples, was written).
	var hdr []byte
	switch {
	case syn.Format == audio.EncodingWAV:
		hdr = audio.WAVHeader(syn.Rate, n)
	case syn.Format == audio.EncodingFLAC && genErr == nil:
		hdr = audio.FLACHeader(syn.Rate, n)
	}
	if _, err := f.WriteAt(hdr, 0); err != nil {
		f.abort()
		return fmt.Errorf("write %s: %w", *out, err)
	}
	if err := f.commit(); err != nil {
		return err
	}
	if genErr != nil {
		fmt.Fprintf(env.Stderr, "generate: interrupted: wrote the %d samples generated so far (%.2f s) to %s\n",
			n, float64(n)/float64(syn.Rate), *out)
		return genErr
	}
	fmt.Fprintf(env.Stderr, "generate: wrote %.2f s (%d samples at %d Hz) to %s\n",
		float64(n)/float64(syn.Rate), n, syn.Rate, *out)
	return nil
}

// ctxWriter writes to w until ctx is done (checked before each write):
// an interrupted generate keeps the chunks written before.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
