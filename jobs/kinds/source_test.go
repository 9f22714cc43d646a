package kinds_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/wavenet-go/wavenet/jobs/kinds"
	"github.com/wavenet-go/wavenet/synth"
)

// TestModelSource: the models jobs made are listed by job id and load
// as synth bundles (the int8 one as int8); a job without a model, an
// unfinished or unknown job is an unknown model; a deleted job's model
// is gone from the list.
func TestModelSource(t *testing.T) {
	s, src := compressWorker(t)
	q := run(t, s, kinds.Compress, `{"job":"`+src.ID+`","method":"quantize"}`)
	bad := run(t, s, kinds.Compress, `{"job":"000000000000000000000000","method":"quantize"}`) // fails: no model
	ms := kinds.ModelSource{Store: s}
	ctx := context.Background()
	ids, err := ms.IDs(ctx)
	want := []string{src.ID, q.ID}
	slices.Sort(want)
	if err != nil || !slices.Equal(ids, want) {
		t.Fatalf("IDs = %v, %v; want %v (the jobs with a model)", ids, err, want)
	}
	b, err := ms.Load(ctx, q.ID)
	if err != nil || b.Model == nil || !b.Int8 {
		t.Fatalf("Load(int8 job) = %+v, %v; want an int8 bundle", b, err)
	}
	for _, id := range []string{bad.ID, "000000000000000000000000", "*"} {
		if _, err := ms.Load(ctx, id); !errors.Is(err, synth.ErrUnknownModel) {
			t.Errorf("Load(%q) = %v, want ErrUnknownModel", id, err)
		}
	}
	if err := s.Delete(ctx, q.ID); err != nil {
		t.Fatal(err)
	}
	if ids, err := ms.IDs(ctx); err != nil || !slices.Equal(ids, []string{src.ID}) {
		t.Errorf("IDs after deleting %s = %v, %v; want [%s]", q.ID, ids, err, src.ID)
	}
}
