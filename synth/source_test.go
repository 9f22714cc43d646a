package synth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wavenet-go/wavenet/wavenet"
)

// mapSource is a Source over a map, counting loads per id.
type mapSource struct {
	mu     sync.Mutex
	models map[string]*wavenet.Model
	loads  map[string]*atomic.Int32
	gate   chan struct{} // when set, Load waits for it
}

func (s *mapSource) IDs(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id := range s.models {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

func (s *mapSource) Load(ctx context.Context, id string) (*Bundle, error) {
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.models[id]
	if !ok {
		return nil, fmt.Errorf("map source: %q: %w", id, ErrUnknownModel)
	}
	s.loads[id].Add(1)
	return &Bundle{Model: m}, nil
}

func newMapSource(t *testing.T, ids ...string) *mapSource {
	s := &mapSource{models: map[string]*wavenet.Model{}, loads: map[string]*atomic.Int32{}}
	for _, id := range ids {
		s.models[id] = testModel(t)
		s.loads[id] = new(atomic.Int32)
	}
	return s
}

// synthOne makes 100 samples with model id and returns Start's error.
func synthOne(e *Engine, id string) error {
	n := 100
	syn, err := e.Start(context.Background(), &Request{Model: id, NumSamples: &n})
	if err != nil {
		return err
	}
	defer syn.Close()
	x, err := syn.Audio()
	if err == nil && len(x) == 0 {
		err = errors.New("no audio")
	}
	return err
}

// TestSourceLoadsOnDemand: a model of the Source is listed before it is
// loaded, loaded by the first request naming it (once, however many ask
// at the same time), served from then on; an id the Source lacks is an
// unknown model; Forget unloads.
func TestSourceLoadsOnDemand(t *testing.T) {
	src := newMapSource(t, "job-a")
	src.gate = make(chan struct{})
	e, err := New(map[string]*Bundle{"default": {Model: testModel(t)}}, Options{Source: src, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ids, err := e.Available(context.Background())
	if err != nil || !slices.Equal(ids, []string{"default", "job-a"}) {
		t.Fatalf("Available = %v, %v; want [default job-a]", ids, err)
	}
	if e.Loaded("job-a") {
		t.Fatal("job-a loaded before any request named it")
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- synthOne(e, "job-a") }()
	}
	close(src.gate)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("synthesis with a Source model: %v", err)
		}
	}
	if n := src.loads["job-a"].Load(); n != 1 {
		t.Errorf("4 concurrent first requests loaded the model %d times, want 1", n)
	}
	if !e.Loaded("job-a") {
		t.Error("job-a not served after a request")
	}
	if err := synthOne(e, "job-b"); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("model absent from the Source: %v, want ErrUnknownModel", err)
	}
	if !e.Forget("job-a") || e.Loaded("job-a") {
		t.Error("Forget did not unload job-a")
	}
	if e.Forget("default") || !e.Loaded("default") {
		t.Error("Forget unloaded a model that did not come from the Source")
	}
	// Deleted from the store (by another replica): SyncSource unloads it,
	// and a request for it is then an unknown model.
	if err := synthOne(e, "job-a"); err != nil {
		t.Fatal(err)
	}
	src.mu.Lock()
	delete(src.models, "job-a")
	src.mu.Unlock()
	if err := e.SyncSource(context.Background()); err != nil || e.Loaded("job-a") || !e.Loaded("default") {
		t.Errorf("SyncSource after a deletion: %v; job-a loaded %v, default loaded %v; want only default", err, e.Loaded("job-a"), e.Loaded("default"))
	}
	if err := synthOne(e, "job-a"); !errors.Is(err, ErrUnknownModel) {
		t.Errorf("deleted model: %v, want ErrUnknownModel", err)
	}
}

// TestSourceBudgetEvicts: with room for two models, loading a third
// evicts the least recently used idle one, never the embedded ones; an
// evicted model loads again when asked for.
func TestSourceBudgetEvicts(t *testing.T) {
	old := evictGrace
	evictGrace = 0
	defer func() { evictGrace = old }()
	src := newMapSource(t, "a", "b", "c")
	probe, err := New(nil, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	per := probe.ModelBytes(&Bundle{Model: src.models["a"]})
	probe.Close()
	e, err := New(map[string]*Bundle{"default": {Model: testModel(t)}},
		Options{Source: src, SourceBudget: 2 * per, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, step := range []struct {
		use    string
		loaded []string
	}{
		{"a", []string{"a", "default"}},
		{"b", []string{"a", "b", "default"}},
		{"a", []string{"a", "b", "default"}}, // a is now the most recent
		{"c", []string{"a", "c", "default"}}, // b, the least recent, goes
		{"b", []string{"b", "c", "default"}}, // back again; a goes
	} {
		if err := synthOne(e, step.use); err != nil {
			t.Fatalf("use %s: %v", step.use, err)
		}
		if got := e.IDs(); !slices.Equal(got, step.loaded) {
			t.Fatalf("after using %s: loaded %v, want %v", step.use, got, step.loaded)
		}
	}
	if n := src.loads["b"].Load(); n != 2 {
		t.Errorf("b loaded %d times, want 2 (evicted once)", n)
	}
}
