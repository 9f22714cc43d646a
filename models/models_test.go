package models

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/wavenet"
)

// TestDefault checks that the embedded checkpoint, if any, loads as a
// valid model, and that its duration statistics, if it has any, parse and
// cover its conditions.
func TestDefault(t *testing.T) {
	if !Available() {
		t.Skip("no default model embedded")
	}
	m, err := wavenet.LoadFS(FS(), ID)
	if err != nil {
		t.Fatalf("wavenet.LoadFS(FS(), %q) = %v", ID, err)
	}
	if err := m.CheckShapes(); err != nil {
		t.Errorf("embedded default model: %v", err)
	}
	if m.Config.SampleRate <= 0 {
		t.Errorf("embedded default model sample rate %d, want > 0", m.Config.SampleRate)
	}
	st, err := speech.ReadStats(FS(), ID)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("the embedded default model has no " + speech.StatsFile + ": text requests use speech.DefaultDuration")
	}
	if err != nil {
		t.Fatalf("speech.ReadStats(FS(), %q) = %v", ID, err)
	}
	for _, name := range st.Conditions {
		if m.Config.Condition(name) < 0 {
			t.Errorf("%s groups by %q, not a condition of the model", speech.StatsFile, name)
		}
	}
}
