package detection

import (
	"math"
	"slices"
)

// AP11 is the VOC2007 11-point interpolated average precision: the mean
// over recall levels r = 0, 0.1, ..., 1 of the highest precision at any
// recall >= r (0 when there is none). recall and precision are the
// cumulative values after each ranked detection. The levels are i*0.1 in
// float64, as numpy's np.arange(0., 1.1, 0.1) in voc_eval.py and
// np.linspace(0, 1, 11) in Object-Detection-Metrics produce them; note
// 3*0.1 = 0.30000000000000004 > 3/10, so a recall of exactly 3/10 does not
// reach level 0.3.
func AP11(recall, precision []float64) float64 {
	ap := 0.0
	for i := 0; i <= 10; i++ {
		t := float64(i) * 0.1
		p := 0.0
		for j, r := range recall {
			if r >= t && precision[j] > p {
				p = precision[j]
			}
		}
		ap += p / 11
	}
	return ap
}

// APAll is the VOC2010+ all-point interpolated average precision
// (VOCdevkit VOCap.m, voc_eval.py voc_ap with use_07_metric=False): the
// area under the precision envelope, where the envelope at recall r is the
// highest precision at any recall >= r, with sentinels (0, 0) and (1, 0).
func APAll(recall, precision []float64) float64 {
	n := len(recall)
	mrec := make([]float64, n+2)
	mpre := make([]float64, n+2)
	copy(mrec[1:], recall)
	copy(mpre[1:], precision)
	mrec[n+1] = 1
	for i := n; i >= 0; i-- {
		mpre[i] = math.Max(mpre[i], mpre[i+1])
	}
	ap := 0.0
	for i := 0; i < n+1; i++ {
		if mrec[i+1] != mrec[i] {
			ap += (mrec[i+1] - mrec[i]) * mpre[i+1]
		}
	}
	return ap
}

// AP101 is COCO's interpolated average precision for one class and IoU
// threshold (pycocotools COCOeval.accumulate): the precision envelope is
// read at the 101 recall thresholds 0, 0.01, ..., 1 at the first ranked
// detection whose recall reaches the threshold (numpy searchsorted,
// side='left'); thresholds beyond the last recall count 0. The result is
// the mean of the 101 values.
func AP101(recall, precision []float64) float64 {
	env := slices.Clone(precision)
	q := interp101(nil, recall, env, cocoRecThrs())
	s := 0.0
	for _, v := range q {
		s += v
	}
	return s / float64(len(q))
}

// interp101 turns precision (modified in place into its envelope) into the
// interpolated precision at each recall threshold.
func interp101(dst, recall, precision, recThrs []float64) []float64 {
	for i := len(precision) - 1; i > 0; i-- {
		if precision[i] > precision[i-1] {
			precision[i-1] = precision[i]
		}
	}
	dst = slices.Grow(dst[:0], len(recThrs))[:len(recThrs)]
	j := 0
	for ri, r := range recThrs {
		for j < len(recall) && recall[j] < r {
			j++
		}
		if j < len(recall) {
			dst[ri] = precision[j]
		} else {
			dst[ri] = 0
		}
	}
	return dst
}

// linspace mirrors numpy.linspace(start, stop, num, endpoint=True):
// start + i*step with step = (stop-start)/(num-1) computed in float64, and
// the last value exactly stop. COCO's thresholds come from it, and the
// float values matter when a recall or IoU lands on a threshold.
func linspace(start, stop float64, num int) []float64 {
	out := make([]float64, num)
	div := float64(num - 1)
	step := (stop - start) / div
	for i := range out {
		out[i] = float64(i)*step + start
	}
	out[num-1] = stop
	return out
}

// cocoIoUThrs is np.linspace(.5, 0.95, 10): pycocotools Params.iouThrs.
func cocoIoUThrs() []float64 {
	lo, hi := 0.5, 0.95 // variables: Go constant arithmetic would be exact, numpy's is float64
	return linspace(lo, hi, 10)
}

// cocoRecThrs is np.linspace(.0, 1.00, 101): pycocotools Params.recThrs.
func cocoRecThrs() []float64 {
	lo, hi := 0.0, 1.0
	return linspace(lo, hi, 101)
}
