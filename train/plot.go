package train

import (
	"errors"
	"fmt"

	"github.com/wavenet-go/wavenet/internal/plots"
)

// PlotCurves draws the training loss and the validation bits per sample of
// a metrics.jsonl file against the step, as a PNG written atomically to
// out (temporary file, then rename).
func PlotCurves(metricsPath, out string) error {
	ms, err := readMetrics(metricsPath)
	if err != nil {
		return fmt.Errorf("train: plot: %w", err)
	}
	if len(ms) == 0 {
		return errors.New("train: plot: no metrics yet")
	}
	train := plots.Series{Name: "training (batch mean)"}
	val := plots.Series{Name: "validation", Points: true}
	for _, m := range ms {
		train.X = append(train.X, float64(m.Step))
		train.Y = append(train.Y, m.Bits)
		if m.Val != nil {
			val.X = append(val.X, float64(m.Step))
			val.Y = append(val.Y, m.Val.Bits)
		}
	}
	c := plots.Chart{
		Title: "WaveNet training", XLabel: "step", YLabel: "bits per sample",
		Series: []plots.Series{train, val},
	}
	if err := plots.WriteFile(out, c.WritePNG); err != nil {
		return fmt.Errorf("train: plot: %w", err)
	}
	return nil
}
