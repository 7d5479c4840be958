#!/usr/bin/env bash
# Quick start, part 1: set up (scripts/setup.sh), then run the detector on a
# real video and print a summary (frames, detections per class, fps). The
# result is out/demo.jsonl, one JSON object per frame.
#   ./scripts/demo.sh [VIDEO] [MODEL]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

SHARED=../shared
VIDEO=${1:-$SHARED/media/vtest.avi}
MODEL=${2:-$SHARED/models/yolox_nano.onnx}
LABELS=$SHARED/models/coco.names
mkdir -p out
if [ ! -f "$VIDEO" ]; then
  if [ -f /usr/share/doc/opencv-doc/examples/data/vtest.avi ]; then
    VIDEO=/usr/share/doc/opencv-doc/examples/data/vtest.avi
  else
    echo "$VIDEO is missing: getting vtest.avi from Debian's opencv-doc package" >&2
    (cd out && apt-get download opencv-doc && dpkg-deb -x opencv-doc_*.deb opencv-doc)
    VIDEO=$(find out/opencv-doc -name vtest.avi | head -n 1)
    [ -n "$VIDEO" ] || { echo "error: vtest.avi not found in opencv-doc" >&2; exit 1; }
  fi
fi
if [ ! -f "$MODEL" ]; then
  echo "error: $MODEL is missing. Get yolox_nano.onnx from the YOLOX release (Megvii-BaseDetection/YOLOX," >&2
  echo "       release 0.1.1rc0, yolox_nano.onnx) and pass its path: ./scripts/demo.sh VIDEO MODEL" >&2
  exit 1
fi
[ -f "$LABELS" ] || LABELS=""

export GST_PLUGIN_PATH="$(pwd)/target/release${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
echo "== Running: filesrc $VIDEO ! decodebin ! videoconvert ! edgedetect ! edgejson ! fakesink"
start=$(date +%s%N)
gst-launch-1.0 -q filesrc location="$VIDEO" ! decodebin ! videoconvert ! video/x-raw,format=BGR \
  ! edgedetect model="$MODEL" ${LABELS:+labels="$LABELS"} conf-threshold=0.3 threads=2 \
  ! edgejson location=out/demo.jsonl ! fakesink sync=false
end=$(date +%s%N)
.venv/bin/python tools/summarize_jsonl.py out/demo.jsonl --seconds "$(( (end - start) / 1000000 ))e-3"
