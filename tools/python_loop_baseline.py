"""Seed-style Python loop baseline: OpenCV decode + YOLOX preproc + onnxruntime + numpy NMS.

Usage:
  python3 tools/python_loop_baseline.py --video ../shared/media/vtest.avi \
      --model ../shared/models/yolox_nano.onnx --frames 100 --threads 2

Times the whole loop (decode, preproc, inference, class-aware NMS at conf 0.3 / IoU 0.45,
the same code as tools/reference_yolox.py) over N frames after one warm-up inference, and
prints a JSON summary (frames, seconds, fps, detections per class) as the last line.
"""

import argparse
import json
import sys
import time
from collections import Counter

import cv2
import numpy as np
import onnxruntime as ort

from yolox_numpy import (SHARED, decode, detect, die, load_labels, make_session,
                         multiclass_nms_class_aware, preproc, require)


def serve(cap, session, args):
    """Runs blocks of frames on request: one line in (a count), one line out: the
    block's seconds in total, then spent decoding, pre-processing, in `session.run`
    and decoding outputs + NMS (the body of `detect`, timed stage by stage)."""
    print("ready", flush=True)
    name = session.get_inputs()[0].name
    for line in sys.stdin:
        n = int(line)
        parts = [0.0, 0.0, 0.0, 0.0]
        start = time.perf_counter()
        for _ in range(n):
            t0 = time.perf_counter()
            ok, frame = cap.read()
            if not ok:
                die("video ended: ask for fewer frames")
            t1 = time.perf_counter()
            blob, r = preproc(frame)
            t2 = time.perf_counter()
            out = session.run(None, {name: blob})[0][0]
            t3 = time.perf_counter()
            boxes, scores = decode(out)
            multiclass_nms_class_aware(boxes / r, scores, args.conf, args.nms)
            t4 = time.perf_counter()
            for i, d in enumerate((t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                parts[i] += d
        total = time.perf_counter() - start
        print(" ".join(f"{v:.6f}" for v in [total] + parts), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", default=str(SHARED / "media" / "vtest.avi"))
    ap.add_argument("--model", default=str(SHARED / "models" / "yolox_nano.onnx"))
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--conf", type=float, default=0.3)
    ap.add_argument("--nms", type=float, default=0.45)
    ap.add_argument("--serve", action="store_true",
                    help="for benches/pipeline.rs --interleave: read a frame count per line on "
                         "stdin, run that many more frames of the video, answer the seconds they "
                         "took (perf_counter, the same loop body) and their split (decoding, "
                         "pre-processing, inference, NMS) on stdout; stop at end of input")
    args = ap.parse_args()

    labels = load_labels()
    session = make_session(args.model, args.threads)
    cap = cv2.VideoCapture(str(require(args.video, "video")))
    if not cap.isOpened():
        die(f"OpenCV cannot open {args.video}")
    warm, _ = preproc(np.zeros((576, 768, 3), np.uint8))
    session.run(None, {session.get_inputs()[0].name: warm})

    if args.serve:
        serve(cap, session, args)
        return

    per_class, frames = Counter(), 0
    start = time.perf_counter()
    while frames < args.frames:
        ok, frame = cap.read()
        if not ok:
            break
        dets, _ = detect(session, frame, args.conf, args.nms)
        per_class.update(labels[c] for _, c, _, _ in dets)
        frames += 1
    seconds = time.perf_counter() - start
    if frames < args.frames:
        die(f"video ended after {frames} of {args.frames} frames")
    print(json.dumps({
        "frames": frames, "seconds": round(seconds, 3), "fps": round(frames / seconds, 2),
        "threads": args.threads, "onnxruntime": ort.__version__, "opencv": cv2.__version__,
        "detections": sum(per_class.values()),
        "detections_per_class": dict(sorted(per_class.items())),
    }))


if __name__ == "__main__":
    main()
