package detection

import (
	"slices"
	"testing"
)

func TestClassResultCurve(t *testing.T) {
	c := ClassResult{Name: "cat", GT: 4, Recall: []float64{0.25, 0.5, 0.5}, Precision: []float64{1, 1, 0.67}}
	tests := []struct {
		metric            string
		recall, precision []float64
		interpolated      bool
	}{
		// VOC starts the raw curve at recall 0 with the first precision.
		{"voc07", []float64{0, 0.25, 0.5, 0.5}, []float64{1, 1, 1, 0.67}, false},
		{"voc", []float64{0, 0.25, 0.5, 0.5}, []float64{1, 1, 1, 0.67}, false},
		// COCO's curve is already interpolated at its recall thresholds.
		{MetricCOCO.String(), c.Recall, c.Precision, true},
	}
	for _, tt := range tests {
		r, p, interp, err := c.Curve(tt.metric)
		if err != nil || !slices.Equal(r, tt.recall) || !slices.Equal(p, tt.precision) || interp != tt.interpolated {
			t.Errorf("Curve(%q) = %v, %v, %v, %v; want %v, %v, %v, nil", tt.metric, r, p, interp, err, tt.recall, tt.precision, tt.interpolated)
		}
	}
	if _, _, _, err := (ClassResult{Name: "dog"}).Curve("voc"); err == nil {
		t.Error("Curve of a class without ground truth = nil error, want an error")
	}
}
