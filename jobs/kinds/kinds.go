package kinds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/synth"
)

// The job kinds of this package.
const (
	Synthesize = "synthesize"
	Compress   = "compress"
	Train      = "train"
	RL         = "rl"
)

// Names returns the kinds of this package, sorted.
func Names() []string { return []string{Compress, RL, Synthesize, Train} }

// ErrRequest marks a request the kind cannot run as given (Validate's
// errors and a running job's request errors).
var ErrRequest = errors.New("kinds: bad request")

func badRequest(kind, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrRequest, kind, fmt.Sprintf(format, args...))
}

// Options are what the kinds need of the worker's process.
type Options struct {
	// Engine renders synthesize jobs (the service's own engine when the
	// worker runs inside `wavenet serve`). Without it synthesize jobs
	// fail.
	Engine *synth.Engine
	// WorkDir holds the run directories of train jobs (WorkDir/JOBID),
	// removed when the job ends (default: the system's temporary
	// directory).
	WorkDir string
	// CorpusRoot, if set, is the folder train jobs' corpora are in: their
	// data is a relative path under it (so that whoever may submit jobs
	// cannot point a worker at any folder of its machine). Empty: any
	// path.
	CorpusRoot string
	// Logger receives the training runs' events (default: discarded).
	Logger *slog.Logger
}

// Handlers returns the handlers of the kinds named (every kind of Names
// when names is empty), for jobs.WorkOptions.Handlers.
func Handlers(o Options, names []string) (map[string]jobs.Handler, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if len(names) == 0 {
		names = Names()
	}
	all := map[string]jobs.Handler{
		Synthesize: o.synthesize,
		Compress:   o.compress,
		Train:      o.train,
		RL:         o.rl,
	}
	hs := map[string]jobs.Handler{}
	for _, n := range names {
		h, ok := all[n]
		if !ok {
			return nil, fmt.Errorf("kinds: unknown job kind %q (want %s)", n, strings.Join(Names(), ", "))
		}
		hs[n] = h
	}
	return hs, nil
}

// Validate checks a request of kind as far as it can without running
// it, so that a bad one is refused before it is queued. Errors wrap
// ErrRequest.
func Validate(ctx context.Context, kind string, req json.RawMessage) error {
	var err error
	switch kind {
	case Synthesize:
		var r SynthesizeRequest
		if err = decode(kind, req, &r); err == nil {
			err = r.check()
		}
	case Compress:
		var r CompressRequest
		if err = decode(kind, req, &r); err == nil {
			_, err = r.spec()
		}
	case Train:
		var r TrainRequest
		if err = decode(kind, req, &r); err == nil {
			err = r.check()
		}
	case RL:
		var r RLRequest
		if err = decode(kind, req, &r); err == nil {
			err = checkRL(r)
		}
	default:
		return fmt.Errorf("%w: kind %q: want one of %s", ErrRequest, kind, strings.Join(Names(), ", "))
	}
	return err
}

// decode decodes a request strictly, as jobs.Task.Decode does.
func decode(kind string, req json.RawMessage, v any) error {
	t := jobs.Task{Kind: kind, Request: req}
	if err := t.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrRequest, err)
	}
	return nil
}

// Known reports whether kind is one of Names.
func Known(kind string) bool { return slices.Contains(Names(), kind) }
