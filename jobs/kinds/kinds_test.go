package kinds_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/compress"
	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/jobs/kinds"
	"github.com/wavenet-go/wavenet/jobs/kinds/kindstest"
	"github.com/wavenet-go/wavenet/listening/listeningtest"
	"github.com/wavenet-go/wavenet/synth"
	"github.com/wavenet-go/wavenet/wavenet"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

func open(t *testing.T) *jobs.Store {
	t.Helper()
	s, err := jobs.Open(context.Background(), jobs.Options{DataDir: t.TempDir(), AckWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// work runs the handlers on s until stop is called (or the test ends).
func work(t *testing.T, s *jobs.Store, hs map[string]jobs.Handler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Work(ctx, jobs.WorkOptions{Handlers: hs, PruneEvery: -1}); err != nil {
			t.Errorf("Work: %v", err)
		}
	}()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

// run submits a job and waits (60 s at most: the train job on a loaded
// machine) until it is finished.
func run(t *testing.T, s *jobs.Store, kind, req string) jobs.Job {
	t.Helper()
	if err := kinds.Validate(context.Background(), kind, json.RawMessage(req)); err != nil {
		t.Fatalf("Validate(%s, %s): %v", kind, req, err)
	}
	j, err := s.Submit(context.Background(), kind, json.RawMessage(req))
	if err != nil {
		t.Fatal(err)
	}
	return wait(t, s, j.ID, func(j jobs.Job) bool { return j.State.Final() })
}

func wait(t *testing.T, s *jobs.Store, id string, cond func(jobs.Job) bool) jobs.Job {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		j, err := s.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s: still %s (%s) after 60 s", id, j.State, j.Stage)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct{ kind, req, want string }{
		{"synthesize", `{"requests":[{"num_samples":100}]}`, ""},
		{"synthesize", `{"requests":[]}`, "1 to 1000"},
		{"synthesize", `{"requests":[{"stream":true}]}`, "requests[0].stream"},
		{"synthesize", `{"requests":[{"bogus":1}]}`, "bogus"},
		{"compress", `{"method":"quantize"}`, ""},
		{"compress", `{"method":"prune","amount":2}`, "amount 2"},
		{"compress", `{"method":"squash"}`, "method \"squash\""},
		{"compress", `{"method":"quantize","model":"nope"}`, "model \"nope\""},
		{"train", `{"data":"/corpus"}`, ""},
		{"train", `{}`, "data"},
		{"train", `{"data":"x","preset":"huge"}`, "preset \"huge\""},
		{"rl", `{"env":"FrozenLake-v1","agent":"q-learning","episodes":10}`, ""},
		{"rl", `{"env":"CartPole-v1","agent":"q-learning","episodes":10}`, "q-learning runs on"},
		{"rl", `{"env":"FrozenLake-v1","agent":"q-learning","episodes":10000000}`, "at most 1000000"},
		{"dance", `{}`, "kind \"dance\""},
	} {
		err := kinds.Validate(context.Background(), c.kind, json.RawMessage(c.req))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("Validate(%s, %s) = %v, want nil", c.kind, c.req, err)
		case c.want != "" && (err == nil || !errors.Is(err, kinds.ErrRequest) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("Validate(%s, %s) = %v, want ErrRequest mentioning %q", c.kind, c.req, err, c.want)
		}
	}
}

func TestSynthesize(t *testing.T) {
	s := open(t)
	e, err := synth.New(map[string]*synth.Bundle{"default": {Model: wavenettest.Tiny(t, 1, nil)}}, synth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	hs, err := kinds.Handlers(kinds.Options{Engine: e}, []string{kinds.Synthesize})
	if err != nil {
		t.Fatal(err)
	}
	work(t, s, hs)
	// 400 samples at the tiny model's 8 kHz: 50 ms each.
	j := run(t, s, kinds.Synthesize, `{"requests":[{"num_samples":400,"seed":1},{"num_samples":400,"seed":2,"format":"pcm16"}]}`)
	if j.State != jobs.Succeeded {
		t.Fatalf("synthesize job %s: %s", j.State, j.Error)
	}
	b, err := s.ReadOutput(context.Background(), j.ID, "000.wav")
	if err != nil {
		t.Fatal(err)
	}
	c, err := audio.Decode(bytes.NewReader(b))
	if err != nil || c.Format.SampleRate != 8000 || c.Frames() != 400 {
		t.Fatalf("000.wav: %v, %v; want 400 samples at 8000 Hz", c, err)
	}
	if b, err := s.ReadOutput(context.Background(), j.ID, "001.pcm16"); err != nil || len(b) != 800 {
		t.Errorf("001.pcm16: %d bytes, %v; want 800 (400 16-bit samples)", len(b), err)
	}
	var res kinds.SynthesizeResult
	if err := json.Unmarshal(j.Result, &res); err != nil || len(res.Files) != 2 || res.Files[1].Seed != 2 {
		t.Errorf("result %s, %v; want 2 files, the second with seed 2", j.Result, err)
	}
}

func TestRL(t *testing.T) {
	s := open(t)
	hs, err := kinds.Handlers(kinds.Options{WorkDir: filepath.Join(t.TempDir(), "work")}, []string{kinds.RL})
	if err != nil {
		t.Fatal(err)
	}
	work(t, s, hs)
	// 200 episodes of tabular Q-learning on the 4x4 lake: milliseconds.
	j := run(t, s, kinds.RL, `{"env":"FrozenLake-v1-nonslippery","agent":"q-learning","episodes":200,"seed":1,"eval_episodes":10}`)
	if j.State != jobs.Succeeded {
		t.Fatalf("rl job: %s %s", j.State, j.Error)
	}
	var res kinds.RLResult
	if err := json.Unmarshal(j.Result, &res); err != nil || res.Episodes != 200 {
		t.Errorf("rl result %s, %v; want 200 episodes", j.Result, err)
	}
	for _, name := range []string{"run/summary.json", "run/curve.png"} {
		if _, err := s.ReadOutput(context.Background(), j.ID, name); err != nil {
			t.Errorf("output %s: %v", name, err)
		}
	}
}

func TestCompress(t *testing.T) {
	s, src := compressWorker(t)
	for _, c := range []struct {
		req    string
		format compress.Format
	}{
		{`{"job":"` + src.ID + `","method":"quantize"}`, compress.Int8},
		{`{"job":"` + src.ID + `","method":"quantize","dtype":"fp16"}`, compress.FP16},
		{`{"job":"` + src.ID + `","method":"prune","amount":0.5}`, compress.FP32},
	} {
		j := run(t, s, kinds.Compress, c.req)
		if j.State != jobs.Succeeded {
			t.Errorf("compress %s: %s %s", c.req, j.State, j.Error)
			continue
		}
		dir := t.TempDir()
		for _, name := range []string{wavenet.ConfigFile, wavenet.WeightsFile} {
			b, err := s.ReadOutput(context.Background(), j.ID, "model/"+name)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, info, err := compress.Load(context.Background(), dir)
		if err != nil || info.Format != c.format {
			t.Errorf("compress %s: model/ loads as %s, %v; want %s", c.req, info.Format, err, c.format)
		}
	}
	j := run(t, s, kinds.Compress, `{"job":"000000000000000000000000","method":"quantize"}`)
	if j.State != jobs.Failed || !strings.Contains(j.Error, "not found") {
		t.Errorf("compress of a missing job: %s %q, want failed \"not found\"", j.State, j.Error)
	}
}

// compressWorker opens a store with a compress worker and returns it with
// a succeeded job that made a model.
func compressWorker(t *testing.T) (*jobs.Store, jobs.Job) {
	t.Helper()
	s := open(t)
	hs, err := kinds.Handlers(kinds.Options{WorkDir: filepath.Join(t.TempDir(), "work")}, []string{kinds.Compress})
	if err != nil {
		t.Fatal(err)
	}
	hs["put-model"] = kindstest.PutModel(t, wavenettest.Tiny(t, 2, nil))
	work(t, s, hs)
	src, err := s.Submit(context.Background(), "put-model", nil)
	if err != nil {
		t.Fatal(err)
	}
	wait(t, s, src.ID, func(j jobs.Job) bool { return j.State == jobs.Succeeded })
	return s, src
}

// TestTrainResumes: a train job interrupted by its worker stopping
// resumes, on the next worker, from the checkpoint it stored.
func TestTrainResumes(t *testing.T) {
	s := open(t)
	data := t.TempDir()
	listeningtest.WriteDigitCorpus(t, data)
	hs, err := kinds.Handlers(kinds.Options{WorkDir: filepath.Join(t.TempDir(), "work")}, []string{kinds.Train})
	if err != nil {
		t.Fatal(err)
	}
	stop := work(t, s, hs)
	// 20 steps of a tiny model, a checkpoint every 2: seconds of CPU;
	// the worker stops after the first checkpoint is stored.
	req := `{"data":` + string(must(json.Marshal(data))) +
		`,"preset":"tiny","steps":20,"checkpoint_every":2,"keep":1,"batch":2,"segment":200,"workers":1}`
	if err := kinds.Validate(context.Background(), kinds.Train, json.RawMessage(req)); err != nil {
		t.Fatal(err)
	}
	j, err := s.Submit(context.Background(), kinds.Train, json.RawMessage(req))
	if err != nil {
		t.Fatal(err)
	}
	wait(t, s, j.ID, func(j jobs.Job) bool {
		for _, o := range j.Outputs {
			if strings.HasPrefix(o.Name, "run/checkpoints/") {
				return true
			}
		}
		return j.State.Final()
	})
	stop()
	if got, _ := s.Get(context.Background(), j.ID); got.State != jobs.Queued && got.State != jobs.Succeeded {
		t.Fatalf("after the worker stopped the job is %s, want queued (or succeeded if it was quicker)", got.State)
	}
	work(t, s, hs)
	got := wait(t, s, j.ID, func(j jobs.Job) bool { return j.State.Final() })
	if got.State != jobs.Succeeded {
		t.Fatalf("train job: %s %s", got.State, got.Error)
	}
	var res kinds.TrainResult
	if err := json.Unmarshal(got.Result, &res); err != nil || res.Step != 20 {
		t.Errorf("train result %s, %v; want step 20", got.Result, err)
	}
	if got.Attempts != 2 || !res.Resumed {
		t.Errorf("after %d attempts the result is %s; want 2 attempts, the second resumed from the stored checkpoint", got.Attempts, got.Result)
	}
	var model []string
	for _, o := range got.Outputs {
		if strings.HasPrefix(o.Name, "model/") {
			model = append(model, o.Name)
		}
	}
	if want := []string{"model/" + wavenet.ConfigFile, "model/" + wavenet.WeightsFile}; !slices.Equal(model, want) {
		t.Errorf("model outputs %v, want %v (no optimizer state)", model, want)
	}
}

// TestTrainCorpusRoot: with a corpus root, a train job's data must be a
// relative path under it.
func TestTrainCorpusRoot(t *testing.T) {
	s := open(t)
	hs, err := kinds.Handlers(kinds.Options{WorkDir: t.TempDir(), CorpusRoot: t.TempDir()}, []string{kinds.Train})
	if err != nil {
		t.Fatal(err)
	}
	work(t, s, hs)
	for _, data := range []string{"/etc", "../outside"} {
		j := run(t, s, kinds.Train, `{"data":"`+data+`","preset":"tiny","steps":1}`)
		if j.State != jobs.Failed || !strings.Contains(j.Error, "relative path under") {
			t.Errorf("train on %q = %s %q, want failed: a relative path under the corpus folder", data, j.State, j.Error)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
