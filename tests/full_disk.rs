// SPDX-License-Identifier: MPL-2.0
//! A full disk or a file size limit never wedges a pipeline: the write error
//! is posted once, every element still stops, the pipeline reaches NULL and
//! `gst-launch-1.0` exits (with 1, the error). Each case runs in a child
//! process under `timeout`, so a hang shows as exit code 124, not as a test
//! that never ends. `/dev/full` answers every write with ENOSPC; `ulimit -f`
//! (with SIGXFSZ ignored) makes writes past the limit fail with EFBIG, as a
//! small partition filling up does.

mod common;

use std::process::Command;

use common::*;

/// Runs `gst-launch-1.0 ARGS` in bash with `limit` (`ulimit -f` in KiB, if
/// any) and a 60 s timeout; returns (exit code, stdout + stderr).
fn launch(args: &str, limit_kib: Option<u64>) -> (Option<i32>, String) {
    // The private registry exists before any file size limit applies.
    let warm = gst_child_env(
        &mut Command::new("gst-inspect-1.0"),
        "full-disk-registry.bin",
    )
    .arg("edgejson")
    .output()
    .expect("gst-inspect-1.0");
    assert!(
        warm.status.success(),
        "{}",
        String::from_utf8_lossy(&warm.stderr)
    );
    let limit = limit_kib
        .map(|k| format!("ulimit -f {k}; trap '' XFSZ; "))
        .unwrap_or_default();
    let out = gst_child_env(&mut Command::new("bash"), "full-disk-registry.bin")
        .arg("-c")
        .arg(format!("{limit}exec timeout 60 gst-launch-1.0 {args}"))
        .output()
        .expect("bash");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// Exit code 1 (the posted error), the pipeline freed, not killed by the
/// timeout (124) or a signal (None), and the state change to NULL did not fail.
fn assert_stopped_with_error(code: Option<i32>, text: &str) {
    assert_eq!(
        code,
        Some(1),
        "hung (124), crashed (None) or no error: {text}"
    );
    assert!(text.contains("Freeing pipeline"), "{text}");
    assert!(!text.contains("Failed to deactivate pad"), "{text}");
    assert!(!text.contains("very bad"), "{text}");
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[test]
fn edgejson_on_dev_full_reports_once_and_stops() {
    // `async=false`: gst-launch-1.0 1.22 itself sometimes never exits when an
    // element fails on the first buffer while the pipeline prerolls (the
    // source's EOS then prerolls the sink and gst-launch stays in its loop).
    // Stock elements do it too: `videotestsrc num-buffers=20 ! identity
    // error-after=1 ! fakesink` hung 4 times in 60 under load here, this
    // pipeline with an async sink 5 in 60. Without preroll: 0 in 50.
    let (code, text) = launch(
        "videotestsrc num-buffers=20 ! edgejson location=/dev/full ! fakesink async=false",
        None,
    );
    assert_stopped_with_error(code, &text);
    assert!(
        text.contains("cannot write JSON line to /dev/full"),
        "{text}"
    );
    assert!(text.contains("the disk is full"), "{text}");
    // Once: neither every frame nor the flush in stop() repeats it.
    assert_eq!(
        count(&text, "from element /GstPipeline:pipeline0/GstEdgeJson"),
        1,
        "{text}"
    );
}

#[test]
fn edgejson_at_the_file_size_limit_keeps_whole_lines_and_stops() {
    let dir = temp_dir("full-json");
    let path = dir.join("out.jsonl");
    // About 120 bytes a frame: 200 frames do not fit in 4 KiB.
    let (code, text) = launch(
        &format!(
            "videotestsrc num-buffers=200 ! edgejson location={} ! fakesink",
            path.display()
        ),
        Some(4),
    );
    assert_stopped_with_error(code, &text);
    assert!(text.contains("file size limit"), "{text}");
    assert_eq!(
        count(&text, "from element /GstPipeline:pipeline0/GstEdgeJson"),
        1,
        "{text}"
    );
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 4096, "written up to the limit");
    // Every complete line before the limit is valid JSON, frames 0, 1, 2...
    let text = String::from_utf8_lossy(&bytes);
    let whole: Vec<&str> = text
        .split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .collect();
    assert!(whole.len() >= 10, "{} whole lines", whole.len());
    for (i, line) in whole.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a whole JSON line");
        assert_eq!(v["frame"], i as u64);
    }
}

/// `edgeevents` with snapshots (JPEG blobs in the database) under a file
/// size limit just above the empty database: the WAL hits it while
/// recording; the error names the file, the element stops, the database
/// keeps what was committed.
#[test]
fn edgeevents_with_snapshots_at_the_file_size_limit_stops() {
    let dir = temp_dir("full-events");
    let db = dir.join("events.db");
    {
        let s = gstedgeai::events::store::Store::open(
            &db,
            "child",
            gstedgeai::events::store::Synchronous::Full,
        )
        .unwrap();
        drop(s);
    }
    let limit_kib = std::fs::metadata(&db).unwrap().len() / 1024 + 64;
    let model = test_models_dir().join("yolox_tiny.onnx");
    let (code, text) = launch(
        &format!(
            "videotestsrc num-buffers=30000 ! video/x-raw,width=320,height=240,framerate=30/1 \
             ! edgedetect model={} ! edgeevents location={} stream-id=child snapshots=true \
             snapshot-size=256 sync-interval=100 ! fakesink",
            model.display(),
            db.display()
        ),
        Some(limit_kib),
    );
    assert_stopped_with_error(code, &text);
    assert!(text.contains(&db.display().to_string()), "{text}");
    assert!(
        text.contains("disk is full") || text.contains("I/O error"),
        "{text}"
    );
    let c = rusqlite::Connection::open(&db).unwrap();
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}
