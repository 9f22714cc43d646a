package listeningapi

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/ltest"
)

// ListenerHeader and ListenerCookie carry the listener token: the server
// issues one (both in the response) when a request has none, and a
// client sends it back in either.
const (
	ListenerHeader = "X-Listener"
	ListenerCookie = "wavenet_listener"
)

// ErrNoSynthesizer is the cause of the 503 answered to a test made from
// models before SetSynthesizer.
var ErrNoSynthesizer = errors.New("listeningapi: no synthesizer (the server cannot synthesize)")

// Options configure the routes.
type Options struct {
	// Store holds the tests; the caller opens and closes it.
	Store *ltest.Store
	// WAVRoot, if set, is the server folder whose subfolders tests may be
	// made from (the request's "dir" is relative to it); otherwise tests
	// from folders are refused.
	WAVRoot string
}

// Service serves the listening tests of a store.
type Service struct {
	opts Options
	mu   sync.Mutex
	syn  ltest.Synthesizer
}

// New returns the service; tests from models answer 503 until
// SetSynthesizer.
func New(opts Options) *Service { return &Service{opts: opts} }

// SetSynthesizer sets what says the texts of tests made from models:
// ltest.Engine{E: srv.Engine()} once the server exists.
func (s *Service) SetSynthesizer(syn ltest.Synthesizer) {
	s.mu.Lock()
	s.syn = syn
	s.mu.Unlock()
}

// Feature returns the routes for api.Options.Features.
func (s *Service) Feature() api.Feature {
	return api.Feature{
		Name: "listening",
		Routes: func(g *echo.Group) {
			g.POST("/listening-tests", s.create)
			g.GET("/listening-tests", s.list)
			g.GET("/listening-tests/:id", s.get)
			g.DELETE("/listening-tests/:id", s.delete)
			g.GET("/listening-tests/:id/stimuli/:sid/audio", s.audio)
			g.PUT("/listening-tests/:id/ratings/:sid", s.rate)
			g.GET("/listening-tests/:id/results", s.results)
		},
		OpenAPI: openAPI,
	}
}

// toError maps ltest's errors to the API's.
func toError(err error) error {
	switch {
	case errors.Is(err, ltest.ErrNotFound):
		return api.Errorf(http.StatusNotFound, "not_found", "%s; GET /v1/listening-tests lists the tests and GET /v1/listening-tests/{id} their stimuli", trim(err.Error()))
	case errors.Is(err, ltest.ErrInvalid):
		return api.Errorf(http.StatusBadRequest, "bad_request", "%s", trim(err.Error()))
	case errors.Is(err, ltest.ErrUnknownListener):
		return api.Errorf(http.StatusForbidden, "forbidden",
			"no listener token or one this server did not issue; GET /v1/listening-tests/{id} issues one (header %s and cookie %s): send it back", ListenerHeader, ListenerCookie)
	}
	return err
}

// trim drops ltest's prefixes from a message sent to the client.
func trim(msg string) string {
	for _, p := range []string{"ltest: invalid: ", "ltest: not found: ", "ltest: "} {
		if len(msg) > len(p) && msg[:len(p)] == p {
			return msg[len(p):]
		}
	}
	return msg
}

// CreateRequest is the body of POST /v1/listening-tests.
type CreateRequest struct {
	Name   string     `json:"name,omitempty"`
	Kind   ltest.Kind `json:"kind"`
	Models []string   `json:"models,omitempty"`
	Texts  []string   `json:"texts,omitempty"`
	Seed   uint64     `json:"seed,omitempty"`
	// Dir makes the test from a folder of WAVs under the server's WAV
	// root instead of synthesizing.
	Dir string `json:"dir,omitempty"`
}

func (s *Service) create(c echo.Context) error {
	var req CreateRequest
	if err := api.DecodeJSON(c, &req); err != nil {
		return err
	}
	spec := ltest.Spec{Name: req.Name, Kind: req.Kind, Models: req.Models, Texts: req.Texts, Seed: req.Seed, Dir: req.Dir}
	var t *ltest.Test
	var err error
	if req.Dir != "" {
		if s.opts.WAVRoot == "" {
			return api.Errorf(http.StatusBadRequest, "bad_request", "this server makes no tests from folders of WAVs; leave out dir and give models and texts")
		}
		t, err = s.opts.Store.CreateFromDir(os.DirFS(s.opts.WAVRoot), spec)
	} else {
		s.mu.Lock()
		syn := s.syn
		s.mu.Unlock()
		if syn == nil {
			return &api.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Err: ErrNoSynthesizer,
				Message: "this server cannot synthesize stimuli; make the test from a folder of WAVs (dir)"}
		}
		t, err = s.opts.Store.Create(c.Request().Context(), syn, spec)
	}
	if err != nil {
		return toError(err)
	}
	return c.JSON(http.StatusCreated, t)
}

// Summary is a test as listed: what its owner sees, without stimuli.
type Summary struct {
	ID      string     `json:"id"`
	Name    string     `json:"name"`
	Kind    ltest.Kind `json:"kind"`
	Models  []string   `json:"models"`
	Texts   []string   `json:"texts"`
	Stimuli int        `json:"stimuli"`
	Dir     string     `json:"dir,omitempty"`
	Created time.Time  `json:"created"`
}

func (s *Service) list(c echo.Context) error {
	ts, err := s.opts.Store.Tests()
	if err != nil {
		return err
	}
	out := make([]Summary, len(ts))
	for i, t := range ts {
		out[i] = Summary{ID: t.ID, Name: t.Name, Kind: t.Kind, Models: t.Models, Texts: t.Texts, Stimuli: len(t.Stimuli), Dir: t.Dir, Created: t.Created}
	}
	return c.JSON(http.StatusOK, map[string]any{"tests": out})
}

// listener returns the request's listener token (header, then cookie)
// when the store issued it; otherwise, if issue, a new one, set in the
// response's header and cookie.
func (s *Service) listener(c echo.Context, issue bool) (string, error) {
	tok := c.Request().Header.Get(ListenerHeader)
	if tok == "" {
		if ck, err := c.Cookie(ListenerCookie); err == nil {
			tok = ck.Value
		}
	}
	if tok != "" && s.opts.Store.KnownListener(tok) {
		return tok, nil
	}
	if !issue {
		return "", toError(ltest.ErrUnknownListener)
	}
	tok, err := s.opts.Store.NewListener()
	if err != nil {
		return "", err
	}
	c.Response().Header().Set(ListenerHeader, tok)
	c.SetCookie(&http.Cookie{Name: ListenerCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		MaxAge: 365 * 24 * 3600})
	return tok, nil
}

// ListenerView is a test as a listener sees it (GET
// /v1/listening-tests/{id}): the stimuli in the listener's own order,
// without model names, each with its audio links and the listener's
// rating so far.
type ListenerView struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Kind     ltest.Kind     `json:"kind"`
	Listener string         `json:"listener"`
	Stimuli  []ListenerItem `json:"stimuli"`
}

// ListenerItem is one stimulus in a ListenerView.
type ListenerItem struct {
	ID     string `json:"id"`
	Text   string `json:"text"`
	Audio  string `json:"audio"`             // the audio's path (side a)
	AudioB string `json:"audio_b,omitempty"` // A/B: side b
	// Score or Choice is the listener's rating so far (absent if none).
	Score  int    `json:"score,omitempty"`
	Choice string `json:"choice,omitempty"`
}

func (s *Service) get(c echo.Context) error {
	t, err := s.opts.Store.Test(c.Param("id"))
	if err != nil {
		return toError(err)
	}
	tok, err := s.listener(c, true)
	if err != nil {
		return err
	}
	mine, err := s.opts.Store.Ratings(t.ID, tok)
	if err != nil {
		return toError(err)
	}
	v := ListenerView{ID: t.ID, Name: t.Name, Kind: t.Kind, Listener: tok, Stimuli: []ListenerItem{}}
	for _, sid := range ltest.Order(t, tok) {
		st, _ := t.Stimulus(sid)
		base := "/v1/listening-tests/" + t.ID + "/stimuli/" + sid + "/audio"
		it := ListenerItem{ID: sid, Text: st.Text, Audio: base, Score: mine[sid].Score, Choice: mine[sid].Choice}
		if t.Kind == ltest.KindAB {
			it.Audio, it.AudioB = base+"?side=a", base+"?side=b"
		}
		v.Stimuli = append(v.Stimuli, it)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, v)
}

func (s *Service) delete(c echo.Context) error {
	if err := s.opts.Store.Delete(c.Param("id")); err != nil {
		return toError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Service) audio(c echo.Context) error {
	side := c.QueryParam("side")
	if side == "" {
		side = ltest.ChoiceA
	}
	wav, err := s.opts.Store.Audio(c.Param("id"), c.Param("sid"), side)
	if err != nil {
		return toError(err)
	}
	ct := "audio/wav"
	if bytes.HasPrefix(wav, []byte("fLaC")) {
		ct = "audio/flac"
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=86400")
	return c.Blob(http.StatusOK, ct, wav)
}

// RatingRequest is the body of PUT /v1/listening-tests/{id}/ratings/{sid}:
// score (MOS, 1 to 5) or choice (A/B: a, b or none).
type RatingRequest struct {
	Score  int    `json:"score,omitempty"`
	Choice string `json:"choice,omitempty"`
}

func (s *Service) rate(c echo.Context) error {
	var req RatingRequest
	if err := api.DecodeJSON(c, &req); err != nil {
		return err
	}
	id, sid := c.Param("id"), c.Param("sid")
	if _, err := s.opts.Store.Test(id); err != nil {
		return toError(err)
	}
	tok, err := s.listener(c, false)
	if err != nil {
		return err
	}
	r := ltest.Rating{Score: req.Score, Choice: req.Choice}
	if err := s.opts.Store.Rate(id, sid, tok, r); err != nil {
		return toError(err)
	}
	return c.JSON(http.StatusOK, struct {
		Test     string `json:"test"`
		Stimulus string `json:"stimulus"`
		RatingRequest
	}{id, sid, req})
}

func (s *Service) results(c echo.Context) error {
	res, err := s.opts.Store.Results(c.Param("id"))
	if err != nil {
		return toError(err)
	}
	switch f := c.QueryParam("format"); f {
	case "", "json":
		return c.JSON(http.StatusOK, res)
	case "csv":
		var b bytes.Buffer
		write, name := res.WriteCSV, "listening-test-"+res.Test+".csv"
		switch table := c.QueryParam("table"); table {
		case "", "summary":
		case "ratings":
			write, name = res.WriteRatingsCSV, "listening-test-"+res.Test+"-ratings.csv"
		default:
			return api.Errorf(http.StatusBadRequest, "bad_request", "table %q: want summary or ratings", table)
		}
		if err := write(&b); err != nil {
			return err
		}
		c.Response().Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
		return c.Blob(http.StatusOK, "text/csv; charset=utf-8", b.Bytes())
	default:
		return api.Errorf(http.StatusBadRequest, "bad_request", "format %q: want json or csv", f)
	}
}
