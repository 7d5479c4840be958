"""COCO-style mean average precision of detections against reference boxes.

Used by tools/quantize.py with the FP32 model's detections as the reference ("ground
truth") and a quantized candidate's detections as the predictions. Written here instead of
depending on pycocotools or torchmetrics (which pull in a compiler toolchain or PyTorch) for
a few dozen lines; tests in tools/tests/test_detection_map.py check it against hand-computed
values. It follows COCOeval's rules for bounding boxes with one area range:

* per image and class, predictions are taken in descending score order (at most
  `max_dets` of them) and each is matched to the unmatched reference box of the same class
  with the highest IoU, if that IoU is >= the threshold; otherwise it is a false positive;
* per class, all images' predictions are ranked by score (stable), precision is made
  monotone (running maximum from the right) and sampled at the 101 recall points
  0, 0.01, ..., 1 (0 where that recall is never reached); AP is their mean;
* classes without any reference box are left out of the mean (their predictions are not
  counted as false positives anywhere), as COCOeval does; with no reference box at all
  the result is None;
* mAP@0.5 uses IoU 0.5; mAP@0.5:0.95 averages the IoU thresholds 0.50, 0.55, ..., 0.95.

There is no "crowd" or area-range handling: the reference is another model's output.
"""

import numpy as np

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)


def box_iou(a, b):
    """IoU matrix of boxes a [N,4] and b [M,4] (x1, y1, x2, y2)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) -
                 np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) -
                 np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]).clip(0) * (a[:, 3] - a[:, 1]).clip(0)
    area_b = (b[:, 2] - b[:, 0]).clip(0) * (b[:, 3] - b[:, 1]).clip(0)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def match_image(ref_boxes, pred_boxes, thresholds):
    """Greedy COCO matching for one image and one class. pred_boxes must already be in
    descending score order. Returns a bool array [len(thresholds), len(pred)]: true
    positive or not."""
    tp = np.zeros((len(thresholds), len(pred_boxes)), bool)
    if len(ref_boxes) == 0 or len(pred_boxes) == 0:
        return tp
    ious = box_iou(pred_boxes, ref_boxes)
    for t, thr in enumerate(thresholds):
        used = np.zeros(len(ref_boxes), bool)
        for p in range(len(pred_boxes)):
            best, best_iou = -1, min(thr, 1 - 1e-10)
            for g in range(len(ref_boxes)):
                if not used[g] and ious[p, g] >= best_iou:
                    best, best_iou = g, ious[p, g]
            if best >= 0:
                used[best] = True
                tp[t, p] = True
    return tp


def average_precision(scores, tp, n_ref):
    """101-point interpolated AP of one class at one IoU threshold.
    scores: prediction scores; tp: their true-positive flags; n_ref: reference boxes."""
    if n_ref == 0:
        return None
    order = np.argsort(-np.asarray(scores, np.float64), kind="mergesort")
    tp = np.asarray(tp, bool)[order]
    tps, fps = np.cumsum(tp), np.cumsum(~tp)
    recall = tps / n_ref
    precision = tps / np.maximum(tps + fps, np.finfo(np.float64).eps)
    precision = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
    idx = np.searchsorted(recall, RECALL_POINTS, side="left")
    sampled = np.array([precision[i] if i < len(precision) else 0.0 for i in idx])
    return float(sampled.mean())


def evaluate(references, predictions, max_dets=100, thresholds=IOU_THRESHOLDS):
    """references: per image, rows [x1, y1, x2, y2, class_id] (a score column, if present
    after the box, is ignored: pass rows [x1, y1, x2, y2, score, class_id] too).
    predictions: per image, rows [x1, y1, x2, y2, score, class_id].
    Returns {"map50", "map50_95", "per_class": {class: [AP at each threshold]},
    "thresholds"} with mAPs in 0..1, or None values when there is no reference box."""
    if len(references) != len(predictions):
        raise ValueError(f"{len(references)} reference images but {len(predictions)} "
                         "prediction images")
    thresholds = np.asarray(thresholds, np.float64)
    per_class = {}  # class -> [n_ref, [scores], [tp arrays]]
    for refs, preds in zip(references, predictions):
        refs = np.asarray(refs, np.float64).reshape(-1, np.shape(refs)[-1] if len(refs) else 5)
        preds = np.asarray(preds, np.float64).reshape(-1, 6)
        ref_cls = refs[:, -1].astype(int)
        pred_cls = preds[:, 5].astype(int)
        for c in set(ref_cls.tolist()) | set(pred_cls.tolist()):
            r = refs[ref_cls == c, :4]
            p = preds[pred_cls == c]
            p = p[np.argsort(-p[:, 4], kind="mergesort")][:max_dets]
            entry = per_class.setdefault(c, [0, [], []])
            entry[0] += len(r)
            entry[1].append(p[:, 4])
            entry[2].append(match_image(r, p[:, :4], thresholds))
    aps = {}
    for c, (n_ref, scores, tps) in sorted(per_class.items()):
        if n_ref == 0:
            continue
        s = np.concatenate(scores)
        tp = np.concatenate(tps, axis=1)
        aps[c] = [average_precision(s, tp[t], n_ref) for t in range(len(thresholds))]
    if not aps:
        return {"map50": None, "map50_95": None, "per_class": {}, "thresholds":
                thresholds.tolist()}
    table = np.array(list(aps.values()))  # [classes, thresholds]
    i50 = int(np.argmin(np.abs(thresholds - 0.5)))
    return {"map50": float(table[:, i50].mean()), "map50_95": float(table.mean()),
            "per_class": aps, "thresholds": thresholds.tolist()}
