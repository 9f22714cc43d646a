package detection

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
)

// COCO JSON documents (https://cocodataset.org/#format-data, "Object
// Detection"): an instances file with "images", "categories" and
// "annotations" (bbox is [x, y, width, height]), and a results file that is
// a list of {"image_id", "category_id", "bbox", "score"}.

type cocoImageJSON struct {
	ID       *int64 `json:"id"`
	FileName string `json:"file_name"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
}

type cocoCategoryJSON struct {
	ID   *int64 `json:"id"`
	Name string `json:"name"`
}

type cocoAnnJSON struct {
	ID         *int64     `json:"id"`
	ImageID    *int64     `json:"image_id"`
	CategoryID *int64     `json:"category_id"`
	BBox       []float64  `json:"bbox"`
	Area       *float64   `json:"area"`
	IsCrowd    flexBool   `json:"iscrowd"`
	Ignore     rawIgnored `json:"ignore"` // pycocotools overwrites it with iscrowd
	Difficult  flexBool   `json:"difficult"`
	Score      *float64   `json:"score"`
	Segm       rawIgnored `json:"segmentation"`
}

// rawIgnored skips a value without decoding it (segmentations are large).
type rawIgnored struct{}

func (rawIgnored) UnmarshalJSON([]byte) error { return nil }

// flexBool accepts 0/1 and false/true.
type flexBool bool

func (b *flexBool) UnmarshalJSON(p []byte) error {
	switch string(bytes.TrimSpace(p)) {
	case "0", "false", "null":
		*b = false
	case "1", "true":
		*b = true
	default:
		return fmt.Errorf("want 0, 1, true or false, got %s", p)
	}
	return nil
}

// lineIndex turns byte offsets into 1-based line numbers.
type lineIndex []int

func newLineIndex(data []byte) lineIndex {
	li := lineIndex{0}
	for i, c := range data {
		if c == '\n' {
			li = append(li, i+1)
		}
	}
	return li
}

func (li lineIndex) line(off int64) int {
	return sort.Search(len(li), func(i int) bool { return int64(li[i]) > off })
}

// jsonErr converts a decoding error into an *InputError with a line.
func jsonErr(err error, name string, li lineIndex, base int64, field string) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return &InputError{File: name, Line: li.line(se.Offset - 1), Field: field, Msg: "invalid JSON: " + se.Error()}
	case errors.As(err, &te):
		f := field
		if te.Field != "" {
			f += "." + te.Field
		}
		return &InputError{File: name, Line: li.line(te.Offset - 1), Field: f, Msg: fmt.Sprintf("cannot use JSON %s as %s", te.Value, te.Type)}
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return &InputError{File: name, Line: len(li), Field: field, Msg: "unexpected end of JSON"}
	}
	return &InputError{File: name, Line: li.line(base), Field: field, Msg: err.Error()}
}

// arrayElems decodes a JSON array from dec (reading data) element by
// element, calling f with each element's raw bytes and starting offset.
func arrayElems(dec *json.Decoder, data []byte, name string, li lineIndex, field string, f func(i int, off int64, raw json.RawMessage) error) error {
	off := dec.InputOffset()
	tok, err := dec.Token()
	if err != nil {
		return jsonErr(err, name, li, off, field)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return &InputError{File: name, Line: li.line(off), Field: field, Msg: "want a JSON array"}
	}
	for i := 0; dec.More(); i++ {
		// The decoder reports syntax errors relative to where it starts
		// scanning the value: after the separating comma.
		base := dec.InputOffset()
		for base < int64(len(data)) && isSpace(data[base]) {
			base++
		}
		if base < int64(len(data)) && data[base] == ',' {
			base++
		}
		start := base
		for start < int64(len(data)) && isSpace(data[start]) {
			start++
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return &InputError{File: name, Line: li.line(base + se.Offset - 1), Field: fmt.Sprintf("%s[%d]", field, i), Msg: "invalid JSON: " + se.Error()}
			}
			return jsonErr(err, name, li, start, fmt.Sprintf("%s[%d]", field, i))
		}
		if err := f(i, start, raw); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return jsonErr(err, name, li, dec.InputOffset(), field)
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func decodeElem(raw json.RawMessage, v any, name string, li lineIndex, off int64, field string) error {
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			f := field
			if te.Field != "" {
				f += "." + te.Field
			}
			return &InputError{File: name, Line: li.line(off + te.Offset - 1), Field: f, Msg: fmt.Sprintf("cannot use JSON %s as %s", te.Value, te.Type)}
		}
		return &InputError{File: name, Line: li.line(off), Field: field, Msg: err.Error()}
	}
	return nil
}

// bboxOf checks a COCO [x, y, w, h] box.
func bboxOf(bb []float64, name string, line int, field string) (Box, error) {
	if len(bb) != 4 {
		return Box{}, &InputError{File: name, Line: line, Field: field + ".bbox", Msg: fmt.Sprintf("%d numbers, want 4: [x, y, width, height]", len(bb))}
	}
	for i, v := range bb {
		if !finite(v) {
			return Box{}, &InputError{File: name, Line: line, Field: fmt.Sprintf("%s.bbox[%d]", field, i), Msg: fmt.Sprintf("%v is not a finite number", v)}
		}
	}
	for i := 2; i < 4; i++ {
		if bb[i] < 0 {
			return Box{}, &InputError{File: name, Line: line, Field: fmt.Sprintf("%s.bbox[%d]", field, i), Msg: fmt.Sprintf("negative size %v", bb[i])}
		}
	}
	b := BoxFrom(XYWH, bb[0], bb[1], bb[2], bb[3])
	if !finite(b.X2) || !finite(b.Y2) {
		return Box{}, &InputError{File: name, Line: line, Field: field + ".bbox", Msg: "x+width or y+height overflows"}
	}
	return b, nil
}

// ReadCOCO reads a COCO instances document (ground truth). Crowd
// annotations become Crowd objects. An "ignore" key has no effect, as in
// pycocotools (_prepare overwrites it with iscrowd); a non-standard
// "difficult": 1 (VOC converted to COCO) sets Difficult, which VOC metrics
// use and the COCO metric treats as ignored ground truth (pycocotools does
// not read that key).
// The object's Area is the annotation's "area" (used for COCO's area
// ranges) or, when absent, the box area. name is used in errors.
func ReadCOCO(r io.Reader, name string) (*Dataset, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("detection: read %s: %w", name, err)
	}
	li := newLineIndex(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonErr(err, name, li, 0, "")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &InputError{File: name, Line: 1, Msg: "want a JSON object with images, categories and annotations"}
	}
	ds := &Dataset{}
	seen := map[string]bool{}
	for dec.More() {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(err, name, li, off, "")
		}
		key, _ := tok.(string)
		seen[key] = true
		switch key {
		case "images":
			err = arrayElems(dec, data, name, li, "images", func(i int, off int64, raw json.RawMessage) error {
				var im cocoImageJSON
				f := fmt.Sprintf("images[%d]", i)
				if err := decodeElem(raw, &im, name, li, off, f); err != nil {
					return err
				}
				if im.ID == nil {
					return &InputError{File: name, Line: li.line(off), Field: f + ".id", Msg: "missing"}
				}
				ds.Images = append(ds.Images, Image{ID: *im.ID, Name: im.FileName, Width: im.Width, Height: im.Height})
				return nil
			})
		case "categories":
			err = arrayElems(dec, data, name, li, "categories", func(i int, off int64, raw json.RawMessage) error {
				var c cocoCategoryJSON
				f := fmt.Sprintf("categories[%d]", i)
				if err := decodeElem(raw, &c, name, li, off, f); err != nil {
					return err
				}
				if c.ID == nil {
					return &InputError{File: name, Line: li.line(off), Field: f + ".id", Msg: "missing"}
				}
				ds.Categories = append(ds.Categories, Category{ID: *c.ID, Name: c.Name})
				return nil
			})
		case "annotations":
			err = arrayElems(dec, data, name, li, "annotations", func(i int, off int64, raw json.RawMessage) error {
				var a cocoAnnJSON
				f := fmt.Sprintf("annotations[%d]", i)
				if err := decodeElem(raw, &a, name, li, off, f); err != nil {
					return err
				}
				line := li.line(off)
				for _, m := range []struct {
					p *int64
					n string
				}{{a.ID, "id"}, {a.ImageID, "image_id"}, {a.CategoryID, "category_id"}} {
					if m.p == nil {
						return &InputError{File: name, Line: line, Field: f + "." + m.n, Msg: "missing"}
					}
				}
				b, err := bboxOf(a.BBox, name, line, f)
				if err != nil {
					return err
				}
				area := a.BBox[2] * a.BBox[3]
				if a.Area != nil {
					if !finite(*a.Area) || *a.Area < 0 {
						return &InputError{File: name, Line: line, Field: f + ".area", Msg: fmt.Sprintf("%v is not a finite number >= 0", *a.Area)}
					}
					area = *a.Area
				}
				ds.Objects = append(ds.Objects, Object{ID: *a.ID, ImageID: *a.ImageID, CategoryID: *a.CategoryID,
					Box: b, Area: area, Crowd: bool(a.IsCrowd), Difficult: bool(a.Difficult), boxArea: a.BBox[2] * a.BBox[3]})
				return nil
			})
		default:
			var skip rawIgnored
			if derr := dec.Decode(&skip); derr != nil {
				err = jsonErr(derr, name, li, off, key)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonErr(err, name, li, dec.InputOffset(), "")
	}
	for _, k := range []string{"images", "categories", "annotations"} {
		if !seen[k] {
			return nil, &InputError{File: name, Field: k, Msg: "missing: a COCO instances file has images, categories and annotations"}
		}
	}
	// Unknown ids, with the line of the annotation.
	imgs := map[int64]bool{}
	for _, im := range ds.Images {
		imgs[im.ID] = true
	}
	cats := map[int64]bool{}
	for _, c := range ds.Categories {
		cats[c.ID] = true
	}
	if _, err := newIndex(ds); err != nil {
		return nil, at(err, name, 0, "")
	}
	for i, o := range ds.Objects {
		if !imgs[o.ImageID] {
			return nil, &InputError{File: name, Field: fmt.Sprintf("annotations[%d].image_id", i), Msg: fmt.Sprintf("unknown image id %d", o.ImageID)}
		}
		if !cats[o.CategoryID] {
			return nil, &InputError{File: name, Field: fmt.Sprintf("annotations[%d].category_id", i), Msg: fmt.Sprintf("unknown category id %d", o.CategoryID)}
		}
	}
	return ds, nil
}

// resultRec is one results record read by the fast scanner.
type resultRec struct {
	imageID, categoryID   int64
	bbox                  [4]float64
	score                 float64
	hasImg, hasCat, hasBB bool
	hasScore              bool
}

// ReadCOCOResults reads a COCO results list (detections) for ds. Image and
// category ids must exist in ds (pycocotools loadRes asserts the images);
// a nil ds accepts any ids.
func ReadCOCOResults(r io.Reader, name string, ds *Dataset) ([]Detection, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("detection: read %s: %w", name, err)
	}
	// Fast path: one Unmarshal of the whole list. Any problem sends the
	// document through the element-by-element reader, which says on which
	// line it is.
	if recs, ok := scanResults(data); ok {
		if dets, ok := resultsFast(recs, ds); ok {
			return dets, nil
		}
	}
	return readCOCOResultsSlow(data, name, ds)
}

// resultsFast converts decoded records when they are all valid.
func resultsFast(recs []resultRec, ds *Dataset) ([]Detection, bool) {
	var imgs, cats map[int64]bool
	if ds != nil {
		imgs = make(map[int64]bool, len(ds.Images))
		for _, im := range ds.Images {
			imgs[im.ID] = true
		}
		cats = make(map[int64]bool, len(ds.Categories))
		for _, c := range ds.Categories {
			cats[c.ID] = true
		}
	}
	dets := make([]Detection, len(recs))
	for i := range recs {
		a := &recs[i]
		if !a.hasImg || !a.hasCat || !a.hasScore || !a.hasBB || !finite(a.score) {
			return nil, false
		}
		if ds != nil && (!imgs[a.imageID] || !cats[a.categoryID]) {
			return nil, false
		}
		bb := a.bbox
		if !finite(bb[0]) || !finite(bb[1]) || !finite(bb[2]) || !finite(bb[3]) || bb[2] < 0 || bb[3] < 0 {
			return nil, false
		}
		b := BoxFrom(XYWH, bb[0], bb[1], bb[2], bb[3])
		if !finite(b.X2) || !finite(b.Y2) {
			return nil, false
		}
		dets[i] = Detection{ImageID: a.imageID, CategoryID: a.categoryID, Box: b, Score: a.score, boxArea: bb[2] * bb[3]}
	}
	return dets, true
}

func readCOCOResultsSlow(data []byte, name string, ds *Dataset) ([]Detection, error) {
	li := newLineIndex(data)
	imgs := map[int64]bool{}
	cats := map[int64]bool{}
	if ds != nil {
		for _, im := range ds.Images {
			imgs[im.ID] = true
		}
		for _, c := range ds.Categories {
			cats[c.ID] = true
		}
	}
	var dets []Detection
	dec := json.NewDecoder(bytes.NewReader(data))
	err := arrayElems(dec, data, name, li, "results", func(i int, off int64, raw json.RawMessage) error {
		var a cocoAnnJSON
		f := fmt.Sprintf("results[%d]", i)
		if err := decodeElem(raw, &a, name, li, off, f); err != nil {
			return err
		}
		line := li.line(off)
		switch {
		case a.ImageID == nil:
			return &InputError{File: name, Line: line, Field: f + ".image_id", Msg: "missing"}
		case a.CategoryID == nil:
			return &InputError{File: name, Line: line, Field: f + ".category_id", Msg: "missing"}
		case a.Score == nil:
			return &InputError{File: name, Line: line, Field: f + ".score", Msg: "missing"}
		case ds != nil && !imgs[*a.ImageID]:
			return &InputError{File: name, Line: line, Field: f + ".image_id", Msg: fmt.Sprintf("unknown image id %d (not in the ground truth)", *a.ImageID)}
		case ds != nil && !cats[*a.CategoryID]:
			return &InputError{File: name, Line: line, Field: f + ".category_id", Msg: fmt.Sprintf("unknown category id %d (not in the ground truth)", *a.CategoryID)}
		case !finite(*a.Score):
			return &InputError{File: name, Line: line, Field: f + ".score", Msg: "not a finite number"}
		}
		b, err := bboxOf(a.BBox, name, line, f)
		if err != nil {
			return err
		}
		dets = append(dets, Detection{ImageID: *a.ImageID, CategoryID: *a.CategoryID, Box: b, Score: *a.Score, boxArea: a.BBox[2] * a.BBox[3]})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, &InputError{File: name, Line: li.line(dec.InputOffset()), Msg: "extra data after the results list"}
	}
	return dets, nil
}
