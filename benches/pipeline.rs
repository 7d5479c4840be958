// SPDX-License-Identifier: MPL-2.0
//! Detector benchmark: what the plugin adds to ONNX Runtime, and the whole
//! pipeline against the Python loop. Each round measures every figure once,
//! one after the other, so that the machine's load drifts over all of them
//! alike; ratios are taken within a round.
//!
//!     cargo bench --bench pipeline [-- --rounds 3 --frames 300]
//!     cargo bench --bench pipeline -- --plugin-only --formats I420,NV12,BGR,BGRx
//!
//! 1. `inference`: ONNX Runtime alone on a pre-processed tensor (no pipeline).
//! 2. `plugin-<format>` (`--formats`, default I420 and BGR): the first N
//!    frames of vtest.avi, decoded once to raw files, read back with
//!    `filesrc ! rawvideoparse` and pushed as fast as possible through
//!    `edgedetect` into `fakesink`. `skip-<format>`: the same with
//!    `interval` larger than N, so that every frame but the first passes
//!    without pre-processing or inference (the element's and the pipeline's
//!    own per-buffer cost).
//! 3. `pipeline`: `filesrc ! decodebin ! videoconvert ! edgedetect ! fakesink`
//!    on the same N frames of vtest.avi, and `python`: the seed-style Python loop
//!    (tools/python_loop_baseline.py: OpenCV decode, ONNX Runtime, NumPy);
//!    `pipeline+queue` adds a `queue` after the decoder so decoding overlaps inference.
//!    `--plugin-only` leaves these three out.
//!
//! YOLOX-nano, 2 threads everywhere.
//!
//! `--interleave K` (with `--blocks B --rounds R`) replaces all of the above
//! with the decode-inclusive pipeline against the Python loop, alternating in
//! blocks of K frames: the pipeline (no queue) is held by a pad probe before
//! `edgedetect` and released K frames at a time; the Python loop runs as a
//! server (`--serve`) and runs K frames per request. A pipeline block is
//! timed from its release until the streaming thread is held again, i.e. K
//! frames through `edgedetect` and K decodes (the next block's first frame is
//! decoded inside this block), as the Python loop does per block. The element
//! against inference alone is `benches/element_overhead.rs`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstedgeai::frame::{FrameView, PixelLayout, Plane, YuvConversion};
use gstedgeai::runtime::{Detector, DetectorConfig, Provider};

mod common;
use common::{arg, flag, loadavg, quantile, shared, text_arg};

const THREADS: usize = 2;

fn run_to_eos(desc: &str) -> Duration {
    let pipeline = gst::parse::launch(desc).unwrap_or_else(|e| panic!("{desc}: {e}"));
    let bus = pipeline.bus().expect("bus");
    // Bring the pipeline to PAUSED first so that model loading is not timed.
    pipeline.set_state(gst::State::Paused).expect("paused");
    let _ = pipeline.state(gst::ClockTime::from_seconds(60));
    let start = Instant::now();
    pipeline.set_state(gst::State::Playing).expect("playing");
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(600)) {
        match msg.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => panic!("{desc}: {} {:?}", e.error(), e.debug()),
            _ => {}
        }
    }
    let elapsed = start.elapsed();
    pipeline.set_state(gst::State::Null).expect("null");
    elapsed
}

/// Decodes the first `frames` frames of the video to a raw file once.
fn raw_file(video: &Path, format: &str, frames: usize, dir: &Path) -> PathBuf {
    let out = dir.join(format!("vtest_{frames}.{}", format.to_lowercase()));
    if !out.exists() {
        let desc = format!(
            "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format={format} ! \
             identity eos-after={frames} ! filesink location={}",
            video.display(),
            out.display()
        );
        run_to_eos(&desc);
    }
    out
}

/// Gate of the probe that holds a pipeline between blocks.
#[derive(Default)]
struct Gate {
    permits: usize,
    /// When the streaming thread last found no permit and waited.
    held_at: Option<Instant>,
    stop: bool,
}

/// A pipeline held by a pad probe before `edgedetect` and released a block
/// of frames at a time.
struct Gated {
    pipeline: gst::Element,
    gate: std::sync::Arc<(std::sync::Mutex<Gate>, std::sync::Condvar)>,
}

impl Gated {
    fn start(desc: &str) -> Gated {
        use std::sync::{Arc, Condvar, Mutex};
        let pipeline = gst::parse::launch(desc).unwrap_or_else(|e| panic!("{desc}: {e}"));
        let bin = pipeline.clone().downcast::<gst::Bin>().expect("bin");
        let pad = bin
            .by_name("det")
            .and_then(|e| e.static_pad("sink"))
            .expect("edgedetect sink pad");
        let gate = Arc::new((Mutex::new(Gate::default()), Condvar::new()));
        let g2 = gate.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            let (m, cv) = &*g2;
            let mut g = m.lock().unwrap_or_else(|e| e.into_inner());
            if g.permits == 0 && !g.stop {
                g.held_at = Some(Instant::now());
                cv.notify_all();
                while g.permits == 0 && !g.stop {
                    g = cv.wait(g).unwrap_or_else(|e| e.into_inner());
                }
            }
            g.permits = g.permits.saturating_sub(1);
            gst::PadProbeReturn::Ok
        });
        pipeline.set_state(gst::State::Playing).expect("playing");
        Gated { pipeline, gate }
    }

    /// Releases `n` frames and returns how long until the thread is held again.
    fn run(&self, n: usize) -> Duration {
        let (m, cv) = &*self.gate;
        let mut g = m.lock().unwrap_or_else(|e| e.into_inner());
        let t0 = Instant::now();
        g.permits = n;
        cv.notify_all();
        loop {
            if g.permits == 0
                && let Some(at) = g.held_at
                && at > t0
            {
                return at - t0;
            }
            let (next, timeout) = cv
                .wait_timeout(g, Duration::from_secs(120))
                .unwrap_or_else(|e| e.into_inner());
            g = next;
            if timeout.timed_out() {
                let err = self
                    .pipeline
                    .bus()
                    .and_then(|b| b.pop_filtered(&[gst::MessageType::Error]));
                panic!("the pipeline did not come back in 120 s: {err:?}");
            }
        }
    }

    fn stop(self) {
        let (m, cv) = &*self.gate;
        m.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        cv.notify_all();
        self.pipeline.set_state(gst::State::Null).expect("null");
    }
}

/// The decode-inclusive pipeline against the Python loop, interleaved in
/// blocks of `k` frames (see the module documentation), with the parts of
/// each measured in the same blocks: the same pipeline without inference
/// (`edgedetect interval=10000`: decoding, conversion, the element's own
/// per-buffer work), ONNX Runtime alone on a pre-processed tensor, and the
/// Python loop's own split (decoding, pre-processing, inference, NMS).
fn interleaved(k: usize, blocks: usize, rounds: usize) {
    use std::io::{BufRead, Write};
    let shared = shared();
    let model = shared.join("models/yolox_nano.onnx");
    let video = shared.join("media/vtest.avi");
    let warmup = 10;
    let total = warmup + rounds * blocks * k + 1;
    assert!(
        total <= 795,
        "vtest.avi has 795 frames: {total} asked (--interleave x --blocks x --rounds + {warmup} warm-up + 1)"
    );
    let load_start = loadavg();
    println!(
        "pipeline vs Python loop, interleaved: {rounds} rounds x {blocks} blocks x {k} frames of vtest.avi, \
         YOLOX-nano 416, {THREADS} threads; load average at start {load_start}"
    );
    let desc = |interval: u32| {
        format!(
            "filesrc location={} ! decodebin ! videoconvert ! edgedetect name=det model={} \
             threads={THREADS} conf-threshold=0.3 mode=sync interval={interval} ! fakesink sync=false",
            video.display(),
            model.display()
        )
    };
    let pipeline = Gated::start(&desc(1));
    let no_inference = Gated::start(&desc(10_000));
    let mut detector = Detector::load(&DetectorConfig {
        model: model.clone(),
        threads: THREADS,
        provider: Provider::Cpu,
        family: None,
    })
    .expect("load the model");
    let mut run_inference = |n: usize| -> Duration {
        let t = Instant::now();
        for _ in 0..n {
            detector.run_model_only().expect("inference");
        }
        t.elapsed()
    };

    let python = {
        let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
        if venv.exists() {
            venv
        } else {
            PathBuf::from("python3")
        }
    };
    let mut child = std::process::Command::new(&python)
        .args([
            "tools/python_loop_baseline.py",
            "--serve",
            "--threads",
            &THREADS.to_string(),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python loop");
    let mut to_py = child.stdin.take().expect("stdin");
    let mut from_py = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    from_py.read_line(&mut line).expect("python ready");
    assert_eq!(line.trim(), "ready", "python loop did not start");
    // The Python loop answers "total decode preprocess inference post" (seconds).
    let mut run_python = |n: usize| -> [f64; 5] {
        writeln!(to_py, "{n}").expect("to python");
        to_py.flush().expect("to python");
        line.clear();
        from_py.read_line(&mut line).expect("from python");
        let v: Vec<f64> = line
            .split_whitespace()
            .map(|s| s.parse().unwrap_or(f64::NAN))
            .collect();
        assert!(
            v.len() == 5 && v.iter().all(|x| x.is_finite()),
            "python loop answered {line:?}"
        );
        [v[0], v[1], v[2], v[3], v[4]]
    };

    // Warm-up (first frames, model arenas), not timed.
    pipeline.run(warmup);
    no_inference.run(warmup);
    run_inference(warmup);
    run_python(warmup);
    // Per block, seconds per frame: pipeline, no inference, inference alone,
    // and the Python loop's total and split.
    let (mut pipe, mut bare, mut inf, mut py, mut py_parts, mut round_of) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        for b in 0..blocks {
            let mut t = [0.0; 3];
            let mut parts = [0.0; 5];
            // Four variants, the order rotated every block.
            for j in 0..4 {
                match (j + b + round) % 4 {
                    0 => t[0] = pipeline.run(k).as_secs_f64(),
                    1 => parts = run_python(k),
                    2 => t[1] = no_inference.run(k).as_secs_f64(),
                    _ => t[2] = run_inference(k).as_secs_f64(),
                }
            }
            let kf = k as f64;
            pipe.push(t[0] / kf);
            bare.push(t[1] / kf);
            inf.push(t[2] / kf);
            py.push(parts[0] / kf);
            py_parts.push(parts.map(|p| p / kf));
            round_of.push(round);
        }
        let n = pipe.len();
        let r: Vec<f64> = (n - blocks..n).map(|i| py[i] / pipe[i]).collect();
        eprintln!(
            "round {}: median pipeline/python {:.3} (load {})",
            round + 1,
            quantile(&r, 0.5),
            loadavg()
        );
    }
    drop(to_py);
    let _ = child.wait();
    pipeline.stop();
    no_inference.stop();

    let ratios: Vec<f64> = py.iter().zip(&pipe).map(|(y, p)| y / p).collect();
    let per_round: Vec<String> = (0..rounds)
        .map(|r| {
            let v: Vec<f64> = (0..ratios.len())
                .filter(|&i| round_of[i] == r)
                .map(|i| ratios[i])
                .collect();
            format!("{:.3}", quantile(&v, 0.5))
        })
        .collect();
    println!("\n| figure | blocks | median | IQR of block ratios | pooled | per-round medians |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| pipeline fps / Python loop fps (target >= 1.3) | {} | **{:.3}** | {:.3}-{:.3} | {:.3} | {} |",
        ratios.len(),
        quantile(&ratios, 0.5),
        quantile(&ratios, 0.25),
        quantile(&ratios, 0.75),
        py.iter().sum::<f64>() / pipe.iter().sum::<f64>(),
        per_round.join(", ")
    );
    // Where each side's time goes, same blocks (ms per frame).
    let ms = |v: &[f64]| {
        format!(
            "{:.2} ({:.2}-{:.2})",
            quantile(v, 0.5) * 1e3,
            quantile(v, 0.25) * 1e3,
            quantile(v, 0.75) * 1e3
        )
    };
    let col = |i: usize| py_parts.iter().map(|p: &[f64; 5]| p[i]).collect::<Vec<_>>();
    // The pipeline's time beyond its parts: what running them together costs.
    let rest: Vec<f64> = (0..pipe.len())
        .map(|i| pipe[i] - bare[i] - inf[i])
        .collect();
    let py_rest: Vec<f64> = (0..py.len()).map(|i| py[i] - py_parts[i][3]).collect();
    println!("\n| ms per frame, same blocks: median (IQR) | pipeline | Python loop |");
    println!("|---|---|---|");
    println!("| whole | {} | {} |", ms(&pipe), ms(&py));
    println!(
        "| inference alone (pipeline: ONNX Runtime on a tensor in this process; Python: `session.run` in its loop) | {} | {} |",
        ms(&inf),
        ms(&col(3))
    );
    println!(
        "| everything but inference (pipeline: the same pipeline with `interval=10000`; Python: whole minus `session.run`) | {} | {} |",
        ms(&bare),
        ms(&py_rest)
    );
    println!(
        "| of which decoding (Python: `cap.read`) | - | {} |",
        ms(&col(1))
    );
    println!(
        "| of which pre-processing (Python: YOLOX `preproc`) | - | {} |",
        ms(&col(2))
    );
    println!(
        "| of which decoding outputs + NMS (Python: NumPy) | - | {} |",
        ms(&col(4))
    );
    println!(
        "| pipeline: whole minus (no-inference + inference alone) | {} | - |",
        ms(&rest)
    );
    println!("\nLoad average: start {load_start}, end {}", loadavg());
}

fn main() {
    gst::init().expect("gst init");
    gstedgeai::plugin_register_static().expect("register");
    if std::env::args().any(|a| a == "--interleave") {
        interleaved(
            arg("--interleave", 10).max(1),
            arg("--blocks", 20),
            arg("--rounds", 3),
        );
        return;
    }
    let rounds = arg("--rounds", 3);
    let frames = arg("--frames", 300);
    let shared = shared();
    let model = shared.join("models/yolox_nano.onnx");
    let video = shared.join("media/vtest.avi");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let plugin_only = flag("--plugin-only");
    let formats: Vec<String> = text_arg("--formats", "I420,BGR")
        .split(',')
        .map(str::to_string)
        .collect();
    let raws: Vec<PathBuf> = formats
        .iter()
        .map(|f| raw_file(&video, f, frames, &dir))
        .collect();
    let bgr = raw_file(&video, "BGR", frames, &dir);

    let mut detector = Detector::load(&DetectorConfig {
        model: model.clone(),
        threads: THREADS,
        provider: Provider::Cpu,
        family: None,
    })
    .expect("load model");
    // One real frame, pre-processed once.
    let raw = std::fs::read(&bgr).expect("raw BGR");
    let (w, h) = (768usize, 576usize);
    let view = FrameView {
        yuv: YuvConversion::default(),
        layout: PixelLayout::Bgr,
        width: w,
        height: h,
        planes: vec![Plane {
            data: &raw[..w * h * 3],
            stride: w * 3,
        }],
    };
    detector.preprocess(&view).expect("preprocess");
    for _ in 0..10 {
        detector.run_model_only().expect("warm-up");
    }

    let python = {
        let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
        if venv.exists() {
            venv
        } else {
            PathBuf::from("python3")
        }
    };
    let plugin = |path: &Path, format: &str, interval: usize| {
        format!(
            "filesrc location={} ! rawvideoparse width={w} height={h} format={} framerate=10/1 ! \
             edgedetect model={} threads={THREADS} conf-threshold=0.3 interval={interval} ! \
             fakesink sync=false",
            path.display(),
            format.to_lowercase(),
            model.display()
        )
    };
    let whole = format!(
        "filesrc location={} ! decodebin ! videoconvert ! identity eos-after={frames} ! \
         edgedetect model={} threads={THREADS} conf-threshold=0.3 ! fakesink sync=false",
        video.display(),
        model.display()
    );

    // The same with a queue after the decoder: decoding overlaps inference.
    let whole_queued = whole.replace("! identity", "! queue max-size-buffers=4 ! identity");
    let mut names = vec!["inference".to_string()];
    names.extend(formats.iter().map(|f| format!("plugin-{f}")));
    names.extend(formats.iter().map(|f| format!("skip-{f}")));
    let fixed = names.len();
    if !plugin_only {
        names.extend(["pipeline", "python", "pipeline+queue"].map(String::from));
    }
    let mut fps: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for round in 0..rounds {
        let t = Instant::now();
        for _ in 0..frames {
            detector.run_model_only().expect("inference");
        }
        fps[0].push(frames as f64 / t.elapsed().as_secs_f64());
        for (i, (raw, f)) in raws.iter().zip(&formats).enumerate() {
            let d = run_to_eos(&plugin(raw, f, 1));
            fps[1 + i].push(frames as f64 / d.as_secs_f64());
        }
        for (i, (raw, f)) in raws.iter().zip(&formats).enumerate() {
            let d = run_to_eos(&plugin(raw, f, frames + 1));
            fps[1 + formats.len() + i].push(frames as f64 / d.as_secs_f64());
        }
        if plugin_only {
            eprintln!("round {}: {}", round + 1, summary(&names, &fps, round));
            continue;
        }
        fps[fixed].push(frames as f64 / run_to_eos(&whole).as_secs_f64());
        let out = std::process::Command::new(&python)
            .args([
                "tools/python_loop_baseline.py",
                "--frames",
                &frames.to_string(),
                "--threads",
                "2",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("python loop");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let last = text.lines().last().unwrap_or("{}");
        let v: serde_json::Value = serde_json::from_str(last).expect("python JSON");
        fps[fixed + 1].push(v["fps"].as_f64().expect("fps"));
        fps[fixed + 2].push(frames as f64 / run_to_eos(&whole_queued).as_secs_f64());
        eprintln!("round {}: {}", round + 1, summary(&names, &fps, round));
    }

    let median = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        s[s.len() / 2]
    };
    let ratio =
        |a: usize, b: usize| -> Vec<f64> { (0..rounds).map(|r| fps[a][r] / fps[b][r]).collect() };
    println!(
        "\n{frames} frames of 768x576, YOLOX-nano 416, {THREADS} threads, {rounds} rounds (median fps)\n"
    );
    println!("| figure | median fps | per round |");
    println!("|---|---|---|");
    for (i, n) in names.iter().enumerate() {
        let rounds: Vec<String> = fps[i].iter().map(|f| format!("{f:.1}")).collect();
        println!("| {n} | {:.1} | {} |", median(&fps[i]), rounds.join(", "));
    }
    println!("\n| ratio (same round) | median | per round |");
    println!("|---|---|---|");
    let mut ratios: Vec<(String, usize, usize)> = formats
        .iter()
        .enumerate()
        .map(|(i, f)| (format!("plugin-{f} / inference (target >= 0.95)"), 1 + i, 0))
        .collect();
    if !plugin_only {
        ratios.extend([
            (
                "pipeline / python (target >= 1.2)".to_string(),
                fixed,
                fixed + 1,
            ),
            ("pipeline+queue / python".to_string(), fixed + 2, fixed + 1),
            ("pipeline / inference".to_string(), fixed, 0),
        ]);
    }
    for (label, a, b) in ratios {
        let r = ratio(a, b);
        let per: Vec<String> = r.iter().map(|x| format!("{x:.3}")).collect();
        println!("| {label} | {:.3} | {} |", median(&r), per.join(", "));
    }
    // Per-frame cost of the element beyond inference, in ms: 1/plugin - 1/inference.
    println!("\n| per-frame cost (ms, same round) | median | per round |");
    println!("|---|---|---|");
    for (i, f) in formats.iter().enumerate() {
        for (label, k) in [
            (format!("plugin-{f} minus inference"), 1 + i),
            (
                format!("skip-{f} (no pre-processing, no inference)"),
                1 + formats.len() + i,
            ),
        ] {
            let ms: Vec<f64> = (0..rounds)
                .map(|r| {
                    let extra = if k <= formats.len() {
                        1.0 / fps[0][r]
                    } else {
                        0.0
                    };
                    (1.0 / fps[k][r] - extra) * 1000.0
                })
                .collect();
            let per: Vec<String> = ms.iter().map(|x| format!("{x:.3}")).collect();
            println!("| {label} | {:.3} | {} |", median(&ms), per.join(", "));
        }
    }
}

fn summary(names: &[String], fps: &[Vec<f64>], round: usize) -> String {
    names
        .iter()
        .zip(fps)
        .filter_map(|(n, f)| Some(format!("{n} {:.1} fps", f.get(round)?)))
        .collect::<Vec<_>>()
        .join(", ")
}
