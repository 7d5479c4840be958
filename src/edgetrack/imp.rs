// SPDX-License-Identifier: MPL-2.0

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;

use super::{TRACK_MESSAGE_NAME, TrackerAlgorithm};
use crate::meta;
use crate::tracker::timeline::{self, Step, Timeline};
use crate::tracker::{BoxDet, TrackEvent, Tracker, TrackerConfig};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "edgetrack",
        gst::DebugColorFlags::empty(),
        Some("Edge AI multi-object tracker"),
    )
});

const DEFAULT_ALGORITHM: TrackerAlgorithm = TrackerAlgorithm::ByteTrack;
const DEFAULT_TRACK_HIGH_THRESH: f64 = 0.5;
const DEFAULT_TRACK_LOW_THRESH: f64 = 0.1;
const DEFAULT_NEW_TRACK_THRESH: f64 = 0.6;
const DEFAULT_MATCH_THRESH: f64 = 0.8;
const DEFAULT_TRACK_BUFFER: u32 = 30;
/// 10000 frames at 30 fps: 5.5 minutes.
const MAX_TRACK_BUFFER: u32 = 10_000;
const DEFAULT_MIN_BOX_AREA: f64 = 0.0;
const DEFAULT_PER_CLASS: bool = true;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Settings {
    algorithm: TrackerAlgorithm,
    track_high_thresh: f64,
    track_low_thresh: f64,
    new_track_thresh: f64,
    match_thresh: f64,
    /// Frames at 30 fps.
    track_buffer: u32,
    min_box_area: f64,
    per_class: bool,
    meta_output: meta::MetaOutput,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            algorithm: DEFAULT_ALGORITHM,
            track_high_thresh: DEFAULT_TRACK_HIGH_THRESH,
            track_low_thresh: DEFAULT_TRACK_LOW_THRESH,
            new_track_thresh: DEFAULT_NEW_TRACK_THRESH,
            match_thresh: DEFAULT_MATCH_THRESH,
            track_buffer: DEFAULT_TRACK_BUFFER,
            min_box_area: DEFAULT_MIN_BOX_AREA,
            per_class: DEFAULT_PER_CLASS,
            meta_output: meta::MetaOutput::default(),
        }
    }
}

impl Settings {
    /// The tracker's configuration for a stream at `fps` frames per second.
    fn config(&self, fps: Option<f64>) -> TrackerConfig {
        TrackerConfig {
            algorithm: self.algorithm.into(),
            track_high_thresh: self.track_high_thresh as f32,
            track_low_thresh: self.track_low_thresh as f32,
            new_track_thresh: self.new_track_thresh as f32,
            match_thresh: self.match_thresh as f32,
            track_buffer_frames: timeline::buffer_frames(self.track_buffer, fps),
            min_box_area: self.min_box_area as f32,
            per_class: self.per_class,
        }
    }
}

/// What the element knows about a track besides the tracker's state: the
/// label and class id of its latest detection, for predicted boxes and
/// messages.
#[derive(Debug, Clone)]
struct TrackLabel {
    label: String,
    label_id: i32,
    /// Running times of the first and the latest matched detection.
    seen: (Option<gst::ClockTime>, Option<gst::ClockTime>),
}

/// A message to post once no lock is held.
#[derive(Debug, Clone)]
struct TrackMessage {
    event: &'static str,
    reason: Option<&'static str>,
    track_id: u64,
    label: String,
    label_id: i32,
    running_time: Option<gst::ClockTime>,
    bbox: [f64; 4],
}

impl TrackMessage {
    fn structure(&self) -> gst::Structure {
        let mut b = gst::Structure::builder(TRACK_MESSAGE_NAME)
            .field("event", self.event)
            .field("track_id", self.track_id)
            .field("label", self.label.as_str())
            .field("label_id", self.label_id)
            .field("running-time", self.running_time)
            .field("x1", self.bbox[0])
            .field("y1", self.bbox[1])
            .field("x2", self.bbox[2])
            .field("y2", self.bbox[3]);
        if let Some(r) = self.reason {
            b = b.field("reason", r);
        }
        b.build()
    }
}

/// Why tracks ended, the `reason` field of `lost` messages.
mod reason {
    pub const EXPIRED: &str = "expired";
    pub const GAP: &str = "gap";
    pub const FLUSH: &str = "flush";
    pub const STREAM_START: &str = "stream-start";
    pub const EOS: &str = "eos";
}

struct State {
    tracker: Tracker,
    width: u32,
    height: u32,
    /// Negotiated frame rate; `None` when absent or variable (0/1).
    fps: Option<f64>,
    segment: gst::FormattedSegment<gst::ClockTime>,
    timeline: Timeline,
    /// Label → class id used for association (`per-class`): producers that
    /// give no class id (`label_id` −1) still keep classes apart.
    classes: HashMap<String, i32>,
    tracks: HashMap<u64, TrackLabel>,
    last_running_time: Option<gst::ClockTime>,
    /// Settings the tracker was configured from, and the frame rate.
    configured: Option<(Settings, Option<f64>)>,
}

impl State {
    fn new(settings: &Settings) -> Self {
        State {
            tracker: Tracker::new(settings.config(None)),
            width: 0,
            height: 0,
            fps: None,
            segment: gst::FormattedSegment::new(),
            timeline: Timeline::new(),
            classes: HashMap::new(),
            tracks: HashMap::new(),
            last_running_time: None,
            configured: None,
        }
    }

    fn class_of(&mut self, label: &str) -> i32 {
        if let Some(&c) = self.classes.get(label) {
            return c;
        }
        let c = i32::try_from(self.classes.len()).unwrap_or(i32::MAX);
        self.classes.insert(label.to_string(), c);
        c
    }

    /// Turns the tracker's pending events into messages.
    fn drain_events(
        &mut self,
        running_time: Option<gst::ClockTime>,
        lost_reason: &'static str,
        out: &mut Vec<TrackMessage>,
    ) {
        for e in self.tracker.take_events() {
            let (event, reason, track_id, b) = match e {
                TrackEvent::New {
                    track_id,
                    x1,
                    y1,
                    x2,
                    y2,
                    ..
                } => ("new", None, track_id, [x1, y1, x2, y2]),
                TrackEvent::Lost {
                    track_id,
                    x1,
                    y1,
                    x2,
                    y2,
                    ..
                } => ("lost", Some(lost_reason), track_id, [x1, y1, x2, y2]),
            };
            let info = if event == "lost" {
                self.tracks.remove(&track_id)
            } else {
                self.tracks.get(&track_id).cloned()
            };
            let info = info.unwrap_or_else(|| TrackLabel {
                label: String::new(),
                label_id: -1,
                seen: (None, None),
            });
            out.push(TrackMessage {
                event,
                reason,
                track_id,
                label: info.label,
                label_id: info.label_id,
                running_time,
                bbox: b.map(f64::from),
            });
        }
    }

    /// Ends every track (with `lost` messages) and forgets the timeline.
    fn end_all(&mut self, reason: &'static str, out: &mut Vec<TrackMessage>) {
        self.tracker.end_all();
        let rt = self.last_running_time;
        self.drain_events(rt, reason, out);
        self.tracks.clear();
        self.timeline.reset();
    }
}

#[derive(Default)]
pub struct EdgeTrack {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    tracks_alive: AtomicU32,
    tracks_total: AtomicU64,
}

impl EdgeTrack {
    fn post(&self, messages: Vec<TrackMessage>) {
        for m in messages {
            if m.event == "new" {
                self.tracks_total.fetch_add(1, Ordering::Relaxed);
            }
            let msg = gst::message::Element::builder(m.structure())
                .src(&*self.obj())
                .build();
            if self.obj().post_message(msg).is_err() {
                gst::trace!(CAT, imp = self, "no bus for the track message");
            }
        }
    }

    /// Ends every track from an event handler (flush, new stream, EOS).
    fn end_all(&self, reason: &'static str, reset_segment: bool) {
        let mut messages = Vec::new();
        if let Some(state) = lock(&self.state).as_mut() {
            state.end_all(reason, &mut messages);
            if reset_segment {
                state.segment = gst::FormattedSegment::new();
                state.last_running_time = None;
            }
            self.tracks_alive
                .store(state.tracker.live_tracks() as u32, Ordering::Relaxed);
        }
        gst::debug!(CAT, imp = self, "{reason}: ended {} tracks", messages.len());
        self.post(messages);
    }
}

/// Detector objects as tracker input. Boxes are converted to `f32`; the
/// tracker drops the invalid ones (NaN, infinite, zero or negative size).
fn detections(state: &mut State, objects: &[meta::Object]) -> Vec<BoxDet> {
    objects
        .iter()
        .enumerate()
        .map(|(index, o)| BoxDet {
            x1: o.x1 as f32,
            y1: o.y1 as f32,
            x2: o.x2 as f32,
            y2: o.y2 as f32,
            score: o.confidence as f32,
            class_id: state.class_of(&o.label),
            index,
        })
        .collect()
}

#[glib::object_subclass]
impl ObjectSubclass for EdgeTrack {
    const NAME: &'static str = "GstEdgeTrack";
    type Type = super::EdgeTrack;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for EdgeTrack {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecEnum::builder_with_default("tracker", DEFAULT_ALGORITHM)
                    .nick("Tracker")
                    .blurb("Association algorithm; can change while playing (tracks and ids are kept)")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("track-high-thresh")
                    .nick("High score threshold")
                    .blurb("Detections with at least this confidence take part in the first association (the only one for sort and iou)")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_TRACK_HIGH_THRESH)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("track-low-thresh")
                    .nick("Low score threshold")
                    .blurb("bytetrack: detections between this and track-high-thresh are matched to tracks the first association left over; lower ones are ignored")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_TRACK_LOW_THRESH)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("new-track-thresh")
                    .nick("New track threshold")
                    .blurb("Minimum confidence of an unmatched detection to start a track")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_NEW_TRACK_THRESH)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("match-thresh")
                    .nick("Match threshold")
                    .blurb("bytetrack: maximum cost 1 - IoU x confidence of a match in the first association")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_MATCH_THRESH)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("track-buffer")
                    .nick("Track buffer")
                    .blurb("How long a track is kept without detections, in frames at 30 fps (converted with the stream's frame rate: 30 = 1 s)")
                    .maximum(MAX_TRACK_BUFFER)
                    .default_value(DEFAULT_TRACK_BUFFER)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("min-box-area")
                    .nick("Minimum box area")
                    .blurb("Detections with a smaller box (square pixels) are not tracked (0 = no limit)")
                    .minimum(0.0)
                    .default_value(DEFAULT_MIN_BOX_AREA)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("per-class")
                    .nick("Per class")
                    .blurb("Never match a detection to a track of another label")
                    .default_value(DEFAULT_PER_CLASS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("tracks-alive")
                    .nick("Tracks alive")
                    .blurb("Confirmed tracks currently alive (tracked, or lost and still within track-buffer)")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt64::builder("tracks-total")
                    .nick("Tracks total")
                    .blurb("Track ids given out since the element started")
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
        let mut s = lock(&self.settings);
        match pspec.name() {
            "tracker" => s.algorithm = value.get().unwrap_or(DEFAULT_ALGORITHM),
            "track-high-thresh" => {
                s.track_high_thresh = value.get().unwrap_or(DEFAULT_TRACK_HIGH_THRESH)
            }
            "track-low-thresh" => {
                s.track_low_thresh = value.get().unwrap_or(DEFAULT_TRACK_LOW_THRESH)
            }
            "new-track-thresh" => {
                s.new_track_thresh = value.get().unwrap_or(DEFAULT_NEW_TRACK_THRESH)
            }
            "match-thresh" => s.match_thresh = value.get().unwrap_or(DEFAULT_MATCH_THRESH),
            "track-buffer" => s.track_buffer = value.get().unwrap_or(DEFAULT_TRACK_BUFFER),
            "min-box-area" => s.min_box_area = value.get().unwrap_or(DEFAULT_MIN_BOX_AREA),
            "per-class" => s.per_class = value.get().unwrap_or(DEFAULT_PER_CLASS),
            meta::META_OUTPUT_PROPERTY => s.meta_output = value.get().unwrap_or_default(),
            other => gst::warning!(CAT, imp = self, "unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = *lock(&self.settings);
        match pspec.name() {
            "tracker" => s.algorithm.to_value(),
            "track-high-thresh" => s.track_high_thresh.to_value(),
            "track-low-thresh" => s.track_low_thresh.to_value(),
            "new-track-thresh" => s.new_track_thresh.to_value(),
            "match-thresh" => s.match_thresh.to_value(),
            "track-buffer" => s.track_buffer.to_value(),
            "min-box-area" => s.min_box_area.to_value(),
            "per-class" => s.per_class.to_value(),
            meta::META_OUTPUT_PROPERTY => s.meta_output.to_value(),
            "tracks-alive" => self.tracks_alive.load(Ordering::Relaxed).to_value(),
            "tracks-total" => self.tracks_total.load(Ordering::Relaxed).to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl GstObjectImpl for EdgeTrack {}

impl ElementImpl for EdgeTrack {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Edge AI object tracker",
                "Filter/Analyzer/Video",
                "Tracks detected objects across frames (ByteTrack, SORT or IoU), writes track ids onto \
                 their region-of-interest metadata and adds predicted boxes on frames without inference",
                "gst-plugin-edgeai developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        // Pixels are never read: any raw video, in any memory.
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(|| crate::video::filter_pad_templates(&crate::video::any_video_caps()));
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for EdgeTrack {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = *lock(&self.settings);
        *lock(&self.state) = Some(State::new(&settings));
        self.tracks_alive.store(0, Ordering::Relaxed);
        self.tracks_total.store(0, Ordering::Relaxed);
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *lock(&self.state) = None;
        self.tracks_alive.store(0, Ordering::Relaxed);
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let s = incaps
            .structure(0)
            .ok_or_else(|| gst::loggable_error!(CAT, "empty caps"))?;
        let width = s.get::<i32>("width").unwrap_or(0);
        let height = s.get::<i32>("height").unwrap_or(0);
        if width <= 0 || height <= 0 {
            return Err(gst::loggable_error!(
                CAT,
                "caps without a frame size: {incaps}"
            ));
        }
        let fps = s
            .get::<gst::Fraction>("framerate")
            .ok()
            .filter(|f| f.numer() > 0 && f.denom() > 0)
            .map(|f| f64::from(f.numer()) / f64::from(f.denom()));
        let mut guard = lock(&self.state);
        let state = guard
            .as_mut()
            .ok_or_else(|| gst::loggable_error!(CAT, "caps before start"))?;
        let (width, height) = (width as u32, height as u32);
        if state.width > 0 && (state.width, state.height) != (width, height) {
            // Tracks live in pixels: scale them to the new frame size so
            // they keep their ids (see docs/edgetrack.md).
            let sx = width as f32 / state.width as f32;
            let sy = height as f32 / state.height as f32;
            state.tracker.rescale(sx, sy);
            gst::debug!(
                CAT,
                imp = self,
                "frame size {}x{} -> {width}x{height}: tracks scaled by {sx} x {sy}",
                state.width,
                state.height
            );
        }
        state.width = width;
        state.height = height;
        state.fps = fps;
        gst::debug!(CAT, imp = self, "caps {incaps}, fps {fps:?}");
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::FlushStop(_) => self.end_all(reason::FLUSH, true),
            gst::EventView::StreamStart(_) => self.end_all(reason::STREAM_START, false),
            gst::EventView::Eos(_) => self.end_all(reason::EOS, false),
            gst::EventView::Segment(e) => match e.segment().downcast_ref::<gst::ClockTime>() {
                Some(segment) => {
                    if let Some(state) = lock(&self.state).as_mut() {
                        state.segment = segment.clone();
                    }
                }
                None => gst::debug!(
                    CAT,
                    imp = self,
                    "segment not in time format: timestamps are taken as running times"
                ),
            },
            _ => {}
        }
        self.parent_sink_event(event)
    }

    fn propose_allocation(
        &self,
        decide_query: Option<&gst::query::Allocation>,
        query: &mut gst::query::Allocation,
    ) -> Result<(), gst::LoggableError> {
        query.add_allocation_meta::<gst_video::VideoMeta>(None);
        self.parent_propose_allocation(decide_query, query)
    }

    fn transform_ip(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = *lock(&self.settings);
        let detector_frame = meta::frame_info(buf).inferred != Some(false);
        let mut messages = Vec::new();
        let mut bad_thresholds = false;
        {
            let mut guard = lock(&self.state);
            let Some(state) = guard.as_mut() else {
                return Err(gst::FlowError::Flushing);
            };
            if state.width == 0 {
                drop(guard);
                gst::element_imp_error!(self, gst::CoreError::Negotiation, ("buffer before caps"));
                return Err(gst::FlowError::NotNegotiated);
            }
            let (width, height) = (state.width, state.height);

            let cfg = settings.config(state.fps);
            if state.configured != Some((settings, state.fps)) {
                bad_thresholds = settings.track_low_thresh > settings.track_high_thresh
                    && state
                        .configured
                        .is_none_or(|(s, _)| s.track_low_thresh <= s.track_high_thresh);
                state.tracker.set_config(cfg);
                state.configured = Some((settings, state.fps));
                gst::debug!(CAT, imp = self, "tracker configuration {cfg:?}");
            }

            let pts = buf.pts();
            let running_time = state.segment.to_running_time(pts).or(pts);
            if running_time.is_some() {
                state.last_running_time = running_time;
            }
            let frame_ns = state
                .fps
                .map(|f| (1e9 / f).round() as u64)
                .or_else(|| buf.duration().map(gst::ClockTime::nseconds));
            let step = state.timeline.step(
                running_time.map(gst::ClockTime::nseconds),
                frame_ns,
                cfg.track_buffer_frames,
                timeline::buffer_duration_ns(settings.track_buffer),
            );
            match step {
                Step::Gap { elapsed_ns } => {
                    gst::debug!(
                        CAT,
                        imp = self,
                        "{} ms without frames: ending every track",
                        elapsed_ns / 1_000_000
                    );
                    state.tracker.end_all();
                    state.drain_events(running_time, reason::GAP, &mut messages);
                }
                Step::Next { missed } => {
                    // Frames dropped upstream: predict through them so the
                    // motion model stays in pixels per frame.
                    for _ in 0..missed {
                        state.tracker.predict_only();
                    }
                }
            }

            if detector_frame {
                let objects = meta::objects(buf, width, height);
                let dets = detections(state, &objects);
                let out = state.tracker.update(&dets);
                let mut writes = HashMap::with_capacity(out.len());
                for o in &out {
                    let Some((i, obj)) = o.det_index.and_then(|i| Some((i, objects.get(i)?)))
                    else {
                        continue;
                    };
                    let first = state.tracks.get(&o.track_id).and_then(|t| t.seen.0);
                    let seen = (first.or(running_time), running_time);
                    state.tracks.insert(
                        o.track_id,
                        TrackLabel {
                            label: obj.label.clone(),
                            label_id: obj.class_id,
                            seen,
                        },
                    );
                    writes.insert(
                        i,
                        meta::Tracking {
                            track_id: o.track_id,
                            age: o.age,
                            tracked: true,
                            vx: f64::from(o.vx),
                            vy: f64::from(o.vy),
                            first_seen: seen.0,
                            last_seen: seen.1,
                        },
                    );
                }
                meta::set_trackings_to(buf, &writes, width, height, settings.meta_output);
                gst::trace!(
                    CAT,
                    imp = self,
                    "detector frame: {} objects, {} tracked",
                    objects.len(),
                    out.len()
                );
            } else {
                let out = state.tracker.predict_only();
                let (w, h) = (f64::from(width), f64::from(height));
                let mut predicted = Vec::with_capacity(out.len());
                for o in &out {
                    let b = [o.x1, o.y1, o.x2, o.y2].map(f64::from);
                    // A predicted box that left the frame entirely is not
                    // drawn (the track lives on until it expires).
                    if !(b[2] > 0.0 && b[0] < w && b[3] > 0.0 && b[1] < h) {
                        continue;
                    }
                    let (label, label_id, seen) = match state.tracks.get(&o.track_id) {
                        Some(t) => (t.label.as_str(), t.label_id, t.seen),
                        None => ("", -1, (None, None)),
                    };
                    let mut obj = meta::Object::new(label, label_id, f64::from(o.score), b);
                    obj.track_id = Some(o.track_id);
                    obj.tracking = Some(meta::Tracking {
                        track_id: o.track_id,
                        age: o.age,
                        tracked: false,
                        vx: f64::from(o.vx),
                        vy: f64::from(o.vy),
                        first_seen: seen.0,
                        last_seen: seen.1,
                    });
                    predicted.push(obj);
                }
                let added =
                    meta::add_objects_to(buf, &predicted, width, height, settings.meta_output);
                gst::trace!(CAT, imp = self, "skipped frame: {added} predicted boxes");
            }
            state.drain_events(running_time, reason::EXPIRED, &mut messages);
            self.tracks_alive
                .store(state.tracker.live_tracks() as u32, Ordering::Relaxed);
        }

        if bad_thresholds {
            gst::element_imp_warning!(
                self,
                gst::LibraryError::Settings,
                ("track-low-thresh is above track-high-thresh: low-score detections are not used; set track-low-thresh below track-high-thresh")
            );
        }
        self.post(messages);
        Ok(gst::FlowSuccess::Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_map_to_the_tracker_config() {
        let s = Settings::default();
        let c = s.config(Some(10.0));
        assert_eq!(c.algorithm, crate::tracker::Algorithm::ByteTrack);
        assert_eq!(
            (
                c.track_high_thresh,
                c.track_low_thresh,
                c.new_track_thresh,
                c.match_thresh
            ),
            (0.5, 0.1, 0.6, 0.8)
        );
        // 30 frames at 30 fps = 1 s = 10 frames at 10 fps.
        assert_eq!(c.track_buffer_frames, 10);
        assert_eq!(s.config(None).track_buffer_frames, 30);
        assert_eq!(s.config(Some(60.0)).track_buffer_frames, 60);
        // The library's defaults are ByteTrack's; so are the element's.
        let lib = TrackerConfig::default();
        assert_eq!(s.config(Some(30.0)), lib);
    }
}
