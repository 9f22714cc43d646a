package wavenet

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// ErrTooShort is returned by Loss and BitsPerSample when no position is
// left to score (fewer than from+2 codes).
var ErrTooShort = errors.New("wavenet: sequence too short to score")

// scoreChunk is the number of output rows Score computes per forward pass,
// given the context length ReceptiveField()-1 that each pass recomputes:
// memory stays bounded on long recordings while the overhead stays below
// 25%. A variable so that tests can force many small chunks.
var scoreChunk = func(ctxLen int) int { return max(8192, 4*ctxLen) }

// Score returns the summed cross-entropy in nats of predicting codes[t+1]
// from codes[0..t] (teacher forcing), for t = from..T-2, and the number of
// terms. from = 0 scores every prediction, including those that see the
// zero padding before time 0; from = Config.ReceptiveField()-1 scores only
// predictions with a full receptive field of real input (as training on
// segments with a receptive-field prefix does). Sums from several files can
// be added before dividing, for per-label and overall averages.
//
// The log-softmax is stable (max subtracted) and accumulated in float64.
// Long sequences are processed in chunks with ReceptiveField()-1 samples of
// overlap, which gives the same result as one full forward pass: the rows
// kept never depend on the chunk's padding.
//
// A model with local conditioning needs ScoreMels.
func (m *Model) Score(ctx context.Context, codes []int32, cond []int, from int) (nats float64, n int, err error) {
	return m.score(ctx, codes, cond, nil, from)
}

// ScoreInput is Score for a model without local conditioning (mels nil)
// and ScoreMels for a vocoder: the scoring of Config.RecordingInput's
// codes and frames.
func (m *Model) ScoreInput(ctx context.Context, codes []int32, cond []int, mels []float32, from int) (nats float64, n int, err error) {
	if m.Config.Local == nil && mels == nil {
		return m.Score(ctx, codes, cond, from)
	}
	return m.ScoreMels(ctx, codes, cond, mels, from)
}

// score is Score with local conditioning rows local (nil for none).
func (m *Model) score(ctx context.Context, codes []int32, cond []int, local []float32, from int) (nats float64, n int, err error) {
	if from < 0 {
		return 0, 0, fmt.Errorf("wavenet: score from position %d, want at least 0", from)
	}
	if err := m.CheckShapes(); err != nil {
		return 0, 0, err
	}
	if err := m.CheckInput(codes, cond); err != nil {
		return 0, 0, err
	}
	if err := m.checkLocal(local, len(codes)); err != nil {
		return 0, 0, err
	}
	T, Q := len(codes), m.Config.QuantizationChannels
	last := T - 2 // last row whose target exists
	if from > last {
		return 0, 0, nil
	}
	ctxLen := m.Config.ReceptiveField() - 1
	chunk := scoreChunk(ctxLen)
	ws := workspaces.Get().(*workspace)
	defer workspaces.Put(ws)
	var logits []float32
	for a := from; a <= last; a += chunk {
		b := min(a+chunk, last+1) // rows a..b-1
		c0 := max(0, a-ctxLen)
		logits = grow(logits, (b-a)*Q)
		var lw []float32
		if local != nil {
			C := m.Config.Local.Channels
			lw = local[c0*C : b*C]
		}
		if err := m.forward(ctx, ws, logits, codes[c0:b], cond, lw, a-c0); err != nil {
			return 0, 0, err
		}
		for t := a; t < b; t++ {
			nats += nll(logits[(t-a)*Q:(t-a+1)*Q], codes[t+1])
		}
		n += b - a
	}
	return nats, n, nil
}

// Loss returns the mean cross-entropy in nats per predicted sample over
// positions from..T-2; see Score for the meaning of from.
func (m *Model) Loss(ctx context.Context, codes []int32, cond []int, from int) (float64, error) {
	nats, n, err := m.Score(ctx, codes, cond, from)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, fmt.Errorf("%w: %d codes, scoring from %d needs at least %d", ErrTooShort, len(codes), from, from+2)
	}
	return nats / float64(n), nil
}

// BitsPerSample is Loss in bits (nats / ln 2).
func (m *Model) BitsPerSample(ctx context.Context, codes []int32, cond []int, from int) (float64, error) {
	l, err := m.Loss(ctx, codes, cond, from)
	return l / math.Ln2, err
}

// nll returns -log softmax(logits)[target], computed stably in float64.
func nll(logits []float32, target int32) float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(sum) - float64(logits[target])
}
