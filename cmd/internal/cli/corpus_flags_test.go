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
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/synth"
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

// writeFLAC writes 0.1 s of a 440 Hz tone at 8 kHz as 16-bit FLAC.
func writeFLAC(t *testing.T, name string) {
	t.Helper()
	x := make([]float32, 800)
	for i := range x {
		x[i] = float32(0.3 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	b, err := synth.Encode(audio.EncodingFLAC, 8000, x)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// speakerTree writes a folder tree FSDD names do not read: SPEAKER/D_take.wav
// for speakers alice and bob and digits 0-2, and returns it with the
// pattern that labels it (speaker from the folder, digit from the name).
func speakerTree(t *testing.T) (dir, pattern string) {
	t.Helper()
	dir = t.TempDir()
	for s, spk := range []string{"alice", "bob"} {
		os.MkdirAll(filepath.Join(dir, spk), 0o755)
		for d, name := range []string{"0_take.wav", "1_take.wav", "2_take.wav"} {
			writeChord(t, filepath.Join(dir, spk, name), 200+60*float64(d), 300+100*float64(s))
		}
	}
	return dir, `^(?P<speaker>[a-z]+)/(?P<digit>\d)_take\.wav$`
}

// FSDD-named FLAC files are read by data inspect (with any case of
// extension), as the help of samples --vocoder promises.
func TestDataInspectFLAC(t *testing.T) {
	dir := t.TempDir()
	writeFLAC(t, filepath.Join(dir, "0_bob_1.flac"))
	writeFLAC(t, filepath.Join(dir, "1_ann_6.FLAC"))
	out, _, err := runDataCmd(t, "inspect", "--quiet", dir)
	if err != nil {
		t.Fatalf("data inspect of FSDD-named .flac files: %v", err)
	}
	if flat := strings.Join(strings.Fields(out), " "); !strings.Contains(flat, "2 .flac: 2 read") {
		t.Errorf("data inspect output lacks %q:\n%s", "2 .flac: 2 read", out)
	}
}

// Every command that reads a corpus takes --layout, --pattern and
// --speaker-from-folder and reads it with the corpus loader; a command
// that needs labels the corpus lacks names the label and how to give it.
func TestCorpusFlagsEverywhere(t *testing.T) {
	ctx := context.Background()
	tree, pattern := speakerTree(t)
	noDigit := `^(?P<speaker>[a-z]+)/`
	model, _ := genTestModel(t, true) // speaker (alice, bob), digit (0-9)
	manifest := filepath.Join(tree, "list.csv")
	os.WriteFile(manifest, []byte("path,speaker\nalice/0_take.wav,alice\nbob/1_take.wav,bob\n"), 0o644)
	lj := t.TempDir()
	os.MkdirAll(filepath.Join(lj, "wavs"), 0o755)
	writeChord(t, filepath.Join(lj, "wavs", "a.wav"), 200, 300)
	os.WriteFile(filepath.Join(lj, "metadata.csv"), []byte("a|one|one\n"), 0o644)
	_, run := compressFixture(t)
	digits := t.TempDir()
	writeDigitCorpus(t, digits) // 120 FSDD names, 40 of index 10-11

	// Commands that work on the tree with --pattern.
	for _, c := range []struct {
		name string
		run  func(context.Context, *Env, []string) error
		args []string
		want string // in stdout
	}{
		{"score --baseline", runScore, []string{filepath.Join(tree, "alice", "0_take.wav"), "--model", model, "--baseline", tree, "--pattern", pattern},
			"trigram baseline: trained on"},
		{"say --calibrate", runSay, []string{"--calibrate", "--model", model, "--data", tree, "--pattern", pattern, "--guidance", "0", "--candidates", "1"},
			"durations of "},
		{"compress quantize", runCompress, []string{"quantize", "--dtype", "fp16", "--model", run, "--out", filepath.Join(t.TempDir(), "q"),
			"--data", tree, "--pattern", pattern, "--split", "none", "--bench", "0"}, "fp16"},
		{"eval", runEval, []string{"--train", digits, "--pattern", `^(?P<digit>\d)_(?P<speaker>[a-z]+)_(?P<index>\d+)\.wav$`, "--val-index", "10-11", "--judge", "mfcc"},
			"trained on 80 recordings of " + digits},
	} {
		stdout, stderr, err := runCmd(ctx, c.run, c.args...)
		if err != nil || !strings.Contains(stdout, c.want) {
			t.Errorf("%s %q = %v, stdout lacking %q?\n%s\n%s", c.name, c.args, err, c.want, stdout, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(model, speech.StatsFile)); err != nil {
		t.Errorf("say --calibrate --pattern wrote no %s: %v", speech.StatsFile, err)
	}

	// Commands that need labels the corpus lacks, or flags they lack.
	for _, c := range []struct {
		name string
		run  func(context.Context, *Env, []string) error
		args []string
		want []string
	}{
		{"say --calibrate without digit", runSay, []string{"--calibrate", "--model", model, "--data", tree, "--pattern", noDigit},
			[]string{`no "digit" label`, "--pattern with a group (?P<digit>...)"}},
		{"classify report manifest", runClassify, []string{"report", "--judge", "x", "--data", manifest},
			[]string{"--data " + manifest, `no "digit" label (its labels: speaker)`, `add a "digit" column`}},
		{"classify train ljspeech", runClassify, []string{"train", "--arch", "mobilenet", "--out", t.TempDir(), "--data", lj},
			[]string{"--data " + lj, "LJSpeech corpus has no labels"}},
		{"eval manifest", runEval, []string{"--train", manifest, "--judge", "mfcc"},
			[]string{"--train " + manifest, `no "digit" label (its labels: speaker)`}},
		{"classify report tree", runClassify, []string{"report", "--judge", "x", "--data", tree, "--pattern", noDigit},
			[]string{`no "digit" label`, "--pattern with a group"}},
		{"samples --vocoder ljspeech", runSamples, []string{"--vocoder", "--model", vocTestModel(t), "--out", t.TempDir(), "--data", lj, "--fsdd", t.TempDir()},
			[]string{"LJSpeech corpus has no labels", `--fsdd ""`}},
		{"samples --vocoder none held out", runSamples, []string{"--vocoder", "--model", vocTestModel(t), "--out", t.TempDir(), "--data", lj, "--fsdd", ""},
			[]string{"none of its 1 recordings is in its validation split (hash=10)", "(?P<index>...)"}},
		{"score --baseline bad layout", runScore, []string{"--model", model, "--baseline", tree, "--layout", "vctk"}, []string{"--layout"}},
	} {
		_, _, err := runCmd(ctx, c.run, c.args...)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s %q = %v, want an error containing %q", c.name, c.args, err, w)
			}
		}
		if err != nil && strings.Contains(err.Error(), "not a directory") {
			t.Errorf("%s %q = %v: says \"not a directory\"", c.name, c.args, err)
		}
	}
}

// samples --vocoder reads a folder tree of FLAC files through --pattern:
// the files of --val-index by its index group, named by their paths.
func TestSamplesVocoderPattern(t *testing.T) {
	data := t.TempDir()
	for _, n := range []string{"ann/5.flac", "bob/7.FLAC", "ann/1.flac"} {
		writeFLAC(t, filepath.Join(data, n))
	}
	out := filepath.Join(t.TempDir(), "pairs")
	args := []string{"--vocoder", "--model", vocTestModel(t), "--data", data, "--pattern", `^(?P<speaker>[a-z]+)/(?P<index>\d+)\.(?i:flac)$`,
		"--fsdd", "", "--out", out}
	stdout, stderr, err := runCmd(context.Background(), runSamples, args...)
	if err != nil {
		t.Fatalf("samples %q: %v\n%s", args, err, stderr)
	}
	if !strings.Contains(stdout, "wrote 2 copy-synthesis triples") {
		t.Errorf("samples %q stdout:\n%s\nwant 2 triples (ann/5 and bob/7; ann/1 is outside --val-index 5-9)", args, stdout)
	}
	for _, f := range []string{"ann_5.wavenet.wav", "bob_7.original.wav"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("samples --vocoder --pattern: %v", err)
		}
	}
}

// Positional arguments may come before the flags in every command that
// takes them (the README writes `wavenet vocode IN.wav --out out.wav`).
func TestPositionalBeforeFlags(t *testing.T) {
	ctx := context.Background()
	model, _ := genTestModel(t, true)
	wav := filepath.Join(t.TempDir(), "0_alice_5.wav")
	writeChord(t, wav, 300, 410)
	data := t.TempDir()
	writeDigitCorpus(t, data)
	avg := filepath.Join(t.TempDir(), "avg")
	for _, c := range []struct {
		name string
		run  func(context.Context, *Env, []string) error
		args []string
		want string // in stdout
	}{
		{"average", runAverage, []string{model, model, "--out", avg}, "mean of 2 checkpoints"},
		{"score", runScore, []string{wav, "--model", model}, "0_alice_5.wav"},
		{"eval", runEval, []string{data, "--train", data, "--val-index", "10-11", "--judge", "mfcc"}, data + ": "},
	} {
		stdout, stderr, err := runCmd(ctx, c.run, c.args...)
		if err != nil || !strings.Contains(stdout, c.want) {
			t.Errorf("%s %q = %v, stdout lacking %q?\n%s\n%s", c.name, c.args, err, c.want, stdout, stderr)
		}
	}
	// Flags of commands without positional arguments are still read
	// after a stray one, which is then refused by name.
	if _, _, err := runCmd(ctx, runGenerate, "stray", "--out", "x.wav"); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), `unexpected arguments ["stray"]`) {
		t.Errorf("generate stray --out x.wav = %v, want a usage error naming only \"stray\"", err)
	}
}

// eval and samples name the flag of a recordings directory that is not
// there (the default is relative to the working directory).
func TestDefaultCorpusNamesFlag(t *testing.T) {
	if _, err := os.Stat(defaultFSDD); err == nil {
		t.Skipf("%s exists relative to the test's directory", defaultFSDD)
	}
	model, _ := genTestModel(t, true)
	for _, c := range []struct {
		name string
		run  func(context.Context, *Env, []string) error
		args []string
		want string
	}{
		{"eval", runEval, nil, "--train " + defaultFSDD + " (the default"},
		{"samples", runSamples, []string{"--model", model, "--out", t.TempDir()}, "--fsdd " + defaultFSDD + " (the default"},
		{"samples --vocoder", runSamples, []string{"--vocoder", "--model", vocTestModel(t), "--out", t.TempDir()}, "--data " + defaultFSDD},
		{"classify report", runClassify, []string{"report", "--judge", "x"}, "--data " + defaultFSDD},
	} {
		_, _, err := runCmd(context.Background(), c.run, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q = %v, want an error containing %q", c.name, c.args, err, c.want)
		}
	}
}
