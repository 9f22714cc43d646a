package dist

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/train"
	"github.com/wavenet-go/wavenet/wavenet"
)

// BenchmarkAverage averages a gradient of the small preset's size over 2
// and 3 ranks over NATS, by algorithm and codec, and reports the bytes
// all ranks send per average.
func BenchmarkAverage(b *testing.B) {
	m := smallModel(b)
	n := m.NumParams() + 1
	s, err := Serve("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, world := range []int{2, 3} {
		for _, alg := range []Algorithm{Reduce, Ring} {
			for _, codec := range []Codec{F32, BF16, Int8} {
				b.Run(fmt.Sprintf("world=%d/%s/%s", world, alg, codec), func(b *testing.B) {
					nets := dialAll(b, s.URL(), world, NATSOptions{Subject: fmt.Sprint("bench.", world, alg, codec)})
					reds := make([]*reducer, world)
					xs := make([][]float32, world)
					for r := range world {
						reds[r] = newReducer(nets[r], alg, codec, n, time.Minute)
						xs[r] = randVec(uint64(r), n)
					}
					b.ReportAllocs()
					b.ResetTimer()
					for i := range b.N {
						var wg sync.WaitGroup
						for r := range world {
							wg.Go(func() {
								if err := reds[r].average(context.Background(), int64(i), xs[r]); err != nil {
									b.Error(err)
								}
							})
						}
						wg.Wait()
					}
					var sent int64
					for _, t := range nets {
						sent += t.Sent()
					}
					b.ReportMetric(float64(sent)/float64(b.N), "bytes/average")
				})
			}
		}
	}
}

// smallModel is a new model of the small preset.
func smallModel(b *testing.B) *wavenet.Model {
	cfg, err := wavenet.Preset("small")
	if err != nil {
		b.Fatal(err)
	}
	m, err := train.NewModel(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	return m
}
