// SPDX-License-Identifier: MPL-2.0

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;

use super::{COUNTS_MESSAGE_NAME, EVENT_MESSAGE_NAME};
use crate::meta;
use crate::zones::config::Shape;
use crate::zones::geometry::{Point, Side};
use crate::zones::{Counter, Observation, ZoneConfig, ZoneCount, ZoneEvent, ZoneKind};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "edgezones",
        gst::DebugColorFlags::empty(),
        Some("Edge AI line and zone counting"),
    )
});

const DEFAULT_TRACK_MEMORY: f64 = 2.0;
const DEFAULT_COUNTS_INTERVAL: u32 = 1000;
/// Frames with objects but no track id before the element says it needs a tracker.
const UNTRACKED_FRAMES_WARNING: u32 = 30;
/// Frame duration assumed when buffers carry no timestamps.
const FALLBACK_FRAME_NS: u64 = 33_333_333;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, Clone)]
struct Settings {
    zones: Option<String>,
    config: Option<String>,
    /// Bumped on every change of `zones` or `config`.
    version: u64,
    track_memory: f64,
    counts_interval_ms: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            zones: None,
            config: None,
            version: 0,
            track_memory: DEFAULT_TRACK_MEMORY,
            counts_interval_ms: DEFAULT_COUNTS_INTERVAL,
        }
    }
}

impl Settings {
    /// The configuration the properties describe.
    fn zone_config(&self) -> Result<ZoneConfig, String> {
        match (&self.config, &self.zones) {
            (Some(_), Some(_)) => Err(
                "both `config` and `zones` are set; set one of them (the file can hold every zone)"
                    .into(),
            ),
            (Some(path), None) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    format!("cannot read the zone file {path}: {e}; check the `config` property")
                })?;
                crate::zones::parse_file_text(&text).map_err(|e| format!("{path}: {e}"))
            }
            (None, Some(z)) => crate::zones::parse_compact(z),
            (None, None) => Ok(ZoneConfig::default()),
        }
    }

    fn memory_ns(&self) -> u64 {
        (self.track_memory * 1e9).round() as u64
    }
}

struct State {
    counter: Counter,
    version: u64,
    width: u32,
    height: u32,
    segment: gst::FormattedSegment<gst::ClockTime>,
    frames: u64,
    last_time_ns: u64,
    last_counts_ns: Option<u64>,
    untracked_frames: u32,
    warned_untracked: bool,
    /// Events without a frame (tracks ended by a flush or a new stream),
    /// carried by the next frame's meta.
    unframed: Vec<ZoneEvent>,
}

/// What to post once no lock is held.
#[derive(Default)]
struct Outbox {
    events: Vec<ZoneEvent>,
    counts: Option<(u64, Vec<ZoneCount>)>,
    warning: Option<String>,
}

#[derive(Default)]
pub struct EdgeZones {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

/// Where each zone of `config` lies on a `width` x `height` frame, in the
/// metadata's form (pixels of that frame).
pub(crate) fn meta_geometry(
    config: &ZoneConfig,
    width: u32,
    height: u32,
) -> Vec<meta::ZoneGeometry> {
    let xy = |p: &Point| [p.x, p.y];
    config
        .resolve(width, height)
        .into_iter()
        .zip(&config.zones)
        .map(|((shape, _), zone)| match (shape, &zone.kind) {
            (Shape::Line { segment, in_side }, _) => meta::ZoneGeometry {
                points: vec![xy(&segment.a), xy(&segment.b)],
                in_side: Some(
                    match in_side {
                        Side::Left => "left",
                        Side::Right => "right",
                    }
                    .to_string(),
                ),
                max_occupancy: 0,
            },
            (Shape::Polygon(poly), kind) => meta::ZoneGeometry {
                points: poly.points.iter().map(xy).collect(),
                in_side: None,
                max_occupancy: match kind {
                    ZoneKind::Polygon { max_occupancy, .. } => *max_occupancy,
                    ZoneKind::Line { .. } => 0,
                },
            },
        })
        .collect()
}

/// The counters in the metadata's form, with each zone's geometry when given
/// (same order as `counts`).
pub(crate) fn meta_counters(
    counts: &[ZoneCount],
    geometry: &[meta::ZoneGeometry],
) -> Vec<meta::ZoneCounter> {
    counts
        .iter()
        .enumerate()
        .map(|(i, c)| meta::ZoneCounter {
            name: c.name.clone(),
            kind: if c.is_line { "line" } else { "polygon" }.to_string(),
            crossed_in: c.crossed_in,
            crossed_out: c.crossed_out,
            occupancy: c.occupancy,
            entered: c.entered,
            exited: c.exited,
            labels: c
                .per_label
                .iter()
                .map(|(l, v)| meta::LabelCounter {
                    label: l.clone(),
                    crossed_in: v.crossed_in,
                    crossed_out: v.crossed_out,
                    occupancy: v.occupancy,
                })
                .collect(),
            geometry: geometry.get(i).cloned(),
        })
        .collect()
}

/// An event in the frame meta's form.
fn frame_event(e: &ZoneEvent) -> meta::FrameZoneEvent {
    meta::FrameZoneEvent {
        zone: e.zone.clone(),
        kind: e.kind.as_str().to_string(),
        track_id: e.track_id,
        label: e.label.clone(),
        direction: e.direction.map_or("", |d| d.as_str()).to_string(),
        running_time: e.time_ns,
        dwell: e.dwell_ns.map(|d| d as f64 / 1e9),
        occupancy: e.occupancy,
    }
}

fn event_structure(e: &ZoneEvent) -> gst::Structure {
    let mut b = gst::Structure::builder(EVENT_MESSAGE_NAME)
        .field("zone", e.zone.as_str())
        .field("kind", e.kind.as_str())
        .field("label", e.label.as_str())
        .field("direction", e.direction.map_or("", |d| d.as_str()))
        .field("running-time", gst::ClockTime::from_nseconds(e.time_ns));
    if let Some(id) = e.track_id {
        b = b.field("track_id", id);
    }
    if let Some(d) = e.dwell_ns {
        b = b.field("dwell", d as f64 / 1e9);
    }
    if let Some(o) = e.occupancy {
        b = b.field("occupancy", o);
    }
    b.build()
}

fn counts_structure(time_ns: u64, counts: &[ZoneCount]) -> gst::Structure {
    gst::Structure::builder(COUNTS_MESSAGE_NAME)
        .field("running-time", gst::ClockTime::from_nseconds(time_ns))
        .field(
            "zones",
            meta::zone_counters_array(&meta_counters(counts, &[])),
        )
        .build()
}

impl EdgeZones {
    fn post(&self, out: Outbox) {
        if let Some(w) = out.warning {
            gst::element_imp_warning!(self, gst::LibraryError::Settings, ("{}", w));
        }
        for e in &out.events {
            gst::debug!(CAT, imp = self, "{e:?}");
            let msg = gst::message::Element::builder(event_structure(e))
                .src(&*self.obj())
                .build();
            if self.obj().post_message(msg).is_err() {
                gst::trace!(CAT, imp = self, "no bus for the zone event");
            }
        }
        if let Some((t, counts)) = out.counts {
            let msg = gst::message::Element::builder(counts_structure(t, &counts))
                .src(&*self.obj())
                .build();
            if self.obj().post_message(msg).is_err() {
                gst::trace!(CAT, imp = self, "no bus for the counts");
            }
        }
    }

    /// Ends every track (flush, new stream) keeping the counts.
    fn end_tracks(&self, reset_segment: bool) {
        let mut out = Outbox::default();
        if let Some(state) = lock(&self.state).as_mut() {
            out.events = state.counter.end_tracks(state.last_time_ns);
            state.unframed.extend(out.events.iter().cloned());
            if reset_segment {
                state.segment = gst::FormattedSegment::new();
            }
        }
        self.post(out);
    }
}

#[glib::object_subclass]
impl ObjectSubclass for EdgeZones {
    const NAME: &'static str = "GstEdgeZones";
    type Type = super::EdgeZones;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for EdgeZones {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("zones")
                    .nick("Zones")
                    .blurb("Zones in compact form, e.g. door=line:0.1,0.6,0.9,0.6;queue=polygon:0.2,0.2,0.5,0.2,0.5,0.8 \
                            (fractions of the frame; see docs/edgezones.md); can change while playing")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("config")
                    .nick("Zone file")
                    .blurb("TOML or JSON file describing the zones (see docs/edgezones.md); can change while playing")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("track-memory")
                    .nick("Track memory")
                    .blurb("Seconds a vanished track keeps its zone state (a re-found track is not counted again); \
                            then it leaves its polygons")
                    .minimum(0.0)
                    .maximum(3600.0)
                    .default_value(DEFAULT_TRACK_MEMORY)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("counts-interval")
                    .nick("Counts interval")
                    .blurb("Milliseconds of running time between edgezones-counts messages (0: only at EOS)")
                    .default_value(DEFAULT_COUNTS_INTERVAL)
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = lock(&self.settings);
        let text = || {
            value
                .get::<Option<String>>()
                .ok()
                .flatten()
                .filter(|v| !v.trim().is_empty())
        };
        match pspec.name() {
            "zones" => {
                s.zones = text();
                s.version += 1;
            }
            "config" => {
                s.config = text();
                s.version += 1;
            }
            "track-memory" => s.track_memory = value.get().unwrap_or(DEFAULT_TRACK_MEMORY),
            "counts-interval" => {
                s.counts_interval_ms = value.get().unwrap_or(DEFAULT_COUNTS_INTERVAL)
            }
            other => gst::warning!(CAT, imp = self, "unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = lock(&self.settings);
        match pspec.name() {
            "zones" => s.zones.to_value(),
            "config" => s.config.to_value(),
            "track-memory" => s.track_memory.to_value(),
            "counts-interval" => s.counts_interval_ms.to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl GstObjectImpl for EdgeZones {}

impl ElementImpl for EdgeZones {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Edge AI zone counter",
                "Filter/Analyzer/Video",
                "Counts tracked objects crossing lines (in / out) and staying in polygons \
                 (occupancy, enter, exit, dwell, overcrowding, loitering)",
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

impl BaseTransformImpl for EdgeZones {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = lock(&self.settings).clone();
        let config = settings
            .zone_config()
            .map_err(|e| gst::error_msg!(gst::LibraryError::Settings, ("invalid zones: {}", e)))?;
        if config.zones.is_empty() {
            gst::warning!(CAT, imp = self, "no zones configured: nothing is counted");
        }
        *lock(&self.state) = Some(State {
            counter: Counter::new(config, settings.memory_ns()),
            version: settings.version,
            width: 0,
            height: 0,
            segment: gst::FormattedSegment::new(),
            frames: 0,
            last_time_ns: 0,
            last_counts_ns: None,
            untracked_frames: 0,
            warned_untracked: false,
            unframed: Vec::new(),
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *lock(&self.state) = None;
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
        if let Some(state) = lock(&self.state).as_mut() {
            state.width = width as u32;
            state.height = height as u32;
        }
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::FlushStop(_) => self.end_tracks(true),
            gst::EventView::StreamStart(_) => self.end_tracks(false),
            gst::EventView::Eos(_) => {
                let mut out = Outbox::default();
                if let Some(state) = lock(&self.state).as_ref() {
                    out.counts = Some((state.last_time_ns, state.counter.counts()));
                }
                self.post(out);
            }
            gst::EventView::Segment(e) => {
                if let Some(segment) = e.segment().downcast_ref::<gst::ClockTime>()
                    && let Some(state) = lock(&self.state).as_mut()
                {
                    state.segment = segment.clone();
                }
            }
            _ => {}
        }
        self.parent_sink_event(event)
    }

    fn transform_ip(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = lock(&self.settings).clone();
        let mut out = Outbox::default();
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
            if state.version != settings.version {
                state.version = settings.version;
                match settings.zone_config() {
                    Ok(c) => {
                        gst::info!(CAT, imp = self, "new zones: {} zones", c.zones.len());
                        state.counter.set_config(c);
                    }
                    Err(e) => {
                        out.warning =
                            Some(format!("invalid zones, the previous ones are kept: {e}"))
                    }
                }
            }
            state.counter.set_memory(settings.memory_ns());

            let pts = buf.pts();
            let time_ns = state
                .segment
                .to_running_time(pts)
                .or(pts)
                .map(gst::ClockTime::nseconds)
                .unwrap_or(state.frames * FALLBACK_FRAME_NS);
            state.frames += 1;
            state.last_time_ns = time_ns;

            let (width, height) = (state.width, state.height);
            let objects = meta::objects(buf, width, height);
            let detector_frame = meta::frame_info(buf).inferred != Some(false);
            let tracked = objects.iter().any(|o| o.track_id.is_some());
            if !objects.is_empty() && !tracked && !state.warned_untracked {
                state.untracked_frames += 1;
                if state.untracked_frames >= UNTRACKED_FRAMES_WARNING {
                    state.warned_untracked = true;
                    out.warning = Some(format!(
                        "{UNTRACKED_FRAMES_WARNING} frames with objects but no track ids: nothing is counted; \
                         put edgetrack (or another tracker) before edgezones"
                    ));
                }
            }
            let obs: Vec<Observation> = objects
                .iter()
                .map(|o| Observation {
                    track_id: o.track_id,
                    label: &o.label,
                    bbox: [o.x1, o.y1, o.x2, o.y2],
                    // A predicted box (or any object on a frame the detector skipped) is not fresh.
                    fresh: detector_frame && o.tracking.as_ref().is_none_or(|t| t.tracked),
                })
                .collect();
            let (zones, events) = state.counter.update(width, height, time_ns, &obs);
            let writes: HashMap<usize, meta::ObjectZones> = zones
                .into_iter()
                .enumerate()
                .filter(|(_, z)| !z.is_empty())
                .map(|(i, z)| {
                    (
                        i,
                        meta::ObjectZones {
                            inside: z.inside,
                            crossed: z.has_crossed,
                            dwell: z.dwell_ns as f64 / 1e9,
                            loitering: z.loitering,
                            crossings: z
                                .crossed
                                .iter()
                                .map(|(zone, dir)| (zone.clone(), dir.as_str().to_string()))
                                .collect(),
                        },
                    )
                })
                .collect();
            drop(obs);
            meta::set_object_zones(buf, &writes);
            let counts = state.counter.counts();
            if !counts.is_empty()
                && let Err(e) = meta::set_zone_counters(
                    buf,
                    &meta_counters(
                        &counts,
                        &meta_geometry(state.counter.config(), width, height),
                    ),
                )
            {
                gst::warning!(CAT, imp = self, "cannot add the frame meta: {e}");
            }
            let framed: Vec<meta::FrameZoneEvent> = state
                .unframed
                .drain(..)
                .chain(events.iter().cloned())
                .map(|e| frame_event(&e))
                .collect();
            if let Err(e) = meta::add_zone_events(buf, &framed) {
                gst::warning!(
                    CAT,
                    imp = self,
                    "cannot add the zone events to the frame meta: {e}"
                );
            }
            out.events = events;
            let interval_ns = u64::from(settings.counts_interval_ms) * 1_000_000;
            if interval_ns > 0
                && !counts.is_empty()
                && state
                    .last_counts_ns
                    .is_none_or(|t| time_ns < t || time_ns - t >= interval_ns)
            {
                state.last_counts_ns = Some(time_ns);
                out.counts = Some((time_ns, counts));
            }
        }
        self.post(out);
        Ok(gst::FlowSuccess::Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sources_is_an_error_and_none_is_empty() {
        let mut s = Settings::default();
        assert_eq!(s.zone_config().unwrap().zones.len(), 0);
        s.zones = Some("a=line:0,0,1,1".into());
        assert_eq!(s.zone_config().unwrap().zones.len(), 1);
        s.config = Some("/nonexistent.toml".into());
        assert!(s.zone_config().unwrap_err().contains("set one of them"));
        s.zones = None;
        assert!(
            s.zone_config()
                .unwrap_err()
                .contains("cannot read the zone file /nonexistent.toml")
        );
    }
}
