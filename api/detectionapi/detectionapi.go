package detectionapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/semaphore"

	"github.com/wavenet-go/wavenet/api"
	"github.com/wavenet-go/wavenet/detection"
)

// evaluate is detection.Evaluate; a variable so tests can hold an
// evaluation running.
var evaluate = detection.Evaluate

// Body limits of the detection routes. iou and nms take at most
// smallBody; evaluate takes the server's --max-body-bytes (32 MiB
// by default: roughly 300,000 COCO result records), since a whole
// evaluation arrives in one request. Larger evaluations belong to
// `wavenet detect eval` or need a larger --max-body-bytes.
const (
	smallBody = 4 << 20
	// maxIoUPairs bounds the IoU matrix of one request (about 20 MB of
	// JSON numbers).
	maxIoUPairs = 1 << 20
	// maxNMSBoxes bounds one NMS request: the greedy loop is quadratic in
	// the number of boxes of a class.
	maxNMSBoxes = 20000
)

// Options bound the evaluations the service runs at once. Zero fields
// take the defaults.
type Options struct {
	// MaxEvaluations is how many POST /v1/detection/evaluate requests run
	// at once (default 2); as many more may wait QueueWait for a turn,
	// the rest get 429.
	MaxEvaluations int
	// MemoryBudget bounds the memory of the evaluations running at once
	// (default 512 MiB). A request is estimated at EvalCostFactor times
	// its body (a chunked body: the whole budget): one estimated above
	// the budget gets 413 before its body is read, one that does not fit
	// beside the running ones waits QueueWait, then gets 429.
	MemoryBudget int64
	// QueueWait is how long a request waits for its turn (default 10 s).
	QueueWait time.Duration
}

// EvalCostFactor is the memory an evaluation takes per byte of its
// JSON body: the body itself, the decoded annotations and the
// matching's tables. Measured: a 26 MB COCO request peaked at about
// 150 MB more than the idle server (issue 15), 5.8x; rounded up.
const EvalCostFactor = 6

// New returns the detection feature for api.Options.Features. It holds no
// resources beyond its admission counters.
func New(o Options) api.Feature {
	if o.MaxEvaluations <= 0 {
		o.MaxEvaluations = 2
	}
	if o.MemoryBudget <= 0 {
		o.MemoryBudget = 512 << 20
	}
	if o.QueueWait <= 0 {
		o.QueueWait = 10 * time.Second
	}
	ev := &evaluations{opts: o, waiting: semaphore.NewWeighted(int64(2 * o.MaxEvaluations)),
		running: semaphore.NewWeighted(int64(o.MaxEvaluations)), memory: semaphore.NewWeighted(o.MemoryBudget)}
	return api.Feature{
		Name: "detection",
		Routes: func(g *echo.Group) {
			small := bodyLimit(smallBody)
			g.POST("/detection/iou", handleIoU, small)
			g.POST("/detection/nms", handleNMS, small)
			g.POST("/detection/evaluate", handleEvaluate, ev.admit)
		},
		OpenAPI: openAPI(),
	}
}

// evaluations is the admission of POST /v1/detection/evaluate: a place
// among the admitted (running or waiting), a turn to run, and memory.
type evaluations struct {
	opts                     Options
	waiting, running, memory *semaphore.Weighted
	active                   atomic.Int64
}

// freeAfter is the smallest estimate after which the memory of a
// finished evaluation is handed back to the OS at once when no other
// runs (debug.FreeOSMemory), rather than held by the Go heap.
const freeAfter = 64 << 20

// admit runs the evaluation when its memory estimate fits the budget.
func (ev *evaluations) admit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		budget := ev.opts.MemoryBudget
		est := budget // a body of unknown length may take the whole budget
		if req.ContentLength >= 0 {
			est = max(1, EvalCostFactor*req.ContentLength)
		}
		if est > budget {
			return api.Errorf(http.StatusRequestEntityTooLarge, "too_large",
				"an evaluation of %d MB of JSON needs about %d MB of memory, more than this server's budget for evaluations (%d MB); split it by image or run `wavenet detect eval`",
				req.ContentLength>>20, est>>20, budget>>20)
		}
		if req.Body != nil {
			req.Body = http.MaxBytesReader(c.Response(), req.Body, budget/EvalCostFactor)
		}
		if !ev.waiting.TryAcquire(1) {
			return ev.busy()
		}
		defer ev.waiting.Release(1)
		ctx, cancel := context.WithTimeout(req.Context(), ev.opts.QueueWait)
		defer cancel()
		if err := ev.running.Acquire(ctx, 1); err != nil {
			return ev.waitError(req.Context())
		}
		defer ev.running.Release(1)
		if err := ev.memory.Acquire(ctx, est); err != nil {
			return ev.waitError(req.Context())
		}
		ev.active.Add(1)
		defer func() {
			ev.memory.Release(est)
			if ev.active.Add(-1) == 0 && est >= freeAfter {
				debug.FreeOSMemory()
			}
		}()
		return next(c)
	}
}

// waitError is the answer to a request whose wait ended: the client's
// own end, or 429.
func (ev *evaluations) waitError(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return ev.busy()
}

func (ev *evaluations) busy() error {
	return &api.Error{Status: http.StatusTooManyRequests, Code: "busy", RetryAfter: 5,
		Message: fmt.Sprintf("this server runs %d evaluations at once within %d MB of memory, and they and their queue are full; retry after Retry-After seconds",
			ev.opts.MaxEvaluations, ev.opts.MemoryBudget>>20)}
}

// bodyLimit refuses bodies above n bytes (on top of the server's
// own limit, which applies first).
func bodyLimit(n int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > n {
				return api.Errorf(http.StatusRequestEntityTooLarge, "too_large",
					"request body of %d bytes is larger than this route's limit of %d bytes; send fewer boxes per request", req.ContentLength, n)
			}
			if req.Body != nil {
				req.Body = http.MaxBytesReader(c.Response(), req.Body, n)
			}
			return next(c)
		}
	}
}

// inputError turns a detection input error into a 400 naming the
// field; anything else passes through to the error handler.
func inputError(err error, part string) error {
	var ie *detection.InputError
	if errors.As(err, &ie) {
		msg := strings.TrimPrefix(ie.Error(), "detection: ")
		if part != "" && ie.File == "" {
			msg = part + ": " + msg
		}
		return api.Errorf(http.StatusBadRequest, "bad_request", "%s", msg)
	}
	return err
}

// boxesFrom converts [[a, b, c, d], ...] in format f, naming the bad one.
func boxesFrom(field string, raw [][]float64, f detection.Format) ([]detection.Box, error) {
	out := make([]detection.Box, len(raw))
	for i, r := range raw {
		if len(r) != 4 {
			return nil, badRequest("%s[%d]: %d numbers, want 4 (%s)", field, i, len(r), f)
		}
		if f != detection.XYXY && (r[2] < 0 || r[3] < 0) {
			return nil, badRequest("%s[%d]: negative width or height in %s format", field, i, f)
		}
		b := detection.BoxFrom(f, r[0], r[1], r[2], r[3])
		if err := b.Validate(); err != nil {
			var ie *detection.InputError
			if errors.As(err, &ie) {
				return nil, badRequest("%s[%d]: %s: %s (boxes are %s)", field, i, ie.Field, ie.Msg, f)
			}
			return nil, badRequest("%s[%d]: %v", field, i, err)
		}
		out[i] = b
	}
	return out, nil
}

func parseBoxFormat(s string) (detection.Format, error) {
	if s == "" {
		return detection.XYXY, nil
	}
	f, err := detection.ParseFormat(s)
	if err != nil {
		return 0, badRequest("field \"format\": %q; want xyxy, xywh or cxcywh", s)
	}
	return f, nil
}

type iouRequest struct {
	Boxes1 [][]float64 `json:"boxes1"`
	Boxes2 [][]float64 `json:"boxes2"`
	Format string      `json:"format"`
	Pixel  bool        `json:"pixel"`
}

func handleIoU(c echo.Context) error {
	var req iouRequest
	if err := api.DecodeJSON(c, &req); err != nil {
		return err
	}
	f, err := parseBoxFormat(req.Format)
	if err != nil {
		return err
	}
	if len(req.Boxes2) == 0 {
		req.Boxes2 = req.Boxes1
	}
	if len(req.Boxes1)*len(req.Boxes2) > maxIoUPairs {
		return badRequest("%d x %d boxes is more than %d pairs; split the request", len(req.Boxes1), len(req.Boxes2), maxIoUPairs)
	}
	a, err := boxesFrom("boxes1", req.Boxes1, f)
	if err != nil {
		return err
	}
	b, err := boxesFrom("boxes2", req.Boxes2, f)
	if err != nil {
		return err
	}
	flat := detection.PairwiseIoU(nil, a, b, req.Pixel)
	rows := make([][]float64, len(a))
	for i := range rows {
		rows[i] = flat[i*len(b) : (i+1)*len(b)]
	}
	return c.JSON(http.StatusOK, map[string]any{"iou": rows})
}

type nmsRequest struct {
	Boxes          [][]float64 `json:"boxes"`
	Scores         []float64   `json:"scores"`
	Classes        []int64     `json:"classes"`
	IoUThreshold   *float64    `json:"iou_threshold"`
	Format         string      `json:"format"`
	Soft           string      `json:"soft"`
	Sigma          float64     `json:"sigma"`
	ScoreThreshold float64     `json:"score_threshold"`
}

func handleNMS(c echo.Context) error {
	var req nmsRequest
	if err := api.DecodeJSON(c, &req); err != nil {
		return err
	}
	f, err := parseBoxFormat(req.Format)
	if err != nil {
		return err
	}
	boxes, err := boxesFrom("boxes", req.Boxes, f)
	if err != nil {
		return err
	}
	if len(boxes) > maxNMSBoxes {
		return badRequest("%d boxes is more than %d per request; split the request (by image)", len(boxes), maxNMSBoxes)
	}
	if len(req.Scores) != len(boxes) {
		return badRequest("%d scores for %d boxes; send one score per box", len(req.Scores), len(boxes))
	}
	if req.Classes != nil && len(req.Classes) != len(boxes) {
		return badRequest("%d classes for %d boxes; send one class per box or none", len(req.Classes), len(boxes))
	}
	thr := 0.5
	if req.IoUThreshold != nil {
		thr = *req.IoUThreshold
	}
	if !(thr >= 0 && thr <= 1) {
		return badRequest("field \"iou_threshold\": %v; want a number in [0, 1]", thr)
	}
	if req.Sigma < 0 || req.ScoreThreshold < 0 {
		return badRequest("fields \"sigma\" and \"score_threshold\" must be >= 0")
	}
	for i, s := range req.Scores {
		if !finite(s) {
			return badRequest("scores[%d]: %v is not a finite number", i, s)
		}
	}
	classes := req.Classes
	if classes == nil {
		classes = make([]int64, len(boxes))
	}
	var keep []int
	var scores []float64
	if req.Soft == "" {
		for _, k := range detection.BatchedNMS(boxes, req.Scores, classes, thr) {
			if req.Scores[k] >= req.ScoreThreshold {
				keep = append(keep, k)
				scores = append(scores, req.Scores[k])
			}
		}
	} else {
		m, err := detection.ParseSoftMethod(req.Soft)
		if err != nil {
			return badRequest("field \"soft\": %q; want linear or gaussian (or leave it out for hard NMS)", req.Soft)
		}
		keep, scores = detection.GroupedNMS(boxes, req.Scores, classes, detection.SoftNMSOptions{
			Method: m, IoU: thr, Sigma: req.Sigma, ScoreThreshold: req.ScoreThreshold})
	}
	if keep == nil {
		keep, scores = []int{}, []float64{}
	}
	return c.JSON(http.StatusOK, map[string]any{"keep": keep, "scores": scores})
}

type evalRequest struct {
	Metric        string          `json:"metric"`
	IoUThreshold  *float64        `json:"iou_threshold"`
	ContinuousIoU bool            `json:"continuous_iou"`
	GroundTruth   json.RawMessage `json:"ground_truth"`
	Detections    json.RawMessage `json:"detections"`
	Curves        *bool           `json:"curves"`
}

type evalResponse struct {
	*detection.Result
	Summary []string `json:"summary,omitempty"`
}

func handleEvaluate(c echo.Context) error {
	var req evalRequest
	if err := api.DecodeJSON(c, &req); err != nil {
		return err
	}
	metric := detection.MetricCOCO
	if req.Metric != "" {
		m, err := detection.ParseMetric(req.Metric)
		if err != nil {
			return badRequest("field \"metric\": %q; want voc07, voc or coco", req.Metric)
		}
		metric = m
	}
	thr := 0.5
	if req.IoUThreshold != nil {
		thr = *req.IoUThreshold
	}
	if !(thr > 0 && thr <= 1) {
		return badRequest("field \"iou_threshold\": %v; want a number in (0, 1]", thr)
	}
	if len(bytes.TrimSpace(req.GroundTruth)) == 0 || len(bytes.TrimSpace(req.Detections)) == 0 {
		return badRequest("fields \"ground_truth\" (a COCO instances object) and \"detections\" (a COCO results list) are required")
	}
	ds, err := detection.ReadCOCO(bytes.NewReader(req.GroundTruth), "ground_truth")
	if err != nil {
		return inputError(err, "ground_truth")
	}
	dets, err := detection.ReadCOCOResults(bytes.NewReader(req.Detections), "detections", ds)
	if err != nil {
		return inputError(err, "detections")
	}
	res, err := evaluate(c.Request().Context(), ds, dets, detection.Params{Metric: metric, IoU: thr, ContinuousIoU: req.ContinuousIoU})
	if err != nil {
		return inputError(err, "")
	}
	if req.Curves != nil && !*req.Curves {
		for i := range res.Classes {
			res.Classes[i].Recall, res.Classes[i].Precision = nil, nil
		}
	}
	out := evalResponse{Result: res}
	if res.COCO != nil {
		var b bytes.Buffer
		if err := res.COCO.WriteSummary(&b); err != nil {
			return fmt.Errorf("detectionapi: summary: %w", err)
		}
		out.Summary = strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	}
	return c.JSON(http.StatusOK, out)
}

func openAPI() map[string]any {
	num := map[string]any{"type": "number"}
	str := map[string]any{"type": "string"}
	box := map[string]any{"type": "array", "items": num, "minItems": 4, "maxItems": 4,
		"description": "four numbers in the request's format (xyxy: left, top, right, bottom)"}
	boxes := map[string]any{"type": "array", "items": box}
	format := map[string]any{"type": "string", "enum": []any{"xyxy", "xywh", "cxcywh"}, "default": "xyxy"}
	jsonBody := func(schema any) map[string]any {
		return map[string]any{"application/json": map[string]any{"schema": schema}}
	}
	errBody := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": jsonBody(map[string]any{"$ref": "#/components/schemas/Error"})}
	}
	errs := func(limit string) map[string]any {
		return map[string]any{
			"400": errBody("bad request: the message names the field (e.g. boxes[3]: x2 < x1, ground_truth:12: annotations[4].bbox[2]: negative size)"),
			"401": errBody("missing or invalid API key"),
			"413": errBody("body larger than " + limit),
			"415": errBody("body is not JSON"),
		}
	}
	op := func(operationID, summary, desc string, req, resp map[string]any, limit string) map[string]any {
		r := errs(limit)
		r["200"] = map[string]any{"description": "result", "content": jsonBody(resp)}
		return map[string]any{"post": map[string]any{
			"operationId": operationID, "summary": summary, "description": desc + " Body limit: " + limit + ".",
			"requestBody": map[string]any{"required": true, "content": jsonBody(req)},
			"responses":   r,
		}}
	}
	matrix := map[string]any{"type": "array", "items": map[string]any{"type": "array", "items": num}}
	evaluate := op("evaluateDetections", "evaluate detections: Pascal VOC (11-point or all-point AP) or COCO (the 12 summary numbers)",
		"ground_truth is a COCO instances object (images, categories, annotations with bbox [x, y, width, height], area, iscrowd), detections a COCO results list. metric coco (default) follows pycocotools COCOeval; voc07/voc follow the VOC devkit at iou_threshold with integer-pixel IoU unless continuous_iou. curves=false leaves out the per-class precision-recall curves. Evaluations run a few at once (serve --max-evaluations) within a memory budget (--evaluation-memory; a request is estimated at 6x its body): one above the budget is a 413, one that finds no room within --queue-wait a 429.",
		map[string]any{"type": "object", "required": []any{"ground_truth", "detections"}, "properties": map[string]any{
			"metric":         map[string]any{"type": "string", "enum": []any{"voc07", "voc", "coco"}, "default": "coco"},
			"iou_threshold":  map[string]any{"type": "number", "default": 0.5, "description": "VOC only"},
			"continuous_iou": map[string]any{"type": "boolean", "default": false, "description": "VOC only"},
			"curves":         map[string]any{"type": "boolean", "default": true},
			"ground_truth":   map[string]any{"type": "object", "description": "COCO instances JSON"},
			"detections":     map[string]any{"type": "array", "items": map[string]any{"type": "object"}, "description": "COCO results JSON"}}},
		map[string]any{"type": "object", "properties": map[string]any{
			"metric": str, "iou": num, "map": num,
			"classes": map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{
				"id": map[string]any{"type": "integer"}, "name": str, "gt": map[string]any{"type": "integer"}, "detections": map[string]any{"type": "integer"},
				"tp": map[string]any{"type": "integer"}, "fp": map[string]any{"type": "integer"}, "ap": num, "ap50": num, "ap75": num,
				"recall": map[string]any{"type": "array", "items": num}, "precision": map[string]any{"type": "array", "items": num}}}},
			"coco":    map[string]any{"type": "object", "description": "COCO only: stats (the 12 numbers of COCOeval.summarize), iou_thresholds, area_ranges, max_dets, category_ids"},
			"summary": map[string]any{"type": "array", "items": str, "description": "COCO only: the summary lines as pycocotools prints them"}}},
		"the server's --max-body-bytes (default 32 MiB) and the evaluation memory budget over 6")
	resp := evaluate["post"].(map[string]any)["responses"].(map[string]any)
	resp["413"] = errBody("body larger than the server's limit, or estimated to need more memory than its evaluation budget")
	resp["429"] = errBody("the evaluations running and waiting fill the server's limits; retry after Retry-After seconds")
	return map[string]any{
		"/v1/detection/iou": op("boxIoU", "pairwise IoU of two box lists",
			"IoU of every boxes1[i] with every boxes2[j] (boxes2 defaults to boxes1), continuous coordinates or, with pixel=true, the Pascal VOC integer-pixel convention (width = x2 - x1 + 1). At most 1,048,576 pairs.",
			map[string]any{"type": "object", "required": []any{"boxes1"}, "properties": map[string]any{
				"boxes1": boxes, "boxes2": boxes, "format": format, "pixel": map[string]any{"type": "boolean", "default": false}}},
			map[string]any{"type": "object", "properties": map[string]any{"iou": matrix}}, "4 MiB"),
		"/v1/detection/nms": op("nonMaximumSuppression", "non-maximum suppression (torchvision semantics) or Soft-NMS",
			"Greedy by descending score (ties: lower index first); a box is suppressed when its IoU with a kept box is strictly greater than iou_threshold, separately per class. soft=linear|gaussian decays scores instead (Bodla et al. 2017). Returns the kept indices by descending (decayed) score. At most 20,000 boxes.",
			map[string]any{"type": "object", "required": []any{"boxes", "scores"}, "properties": map[string]any{
				"boxes": boxes, "scores": map[string]any{"type": "array", "items": num},
				"classes":         map[string]any{"type": "array", "items": map[string]any{"type": "integer"}, "description": "one class per box; boxes of different classes never suppress each other"},
				"iou_threshold":   map[string]any{"type": "number", "default": 0.5, "minimum": 0, "maximum": 1},
				"format":          format,
				"soft":            map[string]any{"type": "string", "enum": []any{"linear", "gaussian"}},
				"sigma":           map[string]any{"type": "number", "default": 0.5, "description": "Gaussian Soft-NMS"},
				"score_threshold": map[string]any{"type": "number", "default": 0, "description": "drop boxes scoring below (Soft-NMS default 0.001)"}}},
			map[string]any{"type": "object", "properties": map[string]any{
				"keep": map[string]any{"type": "array", "items": map[string]any{"type": "integer"}}, "scores": map[string]any{"type": "array", "items": num}}}, "4 MiB"),
		"/v1/detection/evaluate": evaluate,
	}
}

func badRequest(format string, args ...any) *api.Error {
	return api.Errorf(http.StatusBadRequest, "bad_request", format, args...)
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
