package cli

import (
	"slices"
	"testing"
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
		f, err := newServeFeatures(tc.noRL, t.TempDir(), featureLimits{})
		if err != nil {
			t.Fatal(err)
		}
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
