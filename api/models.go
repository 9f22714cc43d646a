package api

import (
	"fmt"

	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet"
)

// ErrModelExists is the cause of AddModel's error for an id already served.
var ErrModelExists = synth.ErrModelExists

// ErrClosed is the cause of AddModel's error after Shutdown.
var ErrClosed = synth.ErrShutdown

// ModelOption is an option of AddModel.
type ModelOption func(*synth.Bundle)

// WithSpeechStats gives the model the duration statistics of its text
// requests (see Options.Speech); nil means speech.DefaultDuration.
func WithSpeechStats(st *speech.Stats) ModelOption {
	return func(b *synth.Bundle) { b.Stats = st }
}

// WithInt8 generates the model with cache.NewInt8 (int8 weight products)
// rather than cache.New: for checkpoints stored as int8 (see Options.Int8).
func WithInt8(on bool) ModelOption {
	return func(b *synth.Bundle) { b.Int8 = on }
}

// Model returns the model served as id.
func (s *Server) Model(id string) (*wavenet.Model, bool) {
	b, ok := s.engine.Bundle(id)
	if !ok {
		return nil, false
	}
	return b.Model, true
}

// SpeechStats returns the duration statistics the model served as id
// says text with (nil: speech.DefaultDuration, or no such model).
func (s *Server) SpeechStats(id string) *speech.Stats {
	if b, ok := s.engine.Bundle(id); ok {
		return b.Stats
	}
	return nil
}

// AddModel serves m as id from now on (synth.Engine.AddModel): GET
// /v1/models lists it and /v1/synthesize serves it as soon as AddModel
// returns. The id must pass synth.ValidModelID and not be served already (the
// error then wraps ErrModelExists); after Shutdown the error wraps
// ErrClosed. m must not change afterwards.
func (s *Server) AddModel(id string, m *wavenet.Model, opts ...ModelOption) error {
	b := &synth.Bundle{Model: m}
	for _, f := range opts {
		f(b)
	}
	if err := s.engine.AddModel(id, b); err != nil {
		return fmt.Errorf("api: %w", err)
	}
	s.log.Info("model added", "model", id, "int8", b.Int8)
	return nil
}
