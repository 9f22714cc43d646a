package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/cache"
	"github.com/wavenet-go/wavenet/compress"
	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/mulaw"
	"github.com/wavenet-go/wavenet/wavenet"
)

// TestServeCompressJobServedAtOnce runs the serve command in process on a
// free loopback port with the embedded models, starts an int8
// quantization of the default model through POST
// /v1/models/default/compress (a compress job of the job store, run by
// serve's in-process worker), follows the job with GET until it is done,
// and checks that the new model, named by the job's id, is listed by GET
// /v1/models and synthesizes at once, without a restart.
func TestServeCompressJobServedAtOnce(t *testing.T) {
	if !models.Available() {
		t.Skip("no embedded models")
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := runServe(ctx, &Env{Stdout: pw, Stderr: io.Discard},
			[]string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--no-rl", "--workers", "1", "--max-streams", "2"})
		pw.CloseWithError(err)
		done <- err
	}()
	defer func() {
		cancel()
		go io.Copy(io.Discard, pr) // the command may still print
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v, want nil after cancel", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30 s of cancel")
		}
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	_, base, ok := strings.Cut(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("first stdout line %q (%v), want \"... listening on http://ADDR\"", line, err)
	}
	getJSON := func(path string, v any) int {
		t.Helper()
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s = %d %s: %v", path, res.StatusCode, b, err)
		}
		return res.StatusCode
	}

	res, err := http.Post(base+"/v1/models/default/compress", "application/json",
		strings.NewReader(`{"method": "quantize", "dtype": "int8", "per_channel": true}`))
	if err != nil {
		t.Fatal(err)
	}
	var job struct {
		ID       string  `json:"id"`
		NewModel string  `json:"new_model"`
		Status   string  `json:"status"`
		Stage    string  `json:"stage"`
		Error    string  `json:"error"`
		Progress float64 `json:"progress"`
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/models/default/compress = %d %s, want 202", res.StatusCode, b)
	}
	json.Unmarshal(b, &job)
	if job.ID == "" || job.NewModel != job.ID {
		t.Fatalf("job = %+v, want an id and the new model named by it", job)
	}
	newID := job.ID
	// The 1.6 MB default model quantizes in well under a second; 30 s is
	// for a loaded machine.
	deadline := time.Now().Add(30 * time.Second)
	for job.Status == "running" || job.Status == "" {
		if time.Now().After(deadline) {
			t.Fatalf("job still %s (%s, %.2f) after 30 s", job.Status, job.Stage, job.Progress)
		}
		time.Sleep(20 * time.Millisecond)
		if code := getJSON("/v1/compress/jobs/"+job.ID, &job); code != http.StatusOK {
			t.Fatalf("GET /v1/compress/jobs/%s = %d, want 200", job.ID, code)
		}
	}
	if job.Status != "done" || job.Progress != 1 {
		t.Fatalf("job = %+v, want status done, progress 1", job)
	}

	var list struct{ Models []struct{ ID string } }
	getJSON("/v1/models", &list)
	var ids []string
	for _, m := range list.Models {
		ids = append(ids, m.ID)
	}
	if !slices.Contains(ids, newID) {
		t.Errorf("GET /v1/models ids = %v, want the job's id %s among them", ids, newID)
	}
	var one struct {
		ID            string `json:"id"`
		Generator     string `json:"generator"`
		WordDurations string `json:"word_durations"`
	}
	if code := getJSON("/v1/models/"+newID, &one); code != http.StatusOK || one.ID != newID ||
		one.Generator != "int8" || one.WordDurations != "model" {
		t.Errorf("GET /v1/models/%s = %d %+v, want 200, its id, generator int8, word durations from the model", newID, code, one)
	}
	// 400 float32 samples of the new model: cache.NewInt8's on the
	// model the job made (compress.Quantized with the job's options).
	res, err = http.Post(base+"/v1/synthesize", "application/json",
		strings.NewReader(`{"model": "`+newID+`", "num_samples": 400, "label": "7", "speaker": "george", "seed": 1, "format": "float32"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || len(b) != 4*400 {
		t.Fatalf("POST /v1/synthesize %s = %d, %d bytes, want 200, %d bytes", newID, res.StatusCode, len(b), 4*400)
	}
	dir := t.TempDir()
	def, err := fs.Sub(models.FS(), models.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(dir, def); err != nil {
		t.Fatal(err)
	}
	src, err := wavenet.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	q, _, err := compress.Quantized(src, compress.SaveOptions{Format: compress.Int8, DType: compress.QInt8,
		Scheme: compress.Symmetric, PerChannel: true})
	if err != nil {
		t.Fatal(err)
	}
	// The default model's conditions are speaker (george: 0), then digit.
	o := cache.StreamOptions{Cond: []int{0, 7}, Temperature: 1, Seed: 1}
	if got, want := b, audioBytes(int8Codes(t, cache.NewInt8(q, 1), o, 400), q); !bytes.Equal(got, want) {
		t.Errorf("the new model's audio differs from cache.NewInt8's on the quantized model")
	}
	if got, plain := b, audioBytes(int8Codes(t, cache.New(q, 1), o, 400), q); bytes.Equal(got, plain) {
		t.Errorf("the new model's audio equals cache.New's: the int8 generator is not in use")
	}
}

// serveTestStepper is what int8Codes needs of cache.Generator and Int8Generator.
type serveTestStepper interface {
	Join(cache.StreamOptions) (int, error)
	Step([]int32) []int32
}

// int8Codes generates n codes of one stream of g.
func int8Codes(t *testing.T, g serveTestStepper, o cache.StreamOptions, n int) []int32 {
	t.Helper()
	slot, err := g.Join(o)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int32, n)
	var dst []int32
	for i := range out {
		dst = g.Step(dst)
		out[i] = dst[slot]
	}
	return out
}

// audioBytes is the float32 little-endian body the service sends for codes.
func audioBytes(codes []int32, m *wavenet.Model) []byte {
	x := mulaw.Decode(nil, codes, m.Config.QuantizationChannels)
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}
