package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/api/jobsapi"
	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

// startCommand runs a command in the background until the test ends
// and returns the first line it prints.
func startCommand(t *testing.T, run func(context.Context, *Env, []string) error, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, &Env{Stdout: pw, Stderr: io.Discard}, args)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("%v printed nothing: %v (%v)", args, err, <-done)
	}
	go io.Copy(io.Discard, pr)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%v after cancel: %v, want nil (a clean stop)", args, err)
		}
	})
	return line
}

func TestWorkerRunsJobs(t *testing.T) {
	st, err := jobs.Open(context.Background(), jobs.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir := wavenettest.SaveModels(t, wavenettest.Tiny(t, 1, nil), "tiny")
	line := startCommand(t, runWorker, "--nats", st.URL(), "--kinds", "synthesize", "--models", dir, "--data-dir", t.TempDir())
	if !strings.Contains(line, "synthesize jobs from nats://") {
		t.Errorf("worker printed %q, want the kinds and the NATS URL", line)
	}
	j, err := st.Submit(context.Background(), "synthesize", json.RawMessage(`{"requests":[{"model":"tiny","num_samples":400}]}`))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !j.State.Final() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		j, _ = st.Get(context.Background(), j.ID)
	}
	if j.State != jobs.Succeeded || len(j.Outputs) != 1 || j.Outputs[0].Name != "000.wav" {
		t.Errorf("job = %s %q with outputs %v, want succeeded with 000.wav", j.State, j.Error, j.Outputs)
	}
}

func TestWorkerFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--kinds", "dance"},
		{"--concurrency", "0"},
		{"extra"},
	} {
		err := runWorker(context.Background(), &Env{Stdout: io.Discard, Stderr: io.Discard}, args)
		if !errors.Is(err, ErrUsage) {
			t.Errorf("worker %v = %v, want a usage error", args, err)
		}
	}
}

// TestTwoServesShareJobs: two serve replicas on one NATS (--nats), one
// with --no-worker: a job posted to that one is run by the other's
// worker and read back, with its output, through the first.
func TestTwoServesShareJobs(t *testing.T) {
	st, err := jobs.Open(context.Background(), jobs.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var bases []string
	for _, extra := range [][]string{{"--no-worker"}, nil} {
		args := append([]string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--random-model", "tiny", "--nats", st.URL()}, extra...)
		line := startCommand(t, runServe, args...)
		bases = append(bases, strings.TrimSpace(line[strings.Index(line, "http://"):]))
	}
	id := postSynthJob(t, bases[0])
	j := waitJob(t, bases[0], id)
	if j.State != jobs.Succeeded || j.Attempts != 1 {
		t.Fatalf("job posted to the replica without a worker = %s %q after %d attempts, want succeeded after 1", j.State, j.Error, j.Attempts)
	}
	if other := waitJob(t, bases[1], id); other.State != jobs.Succeeded {
		t.Errorf("the other replica sees the job as %s, want succeeded", other.State)
	}
	checkWAV(t, bases[0]+"/v1/jobs/"+id+"/outputs/000.wav")

	// A model made by a job (run by the second replica's worker) is
	// listed and served by the first replica, from the shared store.
	id = postJob(t, bases[0], `{"kind":"compress","model":"default","method":"quantize","dtype":"fp16"}`)
	if j := waitJob(t, bases[0], id); j.State != jobs.Succeeded {
		t.Fatalf("compress job: %s %q", j.State, j.Error)
	}
	r, err := http.Get(bases[0] + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if !strings.Contains(string(b), `"id":"`+id+`"`) {
		t.Errorf("GET /v1/models does not list the job's model %s: %s", id, b)
	}
	r, err = http.Post(bases[0]+"/v1/synthesize", "application/json",
		strings.NewReader(`{"model":"`+id+`","num_samples":400,"seed":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || len(b) != 844 {
		t.Errorf("synthesize with the job's model on the other replica: %d, %d bytes %.200s", r.StatusCode, len(b), b)
	}
}

// jobsFeatureDoc is the job routes as serve mounts them, without a
// store: for the OpenAPI document only.
func jobsFeatureDoc() api.Feature { return jobsapi.New(jobsapi.Options{}).Feature() }

// TestServeOpenAPIWithJobs checks the document of serve's routes with
// the job routes (TestServeOpenAPIDocumentsEveryRoute has the others).
func TestServeOpenAPIWithJobs(t *testing.T) {
	features := testFeatures(t, false, featureLimits{})
	defer features.close()
	srv, err := api.New(api.Options{Models: map[string]*synth.Bundle{"default": {Model: wavenettest.Tiny(t, 1, nil)}},
		Features: append(features.list, jobsFeatureDoc())})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	if err := srv.CheckOpenAPI(); err != nil {
		t.Error(err)
	}
}

// TestServeRunsJobs: serve with no job flags starts the embedded NATS
// server and a worker: a synthesize job posted to it is run and its
// output downloaded.
func TestServeRunsJobs(t *testing.T) {
	line := startCommand(t, runServe, "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--random-model", "tiny")
	base := strings.TrimSpace(line[strings.Index(line, "http://"):])
	id := postSynthJob(t, base)
	if j := waitJob(t, base, id); j.State != jobs.Succeeded {
		t.Fatalf("job = %s %q, want succeeded", j.State, j.Error)
	}
	checkWAV(t, base+"/v1/jobs/"+id+"/outputs/000.wav")
}

// postSynthJob posts a synthesize job of 400 samples of the random tiny
// model (8 kHz: 50 ms) and returns its id.
func postSynthJob(t *testing.T, base string) string {
	t.Helper()
	return postJob(t, base, `{"kind":"synthesize","requests":[{"model":"random","num_samples":400,"seed":1}]}`)
}

// postJob posts a job and returns its id.
func postJob(t *testing.T, base, body string) string {
	t.Helper()
	resp, err := http.Post(base+"/v1/jobs", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var sub struct{ ID, State string }
	err = json.NewDecoder(resp.Body).Decode(&sub)
	resp.Body.Close()
	if resp.StatusCode != 202 || err != nil || sub.ID == "" {
		t.Fatalf("POST /v1/jobs = %d %+v %v, want 202 with an id", resp.StatusCode, sub, err)
	}
	return sub.ID
}

// waitJob polls GET /v1/jobs/{id} until the job is finished (30 s at most).
func waitJob(t *testing.T, base, id string) jobs.Job {
	t.Helper()
	var j jobs.Job
	deadline := time.Now().Add(30 * time.Second)
	for !j.State.Final() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		r, err := http.Get(base + "/v1/jobs/" + id)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(r.Body).Decode(&j)
		r.Body.Close()
	}
	return j
}

// checkWAV downloads the job output at url: a 16-bit mono WAV of 400
// samples, 44 header bytes + 800.
func checkWAV(t *testing.T, url string) {
	t.Helper()
	r, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || len(b) != 844 || string(b[:4]) != "RIFF" {
		t.Errorf("GET %s = %d, %d bytes, want 200 and an 844-byte WAV", url, r.StatusCode, len(b))
	}
}
