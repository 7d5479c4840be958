// SPDX-License-Identifier: MPL-2.0

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard};
use std::time::Instant;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use super::{Mode, ModelFormat, Provider};
use crate::inference::ModelFamily;
use crate::inference::labels::{self, class_id, read_labels};
use crate::meta;
use crate::runtime::instance::{
    AcquireError, Batch, Batching, Frame, Job, MODELS, ModelInstance, Shared,
};
use crate::runtime::{self, Detector, DetectorConfig, Input, InputPrep, LoadError, PostParams};
use crate::scheduler::{Decision, Item, LatencyEstimator, LivePolicy, ReleaseQueue, Timing};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "edgedetect",
        gst::DebugColorFlags::empty(),
        Some("Edge AI YOLO object detector"),
    )
});

const DEFAULT_CONF_THRESHOLD: f64 = 0.25;
const DEFAULT_IOU_THRESHOLD: f64 = 0.45;
const DEFAULT_MAX_DETECTIONS: u32 = 300;
const DEFAULT_INTERVAL: u32 = 1;
const DEFAULT_THREADS: u32 = 0;
const DEFAULT_BATCH_SIZE: u32 = 1;
const DEFAULT_PREFETCH: bool = true;
const MAX_BATCH_SIZE: u32 = 64;
/// Never wait for more frames: a batch takes what is waiting when the model
/// is free (batches fill by themselves when the model is behind).
const DEFAULT_BATCH_TIMEOUT_MS: u32 = 0;
const MAX_BATCH_TIMEOUT_MS: u32 = 10_000;

#[derive(Debug, Clone)]
struct Settings {
    model: String,
    labels: String,
    model_format: ModelFormat,
    conf_threshold: f64,
    class_thresholds: String,
    iou_threshold: f64,
    max_detections: u32,
    classes: String,
    agnostic_nms: bool,
    interval: u32,
    threads: u32,
    provider: Provider,
    meta_output: meta::MetaOutput,
    mode: Mode,
    model_instance_id: String,
    batch_size: u32,
    batch_timeout_ms: u32,
    prefetch: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            model: String::new(),
            labels: String::new(),
            model_format: ModelFormat::Auto,
            conf_threshold: DEFAULT_CONF_THRESHOLD,
            class_thresholds: String::new(),
            iou_threshold: DEFAULT_IOU_THRESHOLD,
            max_detections: DEFAULT_MAX_DETECTIONS,
            classes: String::new(),
            agnostic_nms: false,
            interval: DEFAULT_INTERVAL,
            threads: DEFAULT_THREADS,
            provider: Provider::Cpu,
            meta_output: meta::MetaOutput::default(),
            mode: Mode::Auto,
            model_instance_id: String::new(),
            batch_size: DEFAULT_BATCH_SIZE,
            batch_timeout_ms: DEFAULT_BATCH_TIMEOUT_MS,
            prefetch: DEFAULT_PREFETCH,
        }
    }
}

/// `class-thresholds` and `classes` turned into per-class-id tables, cached
/// until one of the strings or the threshold changes.
struct Filters {
    key: (String, String, u64),
    post: PostParams,
}

struct State {
    instance: Arc<ModelInstance>,
    /// This element's stream on the instance (unique in the process).
    stream: u64,
    family: ModelFamily,
    labels: Arc<Vec<String>>,
    info: Option<gst_video::VideoInfo>,
    frames_seen: u64,
    filters: Option<Filters>,
    /// Live mode's pre-processing, on the streaming thread, without the model.
    prep: Arc<Mutex<InputPrep>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    frames_inferred: u64,
    frames_skipped: u64,
    total_latency_ms: f64,
    last_latency_ms: f64,
}

/// What the model said about one frame: objects in frame pixels and the
/// pre-processing + inference + post-processing time, ms.
type Detected = Result<(Vec<meta::Object>, f64), String>;

/// Live mode: frames and events held in order until the frame in flight has
/// its detections, pushed by the source pad's task.
#[derive(Default)]
struct Live {
    /// `None` until the first buffer decides (mode=auto), then whether the
    /// element runs live.
    active: Option<bool>,
    /// Outcomes carry the frame size the objects were found at.
    queue: ReleaseQueue<gst::Buffer, gst::Event, (Detected, u32, u32)>,
    policy: LivePolicy,
    /// When this stream's running frame was started by the model.
    running_since: Option<Instant>,
    /// Running means (exponential) of the inference (model, decoding, NMS)
    /// and pre-processing times and of the time between frames, ms.
    infer_ms: Option<f64>,
    preprocess_ms: f64,
    arrival_ms: Option<f64>,
    last_arrival: Option<Instant>,
    flushing: bool,
    flow: Option<gst::FlowError>,
    /// Changes at each flush and stop: answers for older frames are ignored.
    epoch: u64,
    estimator: LatencyEstimator,
    /// The latency last answered, ns; it only grows during a run.
    reported_ns: u64,
    frame_ms: f64,
}

pub struct EdgeDetect {
    sinkpad: gst::Pad,
    srcpad: gst::Pad,
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    stats: Mutex<Stats>,
    live: Mutex<Live>,
    cond: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Frames held at most in live mode before the streaming thread waits: only
/// reached when the model stalls (normally one inference's worth of frames).
const MAX_HELD_FRAMES: usize = 300;

static NEXT_STREAM: AtomicU64 = AtomicU64::new(1);

fn family_of(format: ModelFormat) -> Option<ModelFamily> {
    match format {
        ModelFormat::Auto => None,
        ModelFormat::Yolox => Some(ModelFamily::Yolox),
        ModelFormat::Yolov5 => Some(ModelFamily::Yolov5),
        ModelFormat::Yolov8 => Some(ModelFamily::Yolov8),
        ModelFormat::End2End => Some(ModelFamily::End2End),
    }
}

fn provider_of(p: Provider) -> runtime::Provider {
    match p {
        Provider::Cpu => runtime::Provider::Cpu,
        Provider::Cuda => runtime::Provider::Cuda,
        Provider::TensorRt => runtime::Provider::TensorRt,
        Provider::OpenVino => runtime::Provider::OpenVino,
        Provider::Xnnpack => runtime::Provider::Xnnpack,
        Provider::CoreMl => runtime::Provider::CoreMl,
        Provider::Qnn => runtime::Provider::Qnn,
    }
}

/// Builds the per-class tables from the property strings. Unknown labels and
/// bad numbers are reported in the returned warnings and ignored.
fn build_filters(settings: &Settings, labels: &[String]) -> (PostParams, Vec<String>) {
    let mut warnings = Vec::new();
    let default = settings.conf_threshold as f32;
    let mut class_thresholds = vec![default; labels.len()];
    for item in settings
        .class_thresholds
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let parsed = item.rsplit_once(':').and_then(|(name, v)| {
            Some((
                class_id(labels, name.trim())?,
                v.trim().parse::<f32>().ok()?,
            ))
        });
        match parsed {
            Some((id, v)) if (0.0..=1.0).contains(&v) => class_thresholds[id] = v,
            _ => warnings.push(format!(
                "class-thresholds: ignoring `{item}`: expected LABEL:VALUE with a known label and 0 <= VALUE <= 1"
            )),
        }
    }
    let keep_classes = labels::keep_classes(&settings.classes, labels, &mut warnings);
    (
        PostParams {
            class_thresholds,
            default_threshold: default,
            keep_classes,
            iou_threshold: settings.iou_threshold as f32,
            agnostic: settings.agnostic_nms,
            max_detections: settings.max_detections as usize,
        },
        warnings,
    )
}

/// Runs the detector on one readable frame and returns objects in frame pixels.
fn detect(
    detector: &mut Detector,
    labels: &[String],
    buf: &gst::BufferRef,
    info: &gst_video::VideoInfo,
    post: &PostParams,
) -> Detected {
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buf, info)
        .map_err(|e| format!("cannot map the video frame: {e}"))?;
    let view = crate::video::frame_view(&frame)?;
    let (dets, timings) = detector.detect(&view, post)?;
    Ok((
        meta::Object::from_detections(&dets, labels),
        timings.total_ms(),
    ))
}

/// What one frame needs from the element's state to be inferred.
struct Prepared {
    instance: Arc<ModelInstance>,
    prep: Arc<Mutex<InputPrep>>,
    stream: u64,
    family: ModelFamily,
    labels: Arc<Vec<String>>,
    info: gst_video::VideoInfo,
    post: PostParams,
}

impl EdgeDetect {
    /// Checks the element is started and has caps, counts the frame, and
    /// returns what inference needs (the post-processing tables rebuilt when
    /// a property changed).
    fn prepare(&self, settings: &Settings) -> Result<(Prepared, u64), gst::FlowError> {
        let mut warnings = Vec::new();
        let prepared = {
            let mut guard = lock(&self.state);
            let Some(state) = guard.as_mut() else {
                drop(guard);
                gst::element_imp_error!(self, gst::CoreError::Negotiation, ("buffer before start"));
                return Err(gst::FlowError::NotNegotiated);
            };
            let Some(info) = state.info.clone() else {
                drop(guard);
                gst::element_imp_error!(self, gst::CoreError::Negotiation, ("buffer before caps"));
                return Err(gst::FlowError::NotNegotiated);
            };
            let index = state.frames_seen;
            state.frames_seen += 1;
            let key = (
                settings.class_thresholds.clone(),
                settings.classes.clone(),
                settings.conf_threshold.to_bits()
                    ^ settings.iou_threshold.to_bits().rotate_left(1)
                    ^ u64::from(settings.max_detections).rotate_left(7)
                    ^ u64::from(settings.agnostic_nms),
            );
            if state.filters.as_ref().is_none_or(|f| f.key != key) {
                let (post, w) = build_filters(settings, &state.labels);
                warnings = w;
                state.filters = Some(Filters { key, post });
            }
            let post = state
                .filters
                .as_ref()
                .map(|f| f.post.clone())
                .ok_or(gst::FlowError::Error)?;
            (
                Prepared {
                    instance: state.instance.clone(),
                    prep: state.prep.clone(),
                    stream: state.stream,
                    family: state.family,
                    labels: state.labels.clone(),
                    info,
                    post,
                },
                index,
            )
        };
        for w in warnings {
            gst::element_imp_warning!(self, gst::LibraryError::Settings, ("{}", w));
        }
        Ok(prepared)
    }

    /// Writes the outcome into the buffer's metadata and the statistics.
    /// `None`: the frame was not inferred.
    fn annotate(
        &self,
        buf: &mut gst::BufferRef,
        outcome: Option<Detected>,
        width: u32,
        height: u32,
    ) -> Result<(), gst::FlowError> {
        let meta_output = lock(&self.settings).meta_output;
        match outcome {
            None => {
                if let Err(e) = meta::update_frame_info(buf, |f| f.inferred = Some(false)) {
                    gst::warning!(CAT, imp = self, "cannot add frame meta: {e}");
                }
                lock(&self.stats).frames_skipped += 1;
            }
            Some(Ok((objects, latency_ms))) => {
                gst::trace!(
                    CAT,
                    imp = self,
                    "{} objects in {latency_ms:.2} ms",
                    objects.len()
                );
                meta::add_objects_to(buf, &objects, width, height, meta_output);
                if let Err(e) = meta::update_frame_info(buf, |f| {
                    f.inferred = Some(true);
                    f.inference_latency_ms = Some(latency_ms);
                }) {
                    gst::warning!(CAT, imp = self, "cannot add frame meta: {e}");
                }
                let mut stats = lock(&self.stats);
                stats.frames_inferred += 1;
                stats.total_latency_ms += latency_ms;
                stats.last_latency_ms = latency_ms;
            }
            Some(Err(e)) => {
                gst::element_imp_error!(
                    self,
                    gst::StreamError::Failed,
                    ("detection failed: {}", e)
                );
                return Err(gst::FlowError::Error);
            }
        }
        Ok(())
    }

    /// `mode=sync`: inference on the streaming thread, as a plain in-place filter.
    fn chain_sync(
        &self,
        settings: &Settings,
        buf: gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let frame_info = meta::frame_info(&buf);
        let (p, index) = self.prepare(settings)?;
        let due = index % u64::from(settings.interval.max(1)) == 0;
        let outcome = (due && !frame_info.skip_inference).then(|| {
            p.instance
                .run_now(|d| detect(d, &p.labels, &buf, &p.info, &p.post))
        });
        let mut buf = buf;
        self.annotate(buf.make_mut(), outcome, p.info.width(), p.info.height())?;
        self.srcpad.push(buf)
    }

    /// `mode=live`: the frame is queued; it goes to the model when the
    /// policy says so (pre-processed here, on the streaming thread, while the
    /// model may be busy with the previous frame), and the source pad's task
    /// pushes it once its outcome is known.
    fn chain_live(
        &self,
        settings: &Settings,
        buf: gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let frame_info = meta::frame_info(&buf);
        let (p, _) = self.prepare(settings)?;
        let (seq, epoch, decision) = {
            let mut live = lock(&self.live);
            if live.flushing {
                return Err(gst::FlowError::Flushing);
            }
            if let Some(e) = live.flow {
                return Err(e);
            }
            let now = Instant::now();
            if let Some(last) = live.last_arrival.replace(now) {
                let ms = (now - last).as_secs_f64() * 1000.0;
                live.arrival_ms = Some(live.arrival_ms.map_or(ms, |m| 0.9 * m + 0.1 * ms));
            }
            let timing = live.running_since.map(|since| Timing {
                running_for_ms: since.elapsed().as_secs_f64() * 1000.0,
                infer_ms: live.infer_ms,
                frame_ms: live.arrival_ms.unwrap_or(live.frame_ms),
                preprocess_ms: live.preprocess_ms,
            });
            let seq = live.queue.next_seq();
            let decision = live.policy.on_frame(
                seq,
                settings.interval,
                frame_info.skip_inference,
                timing,
                settings.prefetch,
            );
            live.queue
                .push_frame(buf.clone(), decision == Decision::Infer);
            self.cond.notify_all();
            (seq, live.epoch, decision)
        };
        if decision == Decision::Infer {
            // Pre-processing needs neither the model nor the element's lock.
            let input = {
                let mut prep = lock(&p.prep);
                gst_video::VideoFrameRef::from_buffer_ref_readable(&buf, &p.info)
                    .map_err(|e| format!("cannot map the video frame: {e}"))
                    .and_then(|frame| prep.prepare(&crate::video::frame_view(&frame)?))
            };
            drop(buf);
            let mut live = lock(&self.live);
            if live.epoch == epoch {
                match input {
                    Ok(input) => {
                        let ms = input.preprocess_ms;
                        live.preprocess_ms = 0.9 * live.preprocess_ms + 0.1 * ms;
                        let job = self.job(&p, input, seq, epoch);
                        if let Some(old) = p.instance.submit(p.stream, seq, job) {
                            live.queue.complete(old, None);
                            live.policy.done(old);
                        }
                    }
                    Err(e) => {
                        live.policy.done(seq);
                        live.queue.complete(seq, Some((Err(e), 0, 0)));
                    }
                }
                self.cond.notify_all();
            }
        } else {
            drop(buf);
        }
        let mut live = lock(&self.live);
        while live.queue.frames() > MAX_HELD_FRAMES && !live.flushing {
            live = self.cond.wait(live).unwrap_or_else(|e| e.into_inner());
        }
        if live.flushing {
            return Err(gst::FlowError::Flushing);
        }
        live.flow.map_or(Ok(gst::FlowSuccess::Ok), Err)
    }

    /// The model's job for frame `seq`: inference on the pre-processed
    /// input (alone or in a batch with other streams' frames), then, on the
    /// worker with the model free, decoding, NMS and the outcome handed back.
    fn job(&self, p: &Prepared, input: Input, seq: u64, epoch: u64) -> Job<Detector> {
        let labels = p.labels.clone();
        let family = p.family;
        let (width, height) = (p.info.width(), p.info.height());
        let post = p.post.clone();
        let element = self.obj().downgrade();
        let element_done = element.clone();
        // The frame arrived before it was pre-processed.
        let now = Instant::now();
        let arrival = now
            .checked_sub(std::time::Duration::from_secs_f64(
                input.preprocess_ms.max(0.0) / 1000.0,
            ))
            .unwrap_or(now);
        let letterbox = input.letterbox;
        let (frame_width, frame_height) = (input.frame_width, input.frame_height);
        let preprocess_ms = input.preprocess_ms;
        Job {
            input: Frame {
                input,
                post: post.clone(),
            },
            start: Box::new(move |now| {
                element
                    .upgrade()
                    .is_some_and(|e| e.imp().job_started(seq, epoch, now))
            }),
            done: Box::new(move |candidates, batch: Batch| {
                let Some(element) = element_done.upgrade() else {
                    return;
                };
                let t0 = Instant::now();
                let detected = candidates.map(|candidates| {
                    let dets = runtime::finish(
                        family,
                        candidates,
                        &letterbox,
                        frame_width,
                        frame_height,
                        &post,
                    );
                    meta::Object::from_detections(&dets, &labels)
                });
                let infer_ms = batch.infer_ms + t0.elapsed().as_secs_f64() * 1000.0;
                let detected = detected.map(|objects| (objects, infer_ms + preprocess_ms));
                element
                    .imp()
                    .job_done(seq, epoch, (detected, width, height), arrival, infer_ms);
            }),
        }
    }

    /// The model took frame `seq`; false when it belongs to a flushed epoch.
    fn job_started(&self, seq: u64, epoch: u64, now: Instant) -> bool {
        let mut live = lock(&self.live);
        if live.epoch != epoch {
            return false;
        }
        live.policy.started(seq);
        live.running_since = Some(now);
        true
    }

    fn job_done(
        &self,
        seq: u64,
        epoch: u64,
        (detected, width, height): (Detected, u32, u32),
        arrival: Instant,
        infer_ms: f64,
    ) {
        let post_latency = {
            let mut live = lock(&self.live);
            if live.epoch != epoch {
                return;
            }
            live.policy.done(seq);
            if !live.policy.running() {
                live.running_since = None;
            }
            live.infer_ms = Some(live.infer_ms.map_or(infer_ms, |m| 0.9 * m + 0.1 * infer_ms));
            if !live.queue.complete(seq, Some((detected, width, height))) {
                return;
            }
            live.estimator
                .record(arrival.elapsed().as_secs_f64() * 1000.0);
            self.cond.notify_all();
            // Re-announce the latency when it grew by more than 10 %.
            let frame_ms = live.frame_ms;
            let estimate = live.estimator.estimate(frame_ms).unwrap_or(0.0);
            let estimate_ns = (estimate * 1e6) as u64;
            if live.estimator.samples() >= 8
                && estimate_ns > live.reported_ns + live.reported_ns / 10
            {
                gst::debug!(
                    CAT,
                    imp = self,
                    "latency grows from {} to {estimate:.1} ms",
                    live.reported_ns as f64 / 1e6
                );
                live.reported_ns = estimate_ns;
                true
            } else {
                false
            }
        };
        if post_latency {
            let obj = self.obj();
            let _ = obj.post_message(gst::message::Latency::builder().src(&*obj).build());
        }
    }

    /// The source pad's task in live mode: pushes what is ready, in order.
    fn src_loop(&self) {
        let item = {
            let mut live = lock(&self.live);
            loop {
                if live.flushing {
                    drop(live);
                    let _ = self.srcpad.pause_task();
                    return;
                }
                if let Some(item) = live.queue.pop_ready() {
                    break item;
                }
                live = self.cond.wait(live).unwrap_or_else(|e| e.into_inner());
            }
        };
        self.cond.notify_all();
        let result = match item {
            Item::Event(ev) => {
                let eos = ev.type_() == gst::EventType::Eos;
                self.srcpad.push_event(ev);
                if eos {
                    let _ = self.srcpad.pause_task();
                }
                Ok(gst::FlowSuccess::Ok)
            }
            Item::Frame { frame, outcome, .. } => {
                let mut buf = frame;
                let (outcome, w, h) = match outcome.flatten() {
                    Some((d, w, h)) => (Some(d), w, h),
                    None => (None, 0, 0),
                };
                match self.annotate(buf.make_mut(), outcome, w, h) {
                    Ok(()) => self.srcpad.push(buf),
                    Err(e) => Err(e),
                }
            }
        };
        if let Err(e) = result {
            let mut live = lock(&self.live);
            live.flow = Some(e);
            self.cond.notify_all();
            drop(live);
            gst::debug!(CAT, imp = self, "pausing the task: {e:?}");
            if matches!(e, gst::FlowError::Error | gst::FlowError::NotNegotiated)
                || e == gst::FlowError::NotLinked
            {
                gst::element_imp_error!(
                    self,
                    gst::StreamError::Failed,
                    ("Internal data stream error."),
                    ["streaming stopped, reason {:?}", e]
                );
                self.srcpad.push_event(gst::event::Eos::new());
            }
            let _ = self.srcpad.pause_task();
        }
    }

    /// Decides the mode on the first buffer (auto: live when upstream is live).
    fn resolve_mode(&self, settings: &Settings) -> bool {
        if let Some(active) = lock(&self.live).active {
            return active;
        }
        let live = match settings.mode {
            Mode::Sync => false,
            Mode::Live => true,
            Mode::Auto => {
                let mut q = gst::query::Latency::new();
                let upstream_live = self.sinkpad.peer_query(&mut q) && q.result().0;
                gst::info!(
                    CAT,
                    imp = self,
                    "mode=auto: upstream is {}, running {}",
                    if upstream_live { "live" } else { "not live" },
                    if upstream_live { "live" } else { "sync" }
                );
                upstream_live
            }
        };
        lock(&self.live).active = Some(live);
        if live {
            self.start_task();
            // Announce our latency now that we add some.
            let obj = self.obj();
            let _ = obj.post_message(gst::message::Latency::builder().src(&*obj).build());
        }
        live
    }

    fn start_task(&self) {
        let imp = self.ref_counted();
        if let Err(e) = self.srcpad.start_task(move || imp.src_loop()) {
            gst::error!(CAT, imp = self, "cannot start the source task: {e}");
        }
    }

    fn is_live(&self) -> bool {
        lock(&self.live).active == Some(true)
    }

    /// Drops what is held; answers for frames in flight will be ignored.
    fn flush_held(&self, flushing: bool) {
        let stream = lock(&self.state)
            .as_ref()
            .map(|s| (s.instance.clone(), s.stream));
        let mut live = lock(&self.live);
        live.flushing = flushing;
        live.queue.clear();
        live.epoch += 1;
        live.policy.reset();
        live.running_since = None;
        if let Some((instance, stream)) = stream {
            instance.cancel(stream);
        }
        self.cond.notify_all();
    }

    /// The latency this element adds, ns (0 in sync mode).
    fn own_latency_ns(&self) -> u64 {
        let mut live = lock(&self.live);
        let settings_live = lock(&self.settings).mode == Mode::Live;
        if live.active == Some(false) || (live.active.is_none() && !settings_live) {
            return 0;
        }
        let estimate = live.estimator.estimate(live.frame_ms).unwrap_or(0.0);
        let ns = (estimate * 1e6) as u64;
        live.reported_ns = live.reported_ns.max(ns);
        live.reported_ns
    }

    fn sink_chain(&self, buf: gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = lock(&self.settings).clone();
        if self.resolve_mode(&settings) {
            self.chain_live(&settings, buf)
        } else {
            self.chain_sync(&settings, buf)
        }
    }

    fn sink_event(&self, pad: &gst::Pad, event: gst::Event) -> bool {
        use gst::EventView;
        match event.view() {
            EventView::FlushStart(_) => {
                self.flush_held(true);
                let ok = self.srcpad.push_event(event);
                let _ = self.srcpad.pause_task();
                return ok;
            }
            EventView::FlushStop(_) => {
                {
                    let mut live = lock(&self.live);
                    live.flushing = false;
                    live.flow = None;
                }
                let ok = self.srcpad.push_event(event);
                if self.is_live() {
                    self.start_task();
                }
                return ok;
            }
            EventView::Caps(c) => {
                let caps = c.caps_owned();
                let Ok(info) = gst_video::VideoInfo::from_caps(&caps) else {
                    gst::element_imp_error!(
                        self,
                        gst::CoreError::Negotiation,
                        ("cannot parse caps {}", caps)
                    );
                    return false;
                };
                gst::debug!(CAT, imp = self, "caps {caps}");
                let fps = info.fps();
                if fps.numer() > 0 {
                    lock(&self.live).frame_ms = 1000.0 * fps.denom() as f64 / fps.numer() as f64;
                }
                if let Some(state) = lock(&self.state).as_mut() {
                    state.info = Some(info);
                }
            }
            _ => (),
        }
        if event.is_serialized() && self.is_live() {
            let mut live = lock(&self.live);
            if live.flushing {
                return false;
            }
            live.queue.push_event(event);
            self.cond.notify_all();
            true
        } else {
            gst::Pad::event_default(pad, Some(&*self.obj()), event)
        }
    }

    fn sink_query(&self, pad: &gst::Pad, query: &mut gst::QueryRef) -> bool {
        if query.is_serialized() && self.is_live() {
            // Serialized queries go after what is held.
            let mut live = lock(&self.live);
            while !live.queue.is_empty() && !live.flushing {
                live = self.cond.wait(live).unwrap_or_else(|e| e.into_inner());
            }
        }
        match query.view_mut() {
            gst::QueryViewMut::Allocation(q) => {
                let ok = self.srcpad.peer_query(q.query_mut());
                // We read frames with their strides.
                q.add_allocation_meta::<gst_video::VideoMeta>(None);
                ok
            }
            _ => gst::Pad::query_default(pad, Some(&*self.obj()), query),
        }
    }

    fn src_query(&self, pad: &gst::Pad, query: &mut gst::QueryRef) -> bool {
        match query.view_mut() {
            gst::QueryViewMut::Latency(q) => {
                let mut upstream = gst::query::Latency::new();
                if !self.sinkpad.peer_query(&mut upstream) {
                    return false;
                }
                let (live, min, max) = upstream.result();
                let ours = gst::ClockTime::from_nseconds(self.own_latency_ns());
                gst::debug!(
                    CAT,
                    imp = self,
                    "latency: upstream {min} (live {live}), ours {ours}"
                );
                q.set(live, min + ours, max.map(|m| m + ours));
                true
            }
            _ => gst::Pad::query_default(pad, Some(&*self.obj()), query),
        }
    }

    fn src_activatemode(&self, mode: gst::PadMode, active: bool) -> Result<(), gst::LoggableError> {
        if mode != gst::PadMode::Push {
            return Ok(());
        }
        if active {
            let mut live = lock(&self.live);
            live.flushing = false;
            live.flow = None;
        } else {
            self.flush_held(true);
            self.srcpad
                .stop_task()
                .map_err(|e| gst::loggable_error!(CAT, "cannot stop the task: {e}"))?;
            lock(&self.live).queue.clear();
        }
        Ok(())
    }

    /// Loads the model (or joins the shared instance) and reads its labels.
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = lock(&self.settings).clone();
        let cfg = DetectorConfig {
            model: PathBuf::from(&settings.model),
            threads: settings.threads as usize,
            provider: provider_of(settings.provider),
            family: family_of(settings.model_format),
        };
        let name = self.obj().name().to_string();
        let batching = Batching {
            size: settings.batch_size.max(1) as usize,
            timeout: std::time::Duration::from_millis(u64::from(settings.batch_timeout_ms)),
        };
        let load = || -> Result<ModelInstance, gst::ErrorMessage> {
            let detector = Detector::load(&cfg).map_err(|e| match e {
                LoadError::Runtime(m) => gst::error_msg!(gst::LibraryError::Init, ("{}", m)),
                LoadError::ModelMissing(m) => {
                    gst::error_msg!(gst::ResourceError::NotFound, ("{}", m))
                }
                other => gst::error_msg!(gst::LibraryError::Settings, ("{}", other)),
            })?;
            Shared::new(detector, &name, batching).map_err(|e| {
                gst::error_msg!(
                    gst::CoreError::Thread,
                    ("cannot start the model thread: {}", e)
                )
            })
        };
        let key = format!(
            "model={} threads={} provider={:?} model-format={:?} batch-size={} batch-timeout={}",
            settings.model,
            settings.threads,
            settings.provider,
            settings.model_format,
            settings.batch_size,
            settings.batch_timeout_ms
        );
        let instance = if settings.model_instance_id.is_empty() {
            Arc::new(load()?)
        } else {
            MODELS
                .acquire(&settings.model_instance_id, &key, &name, load)
                .map_err(|e| match e {
                    AcquireError::Load(e) => e,
                    AcquireError::Conflict {
                        id,
                        holder,
                        settings: held,
                    } => gst::error_msg!(
                        gst::LibraryError::Settings,
                        (
                            "model-instance-id `{}` is held by {} with {}; {} asks for {}: \
                          use the same model, threads, provider, model-format, batch-size and \
                          batch-timeout, or another id",
                            id,
                            holder,
                            held,
                            name,
                            key
                        )
                    ),
                })?
        };
        // The batch size the model can do: any with a dynamic batch
        // dimension; N or 1 (each call padded to N) with a fixed one.
        let (model_batch, family) = instance.with_model(|d| (d.batch(), d.family()));
        match model_batch {
            Some(n) if settings.batch_size as usize != n && settings.batch_size != 1 => {
                let holder = if settings.model_instance_id.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (model-instance-id `{}`, shared with that setting)",
                        settings.model_instance_id
                    )
                };
                return Err(gst::error_msg!(
                    gst::LibraryError::Settings,
                    (
                        "{} has batch-size={}{} but model {} takes batches of exactly {} frame(s): \
                         set batch-size={} (or 1), or give the model a dynamic batch dimension \
                         (tools/make_batch_model.py)",
                        name,
                        settings.batch_size,
                        holder,
                        settings.model,
                        n,
                        n
                    )
                ));
            }
            Some(n) if n > 1 && settings.batch_size == 1 => gst::element_imp_warning!(
                self,
                gst::LibraryError::Settings,
                (
                    "model {} takes batches of exactly {} frames: each call runs {} frames, \
                     padded; set batch-size={} with model-instance-id to fill them with other \
                     streams' frames",
                    settings.model,
                    n,
                    n,
                    n
                )
            ),
            _ => (),
        }
        let (model_labels, num_classes) = instance.with_model(|detector| {
            let (rt_path, rt_version) = detector.runtime();
            gst::info!(
                CAT,
                imp = self,
                "ONNX Runtime {} from {}; model {}: {:?} ({}), input {:?}, output {:?}, precision {}, provider {}",
                rt_version,
                rt_path.display(),
                settings.model,
                detector.family(),
                detector.family_reason(),
                detector.input_size(),
                detector.output_shape(),
                detector.precision(),
                detector.provider().name()
            );
            for w in detector.warnings() {
                gst::element_imp_warning!(self, gst::LibraryError::Settings, ("{}", w));
            }
            (
                detector.model_labels().map(<[String]>::to_vec),
                detector.num_classes(),
            )
        });
        let file = (!settings.labels.is_empty())
            .then(|| read_labels(&settings.labels))
            .transpose()
            .map_err(|m| gst::error_msg!(gst::ResourceError::NotFound, ("{}", m)))?;
        let (labels, source) = labels::resolve(file, model_labels.as_deref(), num_classes);
        if source == labels::LabelSource::AssumedCoco {
            gst::info!(
                CAT,
                imp = self,
                "assumption: the model has 80 classes and no names, so it is a COCO model: using the COCO names shipped with the plugin (set `labels` if it is not)"
            );
        }
        if !settings.labels.is_empty() && labels.len() != num_classes {
            gst::warning!(
                CAT,
                imp = self,
                "labels file has {} names but the model has {} classes",
                labels.len(),
                num_classes
            );
        }
        // Live mode (possibly): measure the model once so that the first
        // latency answer is not a guess.
        let mut estimator = LatencyEstimator::default();
        // With batching, a frame may wait batch-timeout for a batch and
        // then a whole batch's call.
        if settings.mode != Mode::Sync {
            let frames = batching.size;
            let t = instance.with_model(|d| {
                let _ = d.run_model_batch(frames);
                let t0 = Instant::now();
                d.run_model_batch(frames)
                    .ok()
                    .map(|_| t0.elapsed().as_secs_f64() * 1000.0)
            });
            if let Some(ms) = t {
                let wait_ms = batching.timeout.as_secs_f64() * 1000.0;
                gst::debug!(
                    CAT,
                    imp = self,
                    "warm-up inference {ms:.1} ms for {frames} frame(s), batch-timeout {wait_ms} ms"
                );
                estimator.record(ms + if frames > 1 { wait_ms } else { 0.0 });
            }
        }
        let stream = NEXT_STREAM.fetch_add(1, Ordering::Relaxed);
        instance.register(stream);
        let prep = Arc::new(Mutex::new(instance.with_model(|d| d.input_prep())));
        *lock(&self.state) = Some(State {
            prep,
            instance,
            stream,
            family,
            labels: Arc::new(labels),
            info: None,
            frames_seen: 0,
            filters: None,
        });
        *lock(&self.stats) = Stats::default();
        let mut live = lock(&self.live);
        let epoch = live.epoch + 1;
        *live = Live {
            epoch,
            estimator,
            ..Live::default()
        };
        Ok(())
    }

    fn stop(&self) {
        self.flush_held(false);
        if let Some(state) = lock(&self.state).take() {
            state.instance.unregister(state.stream);
        }
        lock(&self.live).active = None;
    }
}
#[glib::object_subclass]
impl ObjectSubclass for EdgeDetect {
    const NAME: &'static str = "GstEdgeAIDetect";
    type Type = super::EdgeDetect;
    type ParentType = gst::Element;

    fn with_class(klass: &Self::Class) -> Self {
        let sinkpad =
            gst::Pad::builder_from_template(&klass.pad_template("sink").expect("sink template"))
                .chain_function(|_pad, parent, buf| {
                    EdgeDetect::catch_panic_pad_function(
                        parent,
                        || Err(gst::FlowError::Error),
                        |imp| imp.sink_chain(buf),
                    )
                })
                .event_function(|pad, parent, event| {
                    EdgeDetect::catch_panic_pad_function(
                        parent,
                        || false,
                        |imp| imp.sink_event(pad, event),
                    )
                })
                .query_function(|pad, parent, query| {
                    EdgeDetect::catch_panic_pad_function(
                        parent,
                        || false,
                        |imp| imp.sink_query(pad, query),
                    )
                })
                .flags(gst::PadFlags::PROXY_CAPS)
                .build();
        let srcpad =
            gst::Pad::builder_from_template(&klass.pad_template("src").expect("src template"))
                .query_function(|pad, parent, query| {
                    EdgeDetect::catch_panic_pad_function(
                        parent,
                        || false,
                        |imp| imp.src_query(pad, query),
                    )
                })
                .activatemode_function(|_pad, parent, mode, active| {
                    EdgeDetect::catch_panic_pad_function(
                        parent,
                        || Err(gst::loggable_error!(CAT, "panic in activation")),
                        |imp| imp.src_activatemode(mode, active),
                    )
                })
                .flags(gst::PadFlags::PROXY_CAPS)
                .build();
        EdgeDetect {
            sinkpad,
            srcpad,
            settings: Mutex::default(),
            state: Mutex::default(),
            stats: Mutex::default(),
            live: Mutex::default(),
            cond: Condvar::new(),
        }
    }
}

impl ObjectImpl for EdgeDetect {
    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        let _ = obj.add_pad(&self.sinkpad);
        let _ = obj.add_pad(&self.srcpad);
        // GStreamer names instances after the GType (GstEdgeAIDetect, chosen
        // so as not to clash with OpenCV's GstEdgeDetect): keep the element's
        // own name in default instance names, `edgedetect0`, `edgedetect1`...
        let name = obj.name();
        if let Some(n) = name.strip_prefix("edgeaidetect")
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
        {
            obj.set_property("name", format!("edgedetect{n}"));
        }
    }

    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("model")
                    .nick("Model")
                    .blurb("Path to the YOLO model (.onnx)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("labels")
                    .nick("Labels")
                    .blurb("Labels file, one class name per line (default: names in the model's metadata, else class<N>)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("model-format", ModelFormat::Auto)
                    .nick("Model format")
                    .blurb("Output layout and pre-processing of the model family")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("conf-threshold")
                    .nick("Confidence threshold")
                    .blurb("Minimum confidence of a detection")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_CONF_THRESHOLD)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("class-thresholds")
                    .nick("Per-class thresholds")
                    .blurb("Per-class confidence thresholds overriding conf-threshold, e.g. person:0.4,car:0.6")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("iou-threshold")
                    .nick("IoU threshold")
                    .blurb("Non-maximum suppression IoU threshold")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_IOU_THRESHOLD)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("max-detections")
                    .nick("Maximum detections")
                    .blurb("Maximum number of objects per frame after NMS")
                    .minimum(1)
                    .maximum(100_000)
                    .default_value(DEFAULT_MAX_DETECTIONS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("classes")
                    .nick("Classes")
                    .blurb("Keep only these labels (comma-separated names or ids); empty keeps all")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("agnostic-nms")
                    .nick("Class-agnostic NMS")
                    .blurb("Suppress overlapping boxes across classes")
                    .default_value(false)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("interval")
                    .nick("Interval")
                    .blurb("Run inference on every Nth frame (1 = every frame); other frames are marked not inferred")
                    .minimum(1)
                    .maximum(10_000)
                    .default_value(DEFAULT_INTERVAL)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("threads")
                    .nick("Threads")
                    .blurb("ONNX Runtime intra-op threads (0 = ONNX Runtime's default, one per physical core)")
                    .maximum(256)
                    .default_value(DEFAULT_THREADS)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("provider", Provider::Cpu)
                    .nick("Execution provider")
                    .blurb("Where ONNX Runtime runs the model; falls back to CPU with a warning when unavailable")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("mode", Mode::Auto)
                    .nick("Mode")
                    .blurb("sync: the video waits for each inference; live: inference off the streaming thread, \
                            frames arriving while the model is busy pass uninferred; auto: live when upstream is live")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("model-instance-id")
                    .nick("Model instance id")
                    .blurb("Elements with the same id share one loaded model, session and thread pool (same model, threads, provider, \
                            model-format, batch-size, batch-timeout)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("batch-size")
                    .nick("Batch size")
                    .blurb("Live mode: the model instance runs up to this many frames of distinct streams \
                            (elements sharing model-instance-id) in one call; needs a model with a dynamic \
                            batch dimension, or one fixed at this size. Same value on every element of an id")
                    .minimum(1)
                    .maximum(MAX_BATCH_SIZE)
                    .default_value(DEFAULT_BATCH_SIZE)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("batch-timeout")
                    .nick("Batch timeout")
                    .blurb("Live mode, batch-size > 1: how long the model instance may wait for more streams' \
                            frames to fill a batch, ms (0: take what is waiting, never wait). Same value on \
                            every element of an id; reported in the latency")
                    .maximum(MAX_BATCH_TIMEOUT_MS)
                    .default_value(DEFAULT_BATCH_TIMEOUT_MS)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("prefetch")
                    .nick("Prefetch")
                    .blurb("Live mode: pre-process the next frame while the model runs the current one, so that \
                            the model takes it as soon as it is done; off: a frame goes only when the model is \
                            done with this stream's previous one")
                    .default_value(DEFAULT_PREFETCH)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("live-latency")
                    .nick("Live latency")
                    .blurb("Latency this element reports in live mode, ms (0 in sync mode)")
                    .minimum(0.0)
                    .read_only()
                    .build(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("instance-stats")
                    .nick("Model instance statistics")
                    .blurb("Of the model instance, all its streams together: inferences, inferences-per-second, \
                            batches (model calls), mean-batch-size, mean-queue-wait-ms, max-queue-wait-ms, streams, \
                            busy-fraction (share of the time the model ran)")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt64::builder("frames-inferred")
                    .nick("Frames inferred")
                    .blurb("Frames the model ran on since the element started")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt64::builder("frames-skipped")
                    .nick("Frames skipped")
                    .blurb("Frames passed without inference (interval or skip-inference marker)")
                    .read_only()
                    .build(),
                glib::ParamSpecDouble::builder("mean-latency")
                    .nick("Mean latency")
                    .blurb("Mean pre-processing + inference + post-processing time per inferred frame, ms")
                    .minimum(0.0)
                    .read_only()
                    .build(),
                glib::ParamSpecDouble::builder("last-latency")
                    .nick("Last latency")
                    .blurb("Latency of the last inferred frame, ms")
                    .minimum(0.0)
                    .read_only()
                    .build(),
            ]
            .into_iter()
            .chain(meta::meta_output_properties())
            .collect()
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = self.settings.lock().unwrap_or_else(|e| e.into_inner());
        match pspec.name() {
            "model" => {
                s.model = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .unwrap_or_default()
            }
            "labels" => {
                s.labels = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .unwrap_or_default()
            }
            "model-format" => s.model_format = value.get().unwrap_or_default(),
            "conf-threshold" => s.conf_threshold = value.get().unwrap_or(DEFAULT_CONF_THRESHOLD),
            "class-thresholds" => {
                s.class_thresholds = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .unwrap_or_default()
            }
            "iou-threshold" => s.iou_threshold = value.get().unwrap_or(DEFAULT_IOU_THRESHOLD),
            "max-detections" => s.max_detections = value.get().unwrap_or(DEFAULT_MAX_DETECTIONS),
            "classes" => {
                s.classes = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .unwrap_or_default()
            }
            "agnostic-nms" => s.agnostic_nms = value.get().unwrap_or(false),
            "interval" => s.interval = value.get().unwrap_or(DEFAULT_INTERVAL),
            "threads" => s.threads = value.get().unwrap_or(DEFAULT_THREADS),
            "provider" => s.provider = value.get().unwrap_or_default(),
            meta::META_OUTPUT_PROPERTY => s.meta_output = value.get().unwrap_or_default(),
            "mode" => s.mode = value.get().unwrap_or_default(),
            "model-instance-id" => {
                s.model_instance_id = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .unwrap_or_default()
            }
            "batch-size" => s.batch_size = value.get().unwrap_or(DEFAULT_BATCH_SIZE),
            "batch-timeout" => s.batch_timeout_ms = value.get().unwrap_or(DEFAULT_BATCH_TIMEOUT_MS),
            "prefetch" => s.prefetch = value.get().unwrap_or(DEFAULT_PREFETCH),
            other => gst::warning!(CAT, imp = self, "unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = self
            .settings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let stats = *self.stats.lock().unwrap_or_else(|e| e.into_inner());
        let opt = |v: &str| {
            if v.is_empty() {
                None
            } else {
                Some(v.to_string())
            }
        };
        match pspec.name() {
            "model" => opt(&s.model).to_value(),
            "labels" => opt(&s.labels).to_value(),
            "model-format" => s.model_format.to_value(),
            "conf-threshold" => s.conf_threshold.to_value(),
            "class-thresholds" => opt(&s.class_thresholds).to_value(),
            "iou-threshold" => s.iou_threshold.to_value(),
            "max-detections" => s.max_detections.to_value(),
            "classes" => opt(&s.classes).to_value(),
            "agnostic-nms" => s.agnostic_nms.to_value(),
            "interval" => s.interval.to_value(),
            "threads" => s.threads.to_value(),
            "provider" => s.provider.to_value(),
            meta::META_OUTPUT_PROPERTY => s.meta_output.to_value(),
            "mode" => s.mode.to_value(),
            "model-instance-id" => opt(&s.model_instance_id).to_value(),
            "batch-size" => s.batch_size.to_value(),
            "batch-timeout" => s.batch_timeout_ms.to_value(),
            "prefetch" => s.prefetch.to_value(),
            "live-latency" => (self.own_latency_ns() as f64 / 1e6).to_value(),
            "instance-stats" => {
                let st = lock(&self.state).as_ref().map(|s| s.instance.stats());
                st.map(|st| {
                    gst::Structure::builder("instance-stats")
                        .field("inferences", st.inferences)
                        .field("inferences-per-second", st.inferences_per_s())
                        .field("batches", st.batches)
                        .field("mean-batch-size", st.mean_batch())
                        .field("mean-queue-wait-ms", st.mean_queue_wait_ms())
                        .field("max-queue-wait-ms", st.max_queue_wait_ms)
                        .field("streams", st.streams as u32)
                        .field("busy-fraction", st.busy_fraction())
                        .build()
                })
                .to_value()
            }
            "frames-inferred" => stats.frames_inferred.to_value(),
            "frames-skipped" => stats.frames_skipped.to_value(),
            "mean-latency" => {
                let n = stats.frames_inferred.max(1) as f64;
                (stats.total_latency_ms / n).to_value()
            }
            "last-latency" => stats.last_latency_ms.to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl GstObjectImpl for EdgeDetect {}

impl ElementImpl for EdgeDetect {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Edge AI object detector",
                "Filter/Analyzer/Video",
                "Detects objects with a YOLO-family ONNX model (YOLOX, YOLOv5, YOLOv8/11, YOLOv10/26) \
                 and attaches them as region-of-interest metadata",
                "gst-plugin-edgeai developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            crate::video::filter_pad_templates(&crate::video::supported_video_caps())
        });
        PAD_TEMPLATES.as_ref()
    }

    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::ReadyToPaused
            && let Err(e) = self.start()
        {
            self.post_error_message(e);
            return Err(gst::StateChangeError);
        }
        let ret = self.parent_change_state(transition);
        if transition == gst::StateChange::PausedToReady {
            self.stop();
        }
        ret
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ["person", "bicycle", "car"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn class_thresholds_and_classes_parse() {
        let s = Settings {
            conf_threshold: 0.3,
            class_thresholds: "person:0.4, 2:0.6".into(),
            classes: "person,car".into(),
            ..Default::default()
        };
        let (post, warnings) = build_filters(&s, &labels());
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(post.class_thresholds, vec![0.4, 0.3, 0.6]);
        assert_eq!(post.keep_classes, Some(vec![true, false, true]));
    }

    #[test]
    fn bad_entries_warn_and_are_ignored() {
        let s = Settings {
            conf_threshold: 0.3,
            class_thresholds: "dog:0.4,person:2,car".into(),
            classes: "person,unicorn".into(),
            ..Default::default()
        };
        let (post, warnings) = build_filters(&s, &labels());
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert_eq!(post.class_thresholds, vec![0.3, 0.3, 0.3]);
        assert_eq!(post.keep_classes, Some(vec![true, false, false]));
    }
}
