// SPDX-License-Identifier: MPL-2.0

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::Instant;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;

use crate::draw::zones::{ALERT, ALERT_FILL_ALPHA, CROSSING_HIGHLIGHT_NS, ZONE_FILL_ALPHA};
use crate::draw::{
    BoxSpec, Canvas, LabelParts, LineZoneSpec, ObjectZoneState, Painter, PlaneMut, PolygonZoneSpec,
    RateWindow, label_text, object_color, object_zone_state, panel_lines, zone_color,
};
use crate::frame::{PixelLayout, YuvConversion};
use crate::meta;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "edgeoverlay",
        gst::DebugColorFlags::empty(),
        Some("Edge AI overlay"),
    )
});

const DEFAULT_LINE_WIDTH: u32 = 2;
const MIN_LINE_WIDTH: u32 = 1;
const MAX_LINE_WIDTH: u32 = 64;
const DEFAULT_FONT_SIZE: u32 = 14;
const MIN_FONT_SIZE: u32 = 6;
const MAX_FONT_SIZE: u32 = 256;
const DEFAULT_SHOW_LABELS: bool = true;
const DEFAULT_SHOW_CONFIDENCE: bool = true;
const DEFAULT_SHOW_TRACK_ID: bool = true;
const DEFAULT_SHOW_STATS: bool = false;
const DEFAULT_DRAW_ZONES: bool = true;
/// Frame duration assumed for crossing highlights when buffers carry no timestamps.
const FALLBACK_FRAME_NS: u64 = 33_333_333;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, Clone, Copy)]
struct Settings {
    line_width: u32,
    font_size: u32,
    show_labels: bool,
    show_confidence: bool,
    show_track_id: bool,
    show_stats: bool,
    draw_zones: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            line_width: DEFAULT_LINE_WIDTH,
            font_size: DEFAULT_FONT_SIZE,
            show_labels: DEFAULT_SHOW_LABELS,
            show_confidence: DEFAULT_SHOW_CONFIDENCE,
            show_track_id: DEFAULT_SHOW_TRACK_ID,
            show_stats: DEFAULT_SHOW_STATS,
            draw_zones: DEFAULT_DRAW_ZONES,
        }
    }
}

impl Settings {
    fn label_parts(&self) -> LabelParts {
        LabelParts {
            class_name: self.show_labels,
            confidence: self.show_confidence,
            track_id: self.show_track_id,
        }
    }
}

struct State {
    info: Option<gst_video::VideoInfo>,
    layout: PixelLayout,
    yuv: YuvConversion,
    painter: Painter,
    window: RateWindow,
    epoch: Instant,
    /// The objects of the last inferred frame, drawn again on frames that
    /// were not inferred and carry none (no tracker upstream), so that boxes
    /// do not blink with `interval` or `edgedetect mode=live`.
    last_inferred: Vec<meta::Object>,
    /// Track id → (time, inward) of its last counted line crossing, kept
    /// [`CROSSING_HIGHLIGHT_NS`] so the crossing colour lasts long enough to see.
    crossings: HashMap<u64, (u64, bool)>,
    frames: u64,
}

/// A zone to draw.
enum ZoneSpec {
    Line(LineZoneSpec),
    Polygon(PolygonZoneSpec),
}

/// The drawable zones of the frame's counters (those that carry geometry).
fn zone_specs(counters: &[meta::ZoneCounter]) -> Vec<ZoneSpec> {
    counters
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let g = c.geometry.as_ref()?;
            match (&g.in_side, g.points.as_slice()) {
                (Some(side), [a, b, ..]) => Some(ZoneSpec::Line(LineZoneSpec {
                    a: *a,
                    b: *b,
                    in_right: side == "right",
                    color: zone_color(i),
                    label: format!("{} in {} out {}", c.name, c.crossed_in, c.crossed_out),
                })),
                (None, points) if points.len() >= 3 => {
                    let crowded = c.overcrowded();
                    Some(ZoneSpec::Polygon(PolygonZoneSpec {
                        points: points.to_vec(),
                        color: if crowded { ALERT } else { zone_color(i) },
                        fill_alpha: if crowded {
                            ALERT_FILL_ALPHA
                        } else {
                            ZONE_FILL_ALPHA
                        },
                        label: if g.max_occupancy > 0 {
                            format!("{} {}/{}", c.name, c.occupancy, g.max_occupancy)
                        } else {
                            format!("{} {}", c.name, c.occupancy)
                        },
                    }))
                }
                _ => None,
            }
        })
        .collect()
}

#[derive(Default)]
pub struct EdgeOverlay {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

impl EdgeOverlay {
    /// Draws `zones`, `boxes` and the panel `lines` on the mapped frame.
    fn draw(
        &self,
        state: &mut State,
        buf: &mut gst::BufferRef,
        zones: &[ZoneSpec],
        boxes: &[BoxSpec],
        lines: &[String],
    ) -> Result<(), String> {
        let Some(info) = state.info.as_ref() else {
            return Err("no caps".into());
        };
        let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(buf, info)
            .map_err(|e| format!("cannot map the video frame for writing: {e}"))?;
        let (width, height) = (frame.width() as usize, frame.height() as usize);
        let n = frame.n_planes() as usize;
        let mut strides = [0usize; 4];
        for (i, s) in frame.plane_stride().iter().enumerate().take(n) {
            strides[i] = usize::try_from(*s).map_err(|_| format!("negative stride {s}"))?;
        }
        let planes: Vec<PlaneMut<'_>> = frame
            .planes_data_mut()
            .into_iter()
            .zip(strides)
            .take(n)
            .map(|(data, stride)| PlaneMut { data, stride })
            .collect();
        let mut canvas = Canvas::new(state.layout, width, height, planes, state.yuv)
            .map_err(|e| format!("cannot draw on the frame: {e}"))?;
        // Polygons under lines: a line and its arrow stay whole over a fill.
        for z in zones {
            if let ZoneSpec::Polygon(p) = z {
                state.painter.draw_polygon_zone(&mut canvas, p);
            }
        }
        for z in zones {
            if let ZoneSpec::Line(l) = z {
                state.painter.draw_line_zone(&mut canvas, l);
            }
        }
        for b in boxes {
            state.painter.draw_box(&mut canvas, b);
        }
        state.painter.draw_panel(&mut canvas, lines);
        Ok(())
    }
}

impl EdgeOverlay {
    /// The zone state of each object (same order as `objects`), remembering
    /// this frame's line crossings for [`CROSSING_HIGHLIGHT_NS`].
    fn zone_states(
        &self,
        state: &mut State,
        buf: &gst::BufferRef,
        objects: &[meta::Object],
        counters: &[meta::ZoneCounter],
        time_ns: u64,
    ) -> Vec<ObjectZoneState> {
        let mut object_zones = meta::object_zones(buf).into_iter();
        let per_object: Vec<Option<meta::ObjectZones>> = objects
            .iter()
            .map(|_| object_zones.next().flatten())
            .collect();
        // Forget highlights that are over, or from the future (a seek back).
        state
            .crossings
            .retain(|_, (t, _)| *t <= time_ns && time_ns - *t < CROSSING_HIGHLIGHT_NS);
        for (o, z) in objects.iter().zip(&per_object) {
            if let (Some(id), Some((_, dir))) =
                (o.track_id, z.as_ref().and_then(|z| z.crossings.last()))
            {
                state.crossings.insert(id, (time_ns, dir == "in"));
            }
        }
        let zones: Vec<(&str, bool)> = counters
            .iter()
            .map(|c| (c.name.as_str(), c.overcrowded()))
            .collect();
        objects
            .iter()
            .zip(&per_object)
            .map(|(o, z)| {
                let recent = o
                    .track_id
                    .and_then(|id| state.crossings.get(&id))
                    .map(|(_, inward)| *inward);
                match z {
                    Some(z) => object_zone_state(z.loitering, &z.inside, recent, &zones),
                    None => object_zone_state(false, &[], recent, &zones),
                }
            })
            .collect()
    }
}

#[glib::object_subclass]
impl ObjectSubclass for EdgeOverlay {
    const NAME: &'static str = "GstEdgeOverlay";
    type Type = super::EdgeOverlay;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for EdgeOverlay {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecUInt::builder("line-width")
                    .nick("Line width")
                    .blurb("Thickness of the box outlines in pixels (drawn inside the box)")
                    .minimum(MIN_LINE_WIDTH)
                    .maximum(MAX_LINE_WIDTH)
                    .default_value(DEFAULT_LINE_WIDTH)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("font-size")
                    .nick("Font size")
                    .blurb("Height of the label and statistics text in pixels")
                    .minimum(MIN_FONT_SIZE)
                    .maximum(MAX_FONT_SIZE)
                    .default_value(DEFAULT_FONT_SIZE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("show-labels")
                    .nick("Show labels")
                    .blurb("Write the class name in each box's label")
                    .default_value(DEFAULT_SHOW_LABELS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("show-confidence")
                    .nick("Show confidence")
                    .blurb("Write the detection confidence in each box's label")
                    .default_value(DEFAULT_SHOW_CONFIDENCE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("show-track-id")
                    .nick("Show track id")
                    .blurb("Write the track id (#N) in the label of tracked objects")
                    .default_value(DEFAULT_SHOW_TRACK_ID)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("show-stats")
                    .nick("Show statistics")
                    .blurb(
                        "Draw a panel in the top-left corner: overlay fps, inference rate and \
                         latency, temperature and throttle factor (with thermalgate upstream)",
                    )
                    .default_value(DEFAULT_SHOW_STATS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("draw-zones")
                    .nick("Draw zones")
                    .blurb(
                        "Draw the zones of edgezones upstream (lines with their in arrow and \
                         counts, polygons translucent with their occupancy) and colour objects \
                         by their zone state",
                    )
                    .default_value(DEFAULT_DRAW_ZONES)
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = lock(&self.settings);
        match pspec.name() {
            "line-width" => s.line_width = value.get().unwrap_or(DEFAULT_LINE_WIDTH),
            "font-size" => s.font_size = value.get().unwrap_or(DEFAULT_FONT_SIZE),
            "show-labels" => s.show_labels = value.get().unwrap_or(DEFAULT_SHOW_LABELS),
            "show-confidence" => s.show_confidence = value.get().unwrap_or(DEFAULT_SHOW_CONFIDENCE),
            "show-track-id" => s.show_track_id = value.get().unwrap_or(DEFAULT_SHOW_TRACK_ID),
            "show-stats" => s.show_stats = value.get().unwrap_or(DEFAULT_SHOW_STATS),
            "draw-zones" => s.draw_zones = value.get().unwrap_or(DEFAULT_DRAW_ZONES),
            other => gst::warning!(CAT, imp = self, "unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = *lock(&self.settings);
        match pspec.name() {
            "line-width" => s.line_width.to_value(),
            "font-size" => s.font_size.to_value(),
            "show-labels" => s.show_labels.to_value(),
            "show-confidence" => s.show_confidence.to_value(),
            "show-track-id" => s.show_track_id.to_value(),
            "show-stats" => s.show_stats.to_value(),
            "draw-zones" => s.draw_zones.to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl GstObjectImpl for EdgeOverlay {}

impl ElementImpl for EdgeOverlay {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Edge AI overlay",
                "Filter/Effect/Video",
                "Draws the objects of the region-of-interest metadata (boxes, labels, track ids) \
                 and optional live statistics on the video",
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
}

impl BaseTransformImpl for EdgeOverlay {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = *lock(&self.settings);
        let painter = Painter::new(settings.line_width, settings.font_size)
            .map_err(|e| gst::error_msg!(gst::LibraryError::Init, ("{}", e)))?;
        *lock(&self.state) = Some(State {
            info: None,
            layout: PixelLayout::Rgb,
            yuv: YuvConversion::default(),
            painter,
            window: RateWindow::new(),
            epoch: Instant::now(),
            last_inferred: Vec::new(),
            crossings: HashMap::new(),
            frames: 0,
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *lock(&self.state) = None;
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let info = gst_video::VideoInfo::from_caps(incaps)
            .map_err(|_| gst::loggable_error!(CAT, "cannot parse caps {incaps}"))?;
        let layout = crate::video::pixel_layout(info.format())
            .ok_or_else(|| gst::loggable_error!(CAT, "unsupported format {:?}", info.format()))?;
        let yuv = crate::video::yuv_conversion(&info);
        gst::debug!(CAT, imp = self, "caps {incaps}, YUV {yuv:?}");
        let mut state = lock(&self.state);
        let state = state
            .as_mut()
            .ok_or_else(|| gst::loggable_error!(CAT, "caps before start"))?;
        state.info = Some(info);
        state.last_inferred.clear();
        state.layout = layout;
        state.yuv = yuv;
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::FlushStop(_) = event.view()
            && let Some(state) = lock(&self.state).as_mut()
        {
            state.window.clear();
            state.crossings.clear();
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
        let frame_info = meta::frame_info(buf);

        let result = {
            let mut guard = lock(&self.state);
            let Some(state) = guard.as_mut() else {
                drop(guard);
                gst::element_imp_error!(self, gst::CoreError::Negotiation, ("buffer before start"));
                return Err(gst::FlowError::NotNegotiated);
            };
            let Some((width, height)) = state.info.as_ref().map(|i| (i.width(), i.height())) else {
                drop(guard);
                gst::element_imp_error!(self, gst::CoreError::Negotiation, ("buffer before caps"));
                return Err(gst::FlowError::NotNegotiated);
            };

            let now = state.epoch.elapsed().as_secs_f64();
            let latency = frame_info
                .inference_latency_ms
                .filter(|_| frame_info.inferred == Some(true));
            state.window.push(now, frame_info.inferred, latency);

            let objects = meta::objects(buf, width, height);
            let (zones, mut objects): (
                Vec<ZoneSpec>,
                Vec<(meta::Object, Option<ObjectZoneState>)>,
            ) = if settings.draw_zones {
                let time_ns = buf
                    .pts()
                    .map(gst::ClockTime::nseconds)
                    .unwrap_or(state.frames * FALLBACK_FRAME_NS);
                let counters = meta::zone_counters(buf);
                let states = self.zone_states(state, buf, &objects, &counters, time_ns);
                (
                    zone_specs(&counters),
                    objects
                        .into_iter()
                        .zip(states.into_iter().map(Some))
                        .collect(),
                )
            } else {
                (Vec::new(), objects.into_iter().map(|o| (o, None)).collect())
            };
            state.frames += 1;
            match frame_info.inferred {
                Some(true) => {
                    state.last_inferred = objects.iter().map(|(o, _)| o.clone()).collect()
                }
                Some(false) if objects.is_empty() => {
                    objects = state
                        .last_inferred
                        .iter()
                        .map(|o| (o.clone(), None))
                        .collect()
                }
                _ => {}
            }
            // Least confident first: where labels overlap, the most
            // confident one is drawn last, on top.
            objects.sort_by(|a, b| a.0.confidence.total_cmp(&b.0.confidence));
            if objects.is_empty() && !settings.show_stats && zones.is_empty() {
                return Ok(gst::FlowSuccess::Ok);
            }

            if state.painter.line_width() != settings.line_width
                || state.painter.font_size() != settings.font_size
            {
                match Painter::new(settings.line_width, settings.font_size) {
                    Ok(p) => state.painter = p,
                    Err(e) => gst::warning!(CAT, imp = self, "keeping the old font size: {e}"),
                }
            }
            let parts = settings.label_parts();
            let boxes: Vec<BoxSpec> = objects
                .iter()
                .map(|(o, zone_state)| BoxSpec {
                    x1: o.x1,
                    y1: o.y1,
                    x2: o.x2,
                    y2: o.y2,
                    color: {
                        let own = object_color(o.track_id, o.class_id, &o.label);
                        zone_state.map_or(own, |s| s.color(own))
                    },
                    predicted: o.tracking.as_ref().is_some_and(|t| !t.tracked),
                    label: label_text(parts, &o.label, o.confidence, o.track_id),
                })
                .collect();
            let lines = if settings.show_stats {
                panel_lines(
                    &state.window.rates(),
                    frame_info.temperature,
                    frame_info.throttle_factor,
                )
            } else {
                Vec::new()
            };
            gst::trace!(
                CAT,
                imp = self,
                "drawing {} zones, {} objects",
                zones.len(),
                boxes.len()
            );
            self.draw(state, buf, &zones, &boxes, &lines)
        };

        match result {
            Ok(()) => Ok(gst::FlowSuccess::Ok),
            Err(e) => {
                gst::element_imp_error!(self, gst::StreamError::Failed, ("{}", e));
                Err(gst::FlowError::Error)
            }
        }
    }
}
