#!/bin/sh
# Called by meson.build: cargo build --release, then copy the plugin to meson's output.
#   meson-cargo.sh CARGO SOURCE_DIR TARGET_DIR OUTPUT
set -eu
"$1" build --release --locked --manifest-path "$2/Cargo.toml" --target-dir "$3"
cp "$3/release/libgstedgeai.so" "$4"
