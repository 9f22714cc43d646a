package api

import (
	"github.com/wavenet-go/wavenet/cache"
	"github.com/wavenet-go/wavenet/wavenet"
)

// cacheStepper adapts cache.Generator (Fast WaveNet queues, many streams
// per step) to the scheduler.
type cacheStepper struct{ g *cache.Generator }

// newCacheStepper returns a generator with slots streams; fastBatch turns
// on cache's panel kernel for steps of 8 or more streams (faster, but a
// stream's output then depends in its last bits on its batch: see
// cache.Generator.SetFastBatch).
func newCacheStepper(m *wavenet.Model, slots int, fastBatch bool) stepper {
	g := cache.New(m, slots)
	g.SetFastBatch(fastBatch)
	return cacheStepper{g}
}

func (c cacheStepper) join(o streamOptions) (int, error) {
	return c.g.Join(cache.StreamOptions{Cond: o.Cond, Temperature: o.Temperature, TopK: o.TopK, Seed: o.Seed, Greedy: o.Greedy})
}

func (c cacheStepper) leave(slot int) { c.g.Leave(slot) }

func (c cacheStepper) step(dst []int32) []int32 { return c.g.Step(dst) }
