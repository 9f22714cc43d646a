package nntest

import (
	"testing"

	"github.com/wavenet-go/wavenet/nn"
)

// CheckGradients runs c on f and fails tb when the check cannot run or an
// element is out of tolerance, naming the worst one.
func CheckGradients(tb testing.TB, name string, c nn.GradCheck, f nn.GradCheckFunc) {
	tb.Helper()
	if err := c.Check(f); err != nil {
		tb.Errorf("%s: %v", name, err)
	}
}
