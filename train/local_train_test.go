package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/mulaw"
	"github.com/wavenet-go/wavenet/wavenet"
)

// trainLocal is the upsampling network of the trainer tests: 4 channels,
// hop 4 in two layers of 2, width 2.
func trainLocal() *wavenet.LocalConfig {
	return &wavenet.LocalConfig{Channels: 4, Hop: 4, Scales: []int{2, 2}, Width: 2}
}

// testLocalCorpus is testCorpus with random mel frames per utterance, as
// many as LogMel's centred frames (1 + n/hop).
func testLocalCorpus(q int, lc *wavenet.LocalConfig) (trainUtts, val []*corpus.Utterance) {
	trainUtts, val = testCorpus(q)
	rng := rand.New(rand.NewPCG(10, 10))
	for _, u := range append(append([]*corpus.Utterance(nil), trainUtts...), val...) {
		u.Mel = make([]float32, (1+len(u.Codes)/lc.Hop)*lc.Channels)
		for i := range u.Mel {
			u.Mel[i] = float32(rng.NormFloat64())
		}
	}
	return trainUtts, val
}

// trainLocals are trainLocal with each kind of upsampling network.
func trainLocals() map[string]*wavenet.LocalConfig {
	r := trainLocal()
	r.Net, r.FreqWidth = wavenet.UpsampleRepeatConv2D, 3
	return map[string]*wavenet.LocalConfig{"transposed": trainLocal(), "repeat-conv2d": r}
}

// runLocal trains steps steps of a testConfig model with local
// conditioning lc, new in dir or resumed from it.
func runLocal(t *testing.T, lc *wavenet.LocalConfig, dir string, steps int64, workers int, resume bool) *Trainer {
	t.Helper()
	cfg := testConfig(t)
	cfg.Local = lc
	tr, va := testLocalCorpus(64, cfg.Local)
	var tn *Trainer
	var err error
	if resume {
		tn, err = Resume(context.Background(), dir, tr, va, testOptions(steps, workers))
	} else {
		tn, err = New(dir, cfg, tr, va, testOptions(steps, workers))
	}
	return mustRun(t, tn, err)
}

func TestLocalResumeIsExact(t *testing.T) {
	// TestResumeIsExact with local conditioning: 6 steps equal 3, a
	// checkpoint and 3 more, bit for bit (the mel windows follow the
	// sampler's restored position); and the steps train the upsampling
	// network and the local projections. Both kinds of upsampling.
	for name, lc := range trainLocals() {
		t.Run(name, func(t *testing.T) { testLocalResume(t, lc) })
	}
}

func testLocalResume(t *testing.T, lc *wavenet.LocalConfig) {
	whole := runLocal(t, lc, t.TempDir(), 6, 2, false).Model
	dir := t.TempDir()
	runLocal(t, lc, dir, 3, 2, false)
	resumed := runLocal(t, lc, dir, 6, 2, true).Model
	if d, same := diffWeights(whole, resumed); !same {
		t.Errorf("3 steps + resume + 3 steps: weights differ from 6 steps by up to %g, want bit-identical", d)
	}
	init, err := NewModel(whole.Config, testOptions(6, 2).Seed)
	if err != nil {
		t.Fatal(err)
	}
	ip := init.Params()
	for i, p := range whole.Params() {
		if !strings.HasPrefix(p.Name, "upsample.") && !strings.HasSuffix(p.Name, "local.weight") {
			continue
		}
		moved := false
		for j := range p.Data {
			moved = moved || p.Data[j] != ip[i].Data[j]
		}
		if !moved {
			t.Errorf("%s did not change in 6 steps", p.Name)
		}
	}
}

func TestLocalWorkersGiveSameWeights(t *testing.T) {
	// TestWorkersGiveSameWeights with local conditioning; 8 workers split
	// each sequence in two, the second chunk's mels offset by half a
	// segment. Both kinds of upsampling.
	for name, lc := range trainLocals() {
		ref := runLocal(t, lc, t.TempDir(), 4, 1, false).Model
		for _, w := range []int{2, 8} {
			m := runLocal(t, lc, t.TempDir(), 4, w, false).Model
			if d, _ := diffWeights(ref, m); d > 1e-5 {
				t.Errorf("%s: %d workers vs 1: weights differ by %g, want <= 1e-5", name, w, d)
			}
		}
	}
}

func TestNewLocalNeedsMels(t *testing.T) {
	cfg := testConfig(t)
	cfg.Local = trainLocal()
	tr, va := testCorpus(64) // no mels
	if _, err := New(t.TempDir(), cfg, tr, va, testOptions(3, 1)); err == nil || !strings.Contains(err.Error(), "no mel frames") {
		t.Errorf("New(local model, utterances without mels) = %v, want an error naming the missing mel frames", err)
	}
	tr, va = testLocalCorpus(64, cfg.Local)
	tr[0].Mel = tr[0].Mel[:len(tr[0].Mel)-3*cfg.Local.Channels]
	if _, err := New(t.TempDir(), cfg, tr, va, testOptions(3, 1)); err == nil || !strings.Contains(err.Error(), "mel frames of hop") {
		t.Errorf("New(local model, too few frames) = %v, want an error", err)
	}
}

// writeChirps writes a synthetic corpus at rate Hz into a new directory
// and returns it: 24 files named as FSDD's (digit_speaker_index, indices
// 5 up are validation), each a rising chirp whose pitch depends on the
// labels, plus a little noise.
func writeChirps(t *testing.T, rate int) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(31, 31))
	for d := 0; d < 2; d++ {
		for s, spk := range []string{"ann", "bob"} {
			for i := 0; i < 6; i++ {
				x := make([]float32, rate/5+rng.IntN(rate/20))
				f0 := 200 + 150*float64(d) + 60*float64(s) + 10*float64(i)
				ph := 0.0
				for n := range x {
					f := f0 * (1 + 0.5*float64(n)/float64(len(x)))
					ph += 2 * math.Pi * f / float64(rate)
					x[n] = float32(0.5*math.Sin(ph) + 0.01*rng.NormFloat64())
				}
				writeTestWAV(t, filepath.Join(dir, fmt.Sprintf("%d_%s_%d.wav", d, spk, i)), x, rate)
			}
		}
	}
	return dir
}

// writeTestWAV writes x as a 16-bit mono WAV at rate.
func writeTestWAV(t *testing.T, path string, x []float32, rate int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := audio.Encode(f, x, rate, audio.PCM16); err != nil {
		t.Fatal(err)
	}
}

func TestLocalTrainsEndToEnd16k(t *testing.T) {
	// A synthetic 16 kHz corpus made here (writeChirps), loaded with its mels,
	// a tiny local model trained 12 steps: the loss falls, the checkpoint
	// loads with wavenet.Load, and ScoreMels on the validation files
	// gives the trainer's validation number.
	const rate = 16000
	dir := writeChirps(t, rate)
	mel := audio.DefaultMelParams(rate)
	mel.NMels = 16
	const q = 64
	c, err := corpus.Load(context.Background(), dir, corpus.Options{SampleRate: rate, Levels: q, Normalize: true, Mel: &mel})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Train) != 20 || len(c.Validation) != 4 {
		t.Fatalf("corpus: %d train, %d validation files, want 20 and 4", len(c.Train), len(c.Validation))
	}
	cfg, err := wavenet.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.SampleRate = rate
	cfg.Dilations = []int{1, 2, 4, 8}
	cfg.QuantizationChannels = q
	cfg.Conditions = []wavenet.Condition{{Name: "speaker", Values: []string{"ann", "bob"}}}
	// hop 256 = 4*4*4*4: DefaultMelParams' hop at 16 kHz.
	cfg.Local = &wavenet.LocalConfig{Channels: mel.NMels, Hop: mel.HopLength, Scales: []int{4, 4, 4, 4}, Width: 2, Mel: &mel}
	tr, va := c.Train, c.Validation
	run := t.TempDir()
	opts := Options{Steps: 12, Batch: 4, Segment: 256, Workers: 2, LR: 1e-2, Warmup: 1, Seed: 5,
		CheckpointEvery: 12, Keep: 1, ValidateEvery: 12, LogEvery: 1}
	tn, err := New(run, cfg, tr, va, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	if err := tn.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	ms, err := readMetrics(filepath.Join(run, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	// log(64) = 4.16 nats at the start; the mean of the last 3 steps must
	// be clearly lower than of the first 3 (a chirp is very predictable).
	first := (ms[0].Loss + ms[1].Loss + ms[2].Loss) / 3
	last := (ms[9].Loss + ms[10].Loss + ms[11].Loss) / 3
	if !(last < first-0.3) {
		t.Errorf("loss over steps 1-3 %.3f, over 10-12 %.3f: want a drop of at least 0.3 nats", first, last)
	}
	t.Logf("loss: steps 1-3 %.3f nats, steps 10-12 %.3f", first, last)
	v := ms[11].Val
	if v == nil {
		t.Fatal("no validation at step 12")
	}
	m := loadLatest(t, run)
	if m.Config.Local == nil || m.Config.Local.Mel == nil || *m.Config.Local.Mel != mel {
		t.Fatalf("loaded config's local conditioning = %+v, want the mel parameters trained with", m.Config.Local)
	}
	var nats float64
	var n int
	for _, u := range va {
		cond, err := u.ConditionIndices(m.Config.Conditions)
		if err != nil {
			t.Fatal(err)
		}
		codes := append([]int32{mulaw.Silence(q)}, u.Codes...) // the go code
		s, k, err := m.ScoreMels(context.Background(), codes, cond, u.Mel, 0)
		if err != nil {
			t.Fatal(err)
		}
		nats += s
		n += k
	}
	// The same sums over the same rows: float rounding only (1e-9 bits is
	// far below the 1e-7 relative of float32 logits).
	bits := nats / float64(n) / math.Ln2
	t.Logf("validation %.4f bits/sample over %d samples; ScoreMels of the checkpoint %.4f", v.Bits, v.Samples, bits)
	if math.Abs(bits-v.Bits) > 1e-9 || n != v.Samples {
		t.Errorf("ScoreMels of the loaded checkpoint: %.9f bits over %d samples, trainer's validation %.9f over %d", bits, n, v.Bits, v.Samples)
	}
}

func TestDefaultScales(t *testing.T) {
	for _, tc := range []struct {
		hop  int
		want []int
	}{{128, []int{4, 4, 4, 2}}, {256, []int{4, 4, 4, 4}}, {300, []int{4, 3, 5, 5}}, {7, []int{7}}, {1, nil}} {
		if got := DefaultScales(tc.hop); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("DefaultScales(%d) = %v, want %v", tc.hop, got, tc.want)
		}
	}
}

func TestOpenLocal(t *testing.T) {
	// Open with Spec.Local: a new run at 16 kHz with 8 mel bands (hop 256
	// by default, scales 4^4), two steps; resumed, the model keeps its
	// local conditioning; Local without a rate, or when resuming, is a
	// usage error.
	data := writeChirps(t, 16000)
	run := t.TempDir()
	spec := Spec{Data: data, Dir: run, Preset: "tiny", Rate: 16000, Local: &LocalSpec{NMels: 8}}
	opts := Options{Steps: 2, Batch: 2, Segment: 64, Workers: 1, Seed: 3, CheckpointEvery: 2, ValidateEvery: 2, LogEvery: 1}
	tn, _, err := Open(context.Background(), spec, opts)
	tn = mustRun(t, tn, err)
	lc := tn.Model.Config.Local
	if lc == nil || lc.Channels != 8 || lc.Hop != 256 || fmt.Sprint(lc.Scales) != "[4 4 4 4]" || lc.Width != 2 || lc.Mel == nil || lc.Mel.SampleRate != 16000 {
		t.Fatalf("Open(Local{NMels: 8}) model local conditioning = %+v", lc)
	}
	opts.Steps = 3
	tn, _, err = Open(context.Background(), Spec{Data: data, Dir: run, Resume: true}, opts)
	tn = mustRun(t, tn, err)
	if got := tn.Model.Config.Local; got == nil || got.Channels != 8 || tn.Step() != 3 {
		t.Errorf("resumed run: step %d, local conditioning %+v; want step 3 with 8 channels", tn.Step(), got)
	}
	for _, bad := range []Spec{
		{Data: data, Dir: t.TempDir(), Preset: "tiny", Local: &LocalSpec{}},
		{Data: data, Dir: run, Resume: true, Local: &LocalSpec{}},
	} {
		if _, _, err := Open(context.Background(), bad, opts); !errors.Is(err, ErrSpec) {
			t.Errorf("Open(%+v) error = %v, want ErrSpec", bad, err)
		}
	}
}

func TestOpenLocalRepeatConv(t *testing.T) {
	// A new 16 kHz run with repeat-conv2d upsampling (LocalSpec.Net, the
	// frequency width left to its default): the config records the
	// default width 3, the kernels start as moving averages (every entry
	// 1/(Width*s*3), r9y9's initialisation), four steps train them, and
	// the checkpoint loads with the same config and upsamples as trained.
	data := writeChirps(t, 16000)
	run := t.TempDir()
	spec := Spec{Data: data, Dir: run, Preset: "tiny", Rate: 16000, Local: &LocalSpec{NMels: 8, Net: wavenet.UpsampleRepeatConv2D}}
	opts := Options{Steps: 4, Batch: 2, Segment: 64, Workers: 1, Seed: 3, LR: 1e-2, CheckpointEvery: 4, ValidateEvery: 4, LogEvery: 1}
	tn, _, err := Open(context.Background(), spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	lc := tn.Model.Config.Local
	if lc == nil || lc.Net != wavenet.UpsampleRepeatConv2D || lc.FreqWidth != wavenet.DefaultFreqWidth || fmt.Sprint(lc.Scales) != "[4 4 4 4]" {
		t.Fatalf("Open(Local{Net: repeat-conv2d}) model local conditioning = %+v", lc)
	}
	for i, ly := range tn.Model.Up {
		want := 1 / float32(ly.Width*ly.Scale*ly.FreqWidth)
		if len(ly.W) != ly.Width*ly.Scale*3 || ly.W[0] != want || ly.W[len(ly.W)-1] != want {
			t.Errorf("initial upsample.%d: %d values from %v, want %d of %v", i, len(ly.W), ly.W[0], ly.Width*ly.Scale*3, want)
		}
	}
	init := tn.Model.Clone()
	tn = mustRun(t, tn, nil)
	if d, same := diffWeights(init, tn.Model); same || d == 0 {
		t.Fatalf("4 steps did not change the weights")
	}
	m := loadLatest(t, run)
	if got := m.Config.Local; got.Net != lc.Net || got.FreqWidth != lc.FreqWidth {
		t.Errorf("loaded local conditioning %+v, want %+v", got, lc)
	}
	for i := range m.Up {
		if !slices.Equal(m.Up[i].W, tn.Model.Up[i].W) || slices.Equal(m.Up[i].W, init.Up[i].W) {
			t.Errorf("upsample.%d: loaded kernel differs from the trained one or is still the initial one", i)
		}
	}
}

// loadLatest loads the newest checkpoint of the run directory run.
func loadLatest(t *testing.T, run string) *wavenet.Model {
	t.Helper()
	ck, err := LatestCheckpoint(run)
	if err != nil {
		t.Fatal(err)
	}
	m, err := wavenet.Load(context.Background(), ck)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
