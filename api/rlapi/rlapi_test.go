package rlapi_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/api/internal/featuretest"
	"github.com/wavenet-go/wavenet/api/rlapi"
	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/jobs/kinds"
	"github.com/wavenet-go/wavenet/jobs/kinds/kindstest"
)

// replica serves the rl routes over a store connected to url (""
// starts an embedded NATS server under t.TempDir()) and returns its base
// URL and the store.
func replica(t *testing.T, url string, o rlapi.Options) (string, *jobs.Store) {
	t.Helper()
	o.Store, o.TempDir = kindstest.Open(t, url), t.TempDir()
	return featuretest.Serve(t, api.Options{Features: []api.Feature{rlapi.New(o).Feature()}}), o.Store
}

// worker runs rl jobs on st until the test ends.
func worker(t *testing.T, st *jobs.Store) {
	t.Helper()
	hs, err := kinds.Handlers(kinds.Options{WorkDir: filepath.Join(t.TempDir(), "work")}, []string{kinds.RL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := st.Work(ctx, jobs.WorkOptions{Handlers: hs, PruneEvery: -1}); err != nil && ctx.Err() == nil {
			t.Errorf("Work: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// wait polls a run until its status is no longer running (30 s at most:
// the runs of these tests take milliseconds to a second).
func wait(t *testing.T, base, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, run := featuretest.Do(t, "GET", base+"/v1/rl/runs/"+id, "")
		if code != http.StatusOK {
			t.Fatalf("GET run = %d %v", code, run)
		}
		if run["status"] != "running" {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still running after 30 s: %v", id, run)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRLRunLifecycle(t *testing.T) {
	base, st := replica(t, "", rlapi.Options{})
	worker(t, st)
	code, run := featuretest.Do(t, "POST", base+"/v1/rl/runs", `{"env":"FrozenLake-v1-nonslippery","agent":"q-learning","episodes":2000,"seed":1}`)
	if code != http.StatusAccepted || run["status"] != "running" || run["state"] != "queued" {
		t.Fatalf("POST /v1/rl/runs = %d %v, want 202, status running, state queued", code, run)
	}
	id := run["id"].(string)
	if run = wait(t, base, id); run["status"] != "done" || run["state"] != "succeeded" {
		t.Fatalf("run = %v, want done (succeeded)", run)
	}
	if n := len(run["returns"].([]any)); n != 2000 || run["episodes_done"] != 2000.0 {
		t.Errorf("learning curve has %d points, episodes_done %v; want 2000", n, run["episodes_done"])
	}
	if run["eval_mean"] != 1.0 {
		t.Errorf("eval_mean = %v, want 1 on the non-slippery lake", run["eval_mean"])
	}
	// State 14 is left of the goal: the policy moves Right (2).
	obs := make([]string, 16)
	for i := range obs {
		obs[i] = "0"
	}
	obs[14] = "1"
	code, act := featuretest.Do(t, "POST", base+"/v1/rl/runs/"+id+"/act", `{"observation":[`+strings.Join(obs, ",")+`]}`)
	if code != http.StatusOK || act["action"] != 2.0 {
		t.Errorf("act at state 14 = %d %v, want 200 action 2", code, act)
	}
	bad := []struct{ body, want string }{
		{`{"observation":[1,0]}`, "16 states"},
		{`{"observation":"x"}`, "observation"},
		{`{"observation":[1],"obs":[1]}`, "obs"},
		{`not json`, "JSON"},
	}
	for _, b := range bad {
		code, e := featuretest.Do(t, "POST", base+"/v1/rl/runs/"+id+"/act", b.body)
		if msg := featuretest.ErrorMessage(e); code != http.StatusBadRequest || !strings.Contains(msg, b.want) {
			t.Errorf("act %s = %d %v, want 400 mentioning %q, without echo's error text", b.body, code, e, b.want)
		}
	}
	if code, _ := featuretest.Do(t, "DELETE", base+"/v1/rl/runs/"+id, ""); code != http.StatusNoContent {
		t.Errorf("DELETE = %d, want 204", code)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if code, _ := featuretest.Do(t, m, base+"/v1/rl/runs/"+id, ""); code != http.StatusNotFound {
			t.Errorf("%s after DELETE = %d, want 404", m, code)
		}
	}
	if code, _ := featuretest.Do(t, "POST", base+"/v1/rl/runs/"+id+"/act", `{"observation":[1]}`); code != http.StatusNotFound {
		t.Errorf("act after DELETE = %d, want 404", code)
	}
}

func TestRLCreateErrors(t *testing.T) {
	base, _ := replica(t, "", rlapi.Options{})
	cases := []struct {
		body string
		code int
		want string
	}{
		{`{"env":"Pong","agent":"q-learning","episodes":10}`, 400, "unknown env"},
		{`{"env":"FrozenLake-v1","agent":"alpha","episodes":10}`, 400, "unknown agent"},
		{`{"env":"FrozenLake-v1","agent":"q-learning","episodes":0}`, 400, "episodes must be"},
		{`{"env":"FrozenLake-v1","agent":"q-learning","episodes":1000000000}`, 400, "episodes must be"},
		{`{"env":"CartPole-v1","agent":"q-learning","episodes":10}`, 400, "runs on FrozenLake*, not on CartPole-v1"},
		{`{"env":"FrozenLake-v1","agent":"q-learning","episodes":"ten"}`, 400, "episodes"},
		{`{"env":`, 400, "JSON"},
		{`{"env":"FrozenLake-v1","agent":"q-learning","episodes":10}`, 0, ""},
	}
	for _, c := range cases {
		code, e := featuretest.Do(t, "POST", base+"/v1/rl/runs", c.body)
		if c.code == 0 {
			if code != http.StatusAccepted {
				t.Errorf("POST %s = %d %v, want 202", c.body, code, e)
			}
			continue
		}
		if msg := featuretest.ErrorMessage(e); code != c.code || !strings.Contains(msg, c.want) {
			t.Errorf("POST %s = %d %v, want %d mentioning %q", c.body, code, e, c.code, c.want)
		}
	}
}

// TestRLCancel: a run not finished (no worker: queued) answers 409 to
// act, is cancelled by DELETE (202), then deleted by a second (204).
func TestRLCancel(t *testing.T) {
	base, _ := replica(t, "", rlapi.Options{})
	code, run := featuretest.Do(t, "POST", base+"/v1/rl/runs", `{"env":"bandit","agent":"ucb1","episodes":10,"seed":1}`)
	if code != http.StatusAccepted {
		t.Fatalf("POST = %d %v", code, run)
	}
	id := run["id"].(string)
	if code, e := featuretest.Do(t, "POST", base+"/v1/rl/runs/"+id+"/act", `{"observation":[1]}`); code != http.StatusConflict {
		t.Errorf("act on a queued run = %d %v, want 409", code, e)
	}
	if code, run := featuretest.Do(t, "DELETE", base+"/v1/rl/runs/"+id, ""); code != http.StatusAccepted || run["status"] != "cancelled" {
		t.Errorf("DELETE queued run = %d %v, want 202 cancelled", code, run)
	}
	if code, _ := featuretest.Do(t, "DELETE", base+"/v1/rl/runs/"+id, ""); code != http.StatusNoContent {
		t.Errorf("DELETE cancelled run = %d, want 204", code)
	}
}

// TestRLReplicas: a run submitted to one replica is seen finished, and
// acts, on a second replica on the same NATS.
func TestRLReplicas(t *testing.T) {
	a, st := replica(t, "", rlapi.Options{})
	worker(t, st)
	b, _ := replica(t, st.URL(), rlapi.Options{})
	code, run := featuretest.Do(t, "POST", a+"/v1/rl/runs", `{"env":"FrozenLake-v1-nonslippery","agent":"q-learning","episodes":2000,"seed":1}`)
	if code != http.StatusAccepted {
		t.Fatalf("POST to replica a = %d %v", code, run)
	}
	id := run["id"].(string)
	if run = wait(t, b, id); run["status"] != "done" {
		t.Fatalf("replica b: run %s = %v, want done", id, run)
	}
	obs := `{"observation":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,0]}` // state 14: Right (2)
	if code, act := featuretest.Do(t, "POST", b+"/v1/rl/runs/"+id+"/act", obs); code != http.StatusOK || act["action"] != 2.0 {
		t.Errorf("replica b: act at state 14 = %d %v, want 200 action 2", code, act)
	}
}
