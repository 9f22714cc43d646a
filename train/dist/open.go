package dist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/internal/safetensors"
	"github.com/wavenet-go/wavenet/train"
)

// Mode is the kind of distributed run.
type Mode string

const (
	SyncMode     Mode = "sync"     // Sync: gradients averaged every step
	AsyncMode    Mode = "async"    // Async: a parameter server on rank 0
	PipelineMode Mode = "pipeline" // Sync with Options.PipelineRanks: each rank a stage of the model
)

// Trainer is one rank of a distributed run: a *Sync or an *Async.
type Trainer interface {
	Run(ctx context.Context) error
	Step() int64 // optimizer steps done (on rank 0)
	Close() error
}

// tagStart carries rank 0's starting checkpoint to the other ranks.
const tagStart = "start"

// runOptions are the options every rank takes from rank 0, so that all
// stop at the same step, clip alike and know when rank 0 validates.
type runOptions struct {
	Steps         int64   `json:"steps"`
	Until         int64   `json:"until"`
	ClipNorm      float64 `json:"clip_norm"`
	ValidateEvery int64   `json:"validate_every"` // when the others wait for rank 0 longer
	// CheckpointEvery is when pipeline stages send rank 0 their weights.
	CheckpointEvery int64 `json:"checkpoint_every"`
}

// Open is train.Open for one rank of a distributed run over net. Rank 0
// opens the run in spec.Dir as train.Open does (new, from Init, or
// resumed) and saves its state as a checkpoint; in SyncMode it sends it to
// the other ranks, in AsyncMode the server sends it to each worker that
// asks (so a worker can join or rejoin a running server). They start from
// it (in a temporary directory, removed by Close)
// and, in SyncMode, load the corpus of spec.Data as the checkpoint
// records it (in AsyncMode the server sends them their batches). Steps,
// Until and ClipNorm are rank 0's on every rank; opts.Workers is each
// rank's own (default one per CPU), and opts.Batch the global batch
// (default Workers*World). The corpus is nil on the workers of an AsyncMode run.
func Open(ctx context.Context, net Transport, mode Mode, spec train.Spec, opts train.Options, dopts Options) (Trainer, *corpus.Corpus, error) {
	dopts.defaults()
	switch mode {
	case SyncMode, AsyncMode:
	case PipelineMode:
		mode, dopts.PipelineRanks = SyncMode, true
	default:
		return nil, nil, fmt.Errorf("dist: unknown mode %q (want sync, async or pipeline)", mode)
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	if opts.Batch <= 0 {
		opts.Batch = workers * net.World() // each rank's share: one sequence per replica
	}
	opts.Workers = 1 // train.Open's replicas are only for opening
	var (
		ckpt, tmp string
		start     []byte // rank 0: the starting checkpoint, packed
		c         *corpus.Corpus
		o         train.Options
	)
	if net.Rank() == 0 {
		t, cp, err := train.Open(ctx, spec, opts)
		if err != nil {
			return nil, nil, err
		}
		c, o = cp, t.Options()
		ckpt, err = saveStart(ctx, spec.Dir, t, cp.Train)
		t.Close()
		if err != nil {
			return nil, nil, err
		}
		if start, err = packDir(ckpt, runOptions{Steps: o.Steps, Until: o.Until, ClipNorm: o.ClipNorm, ValidateEvery: o.ValidateEvery, CheckpointEvery: o.CheckpointEvery}); err != nil {
			return nil, nil, err
		}
		for to := 1; to < net.World() && mode == SyncMode; to++ {
			if err := net.Send(ctx, to, tagStart, start); err != nil {
				return nil, nil, err
			}
		}
		if mode == AsyncMode {
			if err := awaitJoins(ctx, net, start, dopts.Timeout); err != nil {
				return nil, nil, err
			}
		}
	} else {
		if mode == AsyncMode {
			// Ask the server, which answers whenever a worker joins.
			if err := net.Send(ctx, 0, tagToServer, []byte{'J'}); err != nil {
				return nil, nil, err
			}
		}
		rctx, cancel := context.WithTimeout(ctx, dopts.Timeout)
		msg, _, err := net.Recv(rctx, 0, tagStart)
		cancel()
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("dist: rank %d: no start from rank 0 in %v: %w", net.Rank(), dopts.Timeout, ErrTimeout)
			}
			return nil, nil, err
		}
		if tmp, err = os.MkdirTemp("", "wavenet-dist-"); err != nil {
			return nil, nil, fmt.Errorf("dist: %w", err)
		}
		fail := func(err error) (Trainer, *corpus.Corpus, error) { os.RemoveAll(tmp); return nil, nil, err }
		var ro runOptions
		if ckpt, ro, err = unpackDir(msg, tmp); err != nil {
			return fail(err)
		}
		if mode == SyncMode {
			// The corpus as the run reads it: train.Open resuming the
			// checkpoint in tmp.
			rs := spec
			rs.Dir, rs.Resume, rs.Init, rs.Grow, rs.Local, rs.Cond = tmp, true, "", nil, nil, nil
			t, cp, err := train.Open(ctx, rs, opts)
			if err != nil {
				return fail(err)
			}
			c, o = cp, t.Options()
			t.Close()
		} else {
			o = opts
		}
		o.Steps, o.Until, o.ClipNorm, o.ValidateEvery = ro.Steps, ro.Until, ro.ClipNorm, ro.ValidateEvery
		o.CheckpointEvery = max(ro.CheckpointEvery, 1)
	}
	o.Workers = workers
	var tr Trainer
	var err error
	if mode == SyncMode {
		tr, err = NewSync(ctx, net, spec.Dir, ckpt, c.Train, c.Validation, o, dopts)
	} else {
		var trainUtts, val []*corpus.Utterance
		if c != nil {
			trainUtts, val = c.Train, c.Validation
		}
		var a *Async
		if a, err = NewAsync(ctx, net, spec.Dir, ckpt, trainUtts, val, o, dopts); err == nil {
			a.start, tr = start, a
		}
	}
	if err != nil {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		return nil, nil, err
	}
	if tmp != "" {
		tr = &tempTrainer{Trainer: tr, tmp: tmp}
	}
	return tr, c, nil
}

// tempTrainer removes a rank's copy of the starting checkpoint on Close.
type tempTrainer struct {
	Trainer
	tmp string
}

func (t *tempTrainer) Close() error {
	err := t.Trainer.Close()
	os.RemoveAll(t.tmp)
	return err
}

// Unwrap is the Sync or Async.
func (t *tempTrainer) Unwrap() Trainer { return t.Trainer }

// packDir puts the files of checkpoint directory dir into one safetensors
// message (a U8 tensor per file; the directory's name and ro in the
// metadata).
func packDir(dir string, ro runOptions) ([]byte, error) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("dist: %w", err)
	}
	var ts []safetensors.Tensor
	for _, e := range es {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("dist: %w", err)
		}
		ts = append(ts, safetensors.Tensor{Name: e.Name(), DType: safetensors.U8, Shape: []int{len(b)}, Data: b})
	}
	rb, _ := json.Marshal(ro)
	return writeTensors(ts, map[string]string{"checkpoint": filepath.Base(dir), "options": string(rb)}), nil
}

// unpackDir writes the checkpoint packDir made as a run's checkpoint under
// root and returns its directory and rank 0's options.
func unpackDir(msg []byte, root string) (string, runOptions, error) {
	var ro runOptions
	f, err := safetensors.Decode(msg)
	if err != nil {
		return "", ro, fmt.Errorf("dist: start: %w", err)
	}
	name := f.Metadata["checkpoint"]
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." {
		return "", ro, fmt.Errorf("dist: start: bad checkpoint name %q", name)
	}
	if err := json.Unmarshal([]byte(f.Metadata["options"]), &ro); err != nil {
		return "", ro, fmt.Errorf("dist: start: options: %w", err)
	}
	dir := filepath.Join(root, train.CheckpointDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", ro, fmt.Errorf("dist: %w", err)
	}
	for _, t := range f.Tensors {
		if t.Name != filepath.Base(t.Name) || slices.Contains([]string{"", ".", ".."}, t.Name) {
			return "", ro, fmt.Errorf("dist: start: bad file name %q", t.Name)
		}
		if err := os.WriteFile(filepath.Join(dir, t.Name), t.Data, 0o644); err != nil {
			return "", ro, fmt.Errorf("dist: %w", err)
		}
	}
	return dir, ro, nil
}

// awaitJoins is rank 0 of an AsyncMode run at the start: it answers the
// join of every other rank with start, so that the run begins with the
// whole world (a worker too slow to join before the server finished
// would wait in vain). Later, the running server answers the joins of
// restarted workers and goes on without the ones that stop.
func awaitJoins(ctx context.Context, net Transport, start []byte, timeout time.Duration) error {
	joined := map[int]bool{}
	for len(joined) < net.World()-1 {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		msg, from, err := net.Recv(rctx, -1, tagToServer)
		cancel()
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("dist: parameter server: %d of %d workers joined in %v: %w", len(joined), net.World()-1, timeout, ErrTimeout)
			}
			return err
		}
		if len(msg) != 1 || msg[0] != 'J' || joined[from] {
			continue
		}
		joined[from] = true
		if err := net.Send(ctx, from, tagStart, start); err != nil {
			return err
		}
	}
	return nil
}
