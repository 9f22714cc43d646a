package train

import (
	"context"
	"fmt"

	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Calibrate loads the corpus in dataDir as the model of cfg was trained
// on (CorpusOptions), listed as list's Layout, Pattern and
// SpeakerFromFolder say, and returns the speech duration statistics of
// its training split (validation utterances are never used), grouped by
// the model's conditions, for `wavenet say --calibrate`.
func Calibrate(ctx context.Context, cfg wavenet.Config, dataDir string, list corpus.Options) (*speech.Stats, error) {
	opts := CorpusOptions(cfg)
	opts.Layout, opts.Pattern, opts.SpeakerFromFolder = list.Layout, list.Pattern, list.SpeakerFromFolder
	c, err := corpus.Load(ctx, dataDir, opts)
	if err != nil {
		return nil, fmt.Errorf("train: calibrate: %w", err)
	}
	conds := make([]string, len(cfg.Conditions))
	for i, cd := range cfg.Conditions {
		if err := c.Require(cd.Name); err != nil {
			return nil, fmt.Errorf("train: calibrate: the model's condition %q: %w", cd.Name, err)
		}
		conds[i] = cd.Name
	}
	samples := make([]speech.Sample, len(c.Train))
	for i, u := range c.Train {
		vals := make([]string, len(conds))
		for j, name := range conds {
			vals[j] = u.Labels[name]
		}
		samples[i] = speech.Sample{Values: vals, Seconds: float64(len(u.Codes)) / float64(c.SampleRate)}
	}
	st, err := speech.Compute(samples, conds)
	if err != nil {
		return nil, fmt.Errorf("train: calibrate: %w", err)
	}
	st.Source = fmt.Sprintf("%s, training split (validation: %s), trimmed", c.Dir, c.Split)
	return st, nil
}
