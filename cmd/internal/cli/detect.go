package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/wavenet-go/wavenet/detection"
	"github.com/wavenet-go/wavenet/internal/plots"
)

const detectUsage = `detect eval --gt PATH --det PATH --metric voc07|voc|coco [flags]
       wavenet detect nms --in FILE --iou T [--soft linear|gaussian --sigma S] [--score-threshold S]

eval: PATH is a directory of per-image text files ("class left top right bottom
[difficult]" for ground truth, "class score left top right bottom" for
detections, one <image>.txt per image) or a COCO JSON file (instances for
--gt, a results list for --det).
nms: FILE holds detection lines "class score left top right bottom" (or is a
COCO results JSON list); "-" reads standard input. Boxes of different
classes (and, for JSON, images) never suppress each other.`

func runDetect(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintf(env.Stderr, "usage: wavenet %s\n", detectUsage)
		return Usagef("detect needs a subcommand: eval or nms")
	}
	switch args[0] {
	case "eval":
		return runDetectEval(ctx, env, args[1:])
	case "nms":
		return runDetectNMS(ctx, env, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintf(env.Stderr, "usage: wavenet %s\n", detectUsage)
		return nil
	}
	return Usagef("unknown detect subcommand %q (want eval or nms)", args[0])
}

func detectImageSize(s string) (w, h float64, err error) {
	a, b, ok := strings.Cut(strings.ToLower(s), "x")
	if ok {
		w, err = strconv.ParseFloat(a, 64)
		if err == nil {
			h, err = strconv.ParseFloat(b, 64)
		}
	}
	if !ok || err != nil || !(w > 0 && h > 0) || w > 1e9 || h > 1e9 {
		return 0, 0, Usagef("--image-size %q: want WIDTHxHEIGHT in pixels, e.g. 640x480", s)
	}
	return w, h, nil
}

func runDetectEval(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "detect eval", detectUsage)
	gt := fs.String("gt", "", "ground truth: directory of <image>.txt files or COCO instances JSON")
	det := fs.String("det", "", "detections: directory of <image>.txt files or COCO results JSON")
	metricS := fs.String("metric", "voc", "voc07 (11-point AP), voc (all-point AP) or coco (AP@[.50:.95] and the 12-number summary)")
	iou := fs.Float64("iou", 0.5, "VOC IoU threshold (a match needs IoU >= T)")
	continuous := fs.Bool("continuous-iou", false, "VOC: continuous IoU instead of the devkit's integer pixels (width = x2-x1+1)")
	boxFormat := fs.String("box-format", "xyxy", "text files: xyxy (left top right bottom), xywh (left top width height) or cxcywh")
	relative := fs.Bool("relative", false, "text files: coordinates are fractions of the image size (needs --image-size)")
	imageSize := fs.String("image-size", "", "text files with --relative: WIDTHxHEIGHT, e.g. 640x480")
	asJSON := fs.Bool("json", false, "print the result as JSON instead of tables")
	plots := fs.String("plots", "", "write a precision-recall curve PNG per class into this directory")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *gt == "" || *det == "" {
		return Usagef("--gt and --det are required")
	}
	metric, err := detection.ParseMetric(*metricS)
	if err != nil {
		return Usagef("--metric: %v", err)
	}
	if !(*iou > 0 && *iou <= 1) {
		return Usagef("--iou %v: want a threshold in (0, 1]", *iou)
	}
	format, err := detection.ParseFormat(*boxFormat)
	if err != nil {
		return Usagef("--box-format: %v", err)
	}
	opt := detection.TextOptions{Format: format, Relative: *relative, GTName: *gt, DetName: *det}
	if *relative {
		if *imageSize == "" {
			return Usagef("--relative needs --image-size WIDTHxHEIGHT")
		}
		if opt.ImageWidth, opt.ImageHeight, err = detectImageSize(*imageSize); err != nil {
			return err
		}
	}
	ds, dets, err := detectLoadInputs(*gt, *det, opt)
	if err != nil {
		return err
	}
	res, err := detection.Evaluate(ctx, ds, dets, detection.Params{Metric: metric, IoU: *iou, ContinuousIoU: *continuous})
	if err != nil {
		return err
	}
	if *plots != "" {
		if err := detectWritePlots(*plots, res); err != nil {
			return err
		}
	}
	if *asJSON {
		return res.WriteJSON(env.Stdout)
	}
	if err := res.WriteTable(env.Stdout); err != nil {
		return err
	}
	if res.COCO != nil {
		fmt.Fprintln(env.Stdout)
		return res.COCO.WriteSummary(env.Stdout)
	}
	return nil
}

// detectLoadInputs checks that --gt and --det exist and reads them
// (detection.ReadInputs).
func detectLoadInputs(gt, det string, opt detection.TextOptions) (*detection.Dataset, []detection.Detection, error) {
	if _, err := os.Stat(gt); err != nil {
		return nil, nil, fmt.Errorf("detect: --gt: %w", err)
	}
	if _, err := os.Stat(det); err != nil {
		return nil, nil, fmt.Errorf("detect: --det: %w", err)
	}
	ds, dets, err := detection.ReadInputs(gt, det, opt)
	if errors.Is(err, detection.ErrMixedInputs) {
		return nil, nil, Usagef("--gt and --det must both be directories of text files or both COCO JSON files")
	}
	return ds, dets, err
}

// detectWritePlots writes <class>.png for every class with ground truth.
func detectWritePlots(dir string, res *detection.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("detect: --plots: %w", err)
	}
	used := map[string]int{}
	for _, c := range res.Classes {
		if c.GT == 0 {
			continue
		}
		name := detectFileName(c.Name)
		if n := used[name]; n > 0 {
			name = fmt.Sprintf("%s_%d", name, n)
		}
		used[name]++
		path := filepath.Join(dir, name+".png")
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("detect: --plots: %w", err)
		}
		err = writePRCurve(f, c, res.Metric)
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("detect: --plots: %w", cerr)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// detectFileName keeps letters, digits, '-', '_' and '.' of a class name.
func detectFileName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 || strings.Trim(b.String(), ".") == "" {
		return "class"
	}
	return b.String()
}

func runDetectNMS(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "detect nms", detectUsage)
	in := fs.String("in", "", `detections: text lines "class score left top right bottom" or a COCO results JSON list; "-" for standard input`)
	iou := fs.Float64("iou", 0.5, "IoU threshold: a box is suppressed when its IoU with a kept box is > T (linear Soft-NMS: decayed when > T)")
	soft := fs.String("soft", "", "Soft-NMS instead of NMS: linear or gaussian")
	sigma := fs.Float64("sigma", 0.5, "Gaussian Soft-NMS sigma")
	scoreThr := fs.Float64("score-threshold", 0, "drop boxes scoring below this (Soft-NMS default 0.001)")
	boxFormat := fs.String("box-format", "xyxy", "text input and output: xyxy, xywh or cxcywh")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *in == "" {
		return Usagef("--in is required")
	}
	if !(*iou >= 0 && *iou <= 1) {
		return Usagef("--iou %v: want a threshold in [0, 1]", *iou)
	}
	if !(*sigma > 0) || !(*scoreThr >= 0) {
		return Usagef("--sigma must be > 0 and --score-threshold >= 0")
	}
	var method detection.SoftMethod
	if *soft != "" {
		m, err := detection.ParseSoftMethod(*soft)
		if err != nil {
			return Usagef("--soft: %v", err)
		}
		method = m
	}
	format, err := detection.ParseFormat(*boxFormat)
	if err != nil {
		return Usagef("--box-format: %v", err)
	}
	var r io.Reader = env.Stdin
	name := "stdin"
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			return fmt.Errorf("detect: %w", err)
		}
		defer f.Close()
		r, name = f, *in
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("detect: read %s: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := detection.ReadCandidates(data, name, format)
	if err != nil {
		return err
	}
	keep, scores := c.NMS(detection.SoftNMSOptions{Method: method, IoU: *iou, Sigma: *sigma, ScoreThreshold: *scoreThr})
	return c.WriteKept(env.Stdout, keep, scores, format)
}

// writePRCurve draws c's precision-recall curve as a 16 x 12 cm PNG to w.
func writePRCurve(w io.Writer, c detection.ClassResult, metric string) error {
	recall, precision, interpolated, err := c.Curve(metric)
	if err != nil {
		return err
	}
	title := fmt.Sprintf("%s: AP %.4f (%s)", c.Name, c.AP, metric)
	return plots.PRCurve(w, title, recall, precision, !interpolated)
}
