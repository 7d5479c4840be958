// SPDX-License-Identifier: MPL-2.0
//! Tracker benchmark: the cost of tracking one frame at 10, 100 and 1000
//! objects, next to one YOLOX-nano inference, measured alternately in the
//! same run so the machine's load drifts over all figures alike; ratios are
//! taken within a round.
//!
//!     cargo bench --bench tracker [-- --rounds 5 --frames 300]
//!
//! Per round:
//! 1. `inference`: `Detector::run_model_only` on the pre-processed tensor of
//!    a black 768x576 frame (ONNX Runtime alone, 2 threads), mean of
//!    `--frames / 10` runs after a warm-up.
//! 2. For each object count: `update` (a detector frame: predict, associate,
//!    update) and `predict_only` (a skipped frame) of the ByteTrack
//!    `Tracker`, mean per frame over `--frames` frames; and `element`: the
//!    same detector frames as ROI metas pushed through `edgetrack` in a
//!    Harness (meta reading, tracking, writing `object_id` and `tracking`
//!    structures), buffers prepared beforehand, minus the same buffers
//!    through `identity` in a Harness (the Harness's own cost per buffer).
//!
//! Objects: boxes of 30x50 px on a grid, drifting, jittered (σ 1 px), three
//! classes, shuffled, scores 0.6–0.99: every object is matched every frame,
//! the worst case for per-frame work (no object is skipped as unmatched).

use std::time::Instant;

use gstedgeai::frame::{FrameView, PixelLayout, Plane, YuvConversion};
use gstedgeai::meta;
use gstedgeai::runtime::{Detector, DetectorConfig, Provider};
use gstedgeai::tracker::synth::SplitMix64;
use gstedgeai::tracker::{BoxDet, Tracker, TrackerConfig};

mod common;
use common::{arg, median, shared};

const THREADS: usize = 2;
const COUNTS: [usize; 3] = [10, 100, 1000];
const WARMUP: usize = 20;

fn model() -> std::path::PathBuf {
    shared().join("models/yolox_nano.onnx")
}

/// `n` objects on a grid, moving; detections shuffled.
fn grid_frame(n: usize, frame: usize, rng: &mut SplitMix64) -> Vec<BoxDet> {
    let cols = (n as f32).sqrt().ceil() as usize;
    let mut dets: Vec<BoxDet> = (0..n)
        .map(|i| {
            let x = (i % cols) as f32 * 40.0 + frame as f32 * 0.5;
            let y = (i / cols) as f32 * 60.0 + frame as f32 * 0.25;
            let mut j = || rng.gaussian();
            BoxDet {
                x1: x + j(),
                y1: y + j(),
                x2: x + 30.0 + j(),
                y2: y + 50.0 + j(),
                score: 0.6 + 0.39 * rng.unit() as f32,
                class_id: (i % 3) as i32,
                index: i,
            }
        })
        .collect();
    for k in (1..dets.len()).rev() {
        let j = rng.index(k + 1);
        dets.swap(k, j);
    }
    dets
}

/// The frame size that holds the grid of `n` objects.
fn frame_size(n: usize) -> (u32, u32) {
    let cols = (n as f32).sqrt().ceil() as u32;
    let rows = (n as u32).div_ceil(cols);
    (cols * 40 + 200, rows * 60 + 200)
}

fn buffer_of(dets: &[BoxDet], k: usize, w: u32, h: u32) -> gst::Buffer {
    const LABELS: [&str; 3] = ["person", "car", "bicycle"];
    let mut buf = gst::Buffer::with_size(16).expect("buffer");
    {
        let b = buf.get_mut().expect("writable");
        b.set_pts(gst::ClockTime::from_nseconds(k as u64 * 1_000_000_000 / 30));
        for d in dets {
            let o = meta::Object::new(
                LABELS[d.class_id as usize % 3],
                d.class_id,
                f64::from(d.score),
                [d.x1, d.y1, d.x2, d.y2].map(f64::from),
            );
            meta::add_object(b, &o, w, h);
        }
        meta::update_frame_info(b, |f| f.inferred = Some(true)).expect("frame meta");
    }
    buf
}

/// Mean µs per `update` and per `predict_only` over `frames`.
fn time_tracker(frames: &[Vec<BoxDet>]) -> (f64, f64) {
    let mut t = Tracker::new(TrackerConfig::default());
    for f in &frames[..WARMUP] {
        t.update(f);
    }
    let timed = &frames[WARMUP..];
    let start = Instant::now();
    let mut reported = 0;
    for f in timed {
        reported += t.update(f).len();
    }
    let update = start.elapsed().as_secs_f64() * 1e6 / timed.len() as f64;
    assert_eq!(
        reported,
        timed.len() * frames[0].len(),
        "every object tracked"
    );
    let start = Instant::now();
    for _ in 0..timed.len() {
        std::hint::black_box(t.predict_only());
    }
    let predict = start.elapsed().as_secs_f64() * 1e6 / timed.len() as f64;
    (update, predict)
}

/// Mean µs per buffer through `element` (`edgetrack`, or `identity` for
/// the Harness's own cost): push + pull in a Harness.
fn time_element(element: &str, buffers: &[gst::Buffer], w: u32, h: u32) -> f64 {
    let el = gst::ElementFactory::make(element).build().expect("element");
    let mut harness = gst_check::Harness::with_element(&el, Some("sink"), Some("src"));
    harness.set_src_caps_str(&format!(
        "video/x-raw,format=RGB,width={w},height={h},framerate=30/1"
    ));
    // Copies (metas included) so the originals stay untouched for the next
    // round; made before timing.
    let copies: Vec<gst::Buffer> = buffers.iter().map(|b| b.copy()).collect();
    let mut copies = copies.into_iter();
    for b in copies.by_ref().take(WARMUP) {
        harness.push_and_pull(b).expect("buffer");
    }
    let n = buffers.len() - WARMUP;
    let start = Instant::now();
    for b in copies {
        harness.push_and_pull(b).expect("buffer");
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    // Drop the bus messages (one per new track) outside the timing.
    drop(harness);
    us
}

fn main() {
    gst::init().expect("gst init");
    gstedgeai::plugin_register_static().expect("register");
    let rounds = arg("--rounds", 5).max(1);
    let frames = arg("--frames", 300).max(WARMUP + 10);
    let runs = (frames / 10).max(10);

    let mut detector = Detector::load(&DetectorConfig {
        model: model(),
        threads: THREADS,
        provider: Provider::Cpu,
        family: None,
    })
    .expect("load model");
    let (w, h) = (768usize, 576usize);
    let black = vec![0u8; w * h * 3];
    let view = FrameView {
        yuv: YuvConversion::default(),
        layout: PixelLayout::Bgr,
        width: w,
        height: h,
        planes: vec![Plane {
            data: &black,
            stride: w * 3,
        }],
    };
    detector.preprocess(&view).expect("preprocess");
    for _ in 0..10 {
        detector.run_model_only().expect("warm-up");
    }

    struct Case {
        n: usize,
        frames: Vec<Vec<BoxDet>>,
        buffers: Vec<gst::Buffer>,
        size: (u32, u32),
    }
    let cases: Vec<Case> = COUNTS
        .iter()
        .map(|&n| {
            let mut rng = SplitMix64::new(n as u64);
            let frames: Vec<Vec<BoxDet>> =
                (0..frames).map(|k| grid_frame(n, k, &mut rng)).collect();
            let size = frame_size(n);
            let buffers = frames
                .iter()
                .enumerate()
                .map(|(k, f)| buffer_of(f, k, size.0, size.1))
                .collect();
            Case {
                n,
                frames,
                buffers,
                size,
            }
        })
        .collect();

    let mut inference_us = Vec::new();
    // [case][round] -> (update, predict, element)
    let mut results: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new(); cases.len()];
    for round in 0..rounds {
        let start = Instant::now();
        for _ in 0..runs {
            detector.run_model_only().expect("inference");
        }
        let inf = start.elapsed().as_secs_f64() * 1e6 / runs as f64;
        inference_us.push(inf);
        let mut line = format!("round {}: inference {:.0} µs", round + 1, inf);
        for (i, c) in cases.iter().enumerate() {
            let (update, predict) = time_tracker(&c.frames);
            let element = time_element("edgetrack", &c.buffers, c.size.0, c.size.1);
            let identity = time_element("identity", &c.buffers, c.size.0, c.size.1);
            results[i].push((update, predict, element - identity));
            line.push_str(&format!(
                "; {} objects: update {update:.1} µs, predict {predict:.1} µs, element {element:.1} µs (identity {identity:.1} µs)",
                c.n
            ));
        }
        eprintln!("{line}");
    }

    println!(
        "\nByteTrack (default settings) per frame, {frames} frames ({WARMUP} warm-up), {rounds} rounds, \
         medians; YOLOX-nano 416 inference, {THREADS} threads, {runs} runs per round\n"
    );
    println!(
        "| objects | update (detector frame) | predict_only (skipped frame) | edgetrack element (detector frame) minus identity | update / inference | element / inference |"
    );
    println!("|---|---|---|---|---|---|");
    for (i, c) in cases.iter().enumerate() {
        let r = &results[i];
        let pick = |f: fn(&(f64, f64, f64)) -> f64| median(&r.iter().map(f).collect::<Vec<_>>());
        let ratio = |f: fn(&(f64, f64, f64)) -> f64| {
            median(
                &r.iter()
                    .zip(&inference_us)
                    .map(|(x, inf)| f(x) / inf)
                    .collect::<Vec<_>>(),
            )
        };
        println!(
            "| {} | {:.1} µs | {:.1} µs | {:.1} µs | {:.2} % | {:.2} % |",
            c.n,
            pick(|x| x.0),
            pick(|x| x.1),
            pick(|x| x.2),
            100.0 * ratio(|x| x.0),
            100.0 * ratio(|x| x.2),
        );
    }
    println!(
        "\ninference: median {:.0} µs (per round: {})",
        median(&inference_us),
        inference_us
            .iter()
            .map(|v| format!("{v:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let r100: Vec<f64> = results[1]
        .iter()
        .zip(&inference_us)
        .map(|(x, inf)| x.0 / inf)
        .collect();
    println!(
        "tracker update at 100 objects / inference: median {:.2} % (per round: {}), target < 2 %",
        100.0 * median(&r100),
        r100.iter()
            .map(|v| format!("{:.2} %", 100.0 * v))
            .collect::<Vec<_>>()
            .join(", ")
    );
}
