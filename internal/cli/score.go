package cli

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/wavenet-go/wavenet/classify"
	"github.com/wavenet-go/wavenet/wavenet"
)

func init() {
	Register(Command{Name: "score", Summary: "bits per sample of WAV recordings under a model (teacher-forced), per file, label and overall", Run: runScore})
}

// scoreSum accumulates cross-entropy over files.
type scoreSum struct {
	files, n int
	nats     float64
}

func (s *scoreSum) add(nats float64, n int) {
	s.files++
	s.n += n
	s.nats += nats
}

func (s scoreSum) bits() float64 { return s.nats / float64(s.n) / math.Ln2 }

// labelCondition is the model condition that --label and a file name's
// digit set: the one named "digit", else the only condition not named
// "speaker", else none ("").
func labelCondition(cfg wavenet.Config) string {
	if cfg.Condition("digit") >= 0 {
		return "digit"
	}
	name := ""
	for _, c := range cfg.Conditions {
		if c.Name != "speaker" {
			if name != "" {
				return ""
			}
			name = c.Name
		}
	}
	return name
}

func runScore(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "score", "score [--model DIR] [--speaker X] [--label Y] [--cond name=value...] [--full-context] file.wav...")
	modelDir := fs.String("model", "", "checkpoint directory (default: the embedded default model)")
	full := fs.Bool("full-context", false, "score only predictions whose whole receptive field lies inside the recording (as training on segments does), not those that see the silence before it")
	var cf condFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		return Usagef("no WAV files given")
	}
	m, err := loadModel(ctx, *modelDir)
	if err != nil {
		return err
	}
	cfg := m.Config
	given, err := cf.values(cfg)
	if err != nil {
		return err
	}
	labelCond := labelCondition(cfg)

	var all scoreSum
	byDigit := map[string]*scoreSum{}
	bySpeaker := map[string]*scoreSum{}
	add := func(sums map[string]*scoreSum, key string, nats float64, n int) {
		s := sums[key]
		if s == nil {
			s = &scoreSum{}
			sums[key] = s
		}
		s.add(nats, n)
	}
	fmt.Fprintf(env.Stdout, "%-40s %9s %12s\n", "file", "samples", "bits/sample")
	for _, name := range files {
		digit, speaker, _, named := classify.ParseName(name)
		// Conditioning: flags first, then what the file name says.
		vals := map[string]string{}
		if named {
			if cfg.Condition("speaker") >= 0 {
				vals["speaker"] = speaker
			}
			if labelCond != "" {
				vals[labelCond] = digit
			}
		}
		for k, v := range given {
			vals[k] = v
		}
		cond, err := condIndices(cfg, vals)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		codes, err := readCodes(name, cfg.SampleRate, cfg.QuantizationChannels)
		if err != nil {
			return err
		}
		// from = 0: every prediction counts, including the first ones,
		// which see the zero padding before the recording starts.
		from := 0
		if *full {
			from = cfg.ReceptiveField() - 1
		}
		nats, n, err := m.Score(ctx, codes, cond, from)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if n == 0 {
			fmt.Fprintf(env.Stdout, "%-40s %9d %12s\n", name, 0, "too short")
			continue
		}
		all.add(nats, n)
		fmt.Fprintf(env.Stdout, "%-40s %9d %12.4f\n", name, n, nats/float64(n)/math.Ln2)
		if named {
			add(byDigit, digit, nats, n)
			add(bySpeaker, speaker, nats, n)
		}
	}
	printGroup := func(title string, sums map[string]*scoreSum) {
		if len(sums) == 0 {
			return
		}
		fmt.Fprintf(env.Stdout, "\nper %s:\n", title)
		keys := make([]string, 0, len(sums))
		for k := range sums {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s := sums[k]
			fmt.Fprintf(env.Stdout, "  %-12s %4d files %9d samples %8.4f bits/sample\n", k, s.files, s.n, s.bits())
		}
	}
	printGroup("label (digit, from {digit}_{speaker}_*.wav names)", byDigit)
	printGroup("speaker", bySpeaker)
	if all.n == 0 {
		return fmt.Errorf("no file had at least 2 samples to score")
	}
	fmt.Fprintf(env.Stdout, "\noverall: %d files %d samples %.4f bits/sample (uniform over %d codes: %.4f)\n",
		all.files, all.n, all.bits(), cfg.QuantizationChannels, math.Log2(float64(cfg.QuantizationChannels)))
	return nil
}
