"""Write the YOLOX-nano COCO reference fixture with numpy + onnxruntime only.

Usage:
  python3 tools/reference_yolox.py --images target/coco_png \
      --model ../shared/models/yolox_nano.onnx \
      --out tests/fixtures/yolox_nano_coco_reference.json

Reads OUTDIR/<stem>.png from tools/prepare_coco_png.py (checked against its manifest),
runs the YOLOX demo pipeline from yolox_numpy.py (preproc, grid decode, class-aware
multiclass NMS, conf 0.3, IoU 0.45, 2 intra-op threads) and records detections in image
pixels, best score first. The demo's class-aware NMS looks at every class of every row,
so a row can yield detections of two classes; a best-class-only decoder (the plugin's)
does not produce those, so each image also records `second_class_detections`, and each
detection `row` (output row index) and `best_class` (whether it is the row's argmax class).
"""

import argparse
import json
import re
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from yolox_numpy import (SHARED, die, detect, load_labels, make_session, require,
                         sha256_bytes, sha256_file)

CONF, NMS = 0.3, 0.45


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", required=True, help="folder written by prepare_coco_png.py")
    ap.add_argument("--model", default=str(SHARED / "models" / "yolox_nano.onnx"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    images_dir = Path(args.images)
    manifest = json.loads(require(images_dir / "manifest.json", "PNG manifest",
                                  "run tools/prepare_coco_png.py first").read_text())
    labels = load_labels()
    session = make_session(args.model, args.threads)

    images, total, extras = {}, 0, 0
    for stem, entry in sorted(manifest["images"].items()):
        png = require(images_dir / f"{stem}.png", "PNG", "rerun tools/prepare_coco_png.py")
        img = cv2.imread(str(png), cv2.IMREAD_COLOR)
        if img is None:
            die(f"cannot read {png}")
        pixels = sha256_bytes(np.ascontiguousarray(img).tobytes())
        if pixels != entry["pixels_sha256"]:
            die(f"{stem}.png pixels do not match the manifest; rerun prepare_coco_png.py")
        dets, scores = detect(session, img, CONF, NMS)
        best = scores.argmax(axis=1)
        out = [{"class_id": c, "label": labels[c], "score": round(s, 6),
                "box": [round(float(v), 4) for v in box],
                "row": row, "best_class": bool(best[row] == c)}
               for row, c, s, box in dets]
        second = sum(not d["best_class"] for d in out)
        images[stem] = {"width": img.shape[1], "height": img.shape[0], "pixels_sha256": pixels,
                        "second_class_detections": second, "detections": out}
        total += len(out)
        extras += second

    fixture = {
        "model_sha256": sha256_file(args.model),
        "conf": CONF,
        "nms": NMS,
        "onnxruntime": ort.__version__,
        "opencv": cv2.__version__,
        "threads": args.threads,
        "notes": [
            "YOLOX demo preproc: r=min(416/h,416/w), cv2.resize INTER_LINEAR to "
            "(int(w*r),int(h*r)), top-left on a 114 canvas, BGR float32 0..255 CHW.",
            "Post-processing: YOLOX demo multiclass_nms_class_aware: per class, rows with "
            "obj*cls > conf, greedy NMS suppressing IoU > nms; areas WITHOUT the demo's +1.",
            "Boxes [x1,y1,x2,y2] in image pixels (divided by r), rounded to 1e-4; scores to 1e-6.",
            "best_class=false marks a detection from a row whose argmax class is another one "
            "(a best-class-only decoder does not produce it); second_class_detections counts them.",
        ],
        "summary": {
            "images": len(images),
            "images_with_detections": sum(bool(v["detections"]) for v in images.values()),
            "detections": total,
            "second_class_detections": extras,
        },
        "images": images,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(fixture, indent=1)
    # One line per detection, for readable diffs.
    text = re.sub(r'\{\n\s+"class_id"[^{}]*\}', lambda m: json.dumps(json.loads(m[0])), text)
    Path(args.out).write_text(text + "\n")
    print(json.dumps(fixture["summary"]))


if __name__ == "__main__":
    main()
