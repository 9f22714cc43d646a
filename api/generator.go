package api

import (
	"github.com/wavenet-go/wavenet/cache"
	"github.com/wavenet-go/wavenet/wavenet"
)

// cacheStepper adapts cache.Generator (Fast WaveNet queues, many streams
// per step) to the scheduler.
type cacheStepper struct{ g *cache.Generator }

func newCacheStepper(m *wavenet.Model, slots int) stepper {
	return cacheStepper{cache.New(m, slots)}
}

func (c cacheStepper) join(o streamOptions) (int, error) {
	return c.g.Join(cache.StreamOptions{Cond: o.Cond, Temperature: o.Temperature, TopK: o.TopK, Seed: o.Seed, Greedy: o.Greedy})
}

func (c cacheStepper) leave(slot int) { c.g.Leave(slot) }

func (c cacheStepper) step(dst []int32) []int32 { return c.g.Step(dst) }
