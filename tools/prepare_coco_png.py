"""Decode the shared COCO JPEGs once with OpenCV and store them as lossless PNGs.

Usage: python3 tools/prepare_coco_png.py OUTDIR

Reads every ../shared/media/coco/*.jpg with cv2.imread (BGR; greyscale JPEGs come back
as 3 equal channels), writes OUTDIR/<stem>.png with cv2.imwrite (so the PNG holds the
same pixels, RGB-correct) and OUTDIR/manifest.json with, per image, width, height,
sha256 of the decoded BGR pixel bytes, of the source JPEG and of the PNG file.
JPEG decoders differ slightly between libraries; the PNGs pin the exact pixels that the
reference fixture and the plugin tests both see. If OUTDIR already matches the manifest
(same JPEGs, PNG files unchanged) nothing is rewritten.
"""

import json
import sys
from pathlib import Path

import cv2
import numpy as np

from yolox_numpy import SHARED, die, require, sha256_bytes, sha256_file

COCO_DIR = SHARED / "media" / "coco"


def up_to_date(outdir, manifest, jpegs):
    if set(manifest.get("images", {})) != {p.stem for p in jpegs}:
        return False
    for p in jpegs:
        entry = manifest["images"][p.stem]
        png = outdir / f"{p.stem}.png"
        if entry.get("source_sha256") != sha256_file(p) or not png.exists():
            return False
        if entry.get("png_sha256") != sha256_file(png):
            return False
    return True


def main():
    if len(sys.argv) != 2:
        die("usage: prepare_coco_png.py OUTDIR")
    outdir = Path(sys.argv[1])
    jpegs = sorted(require(COCO_DIR, "COCO image folder").glob("*.jpg"))
    if not jpegs:
        die(f"no *.jpg in {COCO_DIR}")
    manifest_path = outdir / "manifest.json"
    if manifest_path.exists():
        if up_to_date(outdir, json.loads(manifest_path.read_text()), jpegs):
            print(f"{len(jpegs)} PNGs in {outdir} already match the manifest")
            return
    outdir.mkdir(parents=True, exist_ok=True)
    images = {}
    for p in jpegs:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None or img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            die(f"cannot decode {p} as 8-bit BGR")
        png = outdir / f"{p.stem}.png"
        if not cv2.imwrite(str(png), img):
            die(f"cannot write {png}")
        back = cv2.imread(str(png), cv2.IMREAD_COLOR)
        if back is None or not np.array_equal(back, img):
            die(f"{png} does not read back to the decoded pixels")
        images[p.stem] = {
            "width": img.shape[1],
            "height": img.shape[0],
            "pixels_sha256": sha256_bytes(np.ascontiguousarray(img).tobytes()),
            "source_sha256": sha256_file(p),
            "png_sha256": sha256_file(png),
        }
    manifest = {
        "decoder": f"opencv {cv2.__version__} cv2.imread IMREAD_COLOR (BGR)",
        "pixels": "sha256 of the HxWx3 uint8 BGR array, row-major",
        "images": images,
    }
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(images)} PNGs and {manifest_path}")


if __name__ == "__main__":
    main()
