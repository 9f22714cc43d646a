package synth

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/wavenet"
)

// BenchmarkScheduler measures the continuous-batching scheduler with the
// real cache generator: streams concurrent jobs of 1600 samples each (0.1 s
// at 16 kHz) on the "small" preset, so samples/s shows the batching gain.
var benchPreset = "small"

func BenchmarkScheduler(b *testing.B) {
	cfg, _ := wavenet.Preset(benchPreset)
	m, err := wavenet.New(cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		streams, workers int
		int8             bool
	}{{1, 1, false}, {1, 1, true}, {4, 1, false}, {16, 1, false}, {16, 1, true}, {16, 2, false}} {
		streams := c.streams
		b.Run(fmt.Sprintf("streams=%d/workers=%d/int8=%v", streams, c.workers, c.int8), func(b *testing.B) {
			met := nopMetrics{}
			gens := []stepper{}
			for range c.workers {
				gens = append(gens, newStepper(m, streams, c.int8))
			}
			sc := newScheduler("bench", gens, streams, 0, 1600, time.Minute, met, quietLogger())
			defer sc.close()
			const n = 1600
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			for range b.N {
				var wg sync.WaitGroup
				for i := range streams {
					wg.Add(1)
					go func() {
						defer wg.Done()
						j := &job{segs: []segment{{opts: streamOptions{Temperature: 1, Seed: uint64(i)}, n: n}}}
						if err := sc.submit(context.Background(), j); err != nil {
							b.Error(err)
							return
						}
						defer sc.release(j)
						for range j.out {
						}
					}()
				}
				wg.Wait()
			}
			b.ReportMetric(float64(b.N*streams*n)/b.Elapsed().Seconds(), "samples/s")
			// CPU time of the whole process: on a shared machine the wall
			// clock also counts other programs' turns.
			b.ReportMetric(float64(b.N*streams*n)/(processCPU()-cpu0), "cpu-samples/s")
		})
	}
}
