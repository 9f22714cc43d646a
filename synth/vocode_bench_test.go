package synth

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/audio"
	"github.com/wavenet-go/wavenet/models"
	"github.com/wavenet-go/wavenet/wavenet"
)

// benchVocoders returns the embedded vocoder at its rate (8 kHz) and a
// model of the same architecture at 22.05 kHz (mel parameters
// audio.DefaultMelParams(22050) with the vocoder's n_mels, hop 256 = 4^4;
// random weights: the speed does not depend on them), then both with
// repeat-conv2d upsampling of frequency width 3 instead (initial weights).
func benchVocoders(b *testing.B) []*wavenet.Model {
	if !models.Has(models.VocoderID) {
		b.Skip("no vocoder embedded")
	}
	m, err := wavenet.LoadFS(models.FS(), models.VocoderID)
	if err != nil {
		b.Fatal(err)
	}
	cfg := m.Config
	lc := *cfg.Local
	mp := audio.DefaultMelParams(22050)
	mp.NMels = lc.Channels
	lc.Mel, lc.Hop, lc.Scales = &mp, mp.HopLength, []int{4, 4, 4, 4}
	cfg.SampleRate, cfg.Local = 22050, &lc
	m22, err := wavenet.New(cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		b.Fatal(err)
	}
	ms := []*wavenet.Model{m, m22}
	for _, t := range ms[:2] {
		cfg := t.Config
		lc := *cfg.Local
		lc.Net, lc.FreqWidth = wavenet.UpsampleRepeatConv2D, 3
		cfg.Local = &lc
		r, err := wavenet.New(cfg, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			b.Fatal(err)
		}
		ms = append(ms, r)
	}
	return ms
}

// benchName names a benchmark of vocoder m by its rate, and its
// upsampling network unless transposed (the names of the first runs).
func benchName(m *wavenet.Model) string {
	if lc := m.Config.Local; lc.RepeatConv() {
		return fmt.Sprintf("rate=%d/net=%s", m.Config.SampleRate, lc.Net)
	}
	return fmt.Sprintf("rate=%d", m.Config.SampleRate)
}

// benchMels returns n frames of c log-mel values around log(0.02).
func benchMels(n, c int) [][]float32 {
	rng := rand.New(rand.NewPCG(2, 2))
	f := make([][]float32, n)
	for i := range f {
		f[i] = make([]float32, c)
		for k := range f[i] {
			f[i][k] = float32(rng.NormFloat64() - 4)
		}
	}
	return f
}

// BenchmarkVocode is issue 16's speed bar: one vocoding request (2 s of
// mel frames) on an engine with one stream and one worker, as `wavenet
// vocode` runs one input. Run with GOMAXPROCS=1 for one core:
//
//	GOMAXPROCS=1 go test ./synth -run '^$' -bench Vocode -count 5
//
// rtf is samples/s over the model's rate (times faster than real time).
func BenchmarkVocode(b *testing.B) {
	for _, m := range benchVocoders(b) {
		rate := m.Config.SampleRate
		b.Run(benchName(m), func(b *testing.B) {
			e, err := New(map[string]*Bundle{"v": {Model: m}}, Options{MaxStreams: 1, Workers: 1, Logger: quietLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			mels := benchMels(2*rate/m.Config.Local.Hop, m.Config.Local.Channels)
			n := 0
			b.ResetTimer()
			for i := range b.N {
				seed := uint64(i)
				s, err := e.Start(context.Background(), &Request{Mels: mels, Seed: &seed, Format: audio.EncodingPCM16})
				if err != nil {
					b.Fatal(err)
				}
				x, err := s.Audio()
				s.Close()
				if err != nil {
					b.Fatal(err)
				}
				n += len(x)
			}
			sps := float64(n) / b.Elapsed().Seconds()
			b.ReportMetric(sps, "samples/s")
			b.ReportMetric(sps/float64(rate), "rtf")
		})
	}
}

// firstAudio is an io.Writer that closes first when the first bytes of
// audio arrive (raw PCM: no header).
type firstAudio struct {
	first chan struct{}
	seen  bool
}

func (w *firstAudio) Write(p []byte) (int, error) {
	if len(p) > 0 && !w.seen {
		w.seen = true
		close(w.first)
	}
	return len(p), nil
}

// BenchmarkVocodeFirstAudio measures the latency bar: from a streamed
// vocoding request's Start (frames arriving on Request.MelStream, the
// first 8 sent before it, the rest as the generator takes them) to its
// first audio (raw 16-bit PCM), with the engine's default chunk (1/10
// s of audio). ms/first is the median of the iterations' latencies.
func BenchmarkVocodeFirstAudio(b *testing.B) {
	for _, m := range benchVocoders(b) {
		rate := m.Config.SampleRate
		b.Run(benchName(m), func(b *testing.B) {
			e, err := New(map[string]*Bundle{"v": {Model: m}}, Options{MaxStreams: 1, Workers: 1, Logger: quietLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			mels := benchMels(rate/m.Config.Local.Hop, m.Config.Local.Channels) // 1 s
			var lat []time.Duration
			for range b.N {
				ch := make(chan [][]float32, len(mels))
				for _, f := range mels[:8] {
					ch <- [][]float32{f}
				}
				w := &firstAudio{first: make(chan struct{})}
				t0 := time.Now()
				s, err := e.Start(context.Background(), &Request{MelStream: ch, Format: audio.EncodingPCM16})
				if err != nil {
					b.Fatal(err)
				}
				done := make(chan error, 1)
				go func() {
					_, err := s.Stream(w, nil)
					done <- err
				}()
				go func() {
					for _, f := range mels[8:] {
						ch <- [][]float32{f}
					}
					close(ch)
				}()
				<-w.first
				lat = append(lat, time.Since(t0))
				if err := <-done; err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms/first")
		})
	}
}
