package cnntrain

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wavenet-go/wavenet/classify"
)

// TestNNTwin checks that classify's student and nn's MobileNet with the
// same weights compute the same thing (eval mode, after a training pass
// moved the BatchNorm statistics) and that nn.Summary counts the same
// parameters.
func TestNNTwin(t *testing.T) {
	c := Student()
	c.Features = classify.DefaultFeatures(8000)
	c.Digits, c.Speakers = []string{"0", "1", "2"}, []string{"a", "b"}
	rng := rand.New(rand.NewPCG(4, 4))
	m, err := classify.NewCNN(c, rng)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3
	size := c.Features.Size()
	x := make([]float32, n*size)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	m.Forward(x, n, true, 1, rng)
	tw, err := NNMobileNet(m)
	if err != nil {
		t.Fatal(err)
	}
	h, w := c.Features.Mel.NMels, c.Features.Frames()
	feats := tw.Forward(nil, x, n, h, w)
	want, _ := m.Forward(x, n, false, 1, nil)
	var head *classify.Weight
	var bias *classify.Weight
	for _, wt := range m.Weights() {
		switch wt.Name {
		case "head.digit.weight":
			head = wt
		case "head.digit.bias":
			bias = wt
		}
	}
	F := tw.Features()
	for i := 0; i < n; i++ {
		for o := range c.Digits {
			z := float64(bias.Value[o])
			for j := 0; j < F; j++ {
				z += float64(head.Value[o*F+j]) * float64(feats[i*F+j])
			}
			// Same arithmetic up to float32 summation order and nn's
			// BatchNorm folded into the convolutions: 1e-3 relative.
			if got := want[i*len(c.Digits)+o]; math.Abs(z-float64(got)) > 1e-3*max(1, math.Abs(z)) {
				t.Errorf("sample %d digit %d: classify logit %v, nn twin %v", i, o, got, z)
			}
		}
	}
	p, _ := m.Cost()
	heads := (F+1)*len(c.Digits) + (F+1)*len(c.Speakers)
	if got := tw.Summary(h, w).Params() + heads; got != p {
		t.Errorf("nn.Summary counts %d parameters with the heads, classify %d", got, p)
	}
	if _, err := NNMobileNet(mustCNN(t, Teacher())); err == nil {
		t.Error("NNMobileNet(a DenseNet): want an error")
	}
}

func mustCNN(t *testing.T, c classify.CNNConfig) *classify.CNN {
	c.Features = classify.DefaultFeatures(8000)
	c.Digits, c.Speakers = []string{"0", "1"}, []string{"a"}
	m, err := classify.NewCNN(c, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
