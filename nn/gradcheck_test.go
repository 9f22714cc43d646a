package nn

import "testing"

// checkGradients is nntest.CheckGradients for this package's own tests,
// which cannot import nntest (it imports nn).
func checkGradients(tb testing.TB, name string, c GradCheck, f GradCheckFunc) {
	tb.Helper()
	if err := c.Check(f); err != nil {
		tb.Errorf("%s: %v", name, err)
	}
}
