package cnntrain

import (
	"fmt"

	"github.com/wavenet-go/wavenet/classify"
	"github.com/wavenet-go/wavenet/compress"
)

// Teacher is the shipped teacher's architecture: DenseNet-BC with growth
// 12, three blocks of 6 layers (bottleneck 4k = 48 planes), compression
// 0.5, after a 24-plane stride-2 stem and 2x2 pooling (about 176,000
// parameters, 10 M multiply-accumulates per second of audio).
func Teacher() classify.CNNConfig {
	return classify.CNNConfig{Arch: classify.ArchDenseNet, Stem: 24, StemPool: true, Growth: 12, Blocks: []int{6, 6, 6},
		Bottleneck: 4, Compression: 0.5, Dropout: 0.2}
}

// Student is the shipped student's architecture: MobileNet v1 with width
// 1, a 16-plane stride-2 stem and four depthwise-separable blocks to 32
// (stride 2), 64, 128 (stride 2) and 128 planes (about 32,700
// parameters, under a fifth of Teacher's; 1.7 M multiply-accumulates).
func Student() classify.CNNConfig {
	return classify.CNNConfig{Arch: classify.ArchMobileNet, Stem: 16, Width: 1, Dropout: 0.2,
		Stages: []classify.MobileStage{{Channels: 32, Stride: 2}, {Channels: 64, Stride: 1}, {Channels: 128, Stride: 2}, {Channels: 128, Stride: 1}}}
}

// Quantize returns m's convolution and head weights (every tensor of more
// than one dimension) as int8 with one symmetric scale per output channel
// (compress.QuantizeInt8: qint8, symmetric, per channel, as
// torch.per_channel_symmetric), and replaces them in m by their
// dequantized values, so that m computes what the int8 file loads as.
// BatchNorm and biases stay float32.
func Quantize(m *classify.CNN) (map[string]classify.Int8, error) {
	q := map[string]classify.Int8{}
	for _, w := range m.Weights() {
		if w.Grad == nil || len(w.Shape) < 2 {
			continue
		}
		rows := w.Shape[0]
		t, err := compress.QuantizeInt8(w.Value, rows, len(w.Value)/rows, compress.QInt8, compress.Symmetric, true)
		if err != nil {
			return nil, fmt.Errorf("cnntrain: %s: %w", w.Name, err)
		}
		scale := make([]float32, rows)
		for r := range scale {
			if zp := t.ParamsOf(r).ZeroPoint; zp != 0 {
				return nil, fmt.Errorf("cnntrain: %s: zero point %d, want 0 (symmetric)", w.Name, zp)
			}
			scale[r] = t.ParamsOf(r).Scale
		}
		q[w.Name] = classify.Int8{Data: t.Data, Scale: scale}
		t.Dequantize(w.Value)
	}
	return q, nil
}

// SaveInt8 quantizes m (Quantize) and saves it to dir.
func SaveInt8(m *classify.CNN, dir string) error {
	q, err := Quantize(m)
	if err != nil {
		return err
	}
	return m.Save(dir, q)
}
