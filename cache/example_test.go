package cache_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/wavenet-go/wavenet/cache"
	"github.com/wavenet-go/wavenet/wavenet"
)

// A scheduler's loop: requests join between steps, every Step advances all
// of them by one sample, finished requests leave and free their slot.
func ExampleGenerator() {
	cfg, _ := wavenet.Preset("tiny")
	m, _ := wavenet.New(cfg, rand.New(rand.NewPCG(1, 2)))
	g := cache.New(m, 4)

	type request struct {
		slot  int
		want  int
		codes []int32
	}
	var running []*request
	for i, n := range []int{300, 500} {
		slot, err := g.Join(cache.StreamOptions{Temperature: 0.9, TopK: 50, Seed: uint64(i)})
		if err != nil {
			panic(err)
		}
		running = append(running, &request{slot: slot, want: n})
	}
	// A third request continues given audio (mu-law codes).
	seed := make([]int32, 1000)
	for i := range seed {
		seed[i] = int32(128 + i%7)
	}
	slot, _ := g.Join(cache.StreamOptions{Greedy: true})
	if err := g.Prime(context.Background(), slot, seed); err != nil {
		panic(err)
	}
	running = append(running, &request{slot: slot, want: 200})

	dst := make([]int32, g.MaxStreams())
	for g.Active() > 0 {
		dst = g.Step(dst)
		for _, r := range running {
			if len(r.codes) == r.want {
				continue
			}
			r.codes = append(r.codes, dst[r.slot])
			if len(r.codes) == r.want {
				g.Leave(r.slot)
			}
		}
	}
	for _, r := range running {
		fmt.Println(len(r.codes))
	}
	// Output:
	// 300
	// 500
	// 200
}
