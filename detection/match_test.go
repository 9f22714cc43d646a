package detection

import (
	"context"
	"math"
	"testing"
)

// tiny builds a data set with one category (id 1) and images 1..nImg.
func tiny(nImg int, objs ...Object) *Dataset {
	ds := &Dataset{Categories: []Category{{ID: 1, Name: "thing"}}}
	for i := 1; i <= nImg; i++ {
		ds.Images = append(ds.Images, Image{ID: int64(i)})
	}
	for i, o := range objs {
		if o.ID == 0 {
			o.ID = int64(i + 1)
		}
		if o.CategoryID == 0 {
			o.CategoryID = 1
		}
		if o.Area == 0 {
			o.Area = o.Box.Area()
		}
		ds.Objects = append(ds.Objects, o)
	}
	return ds
}

func det(img int64, score float64, b Box) Detection {
	return Detection{ImageID: img, CategoryID: 1, Box: b, Score: score}
}

func evalAP(t *testing.T, ds *Dataset, dets []Detection, p Params) *Result {
	t.Helper()
	res, err := Evaluate(context.Background(), ds, dets, p)
	if err != nil {
		t.Fatalf("Evaluate(%v): %v", p.Metric, err)
	}
	return res
}

// Hand-computed matching cases. AP tolerance 1e-12: float64 rounding.
func TestMatchingRules(t *testing.T) {
	sq := Box{0, 0, 10, 10}
	miss := Box{50, 50, 60, 60}
	// Two overlapping ground-truth boxes A and B; a detection D2 whose best
	// IoU is with A (95/105 = .905) but which also overlaps B above 0.5
	// (85/115 = .739).
	a, b := Box{0, 0, 10, 10}, Box{2, 0, 12, 10}
	d2 := Box{0.5, 0, 10.5, 10}
	tests := []struct {
		name   string
		ds     *Dataset
		dets   []Detection
		p      Params
		ap     float64
		tp, fp int
	}{
		// Equal scores keep input order. FP then TP, 1 gt: recall 0, 1,
		// precision 0, .5: all-point AP .5.
		{"tie FP first", tiny(1, Object{ImageID: 1, Box: sq}),
			[]Detection{det(1, 0.9, miss), det(1, 0.9, sq)}, Params{Metric: MetricVOC}, 0.5, 1, 1},
		// TP then FP: precision 1 at recall 1: AP 1.
		{"tie TP first", tiny(1, Object{ImageID: 1, Box: sq}),
			[]Detection{det(1, 0.9, sq), det(1, 0.9, miss)}, Params{Metric: MetricVOC}, 1, 1, 1},
		// VOC: the second detection's best ground truth (A) is taken, so it
		// is a duplicate FP even though B is free and above 0.5: TP FP
		// with 2 gt: recall .5 .5, precision 1 .5: AP .5.
		{"voc duplicate", tiny(1, Object{ImageID: 1, Box: a}, Object{ImageID: 1, Box: b}),
			[]Detection{det(1, 0.9, a), det(1, 0.8, d2)}, Params{Metric: MetricVOC, ContinuousIoU: true}, 0.5, 1, 1},
		// Difficult ground truth: a detection on it is neither TP nor FP
		// and the object does not count: 1 gt, TP: AP 1.
		{"voc difficult", tiny(1, Object{ImageID: 1, Box: sq}, Object{ImageID: 1, Box: miss, Difficult: true}),
			[]Detection{det(1, 0.9, miss), det(1, 0.8, sq)}, Params{Metric: MetricVOC}, 1, 1, 0},
		// Integer pixels: IoU((0,0,9,9), (0,0,4,9)) is .5 in pixels
		// (TP at 0.5) but 36/81 continuous (FP).
		{"voc pixel", tiny(1, Object{ImageID: 1, Box: Box{0, 0, 9, 9}}),
			[]Detection{det(1, 0.9, Box{0, 0, 4, 9})}, Params{Metric: MetricVOC}, 1, 1, 0},
		{"voc continuous", tiny(1, Object{ImageID: 1, Box: Box{0, 0, 9, 9}}),
			[]Detection{det(1, 0.9, Box{0, 0, 4, 9})}, Params{Metric: MetricVOC, ContinuousIoU: true}, 0, 0, 1},
	}
	for _, tc := range tests {
		res := evalAP(t, tc.ds, tc.dets, tc.p)
		c := res.Classes[0]
		if math.Abs(c.AP-tc.ap) > 1e-12 || c.TP != tc.tp || c.FP != tc.fp {
			t.Errorf("%s: Evaluate AP, TP, FP = %v, %d, %d, want %v, %d, %d", tc.name, c.AP, c.TP, c.FP, tc.ap, tc.tp, tc.fp)
		}
	}
}

// COCO: hand-computed cases for the rules of pycocotools' evaluateImg and
// accumulate.
func TestCOCORules(t *testing.T) {
	sq := Box{0, 0, 10, 10} // area 100: "small" (< 32^2)
	miss := Box{200, 200, 210, 210}
	a, b := Box{0, 0, 10, 10}, Box{2, 0, 12, 10}
	d2 := Box{0.5, 0, 10.5, 10} // IoU with A 95/105 = .905, with B 85/115 = .739
	const n = -1.0              // pycocotools' "absent"
	tests := []struct {
		name  string
		ds    *Dataset
		dets  []Detection
		stats [12]float64
	}{
		// A perfect detection of a small object: AP and AR 1 in all and
		// small, -1 for medium and large (no ground truth there).
		{"perfect", tiny(1, Object{ImageID: 1, Box: sq}), []Detection{det(1, 1, sq)},
			[12]float64{1, 1, 1, 1, n, n, 1, 1, 1, 1, n, n}},
		// maxDets: the top detection is a FP, the second the TP. AR@1 = 0,
		// AR@10 = 1. AP: recall 0, 1 precision 0, .5, envelope .5: AP .5
		// at every IoU threshold.
		{"maxdets", tiny(1, Object{ImageID: 1, Box: sq}), []Detection{det(1, 0.9, miss), det(1, 0.8, sq)},
			[12]float64{0.5, 0.5, 0.5, 0.5, n, n, 0, 1, 1, 1, n, n}},
		// Crowd region: detections inside it match it (intersection over
		// detection area = 1) and are ignored, so AP stays 1; the crowd
		// object itself never counts as ground truth. AR@1 is 0: the top
		// detection of the image is the ignored one.
		{"crowd", tiny(1, Object{ImageID: 1, Box: sq}, Object{ImageID: 1, Box: Box{100, 100, 400, 400}, Crowd: true}),
			[]Detection{det(1, 0.9, Box{150, 150, 160, 160}), det(1, 0.8, sq), det(1, 0.7, Box{300, 300, 350, 350})},
			[12]float64{1, 1, 1, 1, n, n, 0, 1, 1, 1, n, n}},
		// COCO matches to the best *unmatched* ground truth: D2 gets B
		// when A is taken, while VOC would call it a duplicate. IoU(D2, B)
		// = 85/115 = .739: TP at thresholds .50...70 (5 of 10), FP above.
		// Per threshold AP 1 (TP TP) or .5 (TP FP with 2 gt: recall .5, then
		// .5; envelope 1 up to .5, 0 after: 51/101): mean (5*1 + 5*51/101)/10.
		// AR: (5*1 + 5*.5)/10 = .75.
		{"coco greedy", tiny(1, Object{ImageID: 1, Box: a}, Object{ImageID: 1, Box: b}),
			[]Detection{det(1, 0.9, a), det(1, 0.8, d2)},
			[12]float64{(5 + 5*51.0/101) / 10, 1, 51.0 / 101, (5 + 5*51.0/101) / 10, n, n, 0.5, 0.75, 0.75, 0.75, n, n}},
		// Ties across images keep image-id order: equal scores, image 1's
		// detection is a FP, image 2's a TP; 2 gt. Recall 0, .5; precision
		// 0, .5: 51 thresholds read .5: AP 25.5/101.
		{"tie image order", tiny(2, Object{ImageID: 1, Box: sq}, Object{ImageID: 2, Box: sq}),
			[]Detection{det(2, 0.5, sq), det(1, 0.5, miss)},
			[12]float64{25.5 / 101, 25.5 / 101, 25.5 / 101, 25.5 / 101, n, n, 0.5, 0.5, 0.5, 0.5, n, n}},
		// Area ranges use the object's area field: the same box with area
		// 5000 (medium: 32^2 < 5000 < 96^2) moves to medium; the detection
		// (area 100, small) matches it, so it is not ignored in medium.
		{"area field", tiny(1, Object{ImageID: 1, Box: sq, Area: 5000}), []Detection{det(1, 1, sq)},
			[12]float64{1, 1, 1, n, 1, n, 1, 1, 1, n, 1, n}},
	}
	for _, tc := range tests {
		res := evalAP(t, tc.ds, tc.dets, Params{Metric: MetricCOCO})
		for i, want := range tc.stats {
			if got := res.COCO.Stats[i]; math.Abs(got-want) > 1e-12 {
				t.Errorf("%s: Stats[%s] = %v, want %v", tc.name, StatNames[i], got, want)
			}
		}
	}
}

// A cancelled context stops the evaluation with ctx.Err(), unchanged.
func TestEvaluateCancelled(t *testing.T) {
	ds, dets := synthCOCO(5, 20, 3, 40, 10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, m := range []Metric{MetricVOC, MetricCOCO} {
		if _, err := Evaluate(ctx, ds, dets, Params{Metric: m}); err != context.Canceled {
			t.Errorf("Evaluate(%v, cancelled) = %v, want context.Canceled", m, err)
		}
	}
}
