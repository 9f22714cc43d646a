package rl

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Curve is one named series for PlotCurves.
type Curve struct {
	Name string
	Y    []float64
}

// PlotCurves writes a PNG of one or more curves against their index, with
// an optional moving average of window points drawn instead of the raw
// values when window > 1.
func PlotCurves(path, title, xLabel, yLabel string, curves []Curve, window int) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Add(plotter.NewGrid())
	for i, c := range curves {
		pts := make(plotter.XYs, len(c.Y))
		sum := 0.0
		for j, y := range c.Y {
			sum += y
			if window > 1 && j >= window {
				sum -= c.Y[j-window]
			}
			n := min(j+1, max(window, 1))
			pts[j].X = float64(j + 1)
			pts[j].Y = sum / float64(n)
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("rl: plot %s: %w", c.Name, err)
		}
		line.Color = palette[i%len(palette)]
		p.Add(line)
		p.Legend.Add(c.Name, line)
	}
	p.Legend.Top = true
	if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
		return fmt.Errorf("rl: save plot: %w", err)
	}
	return nil
}

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}
