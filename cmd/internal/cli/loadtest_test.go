package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/api/jobsapi"
	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/jobs/kinds"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

func TestLoadtest(t *testing.T) {
	m := wavenettest.Tiny(t, 1, nil)
	// One slot and a queue of one, so of 3 clients one meets deliberate
	// 429s while two keep working.
	srv, err := api.New(api.Options{Models: map[string]*synth.Bundle{"default": {Model: m}}, MaxStreams: 1, MaxQueue: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	defer srv.Shutdown(context.Background())

	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb}
	// The server runs in this process, so --server-pid is our own pid.
	err = runLoadtest(context.Background(), env, []string{"--url", ts.URL, "--clients", "1,3", "--seconds-per-request", "0.05", "--duration", "400ms", "--json",
		"--server-pid", strconv.Itoa(os.Getpid())})
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, errb.String())
	}
	var rep struct{ Levels []loadLevel }
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("loadtest --json output %q: %v", out.String(), err)
	}
	levels := rep.Levels
	if len(levels) != 2 || levels[0].Clients != 1 || levels[1].Clients != 3 {
		t.Fatalf("levels = %+v, want clients 1 and 3", levels)
	}
	for _, l := range levels {
		// 0.05 s of audio per request: the audio total is 0.05 x ok.
		if l.OK == 0 || l.Throughput <= 0 || l.P50 <= 0 || l.P99 < l.P50 {
			t.Errorf("level %+v: want successful requests, positive throughput, p99 >= p50", l)
		}
		if runtime.GOOS == "linux" && (l.ServerCPU <= 0 || l.PerCPU <= 0) {
			t.Errorf("level %d: server CPU %v s, %v audio s per CPU s; want both positive", l.Clients, l.ServerCPU, l.PerCPU)
		}
		if d := l.AudioSec - 0.05*float64(l.OK); d > 1e-9 || d < -1e-9 {
			t.Errorf("level %d: %v audio seconds for %d requests of 0.05 s", l.Clients, l.AudioSec, l.OK)
		}
		for k := range l.Errors {
			if k != "429" {
				t.Errorf("level %d: errors %v, want only 429s", l.Clients, l.Errors)
			}
		}
	}
	// The table form.
	out.Reset()
	if err := runLoadtest(context.Background(), env, []string{"--url", ts.URL, "--clients", "1", "--seconds-per-request", "0.05", "--duration", "100ms"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "audio s / wall s") || !strings.Contains(out.String(), "errors other than 429/503: 0") {
		t.Errorf("table output:\n%s", out.String())
	}
}

func TestLoadtestRefusesRemoteHosts(t *testing.T) {
	for _, u := range []string{"http://example.com:8080", "http://10.0.0.1:8080", "http://0.0.0.0:8080", "ftp://127.0.0.1", "http://[::2]:80"} {
		err := runLoadtest(context.Background(), &Env{Stdout: io.Discard, Stderr: io.Discard}, []string{"--url", u, "--duration", "1s"})
		if err == nil {
			t.Errorf("loadtest --url %s = nil error, want a refusal", u)
		}
	}
	for _, h := range []string{"127.0.0.1", "127.1.2.3", "::1", "localhost"} {
		if !isLoopback(h) {
			t.Errorf("isLoopback(%q) = false, want true", h)
		}
	}
}

// TestLoadtestMix runs a mixed load (synthesis, detection evaluation,
// compression jobs, job submissions; the jobs stay queued: no worker) against a server assembled as serve assembles it,
// and checks that every kind was sent and answered without a 5xx, and
// that the server's peak memory and its log's panic count are reported.
func TestLoadtestMix(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "server.log")
	lf, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	logger := slog.New(slog.NewTextHandler(lf, nil))
	js, err := jobs.Open(t.Context(), jobs.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer js.Close()
	features, err := newServeFeatures(true, t.TempDir(), js, featureLimits{})
	if err != nil {
		t.Fatal(err)
	}
	defer features.close()
	jobRoutes := jobsapi.New(jobsapi.Options{Store: js, Validate: kinds.Validate}).Feature()
	srv, err := api.New(api.Options{Models: map[string]*synth.Bundle{"default": {Model: wavenettest.Tiny(t, 1, nil)}},
		Features: append(features.list, jobRoutes), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	features.serve(srv)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	defer srv.Shutdown(context.Background())

	var out, errb bytes.Buffer
	err = runLoadtest(context.Background(), &Env{Stdout: &out, Stderr: &errb}, []string{"--url", ts.URL, "--clients", "4",
		"--mix", "synthesize=2,evaluate=1,compress=1,jobs=1", "--evaluate-kb", "4", "--seconds-per-request", "0.05", "--duration", "500ms",
		"--json", "--server-pid", strconv.Itoa(os.Getpid()), "--server-log", logFile})
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, errb.String())
	}
	var rep struct {
		Levels []loadLevel
		Peak   int64 `json:"server_peak_rss_bytes"`
		Panics *int  `json:"server_panics"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("loadtest --json output %q: %v", out.String(), err)
	}
	if len(rep.Levels) != 1 {
		t.Fatalf("levels = %+v, want one", rep.Levels)
	}
	l := rep.Levels[0]
	for _, kind := range []string{"synthesize", "evaluate", "compress", "jobs"} {
		k := l.Kinds[kind]
		if k == nil || k.Requests == 0 {
			t.Errorf("kind %s: %+v, want requests", kind, k)
			continue
		}
		for st := range k.Statuses {
			if st != "200" && st != "202" && st != "429" {
				t.Errorf("kind %s: statuses %v, want only 200, 202 and 429", kind, k.Statuses)
			}
		}
	}
	if l.ServerErrors != 0 {
		t.Errorf("server errors %d, want 0", l.ServerErrors)
	}
	if runtime.GOOS == "linux" && rep.Peak <= 0 {
		t.Errorf("server peak RSS %d, want it reported", rep.Peak)
	}
	if rep.Panics == nil || *rep.Panics != 0 {
		t.Errorf("server panics %v, want 0 reported", rep.Panics)
	}
}
