package dist

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// natsURL starts a NATS server on a free local port for the test.
func natsURL(t *testing.T) string {
	t.Helper()
	s, err := Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s.URL()
}

// dialAll connects world ranks in goroutines (each waits for the others'
// welcome) under subject.
func dialAll(t testing.TB, url string, world int, opts NATSOptions) []Transport {
	t.Helper()
	nets := make([]Transport, world)
	errs := make([]error, world)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for r := range world {
		wg.Go(func() { nets[r], errs[r] = Dial(ctx, url, r, world, opts) })
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("Dial rank %d: %v", r, err)
		}
		t.Cleanup(func() { nets[r].Close() })
	}
	return nets
}

// TestNATSChunks sends messages of 0 to 10000 bytes with 1000-byte chunks
// between 3 ranks, from two tags at once, and checks that each arrives
// whole and in order.
func TestNATSChunks(t *testing.T) {
	nets := dialAll(t, natsURL(t), 3, NATSOptions{Subject: "test.chunks", MaxChunk: 1000})
	msg := func(from, i int) []byte {
		return bytes.Repeat([]byte(fmt.Sprint(from, ".", i, ";")), i*500)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for from := 1; from < 3; from++ {
		wg.Go(func() {
			for i := range 5 {
				for _, tag := range []string{"a", "b"} {
					if err := nets[from].Send(ctx, 0, tag, msg(from, i)); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	for from := 1; from < 3; from++ {
		for _, tag := range []string{"b", "a"} {
			for i := range 5 {
				got, sender, err := nets[0].Recv(ctx, from, tag)
				if err != nil {
					t.Fatalf("Recv(%d, %s) #%d: %v", from, tag, i, err)
				}
				if want := msg(from, i); sender != from || !bytes.Equal(got, want) {
					t.Fatalf("Recv(%d, %s) #%d = %d bytes from %d, want %d bytes from %d", from, tag, i, len(got), sender, len(want), from)
				}
			}
		}
	}
	wg.Wait()
	if got, want := nets[1].Sent(), int64(2*500*(0+1+2+3+4)*len("1.0;")); got < want {
		t.Errorf("rank 1 Sent() = %d, want at least %d", got, want)
	}
}

// TestSyncNATS is TestSyncEqualsOneProcess over a real NATS server with
// chunked messages (the tiny model's gradient is ~50 KB, chunks 16 KB),
// the ring on 3 ranks, the reduce on 2, and 2 ranks as pipeline stages.
func TestSyncNATS(t *testing.T) {
	url := natsURL(t)
	ckpt, opts := startRun(t, t.TempDir(), testOptions(4))
	want := reference(t, ckpt, opts)
	for _, tc := range []struct {
		alg   Algorithm
		world int
		pipe  bool
	}{{Reduce, 2, false}, {Ring, 3, false}, {Reduce, 2, true}} {
		nets := dialAll(t, url, tc.world, NATSOptions{Subject: fmt.Sprintf("test.sync.%d.%v", tc.world, tc.pipe), MaxChunk: 16 << 10})
		models := runSync(t, nets, t.TempDir(), ckpt, opts, Options{Algorithm: tc.alg, PipelineRanks: tc.pipe, MicroBatches: 2})
		if d := maxDiff(models[0], want); d > syncTol {
			t.Errorf("%s on %d ranks over NATS (pipeline %v): weights differ from one process's by %g, want at most %g", tc.alg, tc.world, tc.pipe, d, syncTol)
		}
		for r := 1; r < tc.world && !tc.pipe; r++ { // pipeline stages hold their own weights only
			if d := maxDiff(models[r], models[0]); d != 0 {
				t.Errorf("%s on %d ranks over NATS: rank %d differs from rank 0 by %g", tc.alg, tc.world, r, d)
			}
		}
	}
}
