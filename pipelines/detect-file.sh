#!/usr/bin/env bash
# Detect objects in a video file and write JSON Lines.
#   pipelines/detect-file.sh VIDEO MODEL LABELS OUT.jsonl
set -euo pipefail
gst-launch-1.0 -e filesrc location="$1" ! decodebin ! videoconvert \
  ! edgedetect model="$2" labels="$3" conf-threshold=0.3 \
  ! edgejson location="$4" ! fakesink sync=false
