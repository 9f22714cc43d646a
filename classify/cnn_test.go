package classify

import (
	"math"
	"math/rand/v2"
	"testing"
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
					old := w.Value[i]
					const h = 1e-3
					w.Value[i] = old + h
					lp := loss()
					w.Value[i] = old - h
					lm := loss()
					w.Value[i] = old
					num, got := (lp-lm)/(2*h), float64(w.Grad[i])
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
