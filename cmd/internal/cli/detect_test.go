package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runDetectCmd(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(stdin)}
	err := commands["detect"].Run(context.Background(), env, args)
	return out.String(), err
}

// The Object-Detection-Metrics sample (detection/testdata/odm, see its
// README): published AP 24.57% (all-point) and 26.84% (11-point) at IoU 0.3.
func TestDetectEvalText(t *testing.T) {
	gt, det := "../../../detection/testdata/odm/groundtruths", "../../../detection/testdata/odm/detections"
	plots := filepath.Join(t.TempDir(), "plots")
	for _, tc := range []struct{ metric, want string }{{"voc", "0.2457"}, {"voc07", "0.2684"}} {
		out, err := runDetectCmd(t, "", "eval", "--gt", gt, "--det", det, "--metric", tc.metric, "--iou", "0.3", "--box-format", "xywh", "--plots", plots)
		if err != nil {
			t.Fatalf("detect eval --metric %s: %v", tc.metric, err)
		}
		if !strings.Contains(out, "person") || !strings.Contains(out, tc.want) {
			t.Errorf("detect eval --metric %s printed\n%s\nwant a person row with AP %s", tc.metric, out, tc.want)
		}
	}
	if fi, err := os.Stat(filepath.Join(plots, "person.png")); err != nil || fi.Size() == 0 {
		t.Errorf("--plots: person.png: %v", err)
	}
	out, err := runDetectCmd(t, "", "eval", "--gt", gt, "--det", det, "--metric", "voc", "--iou", "0.3", "--box-format", "xywh", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Metric string  `json:"metric"`
		MAP    float64 `json:"map"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Metric != "voc" || res.MAP < 0.2456 || res.MAP > 0.2458 {
		t.Errorf("detect eval --json = %+v, %v, want metric voc and map 0.2457", res, err)
	}
}

// COCO metric on text files: one class, boxes as given (area = box area).
func TestDetectEvalTextCOCO(t *testing.T) {
	out, err := runDetectCmd(t, "", "eval", "--gt", "../../../detection/testdata/odm/groundtruths",
		"--det", "../../../detection/testdata/odm/detections", "--box-format", "xywh", "--metric", "coco", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Metric string `json:"metric"`
		COCO   struct {
			Stats []float64 `json:"stats"`
		} `json:"coco"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Metric != "coco" || len(res.COCO.Stats) != 12 {
		t.Errorf("detect eval --metric coco --json on text files = %+v, %v", res, err)
	}
}

func TestDetectEvalCOCO(t *testing.T) {
	out, err := runDetectCmd(t, "", "eval", "--gt", "../../../detection/testdata/coco/instances.json",
		"--det", "../../../detection/testdata/coco/results.json", "--metric", "coco")
	if err != nil {
		t.Fatal(err)
	}
	// pycocotools' summarize line layout.
	for _, want := range []string{
		" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = ",
		" Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = ",
		" Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("detect eval --metric coco lacks %q in\n%s", want, out)
		}
	}
}

func TestDetectErrors(t *testing.T) {
	dir := t.TempDir()
	gt, det := filepath.Join(dir, "gt"), filepath.Join(dir, "det")
	for _, d := range []string{gt, det} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(gt, "img.txt"), []byte("cat 0 0 10 10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(det, "img.txt"), []byte("cat 0.9 0 0 10 10\ncat 0.8 5 0 1 10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := runDetectCmd(t, "", "eval", "--gt", gt, "--det", det)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(det, "img.txt")+":2: right:") {
		t.Errorf("detect eval with x2 < x1 on line 2: err = %v, want file:2: right:", err)
	}
	for _, args := range [][]string{
		{"eval", "--gt", gt},
		{"eval", "--gt", gt, "--det", det, "--metric", "ap"},
		{"eval", "--gt", gt, "--det", det, "--relative"},
		{"eval", "--gt", gt, "--det", det, "--relative", "--image-size", "640"},
		{"eval", "--gt", gt, "--det", det, "--iou", "1.5"},
		{"nms"},
		{"nms", "--in", "x", "--soft", "hard"},
		{"frobnicate"},
	} {
		if _, err := runDetectCmd(t, "", args...); !errors.Is(err, ErrUsage) {
			t.Errorf("detect %q: err = %v, want a usage error", args, err)
		}
	}
}

func TestDetectNMS(t *testing.T) {
	in := "cat 0.9 0 0 10 10\ncat 0.95 1 0 11 10\ncat 0.8 5 0 15 10\ndog 0.5 0 0 10 10\n"
	out, err := runDetectCmd(t, in, "nms", "--in", "-", "--iou", "0.5")
	if err != nil {
		t.Fatal(err)
	}
	// cat 0.95 suppresses cat 0.9 (IoU 90/110 = .82 > .5), not cat 0.8
	// (IoU 60/140 = .43); dog is another class.
	want := "cat 0.95 1 0 11 10\ncat 0.8 5 0 15 10\ndog 0.5 0 0 10 10\n"
	if out != want {
		t.Errorf("detect nms printed\n%s\nwant\n%s", out, want)
	}
	out, err = runDetectCmd(t, `[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},
{"image_id": 1, "category_id": 1, "bbox": [1, 0, 10, 10], "score": 0.95},
{"image_id": 2, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9}]`, "nms", "--in", "-", "--iou", "0.5")
	if err != nil {
		t.Fatal(err)
	}
	var dets []map[string]any
	if err := json.Unmarshal([]byte(out), &dets); err != nil || len(dets) != 2 {
		t.Errorf("detect nms on JSON printed %s (%v), want 2 detections (one per image)", out, err)
	}
	out, err = runDetectCmd(t, in, "nms", "--in", "-", "--iou", "0.3", "--soft", "linear")
	if err != nil {
		t.Fatal(err)
	}
	// Linear Soft-NMS keeps all four, the overlapped cats decayed.
	if n := strings.Count(out, "\n"); n != 4 || !strings.HasPrefix(out, "cat 0.95 1 0 11 10\n") {
		t.Errorf("detect nms --soft linear printed\n%s\nwant 4 lines starting with cat 0.95", out)
	}
}
