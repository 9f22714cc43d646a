package detection

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// synthCOCO makes a deterministic data set at COCO val2017 scale when
// called with (5000, 80, 36000, 100): nImg images of 640x480, nCat
// categories, about nGT ground-truth boxes with sizes spread over COCO's
// small/medium/large ranges (1% crowd), and detsPerImg detections per
// image: a jittered copy of most ground-truth boxes plus random boxes,
// with random scores.
func synthCOCO(seed uint64, nImg, nCat, nGT, detsPerImg int) (*Dataset, []Detection) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	ds := &Dataset{}
	for i := 1; i <= nImg; i++ {
		ds.Images = append(ds.Images, Image{ID: int64(i), Width: 640, Height: 480})
	}
	for c := 1; c <= nCat; c++ {
		ds.Categories = append(ds.Categories, Category{ID: int64(c), Name: "c" + string(rune('A'+c%26)) + string(rune('a'+c/26))})
	}
	box := func() Box {
		// Side lengths log-uniform in [8, 400] pixels.
		w := 8 * math.Exp(rng.Float64()*math.Log(50))
		h := 8 * math.Exp(rng.Float64()*math.Log(50))
		x := rng.Float64() * (640 - math.Min(w, 639))
		y := rng.Float64() * (480 - math.Min(h, 479))
		return Box{x, y, x + w, y + h}
	}
	var dets []Detection
	perImg := make([][]int, nImg)
	for j := 0; j < nGT; j++ {
		img := rng.IntN(nImg)
		b := box()
		ds.Objects = append(ds.Objects, Object{ID: int64(j + 1), ImageID: int64(img + 1), CategoryID: int64(1 + rng.IntN(nCat)),
			Box: b, Area: b.Area() * (0.5 + 0.4*rng.Float64()), Crowd: rng.IntN(100) == 0})
		perImg[img] = append(perImg[img], j)
	}
	for i := 0; i < nImg; i++ {
		n := 0
		for _, j := range perImg[i] {
			if n == detsPerImg || rng.IntN(10) == 0 {
				continue // missed
			}
			o := ds.Objects[j]
			w, h := o.Box.W(), o.Box.H()
			jit := func(s float64) float64 { return (rng.Float64() - 0.5) * 0.3 * s }
			b := Box{o.Box.X1 + jit(w), o.Box.Y1 + jit(h), o.Box.X2 + jit(w), o.Box.Y2 + jit(h)}
			if b.X2 < b.X1 {
				b.X1, b.X2 = b.X2, b.X1
			}
			if b.Y2 < b.Y1 {
				b.Y1, b.Y2 = b.Y2, b.Y1
			}
			dets = append(dets, Detection{ImageID: int64(i + 1), CategoryID: o.CategoryID, Box: b, Score: 0.3 + 0.7*rng.Float64()})
			n++
		}
		for ; n < detsPerImg; n++ {
			dets = append(dets, Detection{ImageID: int64(i + 1), CategoryID: int64(1 + rng.IntN(nCat)), Box: box(), Score: 0.6 * rng.Float64()})
		}
	}
	return ds, dets
}

// BenchmarkCOCOEval is the full COCO evaluation (evaluate, accumulate,
// summarize) at val2017 scale: 5,000 images, 80 categories, 36,000 ground
// truth boxes, 100 detections per image (500,000).
func BenchmarkCOCOEval(b *testing.B) {
	for _, sz := range []struct {
		name                 string
		img, cat, gt, perImg int
	}{
		{"val2017", 5000, 80, 36000, 100},
	} {
		b.Run(sz.name, func(b *testing.B) {
			ds, dets := synthCOCO(1, sz.img, sz.cat, sz.gt, sz.perImg)
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				res, err := Evaluate(context.Background(), ds, dets, Params{Metric: MetricCOCO})
				if err != nil || res.COCO.Stats[0] <= 0 {
					b.Fatalf("Evaluate: %v, AP %v", err, res.COCO.Stats[0])
				}
			}
			b.ReportMetric(float64(len(dets))*float64(b.N)/b.Elapsed().Seconds(), "dets/s")
		})
	}
}

// BenchmarkVOCEval is VOC2010+ AP at the same scale.
func BenchmarkVOCEval(b *testing.B) {
	ds, dets := synthCOCO(1, 5000, 80, 36000, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := Evaluate(context.Background(), ds, dets, Params{Metric: MetricVOC, ContinuousIoU: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(dets))*float64(b.N)/b.Elapsed().Seconds(), "dets/s")
}

// BenchmarkReadCOCOResults decodes a val2017-scale results list (500,000
// detections, about 40 MB of JSON).
func BenchmarkReadCOCOResults(b *testing.B) {
	ds, dets := synthCOCO(1, 5000, 80, 36000, 100)
	var buf bytes.Buffer
	buf.WriteString("[")
	for i, d := range dets {
		if i > 0 {
			buf.WriteString(",\n")
		}
		w := d.Box.In(XYWH)
		fmt.Fprintf(&buf, `{"image_id": %d, "category_id": %d, "bbox": [%.2f, %.2f, %.2f, %.2f], "score": %.5f}`,
			d.ImageID, d.CategoryID, w[0], w[1], w[2], w[3], d.Score)
	}
	buf.WriteString("]\n")
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		got, err := ReadCOCOResults(bytes.NewReader(buf.Bytes()), "results.json", ds)
		if err != nil || len(got) != len(dets) {
			b.Fatalf("ReadCOCOResults: %d detections, %v", len(got), err)
		}
	}
	b.ReportMetric(float64(len(dets))*float64(b.N)/b.Elapsed().Seconds(), "dets/s")
}

// BenchmarkNMS is torchvision-style NMS over n random boxes of one class
// in a 640x480 image (the per-image detector output before top-k).
func BenchmarkNMS(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(uint64(n), 1))
			boxes := make([]Box, n)
			scores := make([]float64, n)
			for i := range boxes {
				x, y := rng.Float64()*600, rng.Float64()*440
				boxes[i] = Box{x, y, x + 10 + rng.Float64()*100, y + 10 + rng.Float64()*100}
				scores[i] = rng.Float64()
			}
			b.ReportAllocs()
			for range b.N {
				NMS(boxes, scores, 0.5)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "boxes/s")
		})
	}
}

// BenchmarkPairwiseIoU is a 100 x 100 IoU matrix into a reused buffer.
func BenchmarkPairwiseIoU(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 7))
	mk := func() []Box {
		s := make([]Box, 100)
		for i := range s {
			x, y := rng.Float64()*600, rng.Float64()*440
			s[i] = Box{x, y, x + 40, y + 40}
		}
		return s
	}
	a, c := mk(), mk()
	dst := PairwiseIoU(nil, a, c, false)
	b.ReportAllocs()
	for range b.N {
		dst = PairwiseIoU(dst, a, c, false)
	}
	b.ReportMetric(float64(len(a)*len(c))*float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
}
