package api

import (
	"context"
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
}

// newStepper builds the generator of a model; a variable so tests can
// substitute a fake.
var newStepper = newCacheStepper

func (s *Server) initModels() error {
	s.models = map[string]*servedModel{}
	for id, m := range s.opts.Models {
		if !ValidModelID(id) {
			return fmt.Errorf("api: model id %q: want letters, digits, '.', '_' or '-', not starting with '.'", id)
		}
		if m == nil {
			return fmt.Errorf("api: model %q is nil", id)
		}
		if err := m.CheckShapes(); err != nil {
			return fmt.Errorf("api: model %q: %w", id, err)
		}
		chunk := s.opts.ChunkSamples
		if chunk <= 0 {
			chunk = max(1, m.Config.SampleRate/10)
		}
		gens := make([]stepper, s.opts.Workers)
		for i := range gens {
			gens[i] = newStepper(m, s.opts.MaxStreams, s.opts.FastBatch)
		}
		s.models[id] = &servedModel{
			id: id, net: m, stats: s.opts.Speech[id],
			sched: newScheduler(id, gens, s.opts.MaxStreams, s.opts.MaxQueue, chunk, s.opts.QueueWait, s.metrics, s.log),
		}
	}
	return nil
}

// modelIDs returns the served ids, sorted.
func (s *Server) modelIDs() []string {
	ids := make([]string, 0, len(s.models))
	for id := range s.models {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// drainModels waits until no request holds a generation slot or waits for
// one, or until ctx is done.
func (s *Server) drainModels(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		busy := 0
		for _, m := range s.models {
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
	for _, m := range s.models {
		m.sched.close()
	}
}
