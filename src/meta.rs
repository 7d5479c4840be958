// SPDX-License-Identifier: MPL-2.0
//! The one module that reads and writes the plugin's buffer metadata.
//!
//! Objects are `GstVideoRegionOfInterestMeta`s, one per object, laid out the way
//! DL Streamer lays them out, so that its elements (`gvawatermark`,
//! `gvametaconvert`, `gvatrack`) read ours and ours read theirs:
//!
//! - `roi_type`: the label (`person`), `x y w h`: the box in frame pixels;
//! - a `detection` parameter structure: `x_min y_min x_max y_max` (double,
//!   normalised to 0..1), `confidence` (double), `label_id` (int) and, our
//!   addition, `label` (string);
//! - an `object_id` parameter structure with an int field `id`: the track
//!   identity, exactly as `gvatrack` writes it;
//! - a `tracking` parameter structure written by `edgetrack` (see its docs);
//! - a `zones` parameter structure written by `edgezones` ([`ObjectZones`]).
//!
//! Per-frame facts travel in one custom meta named [`FRAME_META_NAME`]
//! (`gst_buffer_get_custom_meta (buf, "EdgeAIFrameMeta")` from C) whose
//! structure, named `edgeai-frame`, may hold:
//!
//! | field | type | written by | meaning |
//! |---|---|---|---|
//! | `inferred` | boolean | `edgedetect` | inference ran on this frame (false: the objects, if any, are not fresh detections) |
//! | `skip-inference` | boolean | `thermalgate`, any element | ask detectors downstream not to run on this frame |
//! | `inference-latency-ms` | double | `edgedetect` | this frame's pre-processing + inference + post-processing time |
//! | `temperature` | double | `thermalgate` | SoC temperature in °C at the last poll |
//! | `throttle-factor` | double | `thermalgate` | share of frames currently allowed to run inference |
//! | `zones` | array of `zone` structures | `edgezones` | the zone counters ([`ZoneCounter`]) |
//!
//! The custom meta carries no tags, so converters and scalers keep it.
//!
//! With the cargo feature `v1_24`, objects are also written to and read from
//! GStreamer's own analytics metadata (`GstAnalyticsRelationMeta`: one
//! object-detection Mtd per object, a tracking Mtd related to it), in the
//! `analytics` submodule; which kinds an element writes is its `meta-output` property
//! ([`MetaOutput`]). Readers see one list of objects whichever kinds the
//! buffer carries: an object present in both (linked by the `analytics`
//! parameter structure of its ROI meta, field `od_id`: the OD Mtd's id) is
//! listed once. See docs/metadata.md for the mapping.

use gst::glib;
use gst::prelude::*;
use gst_video::VideoRegionOfInterestMeta;

#[cfg(feature = "v1_24")]
pub mod analytics;
mod zone_events;
pub use zone_events::{
    FrameZoneEvent, ZONE_EVENT_STRUCTURE, ZONE_EVENTS_FIELD, add_zone_events, zone_events,
};

/// Name of the custom meta that carries per-frame facts.
pub const FRAME_META_NAME: &str = "EdgeAIFrameMeta";
/// Name of the structure inside [`FRAME_META_NAME`].
pub const FRAME_STRUCTURE_NAME: &str = "edgeai-frame";
/// DL Streamer's detection parameter structure.
pub const DETECTION_PARAM: &str = "detection";
/// DL Streamer's track identity parameter structure (`gvatrack`).
pub const OBJECT_ID_PARAM: &str = "object_id";
/// `edgetrack`'s tracking parameter structure.
pub const TRACKING_PARAM: &str = "tracking";
/// Parameter structure linking a ROI meta to the object-detection Mtd of the
/// same object in the buffer's `GstAnalyticsRelationMeta` (field `od_id`,
/// uint). Written only by builds with the `v1_24` feature.
pub const ANALYTICS_PARAM: &str = "analytics";

/// Which metadata kinds an element writes its objects to: the `meta-output`
/// property of `edgedetect` and `edgetrack` (builds with the `v1_24` feature;
/// without it only ROI metas exist and the setting is ignored).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, glib::Enum)]
#[enum_type(name = "GstEdgeAIMetaOutput")]
pub enum MetaOutput {
    /// ROI metas (DL Streamer's layout) and GStreamer's analytics relation meta.
    #[default]
    #[enum_value(
        name = "Both: ROI metas (DL Streamer layout) and GstAnalyticsRelationMeta",
        nick = "both"
    )]
    Both,
    /// `GstVideoRegionOfInterestMeta` only.
    #[enum_value(name = "ROI: GstVideoRegionOfInterestMeta only", nick = "roi")]
    Roi,
    /// `GstAnalyticsRelationMeta` only.
    #[enum_value(name = "Analytics: GstAnalyticsRelationMeta only", nick = "analytics")]
    Analytics,
}

impl MetaOutput {
    /// Whether ROI metas are written (always, without the `v1_24` feature).
    pub fn roi(self) -> bool {
        !cfg!(feature = "v1_24") || self != MetaOutput::Analytics
    }

    /// Whether the analytics relation meta is written (never without `v1_24`).
    pub fn analytics(self) -> bool {
        cfg!(feature = "v1_24") && self != MetaOutput::Roi
    }
}

/// Name of the [`MetaOutput`] property.
pub const META_OUTPUT_PROPERTY: &str = "meta-output";

/// The `meta-output` property for elements that write objects: one
/// ParamSpec with the `v1_24` feature, none without it (the default build's
/// elements keep their property list).
pub fn meta_output_properties() -> Vec<glib::ParamSpec> {
    if !cfg!(feature = "v1_24") {
        return Vec::new();
    }
    vec![
        glib::ParamSpecEnum::builder_with_default(META_OUTPUT_PROPERTY, MetaOutput::default())
            .nick("Metadata output")
            .blurb(
                "Which metadata the objects are written to: ROI metas (DL Streamer layout), \
                 GStreamer's analytics relation meta, or both",
            )
            .mutable_playing()
            .build(),
    ]
}

/// Registers the custom meta. Called from `plugin_init`; harmless to call twice.
pub fn register() {
    // Once per process: two threads checking and registering at the same
    // time (parallel tests) would register the meta API twice, a GLib critical.
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if !gst::meta::CustomMeta::is_registered(FRAME_META_NAME) {
            gst::meta::CustomMeta::register(FRAME_META_NAME, &[]);
        }
    });
}

/// Per-frame facts carried in the [`FRAME_META_NAME`] custom meta.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameInfo {
    /// `Some(true)` when a detector ran on this frame, `Some(false)` when one
    /// saw the frame and skipped it, `None` when no detector saw it.
    pub inferred: Option<bool>,
    /// Set upstream (e.g. by `thermalgate`) to ask detectors to skip this frame.
    pub skip_inference: bool,
    pub inference_latency_ms: Option<f64>,
    pub temperature: Option<f64>,
    pub throttle_factor: Option<f64>,
}

/// Reads the per-frame facts; an absent meta gives the default.
pub fn frame_info(buffer: &gst::BufferRef) -> FrameInfo {
    let Ok(meta) = gst::meta::CustomMeta::from_buffer(buffer, FRAME_META_NAME) else {
        return FrameInfo::default();
    };
    let s = meta.structure();
    FrameInfo {
        inferred: s.get::<bool>("inferred").ok(),
        skip_inference: s.get::<bool>("skip-inference").unwrap_or(false),
        inference_latency_ms: s.get::<f64>("inference-latency-ms").ok(),
        temperature: s.get::<f64>("temperature").ok(),
        throttle_factor: s.get::<f64>("throttle-factor").ok(),
    }
}

/// Reads, changes and writes back the per-frame facts, adding the meta if needed.
/// Fields other elements wrote and that `FrameInfo` does not know are kept.
pub fn update_frame_info(
    buffer: &mut gst::BufferRef,
    change: impl FnOnce(&mut FrameInfo),
) -> Result<(), glib::BoolError> {
    let mut info = frame_info(buffer);
    change(&mut info);
    let mut meta = match gst::meta::CustomMeta::from_mut_buffer(buffer, FRAME_META_NAME) {
        Ok(meta) => meta,
        Err(_) => gst::meta::CustomMeta::add(buffer, FRAME_META_NAME)?,
    };
    let s = meta.mut_structure();
    s.set_name(FRAME_STRUCTURE_NAME);
    match info.inferred {
        Some(v) => s.set("inferred", v),
        None => s.remove_field("inferred"),
    }
    s.set("skip-inference", info.skip_inference);
    set_opt(s, "inference-latency-ms", info.inference_latency_ms);
    set_opt(s, "temperature", info.temperature);
    set_opt(s, "throttle-factor", info.throttle_factor);
    Ok(())
}

fn set_opt(s: &mut gst::StructureRef, name: &str, v: Option<f64>) {
    match v {
        Some(v) => s.set(name, v),
        None => s.remove_field(name),
    }
}

/// Tracking facts `edgetrack` attaches to an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracking {
    pub track_id: u64,
    /// Frames since the track was first seen.
    pub age: u32,
    /// `true`: matched to a detection on this frame; `false`: predicted.
    pub tracked: bool,
    /// Kalman velocity of the box centre, pixels per frame.
    pub vx: f64,
    pub vy: f64,
    /// Running time of the frame the track was first seen on. Carried by the
    /// analytics tracking Mtd only (`None` when read from ROI metas alone).
    pub first_seen: Option<gst::ClockTime>,
    /// Running time of the last frame a detection matched the track.
    /// Analytics tracking Mtd only, like `first_seen`.
    pub last_seen: Option<gst::ClockTime>,
}

/// One object, in frame pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    pub label: String,
    /// `-1` when the producer gave no class id.
    pub class_id: i32,
    pub confidence: f64,
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
    pub track_id: Option<u64>,
    pub tracking: Option<Tracking>,
    /// The ROI meta's id. Only unique when the producer numbers its metas
    /// (GStreamer does not, and [`add_object`] leaves it at 0): find an
    /// object again by its position in [`objects`] instead.
    pub roi_id: i32,
}

impl Object {
    /// Detections as the metadata's objects, named by `labels` (`classN`
    /// for a class without a label).
    pub fn from_detections(dets: &[crate::inference::Detection], labels: &[String]) -> Vec<Object> {
        dets.iter()
            .map(|d| {
                let label = labels
                    .get(d.class_id)
                    .cloned()
                    .unwrap_or_else(|| format!("class{}", d.class_id));
                Object::new(
                    &label,
                    d.class_id as i32,
                    f64::from(d.score),
                    [
                        f64::from(d.x1),
                        f64::from(d.y1),
                        f64::from(d.x2),
                        f64::from(d.y2),
                    ],
                )
            })
            .collect()
    }

    pub fn new(label: &str, class_id: i32, confidence: f64, bbox: [f64; 4]) -> Self {
        Object {
            label: label.to_string(),
            class_id,
            confidence,
            x1: bbox[0],
            y1: bbox[1],
            x2: bbox[2],
            y2: bbox[3],
            track_id: None,
            tracking: None,
            roi_id: -1,
        }
    }
}

fn clamp01(v: f64) -> f64 {
    if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// The ROI rectangle (x, y, w, h) in whole pixels, clamped to the frame.
fn roi_rect(obj: &Object, width: u32, height: u32) -> (u32, u32, u32, u32) {
    let (w, h) = (f64::from(width), f64::from(height));
    let x1 = clamp01(obj.x1 / w) * w;
    let y1 = clamp01(obj.y1 / h) * h;
    let x2 = clamp01(obj.x2 / w) * w;
    let y2 = clamp01(obj.y2 / h) * h;
    let x = x1.round() as u32;
    let y = y1.round() as u32;
    let rw = (x2.round() as u32).saturating_sub(x);
    let rh = (y2.round() as u32).saturating_sub(y);
    (x, y, rw, rh)
}

fn detection_structure(obj: &Object, width: u32, height: u32) -> gst::Structure {
    let (w, h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    gst::Structure::builder(DETECTION_PARAM)
        .field("x_min", clamp01(obj.x1 / w))
        .field("y_min", clamp01(obj.y1 / h))
        .field("x_max", clamp01(obj.x2 / w))
        .field("y_max", clamp01(obj.y2 / h))
        .field("confidence", obj.confidence)
        .field("label_id", obj.class_id)
        .field("label", obj.label.as_str())
        .build()
}

fn tracking_structures(t: &Tracking) -> [gst::Structure; 2] {
    // DL Streamer's `object_id.id` is a gint: ids past i32::MAX wrap, the
    // `tracking.track_id` field keeps the full 64-bit value.
    let id32 = (t.track_id & 0x7fff_ffff) as i32;
    [
        gst::Structure::builder(OBJECT_ID_PARAM)
            .field("id", id32)
            .build(),
        gst::Structure::builder(TRACKING_PARAM)
            .field("track_id", t.track_id)
            .field("age", t.age)
            .field("state", if t.tracked { "tracked" } else { "predicted" })
            .field("velocity_x", t.vx)
            .field("velocity_y", t.vy)
            .build(),
    ]
}

/// Adds one object as a ROI meta with its `detection` structure (and, when
/// `obj.tracking` is set, its `object_id` and `tracking` structures).
/// Returns the ROI meta's id. Writes ROI metas only, whatever the build: an
/// element with a `meta-output` property calls [`add_object_to`].
pub fn add_object(buffer: &mut gst::BufferRef, obj: &Object, width: u32, height: u32) -> i32 {
    let id = next_roi_id(buffer);
    add_roi(buffer, obj, width, height, None, id)
}

/// Adds one object to the metadata kinds `output` selects (see
/// [`MetaOutput`]); both kinds describe the same object and are linked.
/// Returns the ROI meta's id, -1 when no ROI meta was written. For several
/// objects use [`add_objects_to`], which numbers the ROI metas in one pass.
pub fn add_object_to(
    buffer: &mut gst::BufferRef,
    obj: &Object,
    width: u32,
    height: u32,
    output: MetaOutput,
) -> i32 {
    let id = next_roi_id(buffer);
    add_one(buffer, obj, width, height, output, id)
}

/// Adds `objects` as [`add_object_to`] does, one after the other, and
/// returns how many were added. The ids of the buffer's ROI metas are read
/// once, not once per object: a frame with n objects costs O(n), not O(n²).
pub fn add_objects_to<'a>(
    buffer: &mut gst::BufferRef,
    objects: impl IntoIterator<Item = &'a Object>,
    width: u32,
    height: u32,
    output: MetaOutput,
) -> usize {
    let mut id = next_roi_id(buffer);
    let mut added = 0;
    for obj in objects {
        if add_one(buffer, obj, width, height, output, id) >= 0 {
            id = id.saturating_add(1);
        }
        added += 1;
    }
    added
}

fn add_one(
    buffer: &mut gst::BufferRef,
    obj: &Object,
    width: u32,
    height: u32,
    output: MetaOutput,
    roi_id: i32,
) -> i32 {
    #[cfg(feature = "v1_24")]
    let od = if output.analytics() {
        analytics::add_object(buffer, obj, width, height)
    } else {
        None
    };
    #[cfg(not(feature = "v1_24"))]
    let od = None;
    if output.roi() {
        add_roi(buffer, obj, width, height, od, roi_id)
    } else {
        -1
    }
}

/// The id for the next ROI meta: one more than the largest on the buffer.
/// GStreamer leaves ROI ids at 0; we number ours so each is unique on the buffer.
fn next_roi_id(buffer: &gst::BufferRef) -> i32 {
    buffer
        .iter_meta::<VideoRegionOfInterestMeta>()
        .map(|m| m.id())
        .max()
        .map_or(0, |m| m.saturating_add(1))
}

/// The ROI meta's parameter structure linking it to OD Mtd `od_id`.
fn analytics_link(od_id: u32) -> gst::Structure {
    gst::Structure::builder(ANALYTICS_PARAM)
        .field("od_id", od_id)
        .build()
}

fn add_roi(
    buffer: &mut gst::BufferRef,
    obj: &Object,
    width: u32,
    height: u32,
    od: Option<u32>,
    id: i32,
) -> i32 {
    let rect = roi_rect(obj, width, height);
    let mut meta = VideoRegionOfInterestMeta::add(buffer, obj.label.as_str(), rect);
    meta.set_id(id);
    meta.add_param(detection_structure(obj, width, height));
    if let Some(t) = &obj.tracking {
        for s in tracking_structures(t) {
            meta.add_param(s);
        }
    }
    if let Some(od) = od {
        meta.add_param(analytics_link(od));
    }
    meta.id()
}

/// Writes tracking facts onto the existing ROI meta with id `roi_id`.
/// Returns false when no such meta is on the buffer. ROI ids are only
/// unique when the producer numbered its metas ([`add_object`] does; other
/// producers may leave them all at 0): to write many objects use
/// [`set_trackings`], which goes by position.
pub fn set_tracking(buffer: &mut gst::BufferRef, roi_id: i32, t: &Tracking) -> bool {
    for mut meta in buffer.iter_meta_mut::<VideoRegionOfInterestMeta>() {
        if meta.id() == roi_id {
            for s in tracking_structures(t) {
                meta.add_param(s);
            }
            return true;
        }
    }
    false
}

/// Writes tracking facts onto many ROI metas in one pass over the buffer's
/// metas. `tracks` maps the position of an object in the list [`objects`]
/// returned for this buffer (metas not added or removed since) to its
/// tracking facts; returns how many were written.
///
/// Positions, not ROI ids: GStreamer does not number ROI metas, and
/// producers (ours included) leave `id` at 0, so ids do not tell objects
/// apart.
pub fn set_trackings(
    buffer: &mut gst::BufferRef,
    tracks: &std::collections::HashMap<usize, Tracking>,
) -> usize {
    if tracks.is_empty() {
        return 0;
    }
    let mut written = 0;
    for (i, mut meta) in buffer
        .iter_meta_mut::<VideoRegionOfInterestMeta>()
        .enumerate()
    {
        if let Some(t) = tracks.get(&i) {
            for s in tracking_structures(t) {
                meta.add_param(s);
            }
            written += 1;
        }
    }
    written
}

/// Writes tracking facts onto many objects, in the metadata kinds `output`
/// selects. `tracks` maps the position of an object in the list [`objects`]
/// returned for this buffer (metas not added or removed since) to its
/// tracking facts. An object missing from a selected kind is added to it
/// (an upstream detector's analytics-only object gets a ROI meta too when
/// `output` is `both`), linked to its other half. Returns how many objects
/// were written.
pub fn set_trackings_to(
    buffer: &mut gst::BufferRef,
    tracks: &std::collections::HashMap<usize, Tracking>,
    width: u32,
    height: u32,
    output: MetaOutput,
) -> usize {
    if tracks.is_empty() {
        return 0;
    }
    let (objs, srcs) = collect(buffer, width, height);
    // OD Mtds added for objects that had none, by position.
    #[cfg(feature = "v1_24")]
    let links = if output.analytics() {
        analytics::write_trackings(buffer, tracks, &objs, &srcs, width, height)
    } else {
        std::collections::HashMap::new()
    };
    #[cfg(not(feature = "v1_24"))]
    let links: std::collections::HashMap<usize, u32> = std::collections::HashMap::new();
    let mut by_roi = std::collections::HashMap::new();
    let mut written = std::collections::HashSet::new();
    for (&pos, t) in tracks {
        let Some(src) = srcs.get(pos) else { continue };
        if output.analytics() && (src.od.is_some() || links.contains_key(&pos)) {
            written.insert(pos);
        }
        if let Some(i) = src.roi {
            by_roi.insert(i, (pos, t));
        }
    }
    if output.roi() || !links.is_empty() {
        for (i, mut meta) in buffer
            .iter_meta_mut::<VideoRegionOfInterestMeta>()
            .enumerate()
        {
            let Some(&(pos, t)) = by_roi.get(&i) else {
                continue;
            };
            if output.roi() {
                for s in tracking_structures(t) {
                    meta.add_param(s);
                }
                written.insert(pos);
            }
            if let Some(&od) = links.get(&pos) {
                meta.add_param(analytics_link(od));
            }
        }
    }
    if output.roi() {
        // In list order, so that the new ROI metas keep the objects' order.
        let mut positions: Vec<usize> = tracks.keys().copied().collect();
        positions.sort_unstable();
        let mut next_id = next_roi_id(buffer);
        for pos in positions {
            let (Some(t), Some(src), Some(obj)) = (tracks.get(&pos), srcs.get(pos), objs.get(pos))
            else {
                continue;
            };
            if src.roi.is_none() {
                let mut obj = obj.clone();
                obj.track_id = Some(t.track_id);
                obj.tracking = Some(t.clone());
                add_roi(buffer, &obj, width, height, src.od, next_id);
                next_id = next_id.saturating_add(1);
                written.insert(pos);
            }
        }
    }
    written.len()
}

/// Where an object of [`objects`] lives on the buffer: the position of its
/// ROI meta among the buffer's ROI metas, the id of its OD Mtd.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Source {
    roi: Option<usize>,
    od: Option<u32>,
}

/// Every object on the buffer, each once, with where it lives: the ROI
/// metas in order, then the analytics OD Mtds no ROI meta is linked to.
fn collect(buffer: &gst::BufferRef, width: u32, height: u32) -> (Vec<Object>, Vec<Source>) {
    let rois = roi_objects(buffer, width, height);
    let mut objs = Vec::with_capacity(rois.len());
    let mut srcs = Vec::with_capacity(rois.len());
    for (i, (obj, link)) in rois.into_iter().enumerate() {
        objs.push(obj);
        srcs.push(Source {
            roi: Some(i),
            od: link,
        });
    }
    #[cfg(feature = "v1_24")]
    analytics::merge(buffer, &mut objs, &mut srcs);
    #[cfg(not(feature = "v1_24"))]
    for s in &mut srcs {
        s.od = None;
    }
    (objs, srcs)
}

/// Reads every object on the buffer in frame pixels: ROI metas (ours and
/// any producer's: without a `detection` structure the ROI rectangle is
/// used, the ROI type is the label, confidence is 1) and, with the `v1_24`
/// feature, the OD Mtds of GStreamer's analytics relation meta (with their
/// related tracking Mtds). An object written in both kinds is listed once.
pub fn objects(buffer: &gst::BufferRef, width: u32, height: u32) -> Vec<Object> {
    collect(buffer, width, height).0
}

/// Every ROI meta on the buffer as an object in frame pixels, with the id of
/// the OD Mtd it is linked to (its `analytics` structure), if any.
fn roi_objects(buffer: &gst::BufferRef, width: u32, height: u32) -> Vec<(Object, Option<u32>)> {
    let (w, h) = (f64::from(width), f64::from(height));
    buffer
        .iter_meta::<VideoRegionOfInterestMeta>()
        .map(|meta| {
            let (rx, ry, rw, rh) = meta.rect();
            let mut obj = Object {
                label: meta.roi_type().to_string(),
                class_id: -1,
                confidence: 1.0,
                x1: f64::from(rx),
                y1: f64::from(ry),
                x2: f64::from(rx) + f64::from(rw),
                y2: f64::from(ry) + f64::from(rh),
                track_id: None,
                tracking: None,
                roi_id: meta.id(),
            };
            if let Some(d) = meta.param(DETECTION_PARAM) {
                if let (Ok(x1), Ok(y1), Ok(x2), Ok(y2)) = (
                    d.get::<f64>("x_min"),
                    d.get::<f64>("y_min"),
                    d.get::<f64>("x_max"),
                    d.get::<f64>("y_max"),
                ) {
                    obj.x1 = x1 * w;
                    obj.y1 = y1 * h;
                    obj.x2 = x2 * w;
                    obj.y2 = y2 * h;
                }
                if let Ok(c) = d.get::<f64>("confidence") {
                    obj.confidence = c;
                }
                if let Ok(id) = d.get::<i32>("label_id") {
                    obj.class_id = id;
                }
                if let Ok(l) = d.get::<&str>("label") {
                    obj.label = l.to_string();
                }
            }
            if let Some(t) = meta.param(TRACKING_PARAM) {
                let track_id = t.get::<u64>("track_id").unwrap_or(0);
                obj.track_id = Some(track_id);
                obj.tracking = Some(Tracking {
                    track_id,
                    age: t.get::<u32>("age").unwrap_or(0),
                    tracked: t
                        .get::<&str>("state")
                        .map(|s| s == "tracked")
                        .unwrap_or(true),
                    vx: t.get::<f64>("velocity_x").unwrap_or(0.0),
                    vy: t.get::<f64>("velocity_y").unwrap_or(0.0),
                    first_seen: None,
                    last_seen: None,
                });
            } else if let Some(Ok(id)) = meta.param(OBJECT_ID_PARAM).map(|o| o.get::<i32>("id")) {
                obj.track_id = u64::try_from(id).ok();
            }
            let link = meta
                .param(ANALYTICS_PARAM)
                .and_then(|a| a.get::<u32>("od_id").ok());
            (obj, link)
        })
        .collect()
}

/// Removes every ROI meta from the buffer (used when a producer replaces them).
pub fn remove_objects(buffer: &mut gst::BufferRef) {
    buffer.foreach_meta_mut(|mut meta| {
        if meta.downcast_ref::<VideoRegionOfInterestMeta>().is_some() {
            std::ops::ControlFlow::Continue(gst::buffer::BufferMetaForeachAction::Remove)
        } else {
            std::ops::ControlFlow::Continue(gst::buffer::BufferMetaForeachAction::Keep)
        }
    });
}

/// `edgezones`'s parameter structure on an object's ROI meta.
pub const ZONES_PARAM: &str = "zones";
/// Field of the [`FRAME_STRUCTURE_NAME`] structure holding the zone counters.
pub const ZONE_COUNTERS_FIELD: &str = "zones";

/// The zones an object is in, as `edgezones` writes them on its ROI meta
/// (`zones` parameter structure: `inside` and `crossed` arrays of zone
/// names, `dwell` in seconds, `loitering`, and `crossings`: an array of
/// `crossing` structures, `zone` and `direction` (`in` | `out`), for the
/// lines counted crossing on this very frame).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectZones {
    /// Polygons the object is in.
    pub inside: Vec<String>,
    /// Lines this object's track has been counted crossing.
    pub crossed: Vec<String>,
    /// Longest time inside one of its polygons, seconds.
    pub dwell: f64,
    pub loitering: bool,
    /// Lines counted crossing on this frame: (zone, `in` | `out`).
    pub crossings: Vec<(String, String)>,
}

fn string_array(v: &[String]) -> gst::Array {
    gst::Array::new(v.iter().map(String::as_str))
}

fn strings_of(s: &gst::StructureRef, field: &str) -> Vec<String> {
    s.get::<gst::Array>(field)
        .map(|a| a.iter().filter_map(|v| v.get::<String>().ok()).collect())
        .unwrap_or_default()
}

/// Writes the zones of many objects by position in [`objects`] (as
/// [`set_trackings`]); returns how many were written.
pub fn set_object_zones(
    buffer: &mut gst::BufferRef,
    zones: &std::collections::HashMap<usize, ObjectZones>,
) -> usize {
    if zones.is_empty() {
        return 0;
    }
    let mut written = 0;
    for (i, mut meta) in buffer
        .iter_meta_mut::<VideoRegionOfInterestMeta>()
        .enumerate()
    {
        if let Some(z) = zones.get(&i) {
            meta.add_param(
                gst::Structure::builder(ZONES_PARAM)
                    .field("inside", string_array(&z.inside))
                    .field("crossed", string_array(&z.crossed))
                    .field("dwell", z.dwell)
                    .field("loitering", z.loitering)
                    .field("crossings", crossings_array(&z.crossings))
                    .build(),
            );
            written += 1;
        }
    }
    written
}

/// The zones of each object, in the order of [`objects`]; `None` where
/// `edgezones` wrote nothing (no zone, or no `edgezones` upstream).
pub fn object_zones(buffer: &gst::BufferRef) -> Vec<Option<ObjectZones>> {
    buffer
        .iter_meta::<VideoRegionOfInterestMeta>()
        .map(|meta| {
            meta.param(ZONES_PARAM).map(|s| ObjectZones {
                inside: strings_of(s, "inside"),
                crossed: strings_of(s, "crossed"),
                dwell: s.get::<f64>("dwell").unwrap_or(0.0),
                loitering: s.get::<bool>("loitering").unwrap_or(false),
                crossings: crossings_of(s),
            })
        })
        .collect()
}

/// Per-label counters of one zone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelCounter {
    pub label: String,
    pub crossed_in: u64,
    pub crossed_out: u64,
    pub occupancy: u32,
}

/// The counters of one zone on one frame, as `edgezones` writes them into
/// the frame meta: field `zones` of the `edgeai-frame` structure, an array of
/// `zone` structures (`name`, `kind` = `line` | `polygon`, `in`, `out`,
/// `occupancy`, `entered`, `exited`, `labels`: an array of `label`
/// structures with `label`, `in`, `out`, `occupancy`), and the zone's
/// geometry when known ([`ZoneGeometry`]: `points`, `in-side`,
/// `max-occupancy`, `overcrowded`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZoneCounter {
    pub name: String,
    /// `line` or `polygon`.
    pub kind: String,
    pub crossed_in: u64,
    pub crossed_out: u64,
    pub occupancy: u32,
    pub entered: u64,
    pub exited: u64,
    pub labels: Vec<LabelCounter>,
    /// Where the zone is on this frame (`None`: the writer gave no geometry).
    pub geometry: Option<ZoneGeometry>,
}

/// The counters as a `gst::Array` of `zone` structures (the frame meta's
/// `zones` field, also the `zones` field of `edgezones-counts` messages).
pub fn zone_counters_array(counters: &[ZoneCounter]) -> gst::Array {
    gst::Array::new(counters.iter().map(|c| {
        let labels = gst::Array::new(c.labels.iter().map(|l| {
            gst::Structure::builder("label")
                .field("label", l.label.as_str())
                .field("in", l.crossed_in)
                .field("out", l.crossed_out)
                .field("occupancy", l.occupancy)
                .build()
        }));
        let zone = gst::Structure::builder("zone")
            .field("name", c.name.as_str())
            .field("kind", c.kind.as_str())
            .field("in", c.crossed_in)
            .field("out", c.crossed_out)
            .field("occupancy", c.occupancy)
            .field("entered", c.entered)
            .field("exited", c.exited)
            .field("labels", labels);
        match &c.geometry {
            Some(g) => add_zone_geometry(zone, c, g).build(),
            None => zone.build(),
        }
    }))
}

/// Reads an array written by [`zone_counters_array`].
pub fn zone_counters_from_array(array: &gst::Array) -> Vec<ZoneCounter> {
    array
        .iter()
        .filter_map(|v| v.get::<gst::Structure>().ok())
        .map(|z| ZoneCounter {
            name: z.get::<String>("name").unwrap_or_default(),
            kind: z.get::<String>("kind").unwrap_or_default(),
            crossed_in: z.get::<u64>("in").unwrap_or(0),
            crossed_out: z.get::<u64>("out").unwrap_or(0),
            occupancy: z.get::<u32>("occupancy").unwrap_or(0),
            entered: z.get::<u64>("entered").unwrap_or(0),
            exited: z.get::<u64>("exited").unwrap_or(0),
            labels: z
                .get::<gst::Array>("labels")
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.get::<gst::Structure>().ok())
                        .map(|l| LabelCounter {
                            label: l.get::<String>("label").unwrap_or_default(),
                            crossed_in: l.get::<u64>("in").unwrap_or(0),
                            crossed_out: l.get::<u64>("out").unwrap_or(0),
                            occupancy: l.get::<u32>("occupancy").unwrap_or(0),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            geometry: zone_geometry_of(&z),
        })
        .collect()
}

/// Writes the frame's zone counters (replacing earlier ones), keeping the
/// frame meta's other fields.
pub fn set_zone_counters(
    buffer: &mut gst::BufferRef,
    counters: &[ZoneCounter],
) -> Result<(), glib::BoolError> {
    let array = zone_counters_array(counters);
    let mut meta = match gst::meta::CustomMeta::from_mut_buffer(buffer, FRAME_META_NAME) {
        Ok(meta) => meta,
        Err(_) => gst::meta::CustomMeta::add(buffer, FRAME_META_NAME)?,
    };
    let s = meta.mut_structure();
    s.set_name(FRAME_STRUCTURE_NAME);
    s.set(ZONE_COUNTERS_FIELD, array);
    Ok(())
}

/// The frame's zone counters; empty when no `edgezones` upstream wrote any.
pub fn zone_counters(buffer: &gst::BufferRef) -> Vec<ZoneCounter> {
    let Ok(meta) = gst::meta::CustomMeta::from_buffer(buffer, FRAME_META_NAME) else {
        return Vec::new();
    };
    meta.structure()
        .get::<gst::Array>(ZONE_COUNTERS_FIELD)
        .map(|a| zone_counters_from_array(&a))
        .unwrap_or_default()
}

// Zone geometry and per-frame crossings (for `edgeoverlay` and any reader
// that draws or reasons about the zones without their configuration).

/// Where a zone lies on a frame, as `edgezones` writes it into each `zone`
/// structure of the frame meta: `points`, an array of `[x, y]` arrays in
/// this frame's pixels (the configuration resolved to the frame size, so a
/// fraction configuration follows resolution changes); for lines `in-side`
/// (`left` | `right` of `points[0] → points[1]`, y down); for polygons
/// `max-occupancy` (0: no limit) and `overcrowded` (occupancy ≥ a non-zero
/// `max-occupancy`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZoneGeometry {
    /// Line: the two end points; polygon: the vertices, in order.
    pub points: Vec<[f64; 2]>,
    /// Lines: `left` or `right`; `None` for polygons.
    pub in_side: Option<String>,
    /// Polygons: `overcrowded` at this occupancy; 0: never.
    pub max_occupancy: u32,
}

impl ZoneCounter {
    /// A polygon at or above its non-zero `max-occupancy` (the rule of
    /// `edgezones`' `overcrowded` event).
    pub fn overcrowded(&self) -> bool {
        self.geometry
            .as_ref()
            .is_some_and(|g| g.max_occupancy > 0 && self.occupancy >= g.max_occupancy)
    }
}

fn add_zone_geometry(
    zone: gst::structure::Builder,
    counter: &ZoneCounter,
    g: &ZoneGeometry,
) -> gst::structure::Builder {
    let points = gst::Array::new(g.points.iter().map(|p| gst::Array::new([p[0], p[1]])));
    let zone = zone.field("points", points);
    match &g.in_side {
        Some(side) => zone.field("in-side", side.as_str()),
        None => zone
            .field("max-occupancy", g.max_occupancy)
            .field("overcrowded", counter.overcrowded()),
    }
}

fn zone_geometry_of(z: &gst::StructureRef) -> Option<ZoneGeometry> {
    let points = z.get::<gst::Array>("points").ok()?;
    let points = points
        .iter()
        .filter_map(|v| v.get::<gst::Array>().ok())
        .filter_map(|p| match p.as_slice() {
            [x, y] => Some([x.get::<f64>().ok()?, y.get::<f64>().ok()?]),
            _ => None,
        })
        .collect();
    Some(ZoneGeometry {
        points,
        in_side: z.get::<String>("in-side").ok(),
        max_occupancy: z.get::<u32>("max-occupancy").unwrap_or(0),
    })
}

fn crossings_array(crossings: &[(String, String)]) -> gst::Array {
    gst::Array::new(crossings.iter().map(|(zone, direction)| {
        gst::Structure::builder("crossing")
            .field("zone", zone.as_str())
            .field("direction", direction.as_str())
            .build()
    }))
}

fn crossings_of(s: &gst::StructureRef) -> Vec<(String, String)> {
    s.get::<gst::Array>("crossings")
        .map(|a| {
            a.iter()
                .filter_map(|v| v.get::<gst::Structure>().ok())
                .filter_map(|c| {
                    Some((
                        c.get::<String>("zone").ok()?,
                        c.get::<String>("direction").ok()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() {
        let _ = gst::init();
        register();
    }

    #[test]
    fn object_round_trip_in_dlstreamer_layout() {
        init();
        let mut buf = gst::Buffer::with_size(16).unwrap();
        let obj = Object::new("person", 0, 0.87, [76.8, 57.6, 384.0, 576.0]);
        {
            let b = buf.get_mut().unwrap();
            add_object(b, &obj, 768, 576);
        }
        let meta = buf.meta::<VideoRegionOfInterestMeta>().unwrap();
        assert_eq!(meta.roi_type(), "person");
        assert_eq!(meta.id(), 0);
        assert_eq!(meta.rect(), (77, 58, 307, 518));
        let d = meta.param("detection").unwrap();
        assert!((d.get::<f64>("x_min").unwrap() - 0.1).abs() < 1e-12);
        assert!((d.get::<f64>("y_min").unwrap() - 0.1).abs() < 1e-12);
        assert!((d.get::<f64>("x_max").unwrap() - 0.5).abs() < 1e-12);
        assert!((d.get::<f64>("y_max").unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(d.get::<i32>("label_id").unwrap(), 0);
        assert_eq!(d.get::<&str>("label").unwrap(), "person");
        let back = objects(&buf, 768, 576);
        assert_eq!(back.len(), 1);
        assert!((back[0].x1 - 76.8).abs() < 1e-9 && (back[0].y2 - 576.0).abs() < 1e-9);
        assert_eq!(back[0].class_id, 0);
        assert_eq!(back[0].track_id, None);
    }

    #[test]
    fn add_objects_numbers_after_existing_rois_like_one_by_one() {
        init();
        let objs: Vec<Object> = (0..5)
            .map(|i| {
                let x = f64::from(i) * 50.0;
                Object::new(
                    "car",
                    2,
                    0.5 + f64::from(i) / 10.0,
                    [x, 10.0, x + 40.0, 90.0],
                )
            })
            .collect();
        // A foreign ROI meta with id 7 already on the buffer.
        let mut batch = gst::Buffer::with_size(16).unwrap();
        let mut single = gst::Buffer::with_size(16).unwrap();
        for b in [&mut batch, &mut single] {
            let mut m = VideoRegionOfInterestMeta::add(b.get_mut().unwrap(), "dog", (1, 2, 3, 4));
            m.set_id(7);
        }
        let n = add_objects_to(batch.get_mut().unwrap(), &objs, 400, 100, MetaOutput::Roi);
        assert_eq!(n, 5);
        let mut ids_single = Vec::new();
        for o in &objs {
            ids_single.push(add_object_to(
                single.get_mut().unwrap(),
                o,
                400,
                100,
                MetaOutput::Roi,
            ));
        }
        assert_eq!(ids_single, [8, 9, 10, 11, 12]);
        let ids = |b: &gst::Buffer| {
            let mut v: Vec<(i32, u32)> = b
                .iter_meta::<VideoRegionOfInterestMeta>()
                .map(|m| (m.id(), m.rect().0))
                .collect();
            v.sort_unstable();
            v
        };
        // Same ids on the same boxes: 7 is the foreign one, 8.. ours in order.
        assert_eq!(ids(&batch), ids(&single));
        assert_eq!(
            ids(&batch),
            [(7, 1), (8, 0), (9, 50), (10, 100), (11, 150), (12, 200)]
        );
        let back = objects(&batch, 400, 100);
        assert_eq!(back.len(), 6);
        let mut conf: Vec<f64> = back
            .iter()
            .filter(|o| o.label == "car")
            .map(|o| o.confidence)
            .collect();
        conf.sort_by(f64::total_cmp);
        assert_eq!(conf.len(), 5);
        for (i, c) in conf.iter().enumerate() {
            assert!((c - (0.5 + i as f64 / 10.0)).abs() < 1e-9, "{conf:?}");
        }
    }

    #[test]
    fn boxes_outside_the_frame_are_clamped() {
        init();
        let mut buf = gst::Buffer::with_size(16).unwrap();
        let obj = Object::new("car", 2, 0.5, [-10.0, -5.0, 700.0, f64::NAN]);
        add_object(buf.get_mut().unwrap(), &obj, 640, 480);
        let meta = buf.meta::<VideoRegionOfInterestMeta>().unwrap();
        assert_eq!(meta.rect(), (0, 0, 640, 0));
    }

    #[test]
    fn foreign_roi_without_detection_structure() {
        init();
        let mut buf = gst::Buffer::with_size(16).unwrap();
        VideoRegionOfInterestMeta::add(buf.get_mut().unwrap(), "face", (10, 20, 30, 40));
        let objs = objects(&buf, 100, 100);
        assert_eq!(objs[0].label, "face");
        assert_eq!(
            (objs[0].x1, objs[0].y1, objs[0].x2, objs[0].y2),
            (10.0, 20.0, 40.0, 60.0)
        );
        assert_eq!(objs[0].class_id, -1);
    }

    #[test]
    fn tracking_written_as_gvatrack_does() {
        init();
        let mut buf = gst::Buffer::with_size(16).unwrap();
        let other = add_object(
            buf.get_mut().unwrap(),
            &Object::new("car", 2, 0.8, [50.0, 50.0, 60.0, 60.0]),
            100,
            100,
        );
        let id = add_object(
            buf.get_mut().unwrap(),
            &Object::new("person", 0, 0.9, [0.0, 0.0, 10.0, 10.0]),
            100,
            100,
        );
        assert_ne!(id, other, "ROI ids must be unique on a buffer");
        let t = Tracking {
            track_id: 7,
            age: 3,
            tracked: false,
            vx: 1.5,
            vy: -0.5,
            first_seen: None,
            last_seen: None,
        };
        assert!(set_tracking(buf.get_mut().unwrap(), id, &t));
        let meta = buf
            .iter_meta::<VideoRegionOfInterestMeta>()
            .find(|m| m.id() == id)
            .unwrap();
        assert_eq!(
            meta.param("object_id").unwrap().get::<i32>("id").unwrap(),
            7
        );
        let objs = objects(&buf, 100, 100);
        assert_eq!(objs[0].label, "car");
        assert_eq!(objs[0].track_id, None);
        assert_eq!(objs[1].track_id, Some(7));
        assert_eq!(objs[1].tracking.as_ref().unwrap(), &t);
    }

    #[test]
    fn set_trackings_writes_the_right_objects() {
        init();
        let mut buf = gst::Buffer::with_size(16).unwrap();
        for i in 0..5 {
            let x = 10.0 * f64::from(i);
            add_object(
                buf.get_mut().unwrap(),
                &Object::new("car", 2, 0.8, [x, 0.0, x + 5.0, 5.0]),
                100,
                100,
            );
        }
        let t = |track_id| Tracking {
            track_id,
            age: 1,
            tracked: true,
            vx: 0.0,
            vy: 0.0,
            first_seen: None,
            last_seen: None,
        };
        // Find the objects at x = 10 and x = 30 by position.
        let before = objects(&buf, 100, 100);
        let pos = |x: f64| before.iter().position(|o| o.x1 == x).unwrap();
        let mut map = std::collections::HashMap::new();
        map.insert(pos(10.0), t(11));
        map.insert(pos(30.0), t(13));
        map.insert(99, t(99));
        assert_eq!(set_trackings(buf.get_mut().unwrap(), &map), 2);
        let mut got: Vec<(f64, Option<u64>)> = objects(&buf, 100, 100)
            .iter()
            .map(|o| (o.x1, o.track_id))
            .collect();
        got.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert_eq!(
            got,
            vec![
                (0.0, None),
                (10.0, Some(11)),
                (20.0, None),
                (30.0, Some(13)),
                (40.0, None)
            ]
        );
    }

    #[test]
    fn frame_info_round_trip_keeps_other_fields() {
        init();
        let mut buf = gst::Buffer::with_size(16).unwrap();
        assert_eq!(frame_info(&buf), FrameInfo::default());
        update_frame_info(buf.get_mut().unwrap(), |f| {
            f.skip_inference = true;
            f.temperature = Some(80.5);
        })
        .unwrap();
        update_frame_info(buf.get_mut().unwrap(), |f| f.inferred = Some(false)).unwrap();
        let f = frame_info(&buf);
        assert!(f.skip_inference);
        assert_eq!(f.temperature, Some(80.5));
        assert_eq!(f.inferred, Some(false));
        assert_eq!(f.inference_latency_ms, None);
        // One meta, not two.
        assert_eq!(buf.iter_meta::<gst::Meta>().count(), 1);
    }

    #[test]
    fn zones_round_trip() {
        init();
        let mut buf = gst::Buffer::with_size(16).unwrap();
        for i in 0..3 {
            let x = 10.0 * f64::from(i);
            add_object(
                buf.get_mut().unwrap(),
                &Object::new("person", 0, 0.8, [x, 0.0, x + 5.0, 5.0]),
                100,
                100,
            );
        }
        let z = ObjectZones {
            inside: vec!["queue".into(), "hall".into()],
            crossed: vec!["door".into()],
            dwell: 2.5,
            loitering: true,
            crossings: vec![("door".into(), "in".into())],
        };
        let mut map = std::collections::HashMap::new();
        map.insert(1, z.clone());
        assert_eq!(set_object_zones(buf.get_mut().unwrap(), &map), 1);
        assert_eq!(object_zones(&buf), vec![None, Some(z), None]);
        update_frame_info(buf.get_mut().unwrap(), |f| f.temperature = Some(50.0)).unwrap();
        let counters = vec![
            ZoneCounter {
                name: "door".into(),
                kind: "line".into(),
                crossed_in: 3,
                crossed_out: 1,
                labels: vec![LabelCounter {
                    label: "person".into(),
                    crossed_in: 3,
                    crossed_out: 1,
                    occupancy: 0,
                }],
                ..Default::default()
            },
            ZoneCounter {
                name: "queue".into(),
                kind: "polygon".into(),
                occupancy: 2,
                entered: 5,
                exited: 3,
                ..Default::default()
            },
        ];
        set_zone_counters(buf.get_mut().unwrap(), &counters).unwrap();
        assert_eq!(zone_counters(&buf), counters);
        // Frame facts survive, and the counters survive a frame-info update.
        assert_eq!(frame_info(&buf).temperature, Some(50.0));
        update_frame_info(buf.get_mut().unwrap(), |f| f.inferred = Some(true)).unwrap();
        assert_eq!(zone_counters(&buf), counters);
    }

    #[test]
    fn zone_geometry_round_trip_and_overcrowded() {
        init();
        let line = ZoneCounter {
            name: "door".into(),
            kind: "line".into(),
            crossed_in: 2,
            geometry: Some(ZoneGeometry {
                points: vec![[64.0, 288.5], [576.0, 288.5]],
                in_side: Some("right".into()),
                max_occupancy: 0,
            }),
            ..Default::default()
        };
        let poly = |occupancy| ZoneCounter {
            name: "queue".into(),
            kind: "polygon".into(),
            occupancy,
            geometry: Some(ZoneGeometry {
                points: vec![[10.0, 10.0], [50.0, 10.0], [30.0, 40.0]],
                in_side: None,
                max_occupancy: 3,
            }),
            ..Default::default()
        };
        let counters = vec![line.clone(), poly(2), poly(3)];
        let array = zone_counters_array(&counters);
        assert_eq!(zone_counters_from_array(&array), counters);
        let s = |i: usize| array.as_slice()[i].get::<gst::Structure>().unwrap();
        assert_eq!(s(0).get::<&str>("in-side").unwrap(), "right");
        assert!(!s(0).has_field("overcrowded"));
        assert!(!s(1).get::<bool>("overcrowded").unwrap());
        assert!(s(2).get::<bool>("overcrowded").unwrap());
        assert_eq!(s(2).get::<u32>("max-occupancy").unwrap(), 3);
        let points = s(1).get::<gst::Array>("points").unwrap();
        let p2 = points.as_slice()[2].get::<gst::Array>().unwrap();
        assert_eq!(p2.as_slice()[1].get::<f64>().unwrap(), 40.0);
        // No limit: never overcrowded; no geometry: never overcrowded.
        let mut free = poly(9);
        free.geometry.as_mut().unwrap().max_occupancy = 0;
        assert!(!free.overcrowded());
        assert!(
            !ZoneCounter {
                occupancy: 9,
                ..Default::default()
            }
            .overcrowded()
        );
        // Counters without geometry (older writers) read back as `None`.
        let bare = zone_counters_array(&[ZoneCounter::default()]);
        assert_eq!(zone_counters_from_array(&bare)[0].geometry, None);
    }
}
