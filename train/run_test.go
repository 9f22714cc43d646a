package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/wavenet"
)

// TestLatestCheckpoint: a checkpoint directory is its own; in a run
// directory, the newest checkpoint whose config and weights header read.
func TestLatestCheckpoint(t *testing.T) {
	ctx := context.Background()
	m, err := NewModel(testConfig(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	run := t.TempDir()
	step := func(n string) string { return filepath.Join(run, CheckpointDir, "step-00000000"+n) }
	for _, n := range []string{"1", "2", "3"} {
		if err := wavenet.Save(ctx, step(n), m, nil); err != nil {
			t.Fatal(err)
		}
	}
	// step 3's weights are cut to 4 bytes: no header.
	if err := os.WriteFile(filepath.Join(step("3"), wavenet.WeightsFile), []byte{1, 2, 3, 4}, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dir, want string }{{run, step("2")}, {step("1"), step("1")}} {
		if got, err := LatestCheckpoint(tc.dir); got != tc.want || err != nil {
			t.Errorf("LatestCheckpoint(%s) = %s, %v; want %s", tc.dir, got, err, tc.want)
		}
	}
	if got, err := LatestCheckpoint(t.TempDir()); err == nil {
		t.Errorf("LatestCheckpoint(empty directory) = %s, nil error; want an error", got)
	}
}

func TestModelConfig(t *testing.T) {
	if _, err := ModelConfig("huge", ""); !errors.Is(err, ErrSpec) {
		t.Errorf("ModelConfig(unknown preset) error = %v, want ErrSpec", err)
	}
	if _, err := ModelConfig("tiny", filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, ErrSpec) {
		t.Errorf("ModelConfig(missing file) error = %v, want ErrSpec", err)
	}
	want, _ := wavenet.Preset("small")
	f := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(f, []byte(`{"filter_width": 2, "sample_rate": 8000, "dilations": [1, 2], "residual_channels": 4,
		"dilation_channels": 4, "skip_channels": 8, "quantization_channels": 256, "use_biases": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ModelConfig("small", f)
	if err != nil || got.ResidualChannels != 4 || len(got.Dilations) != 2 {
		t.Errorf("ModelConfig(small, %s) = %+v, %v; want the file's config, not %+v", f, got, err, want)
	}
}

// TestCorpusOptions: the corpus is loaded with the processing the config
// records, or the default one for a config without a record.
func TestCorpusOptions(t *testing.T) {
	cfg := testConfig(t)
	o := CorpusOptions(cfg)
	if o.Preprocess() != wavenet.DefaultPreprocess || o.SampleRate != cfg.SampleRate || o.Levels != cfg.QuantizationChannels {
		t.Errorf("CorpusOptions(no record) = %+v, want DefaultPreprocess at the config's rate and levels", o)
	}
	p := audio.Preprocess{RemoveDC: true, Normalize: true, NormalizeDB: -3}.WithDefaults()
	cfg.Preprocess = &p
	if got := CorpusOptions(cfg).Preprocess(); got != p {
		t.Errorf("CorpusOptions(%+v).Preprocess() = %+v", p, got)
	}
}
