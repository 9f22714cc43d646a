package kinds

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/synth"
)

// MaxSynthesize is the most requests one synthesize job takes.
const MaxSynthesize = 1000

// SynthesizeRequest is a synthesize job: each request, a POST
// /v1/synthesize body (not streamed), becomes the output NNN.FORMAT
// (000.wav, 001.wav, ...), rendered one after another.
type SynthesizeRequest struct {
	Requests []api.SynthesizeRequest `json:"requests"`
}

// SynthesizeResult is the result of a synthesize job: one entry per
// request, in order.
type SynthesizeResult struct {
	Files []SynthesizedFile `json:"files"`
}

// SynthesizedFile describes one output of a synthesize job.
type SynthesizedFile struct {
	Name       string `json:"name"`
	Model      string `json:"model"`
	Seed       uint64 `json:"seed"`
	Conditions string `json:"conditions,omitempty"`
	Rate       int    `json:"sample_rate"`
	Samples    int    `json:"num_samples"`
}

func (r *SynthesizeRequest) check() error {
	if len(r.Requests) == 0 || len(r.Requests) > MaxSynthesize {
		return badRequest(Synthesize, "requests: %d given, want 1 to %d synthesis requests", len(r.Requests), MaxSynthesize)
	}
	for i, q := range r.Requests {
		if q.Stream {
			return badRequest(Synthesize, "requests[%d].stream: a job stores whole files; leave it out", i)
		}
	}
	return nil
}

// fileName is the output name of request i.
func fileName(i int, format string) string {
	if format == "" {
		format = "wav"
	}
	return fmt.Sprintf("%03d.%s", i, format)
}

// busyWait is the pause before a request the engine refused as busy is
// tried again: a job waits for the service's own traffic.
const busyWait = 500 * time.Millisecond

func (o Options) synthesize(ctx context.Context, t *jobs.Task) error {
	var r SynthesizeRequest
	if err := t.Decode(&r); err != nil {
		return fmt.Errorf("%w: %w", ErrRequest, err)
	}
	if err := r.check(); err != nil {
		return err
	}
	if o.Engine == nil {
		return fmt.Errorf("kinds: this worker has no synthesis engine (run synthesize jobs in `wavenet serve` or `wavenet worker`)")
	}
	done := map[string]bool{} // outputs of an earlier attempt
	if t.Attempt > 1 {
		outs, err := t.Outputs(ctx)
		if err != nil {
			return err
		}
		for _, out := range outs {
			done[out.Name] = true
		}
	}
	var res SynthesizeResult
	for i := range r.Requests {
		q := r.Requests[i].Request()
		name := fileName(i, r.Requests[i].Format)
		if err := t.Progress(ctx, fmt.Sprintf("synthesizing %d of %d", i+1, len(r.Requests)), float64(i)/float64(len(r.Requests))); err != nil {
			return err
		}
		f := SynthesizedFile{Name: name}
		if done[name] && q.Seed != nil {
			// Stored by an earlier attempt, reproducibly: not again.
			f.Model = "(earlier attempt)"
			res.Files = append(res.Files, f)
			continue
		}
		body, syn, err := o.render(ctx, q)
		if err != nil {
			return fmt.Errorf("kinds: requests[%d]: %w", i, err)
		}
		f.Model, f.Seed, f.Conditions, f.Rate = syn.Model, syn.Seed, syn.Conditions, syn.Rate
		f.Samples = syn.Samples
		if _, err := t.Put(ctx, name, syn.Format.ContentType(syn.Rate), bytes.NewReader(body)); err != nil {
			return err
		}
		res.Files = append(res.Files, f)
	}
	return t.SetResult(res)
}

// render synthesizes one request whole and encodes it, waiting while the
// engine is busy.
func (o Options) render(ctx context.Context, q *synth.Request) ([]byte, *synth.Synthesis, error) {
	for {
		syn, err := o.Engine.Start(ctx, q)
		if errors.Is(err, synth.ErrBusy) {
			select {
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			case <-time.After(busyWait):
				continue
			}
		}
		if err != nil {
			return nil, nil, err
		}
		x, err := syn.Audio()
		syn.Close()
		if err != nil {
			return nil, nil, err
		}
		if syn.Samples < 0 {
			syn.Samples = len(x)
		}
		body, err := synth.Encode(syn.Format, syn.Rate, x)
		return body, syn, err
	}
}
