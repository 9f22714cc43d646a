package dist

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Transport moves messages between the ranks 0..World()-1 of a run. A
// message has a sender, a receiver and a tag; messages of one sender with
// one tag arrive in the order they were sent. Implementations are safe
// for concurrent use.
type Transport interface {
	Rank() int
	World() int
	// Send delivers msg to rank to (which may be the sender itself). The
	// transport may keep msg until Send returns.
	Send(ctx context.Context, to int, tag string, msg []byte) error
	// Recv returns the next message with tag from rank from, or from any
	// rank when from is -1, and its sender. It returns ctx.Err() when ctx
	// ends first and ErrClosed once the transport is closed.
	Recv(ctx context.Context, from int, tag string) (msg []byte, sender int, err error)
	// Sent is the number of message bytes sent so far (payloads, without
	// the transport's own headers).
	Sent() int64
	Close() error
}

// ErrClosed is returned by a closed transport.
var ErrClosed = errors.New("dist: transport closed")

// mailbox queues the messages a rank received until Recv takes them.
type mailbox struct {
	mu     sync.Mutex
	queues map[mailKey][][]byte
	wake   chan struct{} // closed and replaced on every delivery
	closed bool
}

type mailKey struct {
	from int
	tag  string
}

func newMailbox() *mailbox {
	return &mailbox{queues: map[mailKey][][]byte{}, wake: make(chan struct{})}
}

func (m *mailbox) deliver(from int, tag string, msg []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	k := mailKey{from, tag}
	m.queues[k] = append(m.queues[k], msg)
	close(m.wake)
	m.wake = make(chan struct{})
}

func (m *mailbox) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		close(m.wake)
	}
}

func (m *mailbox) recv(ctx context.Context, from int, tag string, world int) ([]byte, int, error) {
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return nil, 0, ErrClosed
		}
		lo, hi := from, from+1
		if from < 0 {
			lo, hi = 0, world
		}
		for r := lo; r < hi; r++ {
			k := mailKey{r, tag}
			if q := m.queues[k]; len(q) > 0 {
				msg := q[0]
				q[0] = nil
				if len(q) == 1 {
					delete(m.queues, k)
				} else {
					m.queues[k] = q[1:]
				}
				m.mu.Unlock()
				return msg, r, nil
			}
		}
		wake := m.wake
		m.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

// Local returns the transports of world ranks in one process, connected by
// memory: for tests and for threads standing in for machines.
func Local(world int) []Transport {
	boxes := make([]*mailbox, world)
	for i := range boxes {
		boxes[i] = newMailbox()
	}
	ts := make([]Transport, world)
	for r := range ts {
		ts[r] = &local{rank: r, boxes: boxes}
	}
	return ts
}

type local struct {
	rank  int
	boxes []*mailbox
	sent  atomic.Int64
}

func (l *local) Rank() int    { return l.rank }
func (l *local) World() int   { return len(l.boxes) }
func (l *local) Sent() int64  { return l.sent.Load() }
func (l *local) Close() error { l.boxes[l.rank].close(); return nil }

func (l *local) Send(ctx context.Context, to int, tag string, msg []byte) error {
	if to < 0 || to >= len(l.boxes) {
		return fmt.Errorf("dist: send to rank %d of %d", to, len(l.boxes))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.sent.Add(int64(len(msg)))
	l.boxes[to].deliver(l.rank, tag, append([]byte(nil), msg...))
	return nil
}

func (l *local) Recv(ctx context.Context, from int, tag string) ([]byte, int, error) {
	return l.boxes[l.rank].recv(ctx, from, tag, len(l.boxes))
}
