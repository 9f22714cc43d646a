package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet"
)

// vocodeRequest reads one input of `wavenet vocode` into a request: a
// .npy mel spectrogram in layout, a .json of frames, or else a WAV/FLAC
// recording (copy synthesis).
func vocodeRequest(name, layout string) (*synth.Request, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	req := &synth.Request{}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".npy":
		req.Mels, err = synth.DecodeMelsNPY(f, layout)
	case ".json":
		req.Mels, err = synth.DecodeMelsJSON(f)
	default:
		req.Recording, req.RecordingRate, err = synth.DecodeRecording(f)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, usageOf(err))
	}
	return req, nil
}

// vocodeOutName is the output of input in dir: the same base name with
// the format's extension (.wav, or the raw format's name).
func vocodeOutName(dir, input string, format audio.Encoding) string {
	base := strings.TrimSuffix(filepath.Base(input), filepath.Ext(input))
	return filepath.Join(dir, base+"."+string(format))
}

func runVocode(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "vocode", "vocode in.wav|in.flac|in.npy|mels.json... [--model DIR] (--out out.wav | --out-dir DIR) [--method wavenet|griffin-lim] [--layout frames-by-mels|mels-by-frames] [--speaker X] [--cond name=value...] [--seed N] [--temperature T] [--rate HZ] [--format wav]")
	modelDir := fs.String("model", "", "checkpoint directory of a vocoder (a model trained with --local mel; default: the embedded vocoder)")
	out := fs.String("out", "", "output file (one input)")
	outDir := fs.String("out-dir", "", "output directory: one file per input, with the input's base name")
	method := fs.String("method", synth.MethodWaveNet, "wavenet (the model) or griffin-lim (the classical baseline from the same mels)")
	layout := fs.String("layout", synth.LayoutFramesByMels, "layout of .npy inputs: frames-by-mels or mels-by-frames")
	seed := fs.Uint64("seed", 1, "random seed: the same seed, model and input give the same audio")
	rate := fs.Int("rate", 0, "sample rate of the output in Hz (default: the model's rate)")
	temp := fs.Float64("temperature", 1, "sampling temperature (> 0; 1 samples the model's distribution, lower is more conservative)")
	format := fs.String("format", string(audio.EncodingWAV), formatUsage)
	var cf condFlags
	cf.register(fs, false)
	inputs, err := interspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(inputs) == 0:
		return Usagef("give at least one input: a recording (.wav, .flac), a mel spectrogram (.npy) or frames (.json)")
	case (*out == "") == (*outDir == ""):
		return Usagef("give --out FILE (one input) or --out-dir DIR (any number of inputs)")
	case *out != "" && len(inputs) > 1:
		return Usagef("%d inputs need --out-dir DIR, not --out", len(inputs))
	case *layout != synth.LayoutFramesByMels && *layout != synth.LayoutMelsByFrames:
		return Usagef("--layout is %q, want %s or %s", *layout, synth.LayoutFramesByMels, synth.LayoutMelsByFrames)
	case *rate < 0:
		return Usagef("--rate is %d, want a positive rate in Hz", *rate)
	case !(*temp > 0):
		return Usagef("--temperature is %v, want a positive number", *temp)
	}
	if _, err := audio.ParseEncoding(*format); err != nil {
		return Usagef("--format is %q; want one of %q", *format, audio.Encodings())
	}
	m, err := loadVocoder(ctx, *modelDir)
	if err != nil {
		return err
	}
	name := *modelDir
	if name == "" {
		name = models.VocoderID
	}
	if _, err := synth.ResolveConditions(name, m.Config, cf.named(), cf.speaker, ""); err != nil {
		return usageOf(err) // before any input is read
	}
	// Up to vocodeBatch inputs are vocoded together, batched in one
	// generator; each one's audio depends only on its own frames and seed.
	batch := min(len(inputs), vocodeBatch)
	e, err := cliEngine(&synth.Bundle{Model: m}, batch, len(inputs))
	if err != nil {
		return err
	}
	defer e.Close()
	names := make([]string, len(inputs))
	seen := map[string]string{}
	for i, in := range inputs {
		names[i] = *out
		if *outDir != "" {
			names[i] = vocodeOutName(*outDir, in, audio.Encoding(*format))
		}
		if prev, ok := seen[names[i]]; ok {
			return Usagef("%s and %s would have the same output %s; rename one, or run them separately", prev, in, names[i])
		}
		if filepath.Clean(names[i]) == filepath.Clean(in) {
			return Usagef("%s: the output would overwrite the input; choose another --out-dir", in)
		}
		seen[names[i]] = in
	}
	if *outDir != "" {
		if err := os.MkdirAll(*outDir, 0o755); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(inputs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, batch)
	var mu sync.Mutex // env.Stderr
	for i, in := range inputs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			msg, err := vocodeFile(ctx, e, in, names[i], *layout, &synth.Request{Seed: seed, Temperature: temp, Method: *method, SampleRate: *rate, Format: audio.Encoding(*format),
				Speaker: cf.speaker, Conditions: cf.named()})
			if err != nil {
				errs[i] = err
				cancel()
				return
			}
			mu.Lock()
			fmt.Fprintln(env.Stderr, msg)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return errors.Join(errs...)
}

// vocodeBatch is how many inputs `wavenet vocode` vocodes at once.
const vocodeBatch = 8

// vocodeFile vocodes input into the file out with the settings of opts
// and returns the line that reports it.
func vocodeFile(ctx context.Context, e *synth.Engine, input, out, layout string, opts *synth.Request) (string, error) {
	req, err := vocodeRequest(input, layout)
	if err != nil {
		return "", err
	}
	req.Seed, req.Temperature, req.Method, req.SampleRate, req.Format = opts.Seed, opts.Temperature, opts.Method, opts.SampleRate, opts.Format
	req.Speaker, req.Conditions = opts.Speaker, opts.Conditions
	syn, err := e.Start(ctx, req)
	if err != nil {
		return "", fmt.Errorf("%s: %w", input, usageOf(err))
	}
	defer syn.Close()
	x, err := syn.Audio()
	if err != nil {
		return "", fmt.Errorf("%s: %w", input, err)
	}
	b, err := synth.Encode(syn.Format, syn.Rate, x)
	if err != nil {
		return "", err
	}
	if err := writeFileAtomic(out, b); err != nil {
		return "", err
	}
	conds := ""
	if syn.Conditions != "" {
		conds = ", conditions " + syn.Conditions
	}
	return fmt.Sprintf("vocode: %s -> %s (%s%s, %d samples at %d Hz)", input, out, req.Method, conds, len(x), syn.Rate), nil
}

// loadVocoder loads the checkpoint directory dir, or the embedded default
// vocoder when dir is empty.
func loadVocoder(ctx context.Context, dir string) (*wavenet.Model, error) {
	switch {
	case dir != "":
		return wavenet.Load(ctx, dir)
	case !models.Has(models.VocoderID):
		return nil, Usagef("--model DIR is required: a vocoder's checkpoint directory (this binary has no embedded vocoder)")
	}
	return wavenet.LoadFS(models.FS(), models.VocoderID)
}
