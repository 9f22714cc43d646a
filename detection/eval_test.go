package detection

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestObjectDetectionMetricsSample checks the published results of
// rafaelpadilla/Object-Detection-Metrics for its sample (testdata/odm, see
// its README.md): `python pascalvoc.py -t 0.3` prints AP 24.57% and the
// 24 precision/recall values of results/results.txt; the README's
// 11-point computation gives 26.84%.
func TestObjectDetectionMetricsSample(t *testing.T) {
	opt := TextOptions{Format: XYWH}
	ds, dets, err := ReadTextDirs(os.DirFS("testdata/odm/groundtruths"), os.DirFS("testdata/odm/detections"), opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Images) != 7 || len(ds.Objects) != 15 || len(dets) != 24 {
		t.Fatalf("ReadTextDirs: %d images, %d objects, %d detections, want 7, 15, 24", len(ds.Images), len(ds.Objects), len(dets))
	}
	// results/results.txt, rounded to 2 decimals there.
	wantP := []float64{1.00, 0.50, 0.67, 0.50, 0.40, 0.33, 0.29, 0.25, 0.22, 0.30, 0.27, 0.33, 0.38, 0.43, 0.40, 0.38, 0.35, 0.33, 0.32, 0.30, 0.29, 0.27, 0.30, 0.29}
	wantR := []float64{0.07, 0.07, 0.13, 0.13, 0.13, 0.13, 0.13, 0.13, 0.13, 0.20, 0.20, 0.27, 0.33, 0.40, 0.40, 0.40, 0.40, 0.40, 0.40, 0.40, 0.40, 0.40, 0.47, 0.47}
	for _, tc := range []struct {
		metric Metric
		want   float64 // percent, 2 decimals as published
	}{
		{MetricVOC, 24.57},   // results/results.txt "AP: 24.57%"
		{MetricVOC07, 26.84}, // README "AP = 26.84%"
	} {
		res, err := Evaluate(context.Background(), ds, dets, Params{Metric: tc.metric, IoU: 0.3})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Classes) != 1 {
			t.Fatalf("Evaluate(%v): %d classes, want 1", tc.metric, len(res.Classes))
		}
		c := res.Classes[0]
		if got := math.Round(c.AP*1e4) / 100; got != tc.want {
			t.Errorf("Evaluate(%v) AP = %.4f%%, want %.2f%%", tc.metric, c.AP*100, tc.want)
		}
		if got := math.Round(res.MAP*1e4) / 100; got != tc.want {
			t.Errorf("Evaluate(%v) mAP = %.4f%%, want %.2f%%", tc.metric, res.MAP*100, tc.want)
		}
		if c.GT != 15 || c.TP != 7 || c.FP != 17 {
			t.Errorf("Evaluate(%v) gt/tp/fp = %d/%d/%d, want 15/7/17", tc.metric, c.GT, c.TP, c.FP)
		}
		for i := range wantP {
			if math.Abs(c.Precision[i]-wantP[i]) > 0.005+1e-9 || math.Abs(c.Recall[i]-wantR[i]) > 0.005+1e-9 {
				t.Errorf("Evaluate(%v) point %d = (p %.4f, r %.4f), want (%.2f, %.2f) to 2 decimals", tc.metric, i, c.Precision[i], c.Recall[i], wantP[i], wantR[i])
			}
		}
	}
}

// The same sample in relative YOLO form (centre x, centre y, width,
// height as fractions of a 200x200 image), as the repository's
// groundtruths_rel/ and detections_rel/ hold it (e.g. groundtruths_rel/00001.txt
// "person 0.22 0.22 0.19 0.28" for "person 25 16 38 56"), written by the test:
// the published AP must not move.
func TestObjectDetectionMetricsRelative(t *testing.T) {
	dir := t.TempDir()
	for _, sub := range []string{"groundtruths", "detections"} {
		src := os.DirFS(filepath.Join("testdata/odm", sub))
		files, err := txtFiles(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			tbs, err := parseFile(src, f, f, sub == "detections", TextOptions{Format: XYWH})
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, tb := range tbs {
				c := tb.Box.In(CXCYWH)
				if sub == "detections" {
					fmt.Fprintf(&b, "%s %v %v %v %v %v\n", tb.Class, tb.Score, c[0]/200, c[1]/200, c[2]/200, c[3]/200)
				} else {
					fmt.Fprintf(&b, "%s %v %v %v %v\n", tb.Class, c[0]/200, c[1]/200, c[2]/200, c[3]/200)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, sub, f), []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	opt := TextOptions{Format: CXCYWH, Relative: true, ImageWidth: 200, ImageHeight: 200}
	ds, dets, err := ReadTextDirs(os.DirFS(filepath.Join(dir, "groundtruths")), os.DirFS(filepath.Join(dir, "detections")), opt)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Evaluate(context.Background(), ds, dets, Params{Metric: MetricVOC, IoU: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	if got := math.Round(res.MAP*1e4) / 100; got != 24.57 {
		t.Errorf("Evaluate(relative cxcywh) mAP = %.4f%%, want 24.57%%", res.MAP*100)
	}
}
