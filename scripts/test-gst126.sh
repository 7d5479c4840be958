#!/usr/bin/env bash
# Tests of the `v1_24` feature (GStreamer's analytics metadata) against
# GStreamer 1.26, inside a Debian 13 (trixie) root: the host has GStreamer 1.22.
#
# - Creates the root when missing, outside the repository
#   (EDGEAI_TRIXIE_ROOT, default /var/cache/gst-plugin-edgeai/trixie-root), with
#   debootstrap from the host's Debian mirror, and installs GStreamer 1.26 there.
#   A second run reuses it.
# - Builds, inside the root, the plugin (tests/analytics.rs runs python3 on it)
#   and runs the lib unit tests of meta.rs and
#   tests/analytics.rs with `--features v1_24`, with the host's Rust toolchain,
#   the repository and ../shared bind-mounted, its own target folder
#   (target/gst126) and the host's ONNX Runtime (ORT_DYLIB_PATH); the crates
#   are fetched on the host first and the root builds offline.
# Needs root (debootstrap, chroot, mount). Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
SHARED=$(cd "${EDGEAI_SHARED:-../shared}" && pwd)
ROOT=${EDGEAI_TRIXIE_ROOT:-/var/cache/gst-plugin-edgeai/trixie-root}
ORT_LIB=${ORT_DYLIB_PATH:-$HOME/.local/share/gst-plugin-edgeai/onnxruntime/libonnxruntime.so}
CARGO_DIR=${CARGO_HOME:-$HOME/.cargo}
RUSTUP_DIR=${RUSTUP_HOME:-$HOME/.rustup}
PACKAGES="libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav
  gstreamer1.0-tools pkg-config gcc libc6-dev python3-gi gir1.2-gst-plugins-bad-1.0
  gir1.2-gst-plugins-base-1.0"
READY="$ROOT/.edgeai-root-ready"
start=$(date +%s)

[ "$(id -u)" = 0 ] || { echo "error: scripts/test-gst126.sh needs root (debootstrap, chroot, mount)" >&2; exit 1; }
[ -f "$ORT_LIB" ] || { echo "error: ONNX Runtime missing at $ORT_LIB (run scripts/setup.sh)" >&2; exit 1; }
[ -e "$SHARED/media/vtest.avi" ] || { echo "error: shared test assets missing at $SHARED" >&2; exit 1; }

# The host's Debian mirror (its .../debian URI, not -security), from its apt
# sources (deb822 or one-line format).
mirror() {
  local u
  u=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | awk '{print $2}' | grep -E '/debian/?$' | head -n 1 || true)
  if [ -z "$u" ]; then
    u=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' \
      | grep -E '/debian/?$' | head -n 1 || true)
  fi
  [ -n "$u" ] || { echo "error: no Debian mirror found in /etc/apt/sources.list(.d)" >&2; exit 1; }
  echo "$u"
}

MOUNTS=()
cleanup() {
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    umount -l "${MOUNTS[$i]}" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM # exits through the EXIT trap

bind() { # bind SRC DEST [ro]
  mkdir -p "$2"
  mount --bind "$1" "$2"
  MOUNTS+=("$2")
  if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$2"; fi
}

mount_system() {
  mkdir -p "$ROOT/proc" "$ROOT/sys" "$ROOT/dev"
  mount -t proc proc "$ROOT/proc"; MOUNTS+=("$ROOT/proc")
  mount --rbind /sys "$ROOT/sys"; mount --make-rslave "$ROOT/sys"; MOUNTS+=("$ROOT/sys")
  mount --rbind /dev "$ROOT/dev"; mount --make-rslave "$ROOT/dev"; MOUNTS+=("$ROOT/dev")
}

if [ ! -f "$READY" ]; then
  echo "== Creating the Debian 13 root at $ROOT"
  t0=$(date +%s)
  command -v debootstrap >/dev/null || apt-get install -y debootstrap
  if [ ! -f "$ROOT/.edgeai-debootstrap-done" ]; then
    if [ -e "$ROOT" ]; then
      echo "error: $ROOT exists but is no finished root: remove it by hand (after checking nothing is mounted under it)" >&2
      exit 1
    fi
    # Into a fresh folder that is never mounted on, renamed once complete.
    rm -rf "$ROOT.partial"
    mkdir -p "$(dirname "$ROOT")"
    debootstrap --variant=minbase trixie "$ROOT.partial" "$(mirror)"
    touch "$ROOT.partial/.edgeai-debootstrap-done"
    mv "$ROOT.partial" "$ROOT"
  fi
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
  mount_system
  # shellcheck disable=SC2086
  chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive bash -c \
    "apt-get update -q && apt-get install -y -q --no-install-recommends $(echo $PACKAGES) && apt-get clean"
  cleanup; MOUNTS=()
  touch "$READY"
  echo "root created in $(($(date +%s) - t0)) s"
fi

mount_system
bind "$REPO" "$ROOT/repo"
bind "$SHARED" "$ROOT/shared" ro
bind "$RUSTUP_DIR" "$ROOT/root/.rustup" ro
bind "$CARGO_DIR" "$ROOT/root/.cargo"
bind "$(dirname "$ORT_LIB")" "$ROOT/opt/onnxruntime" ro

# Crates are fetched here, on the host, and the root builds offline: the
# root's CA certificates are Debian's own, without any the host trusts on top
# (a registry behind a TLS-inspecting proxy fails there), and the feature
# `v1_24` needs crates (gstreamer-analytics) the host's own builds never fetch.
echo "== Fetching the crates of Cargo.lock on the host"
cargo fetch --locked --target "$(rustc -vV | sed -n 's/^host: //p')"

echo "== GStreamer in the root: $(chroot "$ROOT" pkg-config --modversion gstreamer-analytics-1.0)"
# target/gst126: this root's own build folder (its libraries differ from the host's).
chroot "$ROOT" env -i HOME=/root PATH=/root/.cargo/bin:/usr/bin:/bin \
  RUSTUP_HOME=/root/.rustup CARGO_HOME=/root/.cargo \
  CARGO_TARGET_DIR=/repo/target/gst126 EDGEAI_SHARED=/shared \
  ORT_DYLIB_PATH="/opt/onnxruntime/$(basename "$ORT_LIB")" \
  G_DEBUG=fatal_warnings \
  bash -c 'set -e; cd /repo
    cargo build --profile gst126 --locked --offline --features v1_24 --lib
    cargo test --profile gst126 --locked --offline --features v1_24 --lib meta:: -- --test-threads=2
    cargo test --profile gst126 --locked --offline --features v1_24 --test analytics -- --test-threads=2'
echo "== GStreamer 1.26 checks passed in $(($(date +%s) - start)) s"
