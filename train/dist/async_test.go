package dist

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wavenet-go/wavenet/train"
)

// runAsync runs the ranks of an asynchronous run in goroutines over nets
// and returns rank 0's Async (closed).
func runAsync(t *testing.T, nets []Transport, dir, ckpt string, opts train.Options, dopts Options) *Async {
	t.Helper()
	as := make([]*Async, len(nets))
	errs := make([]error, len(nets))
	var wg sync.WaitGroup
	for r, net := range nets {
		wg.Go(func() {
			tr, va := testCorpus(256)
			a, err := NewAsync(context.Background(), net, dir, ckpt, tr, va, opts, dopts)
			if err != nil {
				errs[r] = err
				return
			}
			defer a.Close()
			as[r], errs[r] = a, a.Run(context.Background())
		})
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	return as[0]
}

// TestAsyncOneWorker: with one worker, each gradient is applied before
// the next pull (the worker's messages arrive in order), so every update
// has staleness 0 and the run is one process's with the whole batch:
// equal within syncTol (the same float operations, measured 0).
func TestAsyncOneWorker(t *testing.T) {
	ckpt, opts := startRun(t, t.TempDir(), testOptions(4))
	want := reference(t, ckpt, opts)
	a := runAsync(t, Local(1), t.TempDir(), ckpt, opts, Options{})
	t.Logf("difference %g", maxDiff(a.Model(), want))
	if d := maxDiff(a.Model(), want); d > syncTol {
		t.Errorf("async with one worker: weights differ from one process's by %g, want at most %g", d, syncTol)
	}
	if st := a.Staleness(); len(st.Counts) != 1 || st.Counts[0] != 4 || st.Dropped != 0 {
		t.Errorf("staleness %+v, want 4 updates of staleness 0", st)
	}
}

// TestAsyncResume: a run stopped after update 2 and resumed from the
// server's checkpoint ends where an uninterrupted one does, exactly (one
// worker: deterministic), and a resumed checkpoint loads in package train.
func TestAsyncResume(t *testing.T) {
	ckpt, opts := startRun(t, t.TempDir(), testOptions(4))
	whole := runAsync(t, Local(1), t.TempDir(), ckpt, opts, Options{}).Model()

	dir := t.TempDir()
	part := opts
	part.Until = 2
	runAsync(t, Local(1), dir, ckpt, part, Options{})
	last, err := train.LatestCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(last) != "step-000000002" {
		t.Fatalf("latest checkpoint %s, want step 2's", last)
	}
	got := runAsync(t, Local(1), dir, last, opts, Options{}).Model()
	if d := maxDiff(got, whole); d != 0 {
		t.Errorf("resumed async run differs from an uninterrupted one by %g, want 0", d)
	}
	tr, va := testCorpus(256)
	tn, err := train.Resume(context.Background(), dir, tr, va, opts)
	if err != nil {
		t.Fatalf("train.Resume of the async run's checkpoint: %v", err)
	}
	tn.Close()
}

// TestAsyncWorkers runs 3 workers for 12 updates: each update's
// staleness is recorded, none beyond the bound of 1, and staleness.json
// says the same.
func TestAsyncWorkers(t *testing.T) {
	ckpt, opts := startRun(t, t.TempDir(), testOptions(12))
	opts.ValidateEvery = 0
	dir := t.TempDir()
	for _, codec := range []Codec{F32, Int8} {
		a := runAsync(t, Local(3), dir, ckpt, opts, Options{MaxStaleness: 1, Codec: codec})
		st := a.Staleness()
		t.Logf("%s: staleness %+v", codec, st)
		var n int64
		for _, c := range st.Counts {
			n += c
		}
		if n != 12 || len(st.Counts) > 2 {
			t.Errorf("%s: staleness %+v: want 12 updates of staleness at most 1", codec, st)
		}
		var file Staleness
		b, err := os.ReadFile(filepath.Join(dir, StalenessFile))
		if err == nil {
			err = json.Unmarshal(b, &file)
		}
		if err != nil || len(file.Counts) != len(st.Counts) {
			t.Errorf("%s: %s = %+v (%v), want %+v", codec, StalenessFile, file, err, st)
		}
		os.RemoveAll(filepath.Join(dir, train.CheckpointDir))
	}
}
