// SPDX-License-Identifier: MPL-2.0
//! Zone counting benchmark: the per-frame cost of `edgezones` at 100 tracked
//! objects and 20 zones (10 lines, 10 polygons of 4 to 8 points), next to
//! one YOLOX-nano inference, measured alternately in the same run; ratios
//! are taken within a round.
//!
//!     cargo bench --bench zones [-- --rounds 5 --frames 300]
//!
//! Per round:
//! 1. `inference`: `Detector::run_model_only` on the pre-processed tensor of
//!    a black 768x576 frame (ONNX Runtime alone, 2 threads), mean of
//!    `--frames / 10` runs after a warm-up;
//! 2. `counter`: `zones::Counter::update` on the frames' observations (the
//!    counting rules alone), mean per frame;
//! 3. `element`: the same frames as ROI metas with `tracking` structures
//!    pushed through `edgezones` in a Harness (reading the metas, counting,
//!    writing each object's `zones` structure and the frame counters,
//!    posting events), minus the same buffers through `identity`.
//!
//! Objects: 100 boxes of 30x50 px on a 1280x720 frame, random walks (about
//! 3 px per frame), so that they keep crossing lines and entering polygons.

use std::time::Instant;

use gst::prelude::*;

use gstedgeai::frame::{FrameView, PixelLayout, Plane, YuvConversion};
use gstedgeai::meta;
use gstedgeai::runtime::{Detector, DetectorConfig, Provider};
use gstedgeai::tracker::synth::SplitMix64;
use gstedgeai::zones::{Counter, Observation, parse_compact};

mod common;
use common::{arg, median, shared};

const THREADS: usize = 2;
const OBJECTS: usize = 100;
const WARMUP: usize = 20;
const W: u32 = 1280;
const H: u32 = 720;

fn model() -> std::path::PathBuf {
    shared().join("models/yolox_nano.onnx")
}

/// 10 lines (horizontal and vertical, across the frame) and 10 polygons
/// (4 to 8 points, regular, spread over the frame), in fractions.
fn zones() -> String {
    let mut z = Vec::new();
    for i in 0..5 {
        let y = 0.1 + 0.18 * f64::from(i);
        z.push(format!("h{i}=line:0.05,{y:.3},0.95,{y:.3}"));
        let x = 0.1 + 0.18 * f64::from(i);
        z.push(format!("v{i}=line:{x:.3},0.05,{x:.3},0.95"));
    }
    for i in 0..10 {
        let n = 4 + i % 5;
        let (cx, cy) = (0.1 + 0.2 * f64::from(i % 5), 0.3 + 0.4 * f64::from(i / 5));
        let pts: Vec<String> = (0..n)
            .map(|k| {
                let a = std::f64::consts::TAU * k as f64 / n as f64;
                format!("{:.4},{:.4}", cx + 0.08 * a.cos(), cy + 0.15 * a.sin())
            })
            .collect();
        z.push(format!(
            "p{i}=polygon:{}:max-occupancy=5:loiter-seconds=2",
            pts.join(",")
        ));
    }
    z.join(";")
}

/// Boxes of `frames` frames: 100 random walks.
fn walks(frames: usize) -> Vec<Vec<[f64; 4]>> {
    let mut rng = SplitMix64::new(11);
    let mut pos: Vec<(f64, f64)> = (0..OBJECTS)
        .map(|_| (rng.unit() * 1200.0, rng.unit() * 640.0))
        .collect();
    (0..frames)
        .map(|_| {
            pos.iter_mut()
                .map(|p| {
                    p.0 = (p.0 + 3.0 * f64::from(rng.gaussian())).clamp(0.0, 1240.0);
                    p.1 = (p.1 + 3.0 * f64::from(rng.gaussian())).clamp(0.0, 660.0);
                    [p.0, p.1, p.0 + 30.0, p.1 + 50.0]
                })
                .collect()
        })
        .collect()
}

fn buffer_of(boxes: &[[f64; 4]], k: usize) -> gst::Buffer {
    let mut buf = gst::Buffer::with_size(16).expect("buffer");
    {
        let b = buf.get_mut().expect("writable");
        b.set_pts(gst::ClockTime::from_nseconds(k as u64 * 1_000_000_000 / 30));
        for (i, bx) in boxes.iter().enumerate() {
            let mut o = meta::Object::new("person", 0, 0.9, *bx);
            o.tracking = Some(meta::Tracking {
                track_id: i as u64 + 1,
                age: k as u32,
                tracked: true,
                vx: 0.0,
                vy: 0.0,
                first_seen: None,
                last_seen: None,
            });
            meta::add_object(b, &o, W, H);
        }
        meta::update_frame_info(b, |f| f.inferred = Some(true)).expect("frame meta");
    }
    buf
}

fn time_counter(frames: &[Vec<[f64; 4]>]) -> (f64, usize) {
    let mut c = Counter::new(parse_compact(&zones()).expect("zones"), 2_000_000_000);
    let obs = |f: &[[f64; 4]]| -> Vec<Observation<'static>> {
        f.iter()
            .enumerate()
            .map(|(i, b)| Observation {
                track_id: Some(i as u64 + 1),
                label: "person",
                bbox: *b,
                fresh: true,
            })
            .collect()
    };
    let prepared: Vec<_> = frames.iter().map(|f| obs(f)).collect();
    for (k, o) in prepared[..WARMUP].iter().enumerate() {
        c.update(W, H, k as u64 * 33_333_333, o);
    }
    let mut events = 0;
    let start = Instant::now();
    for (k, o) in prepared.iter().enumerate().skip(WARMUP) {
        events += c.update(W, H, k as u64 * 33_333_333, o).1.len();
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / (prepared.len() - WARMUP) as f64;
    (us, events)
}

fn time_element(element: &str, buffers: &[gst::Buffer]) -> f64 {
    let el = gst::ElementFactory::make(element).build().expect("element");
    if element == "edgezones" {
        el.set_property("zones", zones());
    }
    // Events go to a bus nobody reads until the end: posting is part of the cost.
    let bus = gst::Bus::new();
    el.set_bus(Some(&bus));
    let mut harness = gst_check::Harness::with_element(&el, Some("sink"), Some("src"));
    harness.set_src_caps_str(&format!(
        "video/x-raw,format=RGB,width={W},height={H},framerate=30/1"
    ));
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
    drop(harness);
    while bus.pop().is_some() {}
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
    let boxes = walks(frames);
    let buffers: Vec<gst::Buffer> = boxes
        .iter()
        .enumerate()
        .map(|(k, b)| buffer_of(b, k))
        .collect();

    let (mut inf, mut cnt, mut el, mut r_cnt, mut r_el) = (vec![], vec![], vec![], vec![], vec![]);
    println!(
        "round | inference ms | counter us | edgezones - identity us | counter/inference | element/inference | events"
    );
    for round in 0..rounds {
        let start = Instant::now();
        for _ in 0..runs {
            detector.run_model_only().expect("inference");
        }
        let inf_us = start.elapsed().as_secs_f64() * 1e6 / runs as f64;
        let (c_us, events) = time_counter(&boxes);
        let e_us = time_element("edgezones", &buffers) - time_element("identity", &buffers);
        println!(
            "{round} | {:.2} | {c_us:.1} | {e_us:.1} | {:.3} % | {:.3} % | {events}",
            inf_us / 1000.0,
            100.0 * c_us / inf_us,
            100.0 * e_us / inf_us
        );
        inf.push(inf_us);
        cnt.push(c_us);
        el.push(e_us);
        r_cnt.push(100.0 * c_us / inf_us);
        r_el.push(100.0 * e_us / inf_us);
    }
    println!(
        "median | {:.2} | {:.1} | {:.1} | {:.3} % | {:.3} %",
        median(&inf) / 1000.0,
        median(&cnt),
        median(&el),
        median(&r_cnt),
        median(&r_el)
    );
}
