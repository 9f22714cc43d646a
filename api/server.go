package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/wavenet-go/wavenet/synth"
)

// Options configures a Server. The zero value serves nothing useful (no
// models) but is valid; fields left zero take the defaults documented on
// each field.
type Options struct {
	// Models are the models to serve, by id (ids match [A-Za-z0-9._-]+):
	// each with its int8 form and speech duration statistics
	// (synth.LoadModels, synth.LoadFS). A bundle without Stats says text
	// with speech.DefaultDuration.
	Models map[string]*synth.Bundle
	// ModelSource, when set, holds more models (those made by jobs, shared
	// by every replica): each is loaded when a request first names it and
	// evicted, least recently used first, beyond ModelBudget bytes
	// (synth.Source; default 1 GiB).
	ModelSource synth.Source
	ModelBudget int64
	// FailedModels are models that were to be served but did not load
	// (synth.LoadServed's failed), by id: GET /v1/models lists them with
	// their errors under "failed", and they are not served.
	FailedModels map[string]error
	// Features are the route groups served besides the core routes
	// (detection, rl, compress: see Feature); the server serves exactly
	// these.
	Features []Feature
	// Page, when not nil, serves the web page (package web): GET / and
	// GET /static/* are handed to it, outside /v1 and without API-key
	// auth (the page asks for the key and sends it on its own requests).
	// They are not API operations: /openapi.json leaves them out.
	Page http.Handler
	// APIKeys, when not empty, are required on every /v1 route as
	// "Authorization: Bearer KEY" or "X-API-Key: KEY".
	APIKeys []string
	// MaxStreams is the number of generator slots per model: requests
	// generated together in one batch (default 16).
	MaxStreams int
	// Workers is the number of generators (goroutines) per model that
	// share its slots, each batching the streams it holds: parallelism
	// across cores on top of batching (default min(GOMAXPROCS, 4)).
	Workers int
	// MaxQueue is how many requests per model may wait for a slot before
	// new ones get 429 (default MaxStreams).
	MaxQueue int
	// QueueWait is how long a queued request waits for a slot before it
	// gets 429 (default 10 s).
	QueueWait time.Duration
	// MaxSeconds is the longest audio one request may ask for (default 30).
	MaxSeconds float64
	// MaxScoreSeconds is the longest WAV /v1/score accepts (default 20).
	MaxScoreSeconds float64
	// MaxScores is how many /v1/score requests run their forward pass at
	// once (default GOMAXPROCS); as many more may wait QueueWait, the rest
	// get 429.
	MaxScores int
	// MaxBodyBytes bounds request bodies (default 32 MiB); a larger
	// declared Content-Length is refused before reading.
	MaxBodyBytes int64
	// RequestTimeout is the server-wide deadline of one request (default 5 min).
	RequestTimeout time.Duration
	// CORSOrigins enables CORS for these origins ("*" for any); empty = off.
	CORSOrigins []string
	// ChunkSamples is how many samples a stream collects before they are
	// handed to its request (default 1/10 s of audio at the model's rate).
	ChunkSamples int
	// Logger receives access logs and errors (default slog.Default()).
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	eo := synth.Options{MaxStreams: o.MaxStreams, Workers: o.Workers, MaxQueue: o.MaxQueue, QueueWait: o.QueueWait,
		MaxSeconds: o.MaxSeconds, ChunkSamples: o.ChunkSamples}.WithDefaults()
	// MaxQueue stays as given: synth.New reads it (negative: none).
	o.MaxStreams, o.Workers, o.QueueWait, o.MaxSeconds = eo.MaxStreams, eo.Workers, eo.QueueWait, eo.MaxSeconds
	if o.MaxScoreSeconds <= 0 {
		o.MaxScoreSeconds = 20
	}
	if o.MaxScores <= 0 {
		o.MaxScores = runtime.GOMAXPROCS(0)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 32 << 20
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Server is the synthesis service. Create it with New and Serve it on a
// listener (or serve Handler with an http.Server and call Shutdown to
// drain it).
type Server struct {
	opts     Options
	log      *slog.Logger
	echo     *echo.Echo
	keys     [][sha256.Size]byte
	metrics  *metrics
	features []Feature
	// engine generates: the served models and their schedulers.
	engine *synth.Engine
	// scoreAdmit and scoreRun bound /v1/score: admitted (running or
	// waiting) and running forward passes.
	scoreAdmit, scoreRun chan struct{}
	busyLog              *busyLog
	// added are the models added at run time (AddModel): the ones
	// RemoveModel may remove.
	addedMu sync.Mutex
	added   map[string]bool
}

// New builds a Server from opts.
func New(opts Options) (*Server, error) {
	opts.setDefaults()
	s := &Server{opts: opts, log: opts.Logger, busyLog: &busyLog{log: opts.Logger}, added: map[string]bool{}}
	for _, k := range opts.APIKeys {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		s.keys = append(s.keys, sha256.Sum256([]byte(k)))
	}
	s.features = append([]Feature(nil), opts.Features...)
	seen := map[string]bool{}
	for _, f := range s.features {
		if f.Name == "" || seen[f.Name] {
			return nil, fmt.Errorf("api: feature name %q is empty or used twice", f.Name)
		}
		seen[f.Name] = true
	}
	s.metrics = newMetrics()
	s.scoreAdmit = make(chan struct{}, 2*opts.MaxScores)
	s.scoreRun = make(chan struct{}, opts.MaxScores)
	var err error
	s.engine, err = synth.New(opts.Models, synth.Options{MaxStreams: opts.MaxStreams, Workers: opts.Workers,
		MaxQueue: opts.MaxQueue, QueueWait: opts.QueueWait, MaxSeconds: opts.MaxSeconds, ChunkSamples: opts.ChunkSamples,
		Metrics: s.metrics, Logger: opts.Logger, Source: opts.ModelSource, SourceBudget: opts.ModelBudget})
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	s.echo = s.newEcho()
	return s, nil
}

// Engine returns the synthesis engine behind the server's routes, for
// features that synthesize (api/listeningapi's listening tests).
func (s *Server) Engine() *synth.Engine { return s.engine }

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Shutdown stops admitting new syntheses (they get 503 and /readyz turns
// 503), waits for running ones to finish until ctx is done, then stops
// the schedulers, cutting whatever is still running. It returns ctx.Err()
// when it had to cut.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.engine.Shutdown(ctx)
}

func (s *Server) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.httpErrorHandler
	e.IPExtractor = echo.ExtractIPDirect() // log the peer, not a client-chosen X-Forwarded-For
	e.Logger.SetOutput(io.Discard)

	e.Use(s.requestIDMiddleware, s.accessLogMiddleware, s.recoverMiddleware, s.timeoutMiddleware, s.bodyLimitMiddleware)
	if len(s.opts.CORSOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:  s.opts.CORSOrigins,
			AllowMethods:  []string{http.MethodGet, http.MethodPost, http.MethodDelete, http.MethodOptions},
			AllowHeaders:  []string{echo.HeaderContentType, echo.HeaderAuthorization, "X-API-Key", echo.HeaderXRequestID, "X-Listener"},
			ExposeHeaders: exposedHeaders,
		}))
	}

	e.GET("/healthz", s.handleHealthz)
	e.GET("/readyz", s.handleReadyz)
	e.GET("/metrics", echo.WrapHandler(s.metrics.handler()))
	e.GET("/openapi.json", s.handleOpenAPI)
	if s.opts.Page != nil {
		page := echo.WrapHandler(s.opts.Page)
		for _, p := range pageRoutes {
			e.GET(p, page)
			e.HEAD(p, page)
		}
	}

	// Auth is a root middleware limited to /v1/ paths rather than group
	// middleware: echo adds a catch-all route for a group's middleware,
	// which would turn 405 (wrong method) into 404.
	e.Use(s.authMiddleware)
	v1 := e.Group("/v1")
	s.coreRoutes(v1)
	for _, f := range s.features {
		if f.Routes != nil {
			f.Routes(v1)
		}
	}
	return e
}

// exposedHeaders are the response headers a browser script may read
// under CORS (Access-Control-Expose-Headers): every X-* header an answer
// carries, and Retry-After.
var exposedHeaders = []string{"X-Seed", "X-Model", "X-Sample-Rate", "X-Num-Samples", "X-Audio-Duration", "X-Audio-Encoding",
	"X-Audio-Media-Type", "X-Conditions", "X-Listener", echo.HeaderXRequestID, "Retry-After"}

// pageRoutes are the routes of Options.Page.
var pageRoutes = []string{"/", "/static/*"}

func (s *Server) handleHealthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReadyz(c echo.Context) error {
	if s.engine.Draining() {
		return Errorf(http.StatusServiceUnavailable, "unavailable", "the server is shutting down")
	}
	n := len(s.engine.IDs())
	if n == 0 {
		return Errorf(http.StatusServiceUnavailable, "unavailable", "no model loaded; start the server with --models DIR")
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ready", "models": n})
}

// --- middleware ---

const ctxRequestID = "request_id"

func requestID(c echo.Context) string {
	if id, ok := c.Get(ctxRequestID).(string); ok {
		return id
	}
	return ""
}

var reqCounter atomic.Uint64

// requestIDMiddleware takes X-Request-Id from the client when it is short
// and printable (so it cannot forge log lines), otherwise makes one.
func (s *Server) requestIDMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	start := time.Now().UnixNano()
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !validRequestID(id) {
			id = fmt.Sprintf("%x-%d", start&0xffffffff, reqCounter.Add(1))
		}
		c.Set(ctxRequestID, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// ctxCut marks a request whose answer was cut after its first byte (the
// client went away, or generation failed mid-stream): see markCut.
const ctxCut = "cut"

// markCut records that c's answer was cut part way, for the access log.
func markCut(c echo.Context) { c.Set(ctxCut, true) }

// accessLogMiddleware writes one line per request: "outcome" is ok, error
// (an error answer) or cut (the answer stopped part way: its status is
// the one already sent). 429 lines are rate-limited by busyLog.
func (s *Server) accessLogMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		status := 0
		outcome := "ok"
		defer func() {
			r := recover() // http.ErrAbortHandler: a stream cut after its first byte
			req, res := c.Request(), c.Response()
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			if status == 0 {
				status = res.Status
			}
			if cut, _ := c.Get(ctxCut).(bool); r != nil || cut {
				outcome = "cut"
			}
			d := time.Since(start)
			s.metrics.observeRequest(req.Method, route, status, d)
			if status != http.StatusTooManyRequests || s.busyLog.allow(time.Now()) {
				s.log.Info("http request", "request_id", requestID(c), "method", req.Method, "path", req.URL.Path,
					"route", route, "status", status, "outcome", outcome, "bytes_out", res.Size,
					"duration_ms", float64(d.Microseconds())/1000, "remote", c.RealIP())
			}
			if r != nil {
				panic(r)
			}
		}()
		if err := next(c); err != nil {
			committed := c.Response().Committed
			c.Error(err) // writes the error body now, so the status logged is final
			if committed {
				outcome = "cut" // the status sent stands; the body stopped part way
			} else {
				status, outcome = toError(err).Status, "error"
			}
		}
		return nil
	}
}

// busyLog rate-limits the access log's 429 lines: the first of each
// second is written, the others are counted and summed up in one line
// ("http 429 lines suppressed") when the second is over, so that a retry
// storm does not flood the log.
type busyLog struct {
	log        *slog.Logger
	mu         sync.Mutex
	window     time.Time // start of the current second
	suppressed int
}

// allow reports whether a 429 line at now is written.
func (b *busyLog) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Sub(b.window) >= time.Second {
		b.window = now
		return true
	}
	b.suppressed++
	if b.suppressed == 1 {
		time.AfterFunc(b.window.Add(time.Second).Sub(now), b.flush)
	}
	return false
}

// flush writes the count of suppressed lines, if any.
func (b *busyLog) flush() {
	b.mu.Lock()
	n := b.suppressed
	b.suppressed = 0
	b.mu.Unlock()
	if n > 0 {
		b.log.Info("http 429 lines suppressed", "status", http.StatusTooManyRequests, "count", n, "window", "1s")
	}
}

func (s *Server) recoverMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.Error("panic in handler", "request_id", requestID(c), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				if c.Response().Committed {
					panic(http.ErrAbortHandler) // cut the connection: the body is incomplete
				}
				err = Errorf(http.StatusInternalServerError, "internal", "internal server error; the request id identifies it in the server log")
			}
		}()
		return next(c)
	}
}

func (s *Server) timeoutMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), s.opts.RequestTimeout)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

// bodyLimitMiddleware refuses a declared Content-Length above the limit
// before reading a byte, and caps undeclared (chunked) bodies while reading.
func (s *Server) bodyLimitMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.ContentLength > s.opts.MaxBodyBytes {
			return Errorf(http.StatusRequestEntityTooLarge, "too_large",
				"request body of %d bytes is larger than the limit of %d bytes; send a shorter WAV or a smaller JSON body",
				req.ContentLength, s.opts.MaxBodyBytes)
		}
		if req.Body != nil {
			req.Body = http.MaxBytesReader(c.Response(), req.Body, s.opts.MaxBodyBytes)
		}
		return next(c)
	}
}

// authMiddleware checks the API key when keys are configured. Every key is
// compared (in constant time, over SHA-256 digests so lengths do not leak),
// and the key itself is never logged.
func (s *Server) authMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		protected := strings.HasPrefix(c.Path(), "/v1/") || strings.HasPrefix(c.Request().URL.Path, "/v1/")
		if len(s.keys) == 0 || c.Request().Method == http.MethodOptions || !protected {
			return next(c)
		}
		key := c.Request().Header.Get("X-API-Key")
		if a := c.Request().Header.Get(echo.HeaderAuthorization); key == "" && a != "" {
			if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
				key = strings.TrimSpace(a[7:])
			}
		}
		if key == "" {
			return Errorf(http.StatusUnauthorized, "unauthorized", "missing API key; send \"Authorization: Bearer KEY\" or \"X-API-Key: KEY\"")
		}
		sum := sha256.Sum256([]byte(key))
		ok := 0
		for i := range s.keys {
			ok |= subtle.ConstantTimeCompare(sum[:], s.keys[i][:])
		}
		if ok != 1 {
			return Errorf(http.StatusUnauthorized, "unauthorized", "invalid API key")
		}
		return next(c)
	}
}

// isMaxBytes reports whether err comes from the body limit.
func isMaxBytes(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
