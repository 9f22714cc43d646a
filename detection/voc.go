package detection

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Metric selects an evaluation protocol.
type Metric int

const (
	MetricVOC07 Metric = iota // Pascal VOC2007: 11-point interpolated AP
	MetricVOC                 // Pascal VOC2010+: all-point interpolated AP
	MetricCOCO                // COCO: 101-point AP over IoU .50:.05:.95, 12-number summary
)

var metricNames = [...]string{MetricVOC07: "voc07", MetricVOC: "voc", MetricCOCO: "coco"}

func (m Metric) String() string {
	if m >= 0 && int(m) < len(metricNames) {
		return metricNames[m]
	}
	return fmt.Sprintf("Metric(%d)", int(m))
}

// ParseMetric parses "voc07", "voc" or "coco".
func ParseMetric(s string) (Metric, error) {
	for i, n := range metricNames {
		if strings.EqualFold(s, n) {
			return Metric(i), nil
		}
	}
	return 0, fmt.Errorf("detection: unknown metric %q (want voc07, voc or coco)", s)
}

// Params configures Evaluate.
type Params struct {
	Metric Metric
	// IoU is the VOC matching threshold (default 0.5); a detection matches
	// at IoU >= IoU. COCO uses its own ten thresholds.
	IoU float64
	// ContinuousIoU makes VOC use continuous coordinates instead of the
	// devkit's integer-pixel convention (width = x2 - x1 + 1).
	ContinuousIoU bool
}

// ClassResult is the evaluation of one category.
type ClassResult struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// GT counts the ground truth that is not ignored (not difficult, not
	// crowd); Detections counts all detections of the class.
	GT         int `json:"gt"`
	Detections int `json:"detections"`
	// TP and FP at the VOC threshold, or for COCO at IoU 0.5, area all,
	// 100 detections per image.
	TP int `json:"tp"`
	FP int `json:"fp"`
	// AP is the class's average precision (COCO: AP@[.50:.95]); -1 when
	// the class has no ground truth.
	AP   float64  `json:"ap"`
	AP50 *float64 `json:"ap50,omitempty"` // COCO only
	AP75 *float64 `json:"ap75,omitempty"` // COCO only
	// Recall and Precision are the curve: after each ranked detection for
	// VOC (ignored detections left out), and COCO's interpolated precision
	// at its 101 recall thresholds at IoU 0.5.
	Recall    []float64 `json:"recall,omitempty"`
	Precision []float64 `json:"precision,omitempty"`
}

// Result is an evaluation.
type Result struct {
	Metric string  `json:"metric"`
	IoU    float64 `json:"iou,omitempty"` // VOC threshold
	// MAP is the mean AP over classes with ground truth (COCO: AP@[.50:.95]).
	MAP     float64       `json:"map"`
	Classes []ClassResult `json:"classes"`
	// COCO is the full COCO evaluation (metric coco only).
	COCO *COCOEval `json:"coco,omitempty"`
}

// Evaluate scores dets against ds with the protocol in p.
func Evaluate(ctx context.Context, ds *Dataset, dets []Detection, p Params) (*Result, error) {
	ix, err := newIndex(ds)
	if err != nil {
		return nil, err
	}
	if err := ix.check(ds, dets); err != nil {
		return nil, err
	}
	switch p.Metric {
	case MetricVOC07, MetricVOC:
		return evalVOC(ctx, ds, ix, dets, p)
	case MetricCOCO:
		ev, err := evalCOCO(ctx, ds, ix, dets)
		if err != nil {
			return nil, err
		}
		return ev.result(ds, ix), nil
	}
	return nil, fmt.Errorf("detection: unknown metric %v", p.Metric)
}

func evalVOC(ctx context.Context, ds *Dataset, ix *index, dets []Detection, p Params) (*Result, error) {
	thr := p.IoU
	if thr == 0 {
		thr = 0.5
	}
	if !(thr > 0 && thr <= 1) {
		return nil, fmt.Errorf("detection: iou threshold %v outside (0, 1]", p.IoU)
	}
	iou := PixelIoU
	if p.ContinuousIoU {
		iou = IoU
	}
	K := len(ix.cats)
	g := newGrouping(ix, ds, dets)
	used := make([]bool, len(ds.Objects))
	res := &Result{Metric: p.Metric.String(), IoU: thr}
	nAP, sumAP := 0, 0.0
	var gbuf, dbuf []int32
	cellOf := map[int32][]int32{} // image -> ground truth of the class
	for k := 0; k < K; k++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cr := ClassResult{ID: ix.cats[k], Name: ix.categoryName(ix.cats[k]), AP: -1}
		clear(cellOf)
		var cells cellIter
		cells.init(g, k, &gbuf, &dbuf)
		for {
			gs, _, ok := cells.next()
			if !ok {
				break
			}
			if len(gs) > 0 {
				cellOf[g.gImg[gs[0]]] = gs
			}
			for _, j := range gs {
				o := &ds.Objects[j]
				if !o.Difficult && !o.Crowd {
					cr.GT++
				}
			}
		}
		// Detections of the class in input order, then by score.
		order := slices.Clone(g.dOrd[g.dOff[k]:g.dOff[k+1]])
		cr.Detections = len(order)
		sortByScore(order, func(j int32) float64 { return dets[j].Score })
		tp, fp := 0, 0
		for _, di := range order {
			d := &dets[di]
			gs := cellOf[g.dImg[di]]
			best, jmax := math.Inf(-1), int32(-1)
			for _, gj := range gs {
				if v := iou(d.Box, ds.Objects[gj].Box); v > 0 && v > best {
					best, jmax = v, gj
				}
			}
			switch {
			case jmax >= 0 && best >= thr:
				o := &ds.Objects[jmax]
				switch {
				case o.Difficult || o.Crowd:
					continue // neither true nor false positive
				case !used[jmax]:
					used[jmax] = true
					tp++
				default:
					fp++ // duplicate detection
				}
			default:
				fp++
			}
			rc := math.NaN()
			if cr.GT > 0 {
				rc = float64(tp) / float64(cr.GT)
			}
			cr.Recall = append(cr.Recall, rc)
			cr.Precision = append(cr.Precision, float64(tp)/math.Max(float64(tp+fp), math.SmallestNonzeroFloat64))
		}
		cr.TP, cr.FP = tp, fp
		if cr.GT > 0 {
			if p.Metric == MetricVOC07 {
				cr.AP = AP11(cr.Recall, cr.Precision)
			} else {
				cr.AP = APAll(cr.Recall, cr.Precision)
			}
			nAP++
			sumAP += cr.AP
		} else {
			cr.Recall = nil // undefined without ground truth
		}
		res.Classes = append(res.Classes, cr)
	}
	if nAP > 0 {
		res.MAP = sumAP / float64(nAP)
	}
	return res, nil
}

// cmpDesc orders by descending score.
func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// sortByScore sorts idx, which is in ascending order, by descending
// score, equal scores keeping ascending idx: the order of a stable sort
// (numpy's mergesort, Matlab's sort), done with pdqsort on the pair.
func sortByScore(idx []int32, score func(int32) float64) {
	slices.SortFunc(idx, func(a, b int32) int {
		if c := cmpDesc(score(a), score(b)); c != 0 {
			return c
		}
		return int(a - b)
	})
}

// grouping holds ground truth and detections by category (a stable
// counting sort: input order within a category) with their dense image
// index. Nothing is sized by images x categories, which outside data could
// make huge.
type grouping struct {
	gOff, gOrd []int32 // objects of category k: gOrd[gOff[k]:gOff[k+1]]
	dOff, dOrd []int32
	gImg, dImg []int32 // dense image index of object / detection j
}

func newGrouping(ix *index, ds *Dataset, dets []Detection) *grouping {
	K := len(ix.cats)
	g := &grouping{gImg: make([]int32, len(ds.Objects)), dImg: make([]int32, len(dets))}
	for j := range ds.Objects {
		g.gImg[j] = int32(ix.img[ds.Objects[j].ImageID])
	}
	for j := range dets {
		g.dImg[j] = int32(ix.img[dets[j].ImageID])
	}
	g.gOff, g.gOrd = countingSort(len(ds.Objects), K, func(j int) int { return ix.cat[ds.Objects[j].CategoryID] })
	g.dOff, g.dOrd = countingSort(len(dets), K, func(j int) int { return ix.cat[dets[j].CategoryID] })
	return g
}

// countingSort is a stable counting sort of 0..n-1 by key(j) in [0, nkeys):
// the members of key c are ord[off[c]:off[c+1]], in ascending j.
func countingSort(n, nkeys int, key func(j int) int) (off []int32, ord []int32) {
	off = make([]int32, nkeys+1)
	keys := make([]int32, n)
	for j := 0; j < n; j++ {
		c := key(j)
		keys[j] = int32(c)
		off[c+1]++
	}
	for c := 0; c < nkeys; c++ {
		off[c+1] += off[c]
	}
	ord = make([]int32, n)
	pos := slices.Clone(off[:nkeys])
	for j := 0; j < n; j++ {
		c := keys[j]
		ord[pos[c]] = int32(j)
		pos[c]++
	}
	return off, ord
}

// cellIter walks the images of one category that have ground truth or
// detections, in ascending image index, giving each image's objects and
// detections in input order.
type cellIter struct {
	g      *grouping
	gs, ds []int32
}

// init sorts category k's members by image into the buffers.
func (c *cellIter) init(g *grouping, k int, gbuf, dbuf *[]int32) {
	c.g = g
	c.gs = append((*gbuf)[:0], g.gOrd[g.gOff[k]:g.gOff[k+1]]...)
	c.ds = append((*dbuf)[:0], g.dOrd[g.dOff[k]:g.dOff[k+1]]...)
	*gbuf, *dbuf = c.gs, c.ds
	byImage := func(img []int32) func(a, b int32) int {
		return func(a, b int32) int {
			if d := img[a] - img[b]; d != 0 {
				return int(d)
			}
			return int(a - b) // input order within an image
		}
	}
	slices.SortFunc(c.gs, byImage(g.gImg))
	slices.SortFunc(c.ds, byImage(g.dImg))
}

// next returns the next image's objects and detections (one may be empty).
func (c *cellIter) next() (gs, ds []int32, ok bool) {
	if len(c.gs) == 0 && len(c.ds) == 0 {
		return nil, nil, false
	}
	img := int32(math.MaxInt32)
	if len(c.gs) > 0 {
		img = c.g.gImg[c.gs[0]]
	}
	if len(c.ds) > 0 && c.g.dImg[c.ds[0]] < img {
		img = c.g.dImg[c.ds[0]]
	}
	n := 0
	for n < len(c.gs) && c.g.gImg[c.gs[n]] == img {
		n++
	}
	gs, c.gs = c.gs[:n], c.gs[n:]
	n = 0
	for n < len(c.ds) && c.g.dImg[c.ds[n]] == img {
		n++
	}
	ds, c.ds = c.ds[:n], c.ds[n:]
	return gs, ds, true
}

func sortInt64(s []int64) { slices.Sort(s) }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
