#!/usr/bin/env bash
# Quick start, part 1: set up (scripts/setup.sh), then run the detector on a
# real video and print a summary (frames, detections per class, fps). The
# results are out/demo.jsonl, one JSON object per frame, and the annotated
# video (boxes, labels, statistics drawn by edgeoverlay): out/demo.mp4 (H.264
# with openh264enc, else MPEG-4 part 2 with avenc_mpeg4) or out/demo.mkv (VP8).
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

. target/gst-plugins/env.sh

# The first encoder the installed plugins have (Debian 12: openh264enc is in
# gstreamer1.0-plugins-bad, vp8enc in -good, avenc_mpeg4 in gstreamer1.0-libav).
if gst-inspect-1.0 --exists openh264enc && gst-inspect-1.0 --exists mp4mux; then
  ENCODE="openh264enc bitrate=3000000 ! h264parse ! mp4mux"; VIDEO_OUT=out/demo.mp4
elif gst-inspect-1.0 --exists vp8enc && gst-inspect-1.0 --exists matroskamux; then
  ENCODE="vp8enc deadline=1 target-bitrate=3000000 ! matroskamux"; VIDEO_OUT=out/demo.mkv
elif gst-inspect-1.0 --exists avenc_mpeg4 && gst-inspect-1.0 --exists mp4mux; then
  ENCODE="avenc_mpeg4 bitrate=3000000 ! mp4mux"; VIDEO_OUT=out/demo.mp4
else
  echo "error: no video encoder found (openh264enc, vp8enc or avenc_mpeg4); install gstreamer1.0-plugins-good" >&2
  exit 1
fi
rm -f out/demo.mp4 out/demo.mkv

echo "== Running: filesrc $VIDEO ! decodebin ! videoconvert ! edgedetect ! tee"
echo "             tee ! edgejson ! fakesink"
echo "             tee ! edgeoverlay ! videoconvert ! ${ENCODE%% *} ! $VIDEO_OUT"
start=$(date +%s%N)
# OpenH264 prints a harmless "cmInitParaError" when flushed at the end of
# the stream (all frames are written); it is filtered out of stderr.
# shellcheck disable=SC2086 # $ENCODE is a pipeline fragment
gst-launch-1.0 -q filesrc location="$VIDEO" ! decodebin ! videoconvert ! video/x-raw,format=BGR \
  ! edgedetect model="$MODEL" ${LABELS:+labels="$LABELS"} conf-threshold=0.3 threads=2 \
  ! tee name=t \
  t. ! queue ! edgejson location=out/demo.jsonl ! fakesink sync=false \
  t. ! queue ! edgeoverlay show-stats=true ! videoconvert ! video/x-raw,format=I420 \
     ! $ENCODE ! filesink location="$VIDEO_OUT" \
  2> >(grep -v "cmInitParaError" >&2)
end=$(date +%s%N)
.venv/bin/python tools/summarize_jsonl.py out/demo.jsonl --seconds "$(( (end - start) / 1000000 ))e-3"
echo "annotated video: $VIDEO_OUT (the fps above includes encoding it)"
