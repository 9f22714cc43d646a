package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/synth"
)

// serveOn runs s.Serve on a loopback listener until the test ends and
// returns its address and the function that stops it (cancels Serve's
// ctx) and waits for Serve to return.
func serveOn(t *testing.T, s *Server, o ServeOptions) (addr string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, o) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve = %v, want nil after ctx was cancelled", err)
			}
		})
	}
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

// TestReadDeadlines: with a 300 ms request timeout, a raw TCP client
// that sends a request's headers and then nothing (no body), or only
// part of its headers, has its connection answered and closed within
// a few request timeouts (2 s: margin for a loaded machine), not kept
// open.
func TestReadDeadlines(t *testing.T) {
	const timeout = 300 * time.Millisecond
	s, err := New(Options{Models: map[string]*synth.Bundle{"default": {Model: tinyModel(t)}}, RequestTimeout: timeout, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := serveOn(t, s, ServeOptions{})
	for _, c := range []struct {
		name, send string
		status     string // the status line's start, "" when the server just closes
	}{
		{"headers then no body", "POST /v1/synthesize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"se", "HTTP/1.1 408"},
		{"half the headers", "POST /v1/synthesize HTTP/1.1\r\nHost: x\r\n", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			if _, err := io.WriteString(conn, c.send); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, err := io.ReadAll(conn) // until the server closes
			took := time.Since(start)
			if err != nil {
				t.Fatalf("connection still open (or failed: %v) after %v; want closed within 2 s", err, took)
			}
			if took > 2*time.Second {
				t.Errorf("connection closed after %v, want within 2 s of a %v request timeout", took, timeout)
			}
			if c.status != "" && !strings.HasPrefix(string(got), c.status) {
				t.Errorf("answer %q, want one starting %q", firstLine(got), c.status)
			}
		})
	}
}

func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\r\n"))
	return string(line)
}

// TestReadyzWhileDraining: once Serve's ctx is cancelled with a
// synthesis running, /readyz answers 503 and a new synthesis 503 while
// the running one still finishes whole.
func TestReadyzWhileDraining(t *testing.T) {
	s, err := New(Options{Models: map[string]*synth.Bundle{"default": {Model: tinyModel(t)}}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := serveOn(t, s, ServeOptions{ShutdownTimeout: 30 * time.Second})
	base := "http://" + addr
	// 30 s of 8 kHz pcm16: still running when the shutdown begins.
	res := startStream(t, context.Background(), base, `{"seconds": 30, "stream": true, "format": "pcm16"}`)
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	deadline := time.Now().Add(10 * time.Second)
	for !s.engine.Draining() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	r, err := client.Get(base + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz while draining: %v; want 503 (the listener open until running syntheses finish)", err)
	}
	readAll(t, r)
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz while draining = %d, want 503", r.StatusCode)
	}
	r, err = client.Post(base+"/v1/synthesize", "application/json", strings.NewReader(`{"seconds": 0.01}`))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, r)
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("POST /v1/synthesize while draining = %d, want 503", r.StatusCode)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if len(b)+64 != 2*30*8000 || err != nil { // startStream read 64 bytes
		t.Errorf("running stream: %d bytes, %v; want all %d", len(b)+64, err, 2*30*8000)
	}
	<-stopped
}

// TestCORSDeleteAndExposedHeaders: with CORS on, a preflight for DELETE
// is allowed, and a synthesis exposes its X-* headers to the page.
func TestCORSDeleteAndExposedHeaders(t *testing.T) {
	_, ts := newTestServer(t, tinyModel(t), Options{CORSOrigins: []string{"https://app.example"}})
	req, _ := http.NewRequest(http.MethodOptions, ts.URL+"/v1/models/x", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "DELETE")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, res)
	if got := res.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "DELETE") {
		t.Errorf("preflight for DELETE: Access-Control-Allow-Methods = %q, want DELETE in it", got)
	}
	req, _ = http.NewRequest(http.MethodPost, ts.URL+"/v1/synthesize", strings.NewReader(`{"num_samples": 10}`))
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Content-Type", "application/json")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, res)
	exposed := strings.Split(res.Header.Get("Access-Control-Expose-Headers"), ",")
	for name := range res.Header {
		if !strings.HasPrefix(name, "X-") || name == "X-Content-Type-Options" {
			continue
		}
		found := false
		for _, e := range exposed {
			found = found || strings.EqualFold(strings.TrimSpace(e), name)
		}
		if !found {
			t.Errorf("response header %s is not in Access-Control-Expose-Headers %q", name, exposed)
		}
	}
}

// TestSynthesizeBodyChecks: an empty body is a 400 and text/plain a 415
// (curl -d's form encoding stays accepted); sample_rate 0 means the
// model's rate, as the error text of a bad rate says.
func TestSynthesizeBodyChecks(t *testing.T) {
	_, ts := newTestServer(t, tinyModel(t), Options{})
	for _, c := range []struct {
		ct, body string
		status   int
		inMsg    string
	}{
		{"application/json", "", 400, "empty"},
		{"application/json", "  \n", 400, "empty"},
		{"text/plain", `{"num_samples": 10}`, 415, "application/json"},
		{"application/x-www-form-urlencoded", `{"num_samples": 10}`, 200, ""},
		{"application/json", `{"num_samples": 10, "sample_rate": 0}`, 200, ""},
		{"application/json", `{"num_samples": 10, "sample_rate": -1}`, 400, "or 0 (or leave it out) for the model's 8000 Hz"},
	} {
		res, err := http.Post(ts.URL+"/v1/synthesize", c.ct, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		b := readAll(t, res)
		if res.StatusCode != c.status {
			t.Errorf("POST %s %q = %d %s, want %d", c.ct, c.body, res.StatusCode, b, c.status)
			continue
		}
		if c.status != 200 {
			if e := errorOf(t, b); !strings.Contains(e.Message, c.inMsg) {
				t.Errorf("POST %s %q: message %q, want it to contain %q", c.ct, c.body, e.Message, c.inMsg)
			}
		} else if r := res.Header.Get("X-Sample-Rate"); r != "8000" {
			t.Errorf("POST %s %q: X-Sample-Rate %s, want the model's 8000", c.ct, c.body, r)
		}
	}
}

// TestScoreRefusesNonFinite: a float WAV holding NaN or Inf is a 400
// naming the sample, not scored as zeros.
func TestScoreRefusesNonFinite(t *testing.T) {
	_, ts := newTestServer(t, tinyModel(t), Options{})
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		x := make([]float32, 800)
		var buf bytes.Buffer
		if err := audio.Encode(&buf, x, 8000, audio.Float32); err != nil {
			t.Fatal(err)
		}
		// The encoder writes finite samples only: set sample 100 in the
		// data chunk by hand.
		wav := buf.Bytes()
		data := bytes.Index(wav, []byte("data")) + 8
		binary.LittleEndian.PutUint32(wav[data+4*100:], math.Float32bits(bad))
		res, err := http.Post(ts.URL+"/v1/score", "audio/wav", bytes.NewReader(wav))
		if err != nil {
			t.Fatal(err)
		}
		e := errorOf(t, readAll(t, res))
		if res.StatusCode != 400 || e.Code != "bad_audio" || !strings.Contains(e.Message, "sample 100") {
			t.Errorf("POST /v1/score with %v at sample 100 = %d %s %q, want 400 bad_audio naming sample 100", bad, res.StatusCode, e.Code, e.Message)
		}
	}
}

// TestDeleteModel: a model added at run time is deleted (204, then 404
// and no longer listed); a model the server started with is a 409.
func TestDeleteModel(t *testing.T) {
	m := tinyModel(t)
	s, ts := newTestServer(t, m, Options{})
	if err := s.AddModel("added", m.Clone()); err != nil {
		t.Fatal(err)
	}
	del := func(id string) (int, errorDetail) {
		req, _ := http.NewRequest(http.MethodDelete, ts.URL+"/v1/models/"+id, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b := readAll(t, res)
		if res.StatusCode == http.StatusNoContent {
			return res.StatusCode, errorDetail{}
		}
		return res.StatusCode, errorOf(t, b)
	}
	if code, e := del("added"); code != http.StatusNoContent {
		t.Errorf("DELETE /v1/models/added = %d %+v, want 204", code, e)
	}
	if got := fmt.Sprint(listedIDs(t, ts.URL)); got != "[default]" {
		t.Errorf("GET /v1/models after the delete = %s, want [default]", got)
	}
	res := post(t, ts.URL+"/v1/synthesize", `{"model": "added", "num_samples": 10}`)
	if readAll(t, res); res.StatusCode != http.StatusNotFound {
		t.Errorf("synthesize with the deleted model = %d, want 404", res.StatusCode)
	}
	for _, c := range []struct {
		id     string
		status int
		inMsg  string
	}{
		{"added", 404, "unknown model"},
		{"default", 409, "only models made by jobs"},
	} {
		if code, e := del(c.id); code != c.status || !strings.Contains(e.Message, c.inMsg) {
			t.Errorf("DELETE /v1/models/%s = %d %q, want %d containing %q", c.id, code, e.Message, c.status, c.inMsg)
		}
	}
}

// TestAccessLogCutAndBusy: a stream the client leaves part way is logged
// as outcome=cut (not ok), and a burst of 429s writes one line in its
// second plus one summary line with the count.
func TestAccessLogCutAndBusy(t *testing.T) {
	var logs syncBuffer
	_, ts := newTestServer(t, tinyModel(t), Options{MaxStreams: 1, MaxQueue: -1, Logger: slogTo(&logs)})
	ctx, cancel := context.WithCancel(context.Background())
	res := startStream(t, ctx, ts.URL, `{"seconds": 30, "stream": true}`)
	// The one slot is taken: these are refused at once.
	const burst = 20
	for range burst {
		r := post(t, ts.URL+"/v1/synthesize", `{"num_samples": 10}`)
		if readAll(t, r); r.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("POST with the only slot taken = %d, want 429", r.StatusCode)
		}
	}
	cancel()
	res.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && (!strings.Contains(logs.String(), "outcome=cut") || !strings.Contains(logs.String(), "suppressed")) {
		time.Sleep(20 * time.Millisecond)
	}
	lines429, summary := 0, ""
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.Contains(l, `msg="http request"`) && strings.Contains(l, "status=429"):
			lines429++
		case strings.Contains(l, "suppressed"):
			summary = l
		}
		if strings.Contains(l, "route=/v1/synthesize") && strings.Contains(l, "status=200") && strings.Contains(l, "outcome=ok") {
			t.Errorf("the stream cut by its client is logged as ok: %s", l)
		}
	}
	if !strings.Contains(logs.String(), "outcome=cut") {
		t.Errorf("no outcome=cut line for the stream its client left:\n%s", logs.String())
	}
	// The burst takes well under a second: one line, the rest summed
	// (two lines if it straddles a second).
	if lines429 < 1 || lines429 > 2 || !strings.Contains(summary, fmt.Sprintf("count=%d", burst-lines429)) {
		t.Errorf("%d 429s: %d access lines and summary %q; want 1 (or 2) and count=%d", burst, lines429, summary, burst-lines429)
	}
}

// TestFailedModelsListed: a model that did not load is listed by GET
// /v1/models under "failed" with its error (package prefixes removed),
// and GET /v1/models/{id} answers 503 saying so; the others are served.
func TestFailedModelsListed(t *testing.T) {
	_, ts := newTestServer(t, tinyModel(t), Options{FailedModels: map[string]error{
		"bad": errors.New(`synth: load model "bad": wavenet: model.safetensors: truncated`)}})
	var list struct {
		Models []ModelInfo   `json:"models"`
		Failed []FailedModel `json:"failed"`
	}
	if code := getJSON(t, ts.URL+"/v1/models", &list); code != 200 || len(list.Models) != 1 || list.Models[0].ID != "default" {
		t.Fatalf("GET /v1/models = %d %+v, want the default model served", code, list)
	}
	want := []FailedModel{{ID: "bad", Error: `load model "bad": model.safetensors: truncated`}}
	if fmt.Sprint(list.Failed) != fmt.Sprint(want) {
		t.Errorf("GET /v1/models failed = %+v, want %+v", list.Failed, want)
	}
	res, err := http.Get(ts.URL + "/v1/models/bad")
	if err != nil {
		t.Fatal(err)
	}
	if e := errorOf(t, readAll(t, res)); res.StatusCode != 503 || !strings.Contains(e.Message, "did not load") {
		t.Errorf("GET /v1/models/bad = %d %q, want 503 saying it did not load", res.StatusCode, e.Message)
	}
}
