package api

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/synth"
)

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestServeShutdown runs Serve on a loopback listener, starts a 30 s
// stream (240,000 samples at 8 kHz: still running when ctx is cancelled,
// even on a fast machine), cancels ctx, and checks the stream against the
// shutdown timeout: drained whole within 20 s, cut by 50 ms.
func TestServeShutdown(t *testing.T) {
	m := tinyModel(t)
	for _, tt := range []struct {
		timeout time.Duration
		whole   bool
		log     string
	}{
		{20 * time.Second, true, `msg=stopped`},
		{50 * time.Millisecond, false, `shutdown timeout: some requests were cut`},
	} {
		var logs syncBuffer
		s, err := New(Options{Models: map[string]*synth.Bundle{"default": {Model: m}}, Logger: slogTo(&logs)})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- s.Serve(ctx, ln, ServeOptions{ShutdownTimeout: tt.timeout}) }()
		res := startStream(t, context.Background(), "http://"+ln.Addr().String(), `{"seconds": 30, "stream": true, "format": "pcm16"}`)
		cancel()
		b, rerr := io.ReadAll(res.Body)
		res.Body.Close()
		// startStream read the first 64 bytes.
		if whole := rerr == nil && len(b)+64 == 2*30*8000; whole != tt.whole {
			t.Errorf("shutdown timeout %v: stream of %d bytes (err %v), whole = %v, want %v", tt.timeout, len(b)+64, rerr, whole, tt.whole)
		}
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve after ctx was cancelled (timeout %v) = %v, want nil", tt.timeout, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("Serve did not return within 30 s of ctx being cancelled (timeout %v)", tt.timeout)
		}
		for _, want := range []string{`msg=serving`, `models=default`, `msg="shutting down"`, tt.log} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("shutdown timeout %v: log lacks %s:\n%s", tt.timeout, want, logs.String())
			}
		}
	}
}

// TestServeListenerError checks that Serve returns the error of a listener
// that fails before ctx is done.
func TestServeListenerError(t *testing.T) {
	s, err := New(Options{Models: map[string]*synth.Bundle{"default": {Model: tinyModel(t)}}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if err := s.Serve(context.Background(), ln, ServeOptions{}); err == nil || !strings.Contains(err.Error(), "api: serve") {
		t.Errorf("Serve on a closed listener = %v, want an \"api: serve\" error", err)
	}
}
