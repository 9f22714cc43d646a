package detection

import (
	"errors"
	"fmt"
	"strconv"
)

// InputError is a problem in outside data (a text file, a COCO JSON
// document, a request body): where it is and what is wrong.
type InputError struct {
	File  string // file name or request part; empty when unknown
	Line  int    // 1-based line; 0 when unknown
	Field string // e.g. "score", "x2", "annotations[3].bbox"
	Msg   string
}

func (e *InputError) Error() string {
	s := "detection: "
	if e.File != "" {
		s += e.File
		if e.Line > 0 {
			s += ":" + strconv.Itoa(e.Line)
		}
		s += ": "
	} else if e.Line > 0 {
		s += "line " + strconv.Itoa(e.Line) + ": "
	}
	if e.Field != "" {
		s += e.Field + ": "
	}
	return s + e.Msg
}

// at returns err with the location filled in when it is an *InputError,
// and a new *InputError otherwise. field is prefixed to the error's own
// field ("bbox" + "x2" -> "bbox.x2").
func at(err error, file string, line int, field string) error {
	var ie *InputError
	if errors.As(err, &ie) {
		c := *ie
		if c.File == "" {
			c.File = file
		}
		if c.Line == 0 {
			c.Line = line
		}
		switch {
		case field != "" && c.Field != "":
			c.Field = field + "." + c.Field
		case field != "":
			c.Field = field
		}
		return &c
	}
	return &InputError{File: file, Line: line, Field: field, Msg: err.Error()}
}

// Image is one image of a data set.
type Image struct {
	ID            int64  `json:"id"`
	Name          string `json:"file_name,omitempty"`
	Width, Height int    `json:"-"`
}

// Category is one object class.
type Category struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Object is one ground-truth box.
type Object struct {
	ID         int64 // annotation id (COCO); 1-based position otherwise
	ImageID    int64
	CategoryID int64
	Box        Box
	// Area is the object's area for COCO's area ranges: the annotation's
	// "area" field (segment area) in COCO JSON, the box area otherwise.
	Area      float64
	Crowd     bool // COCO iscrowd: matched by intersection over detection area, ignored
	Difficult bool // VOC difficult: ignored

	boxArea float64 // COCO JSON: bbox width*height as given; 0 = Box.Area()
}

// Detection is one scored detector output.
type Detection struct {
	ImageID    int64
	CategoryID int64
	Box        Box
	Score      float64

	boxArea float64 // COCO JSON: bbox width*height as given; 0 = Box.Area()
}

// area is the box area the COCO evaluation uses: pycocotools takes
// width*height of the JSON bbox (loadRes, maskApi.c bbIou), which can
// differ in the last bit from (x+width-x)*(y+height-y); on an area-range
// bound such as 32*32 that decides whether a detection is ignored.
func (d *Detection) area() float64 {
	if d.boxArea != 0 {
		return d.boxArea
	}
	return d.Box.Area()
}

func (o *Object) area() float64 {
	if o.boxArea != 0 {
		return o.boxArea
	}
	return o.Box.Area()
}

// Dataset is ground truth: images, categories and objects. IDs are unique
// within Images and within Categories; every Object refers to both.
type Dataset struct {
	Images     []Image
	Categories []Category
	Objects    []Object
}

// index maps ids to dense positions; images and categories are in
// ascending id order, as pycocotools sorts getImgIds/getCatIds.
type index struct {
	imgs []int64 // sorted ids
	cats []int64
	img  map[int64]int
	cat  map[int64]int
	name map[int64]string // category names
}

func newIndex(ds *Dataset) (*index, error) {
	ix := &index{img: make(map[int64]int, len(ds.Images)), cat: make(map[int64]int, len(ds.Categories)),
		name: make(map[int64]string, len(ds.Categories))}
	for i, im := range ds.Images {
		if _, dup := ix.img[im.ID]; dup {
			return nil, &InputError{Field: fmt.Sprintf("images[%d].id", i), Msg: fmt.Sprintf("image id %d used twice", im.ID)}
		}
		ix.img[im.ID] = 0
		ix.imgs = append(ix.imgs, im.ID)
	}
	for i, c := range ds.Categories {
		if _, dup := ix.cat[c.ID]; dup {
			return nil, &InputError{Field: fmt.Sprintf("categories[%d].id", i), Msg: fmt.Sprintf("category id %d used twice", c.ID)}
		}
		ix.cat[c.ID] = 0
		ix.cats = append(ix.cats, c.ID)
		ix.name[c.ID] = c.Name
	}
	sortInt64(ix.imgs)
	sortInt64(ix.cats)
	for i, id := range ix.imgs {
		ix.img[id] = i
	}
	for i, id := range ix.cats {
		ix.cat[id] = i
	}
	return ix, nil
}

// check validates the objects and detections against the index.
func (ix *index) check(ds *Dataset, dets []Detection) error {
	for i := range ds.Objects {
		o := &ds.Objects[i]
		if _, ok := ix.img[o.ImageID]; !ok {
			return &InputError{Field: idxField("objects", i, ".image_id"), Msg: fmt.Sprintf("unknown image id %d", o.ImageID)}
		}
		if _, ok := ix.cat[o.CategoryID]; !ok {
			return &InputError{Field: idxField("objects", i, ".category_id"), Msg: fmt.Sprintf("unknown category id %d", o.CategoryID)}
		}
		if err := o.Box.Validate(); err != nil {
			return at(err, "", 0, idxField("objects", i, ".box"))
		}
		if !finite(o.Area) || o.Area < 0 {
			return &InputError{Field: idxField("objects", i, ".area"), Msg: fmt.Sprintf("area %v is not a finite number >= 0", o.Area)}
		}
	}
	for i := range dets {
		d := &dets[i]
		if _, ok := ix.img[d.ImageID]; !ok {
			return &InputError{Field: idxField("detections", i, ".image_id"), Msg: fmt.Sprintf("unknown image id %d (not in the ground truth)", d.ImageID)}
		}
		if _, ok := ix.cat[d.CategoryID]; !ok {
			return &InputError{Field: idxField("detections", i, ".category_id"), Msg: fmt.Sprintf("unknown category id %d (not in the ground truth)", d.CategoryID)}
		}
		if err := d.Box.Validate(); err != nil {
			return at(err, "", 0, idxField("detections", i, ".box"))
		}
		if !finite(d.Score) {
			return &InputError{Field: idxField("detections", i, ".score"), Msg: fmt.Sprintf("score %v is not a finite number", d.Score)}
		}
	}
	return nil
}

// idxField is "name[i]sub", built only when an error is reported.
func idxField(name string, i int, sub string) string {
	return name + "[" + strconv.Itoa(i) + "]" + sub
}

// categoryName is the category's name, or its id when it has none.
func (ix *index) categoryName(id int64) string {
	if n := ix.name[id]; n != "" {
		return n
	}
	return strconv.FormatInt(id, 10)
}
