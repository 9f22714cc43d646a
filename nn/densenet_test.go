package nn

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestDenseNetGraphMatchesForward(t *testing.T) {
	d, err := NewDenseNet("dn", DenseNetConfig{In: 2, Stem: 6, Growth: 3, Blocks: []int{2, 3}, Bottleneck: 2}, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	// 6 + 2*3 = 12 channels, compressed to 6, + 3*3 = 15.
	if got := d.Features(); got != 15 {
		t.Errorf("Features() = %d, want 15", got)
	}
	checkGraphMatchesForward(t, "densenet", d, 2, 2, 9, 6)
}

// TestDenseNetSummary checks DenseNet-BC with k = 2, blocks of one layer
// each, theta 0.5, bottleneck 4k = 8, on a 4x4 input, by hand (BN params
// are 2 per channel of the BN's input in the pre-activation units):
//
//	stem 1->4 3x3:              36 + 8 = 44,   out 4x4x4, 16*36 = 576 MACs
//	block0 bottleneck 4->8 1x1: 32 + 8 = 40,   out 8x4x4, 16*32 = 512
//	block0 conv 8->2 3x3:       144 + 16 = 160, out 2x4x4, 16*144 = 2304  (concat: 6 channels)
//	transition 6->3 1x1:        18 + 12 = 30,  out 3x4x4, 16*18 = 288, pool to 3x2x2
//	block1 bottleneck 3->8:     24 + 6 = 30,   out 8x2x2, 4*24 = 96
//	block1 conv 8->2 3x3:       144 + 16 = 160, out 2x2x2, 4*144 = 576  (concat: 5 channels)
//	final BN(5):                10
//
// total 474 params and 2*(576+512+2304+288+96+576) = 8704 FLOPs.
func TestDenseNetSummary(t *testing.T) {
	d, err := NewDenseNet("d", DenseNetConfig{In: 1, Stem: 4, Growth: 2, Blocks: []int{1, 1}}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	s := d.Summary(4, 4)
	want := []SummaryRow{
		{"d.stem", []int{4, 4, 4}, 44, 1152},
		{"d.block0.layer0.bottleneck", []int{8, 4, 4}, 40, 1024},
		{"d.block0.layer0.conv", []int{2, 4, 4}, 160, 4608},
		{"d.transition0", []int{3, 4, 4}, 30, 576},
		{"d.transition0.pool", []int{3, 2, 2}, 0, 0},
		{"d.block1.layer0.bottleneck", []int{8, 2, 2}, 30, 192},
		{"d.block1.layer0.conv", []int{2, 2, 2}, 160, 1152},
		{"d.final.bn", []int{5, 2, 2}, 10, 0},
		{"d.pool", []int{5}, 0, 0},
	}
	checkSummary(t, s, want, 474, 8704)
	checkParamCount(t, d.Params(), s)
}

// featureModel is a builder with its feature size.
type featureModel interface {
	cnnModel
	Features() int
}

// cnnMachine builds m in training mode on x (n, 1, h, w) holding xs, with
// dropout p (0: none), a Linear head of len(labels)/n classes and the soft
// cross-entropy against labels, and compiles it.
func cnnMachine(tb testing.TB, m featureModel, xs, labels []float32, n, h, w int, p float64, rng *rand.Rand) *Machine {
	tb.Helper()
	classes := len(labels) / n
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(n, 1, h, w), gorgonia.WithName("x"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(n, 1, h, w), tensor.WithBacking(xs))))
	y := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(n, classes), gorgonia.WithName("y"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(n, classes), tensor.WithBacking(labels))))
	f, params, err := m.Build(x, true)
	if err != nil {
		tb.Fatal(err)
	}
	if f, err = Dropout(f, p, rng); err != nil {
		tb.Fatal(err)
	}
	head := NewLinear(classes, m.Features(), GlorotUniform(rng))
	hw, hb := head.Nodes(g, "head")
	logits := gorgonia.Must(Dense(f, hw, hb))
	loss := gorgonia.Must(SoftCrossEntropy(logits, y))
	mc, err := NewMachine(loss, append(params, hw, hb))
	if err != nil {
		tb.Fatal(err)
	}
	return mc
}

// TestCNNTrains takes a few Adam steps on a toy task (class = sign of the
// input's mean) with each builder plus a Linear head and checks that the
// softmax cross-entropy falls: the backward pass runs through every Op of
// the builders (Conv2D, BN in training mode, ReLU/ReLU6, residual adds,
// concatenation, pooling, dropout).
func TestCNNTrains(t *testing.T) {
	const n, h, w, steps = 8, 8, 8, 30
	rng := rand.New(rand.NewPCG(6, 7))
	mn, err := NewMobileNet("mn", MobileNetConfig{In: 1, Stem: 8, Blocks: []MobileBlock{{Out: 8, Stride: 1}, {Out: 8, Stride: 1, Expand: 2}}}, rng)
	if err != nil {
		t.Fatal(err)
	}
	dn, err := NewDenseNet("dn", DenseNetConfig{In: 1, Stem: 4, Growth: 2, Blocks: []int{1, 1}}, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []featureModel{mn, dn} {
		xs := make([]float32, n*h*w)
		labels := make([]float32, n*2)
		for i := 0; i < n; i++ {
			c := i % 2
			labels[i*2+c] = 1
			for j := 0; j < h*w; j++ {
				xs[i*h*w+j] = float32(rng.NormFloat64()) + float32(2*c-1)
			}
		}
		mc := cnnMachine(t, m, xs, labels, n, h, w, 0.1, rng)
		opt := NewAdam(0.9, 0.999, 1e-8, 0)
		var first, last float64
		for s := 0; s < steps; s++ {
			l, err := mc.Run()
			if err != nil {
				t.Fatal(err)
			}
			if s == 0 {
				first = l
			}
			last = l
			opt.Step(mc.Params(), 0.01)
		}
		mc.Close()
		// ln 2 = 0.69 at chance; the classes are 2 sd apart, so 30 steps
		// should at least halve the loss.
		if !(last < first/2) {
			t.Errorf("%T: loss %v after %d steps, started at %v: want below half", m, last, steps, first)
		}
	}
}

// BenchmarkCNNTrainStep times one forward and backward pass (Machine.Run)
// of each builder with a Linear head on a batch of 32 40x32 images.
func BenchmarkCNNTrainStep(b *testing.B) {
	const n, h, w = 32, 40, 32
	rng := rand.New(rand.NewPCG(1, 1))
	mn, _ := NewMobileNet("mn", MobileNetConfig{In: 1, Stem: 32, Alpha: 0.5, Blocks: []MobileBlock{
		{Out: 64, Stride: 1}, {Out: 128, Stride: 2}, {Out: 128, Stride: 1}, {Out: 256, Stride: 2}, {Out: 256, Stride: 1}}}, rng)
	dn, _ := NewDenseNet("dn", DenseNetConfig{In: 1, Stem: 24, StemStride: 2, Growth: 12, Blocks: []int{4, 4, 4}}, rng)
	for _, c := range []struct {
		name string
		m    featureModel
	}{{"mobilenet", mn}, {"densenet", dn}} {
		b.Run(c.name, func(b *testing.B) {
			labels := make([]float32, n*10)
			for i := 0; i < n; i++ {
				labels[i*10+i%10] = 1
			}
			mc := cnnMachine(b, c.m, to32(randSlice(rng, n*h*w)), labels, n, h, w, 0, rng)
			defer mc.Close()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := mc.Run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
