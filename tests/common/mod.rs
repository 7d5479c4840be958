// SPDX-License-Identifier: MPL-2.0
//! Helpers shared by the integration tests: plugin registration, shared
//! assets (which must exist: a missing asset fails the test loudly), the
//! Python generators, and running whole pipelines.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, Once};
use std::time::Duration;

use gst::prelude::*;

pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().expect("gst::init");
        gstedgeai::plugin_register_static().expect("register the edgeai plugin");
    });
}

pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the checkout, or `$EDGEAI_SHARED`. Panics when missing:
/// CI has these assets, so a missing one is a broken set-up, never a skip.
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("EDGEAI_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_dir().join("../shared"));
    assert!(
        dir.join("models/yolox_nano.onnx").is_file(),
        "shared test assets are missing: expected {}/models/yolox_nano.onnx (set EDGEAI_SHARED to their folder)",
        dir.display()
    );
    dir
}

pub fn shared(rel: &str) -> PathBuf {
    let p = shared_dir().join(rel);
    assert!(p.exists(), "shared asset missing: {}", p.display());
    p
}

pub fn yolox_model() -> PathBuf {
    shared("models/yolox_nano.onnx")
}

pub fn coco_names() -> PathBuf {
    shared("models/coco.names")
}

/// The Python of the project's venv (scripts/setup.sh), else `python3`.
pub fn python() -> PathBuf {
    let venv = repo_dir().join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

fn run_python(args: &[&str]) {
    let out = Command::new(python())
        .args(args)
        .current_dir(repo_dir())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} {args:?}: {e}", python().display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{}\n{}",
        python().display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

static GENERATE: Mutex<()> = Mutex::new(());

/// Small ONNX models built by `tools/make_test_models.py` (one per output layout).
/// One generated test model, the set regenerated when it is missing (a
/// `target/test_models` generated before that model was added).
pub fn test_model(name: &str) -> PathBuf {
    let dir = test_models_dir();
    let _g = GENERATE.lock().unwrap_or_else(|e| e.into_inner());
    if !dir.join(name).exists() {
        run_python(&["tools/make_test_models.py", dir.to_str().unwrap()]);
    }
    dir.join(name)
}

pub fn test_models_dir() -> PathBuf {
    let _g = GENERATE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = repo_dir().join("target/test_models");
    if !dir.join("expected.json").exists() {
        run_python(&["tools/make_test_models.py", dir.to_str().unwrap()]);
    }
    dir
}

/// The COCO photos decoded once to PNG by `tools/prepare_coco_png.py`, so the
/// pipeline and the Python reference see identical pixels.
pub fn coco_png_dir() -> PathBuf {
    let _g = GENERATE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = repo_dir().join("target/coco_png");
    shared("media/coco");
    if !dir.join("manifest.json").exists() {
        run_python(&["tools/prepare_coco_png.py", dir.to_str().unwrap()]);
    }
    dir
}

/// Runs a pipeline to EOS; returns the error message text on failure.
pub fn run_pipeline(desc: &str, timeout: Duration) -> Result<(), String> {
    init();
    let pipeline = gst::parse::launch(desc).map_err(|e| format!("parse: {e}"))?;
    let bus = pipeline.bus().expect("pipeline bus");
    let result = match pipeline.set_state(gst::State::Playing) {
        Err(_) => Err(first_error(&bus).unwrap_or_else(|| "state change failed".into())),
        Ok(_) => loop {
            match bus.timed_pop_filtered(
                gst::ClockTime::from_nseconds(timeout.as_nanos() as u64),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            ) {
                None => break Err(format!("timeout after {timeout:?}")),
                Some(msg) => match msg.view() {
                    gst::MessageView::Eos(_) => break Ok(()),
                    gst::MessageView::Error(e) => {
                        break Err(format!("{} ({:?})", e.error(), e.debug()));
                    }
                    _ => {}
                },
            }
        },
    };
    let _ = pipeline.set_state(gst::State::Null);
    result
}

fn first_error(bus: &gst::Bus) -> Option<String> {
    while let Some(msg) = bus.pop() {
        if let gst::MessageView::Error(e) = msg.view() {
            return Some(format!("{} ({:?})", e.error(), e.debug()));
        }
    }
    None
}

/// Reads a JSON Lines file written by `edgejson`.
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect()
}

/// A fresh temporary folder under target/, unique per call.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = repo_dir()
        .join("target/test_tmp")
        .join(format!("{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

pub fn iou(a: &[f64], b: &[f64]) -> f64 {
    let ix = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let iy = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = ix * iy;
    let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

pub fn as_box(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .expect("box array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// A folder holding only a copy of the built plugin, for child
/// `gst-launch-1.0` processes. `GST_PLUGIN_PATH` is scanned recursively, and
/// target/release also holds `deps/libgstedgeai.so`: two copies of one plugin
/// in a scan make GLib refuse to register its types a second time.
pub fn plugin_only_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let built = std::env::current_exe()
            .expect("test binary path")
            .parent()
            .and_then(Path::parent)
            .expect("target/release")
            .join("libgstedgeai.so");
        assert!(built.exists(), "no plugin at {}", built.display());
        let dir = temp_dir("gst-plugin");
        std::fs::copy(&built, dir.join("libgstedgeai.so")).expect("copy the plugin");
        dir
    })
    .clone()
}

/// Environment for a child `gst-launch-1.0` that must find this plugin's
/// elements: the system plugins first, then [`plugin_only_dir`], on
/// `GST_PLUGIN_SYSTEM_PATH`, with a private registry. Scanned last, our
/// `edgedetect` wins over the one in Debian's gstreamer1.0-opencv (GStreamer
/// keeps the last element registered under a name; `GST_PLUGIN_PATH` is
/// scanned before the system folders).
pub fn gst_child_env<'a>(cmd: &'a mut Command, registry: &str) -> &'a mut Command {
    let dir = plugin_only_dir();
    let system = Command::new("pkg-config")
        .args(["--variable=pluginsdir", "gstreamer-1.0"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .expect("pkg-config --variable=pluginsdir gstreamer-1.0");
    cmd.env_remove("GST_PLUGIN_PATH")
        .env(
            "GST_PLUGIN_SYSTEM_PATH",
            format!("{system}:{}", dir.display()),
        )
        .env("GST_REGISTRY", dir.join(registry))
}
