package compress

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/wavenet-go/wavenet/cache"
	"github.com/wavenet-go/wavenet/wavenet"
)

// Speed is a generation speed measurement.
type Speed struct {
	Streams int
	Int8    bool    // the int8 generator (cache.Int8Generator) rather than float32
	Samples int     // samples generated, all streams together
	PerSec  float64 // samples per wall-clock second
	// PerCPUSec is samples per CPU second of the generating thread (where
	// the OS reports it; else equal to PerSec): on a shared machine the
	// steadier number.
	PerCPUSec float64
}

// MeasureSpeed steps streams streams of m together (temperature 1, the
// first value of every condition) for about d and reports the rate. With
// int8 it uses cache.NewInt8, else cache.New. A vocoder's streams get
// mel frames (values around log(0.02)) pushed one at a time as they
// need them, so the rate includes the upsampling, as vocoding's does.
func MeasureSpeed(ctx context.Context, m *wavenet.Model, int8 bool, streams int, d time.Duration) (Speed, error) {
	if m == nil {
		return Speed{}, errNoModel
	}
	if err := m.CheckShapes(); err != nil {
		return Speed{}, fmt.Errorf("compress: speed: %w", err)
	}
	if streams < 1 {
		return Speed{}, fmt.Errorf("compress: speed: %d streams, want at least 1", streams)
	}
	type gen interface {
		Join(cache.StreamOptions) (int, error)
		Step([]int32) []int32
		PushLocal(int, []float32) error
		Buffered(int) int
	}
	var g gen
	if int8 {
		g = cache.NewInt8(m, streams)
	} else {
		g = cache.New(m, streams)
	}
	cond := make([]int, len(m.Config.Conditions))
	for i := 0; i < streams; i++ {
		if _, err := g.Join(cache.StreamOptions{Cond: cond, Temperature: 1, Seed: uint64(i)}); err != nil {
			return Speed{}, fmt.Errorf("compress: speed: %w", err)
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var frame []float32
	if lc := m.Config.Local; lc != nil {
		frame = make([]float32, lc.Channels)
		for i := range frame {
			frame[i] = float32(math.Log(0.02))
		}
	}
	step := func(dst []int32) ([]int32, error) {
		for slot := 0; frame != nil && slot < streams; slot++ {
			if g.Buffered(slot) == 0 {
				if err := g.PushLocal(slot, frame); err != nil {
					return dst, fmt.Errorf("compress: speed: %w", err)
				}
			}
		}
		return g.Step(dst), nil
	}
	dst, err := step(nil) // warm up
	if err != nil {
		return Speed{}, err
	}
	cpu0 := threadCPU()
	start := time.Now()
	steps := 0
	for time.Since(start) < d || steps < 10 {
		if err := ctx.Err(); err != nil {
			return Speed{}, err
		}
		for i := 0; i < 64; i++ {
			if dst, err = step(dst); err != nil {
				return Speed{}, err
			}
		}
		steps += 64
	}
	wall := time.Since(start).Seconds()
	s := Speed{Streams: streams, Int8: int8, Samples: steps * streams}
	s.PerSec = float64(s.Samples) / wall
	s.PerCPUSec = s.PerSec
	if cpu := threadCPU() - cpu0; cpu > 0 {
		s.PerCPUSec = float64(s.Samples) / cpu.Seconds()
	}
	return s, nil
}
