package train

import (
	"errors"
	"fmt"
	"image/color"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
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
	var trainXY, valXY plotter.XYs
	for _, m := range ms {
		trainXY = append(trainXY, plotter.XY{X: float64(m.Step), Y: m.Bits})
		if m.Val != nil {
			valXY = append(valXY, plotter.XY{X: float64(m.Step), Y: m.Val.Bits})
		}
	}
	p := plot.New()
	p.Title.Text = "WaveNet training"
	p.X.Label.Text = "step"
	p.Y.Label.Text = "bits per sample"
	tl, err := plotter.NewLine(trainXY)
	if err != nil {
		return fmt.Errorf("train: plot: %w", err)
	}
	tl.Color = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	p.Add(tl)
	p.Legend.Add("training (batch mean)", tl)
	if len(valXY) > 0 {
		vl, vp, err := plotter.NewLinePoints(valXY)
		if err != nil {
			return fmt.Errorf("train: plot: %w", err)
		}
		vl.Color = color.RGBA{R: 214, G: 39, B: 40, A: 255}
		vp.Color = vl.Color
		p.Add(vl, vp)
		p.Legend.Add("validation", vl, vp)
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	tmp := filepath.Join(filepath.Dir(out), ".tmp-"+filepath.Base(out))
	if err := p.Save(8*vg.Inch, 5*vg.Inch, tmp); err != nil {
		return fmt.Errorf("train: plot: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("train: plot: %w", err)
	}
	return nil
}
