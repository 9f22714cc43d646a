package rlapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/rl"
)

// Options bound the work the service accepts.
type Options struct {
	MaxActive   int // runs training at once (default 2); more get 429
	MaxEpisodes int // per run (default 100,000)
	// Retention bounds the finished runs kept (default: the newest 32,
	// for a day); DELETE /v1/rl/runs/{id} drops one at once.
	Retention api.Retention
	// Logger receives run failures (default slog.Default()).
	Logger *slog.Logger
}

// manager holds the runs.
type manager struct {
	opts   Options
	mu     sync.Mutex
	runs   map[string]*job
	active int
	wg     sync.WaitGroup
}

type job struct {
	id       string
	cfg      rl.RunConfig
	cancel   context.CancelFunc
	mu       sync.Mutex
	status   string // queued, running, done, failed, cancelled
	err      string
	returns  []float64
	run      *rl.Run
	started  time.Time
	finished time.Time
}

// New returns the rl feature for api.Options.Features and the function
// that cancels its runs and waits for them to stop (call it at shutdown).
func New(opts Options) (api.Feature, func()) {
	m := newManager(opts)
	return m.feature(), m.close
}

func newManager(opts Options) *manager {
	if opts.MaxActive <= 0 {
		opts.MaxActive = 2
	}
	opts.Retention = opts.Retention.WithDefaults()
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxEpisodes <= 0 {
		opts.MaxEpisodes = 100000
	}
	return &manager{opts: opts, runs: map[string]*job{}}
}

// close cancels every run and waits for them to stop.
func (m *manager) close() {
	m.mu.Lock()
	for _, j := range m.runs {
		j.cancel()
	}
	m.mu.Unlock()
	m.wg.Wait()
}

func (m *manager) feature() api.Feature {
	return api.Feature{
		Name: "rl",
		Routes: func(g *echo.Group) {
			g.POST("/rl/runs", m.create)
			g.GET("/rl/runs/:id", m.get)
			g.POST("/rl/runs/:id/act", m.act)
			g.DELETE("/rl/runs/:id", m.delete)
		},
		OpenAPI: openAPI,
	}
}

type createRequest struct {
	Env          string `json:"env"`
	Agent        string `json:"agent"`
	Episodes     int    `json:"episodes"`
	Seed         uint64 `json:"seed"`
	EvalEpisodes int    `json:"eval_episodes"`
}

type runStatus struct {
	ID         string       `json:"id"`
	Status     string       `json:"status"`
	Error      string       `json:"error,omitempty"`
	Config     rl.RunConfig `json:"config"`
	Episodes   int          `json:"episodes_done"`
	Returns    []float64    `json:"returns,omitempty"`
	EvalMean   *float64     `json:"eval_mean,omitempty"`
	WallSecond float64      `json:"wall_seconds"`
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (m *manager) create(c echo.Context) error {
	var req createRequest
	if err := api.DecodeJSON(c, &req); err != nil {
		return err
	}
	cfg := rl.RunConfig{Env: req.Env, Agent: req.Agent, Episodes: req.Episodes, Seed: req.Seed, EvalEpisodes: req.EvalEpisodes}
	if err := cfg.Validate(); err != nil {
		return api.Errorf(http.StatusBadRequest, "bad_request", "%s", strings.TrimPrefix(err.Error(), "rl: bad run config: "))
	}
	if req.Episodes > m.opts.MaxEpisodes {
		return api.Errorf(http.StatusBadRequest, "bad_request", "episodes must be between 1 and %d, got %d", m.opts.MaxEpisodes, req.Episodes)
	}
	if req.EvalEpisodes < 0 || req.EvalEpisodes > 100000 {
		return api.Errorf(http.StatusBadRequest, "bad_request", "eval_episodes must be between 0 and 100000, got %d", req.EvalEpisodes)
	}
	m.mu.Lock()
	if m.active >= m.opts.MaxActive {
		m.mu.Unlock()
		return &api.Error{Status: http.StatusTooManyRequests, Code: "busy", RetryAfter: 10,
			Message: fmt.Sprintf("at most %d runs train at once; wait, or DELETE /v1/rl/runs/{id} cancels one", m.opts.MaxActive)}
	}
	m.retainLocked(time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	j := &job{id: newID(), cfg: cfg, cancel: cancel, status: "running", started: time.Now()}
	m.runs[j.id] = j
	m.active++
	m.wg.Add(1)
	m.mu.Unlock()
	go m.train(ctx, j)
	return c.JSON(http.StatusAccepted, j.snapshot(false))
}

func (m *manager) train(ctx context.Context, j *job) {
	defer m.wg.Done()
	run, err := rl.Train(ctx, j.cfg, func(ep int, ret float64) {
		j.mu.Lock()
		j.returns = append(j.returns, ret)
		j.mu.Unlock()
	})
	j.mu.Lock()
	j.run, j.finished = run, time.Now()
	switch {
	case errors.Is(err, context.Canceled):
		j.status = "cancelled"
	case err != nil:
		// The cause goes to the log; the client gets a message without
		// the server's internals.
		m.opts.Logger.Warn("rl run failed", "run", j.id, "err", err)
		j.status, j.err = "failed", "the run failed; the server log has the cause (search for the run id)"
	default:
		j.status = "done"
	}
	j.mu.Unlock()
	m.mu.Lock()
	m.active--
	m.mu.Unlock()
}

// retainLocked drops the finished runs beyond the retention (m.mu held).
func (m *manager) retainLocked(now time.Time) {
	var done []*job
	var at []time.Time
	for _, j := range m.runs {
		j.mu.Lock()
		if !j.finished.IsZero() {
			done, at = append(done, j), append(at, j.finished)
		}
		j.mu.Unlock()
	}
	for _, i := range m.opts.Retention.Expired(at, now) {
		delete(m.runs, done[i].id)
	}
}

func (j *job) snapshot(curve bool) runStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := runStatus{ID: j.id, Status: j.status, Error: j.err, Config: j.cfg, Episodes: len(j.returns)}
	end := j.finished
	if end.IsZero() {
		end = time.Now()
	}
	s.WallSecond = end.Sub(j.started).Seconds()
	returns := j.returns
	if j.run != nil && len(j.run.Summary.Returns) > 0 {
		returns = j.run.Summary.Returns
		s.Episodes = len(returns)
	}
	if curve {
		s.Returns = append([]float64(nil), returns...)
	}
	if j.status == "done" && j.run != nil {
		v := j.run.Summary.EvalMean
		s.EvalMean = &v
	}
	return s
}

func (m *manager) lookup(c echo.Context) (*job, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.retainLocked(time.Now())
	j, ok := m.runs[c.Param("id")]
	if !ok {
		return nil, api.Errorf(http.StatusNotFound, "not_found", "no rl run with id %q; POST /v1/rl/runs starts one", c.Param("id"))
	}
	return j, nil
}

func (m *manager) get(c echo.Context) error {
	j, err := m.lookup(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, j.snapshot(true))
}

type actRequest struct {
	Observation []float64 `json:"observation"`
}

func (m *manager) act(c echo.Context) error {
	j, err := m.lookup(c)
	if err != nil {
		return err
	}
	var req actRequest
	if err := api.DecodeJSON(c, &req); err != nil {
		return err
	}
	j.mu.Lock()
	status, run := j.status, j.run
	j.mu.Unlock()
	if status != "done" || run == nil || run.Policy == nil {
		return api.Errorf(http.StatusConflict, "not_ready", "run %s is %s and has no policy yet; poll GET /v1/rl/runs/%s until status is done", j.id, status, j.id)
	}
	for i, v := range req.Observation {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return api.Errorf(http.StatusBadRequest, "bad_request", "observation[%d] is not a finite number", i)
		}
	}
	a, err := run.Policy.Act(req.Observation)
	if err != nil {
		return api.Errorf(http.StatusBadRequest, "bad_request", "%s", strings.TrimPrefix(err.Error(), "rl: "))
	}
	return c.JSON(http.StatusOK, map[string]int{"action": a})
}

func (m *manager) delete(c echo.Context) error {
	j, err := m.lookup(c)
	if err != nil {
		return err
	}
	j.cancel()
	m.mu.Lock()
	delete(m.runs, j.id)
	m.mu.Unlock()
	return c.NoContent(http.StatusNoContent)
}
