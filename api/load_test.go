package api

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/speech"
)

func TestLoadSpeechStats(t *testing.T) {
	m := tinyModel(t)
	root := saveModels(t, m, "alpha", "beta")
	ctx := context.Background()
	// alpha has statistics (made-up numbers), beta has none.
	want := &speech.Stats{Conditions: []string{"speaker", "digit"},
		Groups: []speech.Group{{Values: []string{"george", "3"}, Duration: speech.Duration{N: 4, Median: 0.3, P90: 0.4, Max: 0.5}}},
		All:    speech.Duration{N: 40, Median: 0.35, P90: 0.5, Max: 0.8}}
	if err := speech.WriteStats(filepath.Join(root, "alpha"), want); err != nil {
		t.Fatal(err)
	}
	models, _, err := LoadModels(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	got, missing, err := LoadSpeechStats(root, models)
	if err != nil {
		t.Fatalf("LoadSpeechStats(%s) = %v", root, err)
	}
	if fmt.Sprint(got["alpha"]) != fmt.Sprint(want) || got["beta"] != nil || fmt.Sprint(missing) != "[beta]" {
		t.Errorf("LoadSpeechStats = %v, missing %v; want alpha's statistics %v and beta missing", got, missing, want)
	}
	// A checkpoint directory itself: its statistics under its id.
	one, _, err := LoadModels(ctx, filepath.Join(root, "alpha"))
	if err != nil {
		t.Fatal(err)
	}
	got, missing, err = LoadSpeechStats(filepath.Join(root, "alpha"), one)
	if err != nil || fmt.Sprint(got["alpha"]) != fmt.Sprint(want) || len(missing) != 0 {
		t.Errorf("LoadSpeechStats(alpha) = %v, %v, %v; want alpha's statistics", got, missing, err)
	}
	// A corrupt file is an error naming the model, not silently the defaults.
	os.WriteFile(filepath.Join(root, "alpha", speech.StatsFile), []byte("{"), 0o644)
	if _, _, err := LoadSpeechStats(root, models); err == nil || !strings.Contains(err.Error(), "alpha") {
		t.Errorf("LoadSpeechStats with a corrupt %s = %v, want an error naming alpha", speech.StatsFile, err)
	}
}
