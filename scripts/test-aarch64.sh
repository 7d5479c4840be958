#!/usr/bin/env bash
# Runs the pre-processing unit tests (src/inference/preprocess.rs and the
# plain modules it includes: frame, decode, nms) built for aarch64, under
# qemu-aarch64. The whole plugin cannot cross-build here (the GStreamer -sys
# crates need the target's pkg-config), so tools/preprocess-kernels compiles
# those sources on their own. On aarch64 the portable kernels are NEON code
# (NEON is part of the aarch64 baseline); the script checks that the test
# binary really holds NEON vector instructions, so the tests exercise the
# vector paths and not only scalar code. Speed under qemu means nothing.
#
# Needs: rustup target aarch64-unknown-linux-gnu (the 1.95.0 toolchain has
# it), Debian packages gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
# (scripts/setup.sh installs them), binutils-aarch64-linux-gnu (pulled in by
# gcc-aarch64-linux-gnu) for the disassembly check.
set -euo pipefail
cd "$(dirname "$0")/../tools/preprocess-kernels"

target=aarch64-unknown-linux-gnu
for tool in aarch64-linux-gnu-gcc aarch64-linux-gnu-objdump qemu-aarch64; do
    command -v "$tool" >/dev/null || {
        echo "test-aarch64: $tool missing: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user" >&2
        exit 1
    }
done
rustc --print sysroot >/dev/null
if ! [ -d "$(rustc --print sysroot)/lib/rustlib/$target" ]; then
    echo "test-aarch64: the Rust standard library for $target is missing: rustup target add $target" >&2
    exit 2
fi

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu

cargo build --release --locked --target "$target" --tests --message-format=json >target-aarch64-build.json
bin=$(grep '"profile"' target-aarch64-build.json | grep '"test":true' |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
rm -f target-aarch64-build.json
[ -x "$bin" ] || { echo "test-aarch64: no test binary built" >&2; exit 1; }
# (Output to a variable first: `| grep -q` under pipefail can fail on SIGPIPE.)
format=$(aarch64-linux-gnu-objdump -f "$bin")
case "$format" in
    *"file format elf64-littleaarch64"*) ;;
    *) echo "test-aarch64: $bin is not an aarch64 binary" >&2; exit 1 ;;
esac

# The vector kernels must be NEON code: count the instructions on vector
# lanes (.4s / .8h / .16b ...) in each portable kernel's symbol.
aarch64-linux-gnu-objdump -d --no-show-raw-insn "$bin" |
    awk '/^[0-9a-f]+ <.*>:$/ {name=$2}
         /\t[a-z0-9.]+\t.*v[0-9]+\.(16b|8b|8h|4h|4s|2s|2d)/ {n[name]++}
         END {for (k in n) print n[k], k}' >target-aarch64-neon.txt
for kernel in hpass_packed hpass_plane_vec hpass_uv_vec vpass yuv_rows_to_rgb; do
    count=$(grep -E "preprocess[0-9]+${kernel}17h" target-aarch64-neon.txt | awk '{s+=$1} END {print s+0}')
    echo "test-aarch64: $kernel: $count NEON vector instructions"
    if [ "$count" -lt 8 ]; then
        echo "test-aarch64: $kernel was not vectorised for NEON" >&2
        exit 1
    fi
done
# The table-driven gather (src/inference/preprocess_gather.rs): NEON `tbl`.
tbl=$(aarch64-linux-gnu-objdump -d --no-show-raw-insn "$bin" |
    awk '/^[0-9a-f]+ <.*>:$/ {on = ($2 ~ /gather/)} on && /\ttbl\t/ {n++} END {print n+0}')
echo "test-aarch64: gather: $tbl tbl instructions"
[ "$tbl" -ge 1 ] || { echo "test-aarch64: the NEON gather kernel is missing" >&2; exit 1; }
rm -f target-aarch64-neon.txt
# The YUV conversion rounds with a vector instruction (`round_ties_even`:
# `frintn`, or `frintx`, i.e. the current rounding mode, nearest-even).
frint=$(aarch64-linux-gnu-objdump -d --no-show-raw-insn "$bin" |
    awk '/^[0-9a-f]+ <.*>:$/ {on = ($2 ~ /yuv_rows_to_rgb/)} on && /\tfrint[nx]\tv[0-9]+\.4s/ {n++} END {print n+0}')
echo "test-aarch64: yuv_rows_to_rgb: $frint vector frintn/frintx instructions"
[ "$frint" -ge 1 ] || { echo "test-aarch64: yuv_rows_to_rgb does not round with a vector frint" >&2; exit 1; }

cargo test --release --locked --target "$target" "$@"
