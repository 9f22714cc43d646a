package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

// serveTestModels saves a random tiny model (the "tiny" preset: 8 kHz,
// receptive field 33) conditioned on digit and speaker as checkpoint
// <root>/digits, and returns root (a --models directory).
func serveTestModels(t *testing.T) string {
	t.Helper()
	m := wavenettest.Tiny(t, 5, wavenettest.FSDD())
	root := t.TempDir()
	if err := wavenet.Save(context.Background(), filepath.Join(root, "digits"), m, nil); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestServeBinary builds the real binary, serves a checkpoint directory on
// a free loopback port, synthesizes, and checks that SIGTERM lets a running
// synthesis finish before the process exits 0.
func TestServeBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "wavenet")
	build := exec.Command("go", "build", "-o", bin, "github.com/wavenet-go/wavenet/cmd/wavenet")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	keyFile := filepath.Join(t.TempDir(), "keys")
	os.WriteFile(keyFile, []byte("# test key\nk-123\n"), 0o600)
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--models", serveTestModels(t), "--data-dir", t.TempDir(),
		"--api-key-file", keyFile, "--shutdown-timeout", "20s", "--log-format", "json")
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	_, base, ok := strings.Cut(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("first stdout line %q (%v), want \"... listening on http://ADDR\"; stderr:\n%s", line, err, stderr.String())
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz not 200 within 20 s (%v); stderr:\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	do := func(body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/synthesize", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer k-123")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// A WAV of 0.25 s (2000 samples at 8 kHz) for digit 7.
	res := do(`{"model": "digits", "seconds": 0.25, "label": "7", "seed": 1}`)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("POST /v1/synthesize = %d %s", res.StatusCode, b)
	}
	clip, err := audio.Decode(bytes.NewReader(b))
	if err != nil || clip.Frames() != 2000 || clip.Format.SampleRate != 8000 {
		t.Fatalf("response WAV: %v, %v; want 2000 frames at 8000 Hz", clip, err)
	}
	// Without the key: 401.
	if r2, err := http.Get(base + "/v1/models"); err != nil || r2.StatusCode != 401 {
		t.Errorf("GET /v1/models without a key = %v %v, want 401", r2.Status, err)
	} else {
		r2.Body.Close()
	}
	// The web page (package web) is mounted and needs no key: it asks
	// for one.
	if r, err := http.Get(base + "/"); err != nil {
		t.Errorf("GET /: %v", err)
	} else {
		r.Body.Close()
		if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("GET / = %s %q, want 200 text/html; charset=utf-8 (the web page)", r.Status, r.Header.Get("Content-Type"))
		}
	}
	var list struct{ Models []struct{ ID string } }
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/models", nil)
	req.Header.Set("X-API-Key", "k-123")
	if r, err := http.DefaultClient.Do(req); err == nil {
		json.NewDecoder(r.Body).Decode(&list)
		r.Body.Close()
	}
	if len(list.Models) != 1 || list.Models[0].ID != "digits" {
		t.Errorf("GET /v1/models = %+v, want one model \"digits\"", list)
	}

	// Start a 30 s streamed synthesis (240,000 samples: a good fraction of
	// a second even on a fast machine), then SIGTERM: it must finish.
	res = do(`{"seconds": 30, "stream": true, "format": "pcm16"}`)
	if res.StatusCode != 200 {
		t.Fatalf("stream = %d", res.StatusCode)
	}
	first := make([]byte, 2)
	if _, err := io.ReadFull(res.Body, first); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || len(rest)+2 != 2*30*8000 {
		t.Errorf("stream across SIGTERM: %d bytes, %v; want all %d bytes", len(rest)+2, err, 2*30*8000)
	}
	done := make(chan error)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after SIGTERM exited with %v, want status 0; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit within 30 s of SIGTERM")
	}
	logs := stderr.String()
	if strings.Contains(logs, "k-123") {
		t.Error("the API key appears in the log")
	}
	for _, want := range []string{`"msg":"http request"`, `"status":200`, `"msg":"shutting down"`, `"msg":"stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	// The stream ended after the shutdown began (it was drained, not
	// finished before the signal by chance).
	shut, streamDone := strings.Index(logs, `"msg":"shutting down"`), strings.Index(logs, `"bytes_out":480000`)
	if shut < 0 || streamDone < shut {
		t.Errorf("the stream's access-log line (at %d) is not after \"shutting down\" (at %d):\n%s", streamDone, shut, logs)
	}
}

func TestServeFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-streams", "0"}, "--max-streams"},
		{[]string{"--log-format", "xml"}, "--log-format"},
		{[]string{"--random-model", "huge"}, "unknown preset"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"--api-key-file", "/nonexistent/keys"}, "api key file"},
		{[]string{"--models", "/nonexistent/models"}, "models directory"},
		{[]string{"--max-evaluations", "0"}, "--max-evaluations"},
		{[]string{"--evaluation-memory", "-1"}, "--evaluation-memory"},
	} {
		var out, errb bytes.Buffer
		err := runServe(context.Background(), &Env{Stdout: &out, Stderr: &errb}, c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("serve %v = %v, want an error mentioning %q", c.args, err, c.want)
		}
	}
}

// TestServeOpenAPIDocumentsEveryRoute checks the document of the server as
// the binary assembles it (every feature of newServeFeatures included).
func TestServeOpenAPIDocumentsEveryRoute(t *testing.T) {
	features := testFeatures(t, false, featureLimits{})
	defer features.close()
	m := wavenettest.Tiny(t, 1, nil)
	srv, err := api.New(api.Options{Models: map[string]*synth.Bundle{"default": {Model: m}}, Features: features.list})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	if err := srv.CheckOpenAPI(); err != nil {
		t.Error(err)
	}
}

// TestServeEmbedded: serve with no model flags serves the embedded
// models, the digit voice and the vocoder, each listed by /v1/models, and
// copy-synthesises a WAV upload on /v1/vocode with the vocoder.
func TestServeEmbedded(t *testing.T) {
	if !models.Has(models.ID) || !models.Has(models.VocoderID) {
		t.Skip("the binary embeds no default model or vocoder")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startServe(t, ctx, io.Discard, "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	resp, err := http.Get(base + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Models []struct {
			ID    string `json:"id"`
			Local *struct {
				Mel *audio.MelParams `json:"mel"`
			} `json:"local_conditioning"`
		} `json:"models"`
	}
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	local := map[string]bool{}
	for _, m := range list.Models {
		local[m.ID] = m.Local != nil && m.Local.Mel != nil
	}
	if v, ok := local[models.ID]; !ok || v {
		t.Errorf("/v1/models: %q listed %v, local conditioning %v; want listed, without", models.ID, ok, v)
	}
	if v, ok := local[models.VocoderID]; !ok || !v {
		t.Errorf("/v1/models: %q listed %v, mel parameters %v; want both", models.VocoderID, ok, v)
	}
	wav := filepath.Join(t.TempDir(), "tone.wav")
	writeSine(t, wav, 8000, 800)
	resp, err = http.Post(base+"/v1/vocode?model="+models.VocoderID, "audio/wav", bytes.NewReader(readFile(t, wav)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/vocode: %s: %s", resp.Status, body)
	}
	c, err := audio.Decode(bytes.NewReader(body))
	if err != nil || len(c.Samples) < 800 {
		t.Errorf("POST /v1/vocode: %v, want a WAV of at least the 800 samples sent", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve after cancel: %v", err)
	}
}

// TestServeCorruptModel: serve with a --models directory holding a
// corrupt checkpoint beside a good one starts, serves the good one and
// lists the corrupt one under "failed" with its error; the log names it.
func TestServeCorruptModel(t *testing.T) {
	root := serveTestModels(t)
	if err := wavenet.Save(context.Background(), filepath.Join(root, "broken"), wavenettest.Tiny(t, 6, nil), nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "broken", wavenet.WeightsFile), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncWriter
	base, done := startServe(t, ctx, &logs, "--addr", "127.0.0.1:0", "--models", root, "--data-dir", t.TempDir())
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve = %v", err)
		}
	}()
	resp, err := http.Get(base + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Models []struct{ ID string }        `json:"models"`
		Failed []struct{ ID, Error string } `json:"failed"`
	}
	err = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Models) != 1 || list.Models[0].ID != "digits" || len(list.Failed) != 1 || list.Failed[0].ID != "broken" || list.Failed[0].Error == "" {
		t.Errorf("/v1/models = %+v, want digits served and broken failed with its error", list)
	}
	if !strings.Contains(logs.String(), "model=broken") {
		t.Errorf("log does not name the broken model:\n%s", logs.String())
	}
}

// startServe runs serve with args (an --addr port 0) until ctx is done,
// its log to stderr, and returns its base URL and the channel its
// result comes on.
func startServe(t *testing.T, ctx context.Context, stderr io.Writer, args ...string) (string, <-chan error) {
	t.Helper()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, &Env{Stdout: pw, Stderr: stderr}, args)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("serve printed no address: %v (%v)", err, <-done)
	}
	go io.Copy(io.Discard, pr)
	return strings.TrimSpace(line[strings.Index(line, "http://"):]), done
}

// syncWriter is a log destination safe for the server's goroutines.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
