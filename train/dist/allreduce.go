package dist

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Algorithm is how Sync averages the ranks' gradients.
type Algorithm string

const (
	// Reduce sends every gradient to rank 0, which sums them in rank order
	// and sends the mean back to all: 2(N-1) vectors through rank 0.
	Reduce Algorithm = "reduce"
	// Ring is the ring all-reduce: a reduce-scatter then an all-gather of
	// N chunks around the ring 0 -> 1 -> ... -> N-1 -> 0, each rank sending
	// 2(N-1)/N of a vector. Chunk c is summed starting at rank c.
	Ring Algorithm = "ring"
)

// ParseAlgorithm reads an algorithm name ("" is Reduce).
func ParseAlgorithm(s string) (Algorithm, error) {
	switch a := Algorithm(s); a {
	case "":
		return Reduce, nil
	case Reduce, Ring:
		return a, nil
	}
	return "", fmt.Errorf("dist: unknown all-reduce %q (want reduce or ring)", s)
}

// ErrTimeout reports a rank that did not send its part in time (it died,
// or hangs); the run stops.
var ErrTimeout = errors.New("dist: timed out waiting for a rank")

// reducer averages a vector of fixed length over the ranks.
type reducer struct {
	net     Transport
	alg     Algorithm
	timeout time.Duration
	sum     bool        // the sum instead of the mean
	up      *Compressor // what this rank sends of its own (partial) sums
	down    *Compressor // what this rank sends of finished means
	buf     []float32
}

func newReducer(net Transport, alg Algorithm, c Codec, n int, timeout time.Duration) *reducer {
	return &reducer{net: net, alg: alg, timeout: timeout, up: NewCompressor(c, n), down: NewCompressor(c, n), buf: make([]float32, n)}
}

// average replaces x by the mean of the ranks' x, summed in a fixed order,
// identical on every rank. step tags the messages.
func (r *reducer) average(ctx context.Context, step int64, x []float32) error {
	if r.net.World() == 1 {
		return nil
	}
	if r.alg == Ring {
		return r.ring(ctx, step, x)
	}
	return r.reduce(ctx, step, x)
}

func (r *reducer) recv(ctx context.Context, step int64, from int, tag string, dst []float32) error {
	b, err := r.recvRaw(ctx, step, from, tag)
	if err != nil {
		return err
	}
	_, err = Decode(dst, b)
	return err
}

// recvRaw waits at most r.timeout for the message.
func (r *reducer) recvRaw(ctx context.Context, step int64, from int, tag string) ([]byte, error) {
	rctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	b, _, err := r.net.Recv(rctx, from, tag)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("dist: step %d: rank %d: nothing from rank %d in %v: %w", step, r.net.Rank(), from, r.timeout, ErrTimeout)
	}
	return b, err
}

func (r *reducer) reduce(ctx context.Context, step int64, x []float32) error {
	N, rank := r.net.World(), r.net.Rank()
	up, down := fmt.Sprint("up", step), fmt.Sprint("down", step)
	if rank != 0 {
		if err := r.net.Send(ctx, 0, up, r.up.Encode(x, 0)); err != nil {
			return err
		}
		return r.recv(ctx, step, 0, down, x)
	}
	for from := 1; from < N; from++ {
		if err := r.recv(ctx, step, from, up, r.buf); err != nil {
			return err
		}
		for i, v := range r.buf {
			x[i] += v
		}
	}
	if !r.sum {
		scale(x, N)
	}
	msg := r.down.Encode(x, 0)
	for to := 1; to < N; to++ {
		if err := r.net.Send(ctx, to, down, msg); err != nil {
			return err
		}
	}
	return nil
}

func (r *reducer) ring(ctx context.Context, step int64, x []float32) error {
	N, rank := r.net.World(), r.net.Rank()
	next, prev := (rank+1)%N, (rank+N-1)%N
	chunk := func(c int) (int, int) { c = (c%N + N) % N; return c * len(x) / N, (c + 1) * len(x) / N }
	// Reduce-scatter: at step s rank r sends its partial sum of chunk
	// r-s and adds its own values to the partial sum of chunk r-s-1; after
	// N-1 steps it holds the whole sum of chunk r+1.
	for s := 0; s < N-1; s++ {
		lo, hi := chunk(rank - s)
		if err := r.net.Send(ctx, next, fmt.Sprint("rs", step, ".", s), r.up.Encode(x[lo:hi], lo)); err != nil {
			return err
		}
		lo, hi = chunk(rank - s - 1)
		in := r.buf[lo:hi]
		if err := r.recv(ctx, step, prev, fmt.Sprint("rs", step, ".", s), in); err != nil {
			return err
		}
		for i, v := range in {
			// The partial sum came first: chunk c is summed in the order
			// c, c+1, ..., c+N-1 whatever the rank.
			x[lo+i] = v + x[lo+i]
		}
	}
	lo, hi := chunk(rank + 1)
	if !r.sum {
		scale(x[lo:hi], N)
	}
	// All-gather: pass the finished means on around the ring, each
	// message forwarded as it came (the owner keeps what the others
	// decode).
	msg := r.down.Encode(x[lo:hi], lo)
	for s := 0; s < N-1; s++ {
		tag := fmt.Sprint("ag", step, ".", s)
		if err := r.net.Send(ctx, next, tag, msg); err != nil {
			return err
		}
		lo, hi := chunk(rank - s)
		var err error
		if msg, err = r.recvRaw(ctx, step, prev, tag); err != nil {
			return err
		}
		if _, err := Decode(x[lo:hi], msg); err != nil {
			return err
		}
	}
	return nil
}

func scale(x []float32, n int) {
	s := 1 / float32(n)
	for i := range x {
		x[i] *= s
	}
}
