package detectionapi

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/api/internal/featuretest"
	"github.com/wavenet-go/wavenet/detection"
)

// detectionServer is a server without models: the detection routes need
// none.
func detectionServer(t *testing.T) string {
	t.Helper()
	return featuretest.Serve(t, api.Options{Features: []api.Feature{New(Options{})}})
}

// errorBody is api's one error shape.
type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

// postDetection posts body and decodes the JSON answer into v (when the
// status is 200) and returns the status and the error body.
func postDetection(t *testing.T, url, body string, v any) (int, errorBody) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var eb errorBody
	if res.StatusCode != http.StatusOK {
		if err := json.Unmarshal(b, &eb); err != nil {
			t.Fatalf("POST %s: status %d, body %q is not the error JSON: %v", url, res.StatusCode, b, err)
		}
		return res.StatusCode, eb
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("POST %s: %v in %q", url, err, b)
	}
	return res.StatusCode, eb
}

func TestDetectionIoU(t *testing.T) {
	url := detectionServer(t) + "/v1/detection/iou"
	var got struct {
		IoU [][]float64 `json:"iou"`
	}
	// (0,0,10,10) vs (5,0,15,10): 50/150 = 1/3 continuous; in pixels 66/176.
	for _, tc := range []struct {
		body string
		want float64
	}{
		{`{"boxes1": [[0,0,10,10]], "boxes2": [[5,0,15,10], [0,0,10,10]]}`, 1.0 / 3},
		{`{"boxes1": [[0,0,10,10]], "boxes2": [[5,0,10,10], [0,0,10,10]], "format": "xywh"}`, 1.0 / 3},
		{`{"boxes1": [[0,0,10,10]], "boxes2": [[5,0,15,10], [0,0,10,10]], "pixel": true}`, 66.0 / 176},
	} {
		if code, eb := postDetection(t, url, tc.body, &got); code != 200 {
			t.Fatalf("POST iou %s = %d %+v", tc.body, code, eb)
		}
		if len(got.IoU) != 1 || len(got.IoU[0]) != 2 || math.Abs(got.IoU[0][0]-tc.want) > 1e-12 || got.IoU[0][1] != 1 {
			t.Errorf("POST iou %s = %v, want [[%v 1]]", tc.body, got.IoU, tc.want)
		}
	}
}

func TestDetectionNMS(t *testing.T) {
	url := detectionServer(t) + "/v1/detection/nms"
	var got struct {
		Keep   []int     `json:"keep"`
		Scores []float64 `json:"scores"`
	}
	// Box 1 (0.95) suppresses box 0 (IoU 90/110 > .5), not box 2 (60/140);
	// box 3 is apart.
	body := `{"boxes": [[0,0,10,10],[1,0,11,10],[5,0,15,10],[50,50,60,60]], "scores": [0.9, 0.95, 0.8, 0.1], "iou_threshold": 0.5}`
	if code, eb := postDetection(t, url, body, &got); code != 200 {
		t.Fatalf("POST nms = %d %+v", code, eb)
	}
	if want := []int{1, 2, 3}; !slices.Equal(got.Keep, want) {
		t.Errorf("POST nms keep = %v, want %v", got.Keep, want)
	}
	// Different classes never suppress each other.
	body = `{"boxes": [[0,0,10,10],[1,0,11,10]], "scores": [0.9, 0.95], "classes": [1, 2]}`
	if code, eb := postDetection(t, url, body, &got); code != 200 || !slices.Equal(got.Keep, []int{1, 0}) {
		t.Errorf("POST nms with classes = %d %+v %v, want keep [1 0]", code, eb, got.Keep)
	}
	// Gaussian Soft-NMS keeps both, decaying the second:
	// 0.9 * exp(-(90/110)^2 / 0.5).
	body = `{"boxes": [[0,0,10,10],[1,0,11,10]], "scores": [0.9, 0.95], "soft": "gaussian", "sigma": 0.5}`
	if code, eb := postDetection(t, url, body, &got); code != 200 || len(got.Scores) != 2 ||
		math.Abs(got.Scores[1]-0.9*math.Exp(-(90.0/110)*(90.0/110)/0.5)) > 1e-12 {
		t.Errorf("POST nms soft = %d %+v %v, want decayed second score", code, eb, got.Scores)
	}
}

func TestDetectionEvaluate(t *testing.T) {
	url := detectionServer(t) + "/v1/detection/evaluate"
	gt := `{"images": [{"id": 1}, {"id": 2}], "categories": [{"id": 1, "name": "cat"}],
"annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0},
{"id": 2, "image_id": 2, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0}]}`
	// Image 1: a perfect detection; image 2: only a miss. 2 gt, TP then FP:
	// COCO AP at every threshold = 51/101 (precision 1 up to recall .5);
	// VOC all-point AP .5.
	dets := `[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},
{"image_id": 2, "category_id": 1, "bbox": [50, 50, 10, 10], "score": 0.8}]`
	var got struct {
		Metric  string   `json:"metric"`
		MAP     float64  `json:"map"`
		Summary []string `json:"summary"`
		COCO    *struct {
			Stats []float64 `json:"stats"`
		} `json:"coco"`
	}
	body := `{"ground_truth": ` + gt + `, "detections": ` + dets + `}`
	if code, eb := postDetection(t, url, body, &got); code != 200 {
		t.Fatalf("POST evaluate = %d %+v", code, eb)
	}
	if got.Metric != "coco" || math.Abs(got.MAP-51.0/101) > 1e-12 || got.COCO == nil || len(got.COCO.Stats) != 12 || len(got.Summary) != 12 {
		t.Errorf("POST evaluate = %+v, want coco with map 51/101, 12 stats and 12 summary lines", got)
	}
	if len(got.Summary) > 0 && !strings.HasPrefix(got.Summary[0], " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.505") {
		t.Errorf("summary[0] = %q", got.Summary[0])
	}
	body = `{"metric": "voc", "ground_truth": ` + gt + `, "detections": ` + dets + `}`
	if code, eb := postDetection(t, url, body, &got); code != 200 || got.MAP != 0.5 {
		t.Errorf("POST evaluate voc = %d %+v map %v, want 0.5", code, eb, got.MAP)
	}
}

func TestDetectionErrors(t *testing.T) {
	base := detectionServer(t)
	tests := []struct {
		route, body string
		status      int
		msg         string // in the error message
	}{
		{"iou", `{"boxes1": [[0,0,10,10], [5,0,1,10]]}`, 400, "boxes1[1]: x2: x2 1 < x1 5"},
		{"iou", `{"boxes1": [[0,0,10]]}`, 400, "boxes1[0]: 3 numbers"},
		{"iou", `{"boxes1": [[0,0,-1,10]], "format": "xywh"}`, 400, "negative width"},
		{"iou", `{"boxes1": [[0,0,1,1]], "format": "yolo"}`, 400, "want xyxy, xywh or cxcywh"},
		{"iou", `{"boxes": []}`, 400, "unknown field"},
		{"nms", `{"boxes": [[0,0,1,1]], "scores": []}`, 400, "0 scores for 1 boxes"},
		{"nms", `{"boxes": [[0,0,1,1]], "scores": [1], "iou_threshold": 2}`, 400, "iou_threshold"},
		{"nms", `{"boxes": [[0,0,1,1]], "scores": [1], "soft": "hard"}`, 400, "want linear or gaussian"},
		{"evaluate", `{"detections": []}`, 400, "ground_truth"},
		{"evaluate", `{"ground_truth": {"images": [{"id": 1}], "categories": [{"id": 1}],
"annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, -5, 1]}]}, "detections": []}`, 400, "ground_truth:2: annotations[0].bbox[2]: negative size"},
		{"evaluate", `{"ground_truth": {"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": []},
"detections": [{"image_id": 9, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}]}`, 400, "results[0].image_id: unknown image id 9"},
		{"evaluate", `{"metric": "map", "ground_truth": {}, "detections": []}`, 400, "want voc07, voc or coco"},
	}
	for _, tc := range tests {
		code, eb := postDetection(t, base+"/v1/detection/"+tc.route, tc.body, nil)
		if code != tc.status || !strings.Contains(eb.Error.Message, tc.msg) || eb.Error.Code == "" {
			t.Errorf("POST %s %s = %d %+v, want %d with message containing %q", tc.route, tc.body, code, eb, tc.status, tc.msg)
		}
	}
	// The small routes refuse bodies above 4 MiB before reading them.
	big := `{"boxes1": [` + strings.Repeat(`[0,0,1,1],`, smallBody/10) + `[0,0,1,1]]}`
	if code, eb := postDetection(t, base+"/v1/detection/iou", big, nil); code != http.StatusRequestEntityTooLarge || eb.Error.Code != "too_large" {
		t.Errorf("POST iou with %d bytes = %d %+v, want 413 too_large", len(big), code, eb)
	}
}

// TestEvaluateAdmission: an evaluation whose memory estimate is above the
// budget gets 413 before its body is read; while one evaluation runs
// (held by a stand-in for detection.Evaluate) and MaxEvaluations is 1, a
// second waits QueueWait and gets 429; after it, evaluations run again.
func TestEvaluateAdmission(t *testing.T) {
	const budget = 64 << 10 // 64 KiB: bodies up to 64 KiB / EvalCostFactor
	running, hold := make(chan struct{}), make(chan struct{})
	orig := evaluate
	evaluate = func(ctx context.Context, ds *detection.Dataset, dets []detection.Detection, p detection.Params) (*detection.Result, error) {
		running <- struct{}{}
		<-hold
		return orig(ctx, ds, dets, p)
	}
	t.Cleanup(func() { evaluate = orig })
	url := featuretest.Serve(t, api.Options{Features: []api.Feature{New(Options{MaxEvaluations: 1, MemoryBudget: budget, QueueWait: 50 * time.Millisecond})}}) +
		"/v1/detection/evaluate"
	gt := `{"images": [{"id": 1}], "categories": [{"id": 1, "name": "cat"}],
"annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0}]}`
	body := `{"ground_truth": ` + gt + `, "detections": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9}]}`

	big := `{"ground_truth": ` + gt + `, "detections": [], "pad": "` + strings.Repeat("x", budget/EvalCostFactor) + `"}`
	if code, eb := postDetection(t, url, big, nil); code != http.StatusRequestEntityTooLarge || !strings.Contains(eb.Error.Message, "budget") {
		t.Errorf("POST evaluate of %d bytes with a %d-byte budget = %d %q, want 413 naming the budget", len(big), budget, code, eb.Error.Message)
	}

	first := make(chan int)
	go func() {
		var v map[string]any
		code, _ := postDetection(t, url, body, &v)
		first <- code
	}()
	<-running
	if code, eb := postDetection(t, url, body, nil); code != http.StatusTooManyRequests {
		t.Errorf("POST evaluate while one runs (max 1) = %d %+v, want 429", code, eb)
	}
	close(hold)
	if code := <-first; code != http.StatusOK {
		t.Errorf("the running evaluation = %d, want 200", code)
	}
	go func() { <-running }()
	var v map[string]any
	if code, eb := postDetection(t, url, body, &v); code != http.StatusOK {
		t.Errorf("POST evaluate after the first finished = %d %+v, want 200", code, eb)
	}
}
