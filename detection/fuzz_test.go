package detection

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// FuzzParseText feeds arbitrary bytes to the text-file parser in every box
// format: it must return boxes that validate, or an error, never panic.
// Seed corpus: testdata/fuzz/FuzzParseText.
func FuzzParseText(f *testing.F) {
	f.Add([]byte("person 25 16 38 56\nperson 129 123 41 62 difficult\n"), false, uint8(1))
	f.Add([]byte("person .88 5 67 31 48\n# c\n\ntraffic light 0.5 1 2 3 4\n"), true, uint8(0))
	f.Add([]byte("a 0.5 0.5 0.2 0.1\n"), false, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, det bool, format uint8) {
		opt := TextOptions{Format: Format(format % 3), Relative: format&4 != 0, ImageWidth: 640, ImageHeight: 480}
		tbs, err := ParseText(bytes.NewReader(data), "fuzz.txt", det, opt)
		if err != nil {
			return
		}
		for _, tb := range tbs {
			if err := tb.Box.Validate(); err != nil {
				t.Fatalf("ParseText returned invalid box %v: %v", tb.Box, err)
			}
			if det && !finite(tb.Score) {
				t.Fatalf("ParseText returned score %v", tb.Score)
			}
		}
	})
}

// FuzzReadCOCO feeds arbitrary bytes to the COCO instances and results
// readers and evaluates whatever they accept with every metric. Seed
// corpus: testdata/fuzz/FuzzReadCOCO.
func FuzzReadCOCO(f *testing.F) {
	f.Add([]byte(`{"images":[{"id":1}],"categories":[{"id":1,"name":"a"}],"annotations":[{"id":1,"image_id":1,"category_id":1,"bbox":[0,0,10,10],"area":100,"iscrowd":0}]}`),
		[]byte(`[{"image_id":1,"category_id":1,"bbox":[1,1,10,10],"score":0.5}]`))
	f.Add([]byte(`{"images":[{"id":1},{"id":2}],"categories":[{"id":7,"name":"a"}],"annotations":[{"id":1,"image_id":2,"category_id":7,"bbox":[0,0,1e300,10],"iscrowd":1}]}`),
		[]byte(`[{"image_id":2,"category_id":7,"bbox":[0,0,0,0],"score":1e308}]`))
	f.Add([]byte(`{"images":[],"categories":[],"annotations":[]}`), []byte(`[]`))
	f.Fuzz(func(t *testing.T, gt, dt []byte) {
		ds, err := ReadCOCO(bytes.NewReader(gt), "gt.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "detection: ") {
				t.Fatalf("ReadCOCO error %q lacks the package prefix", err)
			}
			return
		}
		dets, err := ReadCOCOResults(bytes.NewReader(dt), "dt.json", ds)
		// The fast scanner must agree with the encoding/json reader.
		slow, serr := readCOCOResultsSlow(dt, "dt.json", ds)
		if (err == nil) != (serr == nil) {
			t.Fatalf("ReadCOCOResults err %v, slow reader err %v", err, serr)
		}
		if err != nil {
			return
		}
		if len(slow) != len(dets) {
			t.Fatalf("ReadCOCOResults: %d detections, slow reader %d", len(dets), len(slow))
		}
		for i := range dets {
			if dets[i] != slow[i] {
				t.Fatalf("ReadCOCOResults[%d] = %+v, slow reader %+v", i, dets[i], slow[i])
			}
		}
		for _, m := range []Metric{MetricVOC07, MetricVOC, MetricCOCO} {
			res, err := Evaluate(context.Background(), ds, dets, Params{Metric: m})
			if err != nil {
				continue // duplicate ids and the like
			}
			for _, c := range res.Classes {
				if c.AP < -1 || c.AP > 1+1e-9 {
					t.Fatalf("Evaluate(%v): class %d AP %v outside [-1, 1]", m, c.ID, c.AP)
				}
			}
		}
	})
}

// FuzzReadCOCOResults checks the fast results scanner against the
// encoding/json reader on arbitrary bytes: same error-or-not, same
// detections. Seed corpus: testdata/fuzz/FuzzReadCOCOResults.
func FuzzReadCOCOResults(f *testing.F) {
	f.Add([]byte(`[{"image_id":1,"category_id":2,"bbox":[1.5,2,3e1,4],"score":0.5,"segmentation":[[1,2]],"x":{"a":[true,null,"s\"q"]}}]`))
	f.Add([]byte(`[{"image_id":1,"image_id":2,"category_id":2,"bbox":[0,0,1,1],"score":1}]`))
	f.Add([]byte(`[{"Image_ID":1,"category_id":2,"bbox":[0,0,1,1],"score":-0}, {"image_id":1.0,"category_id":2,"bbox":[0,0,1,1],"score":1}]`))
	f.Add([]byte(` [ ] `))
	f.Fuzz(func(t *testing.T, dt []byte) {
		dets, err := ReadCOCOResults(bytes.NewReader(dt), "dt.json", nil)
		slow, serr := readCOCOResultsSlow(dt, "dt.json", nil)
		if (err == nil) != (serr == nil) {
			t.Fatalf("ReadCOCOResults err %v, slow reader err %v", err, serr)
		}
		if len(slow) != len(dets) {
			t.Fatalf("ReadCOCOResults: %d detections, slow reader %d", len(dets), len(slow))
		}
		for i := range dets {
			if dets[i] != slow[i] {
				t.Fatalf("ReadCOCOResults[%d] = %+v, slow reader %+v", i, dets[i], slow[i])
			}
		}
	})
}
