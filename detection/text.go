package detection

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// TextOptions says how to read per-image text files.
type TextOptions struct {
	// Format of the four box numbers (default XYXY: left top right bottom).
	Format Format
	// Relative coordinates are fractions of the image size, scaled by
	// ImageWidth and ImageHeight (with Format CXCYWH this is the YOLO
	// format).
	Relative                bool
	ImageWidth, ImageHeight float64
	// GTName and DetName prefix file names in errors (the directories).
	GTName, DetName string
}

// TextBox is one line of a per-image text file.
type TextBox struct {
	Class     string
	Score     float64 // detections only
	Box       Box
	Difficult bool // ground truth only: the line ends in "difficult"
	Line      int
}

var fieldNames = [...][4]string{
	XYXY:   {"left", "top", "right", "bottom"},
	XYWH:   {"left", "top", "width", "height"},
	CXCYWH: {"center_x", "center_y", "width", "height"},
}

func (o TextOptions) check() error {
	if o.Format < XYXY || o.Format > CXCYWH {
		return fmt.Errorf("detection: unknown box format %v", o.Format)
	}
	if o.Relative && !(o.ImageWidth > 0 && o.ImageHeight > 0 && finite(o.ImageWidth) && finite(o.ImageHeight)) {
		return fmt.Errorf("detection: relative coordinates need a positive image size, got %vx%v", o.ImageWidth, o.ImageHeight)
	}
	return nil
}

// ParseText reads one per-image text file: ground truth lines
// "class left top right bottom [difficult]" when det is false, detection
// lines "class score left top right bottom" when det is true (the box
// numbers in opt.Format). A class name may contain spaces: the numbers
// are taken from the end of the line. Blank lines and lines starting with
// '#' are skipped. name is used in errors.
func ParseText(r io.Reader, name string, det bool, opt TextOptions) ([]TextBox, error) {
	if err := opt.check(); err != nil {
		return nil, err
	}
	var out []TextBox
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		f := strings.Fields(s)
		tb := TextBox{Line: line}
		need := 5
		if det {
			need = 6
		} else if len(f) >= 6 && f[len(f)-1] == "difficult" {
			tb.Difficult = true
			f = f[:len(f)-1]
		}
		if len(f) < need {
			want := "class left top right bottom [difficult]"
			if det {
				want = "class score left top right bottom"
			}
			return nil, &InputError{File: name, Line: line, Field: "line", Msg: fmt.Sprintf("%d fields, want %q", len(f), want)}
		}
		nums := f[len(f)-4:]
		tb.Class = strings.Join(f[:len(f)-need+1], " ")
		if det {
			v, err := strconv.ParseFloat(f[len(f)-5], 64)
			if err != nil || !finite(v) {
				return nil, &InputError{File: name, Line: line, Field: "score", Msg: fmt.Sprintf("%q is not a finite number", f[len(f)-5])}
			}
			tb.Score = v
		}
		var c [4]float64
		for i, s := range nums {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || !finite(v) {
				return nil, &InputError{File: name, Line: line, Field: fieldNames[opt.Format][i], Msg: fmt.Sprintf("%q is not a finite number", s)}
			}
			c[i] = v
		}
		if opt.Format != XYXY {
			for i := 2; i < 4; i++ {
				if c[i] < 0 {
					return nil, &InputError{File: name, Line: line, Field: fieldNames[opt.Format][i], Msg: fmt.Sprintf("negative size %v", c[i])}
				}
			}
		}
		if opt.Relative {
			c[0] *= opt.ImageWidth
			c[1] *= opt.ImageHeight
			c[2] *= opt.ImageWidth
			c[3] *= opt.ImageHeight
		}
		tb.Box = BoxFrom(opt.Format, c[0], c[1], c[2], c[3])
		if err := tb.Box.Validate(); err != nil {
			var ie *InputError
			if errors.As(err, &ie) && opt.Format == XYXY {
				// Name the field as the file has it.
				switch ie.Field {
				case "x2":
					ie.Field = "right"
				case "y2":
					ie.Field = "bottom"
				}
			}
			return nil, at(err, name, line, "")
		}
		out = append(out, tb)
	}
	if err := sc.Err(); err != nil {
		return nil, &InputError{File: name, Line: line + 1, Msg: err.Error()}
	}
	return out, nil
}

// ReadTextDirs reads a directory of ground-truth files and one of
// detection files, one "<image>.txt" per image in each (the layout of
// Object-Detection-Metrics and Cartucho/mAP). Images are the ground-truth
// files in name order (ids 1, 2, ...); categories are the class names of
// both sides in name order (ids 1, 2, ...). A detection file without a
// ground-truth file is an error; a ground-truth file without detections is
// an image with none. Detections keep file-name then line order, which
// decides ties in score.
func ReadTextDirs(gt, det fs.FS, opt TextOptions) (*Dataset, []Detection, error) {
	gtFiles, err := txtFiles(gt)
	if err != nil {
		return nil, nil, fmt.Errorf("detection: ground truth: %w", err)
	}
	detFiles, err := txtFiles(det)
	if err != nil {
		return nil, nil, fmt.Errorf("detection: detections: %w", err)
	}
	if len(gtFiles) == 0 {
		return nil, nil, errors.New("detection: ground truth: no .txt files")
	}
	ds := &Dataset{}
	imgID := map[string]int64{}
	gtBoxes := make([][]TextBox, len(gtFiles))
	classes := map[string]bool{}
	for i, f := range gtFiles {
		tbs, err := parseFile(gt, f, path.Join(opt.GTName, f), false, opt)
		if err != nil {
			return nil, nil, err
		}
		gtBoxes[i] = tbs
		stem := strings.TrimSuffix(f, path.Ext(f))
		imgID[stem] = int64(i + 1)
		ds.Images = append(ds.Images, Image{ID: int64(i + 1), Name: stem})
		for _, tb := range tbs {
			classes[tb.Class] = true
		}
	}
	detBoxes := make([][]TextBox, len(detFiles))
	detImg := make([]int64, len(detFiles))
	for i, f := range detFiles {
		stem := strings.TrimSuffix(f, path.Ext(f))
		id, ok := imgID[stem]
		if !ok {
			return nil, nil, &InputError{File: path.Join(opt.DetName, f), Msg: fmt.Sprintf("unknown image %q: no ground-truth file %s.txt", stem, stem)}
		}
		tbs, err := parseFile(det, f, path.Join(opt.DetName, f), true, opt)
		if err != nil {
			return nil, nil, err
		}
		detBoxes[i], detImg[i] = tbs, id
		for _, tb := range tbs {
			classes[tb.Class] = true
		}
	}
	names := make([]string, 0, len(classes))
	for c := range classes {
		names = append(names, c)
	}
	slices.Sort(names)
	catID := map[string]int64{}
	for i, n := range names {
		catID[n] = int64(i + 1)
		ds.Categories = append(ds.Categories, Category{ID: int64(i + 1), Name: n})
	}
	for i, tbs := range gtBoxes {
		for _, tb := range tbs {
			ds.Objects = append(ds.Objects, Object{ID: int64(len(ds.Objects) + 1), ImageID: int64(i + 1),
				CategoryID: catID[tb.Class], Box: tb.Box, Area: tb.Box.Area(), Difficult: tb.Difficult})
		}
	}
	var dets []Detection
	for i, tbs := range detBoxes {
		for _, tb := range tbs {
			dets = append(dets, Detection{ImageID: detImg[i], CategoryID: catID[tb.Class], Box: tb.Box, Score: tb.Score})
		}
	}
	return ds, dets, nil
}

func txtFiles(fsys fs.FS) ([]string, error) {
	ents, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && strings.EqualFold(path.Ext(e.Name()), ".txt") {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

func parseFile(fsys fs.FS, name, display string, det bool, opt TextOptions) ([]TextBox, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("detection: %w", err)
	}
	defer f.Close()
	return ParseText(f, display, det, opt)
}
