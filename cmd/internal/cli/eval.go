package cli

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/classify"
	"github.com/wavenet-go/wavenet/listening"
	"github.com/wavenet-go/wavenet/mulaw"
)

// defaultFSDD is where the shared corpus sits beside a checkout.
const defaultFSDD = "../shared/data/fsdd/train"

func parseRange(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		b = a
	}
	if lo, err = strconv.Atoi(a); err == nil {
		hi, err = strconv.Atoi(b)
	}
	if err != nil || lo > hi {
		return 0, 0, Usagef("index range %q: want LO-HI, e.g. 5-9", s)
	}
	return lo, hi, nil
}

func runEval(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "eval", "eval [--judge cnn|mfcc|DIR] [--train CORPUS [--layout L] [--pattern RE] [--speaker-from-folder]] [--val-index 5-9] [--verbose] [--reference DIR [--floor] [--dtw]] [DIR...]")
	judge := fs.String("judge", listening.JudgeCNN, "the classifier: cnn (the embedded spectrogram CNN, models/judge), mfcc (MFCC + logistic regression, trained on --train outside --val-index), or a CNN judge directory (wavenet classify train)")
	train := fs.String("train", defaultFSDD, "recordings with digit and speaker labels ("+corpusUsage+"): the files of --val-index are judged as validation; --judge mfcc trains on the rest")
	var corp corpusFlags
	corp.register(fs)
	val := fs.String("val-index", "5-9", "FSDD indices held out as validation (never trained on)")
	verbose := fs.Bool("verbose", false, "print every file's verdict")
	ref := fs.String("reference", "", "originals (WAV or FLAC): report the mel-cepstral distortion of each file of every DIR against the original of the same base name")
	floor := fs.Bool("floor", false, "with --reference: also the MCD of each original after a mu-law round trip at the model's Q = 256 (the floor a WaveNet can reach)")
	dtw := fs.Bool("dtw", false, "with --reference: pair frames by dynamic time warping instead of by time (copy synthesis is time-aligned, so time is the default)")
	dirs, err := interspersed(fs, args)
	if err != nil {
		return err
	}
	if *ref == "" && (*floor || *dtw) {
		return Usagef("--floor and --dtw need --reference DIR")
	}
	if *ref != "" && len(dirs) == 0 {
		return Usagef("--reference %s needs a DIR of resynthesised files to compare with it", *ref)
	}
	lo, hi, err := parseRange(*val)
	if err != nil {
		return err
	}
	if *train == defaultFSDD {
		if err := flagDir("--train", *train, "CORPUS, recordings with digit and speaker labels"); err != nil {
			return err
		}
	}
	d, err := loadSplit(ctx, "--train", *train, &corp, *val, *judge == listening.JudgeMFCC)
	if err != nil {
		return err
	}
	var c *listening.Judge
	if *judge == listening.JudgeMFCC { // trained on the corpus as loaded here
		m, err := classify.Train(ctx, d.Train)
		if err != nil {
			return err
		}
		c = &listening.Judge{Judge: m, Origin: fmt.Sprintf("trained on %d recordings of %s (FSDD indices outside %s)", len(d.Train), *train, *val), Trained: len(d.Train)}
	} else if c, err = listening.LoadJudge(ctx, *judge, *train, lo, hi, false); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "classifier: %s, %s\n", c.Name(), c.Origin)
	rep, err := classify.Evaluate(c, d.Val, d.ValNames)
	if err != nil {
		return err
	}
	if err := rep.WriteText(env.Stdout, "validation recordings (indices "+*val+")", *verbose); err != nil {
		return err
	}
	for _, dir := range dirs {
		ex, names, skipped, err := classify.LoadDir(ctx, dir, nil)
		if err != nil {
			return err
		}
		if len(skipped) > 0 {
			fmt.Fprintf(env.Stderr, "eval: %s: skipped %d files not named {digit}_{speaker}_*.wav or .flac: %s\n",
				dir, len(skipped), strings.Join(skipped[:min(5, len(skipped))], ", "))
		}
		rep, err := classify.Evaluate(c, ex, names)
		if err != nil {
			return err
		}
		if err := rep.WriteText(env.Stdout, dir, *verbose); err != nil {
			return err
		}
		if *ref != "" {
			if err := evalMCD(ctx, env, dir, *ref, audio.MCDConfig{DTW: *dtw}, *floor); err != nil {
				return err
			}
		}
	}
	return nil
}

// floorLevels is the mu-law Q of the --floor round trip: the models'.
const floorLevels = 256

// audioFiles maps the base names (without extension) of the .wav and
// .flac files in dir to their paths, and returns the base names sorted.
func audioFiles(dir string) (map[string]string, []string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("eval: %w", err)
	}
	paths := map[string]string{}
	var stems []string
	for _, e := range entries {
		stem := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		if e.IsDir() || !audio.IsAudioFile(e.Name()) || paths[stem] != "" {
			continue
		}
		paths[stem] = filepath.Join(dir, e.Name())
		stems = append(stems, stem)
	}
	slices.Sort(stems)
	return paths, stems, nil
}

// readMono decodes a WAV or FLAC file to mono samples and its rate.
func readMono(path string) ([]float32, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	c, err := audio.DecodeAny(f)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	return c.Mono(nil), c.Format.SampleRate, nil
}

// evalMCD prints the mel-cepstral distortion (audio.MCD) of every WAV or
// FLAC file of dir against the file of the same base name in refDir, one
// line per file, then the mean and median; with floor, beside each the MCD
// of the original after a mu-law round trip. Files without an original
// are named on stderr; none at all is an error.
func evalMCD(ctx context.Context, env *Env, dir, refDir string, cfg audio.MCDConfig, floor bool) error {
	cands, stems, err := audioFiles(dir)
	if err != nil {
		return err
	}
	refs, _, err := audioFiles(refDir)
	if err != nil {
		return err
	}
	align := "by time"
	if cfg.DTW {
		align = "by DTW"
	}
	fmt.Fprintf(env.Stdout, "\n%s: mel-cepstral distortion against %s (MFCC c1-c12 of 26 mel filters, 25 ms frames every 10 ms, aligned %s)\n",
		dir, refDir, align)
	var mcds, floors []float64
	var missing []string
	for _, stem := range stems {
		if err := ctx.Err(); err != nil {
			return err
		}
		refPath, ok := refs[stem]
		if !ok {
			missing = append(missing, filepath.Base(cands[stem]))
			continue
		}
		x, rate, err := readMono(cands[stem])
		if err != nil {
			return err
		}
		r, refRate, err := readMono(refPath)
		if err != nil {
			return err
		}
		m, err := audio.MCD(r, refRate, x, rate, cfg)
		if err != nil {
			return fmt.Errorf("eval: %s: %w", filepath.Base(cands[stem]), err)
		}
		mcds = append(mcds, m.DB)
		line := fmt.Sprintf("  %-28s MCD %6.2f dB  %4d frames", filepath.Base(cands[stem]), m.DB, m.Frames)
		if floor {
			rt := mulaw.Decode(nil, mulaw.Encode(nil, r, floorLevels), floorLevels)
			f, err := audio.MCD(r, refRate, rt, refRate, cfg)
			if err != nil {
				return fmt.Errorf("eval: %s: %w", filepath.Base(refPath), err)
			}
			floors = append(floors, f.DB)
			line += fmt.Sprintf("  mu-law floor %6.2f dB", f.DB)
		}
		fmt.Fprintln(env.Stdout, line)
	}
	if len(missing) > 0 {
		fmt.Fprintf(env.Stderr, "eval: %s: %d files have no original of the same base name in %s: %s\n",
			dir, len(missing), refDir, strings.Join(missing[:min(5, len(missing))], ", "))
	}
	if len(mcds) == 0 {
		return fmt.Errorf("eval: none of the %d WAV or FLAC files in %s has an original of the same base name in %s", len(stems), dir, refDir)
	}
	sum := fmt.Sprintf("%s: %d files, MCD mean %.2f dB, median %.2f dB", dir, len(mcds), evalMean(mcds), evalMedian(mcds))
	if floor {
		sum += fmt.Sprintf("; mu-law Q=%d round trip of the originals (floor) mean %.2f dB, median %.2f dB", floorLevels, evalMean(floors), evalMedian(floors))
	}
	_, err = fmt.Fprintln(env.Stdout, sum)
	return err
}

func evalMean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// evalMedian is the middle value of xs, or the mean of the two middle ones
// (NaN when empty).
func evalMedian(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
