package detection

import (
	"fmt"
	"math"
	"strings"
)

// Box is an axis-aligned box in corner form: (X1, Y1) is the top-left and
// (X2, Y2) the bottom-right corner, X2 >= X1 and Y2 >= Y1.
type Box struct {
	X1, Y1, X2, Y2 float64
}

// Format is how four numbers describe a box.
type Format int

const (
	XYXY   Format = iota // left, top, right, bottom
	XYWH                 // left, top, width, height (COCO "bbox")
	CXCYWH               // centre x, centre y, width, height (YOLO)
)

var formatNames = [...]string{XYXY: "xyxy", XYWH: "xywh", CXCYWH: "cxcywh"}

func (f Format) String() string {
	if f >= 0 && int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat parses "xyxy", "xywh" or "cxcywh" (case-insensitive).
func ParseFormat(s string) (Format, error) {
	for i, n := range formatNames {
		if strings.EqualFold(s, n) {
			return Format(i), nil
		}
	}
	return 0, fmt.Errorf("detection: unknown box format %q (want xyxy, xywh or cxcywh)", s)
}

// BoxFrom converts four numbers in format f to a Box. It does not validate;
// see Box.Validate.
func BoxFrom(f Format, a, b, c, d float64) Box {
	switch f {
	case XYWH:
		return Box{a, b, a + c, b + d}
	case CXCYWH:
		return Box{a - c/2, b - d/2, a + c/2, b + d/2}
	default:
		return Box{a, b, c, d}
	}
}

// In returns the box's four numbers in format f.
func (b Box) In(f Format) [4]float64 {
	switch f {
	case XYWH:
		return [4]float64{b.X1, b.Y1, b.X2 - b.X1, b.Y2 - b.Y1}
	case CXCYWH:
		return [4]float64{(b.X1 + b.X2) / 2, (b.Y1 + b.Y2) / 2, b.X2 - b.X1, b.Y2 - b.Y1}
	default:
		return [4]float64{b.X1, b.Y1, b.X2, b.Y2}
	}
}

// W and H are the continuous width and height.
func (b Box) W() float64 { return b.X2 - b.X1 }
func (b Box) H() float64 { return b.Y2 - b.Y1 }

// Area is the continuous area (X2-X1)*(Y2-Y1).
func (b Box) Area() float64 { return (b.X2 - b.X1) * (b.Y2 - b.Y1) }

// Validate reports a box with a NaN or infinite coordinate or with
// X2 < X1 or Y2 < Y1. The error's Field names the offending coordinate.
func (b Box) Validate() error {
	c := [4]float64{b.X1, b.Y1, b.X2, b.Y2}
	names := [4]string{"x1", "y1", "x2", "y2"}
	for i, v := range c {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return &InputError{Field: names[i], Msg: fmt.Sprintf("%v is not a finite number", v)}
		}
	}
	if b.X2 < b.X1 {
		return &InputError{Field: "x2", Msg: fmt.Sprintf("x2 %v < x1 %v", b.X2, b.X1)}
	}
	if b.Y2 < b.Y1 {
		return &InputError{Field: "y2", Msg: fmt.Sprintf("y2 %v < y1 %v", b.Y2, b.Y1)}
	}
	return nil
}

// IoU is the intersection over union of a and b in continuous coordinates
// (COCO, torchvision). Two empty boxes give 0.
func IoU(a, b Box) float64 {
	w := min(a.X2, b.X2) - max(a.X1, b.X1)
	if w <= 0 {
		return 0
	}
	h := min(a.Y2, b.Y2) - max(a.Y1, b.Y1)
	if h <= 0 {
		return 0
	}
	i := w * h
	return i / (a.Area() + b.Area() - i)
}

// PixelIoU is the intersection over union under the Pascal VOC
// integer-pixel convention: a box covers pixels X1..X2 inclusive, so its
// width is X2 - X1 + 1 (VOCevaldet.m, voc_eval.py).
func PixelIoU(a, b Box) float64 {
	w := min(a.X2, b.X2) - max(a.X1, b.X1) + 1
	if w <= 0 {
		return 0
	}
	h := min(a.Y2, b.Y2) - max(a.Y1, b.Y1) + 1
	if h <= 0 {
		return 0
	}
	i := w * h
	u := (a.X2-a.X1+1)*(a.Y2-a.Y1+1) + (b.X2-b.X1+1)*(b.Y2-b.Y1+1) - i
	return i / u
}

// cocoIoU is maskApi.c's bbIou for one pair: continuous IoU with the
// areas da and ga as given (width*height of the JSON boxes), or, against a
// crowd region, intersection over the detection's area.
func cocoIoU(d Box, da float64, g Box, ga float64, crowd bool) float64 {
	w := min(d.X2, g.X2) - max(d.X1, g.X1)
	if w <= 0 {
		return 0
	}
	h := min(d.Y2, g.Y2) - max(d.Y1, g.Y1)
	if h <= 0 {
		return 0
	}
	i := w * h
	if crowd {
		return i / da
	}
	return i / (da + ga - i)
}

// PairwiseIoU writes the IoU of every a[i] with every b[j] into
// dst[i*len(b)+j] and returns dst, allocating when dst is too short. pixel
// selects PixelIoU instead of IoU.
func PairwiseIoU(dst []float64, a, b []Box, pixel bool) []float64 {
	n := len(a) * len(b)
	if cap(dst) < n {
		dst = make([]float64, n)
	}
	dst = dst[:n]
	for i, x := range a {
		row := dst[i*len(b) : (i+1)*len(b)]
		for j, y := range b {
			if pixel {
				row[j] = PixelIoU(x, y)
			} else {
				row[j] = IoU(x, y)
			}
		}
	}
	return dst
}
