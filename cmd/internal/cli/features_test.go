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
		{false, []string{"detection", "rl", "compress"}},
		{true, []string{"detection", "compress"}},
	} {
		f := newServeFeatures(tc.noRL)
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
