package compress

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/wavenet-go/wavenet/corpus"
	"github.com/wavenet-go/wavenet/internal/safetensors"
	"github.com/wavenet-go/wavenet/wavenet"
)

// testModel is a random "tiny" model with biases and one condition, so
// that every kind of tensor (weights, biases, embeddings) is saved.
func testModel(t testing.TB, seed uint64) *wavenet.Model {
	t.Helper()
	cfg, err := wavenet.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Conditions = []wavenet.Condition{{Name: "speaker", Values: []string{"a", "b", "c"}}}
	m, err := wavenet.New(cfg, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	for _, p := range m.Params() {
		if p.Init == wavenet.InitZero { // biases and embeddings: not all zero
			for i := range p.Data {
				p.Data[i] = float32(rng.NormFloat64() * 0.1)
			}
		}
	}
	return m
}

// testVocoder is testModel with repeat-conv2d local conditioning (4 mel
// bands, hop 4 = 2*2, frequency width 3), its kernels random, not the
// constant moving average New starts them as.
func testVocoder(t testing.TB, seed uint64) *wavenet.Model {
	t.Helper()
	cfg := testModel(t, seed).Config
	cfg.Local = &wavenet.LocalConfig{Channels: 4, Hop: 4, Scales: []int{2, 2}, Width: 2, Net: wavenet.UpsampleRepeatConv2D, FreqWidth: 3}
	m, err := wavenet.New(cfg, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	for _, p := range m.Params() {
		if p.Init == wavenet.InitMean {
			for i := range p.Data {
				p.Data[i] = float32(rng.NormFloat64() * 0.3)
			}
		}
	}
	return m
}

// maxRowError returns the largest |a-b| of each parameter relative to
// that parameter's largest |a|.
func maxRelError(a, b *wavenet.Model) (worst float64, name string) {
	pa, pb := a.Params(), b.Params()
	for i := range pa {
		var big, e float64
		for j, v := range pa[i].Data {
			big = max(big, math.Abs(float64(v)))
			e = max(e, math.Abs(float64(v-pb[i].Data[j])))
		}
		if big > 0 && e/big > worst {
			worst, name = e/big, pa[i].Name
		}
	}
	return worst, name
}

// TestSaveLoadFormats saves a model in every format and loads it back
// within the format's rounding; also a vocoder with repeat-conv2d
// upsampling, whose (Width*scale, FreqWidth) kernels are matrices
// quantized by rows like every other weight.
func TestSaveLoadFormats(t *testing.T) {
	for name, m := range map[string]*wavenet.Model{"plain": testModel(t, 1), "repeat-conv2d": testVocoder(t, 1)} {
		t.Run(name, func(t *testing.T) { testSaveLoadFormats(t, m) })
	}
}

func testSaveLoadFormats(t *testing.T, m *wavenet.Model) {
	ctx := context.Background()
	dir := t.TempDir()
	cases := []struct {
		name string
		opts SaveOptions
		// tol bounds the error relative to a tensor's largest value:
		// fp16 and bf16 round to 11 and 8 significant bits (relative
		// error 2^-11 and 2^-8 of the value, so also of the maximum);
		// int8 per tensor rounds to half a step of range/255, at most
		// (2 max)/255/2 = max/255 (the range includes both signs).
		tol    float64
		format Format
	}{
		{"fp32", SaveOptions{}, 0, FP32},
		{"fp16", SaveOptions{Format: FP16}, 1.0 / 2048, FP16},
		{"bf16", SaveOptions{Format: BF16}, 1.0 / 256, BF16},
		{"int8-quint8-affine", SaveOptions{Format: Int8}, 1.0 / 255, Int8},
		{"int8-qint8-symmetric-channel", SaveOptions{Format: Int8, DType: QInt8, Scheme: Symmetric, PerChannel: true}, 1.0 / 254, Int8},
		{"int8-qint8-affine-channel", SaveOptions{Format: Int8, DType: QInt8, PerChannel: true}, 1.0 / 255, Int8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := filepath.Join(dir, c.name)
			if err := Save(ctx, d, m, c.opts); err != nil {
				t.Fatal(err)
			}
			// wavenet.Load itself reads every format (int8 through the
			// dequantizer this package registers).
			back, err := wavenet.Load(ctx, d)
			if err != nil {
				t.Fatalf("wavenet.Load(%s) = %v", c.name, err)
			}
			if e, name := maxRelError(m, back); e > c.tol*1.0001 {
				t.Errorf("Save/Load %s: %s error %.3g of its max, want <= %.3g", c.name, name, e, c.tol)
			}
			_, info, err := Load(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != c.format {
				t.Errorf("Load(%s).Format = %q, want %q", c.name, info.Format, c.format)
			}
		})
	}
}

func TestSizes(t *testing.T) {
	ctx := context.Background()
	// The "small" preset: the sizes of a real model (the header and the
	// biases weigh less relative to the weights than in tiny).
	cfg, err := wavenet.Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	m, err := wavenet.New(cfg, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	size := func(o SaveOptions) float64 {
		d := filepath.Join(dir, string(o.Format)+qscheme(o.PerChannel, o.Scheme))
		if err := Save(ctx, d, m, o); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(filepath.Join(d, wavenet.WeightsFile))
		if err != nil {
			t.Fatal(err)
		}
		return float64(st.Size())
	}
	fp32 := size(SaveOptions{})
	for _, c := range []struct {
		opts   SaveOptions
		lo, hi float64 // bounds on the size relative to fp32
		why    string
		name   string
	}{
		{SaveOptions{Format: FP16}, 0.49, 0.51, "2 bytes instead of 4, the same header", "fp16"},
		{SaveOptions{Format: BF16}, 0.49, 0.51, "2 bytes instead of 4", "bf16"},
		{SaveOptions{Format: Int8}, 0.2, 0.30, "issue 9's bar: at most 30% of fp32", "int8 per tensor"},
		{SaveOptions{Format: Int8, DType: QInt8, Scheme: Symmetric, PerChannel: true}, 0.2, 0.30, "issue 9's bar", "int8 per channel symmetric"},
	} {
		got := size(c.opts) / fp32
		if got < c.lo || got > c.hi {
			t.Errorf("size(%s) / size(fp32) = %.3f, want in [%.2f, %.2f] (%s)", c.name, got, c.lo, c.hi, c.why)
		}
	}
}

// TestDequantizeRefuses: a corrupt int8 checkpoint gives an error, never a
// panic.
func TestDequantizeRefuses(t *testing.T) {
	m := testModel(t, 4)
	b, err := MarshalInt8(m, SaveOptions{Format: Int8, PerChannel: true})
	if err != nil {
		t.Fatal(err)
	}
	mutate := []struct {
		name string
		f    func(f *safetensors.File) []safetensors.Tensor
	}{
		{"scale missing", func(f *safetensors.File) []safetensors.Tensor {
			return drop(f.Tensors, "input.weight"+ScaleSuffix)
		}},
		{"zero point missing", func(f *safetensors.File) []safetensors.Tensor {
			return drop(f.Tensors, "input.weight"+ZeroPointSuffix)
		}},
		{"negative scale", func(f *safetensors.File) []safetensors.Tensor {
			for i, t := range f.Tensors {
				if t.Name == "post1.weight"+ScaleSuffix {
					d := append([]byte(nil), t.Data...)
					d[3] |= 0x80 // the sign bit of the first scale
					f.Tensors[i].Data = d
				}
			}
			return f.Tensors
		}},
		{"scale of the wrong length", func(f *safetensors.File) []safetensors.Tensor {
			for i, t := range f.Tensors {
				if t.Name == "post1.weight"+ScaleSuffix {
					f.Tensors[i].Data = t.Data[:8]
					f.Tensors[i].Shape = []int{2}
				}
			}
			return f.Tensors
		}},
		{"zero point out of range", func(f *safetensors.File) []safetensors.Tensor {
			for i, t := range f.Tensors {
				if t.Name == "post2.weight"+ZeroPointSuffix {
					d := append([]byte(nil), t.Data...)
					d[0], d[1] = 0, 4 // 1024 > 255
					f.Tensors[i].Data = d
				}
			}
			return f.Tensors
		}},
	}
	for _, c := range mutate {
		f, err := safetensors.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := safetensors.Write(&buf, c.f(f), f.Metadata); err != nil {
			t.Fatal(err)
		}
		_, _, err = wavenet.UnmarshalSafetensors(m.Config, buf.Bytes())
		var qe *wavenet.QuantError
		if !errors.As(err, &qe) {
			t.Errorf("UnmarshalSafetensors with %s = %v, want a *wavenet.QuantError", c.name, err)
		}
	}
}

func drop(ts []safetensors.Tensor, name string) []safetensors.Tensor {
	var out []safetensors.Tensor
	for _, t := range ts {
		if t.Name != name {
			out = append(out, t)
		}
	}
	return out
}

// TestInt8Bits: scoring through the int8 generator is close to the float
// model's own score (wavenet.Model.Score, from 0) on the same codes.
func TestInt8Bits(t *testing.T) {
	ctx := context.Background()
	m := testModel(t, 7)
	rng := rand.New(rand.NewPCG(7, 7))
	var utts []*corpus.Utterance
	var nats float64
	var n int
	for i := 0; i < 5; i++ {
		u := &corpus.Utterance{Name: fmt.Sprint(i), Labels: map[string]string{"speaker": "b"}, Codes: make([]int32, 40+10*i)}
		for j := range u.Codes {
			u.Codes[j] = int32(rng.IntN(m.Config.QuantizationChannels))
		}
		utts = append(utts, u)
		s, k, err := m.Score(ctx, u.Codes, []int{1}, 0)
		if err != nil {
			t.Fatal(err)
		}
		nats, n = nats+s, n+k
	}
	want := nats / float64(n) / math.Ln2
	// 3 streams for 5 utterances: slots are reused.
	got, err := Int8Bits(ctx, m, utts, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Int8 error on a random model moves the score by a few thousandths
	// of a bit (cache's TestInt8TeacherForced bounds the KL at 0.01).
	if math.Abs(got-want) > 0.01 {
		t.Errorf("Int8Bits = %.5f, float Score = %.5f bits/sample, want within 0.01", got, want)
	}
}
