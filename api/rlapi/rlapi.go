package rlapi

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/api/internal/jobview"
	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/jobs/kinds"
	"github.com/wavenet-go/wavenet/rl"
)

// Options configure the routes.
type Options struct {
	// Store keeps the runs, as rl jobs (required).
	Store       *jobs.Store
	MaxEpisodes int // per run (default 100,000)
	// TempDir is where a run's policy is fetched to be loaded (removed
	// afterwards); "" is the system's.
	TempDir string
}

// Service serves the rl routes over the job store.
type Service struct {
	o Options
	v jobview.View
	// policies caches the policies act loaded, by job id: a client that
	// acts step by step fetches the policy once.
	mu       sync.Mutex
	policies map[string]rl.Policy
}

// maxPolicies bounds the policies cached (a tabular one is a few KB, a
// network's up to a few MB).
const maxPolicies = 16

// New returns the service; mount its Feature.
func New(o Options) *Service {
	if o.MaxEpisodes <= 0 {
		o.MaxEpisodes = 100000
	}
	return &Service{o: o, policies: map[string]rl.Policy{},
		v: jobview.View{Store: o.Store, Kind: kinds.RL, NotFound: "no rl run with id %q; POST /v1/rl/runs starts one"}}
}

// Feature returns the routes for api.Options.Features.
func (s *Service) Feature() api.Feature {
	return api.Feature{
		Name: "rl",
		Routes: func(g *echo.Group) {
			g.POST("/rl/runs", s.create)
			g.GET("/rl/runs/:id", s.get)
			g.POST("/rl/runs/:id/act", s.act)
			g.DELETE("/rl/runs/:id", s.delete)
		},
		OpenAPI: openAPI,
	}
}

// Run is the view of an rl job, the body of GET /v1/rl/runs/{id}.
type Run struct {
	ID string `json:"id"`
	// Status is running (also while queued), done, failed or cancelled;
	// State is the job's own state, as GET /v1/jobs/{id} shows it.
	Status   string       `json:"status"`
	State    jobs.State   `json:"state"`
	Stage    string       `json:"stage,omitempty"`
	Progress float64      `json:"progress"`
	Error    string       `json:"error,omitempty"`
	Config   rl.RunConfig `json:"config"`
	Episodes int          `json:"episodes_done"`
	// Returns (GET of a finished run) is the learning curve.
	Returns    []float64 `json:"returns,omitempty"`
	EvalMean   *float64  `json:"eval_mean,omitempty"`
	WallSecond float64   `json:"wall_seconds"`
}

// view returns the view of j, an rl job, without its curve.
func view(j jobs.Job, now time.Time) Run {
	var cfg rl.RunConfig
	_ = json.Unmarshal(j.Request, &cfg) // the store holds what Submit was given
	v := Run{ID: j.ID, State: j.State, Stage: j.Stage, Progress: j.Progress, Error: j.Error, Config: cfg,
		Episodes: int(math.Round(j.Progress * float64(cfg.Episodes)))}
	v.Status, v.WallSecond = jobview.Status(j.State), jobview.Seconds(j, now)
	var res kinds.RLResult
	if j.State == jobs.Succeeded && json.Unmarshal(j.Result, &res) == nil {
		v.Episodes, v.EvalMean = res.Episodes, &res.EvalMean
	}
	return v
}

// create is POST /v1/rl/runs: it submits an rl job.
func (s *Service) create(c echo.Context) error {
	var cfg rl.RunConfig
	if err := api.DecodeJSON(c, &cfg); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return api.Errorf(http.StatusBadRequest, "bad_request", "%s", strings.TrimPrefix(err.Error(), "rl: bad run config: "))
	}
	if cfg.Episodes > s.o.MaxEpisodes {
		return api.Errorf(http.StatusBadRequest, "bad_request", "episodes must be between 1 and %d, got %d", s.o.MaxEpisodes, cfg.Episodes)
	}
	if cfg.EvalEpisodes < 0 || cfg.EvalEpisodes > 100000 {
		return api.Errorf(http.StatusBadRequest, "bad_request", "eval_episodes must be between 0 and 100000, got %d", cfg.EvalEpisodes)
	}
	body, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	j, err := s.o.Store.Submit(c.Request().Context(), kinds.RL, body)
	if err != nil {
		return s.v.Error(err, "")
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/rl/runs/"+j.ID)
	return c.JSON(http.StatusAccepted, view(j, time.Now()))
}

// get is GET /v1/rl/runs/{id}; a finished run has its learning curve,
// read from its summary.json output.
func (s *Service) get(c echo.Context) error {
	ctx, id := c.Request().Context(), c.Param("id")
	j, err := s.v.Get(ctx, id)
	if err != nil {
		return err
	}
	v := view(j, time.Now())
	if j.State == jobs.Succeeded {
		b, err := s.o.Store.ReadOutput(ctx, id, kinds.RunPrefix+"/summary.json")
		if err != nil {
			return s.v.Error(err, id)
		}
		var sum rl.Summary
		if err := json.Unmarshal(b, &sum); err != nil {
			return fmt.Errorf("rlapi: run %s: summary.json: %w", id, err)
		}
		v.Returns = sum.Returns
	}
	return c.JSON(http.StatusOK, v)
}

type actRequest struct {
	Observation []float64 `json:"observation"`
}

func (s *Service) act(c echo.Context) error {
	ctx, id := c.Request().Context(), c.Param("id")
	j, err := s.v.Get(ctx, id)
	if err != nil {
		return err
	}
	var req actRequest
	if err := api.DecodeJSON(c, &req); err != nil {
		return err
	}
	if j.State != jobs.Succeeded {
		return api.Errorf(http.StatusConflict, "not_ready", "run %s is %s and has no policy yet; poll GET /v1/rl/runs/%s until status is done", id, view(j, time.Now()).Status, id)
	}
	for i, v := range req.Observation {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return api.Errorf(http.StatusBadRequest, "bad_request", "observation[%d] is not a finite number", i)
		}
	}
	p, err := s.policy(ctx, j)
	if err != nil {
		return err
	}
	if p == nil {
		return api.Errorf(http.StatusConflict, "no_policy", "run %s (agent %s) keeps no policy: bandit runs have only their curve", id, view(j, time.Now()).Config.Agent)
	}
	a, err := p.Act(req.Observation)
	if err != nil {
		return api.Errorf(http.StatusBadRequest, "bad_request", "%s", strings.TrimPrefix(err.Error(), "rl: "))
	}
	return c.JSON(http.StatusOK, map[string]int{"action": a})
}

// policy returns the policy of succeeded rl job j, fetched from its
// outputs the first time (nil for an agent that keeps none).
func (s *Service) policy(ctx context.Context, j jobs.Job) (rl.Policy, error) {
	s.mu.Lock()
	p, ok := s.policies[j.ID]
	s.mu.Unlock()
	if ok {
		return p, nil
	}
	dir, err := os.MkdirTemp(s.o.TempDir, "rl-"+j.ID+"-")
	if err != nil {
		return nil, fmt.Errorf("rlapi: %w", err)
	}
	defer os.RemoveAll(dir)
	for _, o := range j.Outputs {
		name, ok := strings.CutPrefix(o.Name, kinds.RunPrefix+"/")
		if !ok || !strings.HasSuffix(name, ".json") || strings.Contains(name, "/") {
			continue
		}
		b, err := s.o.Store.ReadOutput(ctx, j.ID, o.Name)
		if err != nil {
			return nil, s.v.Error(err, j.ID)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return nil, fmt.Errorf("rlapi: %w", err)
		}
	}
	run, err := rl.LoadRun(dir)
	if err != nil {
		return nil, fmt.Errorf("rlapi: run %s: %w", j.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.policies) >= maxPolicies {
		for id := range s.policies { // any one
			delete(s.policies, id)
			break
		}
	}
	s.policies[j.ID] = run.Policy
	return run.Policy, nil
}

// delete is DELETE /v1/rl/runs/{id}: a run not finished is cancelled
// (202 with its view; DELETE it again once it is cancelled), a finished
// one deleted with its outputs (204).
func (s *Service) delete(c echo.Context) error {
	id := c.Param("id")
	j, deleted, err := s.v.CancelOrDelete(c.Request().Context(), id)
	switch {
	case err != nil:
		return err
	case deleted:
		s.mu.Lock()
		delete(s.policies, id)
		s.mu.Unlock()
		return c.NoContent(http.StatusNoContent)
	}
	return c.JSON(http.StatusAccepted, view(j, time.Now()))
}
