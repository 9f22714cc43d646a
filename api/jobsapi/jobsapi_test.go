package jobsapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/api/internal/featuretest"
	"github.com/wavenet-go/wavenet/api/jobsapi"
	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/jobs/kinds"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

// replica serves the job routes of a store connected to url ("" starts
// an embedded server) and returns the base URL and the store.
func replica(t *testing.T, url string) (string, *jobs.Store) {
	t.Helper()
	o := jobs.Options{URL: url, AckWait: time.Second}
	if url == "" {
		o.DataDir = t.TempDir()
	}
	st, err := jobs.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	validate := func(ctx context.Context, kind string, req json.RawMessage) error {
		if kind == "echo" || kind == "block" {
			return nil
		}
		return kinds.Validate(ctx, kind, req)
	}
	svc := jobsapi.New(jobsapi.Options{Store: st, Validate: validate})
	base := featuretest.Serve(t, api.Options{
		Models:   map[string]*synth.Bundle{"default": {Model: wavenettest.Tiny(t, 1, nil)}},
		Features: []api.Feature{svc.Feature()},
	})
	return base, st
}

// worker runs the test kinds on st until the test ends: echo stores its
// request as model/request.json; block waits to be cancelled.
func worker(t *testing.T, st *jobs.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = st.Work(ctx, jobs.WorkOptions{PruneEvery: -1, Handlers: map[string]jobs.Handler{
			"echo": func(ctx context.Context, t *jobs.Task) error {
				_, err := t.Put(ctx, "model/request.json", "application/json", strings.NewReader(string(t.Request)))
				return err
			},
			"block": func(ctx context.Context, t *jobs.Task) error {
				<-ctx.Done()
				return ctx.Err()
			},
		}})
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func TestRoutes(t *testing.T) {
	base, st := replica(t, "")
	worker(t, st)
	for _, c := range []struct {
		body string
		want int
	}{
		{`{}`, 400},
		{`{"kind":3}`, 400},
		{`{"kind":"Not A Kind"}`, 400},
		{`{"kind":"dance"}`, 400},
		{`{"kind":"synthesize","requests":[]}`, 400},
		{`{"kind":"compress","method":"squash"}`, 400},
	} {
		code, body := featuretest.Do(t, "POST", base+"/v1/jobs", c.body)
		if code != c.want || featuretest.ErrorMessage(body) == "" {
			t.Errorf("POST /v1/jobs %s = %d %v, want %d with a message", c.body, code, body, c.want)
		}
	}
	code, body := featuretest.Do(t, "POST", base+"/v1/jobs", `{"kind":"echo","x":1}`)
	id, _ := body["id"].(string)
	if code != 202 || id == "" || body["state"] != "queued" {
		t.Fatalf("POST echo job = %d %v, want 202 {id, state: queued}", code, body)
	}
	// The events end with the finished record.
	resp, err := http.Get(base + "/v1/jobs/" + id + "/events")
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("events: %d %s, want 200 text/event-stream", resp.StatusCode, ct)
	}
	var last jobs.Job
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			if err := json.Unmarshal([]byte(data), &last); err != nil {
				t.Fatalf("event data %q: %v", data, err)
			}
		}
	}
	resp.Body.Close()
	if last.State != jobs.Succeeded || string(last.Request) != `{"x":1}` {
		t.Errorf("last event = %s with request %s, want succeeded with {\"x\":1}", last.State, last.Request)
	}
	code, raw, h := featuretest.DoRaw(t, "GET", base+"/v1/jobs/"+id+"/outputs/model%2Frequest.json", "", nil)
	if code != 200 || string(raw) != `{"x":1}` || h.Get("Content-Type") != "application/json" {
		t.Errorf("GET output = %d %q %s, want 200 the request as application/json", code, raw, h.Get("Content-Type"))
	}
	if code, _ := featuretest.Do(t, "GET", base+"/v1/jobs/"+id+"/outputs/nope", ""); code != 404 {
		t.Errorf("GET a missing output = %d, want 404", code)
	}
	code, body = featuretest.Do(t, "GET", base+"/v1/jobs?state=succeeded", "")
	if list, _ := body["jobs"].([]any); code != 200 || len(list) != 1 {
		t.Errorf("GET /v1/jobs?state=succeeded = %d %v, want the one job", code, body)
	}
	// A running job is cancelled by DELETE, then deleted by another.
	_, body = featuretest.Do(t, "POST", base+"/v1/jobs", `{"kind":"block"}`)
	bid, _ := body["id"].(string)
	waitState(t, st, bid, jobs.Running)
	if code, body := featuretest.Do(t, "DELETE", base+"/v1/jobs/"+bid, ""); code != 202 || body["cancel_requested"] != true {
		t.Errorf("DELETE running job = %d %v, want 202 with cancel_requested", code, body)
	}
	waitState(t, st, bid, jobs.Cancelled)
	for _, j := range []string{bid, id} {
		if code, _ := featuretest.Do(t, "DELETE", base+"/v1/jobs/"+j, ""); code != 204 {
			t.Errorf("DELETE finished job %s = %d, want 204", j, code)
		}
		if code, _ := featuretest.Do(t, "GET", base+"/v1/jobs/"+j, ""); code != 404 {
			t.Errorf("GET deleted job %s = %d, want 404", j, code)
		}
	}
}

// TestReplicasShareJobs: two services on one NATS (two serve replicas)
// see, cancel and delete the same jobs.
func TestReplicasShareJobs(t *testing.T) {
	a, st := replica(t, "")
	b, _ := replica(t, st.URL())
	_, body := featuretest.Do(t, "POST", a+"/v1/jobs", `{"kind":"echo"}`) // no worker: stays queued
	id, _ := body["id"].(string)
	if code, body := featuretest.Do(t, "GET", b+"/v1/jobs/"+id, ""); code != 200 || body["state"] != "queued" {
		t.Errorf("replica b GET = %d %v, want 200 queued", code, body)
	}
	if code, _ := featuretest.Do(t, "DELETE", b+"/v1/jobs/"+id, ""); code != 202 {
		t.Errorf("replica b DELETE queued job = %d, want 202", code)
	}
	if code, body := featuretest.Do(t, "GET", a+"/v1/jobs/"+id, ""); code != 200 || body["state"] != "cancelled" {
		t.Errorf("replica a after b cancelled = %d %v, want cancelled", code, body)
	}
}

func waitState(t *testing.T, st *jobs.Store, id string, want jobs.State) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := st.Get(context.Background(), id)
		if err == nil && j.State == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %s after 10 s, want %s", id, j.State, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOpenAPIDocumentsRoutes(t *testing.T) {
	svc := jobsapi.New(jobsapi.Options{})
	srv, err := api.New(api.Options{Models: map[string]*synth.Bundle{"default": {Model: wavenettest.Tiny(t, 1, nil)}}, Features: []api.Feature{svc.Feature()}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	if err := srv.CheckOpenAPI(); err != nil {
		t.Error(err)
	}
}
