package detection

import (
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// WriteTable prints one row per class (ground truth, detections, true and
// false positives, AP; for COCO also AP50 and AP75) and the mean. A class
// without ground truth shows "-" for AP.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	coco := r.COCO != nil
	head := "class\tgt\tdets\ttp\tfp\tAP\t"
	if coco {
		head = "class\tgt\tdets\ttp@.5\tfp@.5\tAP\tAP50\tAP75\t"
	}
	fmt.Fprintln(tw, head)
	ap := func(v float64) string {
		if v < 0 {
			return "-"
		}
		return fmt.Sprintf("%.4f", v)
	}
	for _, c := range r.Classes {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t", c.Name, c.GT, c.Detections, c.TP, c.FP, ap(c.AP))
		if coco {
			fmt.Fprintf(tw, "%s\t%s\t", ap(*c.AP50), ap(*c.AP75))
		}
		fmt.Fprintln(tw)
	}
	name := fmt.Sprintf("mAP@%g (%s)", r.IoU, r.Metric)
	if coco {
		name = "mAP@[.50:.95] (coco)"
	}
	fmt.Fprintf(tw, "%s\t\t\t\t\t%.4f\t", name, r.MAP)
	if coco {
		fmt.Fprintf(tw, "%.4f\t%.4f\t", r.COCO.Stats[1], r.COCO.Stats[2])
	}
	fmt.Fprintln(tw)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("detection: write table: %w", err)
	}
	return nil
}

// WriteJSON writes r as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("detection: write json: %w", err)
	}
	return nil
}

// WritePRCurve draws c's precision-recall curve as a 16 x 12 cm PNG to w
// (VOC: the raw curve after each detection; COCO: interpolated precision at
// the 101 recall thresholds, IoU 0.5). It is an error when the class has no
// ground truth.
func WritePRCurve(w io.Writer, c ClassResult, metric string) error {
	if len(c.Recall) == 0 && c.GT == 0 {
		return fmt.Errorf("detection: class %q has no ground truth, so no precision-recall curve", c.Name)
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: AP %.4f (%s)", c.Name, c.AP, metric)
	p.X.Label.Text = "recall"
	p.Y.Label.Text = "precision"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1.02
	pts := make(plotter.XYs, 0, len(c.Recall)+1)
	if metric != MetricCOCO.String() && len(c.Recall) > 0 {
		pts = append(pts, plotter.XY{X: 0, Y: c.Precision[0]})
	}
	for i := range c.Recall {
		pts = append(pts, plotter.XY{X: c.Recall[i], Y: c.Precision[i]})
	}
	p.Add(plotter.NewGrid())
	if len(pts) > 0 {
		l, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("detection: plot %s: %w", c.Name, err)
		}
		p.Add(l)
		p.Legend.Add("precision", l)
		if metric != MetricCOCO.String() {
			// The interpolated precision (running maximum from the right)
			// whose area is the all-point AP.
			env := make(plotter.XYs, len(pts))
			copy(env, pts)
			for i := len(env) - 2; i >= 0; i-- {
				env[i].Y = max(env[i].Y, env[i+1].Y)
			}
			e, err := plotter.NewLine(env)
			if err != nil {
				return fmt.Errorf("detection: plot %s: %w", c.Name, err)
			}
			e.Color = color.RGBA{R: 200, A: 255}
			e.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(e)
			p.Legend.Add("interpolated", e)
		}
		p.Legend.Top = true
	}
	wt, err := p.WriterTo(16*vg.Centimeter, 12*vg.Centimeter, "png")
	if err != nil {
		return fmt.Errorf("detection: plot %s: %w", c.Name, err)
	}
	if _, err := wt.WriteTo(w); err != nil {
		return fmt.Errorf("detection: plot %s: %w", c.Name, err)
	}
	return nil
}
