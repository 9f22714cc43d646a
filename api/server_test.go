package api

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/synth"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func scrape(t testing.TB, url string) string {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	return string(readAll(t, res))
}

func grep(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func getJSON(t testing.TB, url string, v any) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b := readAll(t, res)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: body %q: %v", url, b, err)
	}
	return res.StatusCode
}

func TestHealthReadyMetrics(t *testing.T) {
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{})
	var h map[string]any
	if code := getJSON(t, ts.URL+"/healthz", &h); code != 200 || h["status"] != "ok" {
		t.Errorf("/healthz = %d %v, want 200 ok", code, h)
	}
	if code := getJSON(t, ts.URL+"/readyz", &h); code != 200 || h["status"] != "ready" {
		t.Errorf("/readyz = %d %v, want 200 ready", code, h)
	}
	readAll(t, post(t, ts.URL+"/v1/synthesize", `{"num_samples": 10}`))
	readAll(t, post(t, ts.URL+"/v1/synthesize", `{"seconds": -1}`))
	got := scrape(t, ts.URL)
	for _, want := range []string{
		`wavenet_http_requests_total{method="POST",route="/v1/synthesize",status="200"} 1`,
		`wavenet_http_requests_total{method="POST",route="/v1/synthesize",status="400"} 1`,
		`wavenet_http_request_duration_seconds_bucket{method="POST",route="/v1/synthesize",status="200"`,
		`wavenet_generated_samples_total{model="default"} 10`,
		`wavenet_active_streams{model="default"} 0`,
		`wavenet_queue_depth{model="default"} 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// No models: alive but not ready.
	_, empty := newTestServer(t, nil, Options{Models: map[string]*synth.Bundle{}})
	var e errorBody
	if code := getJSON(t, empty.URL+"/readyz", &e); code != 503 || !strings.Contains(e.Error.Message, "--models") {
		t.Errorf("/readyz without models = %d %+v, want 503 mentioning --models", code, e)
	}
}

func TestModelsEndpoints(t *testing.T) {
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{Models: map[string]*synth.Bundle{"default": {Model: m},
		"other": {Model: m, Stats: &speech.Stats{All: speech.DefaultDuration}}}})
	var list struct{ Models []ModelInfo }
	if code := getJSON(t, ts.URL+"/v1/models", &list); code != 200 || len(list.Models) != 2 || list.Models[0].ID != "default" || list.Models[1].ID != "other" {
		t.Fatalf("/v1/models = %d %+v, want default and other", code, list)
	}
	// tiny: dilations 1..16, K=2: (2-1)*31 + 1 + 1 = 33 samples.
	got := list.Models[0]
	if got.SampleRate != 8000 || got.ReceptiveField != 33 || got.QuantizationChannels != 256 || got.LabelCondition != "digit" || got.Config != nil {
		t.Errorf("/v1/models[0] = %+v, want 8000 Hz, receptive field 33, Q 256, label digit, no config", got)
	}
	if got.TextCondition != "digit" || got.WordDurations != "default" || list.Models[1].WordDurations != "model" {
		t.Errorf("/v1/models: text condition %q, word durations %q and %q; want digit, default (no statistics), model",
			got.TextCondition, got.WordDurations, list.Models[1].WordDurations)
	}
	var one ModelInfo
	if code := getJSON(t, ts.URL+"/v1/models/other", &one); code != 200 || one.Config == nil || len(one.Config.Dilations) != 5 || len(one.Conditions) != 2 || one.Conditions[1].Values[1] != "jackson" {
		t.Errorf("/v1/models/other = %d %+v, want the full config with 5 layers and 2 conditions", code, one)
	}
	var e errorBody
	for _, id := range []string{"nope", "..%2Fdefault", "%2e%2e"} {
		if code := getJSON(t, ts.URL+"/v1/models/"+id, &e); code != 404 {
			t.Errorf("/v1/models/%s = %d %+v, want 404", id, code, e)
		}
	}
	// With several models, model is required.
	res := post(t, ts.URL+"/v1/synthesize", `{"seconds": 0.01}`)
	if readAll(t, res); res.StatusCode != 200 {
		t.Errorf(`synthesize without model, "default" present = %d, want 200`, res.StatusCode)
	}
	_, ts2 := newTestServer(t, m, Options{Models: map[string]*synth.Bundle{"a": {Model: m}, "b": {Model: m}}})
	res = post(t, ts2.URL+"/v1/synthesize", `{"seconds": 0.01}`)
	if e := errorOf(t, readAll(t, res)); res.StatusCode != 400 || !strings.Contains(e.Message, "a, b") {
		t.Errorf("synthesize without model among a, b = %d %+v, want 400 listing a, b", res.StatusCode, e)
	}
}

func TestModelIDValidation(t *testing.T) {
	if _, err := New(Options{Models: map[string]*synth.Bundle{"../x": {Model: tinyModel(t)}}, Logger: quietLogger()}); err == nil {
		t.Error(`New with model id "../x" = nil error, want an error`)
	}
}

func TestAPIKeys(t *testing.T) {
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{APIKeys: []string{"k1", "secret-2", ""}})
	for _, c := range []struct {
		name   string
		header string
		value  string
		status int
	}{
		{"none", "", "", 401},
		{"wrong", "Authorization", "Bearer nope", 401},
		{"prefix of a key", "Authorization", "Bearer secret-", 401},
		{"empty bearer", "Authorization", "Bearer ", 401},
		{"bearer", "Authorization", "Bearer secret-2", 200},
		{"bearer lowercase", "Authorization", "bearer k1", 200},
		{"x-api-key", "X-API-Key", "k1", 200},
	} {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/v1/models", nil)
		if c.header != "" {
			req.Header.Set(c.header, c.value)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b := readAll(t, res)
		if res.StatusCode != c.status {
			t.Errorf("%s: GET /v1/models = %d %s, want %d", c.name, res.StatusCode, b, c.status)
		}
		if c.status == 401 {
			if e := errorOf(t, b); e.Code != "unauthorized" {
				t.Errorf("%s: error code %q, want unauthorized", c.name, e.Code)
			}
		}
	}
	// Encoded or odd spellings of a /v1 path are refused too (401 or 404,
	// never the resource).
	for _, p := range []string{"/%76%31/models", "/v1/models/", "/v1//models", "/v1/models/default"} {
		res, err := http.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		if readAll(t, res); res.StatusCode != 401 && res.StatusCode != 404 {
			t.Errorf("GET %s without a key = %d, want 401 or 404", p, res.StatusCode)
		}
	}
	// Health, readiness, metrics and the document stay open.
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json"} {
		res, _ := http.Get(ts.URL + p)
		if readAll(t, res); res.StatusCode != 200 {
			t.Errorf("GET %s with keys configured, no key = %d, want 200", p, res.StatusCode)
		}
	}
}

func TestAPIKeyNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{APIKeys: []string{"topsecret"}, Logger: slogTo(&logs)})
	for _, k := range []string{"topsecret", "wrongsecret"} {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/v1/models", nil)
		req.Header.Set("Authorization", "Bearer "+k)
		res, _ := http.DefaultClient.Do(req)
		readAll(t, res)
	}
	if strings.Contains(logs.String(), "secret") {
		t.Errorf("log contains the key:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "status=401") || !strings.Contains(logs.String(), "request_id=") {
		t.Errorf("access log lacks the 401 line with a request id:\n%s", logs.String())
	}
}

func TestRequestIDAndPanicRecovery(t *testing.T) {
	var logs bytes.Buffer
	m := tinyModel(t)
	boom := Feature{Name: "boom", Routes: func(g *echo.Group) {
		g.GET("/boom", func(echo.Context) error { panic("kaboom") })
		g.GET("/halfboom", func(c echo.Context) error {
			c.Response().WriteHeader(200)
			c.Response().Write([]byte("partial"))
			c.Response().Flush()
			panic("kaboom after the first byte")
		})
	}, OpenAPI: map[string]any{
		"/v1/boom":     map[string]any{"get": map[string]any{"responses": map[string]any{}}},
		"/v1/halfboom": map[string]any{"get": map[string]any{"responses": map[string]any{}}},
	}}
	_, ts := newTestServer(t, m, Options{Features: []Feature{boom}, Logger: slogTo(&logs)})
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/v1/boom", nil)
	req.Header.Set("X-Request-Id", "abc-123")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	e := errorOf(t, readAll(t, res))
	if res.StatusCode != 500 || e.Code != "internal" || e.RequestID != "abc-123" || res.Header.Get("X-Request-Id") != "abc-123" {
		t.Errorf("panicking handler = %d %+v (X-Request-Id %q), want 500 internal with request id abc-123", res.StatusCode, e, res.Header.Get("X-Request-Id"))
	}
	if !strings.Contains(logs.String(), "kaboom") {
		t.Errorf("panic not logged:\n%s", logs.String())
	}
	// A panic after the first byte cuts the connection: the client gets a
	// read error, not a clean short body.
	if res, err := http.Get(ts.URL + "/v1/halfboom"); err == nil {
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err == nil {
			t.Errorf("panic after the first byte: body %q read cleanly, want a cut connection", b)
		}
	}
	// A forged request id (log injection) is replaced.
	req, _ = http.NewRequest(http.MethodGet, ts.URL+"/healthz", nil)
	req.Header.Set("X-Request-Id", "x\" level=ERROR msg=forged")
	res, _ = http.DefaultClient.Do(req)
	readAll(t, res)
	if id := res.Header.Get("X-Request-Id"); id == "" || strings.Contains(id, " ") {
		t.Errorf("forged request id echoed as %q, want a fresh one", id)
	}
	// The server still works after the panic.
	if res := post(t, ts.URL+"/v1/synthesize", `{"num_samples": 5}`); readAll(t, res) != nil && res.StatusCode != 200 {
		t.Errorf("synthesize after a panic = %d, want 200", res.StatusCode)
	}
}

func TestCORS(t *testing.T) {
	m := tinyModel(t)
	for _, c := range []struct {
		origins []string
		want    string
	}{
		{nil, ""},
		{[]string{"https://app.example"}, "https://app.example"},
	} {
		_, ts := newTestServer(t, m, Options{CORSOrigins: c.origins})
		req, _ := http.NewRequest(http.MethodOptions, ts.URL+"/v1/synthesize", nil)
		req.Header.Set("Origin", "https://app.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, res)
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != c.want {
			t.Errorf("CORS origins %v: preflight Access-Control-Allow-Origin = %q, want %q", c.origins, got, c.want)
		}
	}
}

// TestOpenAPIMatchesRoutes checks that every route of a server (features
// included) is documented and every documented path is routed.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	m := tinyModel(t)
	extra := Feature{Name: "extra", Routes: func(g *echo.Group) {
		g.POST("/extra/:name", func(c echo.Context) error { return c.NoContent(204) })
	}, OpenAPI: map[string]any{"/v1/extra/{name}": map[string]any{"post": map[string]any{"operationId": "extra",
		"responses": map[string]any{"204": map[string]any{"description": "done"}, "400": map[string]any{"description": "bad"}}}}}}
	s, ts := newTestServer(t, m, Options{Features: []Feature{extra}})
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if code := getJSON(t, ts.URL+"/openapi.json", &doc); code != 200 || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("/openapi.json = %d, openapi %q; want 200 and 3.x", code, doc.OpenAPI)
	}
	if err := s.CheckOpenAPI(); err != nil {
		t.Error(err)
	}
	if !strings.Contains(fmt.Sprint(doc.Paths), "/v1/extra/{name}") {
		t.Error("/openapi.json lacks the feature path /v1/extra/{name}")
	}
	// A feature whose document misses a route is caught.
	bad := Feature{Name: "bad", Routes: func(g *echo.Group) {
		g.GET("/undocumented", func(c echo.Context) error { return nil })
	}}
	s2, _ := newTestServer(t, m, Options{Features: []Feature{bad}})
	if err := s2.CheckOpenAPI(); err == nil || !strings.Contains(err.Error(), "GET /v1/undocumented is not documented") {
		t.Errorf("CheckOpenAPI with an undocumented route = %v", err)
	}
}

// TestOpenAPIGolden compares the core document (no features) with
// testdata/openapi.golden.json; refresh with go test ./api -run OpenAPIGolden -update.
func TestOpenAPIGolden(t *testing.T) {
	got, err := json.MarshalIndent(openAPIDoc(nil), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "openapi.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./api -run OpenAPIGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("OpenAPI document differs from %s; review and run with -update", path)
	}
	var paths []string
	for p := range corePaths() {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	wantPaths := "/healthz /metrics /openapi.json /readyz /v1/models /v1/models/{id} /v1/score /v1/synthesize /v1/vocode"
	if got := strings.Join(paths, " "); got != wantPaths {
		t.Errorf("core paths = %s, want %s", got, wantPaths)
	}
}

func TestRoutingErrorsAreJSON(t *testing.T) {
	m := tinyModel(t)
	_, ts := newTestServer(t, m, Options{})
	for _, c := range []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodGet, "/v1/synthesize", 405, "method_not_allowed"},
		{http.MethodDelete, "/v1/models", 405, "method_not_allowed"},
		{http.MethodGet, "/v1/nothing", 404, "not_found"},
		{http.MethodGet, "/", 404, "not_found"},
	} {
		req, _ := http.NewRequest(c.method, ts.URL+c.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		e := errorOf(t, readAll(t, res))
		if res.StatusCode != c.status || e.Code != c.code {
			t.Errorf("%s %s = %d %+v, want %d %s", c.method, c.path, res.StatusCode, e, c.status, c.code)
		}
	}
}
