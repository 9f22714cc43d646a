package compressapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/api/internal/jobview"
	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/jobs/kinds"
	"github.com/wavenet-go/wavenet/models"
)

// Options configure the routes.
type Options struct {
	// Store keeps the jobs (required).
	Store *jobs.Store
}

// Service serves the compression routes over the job store.
type Service struct {
	o Options
	v jobview.View
}

// New returns the service; mount its Feature.
func New(o Options) *Service {
	return &Service{o: o, v: jobview.View{Store: o.Store, Kind: kinds.Compress,
		NotFound: "no compression job %q; GET /v1/compress/jobs lists them"}}
}

// Feature returns the routes for api.Options.Features.
func (s *Service) Feature() api.Feature {
	return api.Feature{
		Name: "compress",
		Routes: func(g *echo.Group) {
			g.POST("/models/:id/compress", s.create)
			g.GET("/compress/jobs", s.list)
			g.GET("/compress/jobs/:id", s.get)
			g.DELETE("/compress/jobs/:id", s.delete)
		},
		OpenAPI: openAPI,
	}
}

// Request is the body of POST /v1/models/{id}/compress: the fields of a
// compress job (kinds.CompressRequest) but its source, which is the
// route's model id.
type Request struct {
	Method string `json:"method"` // quantize or prune
	// NewID is refused: the new model is served under the job's id.
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

// Job is the view of a compress job, the body of
// GET /v1/compress/jobs/{id}.
type Job struct {
	ID string `json:"id"`
	// Model is the source: an embedded model or the id of the job that
	// made it. NewModel is the id the new model is served under: the
	// job's id.
	Model    string  `json:"model"`
	NewModel string  `json:"new_model"`
	Request  Request `json:"request"`
	// Status is running (also while queued), done, failed or cancelled;
	// State is the job's own state (queued, running, succeeded, failed,
	// cancelled), as GET /v1/jobs/{id} shows it.
	Status   string     `json:"status"`
	State    jobs.State `json:"state"`
	Stage    string     `json:"stage"`
	Progress float64    `json:"progress"`
	Error    string     `json:"error,omitempty"`
	// Results, when done.
	Bytes     int     `json:"bytes,omitempty"`      // model.safetensors size of the new model
	FP32Bytes int     `json:"fp32_bytes,omitempty"` // the same for the source in float32
	Sparsity  float64 `json:"sparsity"`
	Seconds   float64 `json:"seconds"` // running time so far, or in all
	Created   string  `json:"created"`
}

// view returns the view of j, a compress job.
func view(j jobs.Job, now time.Time) Job {
	var r kinds.CompressRequest
	_ = json.Unmarshal(j.Request, &r) // the store holds what Submit was given
	v := Job{ID: j.ID, Model: r.Model + r.Job, NewModel: j.ID, Status: jobview.Status(j.State), State: j.State,
		Stage: j.Stage, Progress: j.Progress, Error: j.Error, Created: j.Created.UTC().Format(time.RFC3339),
		Request: Request{Method: r.Method, DType: r.DType, PerChannel: r.PerChannel, Affine: r.Affine,
			Unsigned: r.Unsigned, Amount: r.Amount, Global: r.Global, Structured: r.Structured}}
	if j.State == jobs.Queued && v.Stage == "" {
		v.Stage = "queued"
	}
	v.Seconds = jobview.Seconds(j, now)
	var res kinds.CompressResult
	if j.State == jobs.Succeeded && json.Unmarshal(j.Result, &res) == nil {
		v.Bytes, v.FP32Bytes, v.Sparsity = res.Bytes, res.FP32Bytes, res.Sparsity
	}
	return v
}

// source returns the compress job's source for model id: an embedded
// model, or a job that made a model.
func (s *Service) source(ctx context.Context, id string) (kinds.CompressRequest, error) {
	if slices.Contains(models.IDs(), id) {
		return kinds.CompressRequest{Model: id}, nil
	}
	j, err := s.o.Store.Get(ctx, id)
	switch {
	case errors.Is(err, jobs.ErrNotFound):
		return kinds.CompressRequest{}, api.Errorf(http.StatusNotFound, "not_found",
			"no model %q that a compression job can read: give an embedded model (%v) or the id of a job that made a model (GET /v1/models lists them)", id, models.IDs())
	case err != nil:
		return kinds.CompressRequest{}, s.v.Error(err, id)
	case !kinds.HasModel(j):
		return kinds.CompressRequest{}, api.Errorf(http.StatusConflict, "conflict", "job %s is %s and has no model; compress it once it has succeeded", id, j.State)
	}
	return kinds.CompressRequest{Job: id}, nil
}

// create is POST /v1/models/{id}/compress: it submits a compress job.
func (s *Service) create(c echo.Context) error {
	ctx, id := c.Request().Context(), c.Param("id")
	var req Request
	if err := api.DecodeJSON(c, &req); err != nil {
		return err
	}
	if req.NewID != "" {
		return api.Errorf(http.StatusBadRequest, "bad_request", "new_id %q: the new model is served under the job's id (new_model in the answer); leave new_id out", req.NewID)
	}
	switch {
	case req.Method == "quantize" && req.DType == "":
		req.DType = "int8"
	case req.Method == "prune" && req.Amount == nil:
		a := 0.5
		req.Amount = &a
	}
	r, err := s.source(ctx, id)
	if err != nil {
		return err
	}
	r.Method, r.DType, r.PerChannel, r.Affine, r.Unsigned = req.Method, req.DType, req.PerChannel, req.Affine, req.Unsigned
	r.Amount, r.Global, r.Structured = req.Amount, req.Global, req.Structured
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := kinds.Validate(ctx, kinds.Compress, body); err != nil {
		return &api.Error{Status: http.StatusBadRequest, Code: "bad_request", Message: err.Error(), Err: err}
	}
	j, err := s.o.Store.Submit(ctx, kinds.Compress, body)
	if err != nil {
		return s.v.Error(err, "")
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/compress/jobs/"+j.ID)
	return c.JSON(http.StatusAccepted, view(j, time.Now()))
}

func (s *Service) get(c echo.Context) error {
	j, err := s.v.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view(j, time.Now()))
}

func (s *Service) list(c echo.Context) error {
	all, err := s.o.Store.List(c.Request().Context())
	if err != nil {
		return s.v.Error(err, "")
	}
	now := time.Now()
	out := []Job{}
	for _, j := range all {
		if j.Kind == kinds.Compress {
			out = append(out, view(j, now))
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"jobs": out})
}

// delete is DELETE /v1/compress/jobs/{id}: a job not finished is
// cancelled (202 with its view; DELETE it again once it is cancelled);
// a finished one is deleted with its model (204), which every replica
// stops serving within seconds.
func (s *Service) delete(c echo.Context) error {
	j, deleted, err := s.v.CancelOrDelete(c.Request().Context(), c.Param("id"))
	switch {
	case err != nil:
		return err
	case deleted:
		return c.NoContent(http.StatusNoContent)
	}
	return c.JSON(http.StatusAccepted, view(j, time.Now()))
}
