package synth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wavenet-go/wavenet/cache"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Sentinel errors of the engine; a REST layer maps them to statuses.
var (
	// ErrBusy: every generation slot and the wait queue of the model are
	// full (retry later).
	ErrBusy = errors.New("synth: all generation slots and the wait queue are full")
	// ErrShutdown: the engine is shutting down.
	ErrShutdown = errors.New("synth: engine is shutting down")
	// ErrUnknownModel is the cause of a *RequestError naming a model that
	// is not served.
	ErrUnknownModel = errors.New("synth: unknown model")
	// ErrNoModel is the cause of a *RequestError when no model is served.
	ErrNoModel = errors.New("synth: no model loaded")
	// ErrModelExists is the cause of AddModel's error for an id already
	// served.
	ErrModelExists = errors.New("synth: model id already served")
)

// Metrics receives the engine's counters (package api implements it with
// Prometheus). Calls come from the scheduler goroutines: they must be
// cheap and safe for concurrent use.
type Metrics interface {
	// Active adds delta to the streams generating for model (0 declares
	// the model).
	Active(model string, delta int)
	// Queued adds delta to the requests waiting for a slot.
	Queued(model string, delta int)
	// Rejected counts a request refused with ErrBusy.
	Rejected(model string)
	// Step records one generator step advancing streams streams.
	Step(model string, streams int)
}

type nopMetrics struct{}

func (nopMetrics) Active(string, int) {}
func (nopMetrics) Queued(string, int) {}
func (nopMetrics) Rejected(string)    {}
func (nopMetrics) Step(string, int)   {}

// Options configure an Engine. Zero fields take the documented defaults.
type Options struct {
	// MaxStreams is the number of generation slots per model: requests
	// generated together in one batch (default 16).
	MaxStreams int
	// Workers is the number of generators (goroutines) per model sharing
	// its slots (default min(GOMAXPROCS, 4), at most MaxStreams).
	Workers int
	// MaxQueue is how many requests per model may wait for a slot before
	// new ones get ErrBusy (0: MaxStreams; negative: none).
	MaxQueue int
	// QueueWait is how long a request waits for a slot before ErrBusy
	// (default 10 s).
	QueueWait time.Duration
	// MaxSeconds is the longest audio one request may ask for (default
	// 30; the CLI allows hours).
	MaxSeconds float64
	// ChunkSamples is how many samples a stream collects before they are
	// handed to its request (default 1/10 s at the model's rate).
	ChunkSamples int
	// Metrics receives counters (default: none).
	Metrics Metrics
	// Logger receives generator failures (default slog.Default()).
	Logger *slog.Logger
	// Source, when set, holds more models, loaded when a request first
	// names one (see Source).
	Source Source
	// SourceBudget bounds the memory (Engine.ModelBytes) of the models
	// loaded from Source at once (default 1 GiB).
	SourceBudget int64
}

// WithDefaults returns o with its zero fields set to their defaults.
func (o Options) WithDefaults() Options {
	if o.MaxStreams <= 0 {
		o.MaxStreams = 16
	}
	if o.Workers <= 0 {
		o.Workers = min(runtime.GOMAXPROCS(0), 4)
	}
	o.Workers = min(o.Workers, o.MaxStreams)
	if o.MaxQueue < 0 {
		o.MaxQueue = 0
	} else if o.MaxQueue == 0 {
		o.MaxQueue = o.MaxStreams
	}
	if o.QueueWait <= 0 {
		o.QueueWait = 10 * time.Second
	}
	if o.MaxSeconds <= 0 {
		o.MaxSeconds = 30
	}
	if o.Metrics == nil {
		o.Metrics = nopMetrics{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.SourceBudget <= 0 {
		o.SourceBudget = 1 << 30
	}
	return o
}

// served is one model with its scheduler.
type served struct {
	id    string
	b     *Bundle
	sched *scheduler
}

// Engine serves synthesis requests for a table of models, each with its
// continuous-batching scheduler. It is safe for concurrent use.
type Engine struct {
	opts     Options
	mu       sync.RWMutex // guards models and closed
	models   map[string]*served
	closed   bool
	draining atomic.Bool
	// direct bounds the requests computed outside the schedulers
	// (Griffin-Lim) that run at once: one per core. Up to
	// Options.MaxQueue more wait for a place, each at most QueueWait;
	// beyond, ErrBusy, as the schedulers' admission.
	direct        chan struct{}
	directWaiting atomic.Int64
	srcState
}

// newStepper builds the generator of a model; a variable so tests can
// substitute a fake.
var newStepper = func(m *wavenet.Model, slots int, int8 bool) stepper {
	if int8 {
		return cacheStepper{cache.NewInt8(m, slots)}
	}
	return cacheStepper{cache.New(m, slots)}
}

// New returns an engine serving bundles by model id.
func New(bundles map[string]*Bundle, o Options) (*Engine, error) {
	e := &Engine{opts: o.WithDefaults(), models: map[string]*served{}, direct: make(chan struct{}, runtime.GOMAXPROCS(0)),
		srcState: srcState{sourced: map[string]*sourced{}, loading: map[string]*loader{}}}
	ids := make([]string, 0, len(bundles))
	for id := range bundles {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		sm, err := e.newServed(id, bundles[id])
		if err != nil {
			e.Close()
			return nil, err
		}
		e.models[id] = sm
	}
	return e, nil
}

// Options returns the engine's options, defaults filled in.
func (e *Engine) Options() Options { return e.opts }

// newServed checks a model and builds its scheduler.
func (e *Engine) newServed(id string, b *Bundle) (*served, error) {
	if !ValidModelID(id) {
		return nil, fmt.Errorf("synth: model id %q: want letters, digits, '.', '_' or '-', not starting with '.', at most 64 characters", id)
	}
	if b == nil || b.Model == nil {
		return nil, fmt.Errorf("synth: model %q is nil", id)
	}
	m := b.Model
	if err := m.CheckShapes(); err != nil {
		return nil, fmt.Errorf("synth: model %q: %w", id, err)
	}
	o := e.opts
	chunk := o.ChunkSamples
	if chunk <= 0 {
		chunk = max(1, m.Config.SampleRate/10)
	}
	// A model that can be guided gets four generator slots per stream:
	// a guided stream's guide stream takes the second, and the other two
	// let a text request run candidate attempts side by side when the
	// engine is not full (see shard.startExtraAttempts).
	slots := o.MaxStreams
	if m.Config.HasNull(m.Config.LabelCondition()) {
		slots *= 4
	}
	gens := make([]stepper, o.Workers)
	for i := range gens {
		gens[i] = newStepper(m, slots, b.Int8)
	}
	sc := newScheduler(id, gens, o.MaxStreams, o.MaxQueue, chunk, o.QueueWait, o.Metrics, o.Logger)
	if m.Config.Local != nil {
		perJob := slots / o.MaxStreams // a stream, its guide, two candidates
		sc.newGen = func() stepper { return newStepper(m, perJob, b.Int8) }
	}
	return &served{id: id, b: b, sched: sc}, nil
}

// AddModel serves b as id from now on, with a scheduler built as New
// builds them. The id must pass ValidModelID and not be served already
// (the error then wraps ErrModelExists); after Shutdown the error wraps
// ErrShutdown. b must not change afterwards.
func (e *Engine) AddModel(id string, b *Bundle) error {
	if _, ok := e.lookup(id); ok {
		return fmt.Errorf("synth: add model %q: %w", id, ErrModelExists)
	}
	sm, err := e.newServed(id, b)
	if err != nil {
		return err
	}
	e.mu.Lock()
	_, dup := e.models[id]
	closed := e.closed || e.draining.Load()
	if !dup && !closed {
		e.models[id] = sm
	}
	e.mu.Unlock()
	switch {
	case closed:
		sm.sched.close()
		return fmt.Errorf("synth: add model %q: %w", id, ErrShutdown)
	case dup:
		sm.sched.close()
		return fmt.Errorf("synth: add model %q: %w", id, ErrModelExists)
	}
	return nil
}

// RemoveModel stops serving id: new requests for it fail with
// ErrUnknownModel at once, and its scheduler is closed once the requests
// it holds are done (after at most grace; later ones are cut), and the
// memory of its generators handed back to the OS (debug.FreeOSMemory:
// they are large, and the Go heap would otherwise hold it). The error
// wraps ErrUnknownModel when id is not served.
func (e *Engine) RemoveModel(id string, grace time.Duration) error {
	e.mu.Lock()
	sm, ok := e.models[id]
	delete(e.models, id)
	e.mu.Unlock()
	e.srcMu.Lock()
	delete(e.sourced, id)
	e.srcMu.Unlock()
	if !ok {
		return fmt.Errorf("synth: remove model %q: %w", id, ErrUnknownModel)
	}
	go func() {
		deadline := time.Now().Add(grace)
		for sm.sched.inFlight() > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		sm.sched.close()
		sm = nil // unreachable now, for the GC below
		debug.FreeOSMemory()
	}()
	return nil
}

// Bundle returns the model served as id.
func (e *Engine) Bundle(id string) (*Bundle, bool) {
	sm, ok := e.lookup(id)
	if !ok {
		return nil, false
	}
	return sm.b, true
}

func (e *Engine) lookup(id string) (*served, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	m, ok := e.models[id]
	return m, ok
}

// served returns the served models, sorted by id.
func (e *Engine) served() []*served {
	e.mu.RLock()
	out := make([]*served, 0, len(e.models))
	for _, m := range e.models {
		out = append(out, m)
	}
	e.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// IDs returns the served model ids, sorted.
func (e *Engine) IDs() []string {
	ms := e.served()
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.id
	}
	return ids
}

// Draining reports whether Shutdown has begun.
func (e *Engine) Draining() bool { return e.draining.Load() }

// Shutdown stops admitting syntheses (Start returns ErrShutdown), waits
// for running ones to finish until ctx is done, then stops the
// schedulers, cutting whatever is still running.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.draining.Store(true)
	err := e.drain(ctx)
	e.Close()
	return err
}

// Close stops the schedulers at once; running syntheses end with
// ErrShutdown.
func (e *Engine) Close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	for _, m := range e.served() {
		m.sched.close()
	}
}

// drain waits until no request holds a generation slot or waits for one,
// or until ctx is done.
func (e *Engine) drain(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		busy := 0
		for _, m := range e.served() {
			busy += m.sched.inFlight()
		}
		if busy == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("synth: shutdown with %d syntheses still running: %w", busy, ctx.Err())
		case <-t.C:
		}
	}
}

// DefaultGuidance is the guidance weight of requests that give none: the
// bundle's (speech.Stats.Guidance) if its label condition can be guided,
// else 0.
func (b *Bundle) DefaultGuidance() float64 {
	cfg := b.Model.Config
	if b.Stats == nil || !cfg.HasNull(cfg.LabelCondition()) {
		return 0
	}
	return b.Stats.Guidance
}

// DefaultCandidates is the number of attempts per word of text requests
// that give none: the bundle's (speech.Stats.Candidates) if its label
// condition can be guided, else 1.
func (b *Bundle) DefaultCandidates() int {
	cfg := b.Model.Config
	if b.Stats == nil || !cfg.HasNull(cfg.LabelCondition()) {
		return 1
	}
	return max(1, b.Stats.Candidates)
}

// cacheGenerator is what the scheduler needs of a cache generator:
// *cache.Generator and *cache.Int8Generator (whose Step runs the int8
// products) both have it.
type cacheGenerator interface {
	Join(cache.StreamOptions) (int, error)
	Leave(slot int)
	Prime(ctx context.Context, slot int, codes []int32) error
	Step(dst []int32) []int32
	GuideScore(slot int) float64
	MaxStreams() int
	Active() int
	PushLocal(slot int, frames []float32) error
	Buffered(slot int) int
}

// cacheStepper adapts a cache generator (Fast WaveNet queues, many streams
// per step) to the scheduler.
type cacheStepper struct{ g cacheGenerator }

func (c cacheStepper) join(o streamOptions) (int, error) {
	return c.g.Join(cache.StreamOptions{Cond: o.Cond, Temperature: o.Temperature, TopK: o.TopK, Seed: o.Seed, Greedy: o.Greedy,
		Guidance: o.Guidance, GuideCond: o.GuideCond, Local: o.Local})
}

func (c cacheStepper) pushLocal(slot int, frames []float32) error { return c.g.PushLocal(slot, frames) }

func (c cacheStepper) buffered(slot int) int { return c.g.Buffered(slot) }

func (c cacheStepper) leave(slot int) { c.g.Leave(slot) }

func (c cacheStepper) score(slot int) float64 { return c.g.GuideScore(slot) }

func (c cacheStepper) free() int { return c.g.MaxStreams() - c.g.Active() }

func (c cacheStepper) prime(slot int, codes []int32) error {
	return c.g.Prime(context.Background(), slot, codes)
}

func (c cacheStepper) step(dst []int32) []int32 { return c.g.Step(dst) }

// InFlight returns the requests admitted to model id's scheduler
// (generating or waiting) and the streams generating; 0, 0 for an
// unknown id.
func (e *Engine) InFlight(id string) (admitted, generating int) {
	sm, ok := e.lookup(id)
	if !ok {
		return 0, 0
	}
	return sm.sched.inFlight(), int(sm.sched.active.Load())
}
