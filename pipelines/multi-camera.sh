#!/usr/bin/env bash
# Four cameras, one shared model: each source -> edgedetect (one model instance
# for all four, live mode) -> edgetrack -> edgeoverlay, tiled 2x2 with
# compositor into a window or an MP4 file, and every camera's tracks into one
# SQLite database (edgeevents stream-id=camN). See docs/multi-camera.md.
#
#   pipelines/multi-camera.sh MODEL LABELS [OUT.mp4|display] [SOURCE...]
#
# SOURCE (up to four; the missing ones are live test patterns):
#   a video file (looped), rtsp://... (rtspsrc), /dev/videoN (v4l2src)
# Environment: EVENTS_DB (default multi-camera.db), THREADS (default 2),
#   WIDTH/HEIGHT/FPS of each tile (default 640x480 at 15 fps), SECONDS_TO_RUN
#   (default: until Ctrl-C), BATCH (edgedetect batch-size, default 1; 2 or 4
#   needs a model with a dynamic batch dimension: tools/make_batch_model.py
#   MODEL OUT.onnx makes one; docs/multi-camera.md says what it gained here).
set -euo pipefail
model=${1:?usage: $0 MODEL LABELS [OUT.mp4|display] [SOURCE...]}
labels=${2:?labels file}
out=${3:-display}
shift $(( $# < 3 ? $# : 3 ))
w=${WIDTH:-640} h=${HEIGHT:-480} fps=${FPS:-15}
db=${EVENTS_DB:-multi-camera.db}
threads=${THREADS:-2}
batch=${BATCH:-1}
patterns=(ball smpte snow pinwheel)

source_for() { # $1 = index, $2 = source or empty
  local s=${2:-}
  case "$s" in
    "") echo "videotestsrc is-live=true pattern=${patterns[$1]}" ;;
    rtsp://*) echo "rtspsrc location=$s latency=200 ! decodebin" ;;
    /dev/video*) echo "v4l2src device=$s ! decodebin" ;;
    # A file, looped forever: multifilesrc restarts it; the decoder runs as
    # fast as it can, clocksync paces it as a camera would.
    *) echo "multifilesrc location=$s loop=true ! decodebin ! clocksync" ;;
  esac
}

branches=""
for i in 0 1 2 3; do
  src=$(source_for "$i" "${1:-}")
  [ $# -gt 0 ] && shift
  branches+=" $src ! videoconvert ! videoscale ! videorate ! \
    video/x-raw,format=RGB,width=$w,height=$h,framerate=$fps/1 ! \
    edgedetect model=$model labels=$labels model-instance-id=shared threads=$threads batch-size=$batch mode=live ! \
    edgetrack ! edgeevents location=$db stream-id=cam$i ! edgeoverlay ! \
    queue max-size-buffers=4 ! comp.sink_$i"
done

case "$out" in
  display) sink="videoconvert ! autovideosink sync=true" ;;
  *) sink="videoconvert ! video/x-raw,format=I420 ! openh264enc bitrate=4000000 ! h264parse ! mp4mux ! filesink location=$out" ;;
esac

pipeline="compositor name=comp \
  sink_0::xpos=0 sink_0::ypos=0 sink_1::xpos=$w sink_1::ypos=0 \
  sink_2::xpos=0 sink_2::ypos=$h sink_3::xpos=$w sink_3::ypos=$h ! \
  $sink $branches"

if [ -n "${SECONDS_TO_RUN:-}" ]; then
  # -e: Ctrl-C / timeout sends EOS so that the MP4 and the database are finished.
  exec timeout -s INT "$SECONDS_TO_RUN" gst-launch-1.0 -e $pipeline
else
  exec gst-launch-1.0 -e $pipeline
fi
