package cli

import (
	"slices"
	"testing"

	"github.com/wavenet-go/wavenet/jobs"
)

// TestServeFeatures checks which features serve mounts, with and without
// --no-rl.
func TestServeFeatures(t *testing.T) {
	for _, tc := range []struct {
		noRL bool
		want []string
	}{
		{false, []string{"detection", "rl", "compress", "listening"}},
		{true, []string{"detection", "compress", "listening"}},
	} {
		f := testFeatures(t, tc.noRL, featureLimits{})
		var names []string
		for _, feat := range f.list {
			names = append(names, feat.Name)
		}
		f.close()
		if !slices.Equal(names, tc.want) {
			t.Errorf("newServeFeatures(%v) mounts %v, want %v", tc.noRL, names, tc.want)
		}
	}
}

// testFeatures builds serve's features over an embedded NATS server in a
// temporary directory, stopped when the test ends.
func testFeatures(t *testing.T, noRL bool, lim featureLimits) *serveFeatures {
	t.Helper()
	js, err := jobs.Open(t.Context(), jobs.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(js.Close)
	f, err := newServeFeatures(noRL, t.TempDir(), js, lim)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
