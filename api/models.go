package api

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/wavenet"
)

// validID is the shape of a model id: a directory name without path
// separators, dots first, or anything a URL or shell would interpret.
var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidModelID reports whether id may name a model (and a directory under
// --models): letters, digits, '.', '_' and '-', not starting with '.', at
// most 64 characters. It rejects "..", "a/b" and "a\\b".
func ValidModelID(id string) bool { return validID.MatchString(id) }

// servedModel is one model with its scheduler.
type servedModel struct {
	id    string
	net   *wavenet.Model
	sched *scheduler
	stats *speech.Stats // nil: speech.DefaultDuration for every word
	int8  bool          // generated with cache.NewInt8
}

// newStepper builds the generator of a model; a variable so tests can
// substitute a fake.
var newStepper = newCacheStepper

// newInt8Stepper builds the generator of a model stored as int8.
var newInt8Stepper = newInt8CacheStepper

// ErrModelExists is the cause of AddModel's error for an id already served.
var ErrModelExists = errors.New("api: model id already served")

// ErrClosed is the cause of AddModel's error after Shutdown.
var ErrClosed = errors.New("api: server shut down")

// ModelOption is an option of AddModel.
type ModelOption func(*modelOptions)

type modelOptions struct {
	stats *speech.Stats
	int8  bool
}

// WithSpeechStats gives the model the duration statistics of its text
// requests (see Options.Speech); nil means speech.DefaultDuration.
func WithSpeechStats(st *speech.Stats) ModelOption {
	return func(o *modelOptions) { o.stats = st }
}

// WithInt8 generates the model with cache.NewInt8 (int8 weight products)
// rather than cache.New: for checkpoints stored as int8 (see Options.Int8).
func WithInt8(on bool) ModelOption {
	return func(o *modelOptions) { o.int8 = on }
}

func (s *Server) initModels() error {
	s.models = map[string]*servedModel{}
	for id, m := range s.opts.Models {
		sm, err := s.newServedModel(id, m, modelOptions{stats: s.opts.Speech[id], int8: s.opts.Int8[id]})
		if err != nil {
			for _, o := range s.models {
				o.sched.close()
			}
			return err
		}
		s.models[id] = sm
	}
	return nil
}

// newServedModel checks a model and builds its scheduler.
func (s *Server) newServedModel(id string, m *wavenet.Model, o modelOptions) (*servedModel, error) {
	if !ValidModelID(id) {
		return nil, fmt.Errorf("api: model id %q: want letters, digits, '.', '_' or '-', not starting with '.', at most 64 characters", id)
	}
	if m == nil {
		return nil, fmt.Errorf("api: model %q is nil", id)
	}
	if err := m.CheckShapes(); err != nil {
		return nil, fmt.Errorf("api: model %q: %w", id, err)
	}
	chunk := s.opts.ChunkSamples
	if chunk <= 0 {
		chunk = max(1, m.Config.SampleRate/10)
	}
	// A model that can be guided gets four generator slots per stream:
	// a guided stream's guide stream takes the second, and the other two
	// let a text request run candidate attempts side by side when the
	// server is not full (see scheduler.startExtraAttempts).
	slots := s.opts.MaxStreams
	if m.Config.HasNull(m.Config.LabelCondition()) {
		slots *= 4
	}
	gens := make([]stepper, s.opts.Workers)
	for i := range gens {
		if o.int8 {
			gens[i] = newInt8Stepper(m, slots)
		} else {
			gens[i] = newStepper(m, slots, s.opts.FastBatch)
		}
	}
	return &servedModel{
		id: id, net: m, stats: o.stats, int8: o.int8,
		sched: newScheduler(id, gens, s.opts.MaxStreams, s.opts.MaxQueue, chunk, s.opts.QueueWait, s.metrics, s.log),
	}, nil
}

// defaultGuidance is the guidance weight of requests that give none: the
// model's (speech.Stats.Guidance) if condition lc can be guided, else 0.
func (sm *servedModel) defaultGuidance(lc int) float64 {
	if sm.stats == nil || !sm.net.Config.HasNull(lc) {
		return 0
	}
	return sm.stats.Guidance
}

// Model returns the model served as id.
func (s *Server) Model(id string) (*wavenet.Model, bool) {
	sm, ok := s.lookup(id)
	if !ok {
		return nil, false
	}
	return sm.net, true
}

// SpeechStats returns the duration statistics the model served as id
// says text with (nil: speech.DefaultDuration, or no such model).
func (s *Server) SpeechStats(id string) *speech.Stats {
	if sm, ok := s.lookup(id); ok {
		return sm.stats
	}
	return nil
}

// AddModel serves m as id from now on, with a scheduler built as New
// builds those of Options.Models: GET /v1/models lists it and
// /v1/synthesize serves it as soon as AddModel returns. The id must pass
// ValidModelID and not be served already (the error then wraps
// ErrModelExists); after Shutdown the error wraps ErrClosed. m must not
// change afterwards.
func (s *Server) AddModel(id string, m *wavenet.Model, opts ...ModelOption) error {
	var o modelOptions
	for _, f := range opts {
		f(&o)
	}
	if !ValidModelID(id) {
		return fmt.Errorf("api: model id %q: want letters, digits, '.', '_' or '-', not starting with '.', at most 64 characters", id)
	}
	if _, ok := s.lookup(id); ok {
		return fmt.Errorf("api: add model %q: %w", id, ErrModelExists)
	}
	sm, err := s.newServedModel(id, m, o)
	if err != nil {
		return err
	}
	s.mu.Lock()
	closed := s.closed || s.draining.Load()
	s.mu.Unlock()
	s.tableMu.Lock()
	_, dup := s.models[id]
	if !dup && !closed {
		s.models[id] = sm
	}
	s.tableMu.Unlock()
	switch {
	case closed:
		sm.sched.close()
		return fmt.Errorf("api: add model %q: %w", id, ErrClosed)
	case dup:
		sm.sched.close()
		return fmt.Errorf("api: add model %q: %w", id, ErrModelExists)
	}
	s.log.Info("model added", "model", id, "int8", o.int8)
	return nil
}

// lookup returns the served model id.
func (s *Server) lookup(id string) (*servedModel, bool) {
	s.tableMu.RLock()
	defer s.tableMu.RUnlock()
	m, ok := s.models[id]
	return m, ok
}

// served returns the served models, sorted by id.
func (s *Server) served() []*servedModel {
	s.tableMu.RLock()
	out := make([]*servedModel, 0, len(s.models))
	for _, m := range s.models {
		out = append(out, m)
	}
	s.tableMu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// modelIDs returns the served ids, sorted.
func (s *Server) modelIDs() []string {
	ms := s.served()
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.id
	}
	return ids
}

// drainModels waits until no request holds a generation slot or waits for
// one, or until ctx is done.
func (s *Server) drainModels(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		busy := 0
		for _, m := range s.served() {
			busy += m.sched.inFlight()
		}
		if busy == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("api: shutdown with %d syntheses still running: %w", busy, ctx.Err())
		case <-t.C:
		}
	}
}

func (s *Server) closeModels() {
	for _, m := range s.served() {
		m.sched.close()
	}
}
