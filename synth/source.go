package synth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// Source is where an engine finds models it does not hold: the models
// made by jobs, kept in a store that every replica of a service shares.
// A model is loaded the first time a request names it and evicted again,
// least recently used first, when the loaded ones exceed
// Options.SourceBudget.
type Source interface {
	// IDs lists the models the source holds, sorted.
	IDs(ctx context.Context) ([]string, error)
	// Load loads model id; an id the source does not hold is an error
	// wrapping ErrUnknownModel.
	Load(ctx context.Context, id string) (*Bundle, error)
}

// SourceDeleter is a Source that can delete a model it holds (a job
// store deletes the job that made it, outputs included).
type SourceDeleter interface {
	Source
	Delete(ctx context.Context, id string) error
}

// DeleteFromSource deletes model id from the Source, for every replica,
// and stops serving it here (other replicas stop at their next
// SyncSource). The error wraps ErrUnknownModel when the Source does not
// hold id, errors.ErrUnsupported when there is no Source or it cannot
// delete.
func (e *Engine) DeleteFromSource(ctx context.Context, id string) error {
	d, ok := e.opts.Source.(SourceDeleter)
	if !ok {
		return fmt.Errorf("synth: delete model %q: %w", id, errors.ErrUnsupported)
	}
	held, err := d.IDs(ctx)
	if err != nil {
		return fmt.Errorf("synth: list the model store: %w", err)
	}
	if !slices.Contains(held, id) {
		return fmt.Errorf("synth: delete model %q: %w", id, ErrUnknownModel)
	}
	if err := d.Delete(ctx, id); err != nil {
		return fmt.Errorf("synth: delete model %q: %w", id, err)
	}
	e.Forget(id)
	return nil
}

// evictGrace is how long after its last request a model loaded from a
// Source stays safe from eviction: a request holds its model between
// picking it and being admitted to its scheduler, and admitted requests
// are counted by the scheduler. A variable for the tests.
var evictGrace = 5 * time.Second

// sourced is the bookkeeping of a model loaded from the Source.
type sourced struct {
	bytes    int64
	lastUsed time.Time
}

// loader serialises the loads of one model id: concurrent first requests
// wait for one load.
type loader struct {
	done chan struct{}
	err  error
}

// ModelBytes estimates the memory a served model holds: its float32
// weights once as loaded and once per generator (each packs its own copy
// for the kernels).
func (e *Engine) ModelBytes(b *Bundle) int64 {
	return int64(b.Model.NumParams()) * 4 * int64(1+e.opts.Workers)
}

// fromSource loads model id from the Source, serves it, and evicts least
// recently used Source models beyond the budget. Concurrent calls for one
// id share one load.
func (e *Engine) fromSource(ctx context.Context, id string) (*served, error) {
	e.srcMu.Lock()
	if l, ok := e.loading[id]; ok {
		e.srcMu.Unlock()
		select {
		case <-l.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if l.err != nil {
			return nil, l.err
		}
		if sm, ok := e.lookup(id); ok {
			return sm, nil
		}
		return nil, unknownModel(id, e.IDs())
	}
	if sm, ok := e.lookup(id); ok { // loaded since the caller looked
		e.srcMu.Unlock()
		return sm, nil
	}
	l := &loader{done: make(chan struct{})}
	e.loading[id] = l
	e.srcMu.Unlock()

	sm, err := e.loadSourced(ctx, id)
	l.err = err
	e.srcMu.Lock()
	delete(e.loading, id)
	e.srcMu.Unlock()
	close(l.done)
	return sm, err
}

func (e *Engine) loadSourced(ctx context.Context, id string) (*served, error) {
	b, err := e.opts.Source.Load(ctx, id)
	if errors.Is(err, ErrUnknownModel) {
		return nil, unknownModel(id, e.IDs())
	}
	if err != nil {
		return nil, fmt.Errorf("synth: load model %q: %w", id, err)
	}
	if err := e.AddModel(id, b); err != nil && !errors.Is(err, ErrModelExists) {
		return nil, err
	}
	e.srcMu.Lock()
	e.sourced[id] = &sourced{bytes: e.ModelBytes(b), lastUsed: time.Now()}
	e.srcMu.Unlock()
	e.opts.Logger.Info("model loaded from the store", "model", id, "bytes", e.ModelBytes(b))
	e.evict(id)
	sm, ok := e.lookup(id)
	if !ok {
		return nil, unknownModel(id, e.IDs())
	}
	return sm, nil
}

// touch records a request for model id (for eviction order).
func (e *Engine) touch(id string) {
	e.srcMu.Lock()
	if s, ok := e.sourced[id]; ok {
		s.lastUsed = time.Now()
	}
	e.srcMu.Unlock()
}

// evict drops least recently used Source models, other than keep, that
// are idle (nothing admitted, no request within evictGrace) until the
// loaded ones fit Options.SourceBudget. With every candidate busy the
// budget is exceeded until they are idle (the next load evicts them).
func (e *Engine) evict(keep string) {
	e.srcMu.Lock()
	var total int64
	ids := make([]string, 0, len(e.sourced))
	for id, s := range e.sourced {
		total += s.bytes
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return e.sourced[ids[i]].lastUsed.Before(e.sourced[ids[j]].lastUsed) })
	var drop []string
	now := time.Now()
	for _, id := range ids {
		if total <= e.opts.SourceBudget {
			break
		}
		s := e.sourced[id]
		if id == keep || now.Sub(s.lastUsed) < evictGrace {
			continue
		}
		if admitted, _ := e.InFlight(id); admitted > 0 {
			continue
		}
		total -= s.bytes
		delete(e.sourced, id)
		drop = append(drop, id)
	}
	e.srcMu.Unlock()
	for _, id := range drop {
		_ = e.RemoveModel(id, 0) // idle: nothing to wait for
		e.opts.Logger.Info("model evicted (memory budget)", "model", id, "budget_bytes", e.opts.SourceBudget)
	}
}

// Forget stops serving model id if it was loaded from the Source (it was
// deleted there, or changed): the next request loads it again, or is
// told it is unknown. It reports whether id was such a model.
func (e *Engine) Forget(id string) bool {
	e.srcMu.Lock()
	_, ok := e.sourced[id]
	delete(e.sourced, id)
	e.srcMu.Unlock()
	if ok {
		_ = e.RemoveModel(id, e.opts.QueueWait)
	}
	return ok
}

// SyncSource forgets the models loaded from the Source that it no longer
// holds (deleted, by this replica or another): a service calls it now and
// then, and after it deletes a model.
func (e *Engine) SyncSource(ctx context.Context) error {
	if e.opts.Source == nil {
		return nil
	}
	held, err := e.opts.Source.IDs(ctx)
	if err != nil {
		return fmt.Errorf("synth: list the model store: %w", err)
	}
	e.srcMu.Lock()
	var gone []string
	for id := range e.sourced {
		if !slices.Contains(held, id) {
			gone = append(gone, id)
		}
	}
	e.srcMu.Unlock()
	for _, id := range gone {
		if e.Forget(id) {
			e.opts.Logger.Info("model unloaded: deleted from the store", "model", id)
		}
	}
	return nil
}

// Available lists every model a request may name: the served ones and,
// with a Source, the ones it holds but are not loaded, sorted. A Source
// that fails to list is an error beside the served ids.
func (e *Engine) Available(ctx context.Context) ([]string, error) {
	ids := e.IDs()
	if e.opts.Source == nil {
		return ids, nil
	}
	more, err := e.opts.Source.IDs(ctx)
	if err != nil {
		return ids, fmt.Errorf("synth: list the model store: %w", err)
	}
	ids = append(ids, more...)
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// Loaded reports whether model id is served now (not merely available
// from the Source).
func (e *Engine) Loaded(id string) bool {
	_, ok := e.lookup(id)
	return ok
}

// srcState is the Engine's Source bookkeeping.
type srcState struct {
	srcMu   sync.Mutex
	sourced map[string]*sourced
	loading map[string]*loader
}
