package compressapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/compress"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Registry is the server's table of served models, as the jobs use it:
// they read the source model and hand over the new one.
type Registry interface {
	// Model returns the model served as id.
	Model(id string) (*wavenet.Model, bool)
	// AddModel serves m as id from now on (it must not be in use), as o
	// says. The model must not change afterwards.
	AddModel(id string, m *wavenet.Model, o Served) error
	// RemoveModel stops serving a model AddModel added (its running
	// requests finish); an id not served is an error wrapping
	// api.ErrNotFound.
	RemoveModel(id string) error
}

// Served says how a job's new model is to be served.
type Served struct {
	// Source is the id of the model the job compressed: the new model
	// says text with its word duration statistics.
	Source string
	// Int8 marks an int8 quantization: the weights are int8 values
	// dequantized, to be generated with the int8 generator
	// (cache.NewInt8) rather than the float32 one.
	Int8 bool
}

// DefaultKeep is the finished jobs kept by default: each keeps its model
// served, and a served model holds its generators' memory (108 MB of
// heap for the embedded digit voice with 16 streams and 2 workers).
const DefaultKeep = 4

// ErrNoRegistry is the cause of the 503 answered before SetRegistry.
var ErrNoRegistry = errors.New("compressapi: no model registry (the server does not accept new models)")

// Options bound the work the service accepts.
type Options struct {
	// Dir, if set, receives a checkpoint directory per new model
	// (Dir/NEW_ID, in the job's format), so that a restart with
	// --models Dir serves it again.
	Dir       string
	MaxActive int // jobs running at once (default 1); more get 429
	// Retention bounds the finished jobs kept (default: the newest
	// DefaultKeep, for a day); a job dropped takes its model with it: the
	// model stops being served and its Dir checkpoint is deleted.
	Retention api.Retention
	// Logger receives job failures and removals (default slog.Default()).
	Logger *slog.Logger
}

// Manager runs the compression jobs.
type Manager struct {
	opts   Options
	mu     sync.Mutex
	reg    Registry
	jobs   map[string]*job
	active int
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

// New returns a manager without a registry: jobs answer 503 until
// SetRegistry. Mount its Feature, give it the server's table with
// SetRegistry once the server exists, and Close it at shutdown.
func New(opts Options) *Manager {
	if opts.MaxActive <= 0 {
		opts.MaxActive = 1
	}
	if opts.Retention.Keep <= 0 {
		opts.Retention.Keep = DefaultKeep
	}
	opts.Retention = opts.Retention.WithDefaults()
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{opts: opts, jobs: map[string]*job{}, ctx: ctx, cancel: cancel}
	m.wg.Add(1)
	go m.expire(retainEvery)
	return m
}

// retainEvery is how often finished jobs past their age are dropped when
// no request comes to drop them.
const retainEvery = time.Minute

// expire applies the retention every period until Close.
func (m *Manager) expire(period time.Duration) {
	defer m.wg.Done()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case now := <-t.C:
			m.mu.Lock()
			if m.reg != nil {
				m.retainLocked(now)
			}
			m.mu.Unlock()
		}
	}
}

// SetRegistry sets the server's model table.
func (m *Manager) SetRegistry(r Registry) {
	m.mu.Lock()
	m.reg = r
	m.mu.Unlock()
}

// Close cancels the running jobs and waits for them to stop.
func (m *Manager) Close() {
	m.cancel()
	m.wg.Wait()
}

// Feature returns the routes for api.Options.Features.
func (m *Manager) Feature() api.Feature {
	return api.Feature{
		Name: "compress",
		Routes: func(g *echo.Group) {
			g.POST("/models/:id/compress", m.create)
			g.GET("/compress/jobs", m.list)
			g.GET("/compress/jobs/:id", m.get)
			g.DELETE("/compress/jobs/:id", m.delete)
		},
		OpenAPI: openAPI,
	}
}

// Request is the body of POST /v1/models/{id}/compress.
type Request struct {
	Method string `json:"method"` // quantize or prune
	// NewID is the id of the new model (default "{id}-{dtype}" or
	// "{id}-pruned{percent}").
	NewID string `json:"new_id,omitempty"`
	// quantize
	DType string `json:"dtype,omitempty"` // int8 (default), fp16, bf16
	// int8 defaults to PyTorch's weight observers: qint8, symmetric, per
	// tensor or (PerChannel) per output channel.
	PerChannel bool `json:"per_channel,omitempty"`
	Affine     bool `json:"affine,omitempty"`   // range [min, max] with a zero point
	Unsigned   bool `json:"unsigned,omitempty"` // quint8 (U8) rather than qint8 (I8)
	// prune
	Amount     *float64 `json:"amount,omitempty"` // fraction in [0, 1] (default 0.5)
	Global     bool     `json:"global,omitempty"`
	Structured bool     `json:"structured,omitempty"`
}

// Job is a job's state, the body of GET /v1/compress/jobs/{id}.
type Job struct {
	ID       string  `json:"id"`
	Model    string  `json:"model"`
	NewModel string  `json:"new_model"`
	Request  Request `json:"request"`
	Status   string  `json:"status"` // running, done, failed, cancelled
	Stage    string  `json:"stage"`  // what the job is doing
	Progress float64 `json:"progress"`
	Error    string  `json:"error,omitempty"`
	// Results, when done.
	Bytes     int     `json:"bytes,omitempty"`      // model.safetensors size of the new model
	FP32Bytes int     `json:"fp32_bytes,omitempty"` // the same for the source in float32
	Sparsity  float64 `json:"sparsity"`
	Dir       string  `json:"dir,omitempty"` // where the checkpoint was written
	Seconds   float64 `json:"seconds"`
	Created   string  `json:"created"`
}

type job struct {
	mu       sync.Mutex
	j        Job
	started  time.Time
	finished time.Time
	cancel   context.CancelFunc
	// served says the job's model was added to the registry; deleted
	// that the job was deleted (its model is removed when it finishes).
	served, deleted bool
	// model is the model the job added: only that one is removed with
	// the job (its id may have been deleted and reused since).
	model *wavenet.Model
}

func (j *job) snapshot() Job {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.j
	end := j.finished
	if end.IsZero() {
		end = time.Now()
	}
	s.Seconds = end.Sub(j.started).Seconds()
	return s
}

func (j *job) stage(name string, progress float64) {
	j.mu.Lock()
	j.j.Stage, j.j.Progress = name, progress
	j.mu.Unlock()
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// spec checks a request and returns what the job does.
type spec struct {
	save  compress.SaveOptions
	prune *compress.PruneOptions
}

func parseRequest(id string, req *Request) (spec, error) {
	var s spec
	switch req.Method {
	case "quantize":
		if req.DType == "" {
			req.DType = "int8"
		}
		f, err := compress.ParseFormat(req.DType)
		if err != nil || f == compress.FP32 {
			return s, fmt.Errorf("dtype %q: want int8, fp16 or bf16", req.DType)
		}
		req.DType = string(f)
		s.save = compress.SaveOptions{Format: f, PerChannel: req.PerChannel, DType: compress.QInt8, Scheme: compress.Symmetric}
		if req.Unsigned {
			s.save.DType = compress.QUInt8
		}
		if req.Affine {
			s.save.Scheme = compress.Affine
		}
		if req.NewID == "" {
			req.NewID = id + "-" + req.DType
		}
	case "prune":
		a := 0.5
		if req.Amount != nil {
			a = *req.Amount
		}
		if !(a >= 0 && a <= 1) {
			return s, fmt.Errorf("amount %v: want a fraction between 0 and 1", a)
		}
		req.Amount = &a
		s.prune = &compress.PruneOptions{Amount: compress.Fraction(a), Global: req.Global, Structured: req.Structured}
		s.save = compress.SaveOptions{Format: compress.FP32}
		if req.NewID == "" {
			req.NewID = fmt.Sprintf("%s-pruned%.0f", id, 100*a)
		}
	default:
		return s, fmt.Errorf("method %q: want quantize or prune", req.Method)
	}
	if !synth.ValidModelID(req.NewID) {
		return s, fmt.Errorf("new_id %q: want letters, digits, '.', '_' or '-', not starting with '.', at most 64 characters", req.NewID)
	}
	return s, nil
}

func (m *Manager) create(c echo.Context) error {
	id := c.Param("id")
	var req Request
	if err := api.DecodeJSON(c, &req); err != nil {
		return err
	}
	sp, err := parseRequest(id, &req)
	if err != nil {
		return api.Errorf(http.StatusBadRequest, "bad_request", "%v", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.reg == nil {
		return &api.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Err: ErrNoRegistry,
			Message: "this server cannot add models at run time; compress offline with `wavenet compress` and restart with --models"}
	}
	src, ok := m.reg.Model(id)
	if !ok {
		return api.Errorf(http.StatusNotFound, "not_found", "no model %q; GET /v1/models lists them", id)
	}
	if _, taken := m.reg.Model(req.NewID); taken {
		return api.Errorf(http.StatusConflict, "conflict", "model %q already exists; choose another new_id", req.NewID)
	}
	for _, j := range m.jobs {
		if s := j.snapshot(); s.NewModel == req.NewID && s.Status == "running" {
			return api.Errorf(http.StatusConflict, "conflict", "job %s is already making model %q", s.ID, req.NewID)
		}
	}
	if m.active >= m.opts.MaxActive {
		return &api.Error{Status: http.StatusTooManyRequests, Code: "busy", RetryAfter: 5,
			Message: fmt.Sprintf("at most %d compression jobs run at once; retry when one is done, or DELETE /v1/compress/jobs/{id} cancels one", m.opts.MaxActive)}
	}
	m.retainLocked(time.Now())
	ctx, cancel := context.WithCancel(m.ctx)
	j := &job{started: time.Now(), cancel: cancel}
	j.j = Job{ID: newID(), Model: id, NewModel: req.NewID, Request: req, Status: "running", Stage: "queued",
		Created: j.started.UTC().Format(time.RFC3339)}
	m.jobs[j.j.ID] = j
	m.active++
	m.wg.Add(1)
	go m.run(ctx, j, src, sp, m.reg)
	return c.JSON(http.StatusAccepted, j.snapshot())
}

// run does the job: copy, prune or quantize, save, register.
func (m *Manager) run(ctx context.Context, j *job, src *wavenet.Model, sp spec, reg Registry) {
	defer m.wg.Done()
	defer j.cancel()
	res, err := m.compress(ctx, j, src, sp, reg)
	j.mu.Lock()
	j.finished = time.Now()
	switch {
	case errors.Is(err, context.Canceled):
		j.j.Status = "cancelled"
	case err != nil:
		// The cause goes to the log; the client gets a message without
		// the server's internals.
		m.opts.Logger.Warn("compression job failed", "job", j.j.ID, "model", j.j.Model, "new_model", j.j.NewModel, "err", err)
		j.j.Status, j.j.Error = "failed", failMessage(err)
	default:
		j.j.Status, j.j.Stage, j.j.Progress = "done", "served", 1
		j.j.Bytes, j.j.FP32Bytes, j.j.Sparsity, j.j.Dir = res.Bytes, res.FP32Bytes, res.Sparsity, res.Dir
		j.served, j.model = true, res.model
	}
	deleted := j.deleted
	j.mu.Unlock()
	if deleted { // deleted while it ran: its model goes too
		m.dropOutputs(j)
	}
	m.mu.Lock()
	m.active--
	m.mu.Unlock()
}

// failMessage is what a client is told of a failed job.
func failMessage(err error) string {
	switch {
	case errors.Is(err, api.ErrModelExists):
		return "the new model's id was taken while the job ran; run it again with another new_id"
	case errors.Is(err, api.ErrClosed):
		return "the server shut down while the job ran; run it again"
	}
	return "the compression failed; the server log has the cause (search for the job id)"
}

// dropOutputs stops serving j's model, if it was served and is still
// the one served under its id, and deletes the checkpoint it wrote.
func (m *Manager) dropOutputs(j *job) {
	j.mu.Lock()
	served, dir, id, mdl := j.served, j.j.Dir, j.j.NewModel, j.model
	j.served, j.model = false, nil
	j.mu.Unlock()
	cur, ok := m.reg.Model(id)
	if served && ok && cur == mdl {
		if err := m.reg.RemoveModel(id); err != nil && !errors.Is(err, api.ErrNotFound) {
			m.opts.Logger.Warn("compression job's model not removed", "job", j.j.ID, "model", id, "err", err)
		}
	}
	if reused := ok && cur != mdl; dir != "" && !reused { // a later job's model has the id (and the directory) now
		if err := os.RemoveAll(dir); err != nil {
			m.opts.Logger.Warn("compression job's checkpoint not removed", "job", j.j.ID, "dir", dir, "err", err)
		}
	}
}

// retainLocked drops the finished jobs beyond the retention, with their
// models (m.mu held).
func (m *Manager) retainLocked(now time.Time) {
	var done []*job
	var at []time.Time
	for _, j := range m.jobs {
		j.mu.Lock()
		if !j.finished.IsZero() {
			done, at = append(done, j), append(at, j.finished)
		}
		j.mu.Unlock()
	}
	for _, i := range m.opts.Retention.Expired(at, now) {
		j := done[i]
		delete(m.jobs, j.j.ID)
		m.opts.Logger.Info("compression job expired", "job", j.j.ID, "model", j.j.NewModel)
		m.dropOutputs(j)
	}
}

// delete is DELETE /v1/compress/jobs/{id}: a running job is cancelled;
// the job is forgotten and the model it made stops being served.
func (m *Manager) delete(c echo.Context) error {
	id := c.Param("id")
	m.mu.Lock()
	j, ok := m.jobs[id]
	delete(m.jobs, id)
	m.mu.Unlock()
	if !ok {
		return api.Errorf(http.StatusNotFound, "not_found", "no compression job %q; GET /v1/compress/jobs lists them", id)
	}
	j.mu.Lock()
	running := j.finished.IsZero()
	j.deleted = true
	j.mu.Unlock()
	j.cancel()
	if !running {
		m.dropOutputs(j)
	} // else run drops them when the job stops
	return c.NoContent(http.StatusNoContent)
}

type result struct {
	Bytes, FP32Bytes int
	Sparsity         float64
	Dir              string
	model            *wavenet.Model // the model served
}

func (m *Manager) compress(ctx context.Context, j *job, src *wavenet.Model, sp spec, reg Registry) (result, error) {
	var r result
	j.stage("copying", 0.05)
	mdl := src.Clone()
	fp32, err := compress.Marshal(mdl, compress.SaveOptions{})
	if err != nil {
		return r, err
	}
	r.FP32Bytes = len(fp32)
	if err := ctx.Err(); err != nil {
		return r, err
	}
	if sp.prune != nil {
		j.stage("pruning", 0.2)
		if _, err := compress.PruneModel(mdl, *sp.prune, nil); err != nil {
			return r, err
		}
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	j.stage("quantizing", 0.5)
	q, n, err := compress.Quantized(mdl, sp.save)
	if err != nil {
		return r, err
	}
	r.Bytes, r.Sparsity = n, compress.Sparsity(q)
	snap := j.snapshot()
	if m.opts.Dir != "" {
		j.stage("saving", 0.7)
		r.Dir = filepath.Join(m.opts.Dir, snap.NewModel)
		if err := compress.Save(ctx, r.Dir, mdl, sp.save); err != nil {
			return r, err
		}
	}
	j.stage("registering", 0.9)
	if err := reg.AddModel(snap.NewModel, q, Served{Source: snap.Model, Int8: sp.save.Format == compress.Int8}); err != nil {
		return r, fmt.Errorf("compressapi: serve %s: %w", snap.NewModel, err)
	}
	r.model = q
	return r, nil
}

func (m *Manager) get(c echo.Context) error {
	m.mu.Lock()
	if m.reg != nil {
		m.retainLocked(time.Now())
	}
	j, ok := m.jobs[c.Param("id")]
	m.mu.Unlock()
	if !ok {
		return api.Errorf(http.StatusNotFound, "not_found", "no compression job %q; GET /v1/compress/jobs lists them", c.Param("id"))
	}
	return c.JSON(http.StatusOK, j.snapshot())
}

func (m *Manager) list(c echo.Context) error {
	m.mu.Lock()
	m.retainLocked(time.Now())
	out := make([]Job, 0, len(m.jobs))
	for _, j := range m.jobs {
		out = append(out, j.snapshot())
	}
	m.mu.Unlock()
	sort.Slice(out, func(a, b int) bool {
		return out[a].Created < out[b].Created || (out[a].Created == out[b].Created && out[a].ID < out[b].ID)
	})
	return c.JSON(http.StatusOK, map[string]any{"jobs": out})
}
