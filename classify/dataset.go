package classify

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/wavenet-go/wavenet/audio"
)

// namePattern matches FSDD-style names, {digit}_{speaker}_{anything}.wav.
var namePattern = regexp.MustCompile(`^(\d)_([A-Za-z]+)_([^/]*)\.wav$`)

// ParseName returns the digit, speaker and rest (the FSDD index, or any tag
// for generated files) of a file name like 7_jackson_32.wav.
func ParseName(name string) (digit, speaker, rest string, ok bool) {
	m := namePattern.FindStringSubmatch(filepath.Base(name))
	if m == nil {
		return "", "", "", false
	}
	return m[1], m[2], m[3], true
}

// ParseAudioName is ParseName for any file audio.IsAudioFile accepts (such as
// 7_jackson_32.FLAC); ok is false for other files.
func ParseAudioName(name string) (digit, speaker, rest string, ok bool) {
	if !audio.IsAudioFile(name) {
		return "", "", "", false
	}
	return ParseName(strings.TrimSuffix(name, filepath.Ext(name)) + ".wav")
}

// LoadDir reads every {digit}_{speaker}_*.wav or .flac file in dir
// (extensions in any case) as an example (mono, at the file's rate). keep,
// if not nil, filters on the rest of the name (the FSDD index). Files that
// do not match the pattern are skipped and returned by name; unreadable
// files are an error naming the file.
func LoadDir(ctx context.Context, dir string, keep func(rest string) bool) (ex []Example, names []string, skipped []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("classify: %w", err)
	}
	var paths []string
	for _, e := range entries {
		if !e.IsDir() && audio.IsAudioFile(e.Name()) {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	if len(paths) == 0 {
		return nil, nil, nil, fmt.Errorf("classify: no .wav files or .flac files in %s", dir)
	}
	for _, p := range paths { // sorted by name, as ReadDir returns them
		if ctx.Err() != nil {
			return nil, nil, nil, ctx.Err()
		}
		base := filepath.Base(p)
		d, s, rest, ok := ParseAudioName(base)
		if !ok {
			skipped = append(skipped, base)
			continue
		}
		if keep != nil && !keep(rest) {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("classify: %w", err)
		}
		c, err := audio.DecodeAny(f)
		f.Close()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("classify: %s: %w", base, err)
		}
		ex = append(ex, Example{Samples: c.Mono(nil), Rate: c.Format.SampleRate, Digit: d, Speaker: s})
		names = append(names, base)
	}
	return ex, names, skipped, nil
}

// IndexIn returns a filter keeping FSDD indices in [lo, hi] (in == true) or
// outside it (in == false); non-numeric rests are outside.
func IndexIn(lo, hi int, in bool) func(string) bool {
	return func(rest string) bool {
		i, err := strconv.Atoi(rest)
		inside := err == nil && i >= lo && i <= hi
		return inside == in
	}
}

// Result is one file's verdict.
type Result struct {
	Name          string
	Digit         string
	Speaker       string
	Pred          Prediction
	Err           error // too short to classify, say
	DigitOK       bool
	SpeakerOK     bool
	ResampledFrom int
}

// Report is the accuracy over a set of files.
type Report struct {
	Results               []Result
	Files, Digits, Speaks int
	PerSpeaker            map[string][2]int // speaker -> (digits right, files)
}

// DigitAccuracy is the fraction of files whose digit was recognised.
func (r *Report) DigitAccuracy() float64 { return float64(r.Digits) / float64(max(r.Files, 1)) }

// SpeakerAccuracy is the fraction of files whose speaker was recognised.
func (r *Report) SpeakerAccuracy() float64 { return float64(r.Speaks) / float64(max(r.Files, 1)) }

// Evaluate is Evaluate(c, ex, names).
func (c *Classifier) Evaluate(ex []Example, names []string) (*Report, error) {
	return Evaluate(c, ex, names)
}
