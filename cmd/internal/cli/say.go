package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"strings"
	"time"

	"github.com/wavenet-go/wavenet/internal/progress"
	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/wavenet"
)

// interspersed parses args with fs, allowing positional arguments between
// flags ("wavenet say \"4 2 7\" --speaker jackson"); it returns the
// positional arguments.
func interspersed(fs interface {
	Parse([]string) error
	Args() []string
}, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// loadSpeechModel loads the model of dir (or the default model) with its
// duration statistics; a model without them gets nil stats and a note on
// stderr.
func loadSpeechModel(ctx context.Context, env *Env, dir string) (*wavenet.Model, *speech.Stats, error) {
	m, err := loadModel(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	var st *speech.Stats
	if dir != "" {
		st, err = speech.LoadStats(dir)
	} else {
		st, err = speech.ReadStats(models.FS(), "default")
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		where := dir
		if where == "" {
			where = "the embedded default model"
		}
		fmt.Fprintf(env.Stderr, "note: %s has no %s: using default durations (median %.2f s, p90 %.2f s); "+
			"add them with: wavenet say --calibrate --model DIR --data CORPUS\n",
			where, speech.StatsFile, speech.DefaultDuration.Median, speech.DefaultDuration.P90)
		return m, nil, nil
	case err != nil:
		return nil, nil, err
	}
	return m, st, nil
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

// guided sets o's guidance weight and candidates for saying things with m:
// the flags', else the model's defaults from st (nil: none). Either for a
// model whose label condition has no null row is a usage error.
func (g *genFlags) guided(o *speech.GenOptions, m *wavenet.Model, st *speech.Stats) error {
	w, n := g.guidance, g.cands
	if w < 0 {
		w = 0
		if st != nil {
			w = st.Guidance
		}
	}
	if n < 0 {
		n = 1
		if st != nil && st.Candidates > 0 {
			n = st.Candidates
		}
	}
	if (w > 0 || n > 1) && !m.Config.HasNull(m.Config.LabelCondition()) {
		return Usagef("--guidance %v and --candidates %d need a model trained with --cond-dropout (its label condition has no null row); give --guidance 0 --candidates 1", w, n)
	}
	o.Guidance, o.Candidates = float32(w), n
	return nil
}

// barProgress adapts a progress bar to speech's progress callback, whose
// total can grow (retries).
func barProgress(env *Env, label string) (func(done, total int64), func()) {
	var bar *progress.Bar
	var first int64
	return func(done, total int64) {
			if bar == nil {
				first = total
				bar = progress.New(env.Stderr, label, "samples", total)
			}
			bar.Set(done*first/max(total, 1), "")
		}, func() {
			if bar != nil {
				bar.Finish()
			}
		}
}

func runSay(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "say", "say \"4 2 7\" [--speaker X] [--cond name=value...] [--model DIR] [--seed N] [--temperature T] [--pause-ms 150] [--rate HZ] --out phone.wav\n"+
		"       wavenet say --calibrate --model DIR --data CORPUS_DIR")
	modelDir := fs.String("model", "", "checkpoint directory (default: the embedded default model)")
	var g genFlags
	fs.Float64Var(&g.temp, "temperature", 1, "sampling temperature (> 0)")
	fs.IntVar(&g.topK, "top-k", 0, "sample only among the K most likely codes (0: all)")
	fs.BoolVar(&g.greedy, "greedy", false, "always take the most likely code")
	fs.Uint64Var(&g.seed, "seed", 1, "random seed: digit i uses seed+i; the same seed, model and flags give the same audio")
	fs.Float64Var(&g.guidance, "guidance", -1, guidanceUsage)
	fs.IntVar(&g.cands, "candidates", -1, candidatesUsage)
	pauseMS := fs.Float64("pause-ms", 150, "silence between digits in milliseconds")
	rate := fs.Int("rate", 0, "sample rate of the output WAV in Hz (default: the model's rate)")
	out := fs.String("out", "", "output WAV file (16-bit PCM)")
	calibrate := fs.Bool("calibrate", false, "compute the per (speaker, digit) duration statistics of the training split of --data and write them into the model directory as "+speech.StatsFile)
	data := fs.String("data", "", "with --calibrate: the training corpus (FSDD names)")
	var cf condFlags
	fs.StringVar(&cf.speaker, "speaker", "", "value of the model's \"speaker\" condition")
	fs.Func("cond", "`name=value` of another global condition (repeatable)", func(s string) error {
		if _, _, ok := strings.Cut(s, "="); !ok {
			return fmt.Errorf("want name=value, got %q", s)
		}
		cf.conds = append(cf.conds, s)
		return nil
	})
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
		return runCalibrate(ctx, env, *modelDir, *data, &g)
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
	m, stats, err := loadSpeechModel(ctx, env, *modelDir)
	if err != nil {
		return err
	}
	vals, err := cf.values(m.Config)
	if err != nil {
		return err
	}

	pause := time.Duration(*pauseMS * float64(time.Millisecond))
	if pause == 0 {
		pause = -1 // no pause (speech.Request's zero means the default)
	}
	onProgress, finish := barProgress(env, "say")
	req := speech.Request{Text: strings.Join(pos, " "), Cond: vals, Seed: g.seed, Pause: pause,
		GenOptions: speech.GenOptions{Temperature: float32(g.temp), TopK: g.topK, Greedy: g.greedy,
			Stats: stats, Progress: onProgress}}
	if err := g.guided(&req.GenOptions, m, stats); err != nil {
		finish()
		return err
	}
	res, err := speech.Say(ctx, m, req)
	finish()
	if err != nil {
		var ie *speech.InputError
		if errors.As(err, &ie) {
			return Usagef("%s", strings.TrimPrefix(ie.Error(), "speech: "))
		}
		return err
	}
	outRate := m.Config.SampleRate
	if *rate > 0 {
		outRate = *rate
	}
	w, err := newWAVOut(*out, m.Config.SampleRate, outRate)
	if err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	if err := w.write(res.Audio); err != nil {
		w.abort()
		return fmt.Errorf("write %s: %w", *out, err)
	}
	if _, err := w.commit(); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	printParts(env.Stderr, res.Labels, res.Parts, res.Rate)
	fmt.Fprintf(env.Stderr, "say: wrote %.2f s (%d digits) to %s\n", float64(len(res.Audio))/float64(res.Rate), len(res.Labels), *out)
	return nil
}

func printParts(w io.Writer, labels []string, parts []speech.Part, rate int) {
	for i, p := range parts {
		fmt.Fprintf(w, "  %-4s %.2f s kept of %.2f s generated (end: %s, attempts %d, durations from %s: median %.2f s)\n",
			labels[i], float64(len(p.Audio))/float64(rate), float64(p.Generated)/float64(rate), p.Reason, p.Attempts,
			p.StatsFrom, p.Duration.Median)
	}
}

// runCalibrate writes the duration statistics of data into modelDir's
// speech.json, with the guidance weight of g (--guidance) as the model's
// default, or the one the file had.
func runCalibrate(ctx context.Context, env *Env, modelDir, data string, g *genFlags) error {
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
	st, err := speech.Calibrate(ctx, m.Config, data)
	if err != nil {
		return err
	}
	if old, err := speech.LoadStats(modelDir); err == nil {
		st.Guidance, st.Candidates = old.Guidance, old.Candidates
	}
	var o speech.GenOptions
	if err := g.guided(&o, m, st); err != nil {
		return err
	}
	st.Guidance, st.Candidates = float64(o.Guidance), o.Candidates
	if err := speech.WriteStats(modelDir, st); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "durations of %d training utterances in %d groups (%s): median %.3f s, p90 %.3f s, max %.3f s; guidance %g, candidates %d\nwrote %s/%s\n",
		st.All.N, len(st.Groups), strings.Join(st.Conditions, ", "), st.All.Median, st.All.P90, st.All.Max, st.Guidance, st.Candidates,
		modelDir, speech.StatsFile)
	return nil
}
