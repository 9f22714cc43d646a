package detection

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// NMS is torchvision.ops.nms: boxes are visited by descending score
// (stable: equal scores keep index order); a box is kept unless its IoU
// with an already kept box is strictly greater than iouThr. It returns the
// kept indices in descending score order. boxes and scores must have the
// same length (it panics otherwise: a programmer mistake); validate outside
// data first (Box.Validate, finite scores).
func NMS(boxes []Box, scores []float64, iouThr float64) []int {
	if len(boxes) != len(scores) {
		panic(fmt.Sprintf("detection: NMS: %d boxes, %d scores", len(boxes), len(scores)))
	}
	order := make([]int, len(boxes))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmpDesc(scores[a], scores[b]) })
	return nmsSorted(boxes, order, iouThr)
}

func nmsSorted(boxes []Box, order []int, iouThr float64) []int {
	// Boxes in visiting order, contiguous, with their areas: the inner
	// loop is the whole cost.
	bs := make([]Box, len(order))
	area := make([]float64, len(order))
	for i, bi := range order {
		bs[i] = boxes[bi]
		area[i] = bs[i].Area()
	}
	removed := make([]bool, len(order))
	keep := make([]int, 0, len(order))
	for i := range bs {
		if removed[i] {
			continue
		}
		keep = append(keep, order[i])
		a := bs[i]
		for j := i + 1; j < len(bs); j++ {
			if removed[j] {
				continue
			}
			b := &bs[j]
			w := min(a.X2, b.X2) - max(a.X1, b.X1)
			h := min(a.Y2, b.Y2) - max(a.Y1, b.Y1)
			if w <= 0 || h <= 0 {
				continue
			}
			inter := w * h
			if inter/(area[i]+area[j]-inter) > iouThr {
				removed[j] = true
			}
		}
	}
	return keep
}

// BatchedNMS is torchvision.ops.batched_nms: NMS within each class
// separately (boxes of different classes never suppress each other). It
// returns the kept indices in descending score order, equal scores in
// index order.
func BatchedNMS(boxes []Box, scores []float64, classes []int64, iouThr float64) []int {
	if len(boxes) != len(scores) || len(boxes) != len(classes) {
		panic(fmt.Sprintf("detection: BatchedNMS: %d boxes, %d scores, %d classes", len(boxes), len(scores), len(classes)))
	}
	order := make([]int, len(boxes))
	for i := range order {
		order[i] = i
	}
	// By class, then descending score, then index.
	slices.SortStableFunc(order, func(a, b int) int {
		if classes[a] != classes[b] {
			if classes[a] < classes[b] {
				return -1
			}
			return 1
		}
		return cmpDesc(scores[a], scores[b])
	})
	var keep []int
	for s := 0; s < len(order); {
		e := s + 1
		for e < len(order) && classes[order[e]] == classes[order[s]] {
			e++
		}
		keep = append(keep, nmsSorted(boxes, order[s:e], iouThr)...)
		s = e
	}
	slices.SortStableFunc(keep, func(a, b int) int {
		if c := cmpDesc(scores[a], scores[b]); c != 0 {
			return c
		}
		return a - b
	})
	return keep
}

// SoftMethod is how Soft-NMS decays the score of an overlapping box.
type SoftMethod int

const (
	SoftLinear   SoftMethod = iota + 1 // s *= 1 - IoU when IoU > the threshold
	SoftGaussian                       // s *= exp(-IoU^2 / sigma)
)

// ParseSoftMethod parses "linear" or "gaussian".
func ParseSoftMethod(s string) (SoftMethod, error) {
	switch strings.ToLower(s) {
	case "linear":
		return SoftLinear, nil
	case "gaussian":
		return SoftGaussian, nil
	}
	return 0, fmt.Errorf("detection: unknown soft-nms method %q (want linear or gaussian)", s)
}

// SoftNMSOptions configures SoftNMS. Zero fields take the defaults of the
// reference implementation (bharatsingh430/soft-nms cpu_soft_nms): IoU
// 0.3, Sigma 0.5, ScoreThreshold 0.001.
type SoftNMSOptions struct {
	Method         SoftMethod
	IoU            float64 // linear: decay only above this IoU
	Sigma          float64 // gaussian
	ScoreThreshold float64 // boxes whose decayed score falls below are dropped
}

// SoftNMS is Soft-NMS (Bodla et al. 2017) in continuous coordinates: the
// box with the highest current score (lowest index on ties) is kept, the
// scores of the remaining boxes are decayed by their IoU with it, boxes
// below the score threshold are dropped, until none is left. It returns the
// kept indices in the order they were selected and their decayed scores.
func SoftNMS(boxes []Box, scores []float64, opt SoftNMSOptions) (keep []int, kept []float64) {
	if len(boxes) != len(scores) {
		panic(fmt.Sprintf("detection: SoftNMS: %d boxes, %d scores", len(boxes), len(scores)))
	}
	if opt.IoU == 0 {
		opt.IoU = 0.3
	}
	if opt.Sigma == 0 {
		opt.Sigma = 0.5
	}
	if opt.ScoreThreshold == 0 {
		opt.ScoreThreshold = 0.001
	}
	s := slices.Clone(scores)
	alive := make([]int, 0, len(boxes))
	for i := range boxes {
		if s[i] >= opt.ScoreThreshold {
			alive = append(alive, i)
		}
	}
	for len(alive) > 0 {
		bp := 0
		for p, i := range alive {
			if s[i] > s[alive[bp]] {
				bp = p
			}
		}
		b := alive[bp]
		keep = append(keep, b)
		kept = append(kept, s[b])
		alive = slices.Delete(alive, bp, bp+1)
		n := 0
		for _, i := range alive {
			ov := IoU(boxes[b], boxes[i])
			switch opt.Method {
			case SoftGaussian:
				s[i] *= math.Exp(-ov * ov / opt.Sigma)
			default:
				if ov > opt.IoU {
					s[i] *= 1 - ov
				}
			}
			if s[i] >= opt.ScoreThreshold {
				alive[n] = i
				n++
			}
		}
		alive = alive[:n]
	}
	return keep, kept
}
