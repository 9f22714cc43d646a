package featuretest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/api"
)

// Serve starts an api.Server built from opts (its log discarded unless
// opts.Logger is set) and returns its base URL. The server shuts down when
// the test ends.
func Serve(t testing.TB, opts api.Options) string {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := api.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		_ = s.Shutdown(context.Background())
	})
	return ts.URL
}

// Do sends body as JSON with method to url and returns the status and the
// JSON object answered (nil for an empty body).
func Do(t testing.TB, method, url, body string) (int, map[string]any) {
	t.Helper()
	code, b, _ := DoRaw(t, method, url, body, nil)
	var out map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: body %q is not JSON", method, url, b)
		}
	}
	return code, out
}

// DoRaw sends body as JSON with method to url, with the headers in header
// (which may replace the Content-Type), and returns the status, the body and the headers
// answered.
func DoRaw(t testing.TB, method, url, body string, header http.Header) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, url, err)
	}
	return resp.StatusCode, b, resp.Header
}

// ErrorMessage returns the message of api's error shape
// {"error": {"code", "message", "request_id"}}, or "" when body is not
// that shape or carries echo's own error text ("code=400, message=...,
// internal=...") instead of api's message.
func ErrorMessage(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	msg, _ := e["message"].(string)
	code, _ := e["code"].(string)
	if code == "" || strings.Contains(msg, "code=") || strings.Contains(msg, "internal=") {
		return ""
	}
	return msg
}
