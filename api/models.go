package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet"
)

// ErrModelExists is the cause of AddModel's error for an id already served.
var ErrModelExists = synth.ErrModelExists

// ErrClosed is the cause of AddModel's error after Shutdown.
var ErrClosed = synth.ErrShutdown

// ErrModelFixed is the cause of RemoveModel's error for a model the
// server was started with (Options.Models: --models or the embedded
// ones): only models added at run time (AddModel) can be removed.
var ErrModelFixed = errors.New("api: model was loaded at start and cannot be removed")

// removeGrace is how long a removed model's running requests may take
// to finish before they are cut.
const removeGrace = time.Minute

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
	s.addedMu.Lock()
	s.added[id] = true
	s.addedMu.Unlock()
	s.log.Info("model added", "model", id, "int8", b.Int8)
	return nil
}

// RemoveModel stops serving a model added with AddModel (a job's model):
// GET /v1/models no longer lists it and new requests for it get 404;
// requests already running finish (within a minute). The error wraps
// ErrNotFound for an id not served and ErrModelFixed for a model the
// server was started with.
func (s *Server) RemoveModel(id string) error {
	s.addedMu.Lock()
	defer s.addedMu.Unlock()
	if _, ok := s.engine.Bundle(id); !ok {
		return fmt.Errorf("api: remove model %q: %w", id, ErrNotFound)
	}
	if !s.added[id] {
		return fmt.Errorf("api: remove model %q: %w", id, ErrModelFixed)
	}
	if err := s.engine.RemoveModel(id, removeGrace); err != nil {
		return fmt.Errorf("api: %w", err)
	}
	delete(s.added, id)
	s.log.Info("model removed", "model", id)
	return nil
}

// handleDeleteModel is DELETE /v1/models/{id}: a model made by a job
// (compression) stops being served.
func (s *Server) handleDeleteModel(c echo.Context) error {
	id := c.Param("id")
	err := s.RemoveModel(id)
	if s.opts.ModelSource != nil && (errors.Is(err, ErrNotFound) || errors.Is(err, ErrModelFixed)) {
		// A model of the shared store (made by a job): deleted there, for
		// every replica.
		switch derr := s.engine.DeleteFromSource(c.Request().Context(), id); {
		case derr == nil:
			s.log.Info("model deleted from the store", "model", id)
			return c.NoContent(http.StatusNoContent)
		case !errors.Is(derr, synth.ErrUnknownModel):
			return derr
		}
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return Errorf(http.StatusNotFound, "model_not_found", "unknown model %q; GET /v1/models lists the models", id)
	case errors.Is(err, ErrModelFixed):
		return Errorf(http.StatusConflict, "model_fixed",
			"model %q was loaded when the server started (--models or the embedded models) and cannot be deleted through the API; only models made by jobs (compression) can", id)
	case err != nil:
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
