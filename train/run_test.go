package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/corpus"
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

// TestResumeKeepsCorpusSource: a run started with --pattern and --split
// records them in trainer.json; resumed without them it reads the same
// utterances, and resumed with another pattern it is an ErrSpec.
func TestResumeKeepsCorpusSource(t *testing.T) {
	data := t.TempDir()
	rng := rand.New(rand.NewPCG(5, 5))
	for _, spk := range []string{"ann", "bob"} {
		if err := os.MkdirAll(filepath.Join(data, spk), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			x := make([]float32, 1200)
			for n := range x {
				x[n] = float32(0.3*math.Sin(float64(n)*0.1*float64(i+1)) + 0.01*rng.NormFloat64())
			}
			writeTestWAV(t, filepath.Join(data, spk, fmt.Sprintf("take-%d.wav", i)), x, 8000)
		}
	}
	pattern := `^(?P<speaker>[a-z]+)/take-(?P<index>\d+)\.wav$`
	split, err := corpus.ParseSplit("index=3")
	if err != nil {
		t.Fatal(err)
	}
	run := t.TempDir()
	opts := Options{Steps: 2, Batch: 2, Segment: 64, Workers: 1, Seed: 3, CheckpointEvery: 2, ValidateEvery: -1, LogEvery: 1}
	tn, c, err := Open(context.Background(), Spec{Data: data, Dir: run, Preset: "tiny", Pattern: pattern, Split: split, Cond: []string{"speaker"}}, opts)
	mustRun(t, tn, err)
	if len(c.Train) != 6 || len(c.Validation) != 2 {
		t.Fatalf("new run: %d training / %d validation utterances, want 6 / 2", len(c.Train), len(c.Validation))
	}
	st, err := os.ReadFile(filepath.Join(run, CheckpointDir, "step-000000002", StateFile))
	if err != nil || !strings.Contains(string(st), `"split": "index=3"`) || !strings.Contains(string(st), "take-") {
		t.Fatalf("%s = %s (%v), want the pattern and split recorded", StateFile, st, err)
	}
	opts.Steps = 3
	tn, c, err = Open(context.Background(), Spec{Data: data, Dir: run, Resume: true}, opts)
	mustRun(t, tn, err)
	if len(c.Train) != 6 || len(c.Validation) != 2 || tn.Step() != 3 {
		t.Errorf("resumed without --pattern: %d / %d utterances at step %d, want 6 / 2 at step 3", len(c.Train), len(c.Validation), tn.Step())
	}
	for _, bad := range []Spec{
		{Data: data, Dir: run, Resume: true, Pattern: `(?P<index>\d+)`},
		{Data: data, Dir: run, Resume: true, Split: corpus.Split{None: true}},
		{Data: data, Dir: run, Resume: true, SpeakerFromFolder: true},
	} {
		if _, _, err := Open(context.Background(), bad, opts); !errors.Is(err, ErrSpec) {
			t.Errorf("resume with %+v: error %v, want ErrSpec", bad, err)
		}
	}
}
