package cnntrain

import (
	"fmt"
	"math/rand/v2"

	"github.com/wavenet-go/wavenet/classify"
	"github.com/wavenet-go/wavenet/nn"
)

// NNMobileNet returns m's trunk as nn's MobileNet (nn.NewMobileNet with
// v1 blocks) holding a copy of m's weights: the same network, so that
// nn.MobileNet.Summary counts its parameters and FLOPs and its Forward
// cross-checks classify's (the judge itself runs classify's forward pass,
// which needs no gorgonia). A judge with a stem pool or another
// architecture has no nn twin.
func NNMobileNet(m *classify.CNN) (*nn.MobileNet, error) {
	c := m.Config
	if c.Arch != classify.ArchMobileNet || c.StemPool {
		return nil, fmt.Errorf("cnntrain: nn twin: a %s judge (stem pool %v), want %s without a stem pool", c.Arch, c.StemPool, classify.ArchMobileNet)
	}
	cfg := nn.MobileNetConfig{In: 1, Stem: c.Stem, StemStride: 2, Alpha: c.Width}
	for _, s := range c.Stages {
		cfg.Blocks = append(cfg.Blocks, nn.MobileBlock{Out: s.Channels, Stride: s.Stride})
	}
	t, err := nn.NewMobileNet("judge", cfg, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, fmt.Errorf("cnntrain: nn twin: %w", err)
	}
	// Both list each unit's weight, BN scale, shift, running mean and
	// running variance, unit after unit; classify's heads come last.
	dst, src := t.Tensors(), m.Weights()
	if len(src) < len(dst) {
		return nil, fmt.Errorf("cnntrain: nn twin: %d tensors, the judge has %d", len(dst), len(src))
	}
	for i, d := range dst {
		if len(d.Value) != len(src[i].Value) {
			return nil, fmt.Errorf("cnntrain: nn twin: %s has %d values, the judge's %s %d", d.Name, len(d.Value), src[i].Name, len(src[i].Value))
		}
		copy(d.Value, src[i].Value)
	}
	return t, nil
}

// FLOPs returns the floating-point operations of m on one window and
// where the count comes from: for a MobileNet, nn.Summary of its nn twin
// (convolutions, 2 per multiply-accumulate) plus the heads; otherwise
// classify's own count, 2 per multiply-accumulate of every layer
// (BatchNorm and pooling included).
func FLOPs(m *classify.CNN) (int64, string) {
	if t, err := NNMobileNet(m); err == nil {
		f := m.Config.Features
		heads := 2 * int64(t.Features()*(len(m.Config.Digits)+len(m.Config.Speakers)))
		return t.Summary(f.Mel.NMels, f.Frames()).FLOPs() + heads, "nn.Summary"
	}
	_, macs := m.Cost()
	return 2 * int64(macs), "classify.Summary"
}
