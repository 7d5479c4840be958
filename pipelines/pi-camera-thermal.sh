#!/usr/bin/env bash
# Raspberry Pi camera (libcamera) with object detection that backs off before
# the Pi 5 throttles itself. Detections go to out.jsonl; the thermal status
# (temperature, factor, level) is printed on stdout as it changes.
#   pipelines/pi-camera-thermal.sh MODEL LABELS [OUT.jsonl]
#
# Needs gstreamer1.0-libcamera (Raspberry Pi OS Bookworm) and this plugin:
# the checkout's build through target/gst-plugins/env.sh (written by
# scripts/setup.sh; not GST_PLUGIN_PATH, which loses to OpenCV's `edgedetect`,
# see the README), else an installed copy. See docs/thermalgate.md and
# docs/thermal-sensors.md.
set -euo pipefail
ENV_SH="$(dirname "$0")/../target/gst-plugins/env.sh"
# shellcheck disable=SC1090
[ -f "$ENV_SH" ] && . "$ENV_SH"
MODEL=$1
LABELS=$2
OUT=${3:-out.jsonl}

# libcamerasrc            the Pi camera, 720p at 30 fps
# videoconvert ! NV12     a format edgedetect reads directly
# queue leaky=downstream  if the detector falls behind, old frames are dropped
#                         here instead of slowing the camera down
# thermalgate             sensor=auto reads /sys/class/thermal/thermal_zone0/temp
#                         (cpu-thermal) every 2 s. Shedding starts at 72 °C and
#                         inference stops at 80 °C, where the firmware starts
#                         throttling (about 80 °C, unverified on the Pi 5). At
#                         76 °C 60% of the frames are inferred, just below 80 °C
#                         20%. Skipped frames still reach the JSON file, marked
#                         "inferred": false.
# edgedetect              threads=4: the four Cortex-A76 cores
# gst-launch-1.0 -m       prints the thermalgate-status messages (grep below)
gst-launch-1.0 -m -e \
  libcamerasrc ! video/x-raw,width=1280,height=720,framerate=30/1 \
  ! videoconvert ! video/x-raw,format=NV12 \
  ! queue max-size-buffers=2 leaky=downstream \
  ! thermalgate sensor=auto poll-interval=2000 warning-temp=72 critical-temp=80 min-factor=0.2 \
  ! edgedetect model="$MODEL" labels="$LABELS" threads=4 \
  ! edgejson location="$OUT" ! fakesink sync=false \
  | grep --line-buffered -E 'thermalgate-status|WARNING'
