// Package jobview holds what the older job routes (api/compressapi,
// api/rlapi) share as views of the durable jobs of package jobs: the
// lookup of a job of one kind, the old status of a job state, the
// cancel-or-delete of DELETE, and the answers to the store's errors.
package jobview

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/jobs"
)

// View is the routes' access to the jobs of one kind.
type View struct {
	Store *jobs.Store
	Kind  string
	// NotFound is the 404 message of an id that is no job of Kind
	// (formatted with the id).
	NotFound string
}

// Error maps the job store's errors to answers: context errors pass
// through, a missing job is 404, the rest 503.
func (v View) Error(err error, id string) error {
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, jobs.ErrNotFound):
		return api.Errorf(http.StatusNotFound, "not_found", v.NotFound, id)
	}
	return &api.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", RetryAfter: 5, Err: err,
		Message: "the job store (NATS JetStream) did not answer; retry later"}
}

// Get returns job id, which must be of the view's kind.
func (v View) Get(ctx context.Context, id string) (jobs.Job, error) {
	j, err := v.Store.Get(ctx, id)
	if err == nil && j.Kind != v.Kind {
		err = jobs.ErrNotFound
	}
	if err != nil {
		return j, v.Error(err, id)
	}
	return j, nil
}

// CancelOrDelete is DELETE of job id: a job not finished is cancelled
// (its record returned), a finished one deleted with its outputs
// (deleted true).
func (v View) CancelOrDelete(ctx context.Context, id string) (j jobs.Job, deleted bool, err error) {
	if _, err := v.Get(ctx, id); err != nil {
		return j, false, err
	}
	j, err = v.Store.Cancel(ctx, id)
	if errors.Is(err, jobs.ErrFinished) {
		if err = v.Store.Delete(ctx, id); err == nil {
			return j, true, nil
		}
	}
	if err != nil {
		return j, false, v.Error(err, id)
	}
	return j, false, nil
}

// Status is the old status of a job in state s: running (also while
// queued), done, failed or cancelled.
func Status(s jobs.State) string {
	switch s {
	case jobs.Succeeded:
		return "done"
	case jobs.Failed, jobs.Cancelled:
		return string(s)
	}
	return "running"
}

// Seconds is how long j has run: until it finished, or until now.
func Seconds(j jobs.Job, now time.Time) float64 {
	if j.Started == nil {
		return 0
	}
	if j.Finished != nil {
		now = *j.Finished
	}
	return now.Sub(*j.Started).Seconds()
}
