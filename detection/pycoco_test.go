package detection

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// Cases in testdata/pycocotools: case<N>.gt.json (COCO instances),
// case<N>.dt.json (COCO results) and case<N>.stats.json, the 12 numbers
// that pycocotools' COCOeval (evaluate/accumulate/summarize, iouType bbox)
// computes for them; see testdata/pycocotools/README.md. The JSON inputs
// are written by this file with DETECTION_WRITE_PYCOCO=1.
var pycocoCases = []struct {
	seed                        uint64
	img, cat, gt, perImg, crowd int
	firstAnnID                  int64
}{
	{1, 30, 5, 150, 12, 5, 1},
	{2, 50, 3, 120, 25, 10, 1},
	// Annotation ids from 0: pycocotools counts a match with id 0 as
	// unmatched (dtm == 0), a quirk this package reproduces.
	{3, 20, 4, 80, 8, 0, 0},
	// More detections than maxDets 100 in some images.
	{4, 6, 2, 60, 130, 3, 1},
}

// TestWriteVal2017 writes a val2017-scale pair (instances and results
// JSON, 5,000 images, 80 categories, 36,000 objects, 500,000 detections)
// into $DETECTION_WRITE_VAL2017 for timing `wavenet detect eval`.
func TestWriteVal2017(t *testing.T) {
	dir := os.Getenv("DETECTION_WRITE_VAL2017")
	if dir == "" {
		t.Skip("set DETECTION_WRITE_VAL2017=DIR to write the files")
	}
	writeCOCOPair(t, dir, "val2017", 1, 5000, 80, 36000, 100, 1, 1)
}

func TestPycocotoolsGolden(t *testing.T) {
	dir := filepath.Join("testdata", "pycocotools")
	if os.Getenv("DETECTION_WRITE_PYCOCO") == "1" {
		writePycocoCases(t, dir)
	}
	for i := range pycocoCases {
		name := filepath.Join(dir, fmt.Sprintf("case%d", i+1))
		gf, err := os.Open(name + ".gt.json")
		if err != nil {
			t.Fatal(err)
		}
		ds, err := ReadCOCO(gf, name+".gt.json")
		gf.Close()
		if err != nil {
			t.Fatal(err)
		}
		df, err := os.Open(name + ".dt.json")
		if err != nil {
			t.Fatal(err)
		}
		dets, err := ReadCOCOResults(df, name+".dt.json", ds)
		df.Close()
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(name + ".stats.json")
		if err != nil {
			t.Fatal(err)
		}
		var want [12]float64
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		res, err := Evaluate(context.Background(), ds, dets, Params{Metric: MetricCOCO})
		if err != nil {
			t.Fatal(err)
		}
		for j := range want {
			// 1e-12: numpy's pairwise summation in np.mean against a plain
			// sum; the matches themselves must be identical.
			if got := res.COCO.Stats[j]; math.Abs(got-want[j]) > 1e-12 {
				t.Errorf("case%d: Stats[%s] = %.17g, pycocotools %.17g", i+1, StatNames[j], got, want[j])
			}
		}
	}
}

// writePycocoCases writes the JSON inputs: coordinates and scores rounded
// (to 1 and 2 decimals) so that equal scores and equal IoUs occur.
func writePycocoCases(t *testing.T, dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, c := range pycocoCases {
		writeCOCOPair(t, dir, fmt.Sprintf("case%d", i+1), c.seed, c.img, c.cat, c.gt, c.perImg, c.crowd, c.firstAnnID)
	}
}

func writeCOCOPair(t *testing.T, dir, base string, seed uint64, img, cat, gt, perImg, crowd int, firstAnnID int64) {
	gtJSON, dtJSON := cocoPairJSON(t, seed, img, cat, gt, perImg, crowd, firstAnnID)
	name := filepath.Join(dir, base)
	if err := os.WriteFile(name+".gt.json", gtJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name+".dt.json", dtJSON, 0o644); err != nil {
		t.Fatal(err)
	}
}

// cocoPairJSON makes the instances and results JSON of a synthetic case.
func cocoPairJSON(t testing.TB, seed uint64, img, cat, gt, perImg, crowd int, firstAnnID int64) (gtJSON, dtJSON []byte) {
	r1 := func(v float64) float64 { return math.Round(v*10) / 10 }
	r2 := func(v float64) float64 { return math.Round(v*100) / 100 }
	ds, dets := synthCOCO(seed, img, cat, gt, perImg)
	rng := rand.New(rand.NewPCG(seed, 99))
	var anns []map[string]any
	for j, o := range ds.Objects {
		x, y := r1(o.Box.X1), r1(o.Box.Y1)
		w, h := r1(o.Box.W()), r1(o.Box.H())
		anns = append(anns, map[string]any{"id": int64(j) + firstAnnID, "image_id": o.ImageID, "category_id": o.CategoryID,
			"bbox": []float64{x, y, w, h}, "area": r1(o.Area), "iscrowd": b2i(crowd > 0 && rng.IntN(100) < crowd)})
	}
	var imgs, cats []map[string]any
	for _, im := range ds.Images {
		imgs = append(imgs, map[string]any{"id": im.ID, "width": im.Width, "height": im.Height})
	}
	for _, ct := range ds.Categories {
		cats = append(cats, map[string]any{"id": ct.ID, "name": ct.Name})
	}
	var res []map[string]any
	for _, d := range dets {
		// Near-copies of ground truth sometimes land exactly on it.
		res = append(res, map[string]any{"image_id": d.ImageID, "category_id": d.CategoryID,
			"bbox": []float64{r1(d.Box.X1), r1(d.Box.Y1), r1(d.Box.W()), r1(d.Box.H())}, "score": r2(d.Score)})
	}
	var err error
	gtJSON, err = json.Marshal(map[string]any{"images": imgs, "categories": cats, "annotations": anns})
	if err != nil {
		t.Fatal(err)
	}
	dtJSON, err = json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return append(gtJSON, '\n'), append(dtJSON, '\n')
}

// TestPycocotoolsVal2017 evaluates the val2017-scale synthetic pair (5,000
// images, 80 categories, 36,000 objects, 500,000 detections; the files
// TestWriteVal2017 writes) and compares with val2017.stats.json, the 12
// numbers the pycocotools transcription computed for those files.
func TestPycocotoolsVal2017(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 40 MB of JSON")
	}
	gtJSON, dtJSON := cocoPairJSON(t, 1, 5000, 80, 36000, 100, 1, 1)
	ds, err := ReadCOCO(bytes.NewReader(gtJSON), "val2017.gt.json")
	if err != nil {
		t.Fatal(err)
	}
	dets, err := ReadCOCOResults(bytes.NewReader(dtJSON), "val2017.dt.json", ds)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "pycocotools", "val2017.stats.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want [12]float64
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	res, err := Evaluate(context.Background(), ds, dets, Params{Metric: MetricCOCO})
	if err != nil {
		t.Fatal(err)
	}
	for j := range want {
		// 1e-12: np.mean's pairwise summation over ~1e6 values against a
		// plain sum (the observed difference is about 1e-14).
		if got := res.COCO.Stats[j]; math.Abs(got-want[j]) > 1e-12 {
			t.Errorf("Stats[%s] = %.17g, pycocotools %.17g", StatNames[j], got, want[j])
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
