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
// a temporary file first and renamed.
func PlotLines(out, title, xLabel, yLabel string, series []Series) error {
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
// after pruning and after fine-tuning, with the dense model at sparsity 0.
func PlotSparsity(out string, dense float64, points []SparsityPoint) error {
	pruned := plotter.XYs{{X: 0, Y: dense}}
	tuned := plotter.XYs{{X: 0, Y: dense}}
	for _, p := range points {
		pruned = append(pruned, plotter.XY{X: p.Sparsity, Y: p.Bits})
		tuned = append(tuned, plotter.XY{X: p.Sparsity, Y: p.Tuned})
	}
	return PlotLines(out, "WaveNet magnitude pruning", "sparsity (fraction of zero weights)", "validation bits per sample",
		[]Series{{"pruned, before fine-tuning", pruned}, {"after fine-tuning (masks kept)", tuned}})
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
	return PlotLines(out, title, "step", "validation bits per sample", series)
}
