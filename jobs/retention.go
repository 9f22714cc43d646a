package jobs

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Prune applies the retention of Options.KeepFinished and
// Options.MaxAge at time now: it deletes the records and outputs of the
// finished jobs beyond the newest KeepFinished and of those finished
// before now-MaxAge, and returns their ids. Jobs not finished are never
// deleted.
func (s *Store) Prune(ctx context.Context, now time.Time) ([]string, error) {
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var done []Job
	for _, j := range all {
		if j.State.Final() && j.Finished != nil {
			done = append(done, j)
		}
	}
	// newest first
	slices.SortFunc(done, func(a, b Job) int { return b.Finished.Compare(*a.Finished) })
	var deleted []string
	for i, j := range done {
		tooMany := s.opts.KeepFinished >= 0 && i >= s.opts.KeepFinished
		tooOld := s.opts.MaxAge > 0 && now.Sub(*j.Finished) > s.opts.MaxAge
		if !tooMany && !tooOld {
			continue
		}
		if err := s.Delete(ctx, j.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return deleted, err
		}
		deleted = append(deleted, j.ID)
	}
	return deleted, nil
}
