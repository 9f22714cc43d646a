package kinds

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/train"
	"github.com/wavenet-go/wavenet/wavenet"
)

// TrainRequest is a train job: a new model of Preset trained on the
// corpus at Data, a path the worker can read (a folder of WAV/FLAC
// files, an LJSpeech directory or a manifest, as `wavenet train
// --data`), relative to Options.CorpusRoot when that is set. The run directory goes to the outputs run/... as checkpoints
// are written; the newest checkpoint's model to model/... at the end.
type TrainRequest struct {
	Data   string   `json:"data"`
	Preset string   `json:"preset,omitempty"` // tiny, small (default) or ibab
	Cond   []string `json:"cond,omitempty"`   // labels to condition on, e.g. ["speaker", "digit"]
	Rate   int      `json:"rate,omitempty"`   // sample rate (default: the corpus's)
	Steps  int64    `json:"steps,omitempty"`  // optimizer steps (default 1000)
	// Batch (default: Workers), Segment (default 4000) and Workers
	// (default: one per CPU) as `wavenet train`.
	Batch   int     `json:"batch,omitempty"`
	Segment int     `json:"segment,omitempty"`
	Workers int     `json:"workers,omitempty"`
	LR      float64 `json:"lr,omitempty"`   // peak learning rate (default 1e-3)
	Seed    uint64  `json:"seed,omitempty"` // weights and data order (default 1)
	// CheckpointEvery is the steps between checkpoints (default 100):
	// a redelivered job resumes from the newest stored one.
	CheckpointEvery int64 `json:"checkpoint_every,omitempty"`
	Keep            int   `json:"keep,omitempty"` // checkpoints kept (default 2)
	// ValidateEvery is the steps between validations (default: none).
	ValidateEvery int64 `json:"validate_every,omitempty"`
}

// TrainResult is the result of a train job.
type TrainResult struct {
	Step    int64 `json:"step"`
	Params  int   `json:"params"`
	Resumed bool  `json:"resumed"` // from a checkpoint of an earlier attempt
}

// RunPrefix is the output folder of a train or rl job's run directory
// (an rl job's: summary.json, policy.json, curve.png).
const RunPrefix = "run"

func (r *TrainRequest) check() error {
	if r.Data == "" {
		return badRequest(Train, "data: give the corpus path (on the worker's file system)")
	}
	if r.Preset == "" {
		r.Preset = "small"
	}
	if !slices.Contains(wavenet.Presets(), r.Preset) {
		return badRequest(Train, "preset %q: want one of %v", r.Preset, wavenet.Presets())
	}
	if r.Steps == 0 {
		r.Steps = 1000
	}
	if r.CheckpointEvery == 0 {
		r.CheckpointEvery = 100
	}
	if r.Keep == 0 {
		r.Keep = 2
	}
	if r.ValidateEvery == 0 {
		r.ValidateEvery = -1
	}
	if r.Steps < 0 || r.CheckpointEvery < 0 || r.Keep < 0 || r.Batch < 0 || r.Segment < 0 || r.Workers < 0 || r.Rate < 0 || r.LR < 0 {
		return badRequest(Train, "steps, checkpoint_every, keep, batch, segment, workers, rate and lr must not be negative")
	}
	return nil
}

// corpusPath resolves a train job's data under Options.CorpusRoot.
func (o Options) corpusPath(data string) (string, error) {
	if o.CorpusRoot == "" {
		return data, nil
	}
	if !filepath.IsLocal(data) {
		return "", badRequest(Train, "data %q: want a relative path under the worker's corpus folder, without ..", data)
	}
	return filepath.Join(o.CorpusRoot, data), nil
}

func (o Options) train(ctx context.Context, t *jobs.Task) error {
	var r TrainRequest
	if err := t.Decode(&r); err != nil {
		return fmt.Errorf("%w: %w", ErrRequest, err)
	}
	if err := r.check(); err != nil {
		return err
	}
	work := o.WorkDir
	if work == "" {
		work = os.TempDir()
	}
	dir := filepath.Join(work, "train-"+t.ID)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("kinds: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := t.Progress(ctx, "loading", 0); err != nil {
		return err
	}
	// An earlier attempt's run: resume from its newest checkpoint.
	n, err := fetchDir(ctx, t.Store(), t.ID, RunPrefix, dir)
	if err != nil {
		return err
	}
	resume := false
	if n > 0 {
		if _, err := train.LatestCheckpoint(dir); err == nil {
			resume = true
		} else if err := os.RemoveAll(dir); err != nil { // nothing to resume from
			return fmt.Errorf("kinds: %w", err)
		}
	}
	seed := r.Seed
	if seed == 0 {
		seed = 1
	}
	spec := train.Spec{Data: r.Data, Dir: dir, Resume: resume, Preset: r.Preset, Rate: r.Rate, Cond: r.Cond,
		Preprocess: audio.Preprocess{Trim: true, Normalize: true}}
	opts := train.Options{Steps: r.Steps, Batch: r.Batch, Segment: r.Segment, Workers: r.Workers, LR: r.LR, Seed: seed,
		ClipNorm: 1, CheckpointEvery: r.CheckpointEvery, Keep: r.Keep, ValidateEvery: r.ValidateEvery, LogEvery: 10,
		Logf: func(format string, args ...any) { o.Logger.Info(fmt.Sprintf(format, args...), "job", t.ID) }}
	if opts.LR == 0 {
		opts.LR = 1e-3
	}
	if spec.Data, err = o.corpusPath(r.Data); err != nil {
		return err
	}
	tr, _, err := train.Open(ctx, spec, opts)
	if errors.Is(err, train.ErrSpec) {
		return fmt.Errorf("%w: %w", ErrRequest, err)
	}
	if err != nil {
		return err
	}
	defer tr.Close()
	run := dirSync{t: t, prefix: RunPrefix, dir: dir}
	if err := run.sync(ctx); err != nil {
		return err
	}
	every, first := tr.Options().CheckpointEvery, tr.Step()
	var syncErr error
	tr.SetProgress(func(s train.Status) {
		_ = t.Progress(ctx, fmt.Sprintf("step %d of %d, loss %.3f", s.Step, s.Steps, s.Loss), float64(s.Step)/float64(max(s.Steps, 1)))
		// Progress comes before the step's checkpoint: the one of the
		// step before is on disk now.
		if s.Step-1 > first && (s.Step-1)%every == 0 && syncErr == nil {
			syncErr = run.sync(ctx)
		}
	})
	err = tr.Run(ctx)
	if serr := run.sync(context.WithoutCancel(ctx)); err == nil {
		err = serr
	}
	if err == nil {
		err = syncErr
	}
	if err != nil {
		return err
	}
	ck, err := train.LatestCheckpoint(dir)
	if err != nil {
		return err
	}
	// The model without the optimizer's and trainer's state.
	model := dirSync{t: t, prefix: ModelPrefix, dir: ck, keep: func(rel string) bool {
		return rel == wavenet.ConfigFile || rel == wavenet.WeightsFile || rel == speech.StatsFile
	}}
	if err := model.sync(ctx); err != nil {
		return err
	}
	return t.SetResult(TrainResult{Step: tr.Step(), Params: tr.Model.NumParams(), Resumed: resume})
}
