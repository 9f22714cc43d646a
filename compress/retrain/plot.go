package retrain

import (
	"fmt"
	"math"

	"github.com/wavenet-go/wavenet/internal/plots"
)

// writeChart writes c as a PNG at out, atomically.
func writeChart(out string, c plots.Chart) error {
	if err := plots.WriteFile(out, c.WritePNG); err != nil {
		return fmt.Errorf("retrain: plot: %w", err)
	}
	return nil
}

// PlotSparsity draws validation bits per sample against sparsity: right
// after each pruning round and after its fine-tuning, with the dense model
// at sparsity 0; oneShot (may be nil) adds one-shot pruning of the dense
// model without fine-tuning, and control (NaN for none) the dense model
// fine-tuned for the same steps, drawn as a flat line: fine-tuning an
// undertrained model also trains it further, and the control separates
// that from the cost of pruning.
func PlotSparsity(out string, dense float64, points, oneShot []SparsityPoint, control float64) error {
	pruned := plots.Series{Name: "iterative: pruned, before fine-tuning", X: []float64{0}, Y: []float64{dense}, Points: true}
	tuned := plots.Series{Name: "iterative: after fine-tuning (masks kept)", X: []float64{0}, Y: []float64{dense}, Points: true}
	for _, p := range points {
		pruned.X, pruned.Y = append(pruned.X, p.Sparsity), append(pruned.Y, p.Bits)
		tuned.X, tuned.Y = append(tuned.X, p.Sparsity), append(tuned.Y, p.Tuned)
	}
	series := []plots.Series{pruned, tuned}
	if len(oneShot) > 0 {
		s := plots.Series{Name: "one-shot, no fine-tuning", X: []float64{0}, Y: []float64{dense}, Points: true}
		for _, p := range oneShot {
			s.X, s.Y = append(s.X, p.Sparsity), append(s.Y, p.Bits)
		}
		series = append(series, s)
	}
	if !math.IsNaN(control) {
		last := 0.0
		for _, p := range append(points, oneShot...) {
			last = max(last, p.Sparsity)
		}
		series = append(series, plots.Series{Name: "dense, fine-tuned the same steps", X: []float64{0, last}, Y: []float64{control, control}, Points: true})
	}
	return writeChart(out, plots.Chart{
		Title: "WaveNet magnitude pruning", XLabel: "sparsity (fraction of zero weights)", YLabel: "validation bits per sample",
		Series: series, LegendLeft: true,
	})
}

// PlotCurves draws validation curves (bits per sample against step), one
// series per name in order.
func PlotCurves(out, title string, curves map[string][]Point, order []string) error {
	c := plots.Chart{Title: title, XLabel: "step", YLabel: "validation bits per sample"}
	for _, name := range order {
		s := plots.Series{Name: name, Points: true}
		for _, p := range curves[name] {
			s.X, s.Y = append(s.X, float64(p.Step)), append(s.Y, p.Bits)
		}
		c.Series = append(c.Series, s)
	}
	return writeChart(out, c)
}
