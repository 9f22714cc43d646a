package dist

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// NATS message headers of the transport.
const (
	hdrFrom = "Dist-From" // sender rank
	hdrTag  = "Dist-Tag"
	hdrMsg  = "Dist-Msg"  // the sender's message number, for reassembly
	hdrPart = "Dist-Part" // "i/n": chunk i of n
)

// Tags of the handshake: a rank answers every hello with a welcome, so a
// rank that has been welcomed by a peer knows its messages reach it (NATS
// drops messages to subjects nobody listens on).
const (
	tagHello   = "_hello"
	tagWelcome = "_welcome"
)

// NATSOptions configure Dial.
type NATSOptions struct {
	// Subject is the prefix of the run's subjects: rank r listens on
	// Subject.r (default "wavenet.dist"). Runs sharing a server need
	// different ones.
	Subject string
	// Wait lists the ranks whose welcome Dial waits for (nil: all others).
	Wait []int
	// MaxChunk is the largest payload of one NATS message (default the
	// server's maximum payload less 4 KiB for headers); longer messages
	// are sent in chunks and put together on arrival.
	MaxChunk int
}

// natsTransport carries messages over NATS core subjects.
type natsTransport struct {
	nc          *nats.Conn
	sub         *nats.Subscription
	subject     string
	rank, world int
	maxChunk    int
	box         *mailbox
	seq         atomic.Int64
	sent        atomic.Int64

	mu      sync.Mutex
	partial map[partKey]*partial
}

type partKey struct {
	from int
	msg  string
}

type partial struct {
	buf  []byte
	next int
}

// Dial connects rank of world to the NATS server at url and waits (until
// ctx ends) for the welcome of the ranks opts.Wait lists.
func Dial(ctx context.Context, url string, rank, world int, opts NATSOptions) (Transport, error) {
	if world < 1 || rank < 0 || rank >= world {
		return nil, fmt.Errorf("dist: rank %d of world %d", rank, world)
	}
	if opts.Subject == "" {
		opts.Subject = "wavenet.dist"
	}
	nc, err := nats.Connect(url, nats.Name(fmt.Sprintf("wavenet dist rank %d", rank)), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("dist: nats %s: %w", url, err)
	}
	t := &natsTransport{nc: nc, subject: opts.Subject, rank: rank, world: world, box: newMailbox(),
		maxChunk: opts.MaxChunk, partial: map[partKey]*partial{}}
	if t.maxChunk <= 0 {
		t.maxChunk = max(int(nc.MaxPayload())-4096, 1024)
	}
	if t.sub, err = nc.Subscribe(t.subj(rank), t.handle); err != nil {
		nc.Close()
		return nil, fmt.Errorf("dist: nats subscribe: %w", err)
	}
	t.sub.SetPendingLimits(-1, -1) // never drop: a missing chunk would stall the run
	if err := nc.FlushWithContext(ctx); err != nil {
		t.Close()
		return nil, fmt.Errorf("dist: nats: %w", err)
	}
	wait := opts.Wait
	if wait == nil {
		for r := range world {
			if r != rank {
				wait = append(wait, r)
			}
		}
	}
	if err := t.handshake(ctx, wait); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func (t *natsTransport) subj(rank int) string { return t.subject + "." + strconv.Itoa(rank) }

// handshake says hello to the ranks of wait every 100 ms until each has
// answered.
func (t *natsTransport) handshake(ctx context.Context, wait []int) error {
	pending := map[int]bool{}
	for _, r := range wait {
		pending[r] = true
	}
	for len(pending) > 0 {
		for r := range pending {
			if err := t.publish(r, tagHello, nil); err != nil {
				return err
			}
		}
		tick, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		for len(pending) > 0 {
			_, from, err := t.box.recv(tick, -1, tagWelcome, t.world)
			if err != nil {
				break
			}
			delete(pending, from)
		}
		cancel()
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("dist: waiting for ranks %v to answer: %w", keys(pending), err)
		}
	}
	return nil
}

func keys(m map[int]bool) []int {
	var k []int
	for r := range m {
		k = append(k, r)
	}
	return k
}

// handle receives one NATS message (called in order, one at a time).
func (t *natsTransport) handle(m *nats.Msg) {
	from, err := strconv.Atoi(m.Header.Get(hdrFrom))
	if err != nil || from < 0 || from >= t.world {
		return
	}
	tag := m.Header.Get(hdrTag)
	if tag == tagHello {
		t.publish(from, tagWelcome, nil)
		return
	}
	var i, n int
	if _, err := fmt.Sscanf(m.Header.Get(hdrPart), "%d/%d", &i, &n); err != nil || n < 1 {
		return
	}
	if n == 1 {
		t.box.deliver(from, tag, m.Data)
		return
	}
	k := partKey{from, m.Header.Get(hdrMsg)}
	t.mu.Lock()
	p := t.partial[k]
	if p == nil {
		p = &partial{}
		t.partial[k] = p
	}
	if i != p.next { // a chunk went missing: drop the message
		delete(t.partial, k)
		t.mu.Unlock()
		return
	}
	p.buf = append(p.buf, m.Data...)
	p.next++
	done := p.next == n
	if done {
		delete(t.partial, k)
	}
	t.mu.Unlock()
	if done {
		t.box.deliver(from, tag, p.buf)
	}
}

func (t *natsTransport) publish(to int, tag string, msg []byte) error {
	id := strconv.FormatInt(t.seq.Add(1), 10)
	n := max(1, (len(msg)+t.maxChunk-1)/t.maxChunk)
	for i := range n {
		m := nats.NewMsg(t.subj(to))
		m.Header.Set(hdrFrom, strconv.Itoa(t.rank))
		m.Header.Set(hdrTag, tag)
		m.Header.Set(hdrMsg, id)
		m.Header.Set(hdrPart, fmt.Sprintf("%d/%d", i, n))
		m.Data = msg[i*len(msg)/n : (i+1)*len(msg)/n]
		if err := t.nc.PublishMsg(m); err != nil {
			return fmt.Errorf("dist: nats publish to rank %d: %w", to, err)
		}
	}
	return nil
}

func (t *natsTransport) Rank() int   { return t.rank }
func (t *natsTransport) World() int  { return t.world }
func (t *natsTransport) Sent() int64 { return t.sent.Load() }

func (t *natsTransport) Send(ctx context.Context, to int, tag string, msg []byte) error {
	if to < 0 || to >= t.world {
		return fmt.Errorf("dist: send to rank %d of %d", to, t.world)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if t.nc.IsClosed() {
		return ErrClosed
	}
	t.sent.Add(int64(len(msg)))
	return t.publish(to, tag, msg)
}

func (t *natsTransport) Recv(ctx context.Context, from int, tag string) ([]byte, int, error) {
	return t.box.recv(ctx, from, tag, t.world)
}

// Close flushes what was sent and disconnects.
func (t *natsTransport) Close() error {
	err := t.nc.FlushTimeout(5 * time.Second)
	if errors.Is(err, nats.ErrConnectionClosed) {
		err = nil
	}
	t.nc.Close()
	t.box.close()
	return err
}
