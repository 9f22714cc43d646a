package detection

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestGroupedNMS(t *testing.T) {
	// Boxes 0-2 are group 0 (cats), box 3 group 1 (a dog on box 0).
	// IoU(0, 1) = 90/110 = .82, IoU(1, 2) = 60/140 = .43, IoU(0, 2) = 50/150 = .33.
	boxes := []Box{{0, 0, 10, 10}, {1, 0, 11, 10}, {5, 0, 15, 10}, {0, 0, 10, 10}}
	scores := []float64{0.9, 0.95, 0.8, 0.5}
	groups := []int64{0, 0, 0, 1}
	tests := []struct {
		name      string
		opt       SoftNMSOptions
		keep      []int
		kept      []float64
		tolerance float64
	}{
		// Box 1 suppresses box 0 (.82 > .5), not box 2 (.43); the dog is
		// another group.
		{"nms", SoftNMSOptions{IoU: 0.5}, []int{1, 2, 3}, []float64{0.95, 0.8, 0.5}, 0},
		{"nms threshold", SoftNMSOptions{IoU: 0.5, ScoreThreshold: 0.6}, []int{1, 2}, []float64{0.95, 0.8}, 0},
		// Linear Soft-NMS at .3: box 1 first; box 0 decays to
		// .9*(1-.818) = .1636, box 2 to .8*(1-.4286) = .4571; then box 2
		// decays box 0 by IoU .333 to .1091.
		{"soft linear", SoftNMSOptions{Method: SoftLinear, IoU: 0.3}, []int{1, 3, 2, 0},
			[]float64{0.95, 0.5, 0.8 * (1 - 60.0/140), 0.9 * (1 - 90.0/110) * (1 - 50.0/150)}, 1e-12},
	}
	for _, tt := range tests {
		keep, kept := GroupedNMS(boxes, scores, groups, tt.opt)
		if !slices.Equal(keep, tt.keep) || len(kept) != len(tt.kept) {
			t.Errorf("GroupedNMS %s = %v %v, want %v %v", tt.name, keep, kept, tt.keep, tt.kept)
			continue
		}
		for i := range kept {
			if d := kept[i] - tt.kept[i]; d > tt.tolerance || d < -tt.tolerance {
				t.Errorf("GroupedNMS %s score %d = %v, want %v (±%g)", tt.name, i, kept[i], tt.kept[i], tt.tolerance)
			}
		}
	}
}

func TestCandidatesText(t *testing.T) {
	in := "cat 0.9 0 0 10 10\ncat 0.95 1 0 11 10\ncat 0.8 5 0 15 10\ndog 0.5 0 0 10 10\n"
	c, err := ReadCandidates([]byte(in), "stdin", XYXY)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{0, 0, 0, 1}; !slices.Equal(c.Groups, want) {
		t.Errorf("ReadCandidates groups = %v, want %v (one per class)", c.Groups, want)
	}
	keep, scores := c.NMS(SoftNMSOptions{IoU: 0.5})
	var b strings.Builder
	if err := c.WriteKept(&b, keep, scores, XYWH); err != nil {
		t.Fatal(err)
	}
	if want := "cat 0.95 1 0 10 10\ncat 0.8 5 0 10 10\ndog 0.5 0 0 10 10\n"; b.String() != want {
		t.Errorf("WriteKept(xywh) =\n%s\nwant\n%s", b.String(), want)
	}
}

func TestCandidatesCOCO(t *testing.T) {
	in := `[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},
{"image_id": 1, "category_id": 1, "bbox": [1, 0, 10, 10], "score": 0.95},
{"image_id": 2, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9}]`
	c, err := ReadCandidates([]byte(in), "stdin", XYXY)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{0, 0, 1}; !slices.Equal(c.Groups, want) {
		t.Errorf("ReadCandidates groups = %v, want %v (one per image and category)", c.Groups, want)
	}
	keep, scores := c.NMS(SoftNMSOptions{IoU: 0.5})
	var b strings.Builder
	if err := c.WriteKept(&b, keep, scores, XYXY); err != nil {
		t.Fatal(err)
	}
	var out []struct {
		ImageID int64      `json:"image_id"`
		BBox    [4]float64 `json:"bbox"`
		Score   float64    `json:"score"`
	}
	if err := json.Unmarshal([]byte(b.String()), &out); err != nil {
		t.Fatalf("WriteKept wrote %s: %v", b.String(), err)
	}
	// Box 2 of image 1 suppresses box 1 (IoU 90/110); image 2 keeps its box.
	if len(out) != 2 || out[0].Score != 0.95 || out[0].BBox != [4]float64{1, 0, 10, 10} || out[1].ImageID != 2 {
		t.Errorf("WriteKept = %+v, want image 1's 0.95 box [1 0 10 10] and image 2's box", out)
	}
}

func TestReadInputs(t *testing.T) {
	odm := filepath.Join("testdata", "odm")
	ds, dets, err := ReadInputs(filepath.Join(odm, "groundtruths"), filepath.Join(odm, "detections"), TextOptions{Format: XYWH})
	if err != nil {
		t.Fatalf("ReadInputs(odm dirs): %v", err)
	}
	if len(ds.Images) != 7 || len(dets) != 24 { // as TestObjectDetectionMetricsSample reads them
		t.Errorf("ReadInputs(odm dirs) = %d images, %d detections; want 7, 24", len(ds.Images), len(dets))
	}
	coco := filepath.Join("testdata", "coco")
	ds, dets, err = ReadInputs(filepath.Join(coco, "instances.json"), filepath.Join(coco, "results.json"), TextOptions{})
	if err != nil {
		t.Fatalf("ReadInputs(coco files): %v", err)
	}
	if len(ds.Images) != 2 || len(dets) != 5 { // as TestReadCOCO reads them
		t.Errorf("ReadInputs(coco files) = %d images, %d detections; want 2, 5", len(ds.Images), len(dets))
	}
	if _, _, err := ReadInputs(odm, filepath.Join(coco, "results.json"), TextOptions{}); !errors.Is(err, ErrMixedInputs) {
		t.Errorf("ReadInputs(dir, file) error = %v, want ErrMixedInputs", err)
	}
	if _, _, err := ReadInputs(filepath.Join(odm, "nope"), odm, TextOptions{}); err == nil {
		t.Errorf("ReadInputs(missing, dir) = nil error, want one")
	}
}
