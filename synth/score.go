package synth

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/wavenet-go/wavenet/wavenet"
)

// Pick returns the model a request naming id is served by ("" picks the
// default, as Start does); errors are *RequestError.
func (e *Engine) Pick(ctx context.Context, id string) (string, *Bundle, error) {
	m, err := e.pickModel(ctx, id)
	if err != nil {
		return "", nil, err
	}
	return m.id, m.b, nil
}

// Score is the teacher-forced score of a recording.
type Score struct {
	NatsPerSample float64
	BitsPerSample float64
	Scored        int // predictions averaged: positions From..Samples-2
	From          int
	Samples       int // codes scored, at the model's rate
	// Processing is "training" (the recording processed as the model's
	// training audio was: wavenet.Config.RecordingCodes) or "raw" (only
	// resampled).
	Processing string
}

// ScoreRecording scores the recording x (mono, at rate Hz) under model m
// with conditions cond from position from: the recording is processed as
// the model's training was (cfg.RecordingInput), or only resampled when
// raw is set, then m.ScoreInput averages the cross-entropy of each code
// given the ones before (and, for a vocoder, the recording's own mel
// frames, computed from the same processed audio as training computed
// them). Recordings the model cannot score are *RequestError.
func ScoreRecording(ctx context.Context, m *wavenet.Model, x []float32, rate int, cond []int, from int, raw bool) (*Score, error) {
	cfg := m.Config
	codes, mels, err := cfg.RecordingInput(x, rate, raw)
	var le *wavenet.LocalError
	switch {
	case errors.As(err, &le):
		return nil, badRequest("audio", "%v (a vocoder is scored with its recording's own mel frames)", err)
	case errors.Is(err, wavenet.ErrSilentRecording):
		return nil, badRequest("audio", "the WAV is silent after trimming as the model's training audio was trimmed; send speech, or score it raw (raw=true)")
	case err != nil:
		return nil, badRequest("audio", "the WAV's sample rate cannot be converted to the model's %d Hz: %v", cfg.SampleRate, err)
	}
	if len(codes) < from+2 {
		return nil, badRequest("from", "the WAV has %d samples at %d Hz; scoring from %d needs at least %d", len(codes), cfg.SampleRate, from, from+2)
	}
	nats, n, err := m.ScoreInput(ctx, codes, cond, mels, from)
	if err != nil {
		return nil, fmt.Errorf("synth: score: %w", err)
	}
	s := &Score{NatsPerSample: nats / float64(n), Scored: n, From: from, Samples: len(codes), Processing: "training"}
	if raw {
		s.Processing = "raw"
	}
	s.BitsPerSample = s.NatsPerSample / math.Ln2
	return s, nil
}
