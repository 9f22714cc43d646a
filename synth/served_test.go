package synth

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/wavenet/wavenettest"
)

func TestLoadServed(t *testing.T) {
	m := testModel(t)
	root := wavenettest.SaveModels(t, m, "alpha", "beta", "bad id")
	tests := []struct {
		name    string
		s       Served
		ids     []string
		logs    []string // substrings of the log
		wantErr string
	}{
		{"random", Served{Random: "tiny", Dir: root}, []string{RandomID}, []string{"untrained random model", "preset=tiny"}, ""},
		{"dir", Served{Dir: root}, []string{"alpha", "beta"}, []string{"models directory entry skipped", "has no " + speech.StatsFile}, ""},
		{"fs", Served{FS: os.DirFS(root), FSDirs: []string{"alpha"}}, []string{"alpha"}, nil, ""},
		{"fs two", Served{FS: os.DirFS(root), FSDirs: []string{"alpha", "beta"}}, []string{"alpha", "beta"}, nil, ""},
		{"fs missing", Served{FS: os.DirFS(root), FSDirs: []string{"alpha", "gamma"}}, nil, nil, "gamma"},
		{"unknown preset", Served{Random: "huge"}, nil, nil, "unknown preset"},
		{"nothing", Served{}, nil, nil, "no models to serve"},
		{"fs without dirs", Served{FS: os.DirFS(root)}, nil, nil, "no models to serve"},
	}
	for _, tt := range tests {
		var logs bytes.Buffer
		tt.s.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		got, _, err := LoadServed(context.Background(), tt.s)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: LoadServed = %v, want an error containing %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: LoadServed: %v", tt.name, err)
			continue
		}
		var ids []string
		for id := range got {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, tt.ids) {
			t.Errorf("%s: LoadServed ids = %v, want %v", tt.name, ids, tt.ids)
		}
		for _, w := range tt.logs {
			if !strings.Contains(logs.String(), w) {
				t.Errorf("%s: log lacks %q:\n%s", tt.name, w, logs.String())
			}
		}
	}
}
