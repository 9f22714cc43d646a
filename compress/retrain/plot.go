package retrain

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// palette colours the lines of a plot in turn.
var palette = []color.RGBA{
	{R: 31, G: 119, B: 180, A: 255}, {R: 214, G: 39, B: 40, A: 255},
	{R: 44, G: 160, B: 44, A: 255}, {R: 255, G: 127, B: 14, A: 255},
}

// Series is one line of a plot.
type Series struct {
	Name string
	XY   plotter.XYs
}

// PlotLines draws series (NaN points skipped) as a PNG at out, written to
// a temporary file first and renamed. The legend goes to the top left
// when legendLeft (curves that rise to the right), else the top right.
func PlotLines(out, title, xLabel, yLabel string, series []Series, legendLeft bool) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	for i, s := range series {
		var xy plotter.XYs
		for _, v := range s.XY {
			if !math.IsNaN(v.Y) && !math.IsInf(v.Y, 0) {
				xy = append(xy, v)
			}
		}
		if len(xy) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return fmt.Errorf("retrain: plot: %w", err)
		}
		l.Color = palette[i%len(palette)]
		pts.Color = l.Color
		p.Add(l, pts)
		p.Legend.Add(s.Name, l, pts)
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = legendLeft
	tmp := filepath.Join(filepath.Dir(out), ".tmp-"+filepath.Base(out))
	if err := p.Save(8*vg.Inch, 5*vg.Inch, tmp); err != nil {
		return fmt.Errorf("retrain: plot: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
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
	pruned := plotter.XYs{{X: 0, Y: dense}}
	tuned := plotter.XYs{{X: 0, Y: dense}}
	for _, p := range points {
		pruned = append(pruned, plotter.XY{X: p.Sparsity, Y: p.Bits})
		tuned = append(tuned, plotter.XY{X: p.Sparsity, Y: p.Tuned})
	}
	series := []Series{{"iterative: pruned, before fine-tuning", pruned}, {"iterative: after fine-tuning (masks kept)", tuned}}
	if len(oneShot) > 0 {
		xy := plotter.XYs{{X: 0, Y: dense}}
		for _, p := range oneShot {
			xy = append(xy, plotter.XY{X: p.Sparsity, Y: p.Bits})
		}
		series = append(series, Series{"one-shot, no fine-tuning", xy})
	}
	if !math.IsNaN(control) {
		last := 0.0
		for _, p := range append(points, oneShot...) {
			last = max(last, p.Sparsity)
		}
		series = append(series, Series{"dense, fine-tuned the same steps", plotter.XYs{{X: 0, Y: control}, {X: last, Y: control}}})
	}
	return PlotLines(out, "WaveNet magnitude pruning", "sparsity (fraction of zero weights)", "validation bits per sample", series, true)
}

// PlotCurves draws validation curves (bits per sample against step).
func PlotCurves(out, title string, curves map[string][]Point, order []string) error {
	var series []Series
	for _, name := range order {
		var xy plotter.XYs
		for _, p := range curves[name] {
			xy = append(xy, plotter.XY{X: float64(p.Step), Y: p.Bits})
		}
		series = append(series, Series{name, xy})
	}
	return PlotLines(out, title, "step", "validation bits per sample", series, false)
}
