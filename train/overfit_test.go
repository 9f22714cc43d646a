package train

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/wavenet-go/wavenet/mulaw"
	"github.com/wavenet-go/wavenet/nn"
	"github.com/wavenet-go/wavenet/wavenet"
)

// TestOverfitChord ports ibab/tensorflow-wavenet's test_model.py: a small
// network must learn a 0.5 s chord at a 2 kHz sample rate (E-flat major:
// 155.56, 196.00 and 233.08 Hz) to a loss below 0.1 nats per sample.
func TestOverfitChord(t *testing.T) {
	cfg, err := wavenet.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	const rate, seconds = 2000, 0.5
	cfg.SampleRate = rate
	n := int(rate * seconds)
	x := make([]float32, n)
	for i := range x {
		ti := float64(i) / rate
		// The three tones at a third of full scale each, as in the test.
		x[i] = float32((math.Sin(2*math.Pi*155.56*ti) + math.Sin(2*math.Pi*196.00*ti) + math.Sin(2*math.Pi*233.08*ti)) / 3)
	}
	codes := mulaw.Encode(nil, x, cfg.QuantizationChannels)
	m, err := wavenet.New(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	// The whole chord is one sequence; every prediction with a full
	// receptive field carries the loss.
	length := n - 1
	lossRows := length - (cfg.ReceptiveField() - 1)
	p, err := NewParallel(m, 1, 1, length, lossRows)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	opt := nn.NewAdam(0.9, 0.999, 1e-8, 0)
	var loss float64
	const steps = 1500
	for step := 0; step < steps; step++ {
		if loss, err = p.Step(context.Background(), [][]int32{codes}, nil); err != nil {
			t.Fatal(err)
		}
		if loss < 0.1 {
			t.Logf("loss %.4f nats after %d steps", loss, step+1)
			return
		}
		if err := opt.Step(p.Params, 1e-2); err != nil {
			t.Fatal(err)
		}
		if step%100 == 0 {
			t.Logf("step %d: loss %.4f", step, loss)
		}
	}
	t.Errorf("loss after %d steps = %.4f nats, want < 0.1", steps, loss)
}
