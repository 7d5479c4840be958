#!/usr/bin/env bash
# Installs ONNX Runtime where every user finds it, for services such as the
# systemd unit pipelines/edgeai-run.service, which runs as its own user and
# so has no ~/.local/share copy (scripts/setup.sh installs that one, for the
# user who runs it):
#   /usr/local/lib/gst-plugin-edgeai/libonnxruntime.so
# the plugin's system-wide place (docs/onnxruntime.md). Takes the library from
# the pinned onnxruntime wheel in .venv (run scripts/setup.sh first), or from
# the file given. Needs root (sudo); DESTDIR=DIR installs under DIR instead.
#   sudo scripts/install-onnxruntime-system.sh [LIBONNXRUNTIME.so]
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=${1:-$(ls .venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* 2>/dev/null | head -n 1 || true)}
if [ -z "$SRC" ] || [ ! -f "$SRC" ]; then
  echo "error: no libonnxruntime.so: run scripts/setup.sh first (it creates .venv with the onnxruntime wheel), or pass the library's path" >&2
  exit 1
fi
DEST=${DESTDIR:-}/usr/local/lib/gst-plugin-edgeai/libonnxruntime.so
install -D -m 0644 "$SRC" "$DEST"
echo "installed $SRC as $DEST"
