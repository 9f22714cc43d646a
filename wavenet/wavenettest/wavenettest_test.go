package wavenettest

import (
	"slices"
	"testing"
)

func TestTiny(t *testing.T) {
	a, b, c := Tiny(t, 1, FSDD()), Tiny(t, 1, FSDD()), Tiny(t, 3, nil)
	if err := a.CheckShapes(); err != nil {
		t.Fatalf("Tiny(1, FSDD).CheckShapes() = %v", err)
	}
	if rf := a.Config.ReceptiveField(); rf != 33 {
		t.Errorf("Tiny receptive field = %d, want 33 (the tiny preset)", rf)
	}
	if got := a.Config.LabelCondition(); got != 0 {
		t.Errorf("FSDD LabelCondition() = %d, want 0 (digit)", got)
	}
	if !slices.Equal(a.Input.W, b.Input.W) {
		t.Error("Tiny(1) twice gave different weights, want the same model for a seed")
	}
	if len(c.Config.Conditions) != 0 || slices.Equal(a.Input.W, c.Input.W) {
		t.Error("Tiny(3, nil) has conditions or Tiny(1)'s weights")
	}
}
