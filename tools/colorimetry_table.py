"""Detections on YUV input against the BGR path, per colorimetry (docs/edgedetect.md).

The first N COCO photos of target/coco_png (decoded once to PNG) go through
`edgedetect` (YOLOX-nano, conf 0.3) as BGR, and through `videoconvert` as
I420 with each colorimetry; every BGR box is matched to a box of the same
class with IoU >= 0.8 (greedy, best IoU first), and the confidence
differences of the matches are summarised.

    GST_PLUGIN_PATH=target/release python3 tools/colorimetry_table.py \
        --model ../shared/models/yolox_nano.onnx --labels ../shared/models/coco.names
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile


def run(dirname, n, fmt, model, labels, out):
    caps = "video/x-raw,format=BGR" if fmt == "BGR" else f"video/x-raw,format=I420,colorimetry={fmt}"
    desc = (
        f"multifilesrc location={dirname}/%d.png index=0 stop-index={n - 1} caps=image/png,framerate=1/1 ! "
        f"pngdec ! videoconvert ! {caps} ! "
        f"edgedetect model={model} labels={labels} conf-threshold=0.3 iou-threshold=0.45 threads=2 ! "
        f"edgejson location={out} ! fakesink"
    )
    subprocess.run(["gst-launch-1.0", "-q", *desc.split()], check=True)
    with open(out) as f:
        return [json.loads(line) for line in f if line.strip()]


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def compare(ref, got):
    missed, diffs = 0, []
    for fr, fg in zip(ref, got):
        used = set()
        for r in fr["objects"]:
            best = None
            for j, g in enumerate(fg["objects"]):
                if j in used or g["class_id"] != r["class_id"]:
                    continue
                v = iou(r["box"], g["box"])
                if v >= 0.8 and (best is None or v > best[1]):
                    best = (j, v)
            if best is None:
                missed += 1
            else:
                used.add(best[0])
                diffs.append(abs(fg["objects"][best[0]]["confidence"] - r["confidence"]))
    diffs.sort()
    mean = sum(diffs) / len(diffs)
    p95 = diffs[min(len(diffs) - 1, int(0.95 * len(diffs)))]
    return missed, mean, p95, diffs[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--pngs", default="target/coco_png")
    ap.add_argument("-n", type=int, default=30)
    ap.add_argument(
        "--colorimetry", nargs="+", default=["bt601", "bt709", "1:3:5:1", "bt2020"]
    )
    args = ap.parse_args()
    pngs = sorted(p for p in os.listdir(args.pngs) if p.endswith(".png"))[: args.n]
    if len(pngs) < args.n:
        sys.exit(f"{args.pngs}: only {len(pngs)} PNGs")
    with tempfile.TemporaryDirectory() as d:
        for i, p in enumerate(pngs):
            os.symlink(os.path.abspath(os.path.join(args.pngs, p)), os.path.join(d, f"{i}.png"))
        ref = run(d, args.n, "BGR", args.model, args.labels, os.path.join(d, "bgr.jsonl"))
        boxes = sum(len(f["objects"]) for f in ref)
        print(f"BGR: {boxes} boxes on {len(ref)} photos")
        print("| input | missed | confidence difference mean / p95 / max |")
        print("|---|---|---|")
        for c in args.colorimetry:
            got = run(d, args.n, c, args.model, args.labels, os.path.join(d, "yuv.jsonl"))
            missed, mean, p95, mx = compare(ref, got)
            print(f"| I420, {c} | {missed} | {mean:.4f} / {p95:.3f} / {mx:.3f} |")


if __name__ == "__main__":
    main()
