package web_test

import (
	"bytes"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/api/listeningapi"
	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/ltest"
	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
	"github.com/wavenet-go/wavenet/web"
)

// serve starts the service with the page, the listening tests (a
// database in t.TempDir(), as serve mounts them) and three small random
// models, voices "tiny" and "tiny2" (FSDD-like: digit and speaker
// conditions) and a vocoder "voc", or the embedded models when embedded
// is true, and returns its base URL.
func serve(t *testing.T, embedded bool, keys ...string) string {
	t.Helper()
	bundles := map[string]*synth.Bundle{
		"tiny":  {Model: wavenettest.Tiny(t, 1, wavenettest.FSDD())},
		"tiny2": {Model: wavenettest.Tiny(t, 2, wavenettest.FSDD())},
		"voc":   {Model: wavenettest.Vocoder(t, 1)},
	}
	if embedded {
		var err error
		bundles, _, err = synth.LoadServed(t.Context(), synth.Served{FS: models.FS(), FSDirs: models.IDs()})
		if err != nil {
			t.Fatal(err)
		}
	}
	js, err := jobs.Open(t.Context(), jobs.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(js.Close)
	st, err := ltest.Open(t.Context(), js.JetStream(), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	// Two systems' WAVs under the WAV root: a test from the folder round1.
	wavs := t.TempDir()
	for _, sys := range []string{"sysA", "sysB"} {
		dir := filepath.Join(wavs, "round1", sys)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, item := range []string{"one", "two"} {
			x := make([]float32, 1600)
			for n := range x {
				x[n] = float32(0.3 * math.Sin(float64(n)*0.05*float64(i+1)))
			}
			var b bytes.Buffer
			if err := audio.Encode(&b, x, 8000, audio.PCM16); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, item+".wav"), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	listening := listeningapi.New(listeningapi.Options{Store: st, WAVRoot: wavs})
	s, err := api.New(api.Options{
		Models:   bundles,
		Page:     web.Handler(),
		APIKeys:  keys,
		Features: []api.Feature{listening.Feature()},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	listening.SetSynthesizer(ltest.Engine{E: s.Engine()})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		_ = s.Shutdown(t.Context())
	})
	if err := s.CheckOpenAPI(); err != nil {
		t.Errorf("CheckOpenAPI with the page mounted: %v", err)
	}
	return ts.URL
}

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// references finds the page's own URLs: src and href attributes of the
// HTML, and the relative imports of the modules.
var (
	htmlRef   = regexp.MustCompile(`(?:src|href)="(/[^"#]*)"`)
	moduleRef = regexp.MustCompile(`from '\./([^']+)'`)
)

// TestPageAndAssets loads / as a browser would, without one: the page,
// then every asset it references and every module those import, each
// with its Content-Type and caching headers. The page works with API
// keys: / and /static/ need none.
func TestPageAndAssets(t *testing.T) {
	base := serve(t, false, "secret")
	res, page := get(t, base+"/")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET / = %d %q, want 200 text/html; charset=utf-8", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if got := res.Header.Get("Cache-Control"); got != "no-cache" {
		t.Errorf("GET / Cache-Control = %q, want no-cache", got)
	}
	if !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("GET / Content-Security-Policy = %q, want default-src 'self'", res.Header.Get("Content-Security-Policy"))
	}
	for _, want := range []string{`id="api-key"`, `href="#listening"`, `id="spectrogram"`} {
		if !strings.Contains(page, want) {
			t.Errorf("GET / lacks %s", want)
		}
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Errorf("the page names an absolute URL: it must make no external request")
	}

	seen := map[string]bool{}
	queue := []string{}
	for _, m := range htmlRef.FindAllStringSubmatch(page, -1) {
		queue = append(queue, m[1])
	}
	if len(queue) < 2 {
		t.Fatalf("the page references %v, want its stylesheet and script", queue)
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		res, body := get(t, base+p)
		want := web.ContentType(p)
		if res.StatusCode != http.StatusOK || want == "" || res.Header.Get("Content-Type") != want {
			t.Errorf("GET %s = %d %q, want 200 %q", p, res.StatusCode, res.Header.Get("Content-Type"), want)
			continue
		}
		if got := res.Header.Get("Cache-Control"); got != "public, max-age=300" {
			t.Errorf("GET %s Cache-Control = %q, want public, max-age=300", p, got)
		}
		if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
			t.Errorf("%s names an absolute URL: the page must make no external request", p)
		}
		// A revalidation of an unchanged file is a 304.
		if res2, _ := get(t, base+p, "If-None-Match", res.Header.Get("ETag")); res2.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with If-None-Match its ETag = %d, want 304", p, res2.StatusCode)
		}
		if strings.HasSuffix(p, ".js") {
			for _, m := range moduleRef.FindAllStringSubmatch(body, -1) {
				queue = append(queue, "/static/"+m[1])
			}
		}
	}
	for _, p := range []string{"/static/app.js", "/static/studio.js", "/static/audio.js", "/static/health.js", "/static/listening.js", "/static/api.js", "/static/style.css"} {
		if !seen[p] {
			t.Errorf("%s is not reached from the page", p)
		}
	}

	// Unknown files are 404, and /v1 still needs the key.
	for _, c := range []struct {
		path string
		want int
	}{
		{"/static/nope.js", http.StatusNotFound},
		{"/static/", http.StatusNotFound},
		{"/index.html", http.StatusNotFound},
		{"/v1/models", http.StatusUnauthorized},
	} {
		if res, _ := get(t, base+c.path); res.StatusCode != c.want {
			t.Errorf("GET %s = %d, want %d", c.path, res.StatusCode, c.want)
		}
	}
	if res, _ := get(t, base+"/v1/models", "Authorization", "Bearer secret"); res.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/models with the key = %d, want 200", res.StatusCode)
	}
}

// TestHandler checks the handler on its own, as any server would mount
// it: what it serves, what it refuses.
func TestHandler(t *testing.T) {
	h := web.Handler()
	for _, c := range []struct {
		method, path string
		want         int
		contentType  string
	}{
		{http.MethodGet, "/", http.StatusOK, "text/html; charset=utf-8"},
		{http.MethodHead, "/", http.StatusOK, "text/html; charset=utf-8"},
		{http.MethodGet, "/static/app.js", http.StatusOK, "text/javascript; charset=utf-8"},
		{http.MethodGet, "/static/style.css", http.StatusOK, "text/css; charset=utf-8"},
		{http.MethodGet, "/index.html", http.StatusNotFound, ""},
		{http.MethodGet, "/static/../index.html", http.StatusNotFound, ""},
		{http.MethodGet, "/static/missing.js", http.StatusNotFound, ""},
		{http.MethodPost, "/", http.StatusMethodNotAllowed, ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.want || c.contentType != "" && rec.Header().Get("Content-Type") != c.contentType {
			t.Errorf("%s %s = %d %q, want %d %q", c.method, c.path, rec.Code, rec.Header().Get("Content-Type"), c.want, c.contentType)
		}
	}
}
