// SPDX-License-Identifier: MPL-2.0
//! What every benchmark needs: its command-line options, the shared assets,
//! the load average printed beside the figures, and order statistics.
//! (Each bench uses a part of it.)
#![allow(dead_code)]

use std::path::PathBuf;

/// `--name N` on the command line, or `default`.
pub fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `--name TEXT` on the command line, or `default`.
pub fn text_arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

/// Whether `--name` is on the command line.
pub fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

/// The first three fields of /proc/loadavg.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The shared test assets (`EDGEAI_SHARED`, or `../shared` beside the
/// checkout); panics, naming the folder, when the model or video is missing.
pub fn shared() -> PathBuf {
    let dir = std::env::var_os("EDGEAI_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    assert!(
        dir.join("models/yolox_nano.onnx").is_file() && dir.join("media/vtest.avi").is_file(),
        "shared assets (models/yolox_nano.onnx, media/vtest.avi) missing in {}",
        dir.display()
    );
    dir
}

/// The `q` quantile (0..=1) of `v`, linearly interpolated; NaN when empty.
pub fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return f64::NAN;
    }
    let pos = q * (s.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

/// The upper median of `v` (the middle element after sorting).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}
