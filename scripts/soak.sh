#!/usr/bin/env bash
# Soak test (documented in docs/benchmarks.md, not run in CI): the full chain
#   source ! edgedetect ! edgetrack ! edgeoverlay ! edgejson ! edgeevents ! fakesink sync=true
# for DURATION seconds, with the process's resident memory (VmRSS) sampled
# every INTERVAL seconds into a CSV. Target: no growth after the warm-up.
#
#   ./scripts/soak.sh [DURATION_S=3600] [INTERVAL_S=10] [OUT_DIR=out/soak]
#
# The source is live-paced: vtest.avi (from $EDGEAI_SHARED, default ../shared)
# decoded once to a JPEG sequence in OUT_DIR/frames, looped for ever by
# multifilesrc and paced to the pipeline clock by clocksync at SOAK_FPS
# (default 10), as a camera delivers frames. Real people walking keep the
# tracker, the overlay and the event store busy, which videotestsrc does not.
# SOAK_SOURCE replaces the source, e.g.
#   SOAK_SOURCE="videotestsrc is-live=true ! video/x-raw,width=640,height=480,framerate=10/1"
# Writes OUT_DIR/rss.csv (elapsed_s,rss_kib), OUT_DIR/soak.jsonl (edgejson),
# OUT_DIR/events.db (edgeevents) and OUT_DIR/gst.log; prints a summary.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${1:-3600}
INTERVAL=${2:-10}
OUT=${3:-out/soak}
FPS=${SOAK_FPS:-10}
SHARED=${EDGEAI_SHARED:-../shared}
MODEL=${SOAK_MODEL:-$SHARED/models/yolox_nano.onnx}
LABELS=$SHARED/models/coco.names

for f in "$MODEL" "$LABELS"; do
  [ -f "$f" ] || { echo "error: $f is missing (see README, \"Test assets\")" >&2; exit 1; }
done
[ -f target/gst-plugins/libgstedgeai.so ] || { echo "error: run scripts/setup.sh first" >&2; exit 1; }
mkdir -p "$OUT/plugin"
OUT=$(cd "$OUT" && pwd)
# A private copy of the plugin: a rebuild during the soak must not rewrite the
# library under the running process. env.sh's order: system plugins first.
cp -f target/gst-plugins/libgstedgeai.so "$OUT/plugin/"
export GST_PLUGIN_SYSTEM_PATH="$(pkg-config --variable=pluginsdir gstreamer-1.0):$OUT/plugin"
export GST_REGISTRY="$OUT/plugin/registry.bin"
unset GST_PLUGIN_PATH
if [ -z "${SOAK_SOURCE:-}" ]; then
  VIDEO=$SHARED/media/vtest.avi
  [ -f "$VIDEO" ] || { echo "error: $VIDEO is missing (see README, \"Test assets\")" >&2; exit 1; }
  if [ ! -f "$OUT/frames/.done" ]; then
    echo "== Decoding $VIDEO to $OUT/frames (once)"
    mkdir -p "$OUT/frames"
    gst-launch-1.0 -q filesrc location="$VIDEO" ! decodebin ! videoconvert ! jpegenc quality=90 \
      ! multifilesink location="$OUT/frames/%05d.jpg"
    touch "$OUT/frames/.done"
  fi
  SOAK_SOURCE="multifilesrc location=$OUT/frames/%05d.jpg loop=true caps=image/jpeg,framerate=$FPS/1 \
    ! jpegdec ! clocksync"
fi
rm -f "$OUT/soak.jsonl" "$OUT/events.db" "$OUT/events.db-wal" "$OUT/events.db-shm"

PIPELINE="$SOAK_SOURCE ! videoconvert \
  ! edgedetect model=$MODEL labels=$LABELS threads=1 \
  ! edgetrack ! edgeoverlay show-stats=true \
  ! edgejson location=$OUT/soak.jsonl \
  ! edgeevents location=$OUT/events.db stream-id=soak snapshots=true \
  ! fakesink sync=true"
echo "== Soak for ${DURATION}s, RSS every ${INTERVAL}s -> $OUT/rss.csv"
echo "   gst-launch-1.0 $PIPELINE"
# shellcheck disable=SC2086 # $PIPELINE is a pipeline description
gst-launch-1.0 -e $PIPELINE >"$OUT/gst.log" 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null || true' EXIT

echo "elapsed_s,rss_kib" >"$OUT/rss.csv"
start=$(date +%s)
while :; do
  now=$(date +%s)
  elapsed=$((now - start))
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$PID/status" 2>/dev/null || true)
  if [ -z "$rss" ]; then
    echo "error: the pipeline exited after ${elapsed}s; see $OUT/gst.log" >&2
    tail -n 20 "$OUT/gst.log" >&2
    exit 1
  fi
  echo "$elapsed,$rss" >>"$OUT/rss.csv"
  [ "$elapsed" -ge "$DURATION" ] && break
  sleep "$INTERVAL"
done
# EOS (gst-launch -e on SIGINT) so the JSON and the database are closed cleanly.
kill -INT "$PID"
for _ in $(seq 1 30); do kill -0 "$PID" 2>/dev/null || break; sleep 1; done
if kill -0 "$PID" 2>/dev/null; then
  echo "error: the pipeline did not stop within 30 s of EOS" >&2
  exit 1
fi
trap - EXIT

frames=$(wc -l <"$OUT/soak.jsonl")
awk -F, -v frames="$frames" -v warm="${SOAK_WARMUP:-300}" '
  NR == 1 { next }
  { t = $1; r = $2; if (first == "") first = r; last = r; lastt = t
    if (t >= warm && w == "") { w = r; wt = t }
    if (t >= warm) { if (min == "" || r < min) min = r; if (r > max) max = r } }
  END {
    printf "frames: %d in %d s\n", frames, lastt
    if (w == "") { printf "RSS: start %d KiB, end %d KiB (shorter than the warm-up)\n", first, last; exit }
    printf "RSS: start %d KiB, after warm-up (%d s) %d KiB, end %d KiB\n", first, wt, w, last
    printf "after warm-up: min %d KiB, max %d KiB, growth end-warm %+d KiB (%+.1f KiB/h)\n",
      min, max, last - w, (lastt > wt) ? (last - w) * 3600 / (lastt - wt) : 0
  }' "$OUT/rss.csv"
