package compressapi_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/api/compressapi"
	"github.com/wavenet-go/wavenet/api/internal/featuretest"
	"github.com/wavenet-go/wavenet/compress"
	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/jobs/kinds"
	"github.com/wavenet-go/wavenet/jobs/kinds/kindstest"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

// tinySeed makes the tiny model that the put-model job stores.
const tinySeed = 1

// replica serves the compress routes over a store connected to url (""
// starts an embedded NATS server under t.TempDir()), with the models
// jobs made, and returns its base URL and the store.
func replica(t *testing.T, url string) (string, *jobs.Store) {
	t.Helper()
	st := kindstest.Open(t, url)
	base := featuretest.Serve(t, api.Options{
		Models:      map[string]*synth.Bundle{"tiny": {Model: wavenettest.Tiny(t, tinySeed, nil)}},
		ModelSource: kinds.ModelSource{Store: st, TempDir: t.TempDir()},
		Features:    []api.Feature{compressapi.New(compressapi.Options{Store: st}).Feature()},
	})
	return base, st
}

// worker runs compress jobs on st, and put-model jobs, which store the
// tiny model as their model/ output (the source of the compressions),
// until the test ends. block, when not nil, holds put-model jobs until
// it is closed.
func worker(t *testing.T, st *jobs.Store, block chan struct{}) {
	t.Helper()
	hs, err := kinds.Handlers(kinds.Options{WorkDir: filepath.Join(t.TempDir(), "work")}, []string{kinds.Compress})
	if err != nil {
		t.Fatal(err)
	}
	put := kindstest.PutModel(t, wavenettest.Tiny(t, tinySeed, nil))
	hs["put-model"] = func(ctx context.Context, task *jobs.Task) error {
		if block != nil {
			select {
			case <-block:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return put(ctx, task)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := st.Work(ctx, jobs.WorkOptions{Handlers: hs, Concurrency: 2, PruneEvery: -1}); err != nil && ctx.Err() == nil {
			t.Errorf("Work: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// source submits a put-model job and returns its id once it succeeded:
// the model compressed by the tests.
func source(t *testing.T, st *jobs.Store) string {
	t.Helper()
	j, err := st.Submit(context.Background(), "put-model", nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for j.State != jobs.Succeeded {
		if j.State.Final() || time.Now().After(deadline) {
			t.Fatalf("put-model job: %s %s, want succeeded within 30 s", j.State, j.Error)
		}
		time.Sleep(10 * time.Millisecond)
		if j, err = st.Get(context.Background(), j.ID); err != nil {
			t.Fatal(err)
		}
	}
	return j.ID
}

// wait polls a compression job until its status is no longer running
// (30 s at most: a tiny model's compression takes milliseconds).
func wait(t *testing.T, base, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, j := featuretest.Do(t, "GET", base+"/v1/compress/jobs/"+id, "")
		if code != http.StatusOK {
			t.Fatalf("GET job = %d %v", code, j)
		}
		if j["status"] != "running" {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still running after 30 s: %v", id, j)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCompressJobs(t *testing.T) {
	base, st := replica(t, "")
	worker(t, st, nil)
	src := source(t, st)
	cases := []struct {
		body    string
		opts    compress.SaveOptions
		prune   *compress.PruneOptions
		smaller float64 // the new file is at most this fraction of fp32
	}{
		{`{"method":"quantize","dtype":"int8","per_channel":true}`,
			compress.SaveOptions{Format: compress.Int8, DType: compress.QInt8, Scheme: compress.Symmetric, PerChannel: true}, nil, 0.5},
		{`{"method":"quantize","dtype":"fp16"}`, compress.SaveOptions{Format: compress.FP16}, nil, 0.55},
		{`{"method":"prune","amount":0.5,"global":true}`,
			compress.SaveOptions{}, &compress.PruneOptions{Amount: compress.Fraction(0.5), Global: true}, 1.01},
	}
	// tiny is small enough that the safetensors header weighs: int8 is
	// at most 50% (not the 30% of a real model), fp16 55%.
	for _, c := range cases {
		code, j := featuretest.Do(t, "POST", base+"/v1/models/"+src+"/compress", c.body)
		if code != http.StatusAccepted || j["model"] != src || j["new_model"] != j["id"] {
			t.Fatalf("POST %s = %d %v, want 202, model %s, new_model the job's id", c.body, code, j, src)
		}
		id := j["id"].(string)
		if j = wait(t, base, id); j["status"] != "done" || j["state"] != "succeeded" || j["progress"] != 1.0 {
			t.Fatalf("job for %s = %v, want done (succeeded), progress 1", c.body, j)
		}
		// The new model is the one the job store serves under the job's id.
		b, err := kinds.ModelSource{Store: st, TempDir: t.TempDir()}.Load(context.Background(), id)
		if err != nil {
			t.Fatalf("%s: model %s: %v", c.body, id, err)
		}
		want := wavenettest.Tiny(t, tinySeed, nil)
		if c.prune != nil {
			if _, err := compress.PruneModel(want, *c.prune, nil); err != nil {
				t.Fatal(err)
			}
		}
		want, _, err = compress.Quantized(want, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		gp, wp := b.Model.Params(), want.Params()
		for i := range gp {
			for k := range gp[i].Data {
				if gp[i].Data[k] != wp[i].Data[k] {
					t.Fatalf("%s: %s[%d] = %v, want %v", c.body, gp[i].Name, k, gp[i].Data[k], wp[i].Data[k])
				}
			}
		}
		if r := j["bytes"].(float64) / j["fp32_bytes"].(float64); r > c.smaller {
			t.Errorf("%s: bytes/fp32_bytes = %.3f, want <= %.2f", c.body, r, c.smaller)
		}
		// GET /v1/models lists it.
		_, body, _ := featuretest.DoRaw(t, "GET", base+"/v1/models", "", nil)
		if !strings.Contains(string(body), id) {
			t.Errorf("GET /v1/models after %s = %s, want the job's id %s", c.body, body, id)
		}
	}
	code, list := featuretest.Do(t, "GET", base+"/v1/compress/jobs", "")
	if code != http.StatusOK || len(list["jobs"].([]any)) != len(cases) {
		t.Errorf("GET /v1/compress/jobs = %d %v, want %d jobs (not the put-model job)", code, list, len(cases))
	}
}

func TestCompressErrors(t *testing.T) {
	base, st := replica(t, "")
	block := make(chan struct{})
	worker(t, st, block)
	pending, err := st.Submit(context.Background(), "put-model", nil) // running until block is closed
	if err != nil {
		t.Fatal(err)
	}
	defer close(block)
	cases := []struct {
		path, body string
		want       int
	}{
		{"/v1/models/nope/compress", `{"method":"quantize"}`, http.StatusNotFound},
		// "tiny" is served, but from memory: no job can read it.
		{"/v1/models/tiny/compress", `{"method":"quantize"}`, http.StatusNotFound},
		{"/v1/models/" + pending.ID + "/compress", `{"method":"quantize"}`, http.StatusConflict},
		{"/v1/models/default/compress", `{"method":"shrink"}`, http.StatusBadRequest},
		{"/v1/models/default/compress", `{"method":"quantize","dtype":"int4"}`, http.StatusBadRequest},
		{"/v1/models/default/compress", `{"method":"quantize","dtype":"fp32"}`, http.StatusBadRequest},
		{"/v1/models/default/compress", `{"method":"prune","amount":1.5}`, http.StatusBadRequest},
		{"/v1/models/default/compress", `{"method":"prune","new_id":"x"}`, http.StatusBadRequest},
		{"/v1/models/default/compress", `not json`, http.StatusBadRequest},
		{"/v1/models/default/compress", `{"method":"prune","amount":"half"}`, http.StatusBadRequest},
		{"/v1/models/default/compress", `{"method":"quantize","dtyp":"fp16"}`, http.StatusBadRequest},
	}
	for _, c := range cases {
		code, body := featuretest.Do(t, "POST", base+c.path, c.body)
		if code != c.want {
			t.Errorf("POST %s %s = %d %v, want %d", c.path, c.body, code, body, c.want)
		}
		if featuretest.ErrorMessage(body) == "" {
			t.Errorf("POST %s %s: body %v, want the error shape with api's message", c.path, c.body, body)
		}
	}
	for _, id := range []string{"nope", pending.ID} { // pending is a job, but not a compress job
		if code, _ := featuretest.Do(t, "GET", base+"/v1/compress/jobs/"+id, ""); code != http.StatusNotFound {
			t.Errorf("GET /v1/compress/jobs/%s = %d, want 404", id, code)
		}
	}
}

// TestCompressDelete cancels a job and deletes finished ones: a job not
// finished is cancelled (202), then deleted (204), then gone (404); a
// finished job is deleted with its model at once.
func TestCompressDelete(t *testing.T) {
	base, st := replica(t, "")
	// No worker yet: the first job stays queued.
	code, j := featuretest.Do(t, "POST", base+"/v1/models/default/compress", `{"method":"quantize"}`)
	if code != http.StatusAccepted || j["status"] != "running" || j["state"] != "queued" || j["stage"] != "queued" {
		t.Fatalf("POST = %d %v, want 202, status running, state and stage queued", code, j)
	}
	queued := j["id"].(string)
	if code, j := featuretest.Do(t, "DELETE", base+"/v1/compress/jobs/"+queued, ""); code != http.StatusAccepted || j["status"] != "cancelled" {
		t.Errorf("DELETE queued job = %d %v, want 202 cancelled", code, j)
	}
	if code, body := featuretest.Do(t, "DELETE", base+"/v1/compress/jobs/"+queued, ""); code != http.StatusNoContent {
		t.Errorf("DELETE cancelled job = %d %v, want 204", code, body)
	}
	if code, _ := featuretest.Do(t, "GET", base+"/v1/compress/jobs/"+queued, ""); code != http.StatusNotFound {
		t.Errorf("GET deleted job = %d, want 404", code)
	}

	worker(t, st, nil)
	src := source(t, st)
	code, j = featuretest.Do(t, "POST", base+"/v1/models/"+src+"/compress", `{"method":"quantize"}`)
	if code != http.StatusAccepted {
		t.Fatalf("POST = %d %v", code, j)
	}
	done := j["id"].(string)
	if j = wait(t, base, done); j["status"] != "done" {
		t.Fatalf("job = %v, want done", j)
	}
	if code, body := featuretest.Do(t, "DELETE", base+"/v1/compress/jobs/"+done, ""); code != http.StatusNoContent {
		t.Errorf("DELETE finished job = %d %v, want 204", code, body)
	}
	if _, err := (kinds.ModelSource{Store: st}).Load(context.Background(), done); err == nil {
		t.Errorf("the model of a deleted job still loads")
	}
	if code, _ := featuretest.Do(t, "DELETE", base+"/v1/compress/jobs/"+done, ""); code != http.StatusNotFound {
		t.Errorf("DELETE deleted job = %d, want 404", code)
	}
}

// TestCompressReplicas: a job submitted to one replica is seen, with its
// result, by a second replica on the same NATS.
func TestCompressReplicas(t *testing.T) {
	a, st := replica(t, "")
	worker(t, st, nil)
	b, _ := replica(t, st.URL())
	src := source(t, st)
	code, j := featuretest.Do(t, "POST", a+"/v1/models/"+src+"/compress", `{"method":"quantize","dtype":"bf16"}`)
	if code != http.StatusAccepted {
		t.Fatalf("POST to replica a = %d %v", code, j)
	}
	id := j["id"].(string)
	if j = wait(t, b, id); j["status"] != "done" || j["bytes"] == nil {
		t.Fatalf("replica b: job %s = %v, want done with its bytes", id, j)
	}
	if _, list := featuretest.Do(t, "GET", b+"/v1/compress/jobs", ""); len(list["jobs"].([]any)) != 1 {
		t.Errorf("replica b: GET /v1/compress/jobs = %v, want the one job", list)
	}
}
