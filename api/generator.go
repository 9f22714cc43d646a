package api

import (
	"context"

	"github.com/wavenet-go/wavenet/cache"
	"github.com/wavenet-go/wavenet/wavenet"
)

// cacheStepper adapts cache.Generator (Fast WaveNet queues, many streams
// per step) to the scheduler.
type cacheStepper struct{ g *cache.Generator }

// newCacheStepper returns a generator with slots streams; fastBatch is
// passed to cache.Generator.SetFastBatch, which no longer changes anything
// (every step uses the packed, batch-independent kernel).
func newCacheStepper(m *wavenet.Model, slots int, fastBatch bool) stepper {
	g := cache.New(m, slots)
	g.SetFastBatch(fastBatch)
	return cacheStepper{g}
}

func (c cacheStepper) join(o streamOptions) (int, error) {
	return c.g.Join(cache.StreamOptions{Cond: o.Cond, Temperature: o.Temperature, TopK: o.TopK, Seed: o.Seed, Greedy: o.Greedy})
}

func (c cacheStepper) leave(slot int) { c.g.Leave(slot) }

func (c cacheStepper) prime(slot int, codes []int32) error {
	return c.g.Prime(context.Background(), slot, codes)
}

func (c cacheStepper) step(dst []int32) []int32 { return c.g.Step(dst) }

// int8Stepper adapts cache.Int8Generator to the scheduler.
type int8Stepper struct{ g *cache.Int8Generator }

// newInt8CacheStepper returns an int8 generator with slots streams.
func newInt8CacheStepper(m *wavenet.Model, slots int) stepper {
	return int8Stepper{cache.NewInt8(m, slots)}
}

func (c int8Stepper) join(o streamOptions) (int, error) {
	return c.g.Join(cache.StreamOptions{Cond: o.Cond, Temperature: o.Temperature, TopK: o.TopK, Seed: o.Seed, Greedy: o.Greedy})
}

func (c int8Stepper) leave(slot int) { c.g.Leave(slot) }

func (c int8Stepper) prime(slot int, codes []int32) error {
	return c.g.Prime(context.Background(), slot, codes)
}

func (c int8Stepper) step(dst []int32) []int32 { return c.g.Step(dst) }
