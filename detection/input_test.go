package detection

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

func TestReadCOCO(t *testing.T) {
	f, err := os.Open("testdata/coco/instances.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ds, err := ReadCOCO(f, "instances.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Images) != 2 || len(ds.Categories) != 2 || len(ds.Objects) != 4 {
		t.Fatalf("ReadCOCO: %d images, %d categories, %d objects, want 2, 2, 4", len(ds.Images), len(ds.Categories), len(ds.Objects))
	}
	if o := ds.Objects[3]; !o.Crowd || o.Area != 25000 || o.Box != (Box{300, 300, 500, 450}) {
		t.Errorf("ReadCOCO annotation 4 = %+v, want crowd, area 25000, box (300,300,500,450)", o)
	}
	r, err := os.Open("testdata/coco/results.json")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dets, err := ReadCOCOResults(r, "results.json", ds)
	if err != nil {
		t.Fatal(err)
	}
	if len(dets) != 5 {
		t.Fatalf("ReadCOCOResults: %d detections, want 5", len(dets))
	}
	res, err := Evaluate(context.Background(), ds, dets, Params{Metric: MetricCOCO})
	if err != nil {
		t.Fatal(err)
	}
	// person: the crowd-matched detection (0.95) is ignored, the two others
	// are TPs at every threshold up to their IoU; car: IoU 180/220 = .818
	// TP up to .80. Checked loosely here; exact rules are in TestCOCORules.
	if res.COCO.Stats[0] <= 0 || res.COCO.Stats[0] > 1 {
		t.Errorf("Stats[AP] = %v, want in (0, 1]", res.COCO.Stats[0])
	}
}

func wantInputError(t *testing.T, call string, err error, file string, line int, field string) {
	t.Helper()
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Errorf("%s = %v, want *InputError", call, err)
		return
	}
	if ie.File != file || ie.Line != line || !strings.Contains(ie.Field, field) {
		t.Errorf("%s = %q (file %q line %d field %q), want file %q line %d field containing %q", call, err, ie.File, ie.Line, ie.Field, file, line, field)
	}
}

func TestParseTextErrors(t *testing.T) {
	tests := []struct {
		name, text string
		det        bool
		format     Format
		line       int
		field      string
	}{
		{"nan", "a 1 2 3 4\nb NaN 2 3 4\n", false, XYXY, 2, "left"},
		{"inf", "a 1 2 +Inf 4\n", false, XYXY, 1, "right"},
		{"x2<x1", "\n# comment\na 5 2 3 4\n", false, XYXY, 3, "right"},
		{"y2<y1", "a 1 5 3 4\n", false, XYXY, 1, "bottom"},
		{"negative width", "a 1 2 -3 4\n", false, XYWH, 1, "width"},
		{"negative height", "a 0.5 1 2 3 -4\n", true, CXCYWH, 1, "height"},
		{"bad score", "a x 1 2 3 4\n", true, XYXY, 1, "score"},
		{"nan score", "a nan 1 2 3 4\n", true, XYXY, 1, "score"},
		{"short det", "a 0.5 1 2 3\n", true, XYXY, 1, "line"},
		{"short gt", "a 1 2 3\n", false, XYXY, 1, "line"},
		{"word", "a 1 2 three 4\n", false, XYXY, 1, "right"},
	}
	for _, tc := range tests {
		_, err := ParseText(strings.NewReader(tc.text), "f.txt", tc.det, TextOptions{Format: tc.format})
		wantInputError(t, "ParseText("+tc.name+")", err, "f.txt", tc.line, tc.field)
	}
	// Class names with spaces, "difficult", relative coordinates.
	tbs, err := ParseText(strings.NewReader("traffic light 0.1 0.2 0.3 0.4 difficult\n"), "g.txt", false,
		TextOptions{Format: XYXY, Relative: true, ImageWidth: 100, ImageHeight: 50})
	if err != nil || len(tbs) != 1 || tbs[0].Class != "traffic light" || !tbs[0].Difficult || tbs[0].Box != (Box{10, 10, 30, 20}) {
		t.Errorf("ParseText(relative, difficult) = %+v, %v, want traffic light (10,10,30,20) difficult", tbs, err)
	}
}

func TestReadTextDirsErrors(t *testing.T) {
	gt := fstest.MapFS{"a.txt": {Data: []byte("cat 0 0 10 10\n")}}
	det := fstest.MapFS{"b.txt": {Data: []byte("cat 0.5 0 0 10 10\n")}}
	_, _, err := ReadTextDirs(gt, det, TextOptions{GTName: "gt", DetName: "det"})
	wantInputError(t, "ReadTextDirs(unknown image)", err, "det/b.txt", 0, "")
	det = fstest.MapFS{"a.txt": {Data: []byte("cat 0.5 0 0 10 10\ncat 0.5 0 0 10\n")}}
	_, _, err = ReadTextDirs(gt, det, TextOptions{GTName: "gt", DetName: "det"})
	wantInputError(t, "ReadTextDirs(short line)", err, "det/a.txt", 2, "line")
}

func TestCOCOErrors(t *testing.T) {
	const head = `{"images": [{"id": 1}], "categories": [{"id": 1, "name": "a"}],
"annotations": [
`
	tests := []struct {
		name, doc string
		line      int
		field     string
	}{
		{"negative width", head + `{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, -1, 2]}]}`, 3, "annotations[0].bbox[2]"},
		{"short bbox", head + `{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1]}]}`, 3, "annotations[0].bbox"},
		{"string coord", head + `{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, "x", 1, 1]}]}`, 3, "annotations[0].bbox"},
		{"unknown image", head + `{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]},
{"id": 2, "image_id": 7, "category_id": 1, "bbox": [0, 0, 1, 1]}]}`, 0, "annotations[1].image_id"},
		{"unknown category", head + `{"id": 1, "image_id": 1, "category_id": 9, "bbox": [0, 0, 1, 1]}]}`, 0, "annotations[0].category_id"},
		{"missing id", head + `{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]}`, 3, "annotations[0].id"},
		{"huge", head + `{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1e400, 1]}]}`, 3, "annotations[0]"},
		{"syntax", head + `{"id": 1,, }]}`, 3, ""},
		{"truncated", head + `{"id": 1`, 3, ""},
		{"missing key", `{"images": [], "categories": []}`, 0, "annotations"},
	}
	for _, tc := range tests {
		_, err := ReadCOCO(strings.NewReader(tc.doc), "gt.json")
		wantInputError(t, "ReadCOCO("+tc.name+")", err, "gt.json", tc.line, tc.field)
	}
	ds, err := ReadCOCO(strings.NewReader(head+`{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]}`), "gt.json")
	if err != nil {
		t.Fatal(err)
	}
	resTests := []struct {
		name, doc string
		line      int
		field     string
	}{
		{"unknown image", "[\n{\"image_id\": 2, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], \"score\": 1}]", 2, "results[0].image_id"},
		{"unknown category", "[\n\n{\"image_id\": 1, \"category_id\": 2, \"bbox\": [0, 0, 1, 1], \"score\": 1}]", 3, "results[0].category_id"},
		{"no score", "[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1]}]", 1, "results[0].score"},
		{"not a list", `{"a": 1}`, 1, "results"},
	}
	for _, tc := range resTests {
		_, err := ReadCOCOResults(strings.NewReader(tc.doc), "dt.json", ds)
		wantInputError(t, "ReadCOCOResults("+tc.name+")", err, "dt.json", tc.line, tc.field)
	}
}

func TestEvaluateErrors(t *testing.T) {
	ds := tiny(1, Object{ImageID: 1, Box: Box{0, 0, 1, 1}})
	tests := []struct {
		name  string
		dets  []Detection
		field string
	}{
		{"unknown image", []Detection{{ImageID: 5, CategoryID: 1, Box: Box{0, 0, 1, 1}}}, "detections[0].image_id"},
		{"unknown category", []Detection{{ImageID: 1, CategoryID: 5, Box: Box{0, 0, 1, 1}}}, "detections[0].category_id"},
		{"bad box", []Detection{{ImageID: 1, CategoryID: 1, Box: Box{2, 0, 1, 1}}}, "detections[0].box.x2"},
	}
	for _, tc := range tests {
		_, err := Evaluate(context.Background(), ds, tc.dets, Params{Metric: MetricCOCO})
		wantInputError(t, "Evaluate("+tc.name+")", err, "", 0, tc.field)
	}
}

// Many images and categories must not allocate images x categories: 50,000
// images and 1,500 categories (75 million cells) with one object.
func TestSparseScale(t *testing.T) {
	ds := &Dataset{}
	for i := 1; i <= 50000; i++ {
		ds.Images = append(ds.Images, Image{ID: int64(i)})
	}
	for c := 1; c <= 1500; c++ {
		ds.Categories = append(ds.Categories, Category{ID: int64(c)})
	}
	ds.Objects = []Object{{ID: 1, ImageID: 777, CategoryID: 1234, Box: Box{0, 0, 10, 10}, Area: 100}}
	dets := []Detection{{ImageID: 777, CategoryID: 1234, Box: Box{0, 0, 10, 10}, Score: 1}}
	for _, m := range []Metric{MetricVOC, MetricCOCO} {
		res, err := Evaluate(context.Background(), ds, dets, Params{Metric: m})
		// 1e-12: COCO's precision is tp/(tp+fp+eps), 1 - 2.2e-16 here.
		if err != nil || math.Abs(res.MAP-1) > 1e-12 {
			t.Fatalf("Evaluate(%v) = %v, want mAP 1", m, err)
		}
	}
	for c := 1501; c <= MaxCOCOCategories+1; c++ {
		ds.Categories = append(ds.Categories, Category{ID: int64(c)})
	}
	_, err := Evaluate(context.Background(), ds, dets, Params{Metric: MetricCOCO})
	wantInputError(t, "Evaluate(2001 categories)", err, "", 0, "categories")
}
