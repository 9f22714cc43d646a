package rlapi

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/api/internal/featuretest"
)

func newServer(t *testing.T, opts Options) string {
	t.Helper()
	feat, closeRuns := New(opts)
	t.Cleanup(closeRuns)
	return featuretest.Serve(t, api.Options{Features: []api.Feature{feat}})
}

func TestRLRunLifecycle(t *testing.T) {
	base := newServer(t, Options{})
	code, run := featuretest.Do(t, "POST", base+"/v1/rl/runs", `{"env":"FrozenLake-v1-nonslippery","agent":"q-learning","episodes":2000,"seed":1}`)
	if code != http.StatusAccepted {
		t.Fatalf("POST /v1/rl/runs = %d %v, want 202", code, run)
	}
	id := run["id"].(string)
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, run = featuretest.Do(t, "GET", base+"/v1/rl/runs/"+id, "")
		if code != http.StatusOK {
			t.Fatalf("GET run = %d %v", code, run)
		}
		if run["status"] == "done" {
			break
		}
		if run["status"] != "running" || time.Now().After(deadline) {
			t.Fatalf("run status %v", run)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(run["returns"].([]any)); n != 2000 {
		t.Errorf("learning curve has %d points, want 2000", n)
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
	if code, _ := featuretest.Do(t, "GET", base+"/v1/rl/runs/"+id, ""); code != http.StatusNotFound {
		t.Errorf("GET after DELETE = %d, want 404", code)
	}
}

func TestRLCreateErrors(t *testing.T) {
	base := newServer(t, Options{MaxActive: 1})
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

func TestRLBusy(t *testing.T) {
	base := newServer(t, Options{MaxActive: 1})
	body := `{"env":"FrozenLake-v1","agent":"q-learning","episodes":100000}`
	if code, e := featuretest.Do(t, "POST", base+"/v1/rl/runs", body); code != http.StatusAccepted {
		t.Fatalf("first POST = %d %v", code, e)
	}
	code, e := featuretest.Do(t, "POST", base+"/v1/rl/runs", body)
	if code != http.StatusTooManyRequests {
		t.Errorf("second POST while one trains = %d %v, want 429", code, e)
	}
}

// TestRLRetention: with Keep 1, runs started one after another are all
// accepted (the limit counts running ones, not history), and only the
// newest finished run is kept.
func TestRLRetention(t *testing.T) {
	base := newServer(t, Options{MaxActive: 1, Retention: api.Retention{Keep: 1}})
	var ids []string
	for range 3 {
		code, run := featuretest.Do(t, "POST", base+"/v1/rl/runs", `{"env":"bandit","agent":"ucb1","episodes":10,"seed":1}`)
		if code != http.StatusAccepted {
			t.Fatalf("POST /v1/rl/runs = %d %v, want 202", code, run)
		}
		id := run["id"].(string)
		ids = append(ids, id)
		deadline := time.Now().Add(30 * time.Second)
		for run["status"] == "running" && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
			_, run = featuretest.Do(t, "GET", base+"/v1/rl/runs/"+id, "")
		}
		if run["status"] != "done" {
			t.Fatalf("run %s: %v, want done", id, run)
		}
		time.Sleep(2 * time.Millisecond) // distinct finish times
	}
	for i, id := range ids {
		want := http.StatusNotFound
		if i == len(ids)-1 {
			want = http.StatusOK
		}
		if code, _ := featuretest.Do(t, "GET", base+"/v1/rl/runs/"+id, ""); code != want {
			t.Errorf("GET run %d of 3 (keep 1) = %d, want %d", i, code, want)
		}
	}
}
