package speech

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wavenet-go/wavenet/wavenet"
)

// StatsFile is the name of the duration statistics inside a checkpoint
// directory (beside config.json and model.safetensors).
const StatsFile = "speech.json"

// ErrNoStats is returned by LoadStats and ReadStats when a model has no
// StatsFile (errors.Is(err, fs.ErrNotExist) holds too).
var ErrNoStats = errors.New("speech: model has no " + StatsFile)

// Duration summarises the trimmed lengths of a group of utterances, in
// seconds.
type Duration struct {
	N      int     `json:"n"`
	Median float64 `json:"median_s"`
	P90    float64 `json:"p90_s"`
	Max    float64 `json:"max_s"`
}

// DefaultDuration is used for a model without statistics: the trimmed
// lengths of FSDD's training split at 8 kHz (2400 utterances: all
// speakers and digits, indices 10-49, trimmed as `wavenet train` trims:
// median 0.36 s, 90th percentile 0.51 s), rounded up; Max is not used by
// the limits (the longest, 2.2 s, is an outlier).
var DefaultDuration = Duration{Median: 0.4, P90: 0.6, Max: 0.9}

// Group is the Duration of the utterances with one value per conditioning
// label, in the order of Stats.Conditions.
type Group struct {
	Values []string `json:"values"`
	Duration
}

// Stats holds duration statistics per group of conditioning values (per
// speaker and digit for the default voice) and over all utterances. It is
// stored as JSON in StatsFile.
type Stats struct {
	// Source says where the statistics come from (the corpus directory
	// and split), for people reading the file.
	Source string `json:"source,omitempty"`
	// Conditions names the labels that key the groups (model condition
	// names, e.g. speaker and digit).
	Conditions []string `json:"conditions"`
	Groups     []Group  `json:"groups"`
	All        Duration `json:"all"`
	// Guidance is the classifier-free guidance weight the model is said
	// with by default (synth.Request.Guidance; `wavenet say`, `samples` and
	// the service); 0 or absent: none.
	Guidance float64 `json:"guidance,omitempty"`
	// Candidates is the number of attempts per utterance the model is
	// said with by default (WordOptions.Candidates); 0 or absent: one.
	Candidates int `json:"candidates,omitempty"`
}

// Summarize returns the Duration of lengths in seconds (median and 90th
// percentile interpolated linearly between order statistics, as numpy's
// default percentile does). It returns the zero Duration for no lengths.
func Summarize(seconds []float64) Duration {
	if len(seconds) == 0 {
		return Duration{}
	}
	s := slices.Clone(seconds)
	slices.Sort(s)
	q := func(p float64) float64 {
		pos := p * float64(len(s)-1)
		i := int(math.Floor(pos))
		if i+1 >= len(s) {
			return s[len(s)-1]
		}
		f := pos - float64(i)
		return s[i] + f*(s[i+1]-s[i])
	}
	return Duration{N: len(s), Median: q(0.5), P90: q(0.9), Max: s[len(s)-1]}
}

// Sample is one utterance's conditioning values (in the order of the
// conditions passed to Compute) and its trimmed length in seconds.
type Sample struct {
	Values  []string
	Seconds float64
}

// Compute returns the duration statistics of samples, grouped by their
// values of the conditions conds.
func Compute(samples []Sample, conds []string) (*Stats, error) {
	if len(samples) == 0 {
		return nil, fmt.Errorf("speech: compute durations: no utterances")
	}
	byKey := map[string][]float64{}
	keys := map[string][]string{}
	var all []float64
	for _, u := range samples {
		if len(u.Values) != len(conds) {
			return nil, fmt.Errorf("speech: compute durations: %d values %q for %d conditions %q", len(u.Values), u.Values, len(conds), conds)
		}
		k := strings.Join(u.Values, "\x00")
		byKey[k] = append(byKey[k], u.Seconds)
		keys[k] = u.Values
		all = append(all, u.Seconds)
	}
	s := &Stats{Conditions: slices.Clone(conds), All: Summarize(all)}
	sorted := make([]string, 0, len(byKey))
	for k := range byKey {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)
	for _, k := range sorted {
		s.Groups = append(s.Groups, Group{Values: keys[k], Duration: Summarize(byKey[k])})
	}
	return s, nil
}

// Lookup returns the Duration for the conditioning indices cond of a model
// with config cfg: the group with the same values of s.Conditions (other
// model conditions are ignored), else s.All, else DefaultDuration. from
// says which: "group", "all" or "default". A nil s gives DefaultDuration.
func (s *Stats) Lookup(cfg wavenet.Config, cond []int) (d Duration, from string) {
	if s == nil {
		return DefaultDuration, "default"
	}
	vals := make([]string, len(s.Conditions))
	ok := true
	for i, name := range s.Conditions {
		ci := cfg.Condition(name)
		if ci < 0 || ci >= len(cond) || cond[ci] < 0 || cond[ci] >= len(cfg.Conditions[ci].Values) {
			ok = false
			break
		}
		vals[i] = cfg.Conditions[ci].Values[cond[ci]]
	}
	if ok {
		for _, g := range s.Groups {
			if slices.Equal(g.Values, vals) && g.valid() {
				return g.Duration, "group"
			}
		}
	}
	if s.All.valid() {
		return s.All, "all"
	}
	return DefaultDuration, "default"
}

func (d Duration) valid() bool {
	ok := func(x float64) bool { return x > 0 && !math.IsInf(x, 0) }
	return ok(d.Median) && ok(d.P90) && ok(d.Max)
}

// Marshal returns s as indented JSON, the content of StatsFile (for a
// checkpoint's Extra files, say).
func (s *Stats) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("speech: %w", err)
	}
	return append(b, '\n'), nil
}

// ParseStats reads Stats from JSON.
func ParseStats(b []byte) (*Stats, error) {
	var s Stats
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("speech: %s: %w", StatsFile, err)
	}
	for _, g := range s.Groups {
		if len(g.Values) != len(s.Conditions) {
			return nil, fmt.Errorf("speech: %s: group %q has %d values, want one per condition (%s)",
				StatsFile, g.Values, len(g.Values), strings.Join(s.Conditions, ", "))
		}
	}
	return &s, nil
}

// ReadStats reads StatsFile from the checkpoint directory dir of fsys (for
// example the embedded default model). A missing file gives an error
// wrapping ErrNoStats and fs.ErrNotExist.
func ReadStats(fsys fs.FS, dir string) (*Stats, error) {
	b, err := fs.ReadFile(fsys, pathJoin(dir, StatsFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %w", ErrNoStats, err)
		}
		return nil, fmt.Errorf("speech: %w", err)
	}
	return ParseStats(b)
}

func pathJoin(dir, name string) string {
	if dir == "" || dir == "." {
		return name
	}
	return strings.TrimSuffix(dir, "/") + "/" + name
}

// LoadStats reads StatsFile from the checkpoint directory dir.
func LoadStats(dir string) (*Stats, error) {
	return ReadStats(os.DirFS(dir), ".")
}

// WriteStats writes s as StatsFile into the checkpoint directory dir,
// atomically (a temporary file, fsynced, renamed into place); the other
// files of the checkpoint are not touched.
func WriteStats(dir string, s *Stats) (err error) {
	b, err := s.Marshal()
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+StatsFile+".tmp*")
	if err != nil {
		return fmt.Errorf("speech: write %s: %w", StatsFile, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("speech: write %s: %w", filepath.Join(dir, StatsFile), err)
		}
	}()
	if _, err = f.Write(b); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, StatsFile))
}
