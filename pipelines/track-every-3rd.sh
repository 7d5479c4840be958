#!/usr/bin/env bash
# Detect on 1 frame in 3, track on every frame: boxes with ids on all frames
# (predicted on the skipped ones), JSON Lines on stdout.
#   pipelines/track-every-3rd.sh MODEL LABELS [VIDEO]
# Without VIDEO, a USB camera (/dev/video0) is used.
set -euo pipefail
if [ -n "${3:-}" ]; then
  src=(filesrc location="$3" ! decodebin)
else
  src=(v4l2src device=/dev/video0)
fi
gst-launch-1.0 -q "${src[@]}" ! videoconvert ! video/x-raw,format=BGR \
  ! edgedetect model="$1" labels="$2" interval=3 threads=4 \
  ! edgetrack \
  ! edgejson ! fakesink sync=false
