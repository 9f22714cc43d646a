package models

import (
	"errors"
	"testing"
)

// TestDefault checks that Default either loads a valid model or, when no
// checkpoint is embedded, says so with ErrNoDefault.
func TestDefault(t *testing.T) {
	m, err := Default()
	if !Available() {
		if !errors.Is(err, ErrNoDefault) || m != nil {
			t.Fatalf("Default() without an embedded checkpoint = %v, %v; want nil, ErrNoDefault", m, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Default() = %v", err)
	}
	if err := m.CheckShapes(); err != nil {
		t.Errorf("embedded default model: %v", err)
	}
	if m.Config.SampleRate <= 0 {
		t.Errorf("embedded default model sample rate %d, want > 0", m.Config.SampleRate)
	}
}
