#!/usr/bin/env bash
# A USB camera, inference on 1 frame in 3, results as JSON Lines on stdout.
#   pipelines/camera-detect-every-3rd.sh MODEL LABELS [/dev/video0]
set -euo pipefail
gst-launch-1.0 v4l2src device="${3:-/dev/video0}" ! videoconvert ! video/x-raw,format=BGR \
  ! edgedetect model="$1" labels="$2" interval=3 threads=4 \
  ! edgejson ! fakesink sync=false
