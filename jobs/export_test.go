package jobs

import (
	"context"
	"testing"
)

// Redeliver publishes job j's message again, as JetStream redelivers an
// unacknowledged one.
func Redeliver(ctx context.Context, s *Store, j Job) error {
	_, err := s.js.Publish(ctx, subjectPrefix+j.Kind, []byte(j.ID))
	return err
}

// Pending returns the messages of kind not yet acknowledged.
func Pending(t *testing.T, s *Store, kind string) int {
	t.Helper()
	c, err := s.js.Consumer(context.Background(), StreamName, "kind-"+kind)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(info.NumPending) + info.NumAckPending
}
