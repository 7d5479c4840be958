#!/usr/bin/env bash
# Quick start, part 1: check the assets (model and video) first, then set up
# (scripts/setup.sh), then run the full chain on a real video: detection,
# tracking, the overlay with track ids, JSON. Prints a summary (frames,
# detections and tracks per class, fps). The results are out/demo.jsonl, one
# JSON object per frame, and the annotated video: out/demo.mp4 (H.264 with
# openh264enc, else MPEG-4 part 2 with avenc_mpeg4) or out/demo.mkv (VP8).
#   ./scripts/demo.sh [VIDEO] [MODEL] [LABELS]
#
# Assets: $EDGEAI_SHARED (default ../shared beside the checkout) holds
# models/yolox_nano.onnx and media/vtest.avi. Without them the model is
# fetched from its public source (checksum pinned) into
# ${XDG_CACHE_HOME:-~/.cache}/gst-plugin-edgeai/, and vtest.avi is taken from
# Debian's opencv-doc package. No labels file is needed for an 80-class COCO
# model such as YOLOX-nano: the plugin ships the COCO names.
set -euo pipefail
cd "$(dirname "$0")/.."

SHARED=${EDGEAI_SHARED:-../shared}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/gst-plugin-edgeai
# YOLOX-nano (Megvii YOLOX, Apache-2.0), the ONNX export of
# Kazuhito00/YOLOX-ONNX-TFLite-Sample (see $SHARED/models/README.md).
MODEL_URL=https://github.com/Kazuhito00/YOLOX-ONNX-TFLite-Sample/raw/main/model/yolox_nano.onnx
MODEL_SHA256=695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14

# -- 1. Assets, before anything slow --------------------------------------
MODEL=${2:-}
if [ -z "$MODEL" ]; then
  if [ -f "$SHARED/models/yolox_nano.onnx" ]; then
    MODEL=$SHARED/models/yolox_nano.onnx
  else
    MODEL=$CACHE/yolox_nano.onnx
    if [ ! -f "$MODEL" ] || ! echo "$MODEL_SHA256  $MODEL" | sha256sum --quiet -c - 2>/dev/null; then
      echo "== $SHARED/models/yolox_nano.onnx is missing: fetching YOLOX-nano into $CACHE"
      mkdir -p "$CACHE"
      if curl -fsSL --connect-timeout 10 --max-time 120 -o "$MODEL.part" "$MODEL_URL" \
         && echo "$MODEL_SHA256  $MODEL.part" | sha256sum --quiet -c - 2>/dev/null; then
        mv "$MODEL.part" "$MODEL"
        echo "   saved $MODEL (sha256 checked)"
      else
        rm -f "$MODEL.part"
        cat >&2 <<EOF
error: no model. $SHARED/models/yolox_nano.onnx is missing and it could not be
fetched from $MODEL_URL
(no network, or the file changed: its sha256 must be $MODEL_SHA256).
Do one of:
  - put the shared test assets (models/yolox_nano.onnx, models/coco.names,
    media/vtest.avi, media/coco/) in ../shared beside the checkout, or set
    EDGEAI_SHARED to their folder;
  - download yolox_nano.onnx on a machine with network access (the URL above),
    check it with: sha256sum yolox_nano.onnx  (must print $MODEL_SHA256),
    and copy it to $MODEL;
  - pass your own model: ./scripts/demo.sh VIDEO MODEL.onnx [LABELS]
EOF
        exit 1
      fi
    fi
  fi
fi
[ -f "$MODEL" ] || { echo "error: model $MODEL not found" >&2; exit 1; }
LABELS=${3:-}
if [ -n "$LABELS" ] && [ ! -f "$LABELS" ]; then
  echo "error: labels file $LABELS not found" >&2
  exit 1
fi

VIDEO=${1:-}
if [ -z "$VIDEO" ]; then
  VIDEO=$SHARED/media/vtest.avi
  if [ ! -f "$VIDEO" ]; then
    VIDEO=$(find /usr/share/doc/opencv-doc "$CACHE/opencv-doc" -name vtest.avi 2>/dev/null | head -n 1 || true)
    if [ -z "$VIDEO" ]; then
      echo "== $SHARED/media/vtest.avi is missing: taking vtest.avi from Debian's opencv-doc package"
      mkdir -p "$CACHE"
      if (cd "$CACHE" && apt-get download opencv-doc >/dev/null 2>&1 \
          && dpkg-deb -x opencv-doc_*.deb opencv-doc && rm -f opencv-doc_*.deb); then
        VIDEO=$(find "$CACHE/opencv-doc" -name vtest.avi | head -n 1)
      fi
      if [ -z "$VIDEO" ]; then
        echo "error: no video: $SHARED/media/vtest.avi is missing and Debian's opencv-doc package" >&2
        echo "       could not be downloaded (apt-get download opencv-doc). Pass a video: ./scripts/demo.sh VIDEO" >&2
        exit 1
      fi
      echo "   using $VIDEO"
    fi
  fi
fi
[ -f "$VIDEO" ] || { echo "error: video $VIDEO not found" >&2; exit 1; }

# -- 2. Set-up and build ----------------------------------------------------
bash scripts/setup.sh
# shellcheck disable=SC1091
. target/gst-plugins/env.sh
mkdir -p out

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
rm -f out/demo.mp4 out/demo.mkv out/demo.jsonl

# -- 3. The pipeline (README, "Quick start", shows it as run here) ---------
PIPELINE="filesrc location=$VIDEO ! decodebin ! videoconvert ! \
edgedetect model=$MODEL${LABELS:+ labels=$LABELS} ! edgetrack ! tee name=t \
t. ! queue ! edgejson location=out/demo.jsonl ! fakesink \
t. ! queue ! edgeoverlay show-stats=true ! videoconvert ! $ENCODE ! filesink location=$VIDEO_OUT"
echo "== Running: gst-launch-1.0 $PIPELINE"
start=$(date +%s%N)
# With GStreamer 1.22, openh264enc drains libopenh264 at EOS by calling it
# without a picture, and the library prints "[OpenH264] ... cmInitParaError"
# (all frames are written; no openh264enc property avoids it): that one line
# is filtered out of stderr.
# shellcheck disable=SC2086 # $PIPELINE is a pipeline description
gst-launch-1.0 -q $PIPELINE 2> >(grep -v "cmInitParaError" >&2)
end=$(date +%s%N)
.venv/bin/python tools/summarize_jsonl.py out/demo.jsonl --seconds "$(( (end - start) / 1000000 ))e-3"
echo "annotated video: $VIDEO_OUT (boxes, labels with track ids, statistics panel; the fps above includes encoding it)"
