package api

import (
	"context"

	"github.com/wavenet-go/wavenet/cache"
	"github.com/wavenet-go/wavenet/wavenet"
)

// cacheGenerator is what the scheduler needs of a cache generator:
// *cache.Generator and *cache.Int8Generator (whose Step runs the int8
// products) both have it.
type cacheGenerator interface {
	Join(cache.StreamOptions) (int, error)
	Leave(slot int)
	Prime(ctx context.Context, slot int, codes []int32) error
	Step(dst []int32) []int32
	GuideScore(slot int) float64
	MaxStreams() int
	Active() int
}

// cacheStepper adapts a cache generator (Fast WaveNet queues, many streams
// per step) to the scheduler.
type cacheStepper struct{ g cacheGenerator }

// newCacheStepper returns a generator with slots streams; fastBatch is
// passed to cache.Generator.SetFastBatch, which no longer changes anything
// (every step uses the packed, batch-independent kernel).
func newCacheStepper(m *wavenet.Model, slots int, fastBatch bool) stepper {
	g := cache.New(m, slots)
	g.SetFastBatch(fastBatch)
	return cacheStepper{g}
}

// newInt8CacheStepper returns an int8 generator with slots streams.
func newInt8CacheStepper(m *wavenet.Model, slots int) stepper {
	return cacheStepper{cache.NewInt8(m, slots)}
}

func (c cacheStepper) join(o streamOptions) (int, error) {
	return c.g.Join(cache.StreamOptions{Cond: o.Cond, Temperature: o.Temperature, TopK: o.TopK, Seed: o.Seed, Greedy: o.Greedy,
		Guidance: o.Guidance, GuideCond: o.GuideCond})
}

func (c cacheStepper) leave(slot int) { c.g.Leave(slot) }

func (c cacheStepper) score(slot int) float64 { return c.g.GuideScore(slot) }

func (c cacheStepper) free() int { return c.g.MaxStreams() - c.g.Active() }

func (c cacheStepper) prime(slot int, codes []int32) error {
	return c.g.Prime(context.Background(), slot, codes)
}

func (c cacheStepper) step(dst []int32) []int32 { return c.g.Step(dst) }
