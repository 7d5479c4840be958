// SPDX-License-Identifier: MPL-2.0
//! What a new user meets first with YOLOX-nano (no names in its metadata):
//! `classes=person` without `labels` keeps the people (the COCO names are
//! assumed for an 80-class model) and the JSON says `person`; a wrong forced
//! `model-format` fails the start naming the shapes; a wrong
//! `ORT_DYLIB_PATH` is a warning naming it (child process: a process loads
//! ONNX Runtime once).

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

#[test]
fn classes_person_without_labels_keeps_the_people() {
    let dir = temp_dir("first-hour-person");
    let json = dir.join("out.jsonl");
    let desc = format!(
        "filesrc location={} ! decodebin ! videoconvert ! identity eos-after=10 \
         ! edgedetect model={} classes=person ! edgejson location={} ! fakesink",
        shared("media/vtest.avi").display(),
        yolox_model().display(),
        json.display()
    );
    run_pipeline(&desc, Duration::from_secs(120)).expect("pipeline");
    let frames = read_jsonl(&json);
    assert_eq!(frames.len(), 10);
    let labels: Vec<&str> = frames
        .iter()
        .flat_map(|f| f["objects"].as_array().unwrap())
        .map(|o| o["label"].as_str().unwrap())
        .collect();
    // vtest.avi: several people walking in every frame.
    assert!(labels.len() >= 20, "{} people in 10 frames", labels.len());
    assert!(labels.iter().all(|&l| l == "person"), "{labels:?}");
}

#[test]
fn a_forced_model_format_that_does_not_fit_fails_the_start() {
    for format in ["yolov5", "yolov8", "yolo-end2end"] {
        let desc = format!(
            "videotestsrc num-buffers=1 ! videoconvert ! edgedetect model={} model-format={format} ! fakesink",
            yolox_model().display()
        );
        let e = run_pipeline(&desc, Duration::from_secs(60)).expect_err(format);
        assert!(
            e.contains(&format!("model-format={format} does not fit")),
            "{e}"
        );
        assert!(e.contains("[1, 3549, 85]"), "{e}");
        assert!(e.contains("reads as yolox"), "{e}");
    }
    // The right one still works.
    let desc = format!(
        "videotestsrc num-buffers=1 ! videoconvert ! edgedetect model={} model-format=yolox ! fakesink",
        yolox_model().display()
    );
    run_pipeline(&desc, Duration::from_secs(60)).expect("model-format=yolox");
}

#[test]
fn a_wrong_ort_dylib_path_is_a_warning_naming_it() {
    let out = gst_child_env(
        &mut Command::new("gst-launch-1.0"),
        "first-hour-registry.bin",
    )
    .args(
        format!(
            "videotestsrc num-buffers=2 ! videoconvert ! edgedetect model={} ! fakesink",
            yolox_model().display()
        )
        .split_whitespace(),
    )
    .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
    .output()
    .expect("gst-launch-1.0");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Another copy (the set-up's) was loaded: the pipeline ran, with a warning.
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("WARNING")
            && text.contains(
                "ORT_DYLIB_PATH=/nonexistent/libonnxruntime.so cannot be loaded (not found); using "
            ),
        "{text}"
    );
}
