package classify_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/classify"
	"github.com/wavenet-go/wavenet/classify/cnntrain"
)

// BenchmarkPredict classifies one second of audio at 8 kHz with the
// shipped architectures (random weights: the time does not depend on
// them). Issue 18's bar for the student is 2 ms per second of audio on
// one core: run with GOMAXPROCS=1 (Predict uses one goroutine anyway).
func BenchmarkPredict(b *testing.B) {
	for _, tc := range []struct {
		name string
		cfg  classify.CNNConfig
	}{{"student", cnntrain.Student()}, {"teacher", cnntrain.Teacher()}} {
		b.Run(tc.name, func(b *testing.B) {
			m, err := shipped(tc.cfg)
			if err != nil {
				b.Fatal(err)
			}
			x := make([]float32, 8000)
			for i := range x {
				x[i] = float32(0.5 * math.Sin(2*math.Pi*300*float64(i)/8000))
			}
			if _, err := m.Predict(x); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for b.Loop() {
				m.Predict(x)
			}
			b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/s-audio")
			// On a shared machine the wall clock counts other processes'
			// turns too; the process's CPU time is this work's alone.
			b.ReportMetric((cpuTime()-cpu).Seconds()*1000/float64(b.N), "cpu-ms/s-audio")
		})
	}
}

// shipped builds an architecture for FSDD (8 kHz features, ten digits,
// six speakers) with seeded random weights.
func shipped(c classify.CNNConfig) (*classify.CNN, error) {
	c.Features = classify.DefaultFeatures(8000)
	c.Digits = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	c.Speakers = []string{"a", "b", "c", "d", "e", "f"}
	return classify.NewCNN(c, rand.New(rand.NewPCG(1, 1)))
}

// cpuTime is the user and system time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTrainStep runs one training step (forward in training mode and
// backward) of the shipped architectures on a batch of 32 feature images,
// with one and two workers; samples/s is the training throughput.
func BenchmarkTrainStep(b *testing.B) {
	for _, tc := range []struct {
		name string
		cfg  classify.CNNConfig
	}{{"student", cnntrain.Student()}, {"teacher", cnntrain.Teacher()}} {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", tc.name, workers), func(b *testing.B) {
				m, err := shipped(tc.cfg)
				if err != nil {
					b.Fatal(err)
				}
				const n = 32 // wavenet classify train's default --batch
				rng := rand.New(rand.NewPCG(2, 2))
				x := make([]float32, n*m.Config.Features.Size())
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				dd, ds := make([]float32, n*len(m.Config.Digits)), make([]float32, n*len(m.Config.Speakers))
				for i := range dd {
					dd[i] = 0.01
				}
				for i := range ds {
					ds[i] = 0.01
				}
				b.ReportAllocs()
				cpu := cpuTime()
				for b.Loop() {
					m.Forward(x, n, true, workers, rng)
					m.Backward(dd, ds, n, workers)
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "samples/s")
				// All workers' CPU time: on a shared machine the steadier measure.
				b.ReportMetric((cpuTime()-cpu).Seconds()*1000/float64(b.N), "cpu-ms/step")
			})
		}
	}
}
