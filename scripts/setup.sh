#!/usr/bin/env bash
# Installs what is missing and builds the plugin. Idempotent: a second run
# only checks. Needs a Rust toolchain (rustup) and, for Debian packages, root
# or sudo. Everything else comes from Debian and PyPI:
#   - GStreamer 1.20+ development files and plugins (Debian packages);
#   - a Python virtual environment in .venv with tools/requirements.txt
#     (the pinned onnxruntime wheel, numpy, onnx, OpenCV for the reference scripts);
#   - libonnxruntime.so from that wheel, copied where the plugin looks for it:
#     ${XDG_DATA_HOME:-~/.local/share}/gst-plugin-edgeai/onnxruntime/libonnxruntime.so
#   - the plugin itself: cargo build --release (target/release/libgstedgeai.so).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m== %s\033[0m\n' "$*"; }

# gstreamer1.0-x: the X11 video sinks autovideosink picks (without any video
# sink, GStreamer 1.22's autovideosink crashes instead of failing); xvfb: the
# test that plays the headline pipeline into a window. gcc-aarch64-linux-gnu,
# libc6-dev-arm64-cross, qemu-user: the pre-processing tests built for aarch64
# and run under qemu (scripts/test-aarch64.sh).
DEB_PACKAGES=(
  pkg-config libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-libav gstreamer1.0-x
  python3 python3-venv meson ninja-build
  mosquitto mosquitto-clients openssl
  xvfb
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
)
missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "Installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  # apt's and dpkg's progress goes to a log file; one line here.
  mkdir -p target
  APT_LOG=$(pwd)/target/setup-apt.log
  if { $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q \
       --no-install-recommends "${missing[@]}"; } >"$APT_LOG" 2>&1; then
    echo "   installed ${#missing[@]} packages (log: $APT_LOG)"
  else
    echo "error: apt-get failed; the last lines of $APT_LOG:" >&2
    tail -n 20 "$APT_LOG" >&2
    exit 1
  fi
fi

if ! command -v cargo >/dev/null; then
  echo "error: no Rust toolchain. Install one with rustup (https://rustup.rs), then run this again." >&2
  exit 1
fi

# The Rust standard library for aarch64 (scripts/test-aarch64.sh).
if command -v rustup >/dev/null \
   && ! [ -d "$(rustc --print sysroot)/lib/rustlib/aarch64-unknown-linux-gnu" ]; then
  say "Adding the Rust target aarch64-unknown-linux-gnu"
  rustup target add aarch64-unknown-linux-gnu \
    || echo "warning: rustup could not add aarch64-unknown-linux-gnu; scripts/test-aarch64.sh will fail" >&2
fi

# Python environment for ONNX Runtime and the reference scripts. A venv keeps
# Debian's system Python untouched (PEP 668).
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  say "Creating .venv"
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import sys; sys.exit(0)" 2>/dev/null \
   || ! cmp -s tools/requirements.txt .venv/.requirements.installed; then
  say "Installing Python packages (tools/requirements.txt)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r tools/requirements.txt
  cp tools/requirements.txt .venv/.requirements.installed
fi

ORT_DIR="${XDG_DATA_HOME:-$HOME/.local/share}/gst-plugin-edgeai/onnxruntime"
ORT_SRC=$(ls .venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* 2>/dev/null | head -n 1 || true)
if [ -z "$ORT_SRC" ]; then
  echo "error: the onnxruntime wheel in .venv has no libonnxruntime.so.*" >&2
  exit 1
fi
if ! cmp -s "$ORT_SRC" "$ORT_DIR/libonnxruntime.so"; then
  say "Installing $(basename "$ORT_SRC") into $ORT_DIR"
  mkdir -p "$ORT_DIR"
  cp "$ORT_SRC" "$ORT_DIR/libonnxruntime.so"
fi

say "Building the plugin (cargo build --release)"
cargo build --release --locked
# A folder with only the plugin: GST_PLUGIN_PATH is scanned recursively and
# target/release also holds deps/libgstedgeai.so, a second copy.
mkdir -p target/gst-plugins
cp -f target/release/libgstedgeai.so target/gst-plugins/libgstedgeai.so
# The environment that makes GStreamer find it. Our folder goes last on
# GST_PLUGIN_SYSTEM_PATH, after the system plugins: GStreamer keeps the last
# element registered under a name, so our `edgedetect` wins over the one of
# Debian's gstreamer1.0-opencv when that is installed.
cat > target/gst-plugins/env.sh <<ENV
export GST_PLUGIN_SYSTEM_PATH="$(pkg-config --variable=pluginsdir gstreamer-1.0):$(pwd)/target/gst-plugins"
unset GST_PLUGIN_PATH
ENV
echo "Plugin: $(pwd)/target/gst-plugins/libgstedgeai.so (to use it: . target/gst-plugins/env.sh)"
