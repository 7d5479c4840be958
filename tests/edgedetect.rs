// SPDX-License-Identifier: MPL-2.0
//! `edgedetect` end to end: parity with the independent Python reference on
//! COCO photos in every advertised format, the output decoders on generated
//! models, bad inputs, interval marking and resolution changes.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use gst::prelude::*;
use gst_video::prelude::*;
use serde_json::Value;

const TIMEOUT: Duration = Duration::from_secs(300);

/// Links the decoded COCO PNGs as 0.png, 1.png, ... (sorted by name) so that
/// one `multifilesrc` pipeline reads them all; returns the names in order.
fn numbered_pngs(dir: &Path) -> Vec<String> {
    let src = coco_png_dir();
    let mut names: Vec<String> = std::fs::read_dir(&src)
        .expect("read coco_png")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".png"))
        .map(|n| n.trim_end_matches(".png").to_string())
        .collect();
    names.sort();
    assert_eq!(
        names.len(),
        100,
        "expected the 100 COCO photos in {}",
        src.display()
    );
    for (i, n) in names.iter().enumerate() {
        std::os::unix::fs::symlink(src.join(format!("{n}.png")), dir.join(format!("{i}.png")))
            .expect("symlink");
    }
    names
}

fn reference() -> Value {
    let path = repo_dir().join("tests/fixtures/yolox_nano_coco_reference.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("reference fixture"))
        .expect("fixture JSON")
}

struct Parity {
    reference: usize,
    matched: usize,
    extra: usize,
    worst_conf_diff: f64,
}

/// Runs the photos through decode, convert to `format`, edgedetect, edgejson
/// and matches the result against the reference: same class, IoU >= `min_iou`,
/// confidence within `max_conf_diff`.
fn parity(format: &str, min_iou: f64, max_conf_diff: f64) -> Parity {
    let dir = temp_dir(&format!("parity-{format}"));
    let names = numbered_pngs(&dir);
    let out = dir.join("out.jsonl");
    let desc = format!(
        "multifilesrc location={}/%d.png index=0 stop-index=99 caps=image/png,framerate=1/1 ! pngdec ! \
         videoconvert ! video/x-raw,format={format} ! \
         edgedetect model={} labels={} conf-threshold=0.3 iou-threshold=0.45 threads=2 ! \
         edgejson location={} ! fakesink",
        dir.display(),
        yolox_model().display(),
        coco_names().display(),
        out.display()
    );
    run_pipeline(&desc, TIMEOUT).expect("parity pipeline");
    let frames = read_jsonl(&out);
    assert_eq!(frames.len(), 100);
    let reference = reference();
    let mut p = Parity {
        reference: 0,
        matched: 0,
        extra: 0,
        worst_conf_diff: 0.0,
    };
    for (i, name) in names.iter().enumerate() {
        let r = &reference["images"][name];
        let (w, h) = (r["width"].as_f64().unwrap(), r["height"].as_f64().unwrap());
        assert_eq!(
            frames[i]["width"].as_f64().unwrap(),
            w,
            "frame {i} is {name}"
        );
        assert_eq!(frames[i]["height"].as_f64().unwrap(), h);
        assert_eq!(frames[i]["inferred"], Value::Bool(true));
        let ours: Vec<&Value> = frames[i]["objects"].as_array().unwrap().iter().collect();
        let mut used = vec![false; ours.len()];
        for d in r["detections"].as_array().unwrap() {
            p.reference += 1;
            // The plugin clips boxes to the frame, as DL Streamer does; the
            // reference does not, so clip it the same way before comparing.
            let mut rb = as_box(&d["box"]);
            rb[0] = rb[0].clamp(0.0, w);
            rb[2] = rb[2].clamp(0.0, w);
            rb[1] = rb[1].clamp(0.0, h);
            rb[3] = rb[3].clamp(0.0, h);
            let best = ours
                .iter()
                .enumerate()
                .filter(|(j, o)| !used[*j] && o["class_id"] == d["class_id"])
                .map(|(j, o)| (j, iou(&rb, &as_box(&o["box"]))))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((j, v)) = best {
                let diff =
                    (ours[j]["confidence"].as_f64().unwrap() - d["score"].as_f64().unwrap()).abs();
                if v >= min_iou && diff <= max_conf_diff {
                    used[j] = true;
                    p.matched += 1;
                    p.worst_conf_diff = p.worst_conf_diff.max(diff);
                }
            }
        }
        p.extra += used.iter().filter(|u| !**u).count();
    }
    eprintln!(
        "{format}: {} reference boxes, {} matched, {} extra, worst confidence difference {:.4}",
        p.reference, p.matched, p.extra, p.worst_conf_diff
    );
    p
}

fn assert_parity(p: &Parity) {
    assert!(p.reference > 300, "reference too small: {}", p.reference);
    assert!(
        p.matched as f64 >= 0.98 * p.reference as f64,
        "only {}/{} reference boxes matched",
        p.matched,
        p.reference
    );
    assert!(
        p.extra as f64 <= 0.02 * p.reference as f64,
        "{} extra boxes for {} reference boxes",
        p.extra,
        p.reference
    );
}

/// Same pixels as the reference: every RGB-family format must meet the issue's
/// bar (98% matched with IoU >= 0.9 and confidence within 0.01, <= 2% extra).
#[test]
fn parity_with_python_reference_rgb_formats() {
    for format in ["BGR", "RGB", "RGBA", "BGRA", "RGBx", "BGRx"] {
        assert_parity(&parity(format, 0.9, 0.01));
    }
}

/// NV12 and I420 halve the chroma resolution, so the pixels are not the
/// reference's: the same objects must still be found, with looser limits
/// (measured on this data: see docs/edgedetect.md).
#[test]
fn parity_with_python_reference_yuv_formats() {
    for format in ["I420", "NV12"] {
        let p = parity(format, 0.8, 0.1);
        assert!(
            p.matched as f64 >= 0.85 * p.reference as f64,
            "{format}: {}/{}",
            p.matched,
            p.reference
        );
        assert!(
            p.extra as f64 <= 0.15 * p.reference as f64,
            "{format}: {} extra",
            p.extra
        );
    }
}

fn expected_models() -> (PathBuf, Value) {
    let dir = test_models_dir();
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected.json")).expect("expected.json"),
    )
    .unwrap();
    (dir, expected)
}

/// Each output layout, decoded by the plugin from a generated model with a
/// constant output, gives the hand-computed boxes. The frame is the model's
/// input size (64x64), so network pixels are frame pixels.
#[test]
fn decoders_match_hand_computed_boxes() {
    let (dir, expected) = expected_models();
    let models: &BTreeMap<String, Value> =
        &serde_json::from_value(expected["models"].clone()).expect("models map");
    let mut checked = 0;
    for (name, m) in models {
        // The dynamic-input model is covered by bad_inputs_fail_with_clear_errors.
        let Some(after) = m
            .get("after_nms")
            .and_then(|v| v.as_array())
            .filter(|_| name != "dynamic_input.onnx")
        else {
            continue;
        };
        let tmp = temp_dir(&format!("decoder-{name}"));
        let out = tmp.join("out.jsonl");
        let desc = format!(
            "videotestsrc num-buffers=2 ! video/x-raw,format=RGB,width=64,height=64 ! \
             edgedetect model={} conf-threshold=0.25 iou-threshold=0.45 ! edgejson location={} ! fakesink",
            dir.join(name).display(),
            out.display()
        );
        run_pipeline(&desc, TIMEOUT).unwrap_or_else(|e| panic!("{name}: {e}"));
        let frames = read_jsonl(&out);
        let objs = frames[0]["objects"].as_array().unwrap();
        assert_eq!(
            objs.len(),
            after.len(),
            "{name}: got {objs:?}, expected {after:?}"
        );
        for (o, e) in objs.iter().zip(after) {
            let e: Vec<f64> = e
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let b = as_box(&o["box"]);
            for k in 0..4 {
                assert!((b[k] - e[k]).abs() < 0.02, "{name}: box {b:?} vs {e:?}");
            }
            assert!(
                (o["confidence"].as_f64().unwrap() - e[4]).abs() < 1e-4,
                "{name}: {o} vs {e:?}"
            );
            assert_eq!(o["class_id"].as_f64().unwrap(), e[5], "{name}");
        }
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} layouts checked");
}

/// The Ultralytics models carry their class names in metadata.
#[test]
fn labels_come_from_model_metadata() {
    let (dir, _) = expected_models();
    let tmp = temp_dir("labels-meta");
    let out = tmp.join("out.jsonl");
    let desc = format!(
        "videotestsrc num-buffers=1 ! video/x-raw,format=RGB,width=64,height=64 ! \
         edgedetect model={} ! edgejson location={} ! fakesink",
        dir.join("yolov8_tiny.onnx").display(),
        out.display()
    );
    run_pipeline(&desc, TIMEOUT).unwrap();
    let frames = read_jsonl(&out);
    let labels: Vec<&str> = frames[0]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["car", "person"]);
}

fn start_error(model: &Path, extra: &str) -> String {
    let desc = format!(
        "videotestsrc num-buffers=1 ! video/x-raw,format=RGB,width=64,height=64 ! \
         edgedetect model={} {extra} ! fakesink",
        model.display()
    );
    run_pipeline(&desc, TIMEOUT).expect_err("pipeline should fail")
}

#[test]
fn bad_inputs_fail_with_clear_errors() {
    let (dir, _) = expected_models();
    let tmp = temp_dir("bad-inputs");

    let e = start_error(&tmp.join("missing.onnx"), "");
    assert!(
        e.contains("cannot read model file") && e.contains("missing.onnx"),
        "{e}"
    );

    let garbage = tmp.join("garbage.onnx");
    std::fs::write(&garbage, b"this is not an onnx model").unwrap();
    let e = start_error(&garbage, "");
    assert!(
        e.contains("cannot load") && e.contains("garbage.onnx"),
        "{e}"
    );

    let e = start_error(&dir.join("no_image_input.onnx"), "");
    assert!(e.contains("no image input"), "{e}");

    let e = start_error(&dir.join("bad_layout.onnx"), "");
    assert!(
        e.contains("[1, 10, 10]") || e.contains("1x10x10"),
        "error must print the shape: {e}"
    );

    // Dynamic input size without `imgsz` metadata: fed 640x640, which this
    // model's fixed 64x64-grid output does not fit.
    let e = start_error(&dir.join("dynamic_input.onnx"), "");
    assert!(e.contains("dynamic") && e.contains("[1, 84, 85]"), "{e}");

    let e = start_error(&yolox_model(), "labels=/nonexistent/labels.txt");
    assert!(e.contains("labels file"), "{e}");

    // No model at all.
    let desc = "videotestsrc num-buffers=1 ! video/x-raw,format=RGB,width=64,height=64 ! edgedetect ! fakesink";
    let e = run_pipeline(desc, TIMEOUT).expect_err("no model");
    assert!(e.contains("no model set"), "{e}");
}

/// A bad class-thresholds value is a warning, not a failure.
#[test]
fn bad_class_thresholds_warn_and_run() {
    init();
    let desc = format!(
        "videotestsrc num-buffers=2 ! video/x-raw,format=BGR,width=320,height=240 ! \
         edgedetect model={} labels={} class-thresholds=unicorn:0.5 ! fakesink",
        yolox_model().display(),
        coco_names().display()
    );
    let pipeline = gst::parse::launch(&desc).unwrap();
    let bus = pipeline.bus().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut warned = false;
    loop {
        let msg = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(60),
                &[
                    gst::MessageType::Eos,
                    gst::MessageType::Error,
                    gst::MessageType::Warning,
                ],
            )
            .expect("message");
        match msg.view() {
            gst::MessageView::Warning(w) => warned |= w.error().to_string().contains("unicorn"),
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => panic!("{}", e.error()),
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(warned);
}

/// ONNX Runtime missing: a clear error naming what was searched, no crash.
/// Runs gst-launch-1.0 in a child process, since a process loads ONNX Runtime once.
#[test]
fn missing_onnx_runtime_is_an_error_not_a_crash() {
    let mut cmd = std::process::Command::new("gst-launch-1.0");
    let out = gst_child_env(&mut cmd, "test-registry.bin")
        .args([
            "videotestsrc",
            "num-buffers=1",
            "!",
            "edgedetect",
            &format!("model={}", yolox_model().display()),
            "!",
            "fakesink",
        ])
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .env("HOME", "/nonexistent")
        .env("XDG_DATA_HOME", "/nonexistent")
        .env("LD_LIBRARY_PATH", "")
        .output()
        .expect("gst-launch-1.0");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("could not load ONNX Runtime"), "{text}");
    assert!(text.contains("ORT_DYLIB_PATH"), "{text}");
    // A crash would be a signal, not an exit code.
    assert!(
        out.status.code().is_some(),
        "gst-launch-1.0 crashed: {text}"
    );
}

/// Decodes one COCO PNG to raw BGR (width, height, tightly packed bytes).
fn decode_png_bgr(path: &Path) -> (u32, u32, Vec<u8>) {
    init();
    let desc = format!(
        "filesrc location={} ! pngdec ! videoconvert ! video/x-raw,format=BGR ! appsink name=sink",
        path.display()
    );
    let pipeline = gst::parse::launch(&desc)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let sample = sink.pull_sample().expect("sample");
    let caps = sample.caps().unwrap();
    let info = gst_video::VideoInfo::from_caps(caps).unwrap();
    let buf = sample.buffer().unwrap();
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buf, &info).unwrap();
    let (w, h) = (info.width(), info.height());
    let stride = frame.plane_stride()[0] as usize;
    let data = frame.plane_data(0).unwrap();
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h as usize {
        out.extend_from_slice(&data[y * stride..y * stride + w as usize * 3]);
    }
    drop(frame);
    pipeline.set_state(gst::State::Null).unwrap();
    (w, h, out)
}

fn objects_of(buf: &gst::Buffer, w: u32, h: u32) -> Vec<gstedgeai::meta::Object> {
    gstedgeai::meta::objects(buf, w, h)
}

/// Harness: interval marking (1 frame in 3 inferred, the others marked) and a
/// mid-stream resolution change (boxes rescale with the frame).
#[test]
fn harness_interval_marking_and_resolution_change() {
    init();
    let png = coco_png_dir().join("000000000139.png");
    let (w, h, bgr) = decode_png_bgr(&png);
    // The same picture at twice the size (nearest neighbour), for the caps change.
    let (w2, h2) = (w * 2, h * 2);
    let mut big = vec![0u8; (w2 * h2 * 3) as usize];
    for y in 0..h2 as usize {
        for x in 0..w2 as usize {
            let s = ((y / 2) * w as usize + x / 2) * 3;
            let d = (y * w2 as usize + x) * 3;
            big[d..d + 3].copy_from_slice(&bgr[s..s + 3]);
        }
    }

    let el = gst::ElementFactory::make("edgedetect")
        .property("model", yolox_model().to_str().unwrap())
        .property("labels", coco_names().to_str().unwrap())
        .property("interval", 3u32)
        .property("conf-threshold", 0.3f64)
        // The Harness reports a live upstream, so `mode=auto` would run
        // live; this test is about interval marking, deterministic in sync.
        .property_from_str("mode", "sync")
        .build()
        .unwrap();
    let mut harness = gst_check::Harness::with_element(&el, Some("sink"), Some("src"));
    let caps = |w: u32, h: u32| {
        gst_video::VideoInfo::builder(gst_video::VideoFormat::Bgr, w, h)
            .fps(gst::Fraction::new(10, 1))
            .build()
            .unwrap()
            .to_caps()
            .unwrap()
    };
    // Tightly packed rows are only valid if the default stride equals w*3.
    let pack = |w: u32, h: u32, data: &[u8]| {
        let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Bgr, w, h)
            .build()
            .unwrap();
        let stride = info.stride()[0] as usize;
        let mut buf = vec![0u8; info.size()];
        for y in 0..h as usize {
            buf[y * stride..y * stride + w as usize * 3]
                .copy_from_slice(&data[y * w as usize * 3..(y + 1) * w as usize * 3]);
        }
        buf
    };
    harness.set_src_caps(caps(w, h));
    let mut inferred = Vec::new();
    let mut first_boxes = Vec::new();
    for i in 0..6u64 {
        let mut buf = gst::Buffer::from_mut_slice(pack(w, h, &bgr));
        buf.get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(100 * i));
        let out = harness.push_and_pull(buf).expect("buffer out");
        inferred.push(gstedgeai::meta::frame_info(&out).inferred);
        let objs = objects_of(&out, w, h);
        if i == 0 {
            first_boxes = objs;
        } else if i % 3 != 0 {
            assert!(
                objs.is_empty(),
                "frame {i} was not inferred but has objects"
            );
        }
    }
    assert_eq!(
        inferred,
        [
            Some(true),
            Some(false),
            Some(false),
            Some(true),
            Some(false),
            Some(false)
        ]
    );
    assert!(!first_boxes.is_empty());

    harness.set_src_caps(caps(w2, h2));
    let mut buf = gst::Buffer::from_mut_slice(pack(w2, h2, &big));
    buf.get_mut()
        .unwrap()
        .set_pts(gst::ClockTime::from_mseconds(600));
    let out = harness.push_and_pull(buf).expect("buffer out");
    assert_eq!(gstedgeai::meta::frame_info(&out).inferred, Some(true));
    let big_boxes = objects_of(&out, w2, h2);
    // The most confident object of the small frame, found at twice its coordinates.
    let top = first_boxes
        .iter()
        .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
        .unwrap();
    let scaled = [top.x1 * 2.0, top.y1 * 2.0, top.x2 * 2.0, top.y2 * 2.0];
    let best = big_boxes
        .iter()
        .filter(|o| o.class_id == top.class_id)
        .map(|o| iou(&scaled, &[o.x1, o.y1, o.x2, o.y2]))
        .fold(0.0, f64::max);
    assert!(
        best > 0.85,
        "box after the resolution change does not scale: IoU {best}"
    );
}

/// An upstream element's skip-inference marker is honoured. Left in
/// `mode=auto` on purpose: the Harness's upstream is live, so this runs the
/// live path (one frame pushed and pulled at a time keeps it deterministic).
#[test]
fn skip_inference_marker_is_honoured() {
    init();
    let el = gst::ElementFactory::make("edgedetect")
        .property("model", yolox_model().to_str().unwrap())
        .build()
        .unwrap();
    let mut harness = gst_check::Harness::with_element(&el, Some("sink"), Some("src"));
    harness.set_src_caps_str("video/x-raw,format=RGB,width=64,height=48,framerate=10/1");
    let size = gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, 64, 48)
        .build()
        .unwrap()
        .size();
    let mut buf = gst::Buffer::with_size(size).unwrap();
    gstedgeai::meta::update_frame_info(buf.get_mut().unwrap(), |f| f.skip_inference = true)
        .unwrap();
    let out = harness.push_and_pull(buf).unwrap();
    assert_eq!(gstedgeai::meta::frame_info(&out).inferred, Some(false));
    let plain = gst::Buffer::with_size(size).unwrap();
    let out = harness.push_and_pull(plain).unwrap();
    assert_eq!(gstedgeai::meta::frame_info(&out).inferred, Some(true));
    let el = harness.element().unwrap();
    assert_eq!(el.property::<u64>("frames-inferred"), 1);
    assert_eq!(el.property::<u64>("frames-skipped"), 1);
}

/// The demo video end to end: every frame comes out, pedestrians are found.
#[test]
fn demo_video_end_to_end() {
    let video = shared("media/vtest.avi");
    let tmp = temp_dir("demo");
    let out = tmp.join("out.jsonl");
    let desc = format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=I420 ! \
         edgedetect model={} labels={} conf-threshold=0.3 threads=2 classes=person ! \
         edgejson location={} ! fakesink",
        video.display(),
        yolox_model().display(),
        coco_names().display(),
        out.display()
    );
    run_pipeline(&desc, TIMEOUT).expect("demo pipeline");
    let frames = read_jsonl(&out);
    assert_eq!(frames.len(), 795);
    let with_people = frames
        .iter()
        .filter(|f| {
            f["objects"]
                .as_array()
                .unwrap()
                .iter()
                .any(|o| o["label"] == "person")
        })
        .count();
    assert!(
        with_people > 700,
        "people found on only {with_people} of 795 frames"
    );
    // `classes=person` keeps nothing else.
    assert!(frames.iter().all(|f| {
        f["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["label"] == "person")
    }));
    assert!(
        frames
            .iter()
            .all(|f| f["pts"].is_u64() && f["width"] == 768 && f["height"] == 576)
    );
}
