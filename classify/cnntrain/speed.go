package cnntrain

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/wavenet-go/wavenet/classify"
)

// PredictCPU returns the mean CPU milliseconds of m.Predict on one second
// of a 300 Hz tone, timed for about d of wall time: the process's user
// and system time, which on a shared machine counts this work alone where
// the wall clock counts other processes' turns too (run it with
// GOMAXPROCS=1 for one core; Predict uses one goroutine).
func PredictCPU(ctx context.Context, m *classify.CNN, d time.Duration) (float64, error) {
	x := make([]float32, m.SampleRate())
	for i := range x {
		x[i] = float32(0.5 * math.Sin(2*math.Pi*300*float64(i)/float64(m.SampleRate())))
	}
	if _, err := m.Predict(x); err != nil {
		return 0, err
	}
	n, start, cpu := 0, time.Now(), processCPU()
	for time.Since(start) < d && ctx.Err() == nil {
		m.Predict(x)
		n++
	}
	used := processCPU() - cpu
	if used == 0 {
		return 0, errors.New("cnntrain: no CPU clock on this system")
	}
	return used.Seconds() * 1000 / float64(n), ctx.Err()
}
