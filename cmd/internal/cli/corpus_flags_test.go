package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/train"
	"github.com/wavenet-go/wavenet/wavenet"
)

// A folder tree of gbm_NN.wav files, one folder per speaker: FSDD names
// read nothing, --pattern (or --speaker-from-folder) reads them all.
func TestDataInspectLayouts(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"ann/gbm_00.wav", "ann/gbm_01.wav", "bob/gbm_00.wav"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755)
		writeChord(t, filepath.Join(dir, n), 300, 410)
	}
	manifest := filepath.Join(dir, "list.jsonl")
	os.WriteFile(manifest, []byte(`{"path": "ann/gbm_00.wav", "speaker": "ann"}`+"\n"+`{"path": "bob/gbm_00.wav", "speaker": "bob", "text": "hi"}`+"\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--pattern", `^(?P<speaker>[a-z]+)/gbm_(?P<take>\d+)\.wav$`, dir}, []string{"3 .wav: 3 read", "label speaker: 2 values", "label take: 2 values"}},
		{[]string{"--speaker-from-folder", dir}, []string{"speaker from first-level folders", "3 .wav: 3 read", "label speaker: 2 values"}},
		{[]string{manifest}, []string{"manifest " + manifest, "layout manifest (labels: speaker; 1 with text)", "2 listed (.wav: 2): 2 read"}},
	} {
		out, _, err := runDataCmd(t, append([]string{"inspect", "--quiet"}, tc.args...)...)
		if err != nil {
			t.Fatalf("data inspect %q: %v", tc.args, err)
		}
		flat := strings.Join(strings.Fields(out), " ") // column widths vary
		for _, s := range tc.want {
			if !strings.Contains(flat, s) {
				t.Errorf("data inspect %q output lacks %q:\n%s", tc.args, s, out)
			}
		}
	}
	for _, args := range [][]string{
		{dir}, // FSDD names: none match, the error asks for --pattern
		{"--layout", "vctk", dir},
		{"--layout", "manifest", dir},
	} {
		_, _, err := runDataCmd(t, append([]string{"inspect", "--quiet"}, args...)...)
		if err == nil {
			t.Errorf("data inspect %q = nil error, want one", args)
		}
	}
	if _, _, err := runDataCmd(t, "inspect", "--layout", "vctk", dir); !errors.Is(err, ErrUsage) {
		t.Errorf("data inspect --layout vctk error %v, want a usage error", err)
	}
}

// train --pattern reads a corpus FSDD names would not, and conditions on
// its labels.
func TestTrainPattern(t *testing.T) {
	data := t.TempDir()
	for i, n := range []string{"ann/gbm_00.wav", "ann/gbm_01.wav", "bob/gbm_00.wav", "bob/gbm_01.wav"} {
		os.MkdirAll(filepath.Dir(filepath.Join(data, n)), 0o755)
		writeChord(t, filepath.Join(data, n), 200+50*float64(i), 310)
	}
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"--data", data, "--pattern", `^(?P<speaker>[a-z]+)/gbm_\d+\.wav$`, "--split", "none", "--preset", "tiny", "--out", out,
		"--steps", "1", "--segment", "50", "--cond", "speaker", "--checkpoint-every", "1", "--validate-every", "-1", "--workers", "1"}
	if _, stderr, err := runCmd(context.Background(), runTrain, args...); err != nil {
		t.Fatalf("train %v: %v\n%s", args, err, stderr)
	}
	m, err := wavenet.Load(context.Background(), filepath.Join(out, train.CheckpointDir, "step-000000001"))
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Config.Conditions; len(c) != 1 || c[0].Name != "speaker" || strings.Join(c[0].Values, ",") != "ann,bob" {
		t.Errorf("trained model conditions = %+v, want speaker (ann, bob)", c)
	}
	if _, _, err := runCmd(context.Background(), runTrain, "--data", data, "--out", out+"2", "--layout", "nope"); !errors.Is(err, ErrUsage) {
		t.Errorf("train --layout nope error %v, want a usage error", err)
	}
}

// train on a JSON lines manifest of 22.05 kHz stereo files, resampled to a
// 16 kHz model and mixed down.
func TestTrainManifest22k(t *testing.T) {
	data := t.TempDir()
	const rate = 22050
	var lines []string
	for i, spk := range []string{"ann", "bob", "ann", "bob"} {
		x := &audio.Clip{Format: audio.Format{SampleRate: rate, Channels: 2}, Samples: make([]float32, 2*rate/10)}
		for j := range rate / 10 {
			v := float32(0.3 * math.Sin(2*math.Pi*float64(200+50*i)*float64(j)/rate))
			x.Samples[2*j], x.Samples[2*j+1] = v, v/2
		}
		var buf bytes.Buffer
		if err := audio.EncodeClip(&buf, x, audio.PCM16); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("clips/%d.wav", i)
		os.MkdirAll(filepath.Join(data, "clips"), 0o755)
		os.WriteFile(filepath.Join(data, name), buf.Bytes(), 0o644)
		lines = append(lines, fmt.Sprintf(`{"path": %q, "speaker": %q}`, name, spk))
	}
	manifest := filepath.Join(data, "train.jsonl")
	os.WriteFile(manifest, []byte(strings.Join(lines, "\n")), 0o644)
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"--data", manifest, "--rate", "16000", "--split", "none", "--preset", "tiny", "--out", out,
		"--steps", "2", "--segment", "50", "--cond", "speaker", "--checkpoint-every", "2", "--validate-every", "-1", "--workers", "1"}
	if _, stderr, err := runCmd(context.Background(), runTrain, args...); err != nil {
		t.Fatalf("train %v: %v\n%s", args, err, stderr)
	}
	m, err := wavenet.Load(context.Background(), filepath.Join(out, train.CheckpointDir, "step-000000002"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.SampleRate != 16000 || len(m.Config.Conditions) != 1 || len(m.Config.Conditions[0].Values) != 2 {
		t.Errorf("trained model: %d Hz, conditions %+v; want 16000 Hz, speaker (ann, bob)", m.Config.SampleRate, m.Config.Conditions)
	}
}
