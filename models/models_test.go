package models

import (
	"errors"
	"testing"

	"github.com/wavenet-go/wavenet/speech"
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

// TestStats checks that the embedded model's duration statistics, if it
// has any, parse and cover its conditions; without a model there are none.
func TestStats(t *testing.T) {
	st, err := Stats()
	if err != nil {
		t.Fatalf("Stats() = %v", err)
	}
	if !Available() {
		if st != nil {
			t.Errorf("Stats() without an embedded model = %+v, want nil", st)
		}
		return
	}
	if st == nil {
		t.Skip("the embedded default model has no " + speech.StatsFile + ": text requests use speech.DefaultDuration")
	}
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range st.Conditions {
		if m.Config.Condition(name) < 0 {
			t.Errorf("%s groups by %q, not a condition of the model", speech.StatsFile, name)
		}
	}
}
