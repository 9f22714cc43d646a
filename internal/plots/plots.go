package plots

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Palette colours the series of a Chart in turn (matplotlib's tab10:
// blue, red, green, orange, purple).
var Palette = []color.Color{
	color.RGBA{R: 31, G: 119, B: 180, A: 255},
	color.RGBA{R: 214, G: 39, B: 40, A: 255},
	color.RGBA{R: 44, G: 160, B: 44, A: 255},
	color.RGBA{R: 255, G: 127, B: 14, A: 255},
	color.RGBA{R: 148, G: 103, B: 189, A: 255},
}

// Series is one named line of a Chart.
type Series struct {
	Name string
	// X and Y are the points; X nil means 1, 2, ..., len(Y). Points whose
	// Y is NaN or infinite are left out.
	X, Y []float64
	// Points marks each point as well as joining them.
	Points bool
	// Dashed draws the line dashed (4 pt on, 3 pt off).
	Dashed bool
	// Color is the line's colour; nil takes Palette[i % len(Palette)] for
	// the i-th series.
	Color color.Color
}

// Chart is a line chart with a grid and a legend at the top.
type Chart struct {
	Title, XLabel, YLabel string
	Series                []Series
	// Width and Height are in inches; zero means 8 x 5.
	Width, Height float64
	// XRange and YRange fix an axis to [min, max]; the zero value fits the
	// axis to the data.
	XRange, YRange [2]float64
	// LegendLeft puts the legend at the top left (for curves that rise to
	// the right) instead of the top right.
	LegendLeft bool
}

// WritePNG draws c as a PNG to w. A series with no finite point is left
// out; it is an error when X and Y differ in length.
func (c Chart) WritePNG(w io.Writer) error {
	p := plot.New()
	p.Title.Text = c.Title
	p.X.Label.Text = c.XLabel
	p.Y.Label.Text = c.YLabel
	if c.XRange != [2]float64{} {
		p.X.Min, p.X.Max = c.XRange[0], c.XRange[1]
	}
	if c.YRange != [2]float64{} {
		p.Y.Min, p.Y.Max = c.YRange[0], c.YRange[1]
	}
	p.Add(plotter.NewGrid())
	for i, s := range c.Series {
		if s.X != nil && len(s.X) != len(s.Y) {
			return fmt.Errorf("plots: series %q has %d x and %d y values", s.Name, len(s.X), len(s.Y))
		}
		xy := make(plotter.XYs, 0, len(s.Y))
		for j, y := range s.Y {
			x := float64(j + 1)
			if s.X != nil {
				x = s.X[j]
			}
			if !math.IsNaN(y) && !math.IsInf(y, 0) {
				xy = append(xy, plotter.XY{X: x, Y: y})
			}
		}
		if len(xy) == 0 {
			continue
		}
		col := s.Color
		if col == nil {
			col = Palette[i%len(Palette)]
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return fmt.Errorf("plots: series %q: %w", s.Name, err)
		}
		l.Color = col
		if s.Dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l)
		if !s.Points {
			p.Legend.Add(s.Name, l)
			continue
		}
		pts, err := plotter.NewScatter(xy)
		if err != nil {
			return fmt.Errorf("plots: series %q: %w", s.Name, err)
		}
		pts.Color = col
		p.Add(pts)
		p.Legend.Add(s.Name, l, pts)
	}
	p.Legend.Top = true
	p.Legend.Left = c.LegendLeft
	width, height := c.Width, c.Height
	if width == 0 || height == 0 {
		width, height = 8, 5
	}
	wt, err := p.WriterTo(vg.Length(width)*vg.Inch, vg.Length(height)*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	if _, err := wt.WriteTo(w); err != nil {
		return fmt.Errorf("plots: write png: %w", err)
	}
	return nil
}

// WriteFile writes a figure to the file name through write, atomically: to
// a temporary file in the same directory, renamed into place, so a viewer
// refreshing the file never sees half of it.
func WriteFile(name string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(name), ".tmp-"+filepath.Base(name)+"-*")
	if err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	return nil
}

// PRCurve draws a precision-recall curve as a 16 x 12 cm PNG to w, both
// axes fixed to [0, 1] (precision to 1.02, so a precision of 1 stays
// visible). With envelope it also draws, dashed, the interpolated
// precision (the running maximum from the right) whose area is the
// all-point average precision of VOC.
func PRCurve(w io.Writer, title string, recall, precision []float64, envelope bool) error {
	if len(recall) != len(precision) {
		return fmt.Errorf("plots: precision-recall curve has %d recall and %d precision values", len(recall), len(precision))
	}
	c := Chart{
		Title: title, XLabel: "recall", YLabel: "precision",
		Width: 16 / 2.54, Height: 12 / 2.54,
		XRange: [2]float64{0, 1}, YRange: [2]float64{0, 1.02},
	}
	if len(recall) > 0 {
		c.Series = append(c.Series, Series{Name: "precision", X: recall, Y: precision, Color: color.Black})
		if envelope {
			env := append([]float64(nil), precision...)
			for i := len(env) - 2; i >= 0; i-- {
				env[i] = max(env[i], env[i+1])
			}
			c.Series = append(c.Series, Series{Name: "interpolated", X: recall, Y: env, Dashed: true, Color: color.RGBA{R: 200, A: 255}})
		}
	}
	return c.WritePNG(w)
}
