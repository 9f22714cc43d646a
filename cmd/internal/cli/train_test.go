package cli

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/train"
	"github.com/wavenet-go/wavenet/train/dist"
	"github.com/wavenet-go/wavenet/wavenet"
)

// writeChord writes 0.1 s of a two-tone chord at 8 kHz as 16-bit WAV.
func writeChord(t *testing.T, name string, f1, f2 float64) {
	t.Helper()
	const rate = 8000
	x := make([]float32, rate/10)
	for i := range x {
		ti := float64(i) / rate
		x[i] = float32(0.3*math.Sin(2*math.Pi*f1*ti) + 0.3*math.Sin(2*math.Pi*f2*ti))
	}
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := audio.Encode(f, x, rate, audio.PCM16); err != nil {
		t.Fatal(err)
	}
}

func TestTrainCommand(t *testing.T) {
	data := t.TempDir()
	// FSDD names: {digit}_{speaker}_{index}; index 5-9 is validation.
	for i, name := range []string{"0_ann_5.wav", "1_bob_6.wav", "0_ann_10.wav", "1_bob_11.wav", "1_ann_12.wav", "0_bob_13.wav"} {
		writeChord(t, filepath.Join(data, name), 200+50*float64(i), 310)
	}
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"--data", data, "--preset", "tiny", "--out", out, "--steps", "4", "--segment", "50",
		"--cond", "speaker,digit", "--checkpoint-every", "2", "--validate-every", "2", "--workers", "2", "--log-every", "1"}
	if _, stderr, err := runCmd(context.Background(), runTrain, args...); err != nil {
		t.Fatalf("train %v: %v\n%s", args, err, stderr)
	}
	m, err := wavenet.Load(context.Background(), filepath.Join(out, train.CheckpointDir, "step-000000004"))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Config.SampleRate; got != 8000 {
		t.Errorf("trained model sample_rate = %d, want the corpus rate 8000", got)
	}
	if len(m.Config.Conditions) != 2 || m.Config.Conditions[0].Name != "speaker" || len(m.Config.Conditions[0].Values) != 2 {
		t.Errorf("trained model conditions = %+v, want speaker (ann, bob) and digit", m.Config.Conditions)
	}
	// The checkpoint records how the training audio was processed (the
	// flags' defaults: trimmed and normalised).
	if p := m.Config.Preprocess; p == nil || *p != wavenet.DefaultPreprocess {
		t.Errorf("trained model preprocess = %+v, want %+v", p, wavenet.DefaultPreprocess)
	}
	for _, f := range []string{train.MetricsFile, train.CurveFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("run directory: %v", err)
		}
	}
	// Resume to step 6.
	args = []string{"--data", data, "--out", out, "--resume", "--steps", "6", "--checkpoint-every", "2", "--workers", "2"}
	if _, stderr, err := runCmd(context.Background(), runTrain, args...); err != nil {
		t.Fatalf("train %v: %v\n%s", args, err, stderr)
	}
	rm, err := wavenet.Load(context.Background(), filepath.Join(out, train.CheckpointDir, "step-000000006"))
	if err != nil {
		t.Fatalf("after resume: %v", err)
	}
	if !reflect.DeepEqual(rm.Config, m.Config) {
		t.Errorf("resumed config = %+v, want the run's %+v", rm.Config, m.Config)
	}
	// A new run from the step-6 weights, with its own schedule and segment.
	ft := filepath.Join(t.TempDir(), "finetune")
	args = []string{"--data", data, "--out", ft, "--init", filepath.Join(out, train.CheckpointDir, "step-000000006"),
		"--steps", "2", "--segment", "80", "--lr", "1e-4", "--cosine", "--checkpoint-every", "2", "--workers", "2"}
	if _, stderr, err := runCmd(context.Background(), runTrain, args...); err != nil {
		t.Fatalf("train %v: %v\n%s", args, err, stderr)
	}
	fm, err := wavenet.Load(context.Background(), filepath.Join(ft, train.CheckpointDir, "step-000000002"))
	if err != nil {
		t.Fatalf("fine-tuned run: %v", err)
	}
	if !reflect.DeepEqual(fm.Config, m.Config) {
		t.Errorf("fine-tuned config = %+v, want the initial model's %+v", fm.Config, m.Config)
	}
	// --grow widens the receptive field of the initial model.
	gr := filepath.Join(t.TempDir(), "grown")
	args = []string{"--data", data, "--out", gr, "--init", filepath.Join(ft, train.CheckpointDir, "step-000000002"),
		"--grow", "32,64", "--steps", "1", "--segment", "50", "--checkpoint-every", "1", "--workers", "1"}
	if _, stderr, err := runCmd(context.Background(), runTrain, args...); err != nil {
		t.Fatalf("train %v: %v\n%s", args, err, stderr)
	}
	gm, err := wavenet.Load(context.Background(), filepath.Join(gr, train.CheckpointDir, "step-000000001"))
	if err != nil {
		t.Fatalf("grown run: %v", err)
	}
	if got, want := gm.Config.Dilations, append(slices.Clone(m.Config.Dilations), 32, 64); !slices.Equal(got, want) {
		t.Errorf("grown model dilations = %v, want %v", got, want)
	}
	ftStep := filepath.Join(ft, train.CheckpointDir, "step-000000002")
	for _, bad := range [][]string{{"--grow", "8"}, {"--init", ftStep, "--grow", "x"}, {"--init", ftStep, "--grow", "0"}} {
		args = append([]string{"--data", data, "--out", filepath.Join(t.TempDir(), "y")}, bad...)
		if _, _, err := runCmd(context.Background(), runTrain, args...); !errors.Is(err, ErrUsage) {
			t.Errorf("train %q = %v, want a usage error", bad, err)
		}
	}
	// A new run without trimming records that; resuming it with the
	// default flags keeps the recorded processing.
	nt := filepath.Join(t.TempDir(), "notrim")
	for _, args := range [][]string{
		{"--data", data, "--preset", "tiny", "--out", nt, "--trim=false", "--steps", "1", "--segment", "50", "--checkpoint-every", "1", "--workers", "1"},
		{"--data", data, "--out", nt, "--resume", "--steps", "2", "--checkpoint-every", "1", "--workers", "1"},
	} {
		if _, stderr, err := runCmd(context.Background(), runTrain, args...); err != nil {
			t.Fatalf("train %v: %v\n%s", args, err, stderr)
		}
	}
	for _, step := range []string{"step-000000001", "step-000000002"} {
		nm, err := wavenet.Load(context.Background(), filepath.Join(nt, train.CheckpointDir, step))
		if err != nil {
			t.Fatal(err)
		}
		if p := nm.Config.Preprocess; p == nil || p.Trim || !p.Normalize {
			t.Errorf("%s of a --trim=false run: preprocess %+v, want untrimmed, normalised", step, p)
		}
	}
	// --cond-dropout adds null rows to an --init model (and to a fresh
	// one); a resume takes it from the checkpoint.
	cd := filepath.Join(t.TempDir(), "dropout")
	for _, extra := range [][]string{{"--init", ftStep}, {"--preset", "tiny", "--cond", "speaker,digit"}} {
		args = append([]string{"--data", data, "--out", cd, "--cond-dropout", "0.2", "--steps", "1", "--segment", "50",
			"--checkpoint-every", "1", "--workers", "1"}, extra...)
		if _, stderr, err := runCmd(context.Background(), runTrain, args...); err != nil {
			t.Fatalf("train %v: %v\n%s", args, err, stderr)
		}
		dm, err := wavenet.Load(context.Background(), filepath.Join(cd, train.CheckpointDir, "step-000000001"))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range dm.Config.Conditions {
			if !c.Null {
				t.Errorf("train %v: condition %s has no null row", extra, c.Name)
			}
		}
		args = []string{"--data", data, "--out", cd, "--resume", "--cond-dropout", "0.2", "--steps", "2"}
		if _, _, err := runCmd(context.Background(), runTrain, args...); !errors.Is(err, ErrUsage) {
			t.Errorf("train --resume --cond-dropout = %v, want a usage error", err)
		}
		cd = filepath.Join(t.TempDir(), "dropout2")
	}
	// --init takes the model's configuration: a preset beside it is refused.
	args = []string{"--data", data, "--out", filepath.Join(t.TempDir(), "x"), "--init", ft + "/checkpoints/step-000000002", "--preset", "tiny"}
	if _, _, err := runCmd(context.Background(), runTrain, args...); !errors.Is(err, ErrUsage) {
		t.Errorf("train --init with --preset = %v, want a usage error", err)
	}
	// A fresh run into the same directory is refused.
	args = []string{"--data", data, "--preset", "tiny", "--out", out, "--steps", "2"}
	if _, _, err := runCmd(context.Background(), runTrain, args...); err == nil {
		t.Errorf("train into a directory with checkpoints without --resume = nil error, want an error")
	}
}

func TestTrainUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--preset", "tiny", "--out", "x"},                // no --data
		{"--data", "d", "--preset", "huge", "--out", "x"}, // unknown preset
		{"--data", "d", "--out", "x", "extra"},            // stray argument
		{"--data", "d", "--out", "x", "--distributed", "both", "--nats", "nats://127.0.0.1:1"},
		{"--data", "d", "--out", "x", "--distributed", "sync", "--rank", "2", "--world", "2", "--nats", "nats://127.0.0.1:1"},
		{"--data", "d", "--out", "x", "--distributed", "sync", "--world", "2"}, // no --nats
		{"--data", "d", "--out", "x", "--distributed", "async", "--pipeline-stages", "2"},
		{"--data", "d", "--out", "x", "--rank", "1"}, // without --distributed
		{"--data", "d", "--out", "x", "--distributed", "sync", "--grad-codec", "int4", "--nats", "nats://127.0.0.1:1"},
		{"--data", "d", "--out", "x", "--distributed", "sync", "--allreduce", "tree", "--nats", "nats://127.0.0.1:1"},
		{"--data", "d", "--out", "x", "--distributed", "sync", "--rank", "1", "--world", "2", "--nats-listen", "127.0.0.1:0"},
	} {
		if _, _, err := runCmd(context.Background(), runTrain, args...); !errors.Is(err, ErrUsage) {
			t.Errorf("train %q = %v, want a usage error", args, err)
		}
	}
}

// trainVocoder runs `train --local mel` for two steps at 8 kHz with 8 mel
// bands and the extra flags on four chords it writes, and returns the
// corpus folder, the run directory and the checkpoint of step 2.
func trainVocoder(t *testing.T, extra ...string) (data, out string, m *wavenet.Model) {
	t.Helper()
	data = t.TempDir()
	for i, name := range []string{"0_ann_5.wav", "1_bob_6.wav", "0_ann_10.wav", "1_bob_11.wav"} {
		writeChord(t, filepath.Join(data, name), 200+50*float64(i), 310)
	}
	out = filepath.Join(t.TempDir(), "run")
	args := append([]string{"--data", data, "--preset", "tiny", "--out", out, "--steps", "2", "--segment", "64",
		"--local", "mel", "--rate", "8000", "--mels", "8", "--checkpoint-every", "2", "--validate-every", "2", "--workers", "2"}, extra...)
	if _, stderr, err := runCmd(context.Background(), runTrain, args...); err != nil {
		t.Fatalf("train %v: %v\n%s", args, err, stderr)
	}
	m, err := wavenet.Load(context.Background(), filepath.Join(out, train.CheckpointDir, "step-000000002"))
	if err != nil {
		t.Fatal(err)
	}
	return data, out, m
}

func TestTrainLocalCommand(t *testing.T) {
	// `train --local mel`: a vocoder at 8 kHz with 8 mel bands (hop 128,
	// scales 4,4,4,2 by default), two steps, resumed to four; the
	// checkpoint records the mel parameters.
	data, out, m := trainVocoder(t)
	want := audio.DefaultMelParams(8000)
	want.NMels = 8
	if lc := m.Config.Local; lc == nil || lc.Channels != 8 || lc.Hop != 128 || !slices.Equal(lc.Scales, []int{4, 4, 4, 2}) || lc.Mel == nil || *lc.Mel != want {
		t.Fatalf("trained model local conditioning = %+v, want 8 mels, hop 128, scales [4 4 4 2] and %+v", lc, want)
	}
	args := []string{"--data", data, "--out", out, "--resume", "--steps", "4", "--checkpoint-every", "2", "--workers", "2"}
	if _, stderr, err := runCmd(context.Background(), runTrain, args...); err != nil {
		t.Fatalf("train %v: %v\n%s", args, err, stderr)
	}
	if _, err := wavenet.Load(context.Background(), filepath.Join(out, train.CheckpointDir, "step-000000004")); err != nil {
		t.Fatalf("after resume: %v", err)
	}
	for _, bad := range [][]string{
		{"--data", data, "--out", t.TempDir(), "--mels", "8"},
		{"--data", data, "--out", t.TempDir(), "--local", "spectrogram", "--rate", "8000"},
		{"--data", data, "--out", t.TempDir(), "--local", "mel"}, // no --rate
		{"--data", data, "--out", t.TempDir(), "--local", "mel", "--rate", "8000", "--upsample-scales", "4,4"},
		{"--data", data, "--out", t.TempDir(), "--upsample-net", "repeat-conv2d"},
		{"--data", data, "--out", t.TempDir(), "--local", "mel", "--rate", "8000", "--upsample-net", "conv"},
		{"--data", data, "--out", t.TempDir(), "--local", "mel", "--rate", "8000", "--upsample-freq-width", "3"},
		{"--data", data, "--out", t.TempDir(), "--local", "mel", "--rate", "8000", "--upsample-net", "repeat-conv2d", "--upsample-freq-width", "4"},
		{"--data", data, "--out", t.TempDir(), "--local", "mel", "--rate", "8000", "--upsample-net", "repeat-conv2d", "--upsample-freq-width", "0"},
	} {
		if _, _, err := runCmd(context.Background(), runTrain, bad...); !errors.Is(err, ErrUsage) {
			t.Errorf("train %v: error %v, want a usage error", bad, err)
		}
	}
}

func TestTrainLocalRepeatConvCommand(t *testing.T) {
	// `train --local mel --upsample-net repeat-conv2d --upsample-freq-width
	// 5`: two steps of a vocoder with repeat-conv2d upsampling; the
	// checkpoint records the kind and width and loads with kernels of
	// (Width*scale, 5).
	_, _, m := trainVocoder(t, "--upsample-net", "repeat-conv2d", "--upsample-freq-width", "5")
	lc := m.Config.Local
	if lc == nil || lc.Net != wavenet.UpsampleRepeatConv2D || lc.FreqWidth != 5 || !slices.Equal(lc.Scales, []int{4, 4, 4, 2}) {
		t.Fatalf("trained model local conditioning = %+v, want repeat-conv2d of frequency width 5, scales [4 4 4 2]", lc)
	}
	for i, ly := range m.Up {
		if ly.FreqWidth != 5 || len(ly.W) != ly.Width*ly.Scale*5 {
			t.Errorf("upsample.%d: frequency width %d, %d values; want 5 and %d", i, ly.FreqWidth, len(ly.W), ly.Width*ly.Scale*5)
		}
	}
}

// TestTrainDistributed trains 2 ranks of a synchronous run (ring, int8
// gradients) and then 2 of an asynchronous one over an embedded NATS
// server, each rank a runTrain call in its own goroutine as it would be
// in its own process, resumes each, and checks the checkpoints rank 0
// writes and what the ranks report.
func TestTrainDistributed(t *testing.T) {
	data := t.TempDir()
	for i, name := range []string{"0_ann_5.wav", "1_bob_6.wav", "0_ann_10.wav", "1_bob_11.wav", "1_ann_12.wav", "0_bob_13.wav"} {
		writeChord(t, filepath.Join(data, name), 200+50*float64(i), 310)
	}
	srv, err := dist.Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, tc := range []struct {
		mode  string
		extra []string
		want  string // in rank 0's stderr
	}{
		{"sync", []string{"--allreduce", "ring", "--grad-codec", "int8"}, "per step over"},
		{"async", []string{"--max-staleness", "2"}, "staleness of the updates"},
		{"pipeline", []string{"--micro-batches", "2"}, "per step over"},
	} {
		out := filepath.Join(t.TempDir(), "run")
		// A new run to step 3, then every rank resumes it to step 5.
		for _, run := range [][]string{
			{"--preset", "tiny", "--steps", "3", "--cond", "speaker"},
			{"--resume", "--steps", "5"},
		} {
			stderr := make([]string, 2)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for r := range 2 {
				args := slices.Concat([]string{"--data", data, "--out", out, "--segment", "20",
					"--checkpoint-every", "3", "--validate-every", "3", "--workers", "1",
					"--distributed", tc.mode, "--nats", srv.URL(), "--nats-subject", "cli." + tc.mode,
					"--rank", strconv.Itoa(r), "--world", "2", "--dist-timeout", "30s"}, run, tc.extra)
				wg.Go(func() { _, stderr[r], errs[r] = runCmd(context.Background(), runTrain, args...) })
			}
			wg.Wait()
			for r, err := range errs {
				if err != nil {
					t.Fatalf("%s %v rank %d: %v\n%s", tc.mode, run, r, err, stderr[r])
				}
			}
			if !strings.Contains(stderr[0], tc.want) {
				t.Errorf("%s %v: rank 0 said:\n%s\nwant %q", tc.mode, run, stderr[0], tc.want)
			}
		}
		for _, step := range []string{"step-000000003", "step-000000005"} {
			if _, err := wavenet.Load(context.Background(), filepath.Join(out, train.CheckpointDir, step)); err != nil {
				t.Errorf("%s: %v", tc.mode, err)
			}
		}
	}
	// One rank, no NATS: 2 pipeline stages of 2 micro-batches.
	out := filepath.Join(t.TempDir(), "pipe")
	args := []string{"--data", data, "--out", out, "--preset", "tiny", "--steps", "2", "--segment", "20", "--batch", "2",
		"--distributed", "sync", "--pipeline-stages", "2", "--micro-batches", "2"}
	if _, stderr, err := runCmd(context.Background(), runTrain, args...); err != nil {
		t.Fatalf("train %v: %v\n%s", args, err, stderr)
	}
	if _, err := wavenet.Load(context.Background(), filepath.Join(out, train.CheckpointDir, "step-000000002")); err != nil {
		t.Errorf("pipeline: %v", err)
	}
}
