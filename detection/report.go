package detection

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
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

// Curve returns c's precision-recall curve as it is drawn: for VOC the
// raw curve after each detection, starting at recall 0 with the first
// precision; for COCO the interpolated precision at the 101 recall
// thresholds, IoU 0.5. Interpolated reports whether the precision is
// already interpolated (COCO); a VOC curve is drawn with its running
// maximum from the right, whose area is the all-point AP. It is an error
// when the class has no ground truth.
// internal/plots.PRCurve draws it.
func (c ClassResult) Curve(metric string) (recall, precision []float64, interpolated bool, err error) {
	if len(c.Recall) == 0 && c.GT == 0 {
		return nil, nil, false, fmt.Errorf("detection: class %q has no ground truth, so no precision-recall curve", c.Name)
	}
	coco := metric == MetricCOCO.String()
	if !coco && len(c.Recall) > 0 {
		recall = append(recall, 0)
		precision = append(precision, c.Precision[0])
	}
	recall = append(recall, c.Recall...)
	precision = append(precision, c.Precision...)
	return recall, precision, coco, nil
}
