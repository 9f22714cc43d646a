// Package detectionapi serves package detection over the REST API:
// pairwise IoU matrices (POST /v1/detection/iou), hard and Soft-NMS
// (POST /v1/detection/nms, torchvision semantics; Bodla et al. 2017,
// arXiv:1704.04503) and Pascal VOC / COCO evaluation of detections
// (POST /v1/detection/evaluate, following the VOC devkit and pycocotools'
// COCOeval), all over JSON. New returns the routes as an api.Feature for
// the binary to mount; package api does not import this package, so the
// synthesis service's own dependencies stay free of detection.
package detectionapi
