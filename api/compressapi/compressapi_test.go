package compressapi

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/api/internal/featuretest"
	"github.com/wavenet-go/wavenet/compress"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

// registry is a Registry over a map, standing in for the server's table.
type registry struct {
	mu     sync.Mutex
	models map[string]*wavenet.Model
	served map[string]Served // what AddModel was told
	// block, when set, holds AddModel until it is closed (a job kept
	// running).
	block chan struct{}
}

func (r *registry) RemoveModel(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.models[id]; !ok {
		return fmt.Errorf("model %q: %w", id, api.ErrNotFound)
	}
	delete(r.models, id)
	return nil
}

func (r *registry) Model(id string) (*wavenet.Model, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.models[id]
	return m, ok
}

func (r *registry) AddModel(id string, m *wavenet.Model, o Served) error {
	if r.block != nil {
		<-r.block
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.models[id]; ok {
		return fmt.Errorf("model %q exists", id)
	}
	if err := m.CheckShapes(); err != nil {
		return err
	}
	r.models[id] = m
	r.served[id] = o
	return nil
}

func tinyModel(t *testing.T) *wavenet.Model { return wavenettest.Tiny(t, 1, nil) }

// newServer serves the model "tiny" with the compress feature; its
// manager gets reg (the stand-in for the server's table) when
// withRegistry.
func newServer(t *testing.T, opts Options, withRegistry bool) (string, *registry) {
	t.Helper()
	src := tinyModel(t)
	reg := &registry{models: map[string]*wavenet.Model{"tiny": src}, served: map[string]Served{}}
	mgr := New(opts)
	t.Cleanup(mgr.Close)
	base := featuretest.Serve(t, api.Options{Models: map[string]*synth.Bundle{"tiny": {Model: src}}, Features: []api.Feature{mgr.Feature()}})
	if withRegistry {
		mgr.SetRegistry(reg)
	}
	return base, reg
}

// wait polls a job until it is no longer running.
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
	dir := t.TempDir()
	base, reg := newServer(t, Options{Dir: dir}, true)
	src, _ := reg.Model("tiny")
	cases := []struct {
		body    string
		newID   string
		opts    compress.SaveOptions
		prune   *compress.PruneOptions
		smaller float64 // the new file is at most this fraction of fp32
	}{
		{`{"method":"quantize","dtype":"int8","per_channel":true}`, "tiny-int8",
			compress.SaveOptions{Format: compress.Int8, DType: compress.QInt8, Scheme: compress.Symmetric, PerChannel: true}, nil, 0.5},
		{`{"method":"quantize","dtype":"fp16","new_id":"half"}`, "half",
			compress.SaveOptions{Format: compress.FP16}, nil, 0.55},
		{`{"method":"prune","amount":0.5,"global":true}`, "tiny-pruned50",
			compress.SaveOptions{}, &compress.PruneOptions{Amount: compress.Fraction(0.5), Global: true}, 1.01},
	}
	// tiny is small enough that the safetensors header weighs: int8 is
	// at most 50% (not the 30% of a real model), fp16 55%.
	for _, c := range cases {
		code, j := featuretest.Do(t, "POST", base+"/v1/models/tiny/compress", c.body)
		if code != http.StatusAccepted {
			t.Fatalf("POST %s = %d %v, want 202", c.body, code, j)
		}
		j = wait(t, base, j["id"].(string))
		if j["status"] != "done" || j["new_model"] != c.newID {
			t.Fatalf("job for %s = %v, want done, new_model %s", c.body, j, c.newID)
		}
		got, ok := reg.Model(c.newID)
		if !ok {
			t.Fatalf("after %s: model %s not registered", c.body, c.newID)
		}
		reg.mu.Lock()
		served := reg.served[c.newID]
		reg.mu.Unlock()
		// Only an int8 quantization is served with the int8 generator.
		if want := (Served{Source: "tiny", Int8: c.opts.Format == compress.Int8}); served != want {
			t.Errorf("after %s: AddModel(%s) told %+v, want %+v", c.body, c.newID, served, want)
		}
		want := src.Clone()
		if c.prune != nil {
			if _, err := compress.PruneModel(want, *c.prune, nil); err != nil {
				t.Fatal(err)
			}
		}
		want, _, err := compress.Quantized(want, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		gp, wp := got.Params(), want.Params()
		for i := range gp {
			for k := range gp[i].Data {
				if gp[i].Data[k] != wp[i].Data[k] {
					t.Fatalf("%s: %s[%d] = %v, want %v", c.newID, gp[i].Name, k, gp[i].Data[k], wp[i].Data[k])
				}
			}
		}
		if r := j["bytes"].(float64) / j["fp32_bytes"].(float64); r > c.smaller {
			t.Errorf("%s: bytes/fp32_bytes = %.3f, want <= %.2f", c.newID, r, c.smaller)
		}
		// The checkpoint on disk loads to the same weights.
		disk, err := wavenet.Load(context.Background(), filepath.Join(dir, c.newID))
		if err != nil {
			t.Fatalf("%s: saved checkpoint: %v", c.newID, err)
		}
		dp := disk.Params()
		for i := range dp {
			for k := range dp[i].Data {
				if dp[i].Data[k] != wp[i].Data[k] {
					t.Fatalf("%s on disk: %s[%d] = %v, want %v", c.newID, dp[i].Name, k, dp[i].Data[k], wp[i].Data[k])
				}
			}
		}
	}
	code, list := featuretest.Do(t, "GET", base+"/v1/compress/jobs", "")
	if code != http.StatusOK || len(list["jobs"].([]any)) != len(cases) {
		t.Errorf("GET /v1/compress/jobs = %d %v, want %d jobs", code, list, len(cases))
	}
}

func TestCompressErrors(t *testing.T) {
	base, _ := newServer(t, Options{}, true)
	cases := []struct {
		path, body string
		want       int
	}{
		{"/v1/models/nope/compress", `{"method":"quantize"}`, http.StatusNotFound},
		{"/v1/models/tiny/compress", `{"method":"shrink"}`, http.StatusBadRequest},
		{"/v1/models/tiny/compress", `{"method":"quantize","dtype":"int4"}`, http.StatusBadRequest},
		{"/v1/models/tiny/compress", `{"method":"quantize","dtype":"fp32"}`, http.StatusBadRequest},
		{"/v1/models/tiny/compress", `{"method":"prune","amount":1.5}`, http.StatusBadRequest},
		{"/v1/models/tiny/compress", `{"method":"prune","new_id":"../x"}`, http.StatusBadRequest},
		{"/v1/models/tiny/compress", `{"method":"prune","new_id":"tiny"}`, http.StatusConflict},
		{"/v1/models/tiny/compress", `not json`, http.StatusBadRequest},
		{"/v1/models/tiny/compress", `{"method":"prune","amount":"half"}`, http.StatusBadRequest},
		{"/v1/models/tiny/compress", `{"method":"quantize","dtyp":"fp16"}`, http.StatusBadRequest},
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
	if code, _ := featuretest.Do(t, "GET", base+"/v1/compress/jobs/nope", ""); code != http.StatusNotFound {
		t.Errorf("GET unknown job = %d, want 404", code)
	}
	noReg, _ := newServer(t, Options{}, false)
	if code, body := featuretest.Do(t, "POST", noReg+"/v1/models/tiny/compress", `{"method":"quantize"}`); code != http.StatusServiceUnavailable {
		t.Errorf("POST without a registry = %d %v, want 503", code, body)
	}
}

// TestCompressRetention runs more jobs than the retention keeps, one
// after another: none is refused (the limit counts running jobs, not
// history), and only the newest Keep jobs and their models remain, the
// older models no longer served and their checkpoints deleted.
func TestCompressRetention(t *testing.T) {
	const keep, jobs = 2, 5
	dir := t.TempDir()
	base, reg := newServer(t, Options{Dir: dir, Retention: api.Retention{Keep: keep}}, true)
	var ids []string
	for i := range jobs {
		body := fmt.Sprintf(`{"method":"quantize","new_id":"q%d"}`, i)
		code, j := featuretest.Do(t, "POST", base+"/v1/models/tiny/compress", body)
		if code != http.StatusAccepted {
			t.Fatalf("POST %s = %d %v, want 202", body, code, j)
		}
		ids = append(ids, j["id"].(string))
		if j = wait(t, base, j["id"].(string)); j["status"] != "done" {
			t.Fatalf("job %d = %v, want done", i, j)
		}
		time.Sleep(2 * time.Millisecond) // distinct finish times
	}
	code, list := featuretest.Do(t, "GET", base+"/v1/compress/jobs", "")
	if n := len(list["jobs"].([]any)); code != http.StatusOK || n != keep {
		t.Errorf("GET /v1/compress/jobs after %d jobs, keep %d = %d, %d jobs, want %d", jobs, keep, code, n, keep)
	}
	for i := range jobs {
		id := fmt.Sprintf("q%d", i)
		_, served := reg.Model(id)
		_, err := os.Stat(filepath.Join(dir, id))
		kept := i >= jobs-keep
		if served != kept || (err == nil) != kept {
			t.Errorf("job %d (%s): model served %v, checkpoint on disk %v; want both %v", i, ids[i], served, err == nil, kept)
		}
	}
}

// TestCompressDelete deletes a finished job and a running one: each is
// gone (404), and the model each made is no longer served, the running
// one's as soon as it finishes.
func TestCompressDelete(t *testing.T) {
	base, reg := newServer(t, Options{}, true)
	code, j := featuretest.Do(t, "POST", base+"/v1/models/tiny/compress", `{"method":"quantize","new_id":"done"}`)
	if code != http.StatusAccepted {
		t.Fatalf("POST = %d %v", code, j)
	}
	done := j["id"].(string)
	wait(t, base, done)
	if code, body := featuretest.Do(t, "DELETE", base+"/v1/compress/jobs/"+done, ""); code != http.StatusNoContent {
		t.Errorf("DELETE finished job = %d %v, want 204", code, body)
	}
	if _, ok := reg.Model("done"); ok {
		t.Errorf("model of a deleted job still served")
	}
	if code, _ := featuretest.Do(t, "GET", base+"/v1/compress/jobs/"+done, ""); code != http.StatusNotFound {
		t.Errorf("GET deleted job = %d, want 404", code)
	}
	if code, _ := featuretest.Do(t, "DELETE", base+"/v1/compress/jobs/"+done, ""); code != http.StatusNotFound {
		t.Errorf("DELETE deleted job = %d, want 404", code)
	}

	reg.mu.Lock()
	reg.block = make(chan struct{})
	reg.mu.Unlock()
	code, j = featuretest.Do(t, "POST", base+"/v1/models/tiny/compress", `{"method":"quantize","new_id":"running"}`)
	if code != http.StatusAccepted {
		t.Fatalf("POST = %d %v", code, j)
	}
	running := j["id"].(string)
	if code, body := featuretest.Do(t, "DELETE", base+"/v1/compress/jobs/"+running, ""); code != http.StatusNoContent {
		t.Errorf("DELETE running job = %d %v, want 204", code, body)
	}
	close(reg.block)
	// A new job may start once the cancelled one has stopped (MaxActive 1).
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := featuretest.Do(t, "POST", base+"/v1/models/tiny/compress", `{"method":"quantize","new_id":"after"}`)
		if code == http.StatusAccepted {
			break
		}
		if code != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("POST after deleting the running job = %d %v, want 202 (429 until it stops)", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, ok := reg.Model("running"); ok {
		t.Errorf("model of a job deleted while running is served once it finished")
	}
}

// TestCompressDeleteKeepsReusedID: a job's model deleted directly, and
// its id reused by a later job: deleting the first job leaves the later
// job's model served.
func TestCompressDeleteKeepsReusedID(t *testing.T) {
	base, reg := newServer(t, Options{}, true)
	var jobs []string
	for i := range 2 {
		code, j := featuretest.Do(t, "POST", base+"/v1/models/tiny/compress", `{"method":"quantize","new_id":"x"}`)
		if code != http.StatusAccepted {
			t.Fatalf("POST %d = %d %v", i, code, j)
		}
		jobs = append(jobs, j["id"].(string))
		if j = wait(t, base, j["id"].(string)); j["status"] != "done" {
			t.Fatalf("job %d = %v, want done", i, j)
		}
		if i == 0 {
			if err := reg.RemoveModel("x"); err != nil { // as DELETE /v1/models/x does
				t.Fatal(err)
			}
		}
	}
	if code, body := featuretest.Do(t, "DELETE", base+"/v1/compress/jobs/"+jobs[0], ""); code != http.StatusNoContent {
		t.Fatalf("DELETE first job = %d %v", code, body)
	}
	if _, ok := reg.Model("x"); !ok {
		t.Errorf("deleting the first job removed the second job's model x")
	}
}
