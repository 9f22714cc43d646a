package detection

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func TestBoxFormats(t *testing.T) {
	b := Box{10, 20, 40, 80} // 30 wide, 60 high, centre (25, 50)
	tests := []struct {
		f    Format
		want [4]float64
	}{
		{XYXY, [4]float64{10, 20, 40, 80}},
		{XYWH, [4]float64{10, 20, 30, 60}},
		{CXCYWH, [4]float64{25, 50, 30, 60}},
	}
	for _, tc := range tests {
		if got := b.In(tc.f); got != tc.want {
			t.Errorf("%v.In(%v) = %v, want %v", b, tc.f, got, tc.want)
		}
		w := tc.want
		if got := BoxFrom(tc.f, w[0], w[1], w[2], w[3]); got != b {
			t.Errorf("BoxFrom(%v, %v) = %v, want %v", tc.f, w, got, b)
		}
		f, err := ParseFormat(tc.f.String())
		if err != nil || f != tc.f {
			t.Errorf("ParseFormat(%q) = %v, %v, want %v", tc.f.String(), f, err, tc.f)
		}
	}
	if _, err := ParseFormat("xyzw"); err == nil {
		t.Error("ParseFormat(xyzw) = nil error, want error")
	}
}

func TestIoU(t *testing.T) {
	tests := []struct {
		name        string
		a, b        Box
		cont, pixel float64
	}{
		// Identical boxes.
		{"same", Box{0, 0, 10, 10}, Box{0, 0, 10, 10}, 1, 1},
		// Half overlap: continuous 50/(100+100-50) = 1/3; pixels 11*6=66
		// over 121+121-66 = 176: 0.375.
		{"half", Box{0, 0, 10, 10}, Box{5, 0, 15, 10}, 1.0 / 3, 66.0 / 176},
		// Touching edges: continuous 0; in pixels they share column 10:
		// 1*11 / (121+121-11) = 11/231.
		{"touch", Box{0, 0, 10, 10}, Box{10, 0, 20, 10}, 0, 11.0 / 231},
		// Disjoint.
		{"apart", Box{0, 0, 1, 1}, Box{5, 5, 6, 6}, 0, 0},
		// Contained: 36/81 continuous; pixels 5*10=50 over 100: 0.5.
		{"inside", Box{0, 0, 9, 9}, Box{0, 0, 4, 9}, 36.0 / 81, 0.5},
		// Empty boxes (zero width) never overlap in continuous IoU.
		{"empty", Box{3, 3, 3, 3}, Box{3, 3, 3, 3}, 0, 1},
	}
	for _, tc := range tests {
		if got := IoU(tc.a, tc.b); math.Abs(got-tc.cont) > 1e-15 {
			t.Errorf("%s: IoU(%v, %v) = %v, want %v", tc.name, tc.a, tc.b, got, tc.cont)
		}
		if got := PixelIoU(tc.a, tc.b); math.Abs(got-tc.pixel) > 1e-15 {
			t.Errorf("%s: PixelIoU(%v, %v) = %v, want %v", tc.name, tc.a, tc.b, got, tc.pixel)
		}
	}
	a := []Box{{0, 0, 10, 10}, {5, 0, 15, 10}}
	b := []Box{{0, 0, 10, 10}, {10, 0, 20, 10}, {100, 100, 101, 101}}
	m := PairwiseIoU(nil, a, b, false)
	for i := range a {
		for j := range b {
			if got, want := m[i*len(b)+j], IoU(a[i], b[j]); got != want {
				t.Errorf("PairwiseIoU[%d,%d] = %v, want IoU = %v", i, j, got, want)
			}
		}
	}
}

func TestBoxValidate(t *testing.T) {
	tests := []struct {
		b     Box
		field string // "" for valid
	}{
		{Box{0, 0, 1, 1}, ""},
		{Box{0, 0, 0, 0}, ""},
		{Box{math.NaN(), 0, 1, 1}, "x1"},
		{Box{0, math.Inf(1), 1, 1}, "y1"},
		{Box{0, 0, math.Inf(-1), 1}, "x2"},
		{Box{2, 0, 1, 1}, "x2"},
		{Box{0, 2, 1, 1}, "y2"},
	}
	for _, tc := range tests {
		err := tc.b.Validate()
		var ie *InputError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%v.Validate() = %v, want nil", tc.b, err)
		case tc.field != "" && (!errors.As(err, &ie) || ie.Field != tc.field):
			t.Errorf("%v.Validate() = %v, want *InputError for field %s", tc.b, err, tc.field)
		}
	}
}

func TestNMS(t *testing.T) {
	boxes := []Box{
		{0, 0, 10, 10},   // 0
		{1, 0, 11, 10},   // 1: IoU with 0 = 90/110 = 0.818
		{5, 0, 15, 10},   // 2: IoU with 0 = 1/3, with 1 = 60/140 = 0.4286
		{50, 50, 60, 60}, // 3: apart
	}
	scores := []float64{0.9, 0.95, 0.8, 0.1}
	tests := []struct {
		thr  float64
		want []int
	}{
		// 1 (0.95) suppresses 0 (0.818 > .5); 2 stays (0.4286); 3 stays.
		{0.5, []int{1, 2, 3}},
		// Suppression is strictly greater: with the threshold at IoU(1,2)
		// = 3/7 exactly, box 2 is kept.
		{3.0 / 7, []int{1, 2, 3}},
		{0.4, []int{1, 3}},
		{0.9, []int{1, 0, 2, 3}},
	}
	for _, tc := range tests {
		if got := NMS(boxes, scores, tc.thr); !slices.Equal(got, tc.want) {
			t.Errorf("NMS(thr %v) = %v, want %v", tc.thr, got, tc.want)
		}
	}
	// Equal scores: index order decides who suppresses whom.
	if got := NMS(boxes[:2], []float64{0.5, 0.5}, 0.5); !slices.Equal(got, []int{0}) {
		t.Errorf("NMS(equal scores) = %v, want [0]", got)
	}
	// Per class: 0 and 1 in different classes both survive.
	classes := []int64{1, 2, 1, 1}
	if got := BatchedNMS(boxes, scores, classes, 0.5); !slices.Equal(got, []int{1, 0, 2, 3}) {
		t.Errorf("BatchedNMS = %v, want [1 0 2 3]", got)
	}
	if got := NMS(nil, nil, 0.5); len(got) != 0 {
		t.Errorf("NMS(empty) = %v, want []", got)
	}
}

func TestSoftNMS(t *testing.T) {
	boxes := []Box{{0, 0, 10, 10}, {5, 0, 15, 10}, {50, 50, 60, 60}}
	scores := []float64{0.9, 0.8, 0.7}
	// IoU(0,1) = 1/3.
	tests := []struct {
		opt        SoftNMSOptions
		keep       []int
		keptScores []float64
	}{
		// Linear above 0.3: 0.8 * (1 - 1/3) = 0.5333; 2 untouched.
		{SoftNMSOptions{Method: SoftLinear, IoU: 0.3}, []int{0, 2, 1}, []float64{0.9, 0.7, 0.8 * 2 / 3}},
		// Linear above 0.5: nothing decays.
		{SoftNMSOptions{Method: SoftLinear, IoU: 0.5}, []int{0, 1, 2}, []float64{0.9, 0.8, 0.7}},
		// Gaussian sigma 0.5: 0.8 * exp(-(1/9)/0.5) = 0.8*exp(-2/9) = 0.6406,
		// now below box 2's 0.7 (IoU 0: factor 1).
		{SoftNMSOptions{Method: SoftGaussian, Sigma: 0.5}, []int{0, 2, 1}, []float64{0.9, 0.7, 0.8 * math.Exp(-2.0/9)}},
		// Threshold 0.6 drops the decayed linear box (0.533 < 0.6).
		{SoftNMSOptions{Method: SoftLinear, IoU: 0.3, ScoreThreshold: 0.6}, []int{0, 2}, []float64{0.9, 0.7}},
	}
	for _, tc := range tests {
		keep, ks := SoftNMS(boxes, scores, tc.opt)
		if !slices.Equal(keep, tc.keep) || len(ks) != len(tc.keptScores) {
			t.Errorf("SoftNMS(%+v) = %v %v, want %v %v", tc.opt, keep, ks, tc.keep, tc.keptScores)
			continue
		}
		for i := range ks {
			if math.Abs(ks[i]-tc.keptScores[i]) > 1e-12 {
				t.Errorf("SoftNMS(%+v) scores = %v, want %v", tc.opt, ks, tc.keptScores)
				break
			}
		}
	}
}
