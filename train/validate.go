package train

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/mulaw"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Validation is the model's cross-entropy on held-out utterances, in bits
// per predicted sample (every prediction of every utterance, teacher
// forcing, computed with the pure-Go wavenet.Model.Score, or ScoreMels for
// a model with local conditioning: see scoreUtterance).
type Validation struct {
	Bits    float64 `json:"bits"`
	Samples int     `json:"samples"`
	// PerLabel[label][value] is the same measure over the utterances with
	// that label value (per speaker, per digit).
	PerLabel map[string]map[string]float64 `json:"per_label,omitempty"`
}

// Validate scores utts with m using workers goroutines. Conditioning
// indices come from the utterances' labels and m.Config.Conditions; labels
// lists the label names to break the result down by. Sums are taken in
// utterance order, so the result does not depend on the number of workers.
func Validate(ctx context.Context, m *wavenet.Model, utts []*corpus.Utterance, labels []string, workers int) (Validation, error) {
	type score struct {
		nats float64
		n    int
		err  error
	}
	scores := make([]score, len(utts))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < max(1, workers); w++ {
		wg.Go(func() {
			for i := range next {
				u := utts[i]
				cond, err := u.ConditionIndices(m.Config.Conditions)
				if err != nil {
					scores[i].err = err
					continue
				}
				s := &scores[i]
				s.nats, s.n, s.err = scoreUtterance(ctx, m, u, cond)
			}
		})
	}
	for i := range utts {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Validation{}, err
	}
	var v Validation
	var nats float64
	type acc struct {
		nats float64
		n    int
	}
	per := map[string]map[string]*acc{}
	for i, s := range scores {
		if s.err != nil {
			return Validation{}, fmt.Errorf("train: validate %s: %w", utts[i].Name, s.err)
		}
		nats += s.nats
		v.Samples += s.n
		for _, l := range labels {
			val, ok := utts[i].Labels[l]
			if !ok {
				continue
			}
			if per[l] == nil {
				per[l] = map[string]*acc{}
			}
			a := per[l][val]
			if a == nil {
				a = &acc{}
				per[l][val] = a
			}
			a.nats += s.nats
			a.n += s.n
		}
	}
	if v.Samples == 0 {
		return Validation{}, fmt.Errorf("train: validate: no samples to score in %d utterances", len(utts))
	}
	v.Bits = nats / float64(v.Samples) / math.Ln2
	for l, vals := range per {
		if v.PerLabel == nil {
			v.PerLabel = map[string]map[string]float64{}
		}
		v.PerLabel[l] = map[string]float64{}
		for val, a := range vals {
			if a.n > 0 {
				v.PerLabel[l][val] = a.nats / float64(a.n) / math.Ln2
			}
		}
	}
	return v, nil
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// scoreUtterance scores u as training predicts it. Without local
// conditioning: Model.Score of its codes (every code but the first). With
// it: Model.ScoreMels of [go, codes...] and u.Mel, every code predicted,
// code t from local row t (wavenet.Model.ForwardLocal's alignment); the go
// code is the silence code, the padding the sampler puts before an
// utterance, so a window at the start trains exactly this.
func scoreUtterance(ctx context.Context, m *wavenet.Model, u *corpus.Utterance, cond []int) (float64, int, error) {
	if m.Config.Local == nil {
		return m.Score(ctx, u.Codes, cond, 0)
	}
	if err := checkMel(*m.Config.Local, u); err != nil {
		return 0, 0, err
	}
	codes := make([]int32, 0, len(u.Codes)+1)
	codes = append(append(codes, mulaw.Silence(m.Config.QuantizationChannels)), u.Codes...)
	return m.ScoreMels(ctx, codes, cond, u.Mel, 0)
}
