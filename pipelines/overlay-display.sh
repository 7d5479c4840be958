#!/usr/bin/env bash
# Show a video file with the detections drawn on it (boxes, labels, the
# statistics panel of edgeoverlay), at the video's own pace.
#   pipelines/overlay-display.sh VIDEO MODEL LABELS
# For a camera, replace `filesrc location=... ! decodebin` with `v4l2src`.
set -euo pipefail
gst-launch-1.0 filesrc location="$1" ! decodebin ! videoconvert \
  ! edgedetect model="$2" labels="$3" conf-threshold=0.3 \
  ! edgeoverlay show-stats=true ! videoconvert ! autovideosink
