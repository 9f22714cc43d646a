package rl

import (
	"fmt"

	"github.com/wavenet-go/wavenet/internal/plots"
)

// Curve is one named series for PlotCurves.
type Curve struct {
	Name string
	Y    []float64
}

// PlotCurves writes a PNG of one or more curves against their index (from
// 1) to path: with window > 1 the moving average of window points (over
// the points so far for the first window-1), with window <= 1 the running
// sum (the CLI's cumulative regret of a bandit).
func PlotCurves(path, title, xLabel, yLabel string, curves []Curve, window int) error {
	c := plots.Chart{Title: title, XLabel: xLabel, YLabel: yLabel}
	for _, cv := range curves {
		c.Series = append(c.Series, plots.Series{Name: cv.Name, Y: movingAverage(cv.Y, window)})
	}
	if err := plots.WriteFile(path, c.WritePNG); err != nil {
		return fmt.Errorf("rl: plot: %w", err)
	}
	return nil
}

// movingAverage returns the mean of the last window values of y at each
// index (of all values so far before the window fills); window <= 1 gives
// the running sum.
func movingAverage(y []float64, window int) []float64 {
	out := make([]float64, len(y))
	sum := 0.0
	for j, v := range y {
		sum += v
		if window > 1 && j >= window {
			sum -= y[j-window]
		}
		out[j] = sum / float64(min(j+1, max(window, 1)))
	}
	return out
}
