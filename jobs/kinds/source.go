package kinds

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/wavenet-go/wavenet/jobs"
	"github.com/wavenet-go/wavenet/synth"
)

// ModelSource serves the models jobs made — a succeeded job with outputs
// under ModelPrefix/ (compress, train) — as synth models named by the
// job's id (synth.Source): every replica on the same NATS loads one the
// first time a request names it.
type ModelSource struct {
	Store *jobs.Store
	// TempDir is where a model's files are fetched to be loaded (removed
	// afterwards); "" is the system's.
	TempDir string
}

// HasModel reports whether job j finished with a model (outputs under
// ModelPrefix/), which ModelSource serves under its id.
func HasModel(j jobs.Job) bool {
	return j.State == jobs.Succeeded && slices.ContainsFunc(j.Outputs, func(o jobs.Output) bool {
		return strings.HasPrefix(o.Name, ModelPrefix+"/")
	})
}

// IDs lists the jobs that made a model, sorted.
func (m ModelSource) IDs(ctx context.Context) ([]string, error) {
	js, err := m.Store.List(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, j := range js {
		if HasModel(j) && synth.ValidModelID(j.ID) {
			ids = append(ids, j.ID)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// Load fetches job id's model and loads it; a job that does not exist or
// made no model is synth.ErrUnknownModel.
func (m ModelSource) Load(ctx context.Context, id string) (*synth.Bundle, error) {
	j, err := m.Store.Get(ctx, id)
	if errors.Is(err, jobs.ErrNotFound) {
		return nil, fmt.Errorf("kinds: job %q: %w", id, synth.ErrUnknownModel)
	}
	if err != nil {
		return nil, err
	}
	if !HasModel(j) {
		return nil, fmt.Errorf("kinds: job %q (%s) has no model: %w", id, j.State, synth.ErrUnknownModel)
	}
	dir, err := os.MkdirTemp(m.TempDir, "model-"+id+"-")
	if err != nil {
		return nil, fmt.Errorf("kinds: %w", err)
	}
	defer os.RemoveAll(dir)
	if _, err := fetchDir(ctx, m.Store, id, ModelPrefix, dir); err != nil {
		return nil, err
	}
	return synth.LoadDir(ctx, dir)
}

// Delete deletes the job that made model id, with its outputs (the
// model included): every replica stops serving it.
func (m ModelSource) Delete(ctx context.Context, id string) error {
	return m.Store.Delete(ctx, id)
}
