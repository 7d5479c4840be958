r"""Detections on YUV input against the BGR path, per colorimetry (docs/edgedetect.md).

The first N COCO photos of target/coco_png (decoded once to PNG) go through
`edgedetect` (YOLOX-nano, conf 0.3) as BGR, and as YUV made two ways:

- numpy (the reference): exact R'G'B' -> Y'CbCr matrix of the colorimetry
  (Kr, Kb of ITU-R BT.601 / BT.709 / BT.2020, limited or full range), chroma
  averaged over each 2x2 block (centred siting: what edgedetect reads, and
  what videoconvert writes too), rounded to nearest; the frames
  are written in GStreamer's default layout and fed through `rawvideoparse`
  with explicit caps;
- `videoconvert` (BGR -> I420 with each colorimetry), as it happens in a real
  pipeline.

Every BGR box is matched to a box of the same class with IoU >= 0.8 (greedy,
best IoU first), and the confidence differences of the matches are
summarised.

    . .venv/bin/activate
    GST_PLUGIN_PATH=target/release python3 tools/colorimetry_table.py \
        --model ../shared/models/yolox_nano.onnx --labels ../shared/models/coco.names

`--planes` instead compares videoconvert's planes with numpy's, per plane;
`--swap bt709` measures numpy's frames with one plane at a time taken from
videoconvert's (which plane makes a gap).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

# (Kr, Kb) of each matrix (ITU-R BT.601, BT.709, BT.2020 non-constant luminance).
KR_KB = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722), "bt2020": (0.2627, 0.0593)}

# (label, format, matrix, full range, colorimetry of the caps) of the numpy rows.
NUMPY_ROWS = [
    ("I420, bt601", "I420", "bt601", False, "bt601"),
    ("I420, bt709", "I420", "bt709", False, "bt709"),
    ("I420, bt2020", "I420", "bt2020", False, "bt2020"),
    ("I420, bt601 full range (`1:4:0:0`)", "I420", "bt601", True, "1:4:0:0"),
    ("I420, bt709 full range (`1:3:5:1`)", "I420", "bt709", True, "1:3:5:1"),
    ("I420, bt2020 full range (`1:6:12:9`)", "I420", "bt2020", True, "1:6:12:9"),
    ("NV12, bt709", "NV12", "bt709", False, "bt709"),
]

VIDEOCONVERT_ROWS = ["bt601", "bt709", "1:3:5:1", "bt2020"]


def rgb_to_yuv_float(rgb, matrix, full_range):
    """Unrounded Y, U, V planes (0..255 scale) of an HxWx3 uint8 R'G'B' image."""
    kr, kb = KR_KB[matrix]
    c = rgb.astype(np.float64) / 255.0
    r, g, b = c[..., 0], c[..., 1], c[..., 2]
    y = kr * r + (1.0 - kr - kb) * g + kb * b
    pb = (b - y) / (2.0 * (1.0 - kb))
    pr = (r - y) / (2.0 * (1.0 - kr))
    if full_range:
        return 255.0 * y, 128.0 + 255.0 * pb, 128.0 + 255.0 * pr
    return 16.0 + 219.0 * y, 128.0 + 224.0 * pb, 128.0 + 224.0 * pr


def box2x2(p):
    """Mean of each 2x2 block; an odd last row/column is repeated (edge)."""
    h, w = p.shape
    p = np.pad(p, ((0, h % 2), (0, w % 2)), mode="edge")
    return (p[0::2, 0::2] + p[1::2, 0::2] + p[0::2, 1::2] + p[1::2, 1::2]) / 4.0


def quantise(p):
    """Rounded to nearest (halves away from zero: all values are >= 0), clamped."""
    return np.clip(np.floor(p + 0.5), 0, 255).astype(np.uint8)


def yuv420(rgb, matrix, full_range):
    """Y (HxW), U and V (ceil(H/2) x ceil(W/2)) uint8 planes, chroma box-averaged."""
    y, u, v = rgb_to_yuv_float(rgb, matrix, full_range)
    return quantise(y), quantise(box2x2(u)), quantise(box2x2(v))


def round_up_4(n):
    return (n + 3) // 4 * 4


def pack(fmt, y, u, v):
    """One frame in GStreamer's default layout (`gst_video_info_set_format`):
    rows padded to 4 bytes (I420: luma and chroma alike; NV12: luma and the
    interleaved UV), the luma plane padded to an even number of rows, planes
    one after the other."""
    h, w = y.shape

    def plane(p, stride, rows=None):
        out = np.zeros((rows or p.shape[0], stride), np.uint8)
        out[: p.shape[0], : p.shape[1]] = p
        return out.tobytes()

    if fmt == "I420":
        cs = round_up_4(u.shape[1])
        return plane(y, round_up_4(w), h + h % 2) + plane(u, cs) + plane(v, cs)
    if fmt == "NV12":
        uv = np.stack([u, v], axis=-1).reshape(u.shape[0], 2 * u.shape[1])
        return plane(y, round_up_4(w), h + h % 2) + plane(uv, round_up_4(w))
    raise ValueError(fmt)


def read_png_rgb(path):
    import cv2

    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"{path}: cannot read")
    return np.ascontiguousarray(bgr[..., ::-1])


def detect_opts(model, labels):
    return (
        f"edgedetect model={model} labels={labels} conf-threshold=0.3 iou-threshold=0.45 threads=2"
    )


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def run_videoconvert(dirname, n, fmt, model, labels, out):
    caps = "video/x-raw,format=BGR" if fmt == "BGR" else f"video/x-raw,format=I420,colorimetry={fmt}"
    desc = (
        f"multifilesrc location={dirname}/%d.png index=0 stop-index={n - 1} caps=image/png,framerate=1/1 ! "
        f"pngdec ! videoconvert ! {caps} ! {detect_opts(model, labels)} ! "
        f"edgejson location={out} ! fakesink"
    )
    subprocess.run(["gst-launch-1.0", "-q", *desc.split()], check=True)
    return read_jsonl(out)


def run_numpy(pngs, rows, model, labels, d):
    """Per photo, one pipeline with a `rawvideoparse ! edgedetect` branch per row."""
    frames = [[] for _ in rows]
    for i, path in enumerate(pngs):
        rgb = read_png_rgb(path)
        h, w = rgb.shape[:2]
        desc = []
        for k, (_, fmt, matrix, full, colorimetry) in enumerate(rows):
            raw = os.path.join(d, f"{i}_{k}.yuv")
            with open(raw, "wb") as f:
                f.write(pack(fmt, *yuv420(rgb, matrix, full)))
            desc.append(
                f"filesrc location={raw} ! rawvideoparse format={fmt.lower()} width={w} height={h} "
                f"colorimetry={colorimetry} framerate=1/1 ! {detect_opts(model, labels)} ! "
                f"edgejson location={raw}.jsonl ! fakesink"
            )
        subprocess.run(["gst-launch-1.0", "-q", *" ".join(desc).split()], check=True)
        for k in range(len(rows)):
            got = read_jsonl(os.path.join(d, f"{i}_{k}.yuv.jsonl"))
            if len(got) != 1:
                raise SystemExit(f"{path}, {rows[k][0]}: {len(got)} frames out, expected 1")
            frames[k].append(got[0])
    return frames


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def compare(ref, got):
    missed, diffs = 0, []
    for fr, fg in zip(ref, got, strict=True):
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


def videoconvert_planes(png, colorimetry, d):
    """videoconvert's I420 frame (BGR -> I420) of one PNG, as bytes."""
    out = os.path.join(d, "vc.yuv")
    desc = (
        f"filesrc location={png} ! pngdec ! videoconvert ! "
        f"video/x-raw,format=I420,colorimetry={colorimetry} ! filesink location={out}"
    )
    subprocess.run(["gst-launch-1.0", "-q", *desc.split()], check=True)
    data = np.fromfile(out, np.uint8)
    return data


def unpack_i420(data, w, h):
    """Y, U, V planes of an I420 frame in GStreamer's default layout (see `pack`)."""
    ys, cs = round_up_4(w), round_up_4((w + 1) // 2)
    ch, cw = (h + 1) // 2, (w + 1) // 2
    u0 = ys * (h + h % 2)
    y = data[: ys * h].reshape(h, ys)[:, :w]
    u = data[u0 : u0 + cs * ch].reshape(ch, cs)[:, :cw]
    v = data[u0 + cs * ch : u0 + 2 * cs * ch].reshape(ch, cs)[:, :cw]
    return y, u, v


def run_swapped(pngs, colorimetry, model, labels, d):
    """numpy's I420 frames (limited range) with videoconvert's planes swapped in:
    rows (label, frames) for all of videoconvert's, all of numpy's, and each one plane."""
    variants = [
        ("videoconvert Y, U, V", "vvv"),
        ("numpy Y, U, V", "nnn"),
        ("videoconvert Y", "vnn"),
        ("videoconvert U (Cb)", "nvn"),
        ("videoconvert V (Cr)", "nnv"),
    ]
    frames = [[] for _ in variants]
    for i, path in enumerate(pngs):
        rgb = read_png_rgb(path)
        h, w = rgb.shape[:2]
        ours = yuv420(rgb, colorimetry, False)
        theirs = unpack_i420(videoconvert_planes(path, colorimetry, d), w, h)
        desc = []
        for k, (_, pick) in enumerate(variants):
            planes = [theirs[j] if c == "v" else ours[j] for j, c in enumerate(pick)]
            raw = os.path.join(d, f"{i}_{k}.yuv")
            with open(raw, "wb") as f:
                f.write(pack("I420", *planes))
            desc.append(
                f"filesrc location={raw} ! rawvideoparse format=i420 width={w} height={h} "
                f"colorimetry={colorimetry} framerate=1/1 ! {detect_opts(model, labels)} ! "
                f"edgejson location={raw}.jsonl ! fakesink"
            )
        subprocess.run(["gst-launch-1.0", "-q", *" ".join(desc).split()], check=True)
        for k in range(len(variants)):
            frames[k].append(read_jsonl(os.path.join(d, f"{i}_{k}.yuv.jsonl"))[0])
    return [(label, f) for (label, _), f in zip(variants, frames)]


def plane_report(pngs, d):
    """Per plane, videoconvert's I420 minus numpy's: mean, mean |d|, max |d|."""
    print("| colorimetry | Y mean / mean abs / max | U mean / mean abs / max | V mean / mean abs / max |")
    print("|---|---|---|---|")
    for label, fmt, matrix, full, colorimetry in NUMPY_ROWS:
        if fmt != "I420":
            continue
        acc = {p: [] for p in "YUV"}
        for path in pngs:
            rgb = read_png_rgb(path)
            ours = np.frombuffer(pack("I420", *yuv420(rgb, matrix, full)), np.uint8)
            theirs = videoconvert_planes(path, colorimetry, d)
            h, w = rgb.shape[:2]
            for p, a, b in zip("YUV", unpack_i420(theirs, w, h), unpack_i420(ours, w, h)):
                acc[p].append((a.astype(np.int32) - b.astype(np.int32)).ravel())
        cells = []
        for p in "YUV":
            x = np.concatenate(acc[p])
            cells.append(f"{x.mean():+.2f} / {np.abs(x).mean():.2f} / {np.abs(x).max()}")
        print(f"| {label} | " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=False)
    ap.add_argument("--labels", required=False)
    ap.add_argument("--pngs", default="target/coco_png")
    ap.add_argument("-n", type=int, default=30)
    ap.add_argument(
        "--source",
        choices=["numpy", "videoconvert", "both"],
        default="both",
        help="which YUV inputs to measure (default: both tables)",
    )
    ap.add_argument(
        "--planes",
        action="store_true",
        help="compare videoconvert's I420 planes with numpy's instead (no model needed)",
    )
    ap.add_argument(
        "--swap",
        choices=sorted(KR_KB),
        help="measure numpy's limited-range I420 of this matrix with each of videoconvert's "
        "planes swapped in, instead of the tables",
    )
    args = ap.parse_args()
    pngs = sorted(p for p in os.listdir(args.pngs) if p.endswith(".png"))[: args.n]
    if len(pngs) < args.n:
        sys.exit(f"{args.pngs}: only {len(pngs)} PNGs")
    pngs = [os.path.abspath(os.path.join(args.pngs, p)) for p in pngs]
    with tempfile.TemporaryDirectory() as d:
        if args.planes:
            plane_report(pngs, d)
            return
        if not args.model or not args.labels:
            ap.error("--model and --labels are required (unless --planes)")
        for i, p in enumerate(pngs):
            os.symlink(p, os.path.join(d, f"{i}.png"))
        ref = run_videoconvert(d, args.n, "BGR", args.model, args.labels, os.path.join(d, "bgr.jsonl"))
        boxes = sum(len(f["objects"]) for f in ref)
        print(f"BGR: {boxes} boxes on {len(ref)} photos")
        if args.swap:
            print(f"\nI420 {args.swap} (limited range): numpy's planes, some of videoconvert's:")
            print("| planes | missed | confidence difference mean / p95 / max |\n|---|---|---|")
            for label, got in run_swapped(pngs, args.swap, args.model, args.labels, d):
                missed, mean, p95, mx = compare(ref, got)
                print(f"| {label} | {missed} | {mean:.4f} / {p95:.3f} / {mx:.3f} |")
            return
        header = "| input | missed | confidence difference mean / p95 / max |\n|---|---|---|"
        if args.source in ("numpy", "both"):
            print("\nYUV made by numpy (exact matrix, 2x2 box chroma), through rawvideoparse:")
            print(header)
            for row, got in zip(NUMPY_ROWS, run_numpy(pngs, NUMPY_ROWS, args.model, args.labels, d)):
                missed, mean, p95, mx = compare(ref, got)
                print(f"| {row[0]} | {missed} | {mean:.4f} / {p95:.3f} / {mx:.3f} |")
        if args.source in ("videoconvert", "both"):
            print("\nYUV made by videoconvert (BGR -> I420):")
            print(header)
            for c in VIDEOCONVERT_ROWS:
                got = run_videoconvert(d, args.n, c, args.model, args.labels, os.path.join(d, "yuv.jsonl"))
                missed, mean, p95, mx = compare(ref, got)
                print(f"| I420, {c} | {missed} | {mean:.4f} / {p95:.3f} / {mx:.3f} |")


if __name__ == "__main__":
    main()
