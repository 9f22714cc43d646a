package jobsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/jobs"
)

// Options configure the routes.
type Options struct {
	Store *jobs.Store
	// Validate checks a job's request before it is queued (the job kinds'
	// own check, kinds.Validate); its errors answer 400. Nil: any kind
	// jobs.ValidKind accepts is queued as it is.
	Validate func(ctx context.Context, kind string, request json.RawMessage) error
	// Heartbeat is the interval of the comments that keep an event
	// stream open through proxies (default 15 s).
	Heartbeat time.Duration
}

// Service serves the job routes.
type Service struct{ o Options }

// New returns the service; mount its Feature.
func New(o Options) *Service {
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	return &Service{o: o}
}

// Feature returns the routes for api.Options.Features.
func (s *Service) Feature() api.Feature {
	return api.Feature{
		Name: "jobs",
		Routes: func(g *echo.Group) {
			g.POST("/jobs", s.submit)
			g.GET("/jobs", s.list)
			g.GET("/jobs/:id", s.get)
			g.DELETE("/jobs/:id", s.delete)
			g.GET("/jobs/:id/events", s.events)
			g.GET("/jobs/:id/outputs/:name", s.output)
		},
		OpenAPI: openAPI,
	}
}

// Submitted is the answer to POST /v1/jobs.
type Submitted struct {
	ID    string     `json:"id"`
	State jobs.State `json:"state"`
}

// httpError maps the store's errors to the service's error answers.
func httpError(err error, id string) error {
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, jobs.ErrNotFound):
		return api.Errorf(http.StatusNotFound, "not_found", "no job %q (or no such output); GET /v1/jobs lists the jobs and GET /v1/jobs/{id} their outputs", id)
	case errors.Is(err, jobs.ErrBadRequest):
		return &api.Error{Status: http.StatusBadRequest, Code: "bad_request", Message: err.Error(), Err: err}
	case errors.Is(err, jobs.ErrFinished):
		return &api.Error{Status: http.StatusConflict, Code: "conflict", Message: fmt.Sprintf("job %s is already finished; DELETE it again to delete it", id), Err: err}
	default:
		return &api.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", RetryAfter: 5, Err: err,
			Message: "the job store (NATS JetStream) did not answer; retry later"}
	}
}

func (s *Service) submit(c echo.Context) error {
	var body map[string]json.RawMessage
	if err := api.DecodeJSON(c, &body); err != nil {
		return err
	}
	var kind string
	if err := json.Unmarshal(body["kind"], &kind); err != nil || kind == "" {
		return api.Errorf(http.StatusBadRequest, "bad_request", "kind: give the job's kind as a string (train, compress, synthesize, rl)")
	}
	delete(body, "kind")
	req, err := json.Marshal(body)
	if err != nil {
		return api.Errorf(http.StatusBadRequest, "bad_request", "the job's fields: %v", err)
	}
	if !jobs.ValidKind(kind) {
		return api.Errorf(http.StatusBadRequest, "bad_request", "kind %q: want a job kind (train, compress, synthesize, rl)", kind)
	}
	if s.o.Validate != nil {
		if err := s.o.Validate(c.Request().Context(), kind, req); err != nil {
			return &api.Error{Status: http.StatusBadRequest, Code: "bad_request", Message: err.Error(), Err: err}
		}
	}
	j, err := s.o.Store.Submit(c.Request().Context(), kind, req)
	if err != nil {
		return httpError(err, "")
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/jobs/"+j.ID)
	return c.JSON(http.StatusAccepted, Submitted{ID: j.ID, State: j.State})
}

func (s *Service) list(c echo.Context) error {
	all, err := s.o.Store.List(c.Request().Context())
	if err != nil {
		return httpError(err, "")
	}
	kind, state := c.QueryParam("kind"), jobs.State(c.QueryParam("state"))
	out := make([]jobs.Job, 0, len(all))
	for _, j := range all {
		if (kind == "" || j.Kind == kind) && (state == "" || j.State == state) {
			out = append(out, j)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"jobs": out})
}

func (s *Service) get(c echo.Context) error {
	j, err := s.o.Store.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return httpError(err, c.Param("id"))
	}
	return c.JSON(http.StatusOK, j)
}

// delete cancels a job not finished (202 with its record) or deletes a
// finished one with its outputs (204).
func (s *Service) delete(c echo.Context) error {
	ctx, id := c.Request().Context(), c.Param("id")
	j, err := s.o.Store.Cancel(ctx, id)
	if errors.Is(err, jobs.ErrFinished) {
		err = s.o.Store.Delete(ctx, id)
		if err == nil {
			return c.NoContent(http.StatusNoContent)
		}
	}
	if err != nil {
		return httpError(err, id)
	}
	return c.JSON(http.StatusAccepted, j)
}

// events streams the job's record each time it changes, as server-sent
// events named "job", until the job is finished or deleted or the
// client goes away.
func (s *Service) events(c echo.Context) error {
	ctx, id := c.Request().Context(), c.Param("id")
	ch, err := s.o.Store.Watch(ctx, id)
	if err != nil {
		return httpError(err, id)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	c.Response().WriteHeader(http.StatusOK)
	c.Response().Flush()
	tick := time.NewTicker(s.o.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if _, err := c.Response().Write([]byte(": keep-alive\n\n")); err != nil {
				return nil
			}
			c.Response().Flush()
		case j, ok := <-ch:
			if !ok {
				return nil // deleted
			}
			b, err := json.Marshal(j)
			if err != nil {
				return nil
			}
			if _, err := fmt.Fprintf(c.Response(), "event: job\ndata: %s\n\n", b); err != nil {
				return nil
			}
			c.Response().Flush()
			if j.State.Final() {
				return nil
			}
		}
	}
}

func (s *Service) output(c echo.Context) error {
	ctx, id := c.Request().Context(), c.Param("id")
	name, err := url.PathUnescape(c.Param("name")) // model%2Fconfig.json
	if err != nil {
		return api.Errorf(http.StatusBadRequest, "bad_request", "output name %q: escape '/' as %%2F and nothing else", c.Param("name"))
	}
	r, o, err := s.o.Store.OpenOutput(ctx, id, name)
	if err != nil {
		return httpError(err, id)
	}
	defer r.Close()
	ct := o.ContentType
	if ct == "" {
		ct = echo.MIMEOctetStream
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentLength, strconv.FormatInt(o.Size, 10))
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", path.Base(name)))
	return c.Stream(http.StatusOK, ct, r)
}
