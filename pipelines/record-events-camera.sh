#!/usr/bin/env bash
# A USB camera on an unattended device: people are detected and tracked, every
# track, per-minute counts and thermal level changes go to a local SQLite
# database that survives power cuts, and are posted upstream in batches
# whenever the network is there.
#   pipelines/record-events-camera.sh MODEL LABELS [DB] [SYNC_URL] [/dev/video0]
#
# Needs this plugin: the checkout's build through target/gst-plugins/env.sh
# (written by scripts/setup.sh; not GST_PLUGIN_PATH, which loses to OpenCV's
# `edgedetect`, see the README), else an installed copy. See
# docs/edgeevents.md for the schema, the batch format and an sqlite3 cookbook
# (people per hour...).
set -euo pipefail
ENV_SH="$(dirname "$0")/../target/gst-plugins/env.sh"
# shellcheck disable=SC1090
[ -f "$ENV_SH" ] && . "$ENV_SH"
MODEL=$1
LABELS=$2
DB=${3:-events.db}
URL=${4:-}
DEVICE=${5:-/dev/video0}

# thermalgate          sheds inference before the SoC throttles; edgeevents
#                      records its level changes (from the frame meta)
# edgedetect classes=person, every 2nd frame
# edgetrack            gives each person a track id (keep track-timeout above
#                      its lost-track age)
# edgeevents           stream-id names this camera in a shared database;
#                      snapshots=true keeps a 128 px JPEG of each person;
#                      count-interval=60: one counts row per minute;
#                      sync-interval=5000: committed (fsync'ed) every 5 s;
#                      retention: 30 days or 1 GiB, oldest deleted first
# -e                   Ctrl-C sends EOS, so open tracks are closed as "eos"
SYNC=()
if [ -n "$URL" ]; then
  SYNC=(sync-url="$URL" batch-size=200)
fi
gst-launch-1.0 -e \
  v4l2src device="$DEVICE" ! videoconvert ! video/x-raw,format=NV12 \
  ! queue max-size-buffers=2 leaky=downstream \
  ! thermalgate sensor=auto poll-interval=2000 \
  ! edgedetect model="$MODEL" labels="$LABELS" classes=person interval=2 \
  ! edgetrack \
  ! edgeevents location="$DB" stream-id=camera0 snapshots=true count-interval=60 \
      track-timeout=3000 sync-interval=5000 retention-age=2592000 retention-size=1024 "${SYNC[@]}" \
  ! fakesink sync=false
