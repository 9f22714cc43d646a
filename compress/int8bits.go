package compress

import (
	"context"
	"fmt"
	"math"

	"github.com/wavenet-go/wavenet/cache"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/internal/kernel"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Int8Bits scores utts through the int8 generator (cache.Int8Generator,
// int8 weights and activations) by teacher forcing: the bits per sample of
// predicting codes[t+1] from codes[0..t] for every t, as
// wavenet.Model.Score with from = 0 measures the float model. Up to
// streams utterances are stepped together.
func Int8Bits(ctx context.Context, m *wavenet.Model, utts []*corpus.Utterance, streams int) (float64, error) {
	if m == nil {
		return 0, errNoModel
	}
	if err := m.CheckShapes(); err != nil {
		return 0, fmt.Errorf("compress: int8 bits: %w", err)
	}
	streams = max(1, streams)
	g := cache.NewInt8(m, streams)
	Q := m.Config.QuantizationChannels
	ls := make([]float32, Q)
	var nats float64
	n := 0
	type run struct {
		u    *corpus.Utterance
		slot int
		t    int
	}
	for i := 0; i < len(utts); i += streams {
		var rs []*run
		for _, u := range utts[i:min(i+streams, len(utts))] {
			cond, err := u.ConditionIndices(m.Config.Conditions)
			if err != nil {
				return 0, fmt.Errorf("compress: int8 bits: %w", err)
			}
			if err := m.CheckInput(u.Codes, cond); err != nil {
				return 0, fmt.Errorf("compress: int8 bits: %s: %w", u.Name, err)
			}
			if len(u.Codes) < 2 {
				continue
			}
			slot, err := g.Join(cache.StreamOptions{Cond: cond, Greedy: true})
			if err != nil {
				return 0, fmt.Errorf("compress: int8 bits: %w", err)
			}
			rs = append(rs, &run{u: u, slot: slot})
		}
		for len(rs) > 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			for _, r := range rs {
				if err := g.Feed(r.slot, r.u.Codes[r.t]); err != nil {
					return 0, err
				}
			}
			g.Step(nil)
			keep := rs[:0]
			for _, r := range rs {
				kernel.LogSoftmax(ls, g.Logits(r.slot))
				nats -= float64(ls[r.u.Codes[r.t+1]])
				n++
				r.t++
				if r.t+1 < len(r.u.Codes) {
					keep = append(keep, r)
				} else {
					g.Leave(r.slot)
				}
			}
			rs = keep
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("compress: int8 bits: no samples to score in %d utterances", len(utts))
	}
	return nats / float64(n) / math.Ln2, nil
}
