package detection

import (
	"math"
	"testing"
)

// Hand-computed average precision for each interpolation rule. The
// tolerance 1e-12 allows for float64 rounding in sums of a few terms.
func TestAPInterpolation(t *testing.T) {
	seq := func(gt int, tps ...bool) (rec, prec []float64) {
		tp, fp := 0, 0
		for _, ok := range tps {
			if ok {
				tp++
			} else {
				fp++
			}
			rec = append(rec, float64(tp)/float64(gt))
			prec = append(prec, float64(tp)/float64(tp+fp))
		}
		return rec, prec
	}
	many := func(n int) []bool {
		s := make([]bool, n)
		for i := range s {
			s[i] = true
		}
		return s
	}
	tests := []struct {
		name           string
		gt             int
		tps            []bool
		all, p11, p101 float64
	}{
		// TP, FP, TP with 2 ground truth: recall .5 .5 1, precision 1 .5 2/3.
		// all-point: .5*1 + .5*2/3 = 5/6.
		// 11-point: levels 0...5 see precision 1, .6...1 see 2/3: (6 + 5*2/3)/11 = 28/33.
		// 101-point: thresholds 0...50 read 1, 51...100 read 2/3: (51 + 50*2/3)/101 = 253/303.
		{"tp-fp-tp", 2, []bool{true, false, true}, 5.0 / 6, 28.0 / 33, 253.0 / 303},
		// FP first: envelope is .5 everywhere up to recall 1 (2 gt, FP TP: rec 0 .5, prec 0 .5).
		// all-point .5*.5; 11-point 6 levels of .5; 101-point 51 thresholds of .5.
		{"fp-tp", 2, []bool{false, true}, 0.25, 3.0 / 11, 25.5 / 101},
		// Recall exactly 3/10: 11-point level 3 is 3*0.1 = 0.30000000000000004
		// (numpy arange), above 3/10, so only levels 0, .1, .2 count: 3/11.
		// all-point: 0.3. 101-point: thresholds 0..30 (30*0.01 == 0.3): 31/101.
		{"recall-3/10", 10, many(3), 0.3, 3.0 / 11, 31.0 / 101},
		// Recall exactly 7/20: COCO threshold 35 is 35*0.01 =
		// 0.35000000000000003 (np.linspace), above 7/20, so thresholds
		// 0..34 count: 35/101. 11-point: levels 0..3 (0.30000000000000004 <= 0.35): 4/11.
		{"recall-7/20", 20, many(7), 0.35, 4.0 / 11, 35.0 / 101},
		// No detections: everything 0.
		{"none", 3, nil, 0, 0, 0},
	}
	for _, tc := range tests {
		rec, prec := seq(tc.gt, tc.tps...)
		if got := APAll(rec, prec); math.Abs(got-tc.all) > 1e-12 {
			t.Errorf("%s: APAll(%v, %v) = %v, want %v", tc.name, rec, prec, got, tc.all)
		}
		if got := AP11(rec, prec); math.Abs(got-tc.p11) > 1e-12 {
			t.Errorf("%s: AP11(%v, %v) = %v, want %v", tc.name, rec, prec, got, tc.p11)
		}
		if got := AP101(rec, prec); math.Abs(got-tc.p101) > 1e-12 {
			t.Errorf("%s: AP101(%v, %v) = %v, want %v", tc.name, rec, prec, got, tc.p101)
		}
	}
}

// The thresholds must be numpy's float values, not the decimal ones.
func TestCOCOThresholds(t *testing.T) {
	iou := cocoIoUThrs()
	// np.linspace(.5, 0.95, 10)[8] == 0.8999999999999999 (step (0.95-0.5)/9 in float64).
	if iou[8] != 0.8999999999999999 || iou[5] != 0.75 || iou[0] != 0.5 || iou[9] != 0.95 {
		t.Errorf("cocoIoUThrs() = %v, want numpy's values with [8] = 0.8999999999999999", iou)
	}
	rec := cocoRecThrs()
	// np.linspace(0, 1, 101)[35] == 0.35000000000000003, [100] == 1.
	if len(rec) != 101 || rec[35] != 0.35000000000000003 || rec[100] != 1 {
		t.Errorf("cocoRecThrs()[35], [100] = %v, %v, want 0.35000000000000003, 1", rec[35], rec[100])
	}
}
