package speech_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/wavenet-go/wavenet/cache"
	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/wavenet"
)

// A scheduler that owns a shared generator drives one Utterance per
// stream: it pushes every code the stream draws, and the stream leaves
// when Push reports the end.
func ExampleUtterance() {
	cfg := wavenet.Config{FilterWidth: 2, SampleRate: 8000, Dilations: []int{1, 2, 4, 8},
		ResidualChannels: 16, DilationChannels: 16, SkipChannels: 16, QuantizationChannels: 256,
		Conditions: []wavenet.Condition{
			{Name: "speaker", Values: []string{"alice", "bob"}},
			{Name: "digit", Values: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}},
		}}
	m, _ := wavenet.New(cfg, rand.New(rand.NewPCG(1, 1)))
	var stats *speech.Stats // speech.LoadStats(dir) for a trained model

	items, err := speech.Items(cfg, "4 2", map[string]string{"speaker": "bob"})
	if err != nil {
		fmt.Println(err)
		return
	}
	g := cache.New(m, len(items))
	utts := map[int]*speech.Utterance{}
	for i, it := range items {
		slot, _ := g.Join(cache.StreamOptions{Cond: it.Cond, Temperature: 1, Seed: 1 + uint64(i)})
		_ = g.Prime(context.Background(), slot, speech.PrimeCodes(cfg))
		d, _ := stats.Lookup(cfg, it.Cond)
		utts[slot] = speech.NewUtterance(cfg.QuantizationChannels, cfg.SampleRate, d, speech.Options{})
	}
	var codes []int32
	for g.Active() > 0 {
		codes = g.Step(codes)
		for slot, u := range utts {
			if !u.Done() && u.Push(codes[slot]) {
				g.Leave(slot)
			}
		}
	}
	for slot := range len(items) {
		u := utts[slot]
		start, end := u.Trimmed()
		fmt.Printf("%s: kept %d of %d samples: %v\n", items[slot].Label, end-start, u.Len(), end-start <= u.Len())
	}
	// This random model makes loud noise, so both streams run to the cap of
	// the default durations: max(1.3 x 0.6 s, 0.4 s + 0.3 s) = 0.78 s.

	// Output:
	// 4: kept 6240 of 6240 samples: true
	// 2: kept 6240 of 6240 samples: true
}
