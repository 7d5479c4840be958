// SPDX-License-Identifier: MPL-2.0
//! What `edgedetect` adds to ONNX Runtime, measured finely interleaved, and
//! what each piece of its per-frame work costs.
//!
//!     cargo bench --locked --bench element_overhead
//!     cargo bench --locked --bench element_overhead -- --rounds 5 --blocks 40 --block 4 \
//!         --formats I420,NV12,BGR,BGRx,RGB,RGBx --frames 60
//!
//! **Part 1, ratio.** Everything runs on the main thread of one process, on
//! one ONNX Runtime session (YOLOX-nano, 2 intra-op threads, the element's
//! own session options: the element loads it, `model-instance-id` shares it,
//! and the inference-only figure borrows it from the registry). One session
//! rather than one per variant because ONNX Runtime's worker threads spin
//! after each run: a second session's idle pool would spin against the
//! measured one on 2 cores, and two sessions would not share warm arenas and
//! caches, favouring whichever ran last. For each format in turn (one format
//! per phase, so that the shared pre-processor's plan is not rebuilt by
//! switching formats, which a real stream never does), after a warm-up,
//! blocks of `--block` frames of each variant alternate, their order rotated
//! from block to block:
//!
//! - `inference`: `Detector::run_model_only` on the tensor the element
//!   pre-processed last (a real frame): the session's `run`, input wrapped
//!   without a copy, exactly as the element calls it; nothing else.
//! - `element`: `edgedetect mode=sync` in a `gst_check::Harness`: the raw
//!   frame pushed from this thread, pulled at the harness' sink pad
//!   (mapping, pre-processing, inference, decoding, NMS, metadata, the
//!   element's own bookkeeping).
//! - `skip`: the same element with `interval=10000` (its maximum, more than a run): no
//!   pre-processing and no inference, the element's per-buffer cost only.
//! - `drive`: `identity` in the same harness: what pushing and pulling a
//!   buffer costs (not the element's; reported apart and subtracted in the
//!   `net` ratio).
//!
//! Each block gives one ratio inference / element (time per frame), i.e.
//! element fps / inference fps, taken seconds apart at most; the table gives
//! the median and interquartile range of those ratios over all blocks, the
//! pooled ratio (sum over sum), and the load average before and after.
//!
//! **Part 2, parts** (`--no-parts` leaves it out, `--parts-only` runs only it): timed loops over the
//! element's per-frame work apart from inference, on a real frame and the
//! model's real output for it: buffer mapping, pre-processing, decoding,
//! NMS and mapping back, building the objects, attaching the metadata.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstedgeai::inference::{DecodeParams, ModelFamily, decode};
use gstedgeai::meta::{self, MetaOutput};
use gstedgeai::runtime::instance::MODELS;
use gstedgeai::runtime::{Detector, DetectorConfig, PostParams, Provider};

mod common;
use common::{arg, loadavg, quantile, shared, text_arg};

const THREADS: usize = 2;
const INSTANCE: &str = "element-overhead-bench";
const WIDTH: usize = 768;
const HEIGHT: usize = 576;

/// The first `frames` frames of the video in `format`, decoded once to a raw
/// file under target/bench and read back as buffers.
fn raw_frames(video: &Path, format: &str, frames: usize, dir: &Path) -> Vec<gst::Buffer> {
    let out = dir.join(format!("vtest_{frames}.{}", format.to_lowercase()));
    if !out.exists() {
        let desc = format!(
            "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format={format} ! \
             identity eos-after={frames} ! filesink location={}",
            video.display(),
            out.display()
        );
        let pipeline = gst::parse::launch(&desc).unwrap_or_else(|e| panic!("{desc}: {e}"));
        pipeline.set_state(gst::State::Playing).expect("playing");
        let bus = pipeline.bus().expect("bus");
        for msg in bus.iter_timed(gst::ClockTime::from_seconds(600)) {
            match msg.view() {
                gst::MessageView::Eos(_) => break,
                gst::MessageView::Error(e) => panic!("{desc}: {} {:?}", e.error(), e.debug()),
                _ => {}
            }
        }
        pipeline.set_state(gst::State::Null).expect("null");
    }
    let bytes = std::fs::read(&out).expect("raw frames");
    let info = video_info(format);
    let size = info.size();
    assert!(
        bytes.len() >= size * frames,
        "{}: {} bytes, fewer than {frames} frames of {size}; delete it to decode again",
        out.display(),
        bytes.len()
    );
    bytes[..size * frames]
        .chunks_exact(size)
        .map(|c| gst::Buffer::from_mut_slice(c.to_vec()))
        .collect()
}

fn video_info(format: &str) -> gst_video::VideoInfo {
    let f = gst_video::VideoFormat::from_string(format);
    assert_ne!(f, gst_video::VideoFormat::Unknown, "format {format}");
    gst_video::VideoInfo::builder(f, WIDTH as u32, HEIGHT as u32)
        .fps(gst::Fraction::new(10, 1))
        .build()
        .expect("video info")
}

fn harness(desc: &str, format: &str) -> gst_check::Harness {
    let mut h = gst_check::Harness::new_parse(desc);
    h.set_src_caps(video_info(format).to_caps().expect("caps"));
    h.play();
    h
}

/// Pushes frame `i` (a fresh buffer sharing the frame's memory, so that the
/// element may make it writable without copying pixels) and pulls it back.
fn step(h: &mut gst_check::Harness, frames: &[gst::Buffer], i: usize) {
    let buf = frames[i % frames.len()].copy();
    h.push(buf).expect("push");
    let out = h.pull().expect("pull");
    drop(out);
}

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Inference,
    Element,
    Skip,
    Drive,
}
const VARIANTS: [Variant; 4] = [
    Variant::Inference,
    Variant::Element,
    Variant::Skip,
    Variant::Drive,
];

/// Per-format results: per-block times (seconds per frame) of each variant.
#[derive(Default)]
struct Blocks {
    inference: Vec<f64>,
    element: Vec<f64>,
    skip: Vec<f64>,
    drive: Vec<f64>,
    /// Round of each block.
    round: Vec<usize>,
}

fn main() {
    gst::init().expect("gst init");
    gstedgeai::plugin_register_static().expect("register");
    let rounds = arg("--rounds", 5);
    let blocks = arg("--blocks", 40);
    let k = arg("--block", 4).max(1);
    let frames = arg("--frames", 60).max(1);
    let warmup = arg("--warmup", 20);
    let formats: Vec<String> = text_arg("--formats", "I420,NV12,BGR,BGRx,RGB,RGBx")
        .split(',')
        .map(str::to_string)
        .collect();
    let parts = !std::env::args().any(|a| a == "--no-parts");
    let rounds = if std::env::args().any(|a| a == "--parts-only") {
        0
    } else {
        rounds
    };
    let shared = shared();
    let model = shared.join("models/yolox_nano.onnx");
    let video = shared.join("media/vtest.avi");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let load_start = loadavg();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "element_overhead: YOLOX-nano 416, {THREADS} threads, {WIDTH}x{HEIGHT} frames of vtest.avi \
         ({frames} cycled), {rounds} rounds x {blocks} blocks x {k} frames per variant and format; \
         {cpus} CPUs; load average at start {load_start}"
    );

    let frame_sets: Vec<Vec<gst::Buffer>> = formats
        .iter()
        .map(|f| raw_frames(&video, f, frames, &dir))
        .collect();
    let element_desc = |interval: usize| {
        format!(
            "edgedetect model={} threads={THREADS} mode=sync conf-threshold=0.3 \
             model-instance-id={INSTANCE} interval={interval}",
            model.display()
        )
    };

    let mut results: Vec<Blocks> = formats.iter().map(|_| Blocks::default()).collect();
    {
        // One harness per format and variant, all alive for the whole run:
        // the elements share one session through the registry.
        let mut elements: Vec<gst_check::Harness> = formats
            .iter()
            .map(|f| harness(&element_desc(1), f))
            .collect();
        let mut skips: Vec<gst_check::Harness> = formats
            .iter()
            .map(|f| harness(&element_desc(10_000), f))
            .collect();
        let mut drives: Vec<gst_check::Harness> =
            formats.iter().map(|f| harness("identity", f)).collect();
        let instance = MODELS
            .get(INSTANCE)
            .expect("the elements' shared model instance");
        let infer = || {
            instance.run_now(|d| d.run_model_only()).expect("inference");
        };

        for round in 0..rounds {
            for (fi, f) in formats.iter().enumerate() {
                let set = &frame_sets[fi];
                // Warm-up: the pre-processing plan for this format, caches,
                // the session's arenas.
                for i in 0..warmup {
                    step(&mut elements[fi], set, i);
                    infer();
                    step(&mut skips[fi], set, i);
                    step(&mut drives[fi], set, i);
                }
                let mut next = 0usize;
                for b in 0..blocks {
                    let mut t = [Duration::ZERO; 4];
                    for j in 0..VARIANTS.len() {
                        let slot = (j + b + round) % VARIANTS.len();
                        let start = Instant::now();
                        match VARIANTS[slot] {
                            Variant::Inference => (0..k).for_each(|_| infer()),
                            Variant::Element => {
                                (0..k).for_each(|i| step(&mut elements[fi], set, next + i))
                            }
                            Variant::Skip => {
                                (0..k).for_each(|i| step(&mut skips[fi], set, next + i))
                            }
                            Variant::Drive => {
                                (0..k).for_each(|i| step(&mut drives[fi], set, next + i))
                            }
                        }
                        t[slot] = start.elapsed();
                    }
                    next += k;
                    let per = |d: Duration| d.as_secs_f64() / k as f64;
                    let r = &mut results[fi];
                    r.inference.push(per(t[0]));
                    r.element.push(per(t[1]));
                    r.skip.push(per(t[2]));
                    r.drive.push(per(t[3]));
                    r.round.push(round);
                }
                let r = &results[fi];
                let n = r.round.len();
                let ratios: Vec<f64> = (n - blocks..n)
                    .map(|i| r.inference[i] / r.element[i])
                    .collect();
                eprintln!(
                    "round {} {f}: median element/inference {:.3}, inference {:.2} ms (load {})",
                    round + 1,
                    quantile(&ratios, 0.5),
                    quantile(&r.inference[n - blocks..], 0.5) * 1e3,
                    loadavg()
                );
            }
        }
        for h in elements.iter_mut().chain(&mut skips).chain(&mut drives) {
            let _ = h.element().map(|e| e.set_state(gst::State::Null));
        }
    }
    let load_ratio = loadavg();
    if rounds > 0 {
        ratio_tables(&formats, &results, rounds, k, &load_start, &load_ratio);
    }
    if parts {
        parts_table(&model, &formats, &frame_sets);
        println!("\nLoad average at the end: {}", loadavg());
    }
}

fn ratio_tables(
    formats: &[String],
    results: &[Blocks],
    rounds: usize,
    k: usize,
    load_start: &str,
    load_ratio: &str,
) {
    println!(
        "\nPart 1: element / inference alone, per block of {k} frames (fps ratio = inference time / element time; \
         target >= 0.95). Load average: start {load_start}, end {load_ratio}\n"
    );
    println!(
        "| format | blocks | median ratio | IQR of block ratios | pooled ratio | net ratio (drive subtracted) | per-round medians |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (f, r) in formats.iter().zip(results) {
        let ratios: Vec<f64> = r
            .inference
            .iter()
            .zip(&r.element)
            .map(|(i, e)| i / e)
            .collect();
        let net: Vec<f64> = (0..ratios.len())
            .map(|i| r.inference[i] / (r.element[i] - r.drive[i]))
            .collect();
        let pooled = r.inference.iter().sum::<f64>() / r.element.iter().sum::<f64>();
        let per_round: Vec<String> = (0..rounds)
            .map(|round| {
                let v: Vec<f64> = (0..ratios.len())
                    .filter(|&i| r.round[i] == round)
                    .map(|i| ratios[i])
                    .collect();
                format!("{:.3}", quantile(&v, 0.5))
            })
            .collect();
        println!(
            "| {f} | {} | **{:.3}** | {:.3}-{:.3} | {:.3} | {:.3} | {} |",
            ratios.len(),
            quantile(&ratios, 0.5),
            quantile(&ratios, 0.25),
            quantile(&ratios, 0.75),
            pooled,
            quantile(&net, 0.5),
            per_round.join(", ")
        );
    }
    println!(
        "\n| format | inference (ms) | element (ms) | element - inference (ms, median of blocks) | skip (µs) | drive (µs) |"
    );
    println!("|---|---|---|---|---|---|");
    for (f, r) in formats.iter().zip(results) {
        let extra: Vec<f64> = r
            .element
            .iter()
            .zip(&r.inference)
            .map(|(e, i)| e - i)
            .collect();
        println!(
            "| {f} | {:.3} | {:.3} | {:.3} (IQR {:.3}-{:.3}) | {:.1} | {:.1} |",
            quantile(&r.inference, 0.5) * 1e3,
            quantile(&r.element, 0.5) * 1e3,
            quantile(&extra, 0.5) * 1e3,
            quantile(&extra, 0.25) * 1e3,
            quantile(&extra, 0.75) * 1e3,
            quantile(&r.skip, 0.5) * 1e6,
            quantile(&r.drive, 0.5) * 1e6,
        );
    }
    println!(
        "\nskip: the element with interval larger than the run (no pre-processing, no inference: its \
         own per-buffer cost plus the drive); drive: identity in the same harness (pushing and pulling one buffer)."
    );
}

/// Median and minimum over `batches` batches of `iters` calls, µs per call.
fn time_it(batches: usize, iters: usize, mut f: impl FnMut()) -> (f64, f64) {
    let per: Vec<f64> = (0..batches)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / iters as f64
        })
        .collect();
    (
        quantile(&per, 0.5),
        per.iter().copied().fold(f64::INFINITY, f64::min),
    )
}

fn parts_table(model: &Path, formats: &[String], frame_sets: &[Vec<gst::Buffer>]) {
    let mut detector = Detector::load(&DetectorConfig {
        model: model.to_path_buf(),
        threads: THREADS,
        provider: Provider::Cpu,
        family: None,
    })
    .expect("load model");
    let labels: Vec<String> = std::fs::read_to_string(
        model
            .parent()
            .map(|p| p.join("coco.names"))
            .unwrap_or_default(),
    )
    .map(|s| s.lines().map(str::to_string).collect())
    .unwrap_or_else(|_| (0..80).map(|i| format!("class{i}")).collect());
    let post = PostParams {
        class_thresholds: vec![0.3; labels.len()],
        default_threshold: 0.3,
        keep_classes: None,
        iou_threshold: 0.45,
        agnostic: false,
        max_detections: 300,
    };
    println!(
        "\nPart 2: per-frame work apart from inference (µs per frame; median and minimum over 15 timed batches; load average {})\n",
        loadavg()
    );
    println!("| step | format | µs per frame (median) | min |");
    println!("|---|---|---|---|");
    let row = |step: &str, fmt: &str, (med, min): (f64, f64)| {
        println!("| {step} | {fmt} | {med:.2} | {min:.2} |");
    };

    for (f, set) in formats.iter().zip(frame_sets) {
        let info = video_info(f);
        let buf = &set[set.len() / 2];
        row(
            "map the buffer + frame view",
            f,
            time_it(15, 2000, || {
                let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buf.as_ref(), &info)
                    .expect("map");
                let view = gstedgeai::video::frame_view(&frame).expect("view");
                std::hint::black_box(&view);
            }),
        );
        let frame =
            gst_video::VideoFrameRef::from_buffer_ref_readable(buf.as_ref(), &info).expect("map");
        let view = gstedgeai::video::frame_view(&frame).expect("view");
        row(
            "pre-processing (reference; not this engineer's)",
            f,
            time_it(15, 20, || {
                detector.preprocess(&view).expect("preprocess");
            }),
        );
    }

    // A real frame's tensor, the model's real output for it.
    let bgr = formats
        .iter()
        .position(|f| f == "BGR")
        .map_or(&frame_sets[0], |i| &frame_sets[i]);
    let fmt = formats
        .iter()
        .find(|f| *f == "BGR")
        .unwrap_or(&formats[0])
        .clone();
    let info = video_info(&fmt);
    let buf = &bgr[bgr.len() / 2];
    let frame =
        gst_video::VideoFrameRef::from_buffer_ref_readable(buf.as_ref(), &info).expect("map");
    let view = gstedgeai::video::frame_view(&frame).expect("view");
    let lb = detector.preprocess(&view).expect("preprocess");
    let output = raw_output(model, detector.input_tensor());
    let n = output.len() / 85;
    let params = DecodeParams {
        input_width: 416,
        input_height: 416,
        class_thresholds: &post.class_thresholds,
        default_threshold: post.default_threshold,
        keep_classes: None,
    };
    let candidates = decode(ModelFamily::Yolox, &output, &[1, n, 85], &params).expect("decode");
    // Check the raw output against the detector's own decoding.
    let via_detector = detector.run(&post).expect("run");
    assert_eq!(
        candidates.len(),
        via_detector.len(),
        "decoding the raw output differs from the detector's"
    );
    row(
        "inference alone (reference)",
        &fmt,
        time_it(7, 5, || detector.run_model_only().expect("inference")),
    );
    row(
        "inference + output extraction + decoding (Detector::run)",
        &fmt,
        time_it(7, 5, || {
            std::hint::black_box(detector.run(&post).expect("run"));
        }),
    );
    row(
        &format!(
            "decoding YOLOX 1x{n}x85 ({} candidates at 0.3)",
            candidates.len()
        ),
        &fmt,
        time_it(15, 200, || {
            std::hint::black_box(
                decode(ModelFamily::Yolox, &output, &[1, n, 85], &params).expect("decode"),
            );
        }),
    );
    let dets = gstedgeai::runtime::finish(
        ModelFamily::Yolox,
        candidates.clone(),
        &lb,
        WIDTH,
        HEIGHT,
        &post,
    );
    row(
        &format!(
            "NMS + mapping to frame pixels ({} -> {} boxes)",
            candidates.len(),
            dets.len()
        ),
        &fmt,
        time_it(15, 500, || {
            std::hint::black_box(gstedgeai::runtime::finish(
                ModelFamily::Yolox,
                candidates.clone(),
                &lb,
                WIDTH,
                HEIGHT,
                &post,
            ));
        }),
    );
    let to_objects = || meta::Object::from_detections(&dets, &labels);
    row(
        &format!("building {} objects (labels, boxes)", dets.len()),
        &fmt,
        time_it(15, 2000, || {
            std::hint::black_box(to_objects());
        }),
    );
    let objects = to_objects();
    let (copy_med, copy_min) = time_it(15, 2000, || {
        std::hint::black_box(buf.copy());
    });
    row(
        "buffer copy (shallow; subtracted below)",
        &fmt,
        (copy_med, copy_min),
    );
    let (med, min) = time_it(15, 1000, || {
        let mut b = buf.copy();
        let b = b.make_mut();
        meta::add_objects_to(b, &objects, WIDTH as u32, HEIGHT as u32, MetaOutput::Roi);
        meta::update_frame_info(b, |f| {
            f.inferred = Some(true);
            f.inference_latency_ms = Some(4.0);
        })
        .expect("frame meta");
        std::hint::black_box(&b);
    });
    row(
        &format!(
            "metadata: {} ROI metas + detection structures + frame info",
            objects.len()
        ),
        &fmt,
        (med - copy_med, min - copy_min),
    );
    // A crowded frame: 100 objects (the same boxes, shifted).
    let crowd: Vec<meta::Object> = (0..100)
        .map(|i| {
            let o = &objects[i % objects.len().max(1)];
            let dx = (i / objects.len().max(1)) as f64 * 3.0;
            meta::Object::new(
                &o.label,
                o.class_id,
                o.confidence,
                [o.x1 + dx, o.y1, o.x2 + dx, o.y2],
            )
        })
        .collect();
    let (med, min) = time_it(15, 50, || {
        let mut b = buf.copy();
        let b = b.make_mut();
        meta::add_objects_to(b, &crowd, WIDTH as u32, HEIGHT as u32, MetaOutput::Roi);
        std::hint::black_box(&b);
    });
    row(
        "metadata: 100 ROI metas + detection structures (crowded frame)",
        &fmt,
        (med - copy_med, min - copy_min),
    );
    // The same, one `add_object_to` call per object (each reads the ROI ids
    // already on the buffer: what the element did before `add_objects_to`).
    let (med, min) = time_it(15, 50, || {
        let mut b = buf.copy();
        let b = b.make_mut();
        for obj in &crowd {
            meta::add_object_to(b, obj, WIDTH as u32, HEIGHT as u32, MetaOutput::Roi);
        }
        std::hint::black_box(&b);
    });
    row(
        "metadata: 100 objects one call each (before add_objects_to)",
        &fmt,
        (med - copy_med, min - copy_min),
    );
    let (med, min) = time_it(15, 1000, || {
        let mut b = buf.copy();
        let b = b.make_mut();
        std::hint::black_box(meta::frame_info(b));
        meta::update_frame_info(b, |f| f.inferred = Some(false)).expect("frame meta");
    });
    row(
        "metadata of a skipped frame (frame info only)",
        &fmt,
        (med - copy_med, min - copy_min),
    );
}

/// The model's first output for `tensor`, from a session of its own with the
/// detector's options (the detector does not hand out its raw output).
fn raw_output(model: &Path, tensor: &[f32]) -> Vec<f32> {
    use ort::session::Session;
    use ort::session::builder::GraphOptimizationLevel;
    use ort::value::TensorRef;
    let rt = gstedgeai::runtime::loader::runtime().expect("runtime");
    let mut session = Session::builder(&rt.environment)
        .and_then(|b| Ok(b.with_optimization_level(GraphOptimizationLevel::Level3)?))
        .and_then(|b| Ok(b.with_intra_threads(THREADS)?))
        .expect("session builder")
        .commit_from_file(model)
        .expect("session");
    let input = TensorRef::from_array_view(([1usize, 3, 416, 416], tensor)).expect("tensor");
    let outputs = session.run(ort::inputs![input]).expect("run");
    let (_, data) = outputs[0].try_extract_tensor::<f32>().expect("output");
    data.to_vec()
}
