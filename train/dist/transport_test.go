package dist

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestLocalTransport: messages of one sender and tag arrive in order,
// Recv(-1) takes any sender's, a message to oneself arrives, an empty
// mailbox waits until the context ends, and a closed transport says so.
func TestLocalTransport(t *testing.T) {
	ctx := context.Background()
	nets := Local(3)
	for i, m := range []string{"a", "b"} {
		if err := nets[1].Send(ctx, 0, "t", []byte(m)); err != nil {
			t.Fatal(err)
		}
		if err := nets[2].Send(ctx, 0, "u", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	nets[0].Send(ctx, 0, "self", []byte("me"))
	for _, want := range []string{"a", "b"} {
		if got, from, err := nets[0].Recv(ctx, 1, "t"); err != nil || string(got) != want || from != 1 {
			t.Errorf("Recv(1, t) = %q from %d, %v; want %q from 1", got, from, err, want)
		}
	}
	if _, from, err := nets[0].Recv(ctx, -1, "u"); err != nil || from != 2 {
		t.Errorf("Recv(-1, u) from %d, %v; want a message from 2", from, err)
	}
	if got, _, err := nets[0].Recv(ctx, 0, "self"); err != nil || string(got) != "me" {
		t.Errorf("Recv(0, self) = %q, %v; want \"me\"", got, err)
	}
	if got := nets[1].Sent(); got != 2 {
		t.Errorf("rank 1 Sent() = %d, want 2 bytes", got)
	}
	tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, _, err := nets[0].Recv(tctx, 1, "t"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Recv on an empty mailbox = %v, want the context's deadline", err)
	}
	nets[0].Close()
	if _, _, err := nets[0].Recv(ctx, -1, "u"); !errors.Is(err, ErrClosed) {
		t.Errorf("Recv after Close = %v, want ErrClosed", err)
	}
}
