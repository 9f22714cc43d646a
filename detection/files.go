package detection

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// ErrMixedInputs is returned by ReadInputs when one input is a directory
// and the other a file.
var ErrMixedInputs = errors.New("detection: ground truth and detections must both be directories of text files or both COCO JSON files")

// ReadInputs reads ground truth and detections from the file system: two
// directories of per-image text files (ReadTextDirs, with opt), or a COCO
// instances JSON file and a COCO results JSON file.
func ReadInputs(gt, det string, opt TextOptions) (*Dataset, []Detection, error) {
	gi, err := os.Stat(gt)
	if err != nil {
		return nil, nil, fmt.Errorf("detection: ground truth: %w", err)
	}
	di, err := os.Stat(det)
	if err != nil {
		return nil, nil, fmt.Errorf("detection: detections: %w", err)
	}
	if gi.IsDir() != di.IsDir() {
		return nil, nil, ErrMixedInputs
	}
	if gi.IsDir() {
		return ReadTextDirs(os.DirFS(gt), os.DirFS(det), opt)
	}
	ds, err := readFile(gt, func(r io.Reader) (*Dataset, error) { return ReadCOCO(r, gt) })
	if err != nil {
		return nil, nil, err
	}
	dets, err := readFile(det, func(r io.Reader) ([]Detection, error) { return ReadCOCOResults(r, det, ds) })
	if err != nil {
		return nil, nil, err
	}
	return ds, dets, nil
}

func readFile[T any](name string, f func(io.Reader) (T, error)) (T, error) {
	fh, err := os.Open(name)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("detection: %w", err)
	}
	defer fh.Close()
	return f(fh)
}

// Candidates are the boxes of `wavenet detect nms`: read from detection
// text lines or a COCO results list, each with the group it is suppressed
// within.
type Candidates struct {
	Boxes  []Box
	Scores []float64
	// Groups number the classes of text input, the (image, category)
	// pairs of COCO input, from 0 in order of appearance.
	Groups []int64
	Text   []TextBox   // text input, one per box
	COCO   []Detection // COCO input, one per box (Text is nil)
}

// ReadCandidates reads boxes to suppress: a COCO results JSON list when
// name ends in ".json" or data starts with '[', else detection text lines
// "class score a b c d" with the box in format. name is used in errors.
func ReadCandidates(data []byte, name string, format Format) (*Candidates, error) {
	c := &Candidates{}
	if strings.HasSuffix(strings.ToLower(name), ".json") || bytes.HasPrefix(bytes.TrimSpace(data), []byte("[")) {
		dets, err := ReadCOCOResults(bytes.NewReader(data), name, nil)
		if err != nil {
			return nil, err
		}
		type key struct{ img, cat int64 }
		ids := map[key]int64{}
		for _, d := range dets {
			k := key{d.ImageID, d.CategoryID}
			if _, ok := ids[k]; !ok {
				ids[k] = int64(len(ids))
			}
			c.add(d.Box, d.Score, ids[k])
		}
		c.COCO = dets
		return c, nil
	}
	tbs, err := ParseText(bytes.NewReader(data), name, true, TextOptions{Format: format})
	if err != nil {
		return nil, err
	}
	ids := map[string]int64{}
	for _, tb := range tbs {
		if _, ok := ids[tb.Class]; !ok {
			ids[tb.Class] = int64(len(ids))
		}
		c.add(tb.Box, tb.Score, ids[tb.Class])
	}
	c.Text = tbs
	return c, nil
}

func (c *Candidates) add(b Box, score float64, group int64) {
	c.Boxes, c.Scores, c.Groups = append(c.Boxes, b), append(c.Scores, score), append(c.Groups, group)
}

// NMS runs GroupedNMS over the candidates.
func (c *Candidates) NMS(opt SoftNMSOptions) (keep []int, kept []float64) {
	return GroupedNMS(c.Boxes, c.Scores, c.Groups, opt)
}

// WriteKept writes the candidates keep with their new scores in the form
// they were read: a COCO results JSON list (boxes as xywh), or text lines
// "class score a b c d" with the box in format and numbers in the
// shortest form that reads back exactly.
func (c *Candidates) WriteKept(w io.Writer, keep []int, scores []float64, format Format) error {
	if c.Text == nil {
		out := make([]map[string]any, len(keep))
		for i, k := range keep {
			d := c.COCO[k]
			out[i] = map[string]any{"image_id": d.ImageID, "category_id": d.CategoryID, "bbox": d.Box.In(XYWH), "score": scores[i]}
		}
		if err := json.NewEncoder(w).Encode(out); err != nil {
			return fmt.Errorf("detection: write json: %w", err)
		}
		return nil
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for i, k := range keep {
		b := c.Text[k].Box.In(format)
		if _, err := fmt.Fprintf(w, "%s %s %s %s %s %s\n", c.Text[k].Class, num(scores[i]), num(b[0]), num(b[1]), num(b[2]), num(b[3])); err != nil {
			return fmt.Errorf("detection: write: %w", err)
		}
	}
	return nil
}

// GroupedNMS suppresses boxes only against boxes of the same group (class,
// or image and class). With opt.Method zero it is NMS (BatchedNMS at
// opt.IoU) keeping boxes that score at least opt.ScoreThreshold; with a
// Soft-NMS method it runs SoftNMS per group, groups in order of first
// appearance. It returns the kept indices and their (decayed) scores by
// descending score, equal scores lower index first.
func GroupedNMS(boxes []Box, scores []float64, groups []int64, opt SoftNMSOptions) (keep []int, kept []float64) {
	if opt.Method == 0 {
		for _, k := range BatchedNMS(boxes, scores, groups, opt.IoU) {
			if scores[k] >= opt.ScoreThreshold {
				keep = append(keep, k)
				kept = append(kept, scores[k])
			}
		}
		return keep, kept
	}
	byGroup := map[int64][]int{}
	var order []int64
	for i, g := range groups {
		if _, ok := byGroup[g]; !ok {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], i)
	}
	for _, g := range order {
		idx := byGroup[g]
		bs := make([]Box, len(idx))
		ss := make([]float64, len(idx))
		for i, j := range idx {
			bs[i], ss[i] = boxes[j], scores[j]
		}
		k, s := SoftNMS(bs, ss, opt)
		for i := range k {
			keep = append(keep, idx[k[i]])
			kept = append(kept, s[i])
		}
	}
	// Descending score; equal scores: lower index first.
	perm := make([]int, len(keep))
	for i := range perm {
		perm[i] = i
	}
	sort.Slice(perm, func(a, b int) bool {
		pa, pb := perm[a], perm[b]
		return kept[pa] > kept[pb] || (kept[pa] == kept[pb] && keep[pa] < keep[pb])
	})
	k2, s2 := make([]int, len(keep)), make([]float64, len(keep))
	for i, p := range perm {
		k2[i], s2[i] = keep[p], kept[p]
	}
	return k2, s2
}
