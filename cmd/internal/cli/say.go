package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/train"
	"github.com/wavenet-go/wavenet/wavenet"
)

// interspersed parses args with fs, allowing positional arguments between
// flags ("wavenet say \"4 2 7\" --speaker jackson"); it returns the
// positional arguments. As in flag and getopt, "--" ends the flags: every
// argument after it is positional, even one starting with "-".
func interspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if terminated(fs, args[:len(args)-len(rest)]) {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// terminated reports whether the arguments fs's Parse consumed end with
// the terminator "--" (not with "--" as the value of a flag, as in
// "--out --").
func terminated(fs *flag.FlagSet, consumed []string) bool {
	for i := 0; i < len(consumed); i++ {
		s := consumed[i]
		if s == "--" {
			return i == len(consumed)-1
		}
		name := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
				i++ // its value is the next argument
			}
		}
	}
	return false
}

// loadBundle loads the checkpoint directory dir, or the embedded default
// model when dir is empty, with its speech statistics (synth's bundle
// loader); a model without statistics gets a note on stderr.
func loadBundle(ctx context.Context, env *Env, dir string) (*synth.Bundle, error) {
	var b *synth.Bundle
	var err error
	where := dir
	switch {
	case dir != "":
		b, err = synth.LoadDir(ctx, dir)
	case models.Available():
		where = "the embedded default model"
		b, err = synth.LoadFS(models.FS(), models.ID)
	default:
		return nil, Usagef("--model DIR is required (this binary has no embedded default model)")
	}
	if err != nil {
		return nil, err
	}
	if b.Stats == nil && b.Model.Config.Local == nil { // a vocoder says no digits
		fmt.Fprintf(env.Stderr, "note: %s has no %s: using default durations (median %.2f s, p90 %.2f s); "+
			"add them with: wavenet say --calibrate --model DIR --data CORPUS\n",
			where, speech.StatsFile, speech.DefaultDuration.Median, speech.DefaultDuration.P90)
	}
	return b, nil
}

// cliEngine is the synthesis engine of a command: one model, served as
// models.ID, with limits fit for files (hours of audio, requests that wait
// for a slot as long as it takes).
func cliEngine(b *synth.Bundle, streams, queue int) (*synth.Engine, error) {
	return synth.New(map[string]*synth.Bundle{models.ID: b}, synth.Options{
		MaxStreams: streams, Workers: 1, MaxQueue: queue, QueueWait: 24 * time.Hour,
		MaxSeconds: 24 * 3600, ChunkSamples: genChunk,
	})
}

// startOne starts req on an engine of its own for b (one request at a
// time) and prints, under the command's name, the conditions and seed it
// uses (conditions not given take their first value, the service's rule).
// done closes the synthesis and the engine.
func startOne(ctx context.Context, env *Env, name string, b *synth.Bundle, req *synth.Request) (syn *synth.Synthesis, done func(), err error) {
	e, err := cliEngine(b, 1, 0)
	if err != nil {
		return nil, nil, err
	}
	if syn, err = e.Start(ctx, req); err != nil {
		e.Close()
		return nil, nil, usageOf(err)
	}
	fmt.Fprintf(env.Stderr, "%s: conditions %s, seed %d\n", name, syn.Conditions, syn.Seed)
	return syn, func() { syn.Close(); e.Close() }, nil
}

// requestFlags are the command-line flags of the request fields the
// engine's errors name (synth.RequestError.Field).
var requestFlags = map[string]string{
	"format": "--format", "sample_rate": "--rate", "temperature": "--temperature", "top_k": "--top-k",
	"seconds": "--seconds", "method": "--method", "seed": "--seed", "guidance": "--guidance",
	"candidates": "--candidates", "speaker": "--speaker", "label": "--label", "conditions": "--cond",
}

// flagMsg is the message of a request error in the words of the command
// line: the field it names (`field "sample_rate"`, `"speaker":`,
// `conditions:`) becomes its flag (--rate, --speaker, --cond), and a
// condition's own field its --cond.
func flagMsg(re *synth.RequestError) string {
	fl, ok := requestFlags[re.Field]
	unknown := strings.HasPrefix(re.Msg, "unknown "+re.Field+" ") // a condition's value
	switch {
	case !ok && !unknown:
		return re.Msg
	case !ok:
		fl = "--cond " + re.Field + "=VALUE"
	}
	for _, prefix := range []string{fmt.Sprintf("field %q", re.Field), fmt.Sprintf("%q", re.Field)} {
		if rest, ok := strings.CutPrefix(re.Msg, prefix); ok {
			return fl + rest
		}
	}
	if rest, ok := strings.CutPrefix(re.Msg, re.Field+":"); ok {
		return fl + ":" + rest
	}
	if unknown {
		return fl + ": " + re.Msg
	}
	return re.Msg
}

// usageOf turns the engine's request errors into usage errors, in the
// words of the command line (flagMsg).
func usageOf(err error) error {
	var re *synth.RequestError
	var ie *speech.InputError
	switch {
	case errors.As(err, &re):
		return Usagef("%s", flagMsg(re))
	case errors.As(err, &ie):
		return Usagef("%s", strings.TrimPrefix(ie.Error(), "speech: "))
	}
	return err
}

// genFlags are the sampling flags of say and samples.
type genFlags struct {
	temp     float64
	topK     int
	greedy   bool
	seed     uint64
	guidance float64 // negative: the model's (speech.Stats.Guidance)
	cands    int     // negative: the model's (speech.Stats.Candidates)
}

// guidanceUsage is the help of --guidance.
const guidanceUsage = "classifier-free guidance weight on the digit (0: none; needs a model trained with --cond-dropout; default: the model's, from its " + speech.StatsFile + ")"

// candidatesUsage is the help of --candidates.
const candidatesUsage = "generate this many attempts of each digit and keep the one the model finds most about its digit (log p(audio | digit) - log p(audio | no digit)); needs a model trained with --cond-dropout; costs 2 streams per attempt (default: the model's, from its " + speech.StatsFile + "; 1: one attempt)"

// register adds the sampling flags to fs; seedUsage says what --seed
// seeds.
func (g *genFlags) register(fs *flag.FlagSet, seedUsage string) {
	fs.Float64Var(&g.temp, "temperature", 1, "sampling temperature (> 0)")
	fs.IntVar(&g.topK, "top-k", 0, "sample only among the K most likely codes (0: all)")
	fs.BoolVar(&g.greedy, "greedy", false, "always take the most likely code")
	fs.Uint64Var(&g.seed, "seed", 1, seedUsage)
	fs.Float64Var(&g.guidance, "guidance", -1, guidanceUsage)
	fs.IntVar(&g.cands, "candidates", -1, candidatesUsage)
}

func (g *genFlags) check() error {
	switch {
	case !g.greedy && (!(g.temp > 0) || math.IsInf(g.temp, 0)):
		return Usagef("--temperature is %v, want a positive number (or --greedy)", g.temp)
	case g.topK < 0:
		return Usagef("--top-k is %d, want 0 (all codes) or more", g.topK)
	case g.guidance != -1 && !(g.guidance >= 0 && g.guidance <= 100):
		return Usagef("--guidance is %v, want 0 (none) to 100", g.guidance)
	case g.cands != -1 && (g.cands < 1 || g.cands > speech.MaxCandidates):
		return Usagef("--candidates is %d, want 1 to %d", g.cands, speech.MaxCandidates)
	}
	return nil
}

// guided returns the guidance weight and candidates of saying things with
// b: the flags', else the model's defaults. Either for a model whose label
// condition has no null row is a usage error.
func (g *genFlags) guided(b *synth.Bundle) (float64, int, error) {
	w, n := g.guidance, g.cands
	if w < 0 {
		w = 0
		if b.Stats != nil {
			w = b.Stats.Guidance
		}
	}
	if n < 0 {
		n = 1
		if b.Stats != nil && b.Stats.Candidates > 0 {
			n = b.Stats.Candidates
		}
	}
	cfg := b.Model.Config
	if (w > 0 || n > 1) && !cfg.HasNull(cfg.LabelCondition()) {
		return 0, 0, Usagef("--guidance %v and --candidates %d need a model trained with --cond-dropout (its label condition has no null row); give --guidance 0 --candidates 1", w, n)
	}
	return w, n, nil
}

// request returns the synthesis request of the flags for bundle b.
func (g *genFlags) request(b *synth.Bundle, seed uint64) (*synth.Request, error) {
	w, n, err := g.guided(b)
	if err != nil {
		return nil, err
	}
	temp := g.temp
	if g.greedy {
		temp = 0
	}
	return &synth.Request{Temperature: &temp, TopK: g.topK, Seed: &seed, Guidance: &w, Candidates: &n}, nil
}

// formatUsage is the help of --format.
const formatUsage = "output format: wav (16-bit PCM WAV), flac (16-bit FLAC), or raw samples: pcm16 (s16le), mulaw (G.711 mu-law), alaw (G.711 A-law), float32 (f32le)"

func runSay(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "say", "say \"4 2 7\" [--speaker X] [--cond name=value...] [--model DIR] [--seed N] [--temperature T] [--pause-ms 150] [--rate HZ] [--format wav] --out phone.wav\n"+
		"       wavenet say --calibrate --model DIR --data CORPUS [--layout L] [--pattern RE] [--speaker-from-folder]")
	modelDir := fs.String("model", "", "checkpoint directory (default: the embedded default model)")
	var g genFlags
	g.register(fs, "random seed: digit i uses seed+i; the same seed, model and flags give the same audio")
	pauseMS := fs.Float64("pause-ms", 150, "silence between digits in milliseconds")
	rate := fs.Int("rate", 0, "sample rate of the output in Hz (default: the model's rate)")
	format := fs.String("format", string(audio.EncodingWAV), formatUsage)
	out := fs.String("out", "", "output file")
	calibrate := fs.Bool("calibrate", false, "compute the per (speaker, digit) duration statistics of the training split of --data and write them into the model directory as "+speech.StatsFile)
	data := fs.String("data", "", "with --calibrate: the training "+corpusUsage+"; its labels must include the model's conditions")
	var corp corpusFlags
	corp.register(fs)
	var cf condFlags
	cf.register(fs, false)
	pos, err := interspersed(fs, args)
	if err != nil {
		return err
	}
	if *calibrate {
		if len(pos) > 0 {
			return Usagef("--calibrate takes no text (got %q)", pos)
		}
		if err := g.check(); err != nil {
			return err
		}
		var list corpus.Options
		if err := corp.options(&list); err != nil {
			return err
		}
		return runCalibrate(ctx, env, *modelDir, *data, list, &g)
	}
	switch {
	case len(pos) == 0:
		return Usagef("no text given: say which digits, e.g. wavenet say \"4 2 7\" --speaker jackson --out phone.wav")
	case *out == "":
		return Usagef("--out FILE is required")
	case *rate < 0:
		return Usagef("--rate is %d, want a positive rate in Hz", *rate)
	case !(*pauseMS >= 0) || *pauseMS > 60000:
		return Usagef("--pause-ms is %v, want 0 to 60000", *pauseMS)
	}
	if err := g.check(); err != nil {
		return err
	}
	b, err := loadBundle(ctx, env, *modelDir)
	if err != nil {
		return err
	}
	cfg := b.Model.Config
	req, err := g.request(b, g.seed)
	if err != nil {
		return err
	}
	pause := *pauseMS / 1000
	req.Text, req.Speaker, req.Conditions = strings.Join(pos, " "), cf.speaker, cf.named()
	req.PauseSeconds, req.SampleRate, req.Format = &pause, *rate, audio.Encoding(*format)
	syn, done, err := startOne(ctx, env, "say", b, req)
	if err != nil {
		return err
	}
	defer done()
	x, err := syn.Audio()
	if err != nil {
		return err
	}
	body, err := synth.Encode(syn.Format, syn.Rate, x)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(*out, body); err != nil {
		return err
	}
	printWords(env.Stderr, syn.Words, cfg.SampleRate)
	fmt.Fprintf(env.Stderr, "say: wrote %.2f s (%d digits) to %s\n", float64(len(x))/float64(syn.Rate), len(syn.Words), *out)
	return nil
}

func printWords(w io.Writer, words []synth.Word, rate int) {
	for _, p := range words {
		fmt.Fprintf(w, "  %-4s %.2f s kept of %.2f s generated (end: %s, attempts %d, durations from %s: median %.2f s)\n",
			p.Label, float64(len(p.Audio))/float64(rate), float64(p.Generated)/float64(rate), p.Reason, p.Attempts,
			p.StatsFrom, p.Duration.Median)
	}
}

// runCalibrate writes the duration statistics of data into modelDir's
// speech.json, with the guidance weight of g (--guidance) as the model's
// default, or the one the file had.
func runCalibrate(ctx context.Context, env *Env, modelDir, data string, list corpus.Options, g *genFlags) error {
	switch {
	case modelDir == "":
		return Usagef("--calibrate needs --model DIR (the statistics are written into it)")
	case data == "":
		return Usagef("--calibrate needs --data DIR (the corpus the model was trained on)")
	}
	m, err := wavenet.Load(ctx, modelDir)
	if err != nil {
		return err
	}
	st, err := train.Calibrate(ctx, m.Config, data, list)
	if err != nil {
		return err
	}
	if old, err := speech.LoadStats(modelDir); err == nil {
		st.Guidance, st.Candidates = old.Guidance, old.Candidates
	}
	st.Guidance, st.Candidates, err = g.guided(&synth.Bundle{Model: m, Stats: st})
	if err != nil {
		return err
	}
	if err := speech.WriteStats(modelDir, st); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "durations of %d training utterances in %d groups (%s): median %.3f s, p90 %.3f s, max %.3f s; guidance %g, candidates %d\nwrote %s/%s\n",
		st.All.N, len(st.Groups), strings.Join(st.Conditions, ", "), st.All.Median, st.All.P90, st.All.Max, st.Guidance, st.Candidates,
		modelDir, speech.StatsFile)
	return nil
}

// outFile writes a file through a temporary file in the same directory,
// renamed into place by commit, so that a failed write leaves no partial
// file.
type outFile struct {
	name string
	*os.File
}

func createOut(name string) (*outFile, error) {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", name, err)
	}
	return &outFile{name: name, File: tmp}, nil
}

// commit closes the file and renames it into place.
func (f *outFile) commit() error {
	err := f.Chmod(0o644)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.File.Name(), f.name)
	}
	if err != nil {
		os.Remove(f.File.Name())
		return fmt.Errorf("write %s: %w", f.name, err)
	}
	return nil
}

// abort removes the temporary file.
func (f *outFile) abort() {
	f.Close()
	os.Remove(f.File.Name())
}

// writeFileAtomic writes b to name through a temporary file.
func writeFileAtomic(name string, b []byte) error {
	f, err := createOut(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.abort()
		return fmt.Errorf("write %s: %w", name, err)
	}
	return f.commit()
}
