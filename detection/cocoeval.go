package detection

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"
)

// COCO's area ranges (pycocotools Params.setDetParams): all [0, 1e10],
// small [0, 32^2], medium [32^2, 96^2], large [96^2, 1e10], bounds
// inclusive.
var (
	cocoAreaRanges = [][2]float64{{0, 1e10}, {0, 32 * 32}, {32 * 32, 96 * 96}, {96 * 96, 1e10}}
	cocoAreaLabels = []string{"all", "small", "medium", "large"}
	cocoMaxDets    = []int{1, 10, 100}
)

// MaxCOCOCategories bounds the categories of a COCO evaluation: its
// precision array holds 12,120 numbers per category (97 KB), so 2,000
// categories take 194 MB. LVIS has 1,203.
const MaxCOCOCategories = 2000

// COCOEval is a full COCO bounding-box evaluation, laid out like
// pycocotools' COCOeval.eval.
type COCOEval struct {
	IoUThrs    []float64 `json:"iou_thresholds"`
	RecThrs    []float64 `json:"-"`
	AreaLabels []string  `json:"area_ranges"`
	MaxDets    []int     `json:"max_dets"`
	CatIDs     []int64   `json:"category_ids"`
	// Precision is (T, R, K, A, M) row-major over IoU thresholds, recall
	// thresholds, categories, area ranges and maxDets; -1 where a category
	// has no ground truth in that area range.
	Precision []float64 `json:"-"`
	// Recall is (T, K, A, M); -1 likewise.
	Recall []float64 `json:"-"`
	// Stats are COCOeval.summarize's 12 numbers, in its order (see
	// StatNames).
	Stats [12]float64 `json:"stats"`

	tp, fp, ndet []int // per category at IoU .5, area all, maxDet 100
}

// StatNames names COCOEval.Stats.
var StatNames = [12]string{"AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"}

func (e *COCOEval) dims() (T, R, K, A, M int) {
	return len(e.IoUThrs), len(e.RecThrs), len(e.CatIDs), len(e.AreaLabels), len(e.MaxDets)
}

// P returns Precision[t, r, k, a, m].
func (e *COCOEval) P(t, r, k, a, m int) float64 {
	_, R, K, A, M := e.dims()
	return e.Precision[(((t*R+r)*K+k)*A+a)*M+m]
}

// Rc returns Recall[t, k, a, m].
func (e *COCOEval) Rc(t, k, a, m int) float64 {
	_, _, K, A, M := e.dims()
	return e.Recall[((t*K+k)*A+a)*M+m]
}

// cocoImg is what the per-image evaluation keeps of one detection for one
// area range: bit t of tp is "true positive at IoU threshold t", of ig
// "ignored at threshold t".
type cocoMark struct{ tp, ig uint64 }

// cocoDet is one detection of a category after per-image sorting.
type cocoDet struct {
	score float64
	rank  int32 // position in its image's score order
}

// cocoWork is one worker's reusable buffers.
type cocoWork struct {
	dsel   []int32
	ious   []float64
	gtIg   []bool
	gtOrd  []int32
	gtm    []bool
	dets   []cocoDet
	marks  [][]cocoMark // per area range
	order  []int32
	sel    []cocoMark
	rc, pr []float64
	q      []float64
	gbuf   []int32
	dbuf   []int32
	cd     []catDet
}

// catDet is what the evaluation reads of a detection.
type catDet struct {
	box   Box
	area  float64
	score float64
}

// evalCOCO runs evaluate and accumulate of pycocotools for iouType bbox,
// parallel over categories.
func evalCOCO(ctx context.Context, ds *Dataset, ix *index, dets []Detection) (*COCOEval, error) {
	e := &COCOEval{IoUThrs: cocoIoUThrs(), RecThrs: cocoRecThrs(), AreaLabels: cocoAreaLabels, MaxDets: cocoMaxDets, CatIDs: ix.cats}
	T, R, K, A, M := e.dims()
	if T > 64 {
		panic("detection: more than 64 IoU thresholds")
	}
	if K > MaxCOCOCategories {
		return nil, &InputError{Field: "categories", Msg: fmt.Sprintf("%d categories; the COCO evaluation takes at most %d", K, MaxCOCOCategories)}
	}
	e.Precision = make([]float64, T*R*K*A*M)
	e.Recall = make([]float64, T*K*A*M)
	e.tp, e.fp, e.ndet = make([]int, K), make([]int, K), make([]int, K)
	g := newGrouping(ix, ds, dets)
	workers := min(runtime.GOMAXPROCS(0), K)
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wk := &cocoWork{marks: make([][]cocoMark, A)}
			for k := range next {
				e.evalCategory(wk, ds, dets, k, g)
			}
		}()
	}
	var err error
	for k := 0; k < K; k++ {
		if err = ctx.Err(); err != nil {
			break
		}
		next <- k
	}
	close(next)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	e.summarize()
	return e, nil
}

// evalCategory is evaluateImg over every image for category k followed by
// accumulate's loop for k.
func (e *COCOEval) evalCategory(wk *cocoWork, ds *Dataset, dets []Detection, k int, g *grouping) {
	T, R, K, A, M := e.dims()
	maxDet := e.MaxDets[M-1]
	wk.dets = wk.dets[:0]
	for a := range wk.marks {
		wk.marks[a] = wk.marks[a][:0]
	}
	npig := make([]int, A)
	var cells cellIter
	cells.init(g, k, &wk.gbuf, &wk.dbuf)
	// The category's detections, contiguous in image order: the loops
	// below then read memory in order instead of all over dets.
	wk.cd = wk.cd[:0]
	for _, j := range cells.ds {
		d := &dets[j]
		wk.cd = append(wk.cd, catDet{box: d.Box, area: d.area(), score: d.Score})
	}
	off := 0
	for {
		gs, ds0, ok := cells.next()
		if !ok {
			break
		}
		cd := wk.cd[off : off+len(ds0)]
		off += len(ds0)
		// Detections by descending score, stable (np.argsort kind='mergesort'),
		// top maxDet. sel indexes cd, which is in input order.
		sel := wk.dsel[:0]
		for i := range cd {
			sel = append(sel, int32(i))
		}
		sortByScore(sel, func(j int32) float64 { return cd[j].score })
		if len(sel) > maxDet {
			sel = sel[:maxDet]
		}
		wk.dsel = sel
		D, G := len(sel), len(gs)
		// IoUs once per image and category, reused by every area range and
		// threshold.
		if cap(wk.ious) < D*G {
			wk.ious = make([]float64, D*G)
		}
		ious := wk.ious[:D*G]
		for di, dj := range sel {
			d := &cd[dj]
			for gi, gj := range gs {
				o := &ds.Objects[gj]
				ious[di*G+gi] = cocoIoU(d.box, d.area, o.Box, o.area(), o.Crowd)
			}
		}
		for r, dj := range sel {
			wk.dets = append(wk.dets, cocoDet{score: cd[dj].score, rank: int32(r)})
		}
		wk.gtIg = slices.Grow(wk.gtIg[:0], G)[:G]
		wk.gtm = slices.Grow(wk.gtm[:0], G)[:G]
		for a, rng := range cocoAreaRanges[:A] {
			// Ground truth: ignored when crowd/difficult or outside the
			// area range; non-ignored first, order kept (mergesort).
			ord := wk.gtOrd[:0]
			for gi, gj := range gs {
				o := &ds.Objects[gj]
				ig := o.Crowd || o.Difficult || o.Area < rng[0] || o.Area > rng[1]
				wk.gtIg[gi] = ig
				if !ig {
					ord = append(ord, int32(gi))
					npig[a]++
				}
			}
			for gi := range gs {
				if wk.gtIg[gi] {
					ord = append(ord, int32(gi))
				}
			}
			wk.gtOrd = ord
			base := len(wk.marks[a])
			wk.marks[a] = slices.Grow(wk.marks[a], D)[:base+D]
			marks := wk.marks[a][base:]
			clear(marks)
			for t, thr := range e.IoUThrs {
				clear(wk.gtm)
				bit := uint64(1) << t
				thr := math.Min(thr, 1-1e-10)
				for di, dj := range sel {
					best := thr
					m := int32(-1)
					row := ious[di*G : (di+1)*G]
					for _, gi := range ord {
						if wk.gtm[gi] && !ds.Objects[gs[gi]].Crowd {
							continue
						}
						if m > -1 && !wk.gtIg[m] && wk.gtIg[gi] {
							break
						}
						if row[gi] < best {
							continue
						}
						best = row[gi]
						m = gi
					}
					// pycocotools stores the matched annotation id in dtm
					// and tests it for non-zero: a match with annotation
					// id 0 counts as unmatched there, and here too.
					matched := m >= 0 && ds.Objects[gs[m]].ID != 0
					ig := false
					if m >= 0 {
						wk.gtm[m] = true
						ig = wk.gtIg[m]
					}
					if !matched && !ig {
						ar := cd[dj].area
						ig = ar < rng[0] || ar > rng[1]
					}
					switch {
					case ig:
						marks[di].ig |= bit
					case matched:
						marks[di].tp |= bit
					}
				}
			}
		}
	}
	// accumulate: all detections of k by descending score, stable over the
	// concatenation in image order (np.argsort(-dtScores, kind='mergesort')).
	n := len(wk.dets)
	order := slices.Grow(wk.order[:0], n)[:n]
	for i := range order {
		order[i] = int32(i)
	}
	sortByScore(order, func(j int32) float64 { return wk.dets[j].score })
	wk.order = order
	wk.rc = slices.Grow(wk.rc[:0], n)
	wk.pr = slices.Grow(wk.pr[:0], n)
	wk.sel = slices.Grow(wk.sel[:0], n)
	const eps = 2.220446049250313e-16 // np.spacing(1), added to tp+fp by pycocotools
	for a := 0; a < A; a++ {
		prevLen := -1
		for m, md := range e.MaxDets {
			// The detections within maxDets of their image, in global score
			// order, contiguous for the threshold loop.
			sel := wk.sel[:0]
			for _, j := range order {
				if int(wk.dets[j].rank) < md {
					sel = append(sel, wk.marks[a][j])
				}
			}
			wk.sel = sel
			if len(sel) == prevLen {
				// No image has more than the previous maxDets detections of
				// this category: the same detections, the same numbers.
				for t := 0; t < T; t++ {
					e.Recall[((t*K+k)*A+a)*M+m] = e.Recall[((t*K+k)*A+a)*M+m-1]
					for r := 0; r < R; r++ {
						i := (((t*R+r)*K+k)*A+a)*M + m
						e.Precision[i] = e.Precision[i-1]
					}
				}
				continue
			}
			prevLen = len(sel)
			for t := 0; t < T; t++ {
				ri := ((t*K+k)*A+a)*M + m
				if npig[a] == 0 {
					e.Recall[ri] = -1
					for r := 0; r < R; r++ {
						e.Precision[(((t*R+r)*K+k)*A+a)*M+m] = -1
					}
					continue
				}
				bit := uint64(1) << t
				rc, pr := wk.rc[:0], wk.pr[:0]
				tp, fp := 0, 0
				np := float64(npig[a])
				for _, mk := range sel {
					if mk.ig&bit != 0 {
						continue
					}
					if mk.tp&bit != 0 {
						tp++
					} else {
						fp++
					}
					// tp/npig exactly as numpy divides: a reciprocal
					// multiply can land one ulp away and across a recall
					// threshold.
					rc = append(rc, float64(tp)/np)
					pr = append(pr, float64(tp)/(float64(fp+tp)+eps))
				}
				if a == 0 && t == 0 {
					e.tp[k], e.fp[k] = tp, fp // kept from the largest maxDets computed
				}
				if len(rc) > 0 {
					e.Recall[ri] = rc[len(rc)-1]
				} else {
					e.Recall[ri] = 0
				}
				wk.q = interp101(wk.q, rc, pr, e.RecThrs)
				for r, v := range wk.q {
					e.Precision[(((t*R+r)*K+k)*A+a)*M+m] = v
				}
				wk.rc, wk.pr = rc, pr
			}
		}
	}
	e.ndet[k] = int(g.dOff[k+1] - g.dOff[k])
}

// mean is pycocotools' np.mean(s[s > -1]), -1 when nothing is left.
func (e *COCOEval) mean(ap bool, t, a, m int) float64 {
	T, R, K, _, _ := e.dims()
	s, n := 0.0, 0
	for ti := 0; ti < T; ti++ {
		if t >= 0 && ti != t {
			continue
		}
		for k := 0; k < K; k++ {
			if ap {
				for r := 0; r < R; r++ {
					if v := e.P(ti, r, k, a, m); v > -1 {
						s += v
						n++
					}
				}
			} else if v := e.Rc(ti, k, a, m); v > -1 {
				s += v
				n++
			}
		}
	}
	if n == 0 {
		return -1
	}
	return s / float64(n)
}

func (e *COCOEval) thrIndex(v float64) int {
	for i, t := range e.IoUThrs {
		if math.Abs(t-v) < 1e-12 {
			return i
		}
	}
	return -1
}

// summarize fills Stats like COCOeval.summarize (_summarizeDets).
func (e *COCOEval) summarize() {
	m100 := len(e.MaxDets) - 1
	t50, t75 := e.thrIndex(0.5), e.thrIndex(0.75)
	e.Stats = [12]float64{
		e.mean(true, -1, 0, m100),
		e.mean(true, t50, 0, m100),
		e.mean(true, t75, 0, m100),
		e.mean(true, -1, 1, m100),
		e.mean(true, -1, 2, m100),
		e.mean(true, -1, 3, m100),
		e.mean(false, -1, 0, 0),
		e.mean(false, -1, 0, 1),
		e.mean(false, -1, 0, m100),
		e.mean(false, -1, 1, m100),
		e.mean(false, -1, 2, m100),
		e.mean(false, -1, 3, m100),
	}
}

// WriteSummary prints Stats exactly as pycocotools' summarize does.
func (e *COCOEval) WriteSummary(w io.Writer) error {
	type line struct {
		ap      bool
		iou     string
		area    string
		maxDets int
	}
	lines := [12]line{
		{true, "0.50:0.95", "all", 100}, {true, "0.50", "all", 100}, {true, "0.75", "all", 100},
		{true, "0.50:0.95", "small", 100}, {true, "0.50:0.95", "medium", 100}, {true, "0.50:0.95", "large", 100},
		{false, "0.50:0.95", "all", 1}, {false, "0.50:0.95", "all", 10}, {false, "0.50:0.95", "all", 100},
		{false, "0.50:0.95", "small", 100}, {false, "0.50:0.95", "medium", 100}, {false, "0.50:0.95", "large", 100},
	}
	for i, l := range lines {
		title, typ := "Average Precision", "(AP)"
		if !l.ap {
			title, typ = "Average Recall", "(AR)"
		}
		if _, err := fmt.Fprintf(w, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f\n",
			title, typ, l.iou, l.area, l.maxDets, e.Stats[i]); err != nil {
			return fmt.Errorf("detection: write summary: %w", err)
		}
	}
	return nil
}

// classAP is the mean precision of category k over thresholds t (all when
// t < 0) and recall thresholds, area all, the largest maxDets.
func (e *COCOEval) classAP(k, t int) float64 {
	T, R, _, _, M := e.dims()
	s, n := 0.0, 0
	for ti := 0; ti < T; ti++ {
		if t >= 0 && ti != t {
			continue
		}
		for r := 0; r < R; r++ {
			if v := e.P(ti, r, k, 0, M-1); v > -1 {
				s += v
				n++
			}
		}
	}
	if n == 0 {
		return -1
	}
	return s / float64(n)
}

func (e *COCOEval) result(ds *Dataset, ix *index) *Result {
	_, R, K, _, M := e.dims()
	res := &Result{Metric: MetricCOCO.String(), MAP: e.Stats[0], COCO: e}
	t50, t75 := e.thrIndex(0.5), e.thrIndex(0.75)
	gt := make(map[int64]int)
	for _, o := range ds.Objects {
		if !o.Crowd && !o.Difficult {
			gt[o.CategoryID]++
		}
	}
	for k := 0; k < K; k++ {
		ap50, ap75 := e.classAP(k, t50), e.classAP(k, t75)
		cr := ClassResult{ID: e.CatIDs[k], Name: ix.categoryName(e.CatIDs[k]), GT: gt[e.CatIDs[k]],
			Detections: e.ndet[k], TP: e.tp[k], FP: e.fp[k], AP: e.classAP(k, -1), AP50: &ap50, AP75: &ap75}
		if cr.AP > -1 {
			cr.Recall = slices.Clone(e.RecThrs)
			cr.Precision = make([]float64, R)
			for r := range cr.Precision {
				cr.Precision[r] = e.P(t50, r, k, 0, M-1)
			}
		}
		res.Classes = append(res.Classes, cr)
	}
	return res
}
