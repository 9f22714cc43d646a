// Package detection implements object-detection evaluation: boxes in the
// xyxy, xywh and cxcywh formats, intersection over union, non-maximum
// suppression, matching of detections to ground truth, precision/recall and
// average precision under the Pascal VOC and COCO conventions.
//
// Conventions, and where they come from:
//
//   - VOC (Everingham et al., "The PASCAL Visual Object Classes (VOC)
//     Challenge", IJCV 2010; devkit VOCevaldet.m and VOCap.m; the
//     py-faster-rcnn voc_eval.py port): detections of a class are sorted by
//     descending score with a stable sort (ties keep input order); each is
//     assigned to the ground truth of its image with the highest IoU (first
//     one on ties). With IoU >= the threshold it is a true positive if that
//     ground truth is still free, ignored if it is "difficult", and a false
//     positive (duplicate) if it was already taken; below the threshold it is
//     a false positive. IoU uses integer pixels (width = x2 - x1 + 1) unless
//     Params.ContinuousIoU is set. AP is VOC2007's 11-point interpolation
//     (recall levels i*0.1, as numpy's arange/linspace produce them) or
//     VOC2010+'s all-point interpolation (area under the monotone precision
//     envelope). The threshold test is the devkit's IoU >= T; voc_eval.py
//     uses IoU > T and an unstable sort, which differ only on exact ties.
//   - COCO (pycocotools cocoeval.py, evaluate/accumulate/summarize): IoU in
//     continuous coordinates, crowd ground truth matched with intersection
//     over detection area and ignored, per image and category the top 100
//     detections by score (stable sort), greedy matching to the unmatched
//     ground truth of highest IoU at or above the threshold with
//     non-ignored ground truth first, IoU thresholds .50:.05:.95, 101 recall
//     thresholds, area ranges all/small/medium/large and maxDets 1/10/100,
//     giving the 12 numbers of COCOeval.summarize. Thresholds are numpy's
//     float values (np.linspace), recall is tp/npig as numpy divides, box
//     areas are the JSON's width*height (COCO.loadRes, maskApi.c bbIou) and a
//     match with annotation id 0 counts as unmatched, as in pycocotools.
//     testdata/pycocotools holds cases checked against it to 1e-12.
//   - NMS follows torchvision.ops.nms: greedy by descending score, a box is
//     suppressed when its IoU with a kept box is strictly greater than the
//     threshold; BatchedNMS runs it per class. Soft-NMS (Bodla et al., "Soft-NMS
//     -- Improving Object Detection With One Line of Code", ICCV 2017) decays
//     scores linearly or with a Gaussian instead of removing boxes.
//
// Inputs are COCO JSON (instances ground truth and a results list) and
// directories of per-image text files in the format of the
// rafaelpadilla/Object-Detection-Metrics and Cartucho/mAP tools
// ("class left top right bottom [difficult]" for ground truth,
// "class score left top right bottom" for detections). Bad input gives a
// *InputError naming the file, line and field; nothing panics on outside
// data.
package detection
