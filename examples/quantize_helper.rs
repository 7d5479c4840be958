// SPDX-License-Identifier: MPL-2.0
//! The plugin's side of `tools/quantize.py`: frames decoded by GStreamer and
//! pre-processed, detected and timed by the plugin's own code, so that the
//! quantisation tool calibrates on exactly the tensors `edgedetect` feeds and
//! judges accuracy on exactly the detections it reports.
//!
//! ```text
//! cargo run --release --example quantize_helper -- dump --model M --source SRC... --out calib.npy
//! cargo run --release --example quantize_helper -- detect --model M [--model M2...] --source SRC... \
//!     [--threads 2] [--conf 0.01] [--iou 0.45] [--max-det 300] --out detections.json
//! cargo run --release --example quantize_helper -- pipeline --model M [--model M2...] --video V \
//!     [--threads 2] [--rounds 3] [--frames N] --out pipeline.json
//! ```
//!
//! `SRC` is `PATH[@FIRST:COUNT[:STEP]]`: a folder of images (sorted by file
//! name) or a video file, and which of its frames to take: `FIRST`,
//! `FIRST+STEP`, ... (`COUNT` of them; 0 or none means all). Every frame goes
//! `filesrc ! decodebin ! videoconvert ! video/x-raw,format=BGR ! appsink`.
//!
//! * `dump` writes the input tensors of [`Detector::preprocess`] as one
//!   float32 `.npy` array `[N, 3, H, W]` (the model decides the family and size).
//! * `detect` runs [`Detector::detect`] (pre-processing, inference, decoding,
//!   NMS, mapping to frame pixels: what `edgedetect` attaches) with every
//!   model on every frame and writes the detections as JSON.
//! * `pipeline` times `filesrc ! decodebin ! videoconvert ! edgedetect ! fakesink`
//!   per model (the first `--frames` frames, or all), the models one after the
//!   other in each round (the order rotating), from PLAYING to EOS (model
//!   loading and preroll not timed).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gst_video::prelude::*;
use gstedgeai::frame::{FrameView, PixelLayout, Plane, YuvConversion};
use gstedgeai::runtime::{Detector, DetectorConfig, PostParams, Provider};
use serde_json::json;

const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "bmp", "webp", "tif", "tiff"];
const TIMEOUT: Duration = Duration::from_secs(60);

/// Which frames of a folder or a video to take.
#[derive(Debug, Clone)]
struct Source {
    path: PathBuf,
    first: usize,
    count: usize,
    step: usize,
}

impl Source {
    fn parse(spec: &str) -> Result<Source, String> {
        let (path, range) = match spec.rsplit_once('@') {
            Some((p, r)) if r.chars().all(|c| c.is_ascii_digit() || c == ':') => (p, Some(r)),
            _ => (spec, None),
        };
        let nums: Vec<usize> = match range {
            None => vec![],
            Some(r) => r
                .split(':')
                .map(|n| {
                    n.parse()
                        .map_err(|_| format!("bad frame range in `{spec}`"))
                })
                .collect::<Result<_, _>>()?,
        };
        if nums.len() > 3 {
            return Err(format!("`{spec}`: expected PATH[@FIRST:COUNT[:STEP]]"));
        }
        let s = Source {
            path: PathBuf::from(path),
            first: nums.first().copied().unwrap_or(0),
            count: nums.get(1).copied().unwrap_or(0),
            step: nums.get(2).copied().unwrap_or(1).max(1),
        };
        if !s.path.exists() {
            return Err(format!("{} does not exist", s.path.display()));
        }
        Ok(s)
    }

    /// Whether frame `i` (of the folder or the video) is taken, and whether
    /// any later frame can be.
    fn takes(&self, i: usize) -> (bool, bool) {
        let last = (self.count > 0).then(|| self.first + (self.count - 1) * self.step);
        let take = i >= self.first && (i - self.first).is_multiple_of(self.step);
        let take = take && last.is_none_or(|l| i <= l);
        (take, last.is_none_or(|l| i < l))
    }
}

/// A decoded BGR frame.
struct Frame {
    name: String,
    width: usize,
    height: usize,
    stride: usize,
    data: Vec<u8>,
}

impl Frame {
    fn view(&self) -> FrameView<'_> {
        FrameView {
            yuv: YuvConversion::default(),
            layout: PixelLayout::Bgr,
            width: self.width,
            height: self.height,
            planes: vec![Plane {
                data: &self.data,
                stride: self.stride,
            }],
        }
    }
}

fn decoder(path: &Path) -> Result<(gst::Pipeline, gst_app::AppSink), String> {
    let pipeline = gst::parse::launch(
        "filesrc name=src ! decodebin ! videoconvert ! video/x-raw,format=BGR ! \
         appsink name=sink sync=false max-buffers=4",
    )
    .map_err(|e| format!("cannot build the decoder: {e}"))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline".to_string())?;
    let by_name = |n: &str| pipeline.by_name(n).ok_or_else(|| format!("no element {n}"));
    by_name("src")?.set_property("location", path.to_string_lossy().to_string());
    let sink = by_name("sink")?
        .downcast::<gst_app::AppSink>()
        .map_err(|_| "sink is not an appsink".to_string())?;
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|_| bus_error(&pipeline, path))?;
    Ok((pipeline, sink))
}

fn bus_error(pipeline: &gst::Pipeline, path: &Path) -> String {
    let msg = pipeline.bus().and_then(|b| {
        b.timed_pop_filtered(gst::ClockTime::from_seconds(1), &[gst::MessageType::Error])
    });
    match msg.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Error(e)) => {
            format!("cannot decode {}: {}", path.display(), e.error())
        }
        _ => format!("cannot decode {}", path.display()),
    }
}

/// The next frame of the decoder, `None` at the end of the stream.
fn next_frame(
    pipeline: &gst::Pipeline,
    sink: &gst_app::AppSink,
    path: &Path,
    name: String,
) -> Result<Option<Frame>, String> {
    let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(TIMEOUT.as_secs())) else {
        return if sink.is_eos() {
            Ok(None)
        } else {
            Err(bus_error(pipeline, path))
        };
    };
    let caps = sample.caps().ok_or("sample without caps")?;
    let info = gst_video::VideoInfo::from_caps(caps).map_err(|e| format!("bad caps: {e}"))?;
    let buffer = sample.buffer().ok_or("sample without buffer")?;
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info)
        .map_err(|e| format!("cannot map the frame: {e}"))?;
    let stride = frame.plane_stride()[0] as usize;
    let data = frame
        .plane_data(0)
        .map_err(|e| format!("cannot read the frame: {e}"))?;
    Ok(Some(Frame {
        name,
        width: info.width() as usize,
        height: info.height() as usize,
        stride,
        data: data.to_vec(),
    }))
}

/// Calls `f` on each selected frame of each source, in order.
fn for_each_frame(
    sources: &[Source],
    mut f: impl FnMut(&Frame) -> Result<(), String>,
) -> Result<usize, String> {
    let mut n = 0;
    for src in sources {
        if src.path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&src.path)
                .map_err(|e| format!("cannot list {}: {e}", src.path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_lowercase().as_str()))
                })
                .collect();
            files.sort();
            for (i, file) in files.iter().enumerate() {
                let (take, more) = src.takes(i);
                if take {
                    let (pipeline, sink) = decoder(file)?;
                    let name = file
                        .file_name()
                        .map_or(String::new(), |s| s.to_string_lossy().to_string());
                    let frame = next_frame(&pipeline, &sink, file, name);
                    let _ = pipeline.set_state(gst::State::Null);
                    let frame = frame?.ok_or_else(|| format!("{}: no frame", file.display()))?;
                    f(&frame)?;
                    n += 1;
                }
                if !more {
                    break;
                }
            }
        } else {
            let (pipeline, sink) = decoder(&src.path)?;
            let stem = src
                .path
                .file_name()
                .map_or(String::new(), |s| s.to_string_lossy().to_string());
            let mut i = 0;
            let result = loop {
                let (take, more) = src.takes(i);
                match next_frame(&pipeline, &sink, &src.path, format!("{stem}#{i}")) {
                    Err(e) => break Err(e),
                    Ok(None) => break Ok(()),
                    Ok(Some(frame)) => {
                        if take {
                            if let Err(e) = f(&frame) {
                                break Err(e);
                            }
                            n += 1;
                        }
                    }
                }
                if !more {
                    break Ok(());
                }
                i += 1;
            };
            let _ = pipeline.set_state(gst::State::Null);
            result?;
        }
    }
    Ok(n)
}

fn load(model: &Path, threads: usize) -> Result<Detector, String> {
    Detector::load(&DetectorConfig {
        model: model.to_path_buf(),
        threads,
        provider: Provider::Cpu,
        family: None,
    })
    .map_err(|e| e.to_string())
}

/// Writes `data` as a little-endian float32 `.npy` (format version 1.0).
fn write_npy(path: &Path, shape: &[usize], data: &[f32]) -> Result<(), String> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let dims = if dims.len() == 1 {
        format!("{},", dims[0])
    } else {
        dims.join(", ")
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}");
    // Magic (6) + version (2) + header length (2) + header + '\n', padded to 64.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat(total.next_multiple_of(64) - total));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, out).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

struct Args {
    command: String,
    models: Vec<PathBuf>,
    sources: Vec<Source>,
    video: Option<PathBuf>,
    out: Option<PathBuf>,
    threads: usize,
    conf: f32,
    iou: f32,
    max_det: usize,
    rounds: usize,
    frames: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let command = it
        .next()
        .ok_or("usage: quantize_helper dump|detect|pipeline ...")?;
    let mut a = Args {
        command,
        models: vec![],
        sources: vec![],
        video: None,
        out: None,
        threads: 2,
        conf: 0.01,
        iou: 0.45,
        max_det: 300,
        rounds: 3,
        frames: 0,
    };
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| -> Result<f64, String> {
            v.parse()
                .map_err(|_| format!("{flag}: `{v}` is not a number"))
        };
        match flag.as_str() {
            "--model" => a.models.push(PathBuf::from(value)),
            "--source" => a.sources.push(Source::parse(&value)?),
            "--video" => a.video = Some(PathBuf::from(value)),
            "--out" => a.out = Some(PathBuf::from(value)),
            "--threads" => a.threads = num(&value)? as usize,
            "--conf" => a.conf = num(&value)? as f32,
            "--iou" => a.iou = num(&value)? as f32,
            "--max-det" => a.max_det = num(&value)? as usize,
            "--rounds" => a.rounds = (num(&value)? as usize).max(1),
            "--frames" => a.frames = num(&value)? as usize,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if a.models.is_empty() {
        return Err("give at least one --model".into());
    }
    Ok(a)
}

fn dump(a: &Args, out: &Path) -> Result<serde_json::Value, String> {
    let mut det = load(&a.models[0], 1)?;
    let mut data = Vec::new();
    let mut names = Vec::new();
    let n = for_each_frame(&a.sources, |frame| {
        det.preprocess(&frame.view())?;
        data.extend_from_slice(det.input_tensor());
        names.push(frame.name.clone());
        Ok(())
    })?;
    let (w, h) = det.input_size();
    let shape = [n, 3, h, w];
    write_npy(out, &shape, &data)?;
    Ok(json!({"frames": n, "shape": shape, "family": det.family().name(), "sources": names}))
}

fn detect(a: &Args, out: &Path) -> Result<serde_json::Value, String> {
    let mut dets = a
        .models
        .iter()
        .map(|m| load(m, a.threads))
        .collect::<Result<Vec<_>, _>>()?;
    let post = PostParams {
        class_thresholds: vec![],
        default_threshold: a.conf,
        keep_classes: None,
        iou_threshold: a.iou,
        agnostic: false,
        max_detections: a.max_det,
    };
    let models: Vec<_> = a
        .models
        .iter()
        .zip(&dets)
        .map(|(m, d)| {
            json!({"path": m, "precision": d.precision(), "family": d.family().name(),
                   "input": d.input_size()})
        })
        .collect();
    let mut frames = Vec::new();
    for_each_frame(&a.sources, |frame| {
        let mut per_model = Vec::new();
        for d in dets.iter_mut() {
            let (found, _) = d.detect(&frame.view(), &post)?;
            let rows: Vec<_> = found
                .iter()
                .map(|o| json!([o.x1, o.y1, o.x2, o.y2, o.score, o.class_id]))
                .collect();
            per_model.push(rows);
        }
        frames.push(json!({"source": frame.name, "width": frame.width,
                           "height": frame.height, "detections": per_model}));
        Ok(())
    })?;
    let n = frames.len();
    let doc = json!({"models": models, "conf": a.conf, "iou": a.iou, "frames": frames});
    std::fs::write(out, doc.to_string())
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(json!({"frames": n, "models": a.models.len()}))
}

/// Runs one `edgedetect` pipeline to EOS; returns (seconds PLAYING..EOS, frames inferred).
fn timed_pipeline(
    video: &Path,
    model: &Path,
    threads: usize,
    frames: usize,
) -> Result<(f64, u64), String> {
    // No identity at all when every frame is wanted.
    let limit = if frames > 0 {
        format!("identity eos-after={frames} ! ")
    } else {
        String::new()
    };
    let pipeline = gst::parse::launch(&format!(
        "filesrc name=src ! decodebin ! {limit}videoconvert ! edgedetect name=det threads={threads} ! \
         fakesink sync=false"
    ))
    .map_err(|e| format!("cannot build the pipeline: {e}"))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline".to_string())?;
    let src = pipeline.by_name("src").ok_or("no src")?;
    let det = pipeline.by_name("det").ok_or("no det")?;
    src.set_property("location", video.to_string_lossy().to_string());
    det.set_property("model", model.to_string_lossy().to_string());
    let bus = pipeline.bus().ok_or("no bus")?;
    let fail = |what: &str| {
        let e = bus_error(&pipeline, model);
        let _ = pipeline.set_state(gst::State::Null);
        format!("{what}: {e}")
    };
    if pipeline.set_state(gst::State::Paused).is_err() {
        return Err(fail("cannot start"));
    }
    let (res, _, _) = pipeline.state(gst::ClockTime::from_seconds(TIMEOUT.as_secs()));
    if res.is_err() {
        return Err(fail("cannot preroll"));
    }
    let start = Instant::now();
    if pipeline.set_state(gst::State::Playing).is_err() {
        return Err(fail("cannot play"));
    }
    let mut result = Err("timeout".to_string());
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(1800)) {
        match msg.view() {
            gst::MessageView::Eos(_) => {
                result = Ok(start.elapsed().as_secs_f64());
                break;
            }
            gst::MessageView::Error(e) => {
                result = Err(format!("{}: {}", model.display(), e.error()));
                break;
            }
            _ => {}
        }
    }
    let frames = det.property::<u64>("frames-inferred");
    let _ = pipeline.set_state(gst::State::Null);
    Ok((result?, frames))
}

fn pipeline(a: &Args) -> Result<serde_json::Value, String> {
    let video = a.video.as_ref().ok_or("pipeline needs --video")?;
    gstedgeai::plugin_register_static().map_err(|e| format!("cannot register the plugin: {e}"))?;
    let n = a.models.len();
    let mut fps = vec![vec![0.0; n]; a.rounds];
    let mut frames = 0;
    for (round, row) in fps.iter_mut().enumerate() {
        for k in 0..n {
            let m = (k + round) % n;
            let (secs, f) = timed_pipeline(video, &a.models[m], a.threads, a.frames)?;
            frames = f;
            row[m] = f as f64 / secs;
            eprintln!(
                "round {}: {} {:.1} fps",
                round + 1,
                a.models[m].display(),
                row[m]
            );
        }
    }
    Ok(
        json!({"models": a.models, "video": video, "threads": a.threads, "frames": frames,
              "fps": fps}),
    )
}

fn main() {
    let result = (|| {
        let a = parse_args()?;
        gst::init().map_err(|e| format!("cannot initialise GStreamer: {e}"))?;
        let out = a.out.clone();
        let need_out = || out.clone().ok_or("give --out".to_string());
        let summary = match a.command.as_str() {
            "dump" => dump(&a, &need_out()?)?,
            "detect" => detect(&a, &need_out()?)?,
            "pipeline" => {
                let v = pipeline(&a)?;
                if let Some(o) = &out {
                    std::fs::write(o, v.to_string())
                        .map_err(|e| format!("cannot write {}: {e}", o.display()))?;
                }
                v
            }
            other => return Err(format!("unknown command {other}: dump, detect or pipeline")),
        };
        Ok::<_, String>(summary)
    })();
    match result {
        Ok(v) => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{v}");
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
