package cache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/wavenet-go/wavenet/wavenet"
)

func presetModel(b *testing.B, name string) *wavenet.Model {
	b.Helper()
	cfg, err := wavenet.Preset(name)
	if err != nil {
		b.Fatal(err)
	}
	return randomModel(b, cfg, 1)
}

func reportRate(b *testing.B, samples int) {
	rate := float64(samples) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "samples/s")
	// Real-time factor: seconds of audio generated per second, at 8 and
	// 16 kHz.
	b.ReportMetric(rate/8000, "rtf8k")
	b.ReportMetric(rate/16000, "rtf16k")
	b.ReportMetric(0, "ns/op") // per-step time hides the batch size; samples/s is the number
}

// BenchmarkStep measures generation (temperature 1, no top-k) with the
// queue cache: one op is one Step, advancing every stream by one sample.
// The default sub-benchmarks run the generator as New makes it (packed
// products); "rowmajor" runs the products on kernel.MatMulAddBatch, the
// generator's kernel before MatMulAddPacked, as a baseline in the same run;
// "f16" runs a generator from NewF16.
func BenchmarkStep(b *testing.B) {
	type variant int
	const (
		packed variant = iota
		rowMajor
		half // NewF16
	)
	var cases []struct {
		preset  string
		streams int
		v       variant
	}
	add := func(preset string, v variant, streams ...int) {
		for _, n := range streams {
			cases = append(cases, struct {
				preset  string
				streams int
				v       variant
			}{preset, n, v})
		}
	}
	add("small", packed, 1, 2, 4, 8, 16)
	add("small", rowMajor, 1, 2, 4, 8, 16)
	add("ibab", packed, 1, 16)
	add("ibab", rowMajor, 1, 16)
	add("ibab", half, 1, 16)
	add("small", half, 1, 16)
	for _, bc := range cases {
		name := fmt.Sprintf("%s/streams=%d", bc.preset, bc.streams)
		switch bc.v {
		case rowMajor:
			name += "/rowmajor"
		case half:
			name += "/f16"
		}
		b.Run(name, func(b *testing.B) {
			m := presetModel(b, bc.preset)
			var g *Generator
			switch bc.v {
			case half:
				g = NewF16(m, bc.streams)
			default:
				g = New(m, bc.streams)
			}
			g.rowMajor = bc.v == rowMajor
			for i := 0; i < bc.streams; i++ {
				if _, err := g.Join(StreamOptions{Temperature: 1, Seed: uint64(i)}); err != nil {
					b.Fatal(err)
				}
			}
			dst := make([]int32, bc.streams)
			g.Step(dst)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := threadCPU(b)
			for i := 0; i < b.N; i++ {
				dst = g.Step(dst)
			}
			reportRate(b, b.N*bc.streams)
			b.ReportMetric(float64(b.N*bc.streams)/cpu(), "cpu-samples/s")
		})
	}
}

// BenchmarkNaive measures the reference: one full forward pass over the
// last receptive field (2048 codes for small) per generated sample.
func BenchmarkNaive(b *testing.B) {
	m := presetModel(b, "small")
	rf := m.Config.ReceptiveField()
	nv := newNaive(m, StreamOptions{Temperature: 1, Seed: 1})
	nv.codes = randomCodes(rand.New(rand.NewPCG(1, 1)), rf, m.Config.QuantizationChannels)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := threadCPU(b)
	for i := 0; i < b.N; i++ {
		if _, _, err := nv.step(context.Background()); err != nil {
			b.Fatal(err)
		}
		nv.codes = nv.codes[1:] // keep the history at one receptive field
	}
	reportRate(b, b.N)
	b.ReportMetric(float64(b.N)/cpu(), "cpu-samples/s")
}

// BenchmarkPrime measures priming one stream with one second of audio
// (16000 codes; only the last receptive field is computed).
func BenchmarkPrime(b *testing.B) {
	m := presetModel(b, "small")
	codes := randomCodes(rand.New(rand.NewPCG(1, 1)), 16000, m.Config.QuantizationChannels)
	g := New(m, 1)
	b.ReportAllocs()
	cpu := threadCPU(b)
	defer func() { b.ReportMetric(cpu()*1e3/float64(b.N), "cpu-ms/op") }()
	for i := 0; i < b.N; i++ {
		s, _ := g.Join(StreamOptions{Greedy: true})
		if err := g.Prime(context.Background(), s, codes); err != nil {
			b.Fatal(err)
		}
		g.Leave(s)
	}
}

// BenchmarkGuided measures streams with a guide (StreamOptions.GuideCond:
// a second, hidden stream each) against plain streams, on the small preset
// with a digit condition that has a null row: "score" only scores the
// drawn codes (GuideScore, as speech's candidates do), "guidance" also
// mixes the logits. samples/s counts the caller's streams, not the guides.
func BenchmarkGuided(b *testing.B) {
	cfg, err := wavenet.Preset("small")
	if err != nil {
		b.Fatal(err)
	}
	cfg.Conditions = []wavenet.Condition{{Name: "digit", Values: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}, Null: true}}
	m := randomModel(b, cfg, 1)
	for _, streams := range []int{1, 5} {
		for _, mode := range []string{"plain", "score", "guidance"} {
			b.Run(fmt.Sprintf("streams=%d/%s", streams, mode), func(b *testing.B) {
				g := New(m, 2*streams)
				for i := range streams {
					o := StreamOptions{Cond: []int{i % 10}, Temperature: 1, Seed: uint64(i)}
					if mode != "plain" {
						o.GuideCond = []int{10}
					}
					if mode == "guidance" {
						o.Guidance = 1
					}
					if _, err := g.Join(o); err != nil {
						b.Fatal(err)
					}
				}
				dst := g.Step(nil)
				b.ReportAllocs()
				b.ResetTimer()
				cpu := threadCPU(b)
				for i := 0; i < b.N; i++ {
					dst = g.Step(dst)
				}
				reportRate(b, b.N*streams)
				b.ReportMetric(float64(b.N*streams)/cpu(), "cpu-samples/s")
			})
		}
	}
}
