package wavenet

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wavenet-go/wavenet/audio"
)

// localConfig is a tiny model with a speaker condition and local
// conditioning: 3 mel channels, hop 6 = 2*3, each upsampling layer seeing
// 2 input rows, so both layers' kernels overlap frames.
func localConfig() Config {
	return Config{
		FilterWidth: 2, SampleRate: 8000, Dilations: []int{1, 2, 4},
		ResidualChannels: 4, DilationChannels: 3, SkipChannels: 5, QuantizationChannels: 16, UseBiases: true,
		Conditions: []Condition{{Name: "speaker", Values: []string{"a", "b"}}},
		Local:      &LocalConfig{Channels: 3, Hop: 6, Scales: []int{2, 3}, Width: 2},
	}
}

// repeatConfigs are localConfig with repeat-conv2d upsampling: kernels
// that overlap frames and reach both band edges (frequency width 3 of 3
// channels), and the extremes of a scale 1 layer of width 1 (a pure
// frequency convolution) and a frequency width 5 (2*channels-1).
func repeatConfigs() map[string]Config {
	a, b := localConfig(), localConfig()
	a.Local = &LocalConfig{Channels: 3, Hop: 6, Scales: []int{2, 3}, Width: 2, Net: UpsampleRepeatConv2D, FreqWidth: 3}
	b.Local = &LocalConfig{Channels: 3, Hop: 6, Scales: []int{1, 3, 2}, Width: 1, Net: UpsampleRepeatConv2D, FreqWidth: 5}
	return map[string]Config{"repeat-conv2d": a, "repeat-conv2d w1 f5": b}
}

// upsampleConfigs are localConfig with each kind of upsampling network.
func upsampleConfigs() map[string]Config {
	cs := repeatConfigs()
	cs["transposed"] = localConfig()
	return cs
}

// randomLocalModel fills every parameter, the zero-initialised ones and
// the upsampling kernels included, uniformly in [-0.5, 0.5).
func randomLocalModel(t *testing.T, cfg Config, seed uint64) *Model {
	t.Helper()
	m, err := NewZero(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	for _, p := range m.Params() {
		for i := range p.Data {
			p.Data[i] = float32(rng.Float64() - 0.5)
		}
	}
	return m
}

func randomMels(rng *rand.Rand, frames, c int) []float32 {
	v := make([]float32, frames*c)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// upsampleReference is the plain transposed convolution, in float64:
// every input row j scatters kernel[:, k, :] in[j] into output j*s+k for
// all k < Width*s, and the first n*s outputs are kept.
func upsampleReference(m *Model, mels []float32) []float64 {
	C := m.Config.Local.Channels
	in := make([]float64, len(mels))
	for i, v := range mels {
		in[i] = float64(v)
	}
	for _, u := range m.Up {
		n, s, taps := len(in)/C, u.Scale, u.Width*u.Scale
		if u.FreqWidth > 0 {
			in = repeatConvReference(u, in, C)
			continue
		}
		out := make([]float64, (n*s+taps)*C)
		for j := 0; j < n; j++ {
			for k := 0; k < taps; k++ {
				for co := 0; co < C; co++ {
					for ci := 0; ci < C; ci++ {
						out[(j*s+k)*C+co] += float64(u.W[(co*taps+k)*C+ci]) * in[j*C+ci]
					}
				}
			}
		}
		in = out[:n*s*C]
	}
	return in
}

// repeatConvReference is a repeat-conv2d layer (LocalConfig) as its
// formula reads, in float64: rep[t] = in[t/s], out[t, c] = Σ_k Σ_f
// w[k, f] rep[t-k, c+f-FreqWidth/2], zero outside the rows and channels.
func repeatConvReference(u UpLayer, in []float64, C int) []float64 {
	n, s, fw := len(in)/C, u.Scale, u.FreqWidth
	out := make([]float64, n*s*C)
	for t := 0; t < n*s; t++ {
		for c := 0; c < C; c++ {
			for k := 0; k < u.Width*s && k <= t; k++ {
				for f := 0; f < fw; f++ {
					if cc := c + f - fw/2; cc >= 0 && cc < C {
						out[t*C+c] += float64(u.W[k*fw+f]) * in[(t-k)/s*C+cc]
					}
				}
			}
		}
	}
	return out
}

// TestUpsampleMatchesReference checks Upsample against the plain loop and
// wants pushing the frames in pieces to give the same bits as all at once,
// for each kind of upsampling network.
func TestUpsampleMatchesReference(t *testing.T) {
	for name, cfg := range upsampleConfigs() {
		t.Run(name, func(t *testing.T) { testUpsample(t, cfg) })
	}
}

func testUpsample(t *testing.T, cfg Config) {
	m := randomLocalModel(t, cfg, 1)
	rng := rand.New(rand.NewPCG(2, 2))
	const frames = 9
	mels := randomMels(rng, frames, 3)
	got, err := m.Upsample(nil, mels)
	if err != nil {
		t.Fatal(err)
	}
	want := upsampleReference(m, mels)
	if len(got) != len(want) || len(got) != frames*cfg.Local.Hop*3 {
		t.Fatalf("Upsample gave %d values, reference %d, want %d", len(got), len(want), frames*cfg.Local.Hop*3)
	}
	// Each output is a float32 sum of Width*C = 6 products of two layers
	// (transposed) or of at most Width*s*FreqWidth = 30 products, folded
	// (repeat-conv2d), of two or three layers; values are O(1), so float32
	// rounding stays near 1e-6.
	const tolUp = 1e-5
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > tolUp {
			t.Fatalf("Upsample()[%d] = %v, reference %v (difference %.3g > %g)", i, got[i], want[i], d, tolUp)
		}
	}
	for _, piece := range []int{1, 2, 4} {
		u, err := m.NewUpsampler()
		if err != nil {
			t.Fatal(err)
		}
		inc, err := u.Push(nil, nil) // nothing pushed: no rows
		if err != nil || len(inc) != 0 {
			t.Fatalf("Push(nil) = %d values, %v; want none, nil", len(inc), err)
		}
		for f := 0; f < frames; f += piece {
			if inc, err = u.Push(inc, mels[f*3:min(frames, f+piece)*3]); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(inc, got) {
			t.Errorf("pushing %d frames at a time differs from pushing all at once", piece)
		}
	}
}

// melAt is audio's default mel at rate with hop and n_mels changed.
func melAt(rate, hop, mels int) *audio.MelParams {
	p := audio.DefaultMelParams(rate)
	p.HopLength, p.NMels = hop, mels
	return &p
}

func TestLocalConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		local LocalConfig
		ok    bool
	}{
		{"good", LocalConfig{Channels: 80, Hop: 80, Scales: []int{2, 5, 8}, Width: 2}, true},
		{"product", LocalConfig{Channels: 80, Hop: 81, Scales: []int{2, 5, 8}, Width: 2}, false},
		{"no channels", LocalConfig{Channels: 0, Hop: 4, Scales: []int{4}, Width: 1}, false},
		{"no width", LocalConfig{Channels: 2, Hop: 4, Scales: []int{4}, Width: 0}, false},
		{"no scales", LocalConfig{Channels: 2, Hop: 1, Width: 1}, false},
		{"zero scale", LocalConfig{Channels: 2, Hop: 0, Scales: []int{0}, Width: 1}, false},
		{"huge scales", LocalConfig{Channels: 2, Hop: 0, Scales: []int{1 << 40, 1 << 40}, Width: 1}, false},
		{"mel", LocalConfig{Channels: 80, Hop: 128, Scales: []int{4, 4, 8}, Width: 2, Mel: melAt(8000, 128, 80)}, true},
		{"mel bands", LocalConfig{Channels: 40, Hop: 128, Scales: []int{4, 4, 8}, Width: 2, Mel: melAt(8000, 128, 80)}, false},
		{"mel hop", LocalConfig{Channels: 80, Hop: 64, Scales: []int{4, 4, 4}, Width: 2, Mel: melAt(8000, 128, 80)}, false},
		{"mel rate", LocalConfig{Channels: 80, Hop: 128, Scales: []int{4, 4, 8}, Width: 2, Mel: melAt(16000, 128, 80)}, false},
		{"transposed named", LocalConfig{Channels: 2, Hop: 4, Scales: []int{4}, Width: 1, Net: UpsampleTransposed}, true},
		{"transposed freq width", LocalConfig{Channels: 2, Hop: 4, Scales: []int{4}, Width: 1, FreqWidth: 3}, false},
		{"unknown net", LocalConfig{Channels: 2, Hop: 4, Scales: []int{4}, Width: 1, Net: "conv"}, false},
		{"repeat default freq width", LocalConfig{Channels: 2, Hop: 4, Scales: []int{4}, Width: 1, Net: UpsampleRepeatConv2D}, true},
		{"repeat freq width 5", LocalConfig{Channels: 80, Hop: 4, Scales: []int{4}, Width: 2, Net: UpsampleRepeatConv2D, FreqWidth: 5}, true},
		{"repeat even freq width", LocalConfig{Channels: 80, Hop: 4, Scales: []int{4}, Width: 2, Net: UpsampleRepeatConv2D, FreqWidth: 4}, false},
		{"repeat negative freq width", LocalConfig{Channels: 80, Hop: 4, Scales: []int{4}, Width: 2, Net: UpsampleRepeatConv2D, FreqWidth: -1}, false},
		{"repeat freq width over the band", LocalConfig{Channels: 2, Hop: 4, Scales: []int{4}, Width: 2, Net: UpsampleRepeatConv2D, FreqWidth: 5}, false},
	} {
		cfg := localConfig()
		cfg.Local = &tc.local
		if err := cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// TestForwardLocal checks that ForwardMels equals ForwardLocal on the
// upsampled rows, that the local conditioning changes the logits, that
// ScoreMels sums the Forward rows' cross-entropies, and the input errors.
func TestForwardLocal(t *testing.T) {
	ctx := context.Background()
	cfg := localConfig()
	m := randomLocalModel(t, cfg, 5)
	rng := rand.New(rand.NewPCG(6, 6))
	mels := randomMels(rng, 5, 3)
	codes := make([]int32, 28) // 5 frames cover 30 samples
	for i := range codes {
		codes[i] = int32(rng.IntN(16))
	}
	local, err := m.Upsample(nil, mels)
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.ForwardMels(ctx, nil, codes, []int{1}, mels)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.ForwardLocal(ctx, nil, codes, []int{1}, local)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a, b) {
		t.Errorf("ForwardMels differs from ForwardLocal of Upsample")
	}
	zero, err := m.ForwardLocal(ctx, nil, codes, []int{1}, make([]float32, len(local)))
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(a, zero) {
		t.Errorf("local conditioning does not change the logits")
	}
	nats, n, err := m.ScoreMels(ctx, codes, []int{1}, mels, 0)
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	for i := 0; i+1 < len(codes); i++ {
		want += nll(a[i*16:(i+1)*16], codes[i+1])
	}
	// Same rows, summed in the same order: only the chunking could differ.
	if n != len(codes)-1 || math.Abs(nats-want) > 1e-9 {
		t.Errorf("ScoreMels = %v nats over %d, want %v over %d", nats, n, want, len(codes)-1)
	}

	plain := localConfig()
	plain.Local = nil
	pm := randomLocalModel(t, plain, 5)
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"Forward of a local model", func() error { _, err := m.Forward(ctx, nil, codes, []int{0}); return err }},
		{"Score of a local model", func() error { _, _, err := m.Score(ctx, codes, []int{0}, 0); return err }},
		{"partial frame", func() error { _, err := m.ForwardMels(ctx, nil, codes, []int{0}, mels[:14]); return err }},
		{"too few frames", func() error { _, err := m.ForwardMels(ctx, nil, codes, []int{0}, mels[:12]); return err }},
		{"too few rows", func() error { _, err := m.ForwardLocal(ctx, nil, codes, []int{0}, local[:27*3]); return err }},
		{"local to a plain model", func() error { _, err := pm.ForwardLocal(ctx, nil, codes, []int{0}, local); return err }},
		{"upsampler of a plain model", func() error { _, err := pm.NewUpsampler(); return err }},
	} {
		var le *LocalError
		if err := tc.call(); !errors.As(err, &le) {
			t.Errorf("%s: error %v, want a *LocalError", tc.name, err)
		}
	}
	bad := m.Clone()
	bad.Up[1].W = bad.Up[1].W[:5]
	if _, err := bad.ForwardMels(ctx, nil, codes, []int{0}, mels); err == nil {
		t.Errorf("ForwardMels with a truncated upsample.1.weight: no error")
	}
	bad = m.Clone()
	bad.Layers[2].Local.W = nil
	if err := bad.CheckShapes(); err == nil {
		t.Errorf("CheckShapes with layers.2.local.weight missing: no error")
	}
}

// TestCheckpointLocal saves a local model in every dtype Save writes and
// loads it back: float32 exactly, binary16 and bfloat16 within their
// rounding (relative 2^-11 and 2^-8 of weights below 0.5).
func TestCheckpointLocal(t *testing.T) {
	for name, cfg := range upsampleConfigs() {
		t.Run(name, func(t *testing.T) { testCheckpointLocal(t, cfg) })
	}
}

func testCheckpointLocal(t *testing.T, cfg Config) {
	ctx := context.Background()
	m := randomLocalModel(t, cfg, 9)
	for _, tc := range []struct {
		dtype DType
		tol   float64
	}{{F32, 0}, {F16, 0.5 / 2048}, {BF16, 0.5 / 256}} {
		dir := t.TempDir()
		if err := SaveCheckpoint(ctx, dir, &Checkpoint{Model: m, DType: tc.dtype}); err != nil {
			t.Fatalf("SaveCheckpoint(%s): %v", tc.dtype, err)
		}
		got, err := Load(ctx, dir)
		if err != nil {
			t.Fatalf("Load(%s): %v", tc.dtype, err)
		}
		if gl := got.Config.Local; gl == nil || !slices.Equal(gl.Scales, m.Config.Local.Scales) || gl.Net != m.Config.Local.Net || gl.FreqWidth != m.Config.Local.FreqWidth {
			t.Fatalf("%s: loaded local config %+v, want %+v", tc.dtype, got.Config.Local, m.Config.Local)
		}
		gp, wp := got.Params(), m.Params()
		if len(gp) != len(wp) {
			t.Fatalf("%s: %d params loaded, want %d", tc.dtype, len(gp), len(wp))
		}
		for i := range wp {
			for j := range wp[i].Data {
				if d := math.Abs(float64(gp[i].Data[j] - wp[i].Data[j])); d > tc.tol {
					t.Fatalf("%s: %s[%d] = %v, saved %v", tc.dtype, wp[i].Name, j, gp[i].Data[j], wp[i].Data[j])
				}
			}
		}
	}
}

// TestCheckpointUpsampleMismatch wants a clear error, naming the tensor,
// when a checkpoint's upsampling weights are of another kind or size than
// its config says.
func TestCheckpointUpsampleMismatch(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		net       string
		freqWidth int
	}{
		{"repeat weights, transposed config", UpsampleTransposed, 0},
		{"repeat weights, other frequency width", UpsampleRepeatConv2D, 1},
	} {
		dir := t.TempDir()
		m := randomLocalModel(t, repeatConfigs()["repeat-conv2d"], 9)
		if err := SaveCheckpoint(ctx, dir, &Checkpoint{Model: m}); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, ConfigFile)
		js, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var cfg Config
		if err := json.Unmarshal(js, &cfg); err != nil {
			t.Fatal(err)
		}
		cfg.Local.Net, cfg.Local.FreqWidth = tc.net, tc.freqWidth
		if js, err = json.Marshal(cfg); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, js, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(ctx, dir); err == nil || !strings.Contains(err.Error(), "upsample.0.weight") {
			t.Errorf("%s: Load = %v, want an error naming upsample.0.weight", tc.name, err)
		}
	}
}

// BenchmarkUpsample pushes one mel frame at a time (as streaming does)
// through an 80-band upsampling network of hop 256 = 4^4, width 2, of
// each kind; rows/s are upsampled rows (samples) per second.
func BenchmarkUpsample(b *testing.B) {
	for _, net := range []string{UpsampleTransposed, UpsampleRepeatConv2D} {
		b.Run("net="+net, func(b *testing.B) {
			cfg := localConfig()
			cfg.Local = &LocalConfig{Channels: 80, Hop: 256, Scales: []int{4, 4, 4, 4}, Width: 2, Net: net}
			if net == UpsampleRepeatConv2D {
				cfg.Local.FreqWidth = 3
			}
			m, err := New(cfg, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				b.Fatal(err)
			}
			u, err := m.NewUpsampler()
			if err != nil {
				b.Fatal(err)
			}
			frame := randomMels(rand.New(rand.NewPCG(2, 2)), 1, 80)
			var dst []float32
			b.ReportAllocs()
			for b.Loop() {
				if dst, err = u.Push(dst[:0], frame); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*256)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
