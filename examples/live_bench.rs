// SPDX-License-Identifier: MPL-2.0
//! Live-mode benchmarks (docs/benchmarks.md, "Live cameras"):
//!
//! ```sh
//! # (a) one live 30 fps 1280x720 source, yolov8_dense.onnx threads=1, sync vs live
//! cargo run --release --example live_bench -- single 60
//! # (b) four live 640x480 15 fps sources, YOLOX-nano threads=2, one process per variant
//! cargo run --release --example live_bench -- multi shared 30
//! cargo run --release --example live_bench -- multi separate 30
//! # (c) batching on the shared instance (docs/benchmarks.md, "Batching")
//! python3 tools/make_batch_model.py ../shared/models/yolox_nano.onnx \
//!     target/test_models/yolox_nano_batch.onnx --check 4
//! cargo run --release --example live_bench -- multi shared 30 batch-size=4 batch-timeout=0
//! cargo run --release --example live_bench -- batch-model 4 5 3
//! # (d) live mode with and without prefetch (the next frame pre-processed
//! # while the model runs), alternating in one process: ROUNDS SECONDS, then
//! # options (defaults: YOLOX-nano, threads=2, 1280x720 I420 30 fps)
//! cargo run --release --example live_bench -- prefetch 4 15
//! cargo run --release --example live_bench -- prefetch 4 15 width=1920 height=1080
//! ```
//!
//! (a) prints, per mode: video out rate against the source's, inferred/s
//! against the model's inference-only rate measured in the same run (before
//! and after), the sink latency (arrival minus running time) against the
//! reported latency (share of frames within it + 20 ms, p50/p99/max, first
//! and last quarter of the run), and the reported latency against
//! 2 x mean inference + one frame. (b) prints the process's peak RSS, total
//! inferences/s and the least / most inferred stream.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstedgeai::runtime::{Detector, DetectorConfig, Provider};

fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared assets: `$EDGEAI_SHARED`, else `../shared` beside the repository.
fn shared() -> std::path::PathBuf {
    std::env::var_os("EDGEAI_SHARED").map_or_else(|| repo().join("../shared"), Into::into)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn peak_rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Inferences per second of the model alone (pre-processed input reused).
fn model_only_rate(model: &str, threads: usize, seconds: f64) -> (f64, f64) {
    let mut d = Detector::load(&DetectorConfig {
        model: model.into(),
        threads,
        provider: Provider::Cpu,
        family: None,
    })
    .expect("load the model");
    d.run_model_only().unwrap();
    let t0 = Instant::now();
    let mut n = 0u32;
    while t0.elapsed().as_secs_f64() < seconds {
        d.run_model_only().unwrap();
        n += 1;
    }
    let s = t0.elapsed().as_secs_f64();
    (f64::from(n) / s, 1000.0 * s / f64::from(n))
}

#[derive(Default)]
struct SinkLog {
    /// (seconds since start, arrival - running time in ms)
    lat: Vec<(f64, f64)>,
    inferred: u64,
    frames: u64,
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[(((p / 100.0) * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
}

/// Records, at `sink`, each frame's arrival minus its running time (ms) and
/// whether it was inferred.
fn add_latency_probe(sink: &gst::Element, l: Arc<Mutex<SinkLog>>, start: Instant) {
    let sink_weak = sink.downgrade();
    sink.static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            let Some(gst::PadProbeData::Buffer(b)) = &info.data else {
                return gst::PadProbeReturn::Ok;
            };
            let Some(sink) = sink_weak.upgrade() else {
                return gst::PadProbeReturn::Ok;
            };
            let (Some(clock), Some(base)) = (sink.clock(), sink.base_time()) else {
                return gst::PadProbeReturn::Ok;
            };
            let now = clock.time() - base;
            let seg = pad.sticky_event::<gst::event::Segment>(0);
            let rt = seg.and_then(|s| {
                s.segment()
                    .downcast_ref::<gst::ClockTime>()
                    .and_then(|s| s.to_running_time(b.pts()))
            });
            let mut l = l.lock().unwrap();
            l.frames += 1;
            if gstedgeai::meta::frame_info(b).inferred == Some(true) {
                l.inferred += 1;
            }
            if let Some(rt) = rt {
                let ms = (now.nseconds() as f64 - rt.nseconds() as f64) / 1e6;
                l.lat.push((start.elapsed().as_secs_f64(), ms));
            }
            gst::PadProbeReturn::Ok
        });
}

/// A live pipeline with an `edgedetect name=det` and a `fakesink name=sink`
/// whose latency probe logs into `log`, playing and past its first 2 s
/// (start-up, first latency reconfiguration).
struct LiveRun {
    pipeline: gst::Pipeline,
    det: gst::Element,
    log: Arc<Mutex<SinkLog>>,
    bus: gst::Bus,
}

impl LiveRun {
    fn start(desc: &str) -> LiveRun {
        let pipeline = gst::parse::launch(desc)
            .unwrap()
            .downcast::<gst::Pipeline>()
            .unwrap();
        let sink = pipeline.by_name("sink").unwrap();
        let det = pipeline.by_name("det").unwrap();
        let log = Arc::new(Mutex::new(SinkLog::default()));
        add_latency_probe(&sink, log.clone(), Instant::now());
        pipeline.set_state(gst::State::Playing).unwrap();
        let bus = pipeline.bus().unwrap();
        std::thread::sleep(Duration::from_secs(2));
        LiveRun {
            pipeline,
            det,
            log,
            bus,
        }
    }

    /// Runs until `end`, failing on the first error message.
    fn run_until(&self, end: Instant) {
        while Instant::now() < end {
            if let Some(m) = self.bus.timed_pop_filtered(
                gst::ClockTime::from_mseconds(200),
                &[gst::MessageType::Error],
            ) {
                panic!("{m:?}");
            }
        }
    }
}

fn single(mode: &str, model: &str, seconds: u64) {
    let run = LiveRun::start(&format!(
        "videotestsrc is-live=true pattern=ball ! video/x-raw,format=I420,width=1280,height=720,framerate=30/1 ! \
         edgedetect name=det mode={mode} threads=1 model={model} ! edgetrack ! fakesink name=sink sync=true"
    ));
    let LiveRun {
        pipeline, det, log, ..
    } = &run;
    let (f0, i0, t0) = {
        let l = log.lock().unwrap();
        (l.frames, l.inferred, Instant::now())
    };
    let n0 = log.lock().unwrap().lat.len();
    run.run_until(t0 + Duration::from_secs(seconds));
    let mut q = gst::query::Latency::new();
    pipeline.query(&mut q);
    let reported = q.result().1.nseconds() as f64 / 1e6;
    let own = det.property::<f64>("live-latency");
    let busy = det
        .property::<Option<gst::Structure>>("instance-stats")
        .and_then(|s| s.get::<f64>("busy-fraction").ok())
        .unwrap_or(f64::NAN);
    let mean_inf = det.property::<f64>("mean-latency");
    let l = log.lock().unwrap();
    let dt = t0.elapsed().as_secs_f64();
    let fps = (l.frames - f0) as f64 / dt;
    let ips = (l.inferred - i0) as f64 / dt;
    let lat: Vec<(f64, f64)> = l.lat[n0..].to_vec();
    drop(l);
    pipeline.set_state(gst::State::Null).unwrap();
    let mut all: Vec<f64> = lat.iter().map(|x| x.1).collect();
    let within =
        all.iter().filter(|&&x| x <= reported + 20.0).count() as f64 / all.len().max(1) as f64;
    let q = lat.len() / 4;
    let mut first: Vec<f64> = lat[..q].iter().map(|x| x.1).collect();
    let mut last: Vec<f64> = lat[lat.len() - q..].iter().map(|x| x.1).collect();
    println!(
        "mode={mode:5} {dt:.0}s: video out {fps:.2} fps (source 30, ratio {:.3}); inferred {ips:.2}/s; \
         sink latency p50 {:.1} p99 {:.1} max {:.1} ms; first quarter p50 {:.1} / last quarter p50 {:.1} ms; \
         reported latency {reported:.1} ms (edgedetect {own:.1} ms; 2 x mean {mean_inf:.1} + 33.3 = {:.1}); \
         frames within reported + 20 ms: {:.1} %; model busy {:.1} % of the run; load {}",
        fps / 30.0,
        pct(&mut all.clone(), 50.0),
        pct(&mut all.clone(), 99.0),
        pct(&mut all, 100.0),
        pct(&mut first, 50.0),
        pct(&mut last, 50.0),
        2.0 * mean_inf + 33.3,
        100.0 * within,
        100.0 * busy,
        loadavg()
    );
}

/// Options of `multi`: `batch-size=N`, `batch-timeout=MS`, `model=PATH`.
struct MultiOpts {
    batch_size: u32,
    batch_timeout: u32,
    model: String,
}

fn multi(variant: &str, labels: &str, seconds: u64, o: &MultiOpts) {
    let mut desc = String::new();
    for i in 0..4 {
        let id = if variant == "shared" {
            format!(
                "model-instance-id=bench batch-size={} batch-timeout={}",
                o.batch_size, o.batch_timeout
            )
        } else {
            String::new()
        };
        desc += &format!(
            " videotestsrc is-live=true pattern=ball ! video/x-raw,format=RGB,width=640,height=480,framerate=15/1 ! \
             edgedetect name=det{i} mode=live threads=2 model={} labels={labels} {id} ! fakesink name=sink{i} sync=true",
            o.model
        );
    }
    let pipeline = gst::parse::launch(&desc)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let start = Instant::now();
    let logs: Vec<Arc<Mutex<SinkLog>>> = (0..4)
        .map(|i| {
            let log = Arc::new(Mutex::new(SinkLog::default()));
            add_latency_probe(
                &pipeline.by_name(&format!("sink{i}")).unwrap(),
                log.clone(),
                start,
            );
            log
        })
        .collect();
    pipeline.set_state(gst::State::Playing).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let dets: Vec<gst::Element> = (0..4)
        .map(|i| pipeline.by_name(&format!("det{i}")).unwrap())
        .collect();
    let before: Vec<u64> = dets
        .iter()
        .map(|d| d.property::<u64>("frames-inferred"))
        .collect();
    let lat0: Vec<usize> = logs.iter().map(|l| l.lock().unwrap().lat.len()).collect();
    let t0 = Instant::now();
    let bus = pipeline.bus().unwrap();
    let end = t0 + Duration::from_secs(seconds);
    while Instant::now() < end {
        if let Some(m) = bus.timed_pop_filtered(
            gst::ClockTime::from_mseconds(200),
            &[gst::MessageType::Error],
        ) {
            panic!("{m:?}");
        }
    }
    let after: Vec<u64> = dets
        .iter()
        .map(|d| d.property::<u64>("frames-inferred"))
        .collect();
    let dt = t0.elapsed().as_secs_f64();
    let mut lat: Vec<f64> = logs
        .iter()
        .zip(&lat0)
        .flat_map(|(l, &n0)| {
            l.lock().unwrap().lat[n0..]
                .iter()
                .map(|x| x.1)
                .collect::<Vec<_>>()
        })
        .collect();
    let fps = lat.len() as f64 / dt;
    let mut q = gst::query::Latency::new();
    pipeline.query(&mut q);
    let reported = q.result().1.nseconds() as f64 / 1e6;
    let per: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    let total = per.iter().sum::<u64>() as f64 / dt;
    let (min, max) = (
        per.iter().min().copied().unwrap_or(0),
        per.iter().max().copied().unwrap_or(0),
    );
    let st = dets[0].property::<Option<gst::Structure>>("instance-stats");
    let get = |k: &str| {
        st.as_ref()
            .and_then(|s| s.get::<f64>(k).ok())
            .unwrap_or(f64::NAN)
    };
    let (wait, mean_batch) = (get("mean-queue-wait-ms"), get("mean-batch-size"));
    pipeline.set_state(gst::State::Null).unwrap();
    let label = if variant == "shared" {
        format!("shared b{} t{}", o.batch_size, o.batch_timeout)
    } else {
        variant.to_string()
    };
    println!(
        "{label:16} {dt:.0}s: peak RSS {:.0} MiB; inferences {total:.2}/s total; per stream {per:?}; \
         fairness least/most {:.2}; video out {fps:.1} fps (4 x 15); sink latency p50 {:.1} p99 {:.1} ms \
         (reported {reported:.1}); det0's instance: mean batch {mean_batch:.2}, mean queue wait {wait:.1} ms; load {}",
        peak_rss_mib(),
        min as f64 / max.max(1) as f64,
        pct(&mut lat.clone(), 50.0),
        pct(&mut lat, 99.0),
        loadavg()
    );
}

/// Options of `prefetch`.
struct PrefetchOpts {
    model: String,
    threads: u32,
    width: u32,
    height: u32,
    format: String,
    fps: u32,
}

/// What one run of `prefetch_run` measured, over its window.
struct PrefetchRun {
    inf_per_s: f64,
    fps: f64,
    /// Share of the window the model ran.
    busy: f64,
    /// Model time per inference in the pipeline (busy time / inferences), ms.
    model_ms: f64,
    /// The element's mean pre-processing + inference + post-processing, ms.
    element_ms: f64,
    p50: f64,
    p99: f64,
}

/// (inferences, busy ms, age s) of the instance of `det`.
fn instance_counters(det: &gst::Element) -> (f64, f64, f64) {
    let st = det.property::<Option<gst::Structure>>("instance-stats");
    let get = |k: &str| {
        st.as_ref()
            .and_then(|s| s.get::<f64>(k).ok())
            .unwrap_or(f64::NAN)
    };
    let n = st
        .as_ref()
        .and_then(|s| s.get::<u64>("inferences").ok())
        .unwrap_or(0) as f64;
    // inferences-per-second = inferences / age; busy-fraction = busy / age.
    let age = n / get("inferences-per-second");
    (n, get("busy-fraction") * age * 1000.0, age)
}

/// One live pipeline, `prefetch` on or off, measured for `seconds` after a
/// 2 s warm-up.
fn prefetch_run(prefetch: bool, seconds: u64, o: &PrefetchOpts) -> PrefetchRun {
    let run = LiveRun::start(&format!(
        "videotestsrc is-live=true pattern=ball ! video/x-raw,format={},width={},height={},framerate={}/1 ! \
         edgedetect name=det mode=live threads={} prefetch={prefetch} model={} ! fakesink name=sink sync=true",
        o.format, o.width, o.height, o.fps, o.threads, o.model
    ));
    let LiveRun {
        pipeline, det, log, ..
    } = &run;
    let (f0, n0, t0) = {
        let l = log.lock().unwrap();
        (l.frames, l.lat.len(), Instant::now())
    };
    let (i0, b0, a0) = instance_counters(det);
    run.run_until(t0 + Duration::from_secs(seconds));
    let (i1, b1, a1) = instance_counters(det);
    let element_ms = det.property::<f64>("mean-latency");
    let l = log.lock().unwrap();
    let dt = t0.elapsed().as_secs_f64();
    let fps = (l.frames - f0) as f64 / dt;
    let mut lat: Vec<f64> = l.lat[n0..].iter().map(|x| x.1).collect();
    drop(l);
    pipeline.set_state(gst::State::Null).unwrap();
    PrefetchRun {
        inf_per_s: (i1 - i0) / (a1 - a0),
        fps,
        busy: (b1 - b0) / (1000.0 * (a1 - a0)),
        model_ms: (b1 - b0) / (i1 - i0),
        element_ms,
        p50: pct(&mut lat.clone(), 50.0),
        p99: pct(&mut lat, 99.0),
    }
}

/// `prefetch` on and off alternately, `rounds` rounds (on/off, off/on, ...:
/// a linear drift of the machine cancels over two rounds), with the model
/// alone before and after.
fn prefetch_bench(rounds: u32, seconds: u64, o: &PrefetchOpts) {
    println!(
        "live, {}x{} {} {} fps, model {} threads={}; load before: {}",
        o.width,
        o.height,
        o.format,
        o.fps,
        o.model,
        o.threads,
        loadavg()
    );
    let (r0, ms0) = model_only_rate(&o.model, o.threads as usize, 5.0);
    println!("model alone: {r0:.2} inf/s ({ms0:.1} ms)");
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for r in 0..rounds {
        let order = if r % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for p in order {
            let m = prefetch_run(p, seconds, o);
            println!(
                "round {r} prefetch={p:5}: inferred {:.2}/s, model busy {:.1} %, model {:.1} ms/inference, \
                 element pre+inference+post {:.1} ms, video out {:.2} fps, sink latency p50 {:.1} p99 {:.1} ms; load {}",
                m.inf_per_s,
                100.0 * m.busy,
                m.model_ms,
                m.element_ms,
                m.fps,
                m.p50,
                m.p99,
                loadavg()
            );
            if p { on.push(m) } else { off.push(m) }
        }
    }
    let (r1, ms1) = model_only_rate(&o.model, o.threads as usize, 5.0);
    let alone = (r0 + r1) / 2.0;
    println!("model alone: {r1:.2} inf/s ({ms1:.1} ms); mean of both {alone:.2} inf/s");
    let mean = |v: &[PrefetchRun], f: &dyn Fn(&PrefetchRun) -> f64| {
        v.iter().map(f).sum::<f64>() / v.len().max(1) as f64
    };
    for (name, v) in [("on", &on), ("off", &off)] {
        println!(
            "prefetch {name:3} (mean of {rounds}): inferred {:.2}/s = {:.3} x the model alone; model busy {:.1} %; \
             model {:.1} ms/inference; element {:.1} ms; video out {:.2} fps; sink latency p50 {:.1} p99 {:.1} ms",
            mean(v, &|m| m.inf_per_s),
            mean(v, &|m| m.inf_per_s) / alone,
            100.0 * mean(v, &|m| m.busy),
            mean(v, &|m| m.model_ms),
            mean(v, &|m| m.element_ms),
            mean(v, &|m| m.fps),
            mean(v, &|m| m.p50),
            mean(v, &|m| m.p99),
        );
    }
    let ratios: Vec<String> = on
        .iter()
        .zip(&off)
        .map(|(a, b)| format!("{:.3}", a.inf_per_s / b.inf_per_s))
        .collect();
    println!(
        "inferred/s on / off per round: {ratios:?}; load after: {}",
        loadavg()
    );
}

/// The model alone, one session: `n` frames in one call against `n` calls
/// of one frame, alternating, `rounds` rounds of `seconds` each.
fn batch_model(model: &str, threads: usize, n: usize, rounds: u32, seconds: f64) {
    let mut d = Detector::load(&DetectorConfig {
        model: model.into(),
        threads,
        provider: Provider::Cpu,
        family: None,
    })
    .expect("load the model");
    d.run_model_batch(1).unwrap();
    d.run_model_batch(n).unwrap();
    let mut rate = |b: usize| {
        let t0 = Instant::now();
        let mut frames = 0usize;
        while t0.elapsed().as_secs_f64() < seconds {
            d.run_model_batch(b).unwrap();
            frames += b;
        }
        frames as f64 / t0.elapsed().as_secs_f64()
    };
    let (mut r1, mut rn) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        r1.push(rate(1));
        rn.push(rate(n));
    }
    let ratios: Vec<String> = rn
        .iter()
        .zip(&r1)
        .map(|(b, s)| format!("{:.3}", b / s))
        .collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!(
        "model alone threads={threads}: batch 1 {:.2} frames/s, batch {n} {:.2} frames/s (means of {rounds}); \
         batch {n} / batch 1 per round {ratios:?}; load {}",
        mean(&r1),
        mean(&rn),
        loadavg()
    );
}

fn batch_model_path() -> String {
    let p = repo().join("target/test_models/yolox_nano_batch.onnx");
    assert!(
        p.exists(),
        "{} is missing: python3 tools/make_batch_model.py ../shared/models/yolox_nano.onnx {} --check 4",
        p.display(),
        p.display()
    );
    p.to_str().unwrap().to_string()
}

fn main() {
    gst::init().unwrap();
    gstedgeai::plugin_register_static().unwrap();
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("single") => {
            let seconds = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(60);
            let model = repo().join("target/test_models/yolov8_dense.onnx");
            let model = model.to_str().unwrap();
            println!("load before: {}", loadavg());
            let (r0, ms0) = model_only_rate(model, 1, 5.0);
            println!("model only (threads=1): {r0:.2} inf/s ({ms0:.1} ms)");
            single("sync", model, seconds);
            single("live", model, seconds);
            let (r1, ms1) = model_only_rate(model, 1, 5.0);
            println!(
                "model only (threads=1): {r1:.2} inf/s ({ms1:.1} ms); mean of both {:.2} inf/s",
                (r0 + r1) / 2.0
            );
            println!("load after: {}", loadavg());
        }
        Some("multi") => {
            let variant = args.get(2).cloned().unwrap_or_else(|| "shared".into());
            let seconds = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(30);
            let shared = shared().join("models");
            let mut o = MultiOpts {
                batch_size: 1,
                batch_timeout: 0,
                model: String::new(),
            };
            for a in &args[4.min(args.len())..] {
                match a.split_once('=') {
                    Some(("batch-size", v)) => o.batch_size = v.parse().expect("batch-size=N"),
                    Some(("batch-timeout", v)) => {
                        o.batch_timeout = v.parse().expect("batch-timeout=MS")
                    }
                    Some(("model", v)) => o.model = v.to_string(),
                    _ => panic!("unknown option {a}: batch-size=N batch-timeout=MS model=PATH"),
                }
            }
            if o.model.is_empty() {
                o.model = if o.batch_size > 1 {
                    batch_model_path()
                } else {
                    shared.join("yolox_nano.onnx").to_str().unwrap().to_string()
                };
            }
            multi(
                &variant,
                shared.join("coco.names").to_str().unwrap(),
                seconds,
                &o,
            );
        }
        Some("batch-model") => {
            let n = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(4);
            let rounds = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
            let seconds = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(3.0);
            batch_model(&batch_model_path(), 2, n, rounds, seconds);
        }
        Some("prefetch") => {
            let rounds = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(4);
            let seconds = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(15);
            let mut o = PrefetchOpts {
                model: shared()
                    .join("models/yolox_nano.onnx")
                    .to_str()
                    .unwrap()
                    .to_string(),
                threads: 2,
                width: 1280,
                height: 720,
                format: "I420".into(),
                fps: 30,
            };
            let num = |a: &str, v: &str| -> u32 {
                v.parse()
                    .unwrap_or_else(|_| panic!("{a}: a number expected"))
            };
            for a in &args[4.min(args.len())..] {
                match a.split_once('=') {
                    Some(("model", v)) => o.model = v.to_string(),
                    Some(("threads", v)) => o.threads = num(a, v),
                    Some(("width", v)) => o.width = num(a, v),
                    Some(("height", v)) => o.height = num(a, v),
                    Some(("format", v)) => o.format = v.to_string(),
                    Some(("fps", v)) => o.fps = num(a, v),
                    _ => panic!(
                        "unknown option {a}: model=PATH threads=N width=W height=H format=F fps=N"
                    ),
                }
            }
            prefetch_bench(rounds, seconds, &o);
        }
        _ => eprintln!(
            "usage: live_bench single [SECONDS] | multi shared|separate [SECONDS] [batch-size=N] \
             [batch-timeout=MS] [model=PATH] | batch-model [N] [ROUNDS] [SECONDS] | \
             prefetch [ROUNDS] [SECONDS] [model=PATH] [threads=N] [width=W] [height=H] [format=F] [fps=N]"
        ),
    }
}
