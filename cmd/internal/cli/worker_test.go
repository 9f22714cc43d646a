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

	"github.com/wavenet-go/wavenet/jobs"
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

// TestServeRunsJobs: serve with no job flags starts the embedded NATS
// server and a worker: a synthesize job posted to it is run and its
// output downloaded.
func TestServeRunsJobs(t *testing.T) {
	line := startCommand(t, runServe, "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--random-model", "tiny")
	base := strings.TrimSpace(line[strings.Index(line, "http://"):])
	// 400 samples of the tiny model at 8 kHz: 50 ms of audio.
	body := `{"kind":"synthesize","requests":[{"model":"random","num_samples":400,"seed":1}]}`
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
	var j jobs.Job
	deadline := time.Now().Add(30 * time.Second)
	for !j.State.Final() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		r, err := http.Get(base + "/v1/jobs/" + sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(r.Body).Decode(&j)
		r.Body.Close()
	}
	if j.State != jobs.Succeeded {
		t.Fatalf("job = %s %q, want succeeded", j.State, j.Error)
	}
	r, err := http.Get(base + "/v1/jobs/" + sub.ID + "/outputs/000.wav")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	// A 16-bit mono WAV of 400 samples: 44 header bytes + 800.
	if r.StatusCode != 200 || len(b) != 844 || string(b[:4]) != "RIFF" {
		t.Errorf("GET output = %d, %d bytes, want 200 and an 844-byte WAV", r.StatusCode, len(b))
	}
}
