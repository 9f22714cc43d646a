package train

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/wavenet"
)

// testCorpus is a few utterances of random codes labelled by speaker, in
// the shape corpus.Load returns.
func testCorpus(q int) (trainUtts, val []*corpus.Utterance) {
	rng := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 8; i++ {
		u := &corpus.Utterance{
			Name:   fmt.Sprintf("%d_%s_%d.wav", i%3, []string{"ann", "bob"}[i%2], i),
			Labels: map[string]string{"speaker": []string{"ann", "bob"}[i%2], "digit": fmt.Sprint(i % 3)},
			Codes:  make([]int32, 60+rng.IntN(40)),
		}
		for j := range u.Codes {
			u.Codes[j] = int32(rng.IntN(q))
		}
		if i >= 6 {
			u.Validation = true
			val = append(val, u)
		} else {
			trainUtts = append(trainUtts, u)
		}
	}
	return trainUtts, val
}

func testConfig(t *testing.T) wavenet.Config {
	t.Helper()
	cfg, err := wavenet.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.QuantizationChannels = 64
	cfg.Dilations = []int{1, 2, 4, 8}
	cfg.Conditions = []wavenet.Condition{
		{Name: "speaker", Values: []string{"ann", "bob"}},
		{Name: "digit", Values: []string{"0", "1", "2"}},
	}
	return cfg
}

func testOptions(steps int64, workers int) Options {
	return Options{Steps: steps, Batch: 4, Segment: 12, Workers: workers, LR: 3e-3, Warmup: 2, Cosine: true,
		Seed: 42, CheckpointEvery: 3, Keep: 2, ValidateEvery: 3, LogEvery: 1}
}

func runSteps(t *testing.T, dir string, steps int64, workers int) *wavenet.Model {
	t.Helper()
	return runFrom(t, dir, nil, testOptions(steps, workers)).Model
}

// runFrom trains a new run in dir from m's weights (from a fresh
// testConfig model when m is nil) with opts and returns the trainer.
func runFrom(t *testing.T, dir string, m *wavenet.Model, opts Options) *Trainer {
	t.Helper()
	tr, va := testCorpus(64)
	var tn *Trainer
	var err error
	if m == nil {
		tn, err = New(dir, testConfig(t), tr, va, opts)
	} else {
		tn, err = NewFrom(dir, m, tr, va, opts)
	}
	return mustRun(t, tn, err)
}

// mustRun runs a trainer that New or Resume returned (with err) to its
// end and closes it.
func mustRun(t *testing.T, tn *Trainer, err error) *Trainer {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	if err := tn.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tn
}

// resumeLogged resumes the run in dir for 6 steps with one worker and
// returns the trainer and the lines Resume logged.
func resumeLogged(t *testing.T, dir string) (*Trainer, []string) {
	t.Helper()
	tr, va := testCorpus(64)
	var logs []string
	opts := testOptions(6, 1)
	opts.Logf = func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }
	tn, err := Resume(context.Background(), dir, tr, va, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tn, logs
}

func resumeSteps(t *testing.T, dir string, steps int64, workers int) *wavenet.Model {
	t.Helper()
	tr, va := testCorpus(64)
	tn, err := Resume(context.Background(), dir, tr, va, testOptions(steps, workers))
	return mustRun(t, tn, err).Model
}

func diffWeights(a, b *wavenet.Model) (maxDiff float64, identical bool) {
	identical = true
	pa, pb := a.Params(), b.Params()
	for i := range pa {
		for j := range pa[i].Data {
			x, y := pa[i].Data[j], pb[i].Data[j]
			if x != y {
				identical = false
				maxDiff = max(maxDiff, float64(abs32(x-y)))
			}
		}
	}
	return maxDiff, identical
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

func TestSameSeedIsBitIdentical(t *testing.T) {
	a := runSteps(t, t.TempDir(), 4, 2)
	b := runSteps(t, t.TempDir(), 4, 2)
	if d, same := diffWeights(a, b); !same {
		t.Errorf("two runs with seed 42: weights differ by up to %g, want bit-identical", d)
	}
}

func TestWorkersGiveSameWeights(t *testing.T) {
	// Global batch 4 on 1, 2 and 4 workers: the same gradient up to the
	// float32 rounding of summing in a different order. After 4 Adam steps
	// of lr <= 3e-3 the weights agree to 1e-5 (Adam's normalised steps
	// bound the effect of rounding on each update by about lr * 1e-3).
	ref := runSteps(t, t.TempDir(), 4, 1)
	for _, w := range []int{2, 4, 8} { // 8 workers split each of the 4 sequences in two
		m := runSteps(t, t.TempDir(), 4, w)
		if d, _ := diffWeights(ref, m); d > 1e-5 {
			t.Errorf("%d workers vs 1: weights differ by %g, want <= 1e-5", w, d)
		}
	}
}

func TestResumeIsExact(t *testing.T) {
	// ibab/tensorflow-wavenet issue #387: a resumed run must continue the
	// step counter, schedule, optimizer state and data order. 6 steps in
	// one go must equal 3 steps, a checkpoint, and 3 more after resuming.
	whole := runSteps(t, t.TempDir(), 6, 2)
	dir := t.TempDir()
	runSteps(t, dir, 3, 2)
	resumed := resumeSteps(t, dir, 6, 2)
	if d, same := diffWeights(whole, resumed); !same {
		t.Errorf("3 steps + resume + 3 steps: weights differ from 6 steps by up to %g, want bit-identical", d)
	}
	ms, err := readMetrics(filepath.Join(dir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.Step != int64(i+1) {
			t.Fatalf("metrics line %d has step %d, want %d (steps in order, none repeated)", i, m.Step, i+1)
		}
	}
	if len(ms) != 6 {
		t.Errorf("metrics.jsonl has %d lines, want 6", len(ms))
	}
	if ms[5].Val == nil || ms[5].Val.PerLabel["speaker"]["ann"] == 0 {
		t.Errorf("step 6 metrics = %+v, want a validation with a per-speaker breakdown", ms[5])
	}
	if _, err := os.Stat(filepath.Join(dir, CurveFile)); err != nil {
		t.Errorf("curve plot: %v", err)
	}
}

func TestResumeSkipsCorruptCheckpoint(t *testing.T) {
	dir := t.TempDir()
	runSteps(t, dir, 6, 1) // checkpoints at steps 3 and 6
	dirs, err := latestCheckpoints(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 2 {
		t.Fatalf("checkpoints %v, want 2 (Keep)", dirs)
	}
	// Truncate the newest weights file: resume must refuse it, say so and
	// fall back to step 3.
	w := filepath.Join(dirs[0], wavenet.WeightsFile)
	b, err := os.ReadFile(w)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	tn, logs := resumeLogged(t, dir)
	defer tn.Close()
	tr, va := testCorpus(64)
	if tn.Step() != 3 {
		t.Errorf("resumed at step %d, want 3 (the newest checkpoint that loads)", tn.Step())
	}
	if len(logs) == 0 {
		t.Errorf("Resume skipped a corrupt checkpoint without a message")
	}
	// With every checkpoint broken, Resume fails.
	for _, d := range dirs {
		os.WriteFile(filepath.Join(d, wavenet.WeightsFile), []byte("junk"), 0o644)
	}
	if _, err := Resume(context.Background(), dir, tr, va, testOptions(6, 1)); err == nil {
		t.Errorf("Resume with only corrupt checkpoints = nil error, want an error")
	}
}

func TestCancelSavesCheckpoint(t *testing.T) {
	dir := t.TempDir()
	tr, va := testCorpus(64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := testOptions(100, 2)
	opts.CheckpointEvery = 50
	opts.Progress = func(s Status) {
		if s.Step == 2 {
			cancel() // as Ctrl-C would
		}
	}
	tn, err := New(dir, testConfig(t), tr, va, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	if err := tn.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel = %v, want context.Canceled", err)
	}
	dirs, err := latestCheckpoints(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := filepath.Base(dirs[0]), "step-000000002"; got != want {
		t.Errorf("checkpoint after cancel = %s, want %s", got, want)
	}
}

func TestNewRefusesExistingRun(t *testing.T) {
	dir := t.TempDir()
	runSteps(t, dir, 3, 1)
	tr, va := testCorpus(64)
	if _, err := New(dir, testConfig(t), tr, va, testOptions(3, 1)); err == nil {
		t.Errorf("New on a directory with checkpoints = nil error, want an error")
	}
}

func TestNewFromStartsFromTheWeights(t *testing.T) {
	// A warm start: 3 steps from scratch, then a new run from those weights
	// with a tiny learning rate. Adam moves each weight by about lr per
	// step, so after 2 steps the weights are within 3*lr of the starting
	// ones, far closer than a fresh initialisation is; the new run counts
	// its own steps from 0 and refuses a directory holding checkpoints.
	base := runSteps(t, t.TempDir(), 3, 1)
	start := base.Clone()
	tr, va := testCorpus(64)
	opts := testOptions(2, 1)
	opts.LR, opts.Cosine = 1e-6, false
	dir := t.TempDir()
	tn := runFrom(t, dir, base, opts)
	d, same := diffWeights(start, tn.Model)
	if same || d > 3e-6 {
		t.Errorf("fine-tuned 2 steps at lr 1e-6: weights moved by %g (identical %v), want 0 < change <= 3e-6", d, same)
	}
	if fresh, _ := diffWeights(start, runSteps(t, t.TempDir(), 2, 1)); fresh < 1e-3 {
		t.Fatalf("a fresh run differs from the trained weights by only %g: the check above proves nothing", fresh)
	}
	dirs, err := latestCheckpoints(dir)
	if err != nil || filepath.Base(dirs[0]) != "step-000000002" {
		t.Errorf("warm-started run's checkpoints = %v, %v; want step-000000002 first", dirs, err)
	}
	if _, err := NewFrom(dir, start, tr, va, opts); err == nil {
		t.Errorf("NewFrom on a directory with checkpoints = nil error, want an error")
	}
}

func TestUntilStopsPartWay(t *testing.T) {
	// --until 3 of a 6-step run, then a resume, equals the 6 steps in one
	// go: the schedule spans all 6 steps either way.
	whole := runSteps(t, t.TempDir(), 6, 2)
	dir := t.TempDir()
	opts := testOptions(6, 2)
	opts.Until = 3
	tn := runFrom(t, dir, nil, opts)
	if tn.Step() != 3 {
		t.Fatalf("run with Until 3 stopped at step %d", tn.Step())
	}
	resumed := resumeSteps(t, dir, 6, 2)
	if d, same := diffWeights(whole, resumed); !same {
		t.Errorf("until 3 + resume to 6: weights differ from 6 steps by up to %g, want bit-identical", d)
	}
}

// TestResumeCleansLeftovers simulates the states a kill -9 during a save
// or a rotation leaves (a temporary checkpoint directory of WriteDir, a
// directory renamed for deletion, and a half-deleted oldest checkpoint
// whose config.json is gone) and checks that Resume removes them all,
// keeps the good checkpoints, resumes from the newest, and says what it
// removed.
func TestResumeCleansLeftovers(t *testing.T) {
	dir := t.TempDir()
	runSteps(t, dir, 6, 1) // checkpoints at steps 3 and 6
	root := filepath.Join(dir, CheckpointDir)
	half := filepath.Join(root, "step-000000001")
	if err := os.CopyFS(half, os.DirFS(filepath.Join(root, "step-000000003"))); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(half, wavenet.ConfigFile)); err != nil {
		t.Fatal(err)
	}
	leftovers := []string{half, filepath.Join(root, ".step-000000009.tmp-12345"), filepath.Join(root, ".step-000000002"+deletingSuffix)}
	for _, d := range leftovers[1:] {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, wavenet.WeightsFile), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tn, logs := resumeLogged(t, dir)
	defer tn.Close()
	if tn.Step() != 6 {
		t.Errorf("resumed at step %d, want 6", tn.Step())
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if got := fmt.Sprint(left); got != "[step-000000003 step-000000006]" {
		t.Errorf("checkpoints after Resume: %s, want [step-000000003 step-000000006]", got)
	}
	for _, d := range leftovers {
		if !strings.Contains(strings.Join(logs, "\n"), d) {
			t.Errorf("Resume did not say it removed %s; logs:\n%s", d, strings.Join(logs, "\n"))
		}
	}
}

// cutCtx is a context that Run sees as live at the top of the step after
// cut is called and as cancelled from then on: the step is cut in the
// middle, after its batch is drawn.
type cutCtx struct {
	context.Context
	mu    sync.Mutex
	armed bool
	calls int
}

func (c *cutCtx) cut() { c.mu.Lock(); c.armed = true; c.mu.Unlock() }

func (c *cutCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.armed {
		return nil
	}
	c.calls++
	if c.calls == 1 {
		return nil
	}
	return context.Canceled
}

// TestResumeAfterCutStepIsExact: a run interrupted in the middle of a
// step (Ctrl-C while the gradient is computed) saves the sampler as it
// was before that step's batch was drawn, so resuming draws it again:
// 4 steps (the last checkpoint at 3) + a cut fifth, saved at 4, + resume
// to 6 equals 6 steps in one go.
func TestResumeAfterCutStepIsExact(t *testing.T) {
	whole := runSteps(t, t.TempDir(), 6, 2)
	dir := t.TempDir()
	tr, va := testCorpus(64)
	ctx := &cutCtx{Context: context.Background()}
	opts := testOptions(6, 2)
	opts.Progress = func(s Status) {
		if s.Step == 4 {
			ctx.cut()
		}
	}
	tn, err := New(dir, testConfig(t), tr, va, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if tn.step != 4 {
		t.Fatalf("cut run stopped at step %d, want 4", tn.step)
	}
	tn.Close()
	resumed := resumeSteps(t, dir, 6, 2)
	if d, same := diffWeights(whole, resumed); !same {
		t.Errorf("4 steps + a cut step + resume to 6: weights differ from 6 steps by up to %g, want bit-identical", d)
	}
}
