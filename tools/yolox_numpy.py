"""Shared helpers for the Python test tools: asset paths and a numpy YOLOX pipeline.

This is an independent reference of the published YOLOX demo pre/post-processing
(see ../shared/models/README.md), written with numpy + onnxruntime only. It must not
import or mirror plugin code: the Rust side is checked against it.
"""

import hashlib
import os
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

REPO_ROOT = Path(__file__).resolve().parents[1]
# The shared test assets: $EDGEAI_SHARED, else ../shared beside the checkout
# (the same rule as scripts/*.sh and tests/common).
SHARED = Path(os.environ.get("EDGEAI_SHARED") or REPO_ROOT.parent / "shared")
INPUT_SIZE = 416
STRIDES = (8, 16, 32)


def die(msg):
    """Print an error to stderr and exit non-zero."""
    sys.exit(f"error: {msg}")


def require(path, what="shared asset", hint=None):
    """Return `path` as a Path, or exit loudly if it does not exist."""
    path = Path(path)
    if not path.exists():
        die(f"missing {what}: {path} ("
            + (hint or f"shared assets live in {SHARED}: set EDGEAI_SHARED or put them in ../shared") + ")")
    return path


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    return sha256_bytes(Path(path).read_bytes())


def load_labels(path=SHARED / "models" / "coco.names"):
    return [line.strip() for line in require(path).read_text().splitlines() if line.strip()]


def make_session(model, threads):
    """ONNX Runtime CPU session with a fixed intra-op thread count."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(require(model, "model")), opts,
                                providers=["CPUExecutionProvider"])


def preproc(img, size=INPUT_SIZE):
    """YOLOX demo `preproc`: keep aspect, bilinear resize, top-left on a 114 canvas.

    img is HxWx3 uint8 BGR. Returns (1x3xSxS float32 BGR 0..255, r).
    """
    h, w = img.shape[:2]
    r = min(size / h, size / w)
    nw, nh = int(w * r), int(h * r)
    resized = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR).astype(np.uint8)
    canvas = np.full((size, size, 3), 114, dtype=np.uint8)
    canvas[:nh, :nw] = resized
    chw = np.ascontiguousarray(canvas.transpose(2, 0, 1), dtype=np.float32)
    return chw[None], r


def decode(out, size=INPUT_SIZE):
    """Decode YOLOX rows [N,85] into (xyxy boxes in network pixels [N,4] float64,
    scores obj*cls [N,80] float32). Rows are stride 8 first, row-major per grid."""
    grids, strides = [], []
    for s in STRIDES:
        g = size // s
        gy, gx = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
        grids.append(np.stack([gx.ravel(), gy.ravel()], axis=1))
        strides.append(np.full((g * g, 1), s))
    grid = np.concatenate(grids).astype(np.float64)
    stride = np.concatenate(strides).astype(np.float64)
    if out.shape[0] != grid.shape[0]:
        die(f"model gives {out.shape[0]} rows, expected {grid.shape[0]} for {size}x{size}")
    t = out.astype(np.float64)
    cxcy = (t[:, :2] + grid) * stride
    wh = np.exp(t[:, 2:4]) * stride
    boxes = np.concatenate([cxcy - wh / 2, cxcy + wh / 2], axis=1)
    scores = out[:, 4:5] * out[:, 5:]  # float32, like the demo
    return boxes, scores


def nms(boxes, scores, iou_thr):
    """Greedy NMS; returns kept indices, best score first.

    Choice: areas and intersections WITHOUT the demo's "+1" pixel convention
    ((x2-x1+1)*(y2-y1+1) in YOLOX demo_utils.nms). The Rust side uses no +1 either.
    Like the demo, a box is suppressed when IoU > iou_thr. Ties in score are broken by
    row order (stable sort); the demo's argsort()[::-1] leaves tie order unspecified.
    """
    x1, y1, x2, y2 = boxes.T
    areas = np.maximum(0.0, x2 - x1) * np.maximum(0.0, y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        iw = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        ih = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = iw * ih
        union = areas[i] + areas[rest] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[iou <= iou_thr]
    return keep


def multiclass_nms_class_aware(boxes, scores, conf, iou_thr):
    """YOLOX demo `multiclass_nms_class_aware`: every class is considered for every row
    (so one row can yield detections of two classes); per class keep score > conf, then NMS.

    Returns a list of (row, class_id, score, box) sorted by score descending.
    """
    dets = []
    for c in range(scores.shape[1]):
        rows = np.nonzero(scores[:, c] > conf)[0]
        if rows.size == 0:
            continue
        for k in nms(boxes[rows], scores[rows, c].astype(np.float64), iou_thr):
            r = rows[k]
            dets.append((int(r), c, float(scores[r, c]), boxes[r]))
    dets.sort(key=lambda d: (-d[2], d[0], d[1]))
    return dets


def detect(session, img, conf, iou_thr):
    """Full pipeline on one BGR image: returns (dets with boxes in image pixels, scores)."""
    blob, r = preproc(img)
    out = session.run(None, {session.get_inputs()[0].name: blob})[0][0]
    boxes, scores = decode(out)
    dets = multiclass_nms_class_aware(boxes / r, scores, conf, iou_thr)
    return dets, scores
