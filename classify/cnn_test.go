package classify

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/wavenet-go/wavenet/audio"
)

// tinyFeatures are 8 mels of 256-sample frames every 128 samples over a
// 1600-sample window at 8 kHz: 14 frames.
func tinyFeatures() FeatureConfig {
	f := DefaultFeatures(8000)
	f.Mel.NMels, f.Window = 8, 1600
	f.Mean, f.Std = make([]float32, 8), make([]float32, 8)
	for i := range f.Std {
		f.Std[i] = 1
	}
	return f
}

func tinyConfigs() map[string]CNNConfig {
	labels := func(c CNNConfig) CNNConfig {
		c.Features, c.Digits, c.Speakers = tinyFeatures(), []string{"0", "1", "2"}, []string{"ann", "bob"}
		return c
	}
	return map[string]CNNConfig{
		"densenet":  labels(CNNConfig{Arch: ArchDenseNet, Stem: 4, Growth: 3, Blocks: []int{2, 2}, Bottleneck: 2, Compression: 0.5}),
		"mobilenet": labels(CNNConfig{Arch: ArchMobileNet, Stem: 4, Width: 0.5, Stages: []MobileStage{{8, 1}, {12, 2}}}),
	}
}

// TestCNNGradients checks Backward against central differences of the
// loss sum(rd*digit) + sum(rs*speaker) (random rd, rs) in training mode
// (BatchNorm on batch statistics) for every weight tensor and a few of
// its entries.
func TestCNNGradients(t *testing.T) {
	for name, cfg := range tinyConfigs() {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			m, err := NewCNN(cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			const n = 3
			x := make([]float32, n*cfg.Features.Size())
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			d, s := m.Forward(x, n, true, 2, rng)
			rd, rs := make([]float32, len(d)), make([]float32, len(s))
			for i := range rd {
				rd[i] = float32(rng.NormFloat64())
			}
			for i := range rs {
				rs[i] = float32(rng.NormFloat64())
			}
			loss := func() float64 {
				d, s := m.Forward(x, n, true, 1, rng)
				var l float64
				for i, v := range d {
					l += float64(v * rd[i])
				}
				for i, v := range s {
					l += float64(v * rs[i])
				}
				return l
			}
			for _, w := range m.Weights() {
				if w.Grad != nil {
					zero(w.Grad)
				}
			}
			loss()
			m.Backward(append([]float32(nil), rd...), append([]float32(nil), rs...), n, 1)
			var dot, nn, gg float64
			for _, w := range m.Weights() {
				if w.Grad == nil {
					continue
				}
				for k := 0; k < 3; k++ {
					i := rng.IntN(len(w.Value))
					num, got := centralDiff(&w.Value[i], loss), float64(w.Grad[i])
					dot, nn, gg = dot+num*got, nn+num*num, gg+got*got
				}
			}
			// A step can cross a ReLU kink of the whole batch (every
			// BatchNorm sees all samples), so single entries may miss by
			// 20% (seen); the sampled gradient's direction must agree.
			cos := dot / math.Sqrt(nn*gg)
			if cos < 0.99 {
				t.Errorf("cosine of Backward's gradient and central differences = %.4f, want >= 0.99", cos)
			}
		})
	}
}

// TestStart checks the window placement: a short recording lies wholly
// inside the window, centred on its energy where it can be; a long one is
// covered around its energy.
func TestStart(t *testing.T) {
	f := FeatureConfig{Window: 1000}
	burst := func(n, at int) []float32 {
		x := make([]float32, n)
		for i := at - 10; i < at+10; i++ {
			x[i] = 1
		}
		return x
	}
	tests := []struct {
		name string
		x    []float32
		want int
	}{
		{"short, centred burst", burst(400, 200), -300},     // centroid 199.5 -> 200, 200-500
		{"short, burst at the start", burst(400, 20), -480}, // 20-500: x (0-400) still inside
		{"long, burst in the middle", burst(3000, 1500), 1000},
		{"long, burst near the end", burst(3000, 2950), 2000}, // clamped to len-window
		{"silent", make([]float32, 400), -300},
	}
	for _, tt := range tests {
		if got := f.Start(tt.x); got != tt.want {
			t.Errorf("Start(%s) = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestFeaturesReference compares the extractor with a plain computation:
// peak-normalise, cut the window by hand, audio.LogMel, standardise and
// transpose.
func TestFeaturesReference(t *testing.T) {
	f := DefaultFeatures(8000)
	for b := range f.Mean {
		f.Mean[b], f.Std[b] = float32(b)/10-3, 1+float32(b)/40
	}
	rng := rand.New(rand.NewPCG(5, 5))
	x := synth(rng, 3, 1) // 3000-4000 samples: shorter than the window
	long := append(synth(rng, 1, 0), synth(rng, 2, 1)...)
	ex, err := newExtractor(&f)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		x     []float32
		shift int
	}{{"short", x, 0}, {"short shifted", x, 300}, {"long", long, -200}} {
		got := make([]float32, f.Size())
		if err := ex.features(got, tc.x, tc.shift); err != nil {
			t.Fatal(err)
		}
		peak := float32(0)
		for _, v := range tc.x {
			peak = max(peak, float32(math.Abs(float64(v))))
		}
		g := float32(math.Pow(10, -1.0/20)) / peak
		norm := make([]float32, len(tc.x))
		for i, v := range tc.x {
			norm[i] = v * g
		}
		win := make([]float32, f.Window)
		start := f.Start(norm) + tc.shift
		for i := range win {
			if j := start + i; j >= 0 && j < len(norm) {
				win[i] = norm[j]
			}
		}
		spec, err := audio.LogMel(nil, win, f.Mel)
		if err != nil {
			t.Fatal(err)
		}
		nf := f.Frames()
		for b := 0; b < f.Mel.NMels; b++ {
			for tt := 0; tt < nf; tt++ {
				want := (spec.Row(tt)[b] - f.Mean[b]) / f.Std[b]
				// Identical arithmetic but for the gain's rounding: 1e-4.
				if d := math.Abs(float64(got[b*nf+tt] - want)); d > 1e-4 {
					t.Fatalf("%s: feature (mel %d, frame %d) = %v, want %v", tc.name, b, tt, got[b*nf+tt], want)
				}
			}
		}
	}
	if err := ex.features(make([]float32, f.Size()), make([]float32, 100), 0); !errors.Is(err, ErrSilent) {
		t.Errorf("features(silence) = %v, want ErrSilent", err)
	}
}

// TestMasking checks SpecAugment's masks: at most the configured widths,
// zeros only, the same masks for the same seed.
func TestMasking(t *testing.T) {
	const mels, frames = 40, 63
	m := Masking{FreqMasks: 2, FreqWidth: 5, TimeMasks: 3, TimeWidth: 6}
	for seed := uint64(0); seed < 20; seed++ {
		img := make([]float32, mels*frames)
		for i := range img {
			img[i] = 1
		}
		m.Apply(img, mels, frames, rand.New(rand.NewPCG(seed, 0)))
		again := make([]float32, mels*frames)
		for i := range again {
			again[i] = 1
		}
		m.Apply(again, mels, frames, rand.New(rand.NewPCG(seed, 0)))
		fullRows, fullCols := 0, 0
		for b := 0; b < mels; b++ {
			z := 0
			for tt := 0; tt < frames; tt++ {
				if img[b*frames+tt] == 0 {
					z++
				}
			}
			if z == frames {
				fullRows++
			}
		}
		for tt := 0; tt < frames; tt++ {
			z := 0
			for b := 0; b < mels; b++ {
				if img[b*frames+tt] == 0 {
					z++
				}
			}
			if z == mels {
				fullCols++
			}
		}
		zeros := 0
		for i, v := range img {
			if v != 0 && v != 1 {
				t.Fatalf("seed %d: value %v after masking, want 0 or 1", seed, v)
			}
			if v != again[i] {
				t.Fatalf("seed %d: masks differ between two runs", seed)
			}
			if v == 0 {
				zeros++
			}
		}
		// Masks may overlap: at most 2x5 rows and 3x6 columns.
		if fullRows > 10 || fullCols > 18 {
			t.Errorf("seed %d: %d masked mels, %d masked frames; want at most 10 and 18", seed, fullRows, fullCols)
		}
		if zeros != fullRows*frames+fullCols*mels-fullRows*fullCols {
			t.Errorf("seed %d: %d zeros outside whole masked rows and columns", seed, zeros-(fullRows*frames+fullCols*mels-fullRows*fullCols))
		}
	}
}

// TestSaveLoad saves a random judge in float32 and with int8 weights and
// checks that the loaded networks compute what was saved.
func TestSaveLoad(t *testing.T) {
	for name, cfg := range tinyConfigs() {
		m, err := NewCNN(cfg, rand.New(rand.NewPCG(7, 7)))
		if err != nil {
			t.Fatal(err)
		}
		// Running statistics that are not the initial ones.
		x := make([]float32, 4*cfg.Features.Size())
		rng := rand.New(rand.NewPCG(8, 8))
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		m.Forward(x, 4, true, 1, rng)
		dir := t.TempDir()
		if err := m.Save(dir, nil); err != nil {
			t.Fatal(err)
		}
		got, err := LoadCNN(dir)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := m.Forward(x[:cfg.Features.Size()], 1, false, 1, nil)
		want = append([]float32(nil), want...)
		d, _ := got.Forward(x[:cfg.Features.Size()], 1, false, 1, nil)
		for i := range want {
			if d[i] != want[i] {
				t.Errorf("%s: loaded digit logit %d = %v, saved network's %v", name, i, d[i], want[i])
			}
		}
		// int8: weights stored as Data*Scale load as exactly that.
		q := map[string]Int8{}
		for _, w := range m.Weights() {
			if len(w.Shape) < 2 {
				continue
			}
			rows, per := w.Shape[0], len(w.Value)/w.Shape[0]
			qi := Int8{Data: make([]int8, len(w.Value)), Scale: make([]float32, rows)}
			for r := 0; r < rows; r++ {
				qi.Scale[r] = 0.01 * float32(r+1)
				for c := 0; c < per; c++ {
					qi.Data[r*per+c] = int8(rng.IntN(255) - 127)
				}
			}
			q[w.Name] = qi
		}
		qdir := t.TempDir()
		if err := m.Save(qdir, q); err != nil {
			t.Fatal(err)
		}
		got, err = LoadCNN(qdir)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range got.Weights() {
			qi, ok := q[w.Name]
			if !ok {
				continue
			}
			per := len(w.Value) / w.Shape[0]
			for i, v := range w.Value {
				if want := qi.Scale[i/per] * float32(qi.Data[i]); v != want {
					t.Fatalf("%s: int8 %s[%d] loads as %v, want %v", name, w.Name, i, v, want)
				}
			}
		}
	}
	if _, err := LoadCNN(t.TempDir()); err == nil {
		t.Error("LoadCNN(empty dir): want an error")
	}
}

// FuzzLoadCNN loads judges whose config.json is fuzzed: a corrupt or
// hostile one is an error, never a panic or a huge allocation.
func FuzzLoadCNN(f *testing.F) {
	for _, cfg := range tinyConfigs() {
		m, err := NewCNN(cfg, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			f.Fatal(err)
		}
		dir := f.TempDir()
		if err := m.Save(dir, nil); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"arch":"mobilenet-v1","stem":4096,"width":4,"stages":[{"channels":4096,"stride":1}]}`))
	f.Fuzz(func(t *testing.T, cfg []byte) {
		fsys := fstest.MapFS{ConfigFile: {Data: cfg}, WeightsFile: {Data: []byte{}}}
		m, err := LoadCNNFS(fsys, ".")
		if err == nil {
			t.Fatalf("LoadCNNFS with an empty %s = %v, want an error", WeightsFile, m.Config)
		}
	})
}
