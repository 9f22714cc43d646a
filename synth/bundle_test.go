package synth

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/wavenet"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

// testModel is a random untrained model with the "tiny" preset (8 kHz)
// conditioned on speaker (george, jackson) and digit (0-9).
func testModel(t testing.TB) *wavenet.Model {
	t.Helper()
	return wavenettest.Tiny(t, 1, wavenettest.FSDD())
}

func TestLoadModels(t *testing.T) {
	m := testModel(t)
	root := wavenettest.SaveModels(t, m, "alpha", "beta")
	ctx := context.Background()
	os.Mkdir(filepath.Join(root, "empty"), 0o755)
	if err := wavenet.Save(ctx, filepath.Join(root, ".hidden"), m, nil); err != nil {
		t.Fatal(err)
	}
	got, skipped, failed, err := LoadModels(ctx, root)
	if err != nil || failed != nil {
		t.Fatal(err, failed)
	}
	if len(got) != 2 || got["alpha"] == nil || got["beta"] == nil || got["alpha"].Int8 {
		t.Errorf("LoadModels = %v, want alpha and beta", got)
	}
	if len(skipped) != 2 || !strings.HasPrefix(skipped[0], ".hidden:") || !strings.HasPrefix(skipped[1], "empty:") {
		t.Errorf("LoadModels skipped %q, want .hidden and empty with reasons", skipped)
	}
	// A checkpoint directory itself serves one model under its name.
	got, _, _, err = LoadModels(ctx, filepath.Join(root, "beta"))
	if err != nil || len(got) != 1 || got["beta"] == nil {
		t.Errorf("LoadModels(beta) = %v, %v; want one model beta", got, err)
	}
	// A corrupt checkpoint is reported in failed, naming it, and the
	// others are loaded; when none loads, that is an error naming them.
	os.WriteFile(filepath.Join(root, "alpha", "model.safetensors"), []byte("garbage"), 0o644)
	got, _, failed, err = LoadModels(ctx, root)
	if err != nil || len(got) != 1 || got["beta"] == nil || len(failed) != 1 || !strings.Contains(fmt.Sprint(failed["alpha"]), "alpha") {
		t.Errorf("LoadModels with a corrupt alpha = %v, failed %v, %v; want beta, and alpha failed with an error naming it", got, failed, err)
	}
	os.WriteFile(filepath.Join(root, "beta", "model.safetensors"), []byte("garbage"), 0o644)
	if _, _, _, err := LoadModels(ctx, root); err == nil || !strings.Contains(err.Error(), "alpha") || !strings.Contains(err.Error(), "beta") {
		t.Errorf("LoadModels with every model corrupt = %v, want an error naming alpha and beta", err)
	}
	if _, _, _, err := LoadModels(ctx, filepath.Join(root, "alpha")); err == nil {
		t.Error("LoadModels(corrupt checkpoint dir) = nil error, want its load error")
	}
	if _, _, _, err := LoadModels(ctx, filepath.Join(root, "empty")); err == nil {
		t.Error("LoadModels(empty dir) = nil error, want no checkpoint error")
	}
}

func TestLoadSpeechStats(t *testing.T) {
	m := testModel(t)
	root := wavenettest.SaveModels(t, m, "alpha", "beta")
	ctx := context.Background()
	// alpha has statistics (made-up numbers), beta has none.
	want := &speech.Stats{Conditions: []string{"speaker", "digit"},
		Groups: []speech.Group{{Values: []string{"george", "3"}, Duration: speech.Duration{N: 4, Median: 0.3, P90: 0.4, Max: 0.5}}},
		All:    speech.Duration{N: 40, Median: 0.35, P90: 0.5, Max: 0.8}}
	if err := speech.WriteStats(filepath.Join(root, "alpha"), want); err != nil {
		t.Fatal(err)
	}
	got, _, _, err := LoadModels(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got["alpha"].Stats) != fmt.Sprint(want) || got["beta"].Stats != nil {
		t.Errorf("LoadModels stats: alpha %v, beta %v; want alpha's statistics %v and none for beta", got["alpha"].Stats, got["beta"].Stats, want)
	}
	// A checkpoint directory itself: its statistics under its id.
	one, _, _, err := LoadModels(ctx, filepath.Join(root, "alpha"))
	if err != nil || fmt.Sprint(one["alpha"].Stats) != fmt.Sprint(want) {
		t.Errorf("LoadModels(alpha) = %v, %v; want alpha's statistics", one, err)
	}
	// A corrupt file fails the model, naming it, rather than silently
	// giving it the defaults.
	os.WriteFile(filepath.Join(root, "alpha", speech.StatsFile), []byte("{"), 0o644)
	if got, _, failed, _ := LoadModels(ctx, root); got["alpha"] != nil || !strings.Contains(fmt.Sprint(failed["alpha"]), "alpha") {
		t.Errorf("LoadModels with a corrupt %s: alpha %v, failed %v; want alpha failed, named", speech.StatsFile, got["alpha"], failed)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestValidModelID(t *testing.T) {
	for _, c := range []struct {
		id string
		ok bool
	}{
		{"default", true}, {"fsdd-8k_v1.2", true}, {"..", false}, {".hidden", false}, {"a/b", false},
		{`a\b`, false}, {"", false}, {"a b", false}, {strings.Repeat("a", 65), false},
	} {
		if got := ValidModelID(c.id); got != c.ok {
			t.Errorf("ValidModelID(%q) = %v, want %v", c.id, got, c.ok)
		}
	}
}
