package train

import (
	"context"
	"fmt"

	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/ngram"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Baseline is the trigram baseline of a model's corpus: an interpolated
// trigram over mu-law codes trained on the corpus's training split, and
// the validation split's codes by utterance name, both as the model's
// training loads them.
type Baseline struct {
	Trigram    *ngram.Trigram
	Validation map[string][]int32
	Corpus     *corpus.Corpus

	preprocessing string // how the corpus was processed
}

// String describes what the trigram was trained on.
func (b *Baseline) String() string {
	c := b.Corpus
	return fmt.Sprintf("trained on %d utterances (%d samples) of the training split of %s (validation: %s; %s, %d Hz, Q=%d, discount %g)",
		len(c.Train), corpus.Samples(c.Train), c.Dir, c.Split, b.preprocessing, c.SampleRate, c.Levels, ngram.DefaultDiscount)
}

// NewBaseline loads the corpus in dir as the training of a model of cfg
// did (CorpusOptions: its preprocessing, rate and levels; the default
// split), listed as list's Layout, Pattern and SpeakerFromFolder say, and
// trains the trigram baseline on its training split.
func NewBaseline(ctx context.Context, dir string, cfg wavenet.Config, list corpus.Options) (*Baseline, error) {
	opts := CorpusOptions(cfg)
	opts.Layout, opts.Pattern, opts.SpeakerFromFolder = list.Layout, list.Pattern, list.SpeakerFromFolder
	c, err := corpus.Load(ctx, dir, opts)
	if err != nil {
		return nil, fmt.Errorf("train: baseline: %w", err)
	}
	if len(c.Train) == 0 {
		return nil, fmt.Errorf("train: baseline: %s has no training utterances", dir)
	}
	tri, err := ngram.New(cfg.QuantizationChannels, ngram.DefaultDiscount)
	if err != nil {
		return nil, fmt.Errorf("train: baseline: %w", err)
	}
	for _, u := range c.Train {
		if err := tri.Add(u.Codes); err != nil {
			return nil, fmt.Errorf("train: baseline: %s: %w", u.Name, err)
		}
	}
	val := map[string][]int32{}
	for _, u := range c.Validation {
		val[u.Name] = u.Codes
	}
	return &Baseline{Trigram: tri, Validation: val, Corpus: c, preprocessing: cfg.Preprocessing().String()}, nil
}
