// SPDX-License-Identifier: MPL-2.0

use std::io::Write;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use serde::Serialize;

use crate::meta;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "edgejson",
        gst::DebugColorFlags::empty(),
        Some("Edge AI JSON Lines writer"),
    )
});

#[derive(Debug, Clone, Default)]
struct Settings {
    location: Option<String>,
}

struct State {
    out: Box<dyn Write + Send>,
    /// Where `out` writes, for the messages.
    target: String,
    /// A write already failed and was reported: `stop` says nothing more.
    failed: bool,
    frame: u64,
    width: u32,
    height: u32,
}

#[derive(Default)]
pub struct EdgeJson {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

#[derive(Serialize)]
struct JsonObject<'a> {
    label: &'a str,
    class_id: i32,
    confidence: f64,
    #[serde(rename = "box")]
    bbox: [f64; 4],
    #[serde(skip_serializing_if = "Option::is_none")]
    track_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'static str>,
    /// Written by `edgezones`.
    #[serde(skip_serializing_if = "Option::is_none")]
    zones: Option<JsonObjectZones>,
}

/// An object's zones (`edgezones`).
#[derive(Serialize)]
struct JsonObjectZones {
    inside: Vec<String>,
    crossed: Vec<String>,
    dwell: f64,
    loitering: bool,
}

/// One zone's counters on this frame (`edgezones`).
#[derive(Serialize)]
struct JsonZoneCounter {
    name: String,
    kind: String,
    #[serde(rename = "in")]
    crossed_in: u64,
    #[serde(rename = "out")]
    crossed_out: u64,
    occupancy: u32,
    entered: u64,
    exited: u64,
    labels: Vec<JsonLabelCounter>,
}

#[derive(Serialize)]
struct JsonLabelCounter {
    label: String,
    #[serde(rename = "in")]
    crossed_in: u64,
    #[serde(rename = "out")]
    crossed_out: u64,
    occupancy: u32,
}

#[derive(Serialize)]
struct JsonFrame<'a> {
    frame: u64,
    pts: Option<u64>,
    width: u32,
    height: u32,
    inferred: bool,
    objects: Vec<JsonObject<'a>>,
    /// Zone counters (`edgezones`); absent without zones.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    zones: Vec<JsonZoneCounter>,
}

fn round(v: f64, digits: i32) -> f64 {
    let k = 10f64.powi(digits);
    (v * k).round() / k
}

/// One JSON line for one buffer (also `edgemqtt`'s payload).
pub(crate) fn frame_line(
    frame: u64,
    buf: &gst::BufferRef,
    width: u32,
    height: u32,
) -> Result<String, serde_json::Error> {
    let info = meta::frame_info(buf);
    let objects = meta::objects(buf, width, height);
    let mut object_zones = meta::object_zones(buf).into_iter();
    let zones = meta::zone_counters(buf)
        .into_iter()
        .map(|z| JsonZoneCounter {
            name: z.name,
            kind: z.kind,
            crossed_in: z.crossed_in,
            crossed_out: z.crossed_out,
            occupancy: z.occupancy,
            entered: z.entered,
            exited: z.exited,
            labels: z
                .labels
                .into_iter()
                .map(|l| JsonLabelCounter {
                    label: l.label,
                    crossed_in: l.crossed_in,
                    crossed_out: l.crossed_out,
                    occupancy: l.occupancy,
                })
                .collect(),
        })
        .collect();
    let json = JsonFrame {
        frame,
        pts: buf.pts().map(|t| t.nseconds()),
        width,
        height,
        inferred: info.inferred == Some(true),
        objects: objects
            .iter()
            .map(|o| JsonObject {
                label: &o.label,
                class_id: o.class_id,
                confidence: round(o.confidence, 5),
                bbox: [
                    round(o.x1, 2),
                    round(o.y1, 2),
                    round(o.x2, 2),
                    round(o.y2, 2),
                ],
                track_id: o.track_id,
                state: o
                    .tracking
                    .as_ref()
                    .map(|t| if t.tracked { "tracked" } else { "predicted" }),
                zones: object_zones.next().flatten().map(|z| JsonObjectZones {
                    inside: z.inside,
                    crossed: z.crossed,
                    dwell: round(z.dwell, 3),
                    loitering: z.loitering,
                }),
            })
            .collect(),
        zones,
    };
    serde_json::to_string(&json)
}

/// The error, and what to do about it where the cause is a full disk or a
/// file size limit.
fn write_advice(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::StorageFull => {
            format!("{e}; the disk is full: free space or point `location` at another disk")
        }
        std::io::ErrorKind::FileTooLarge => {
            format!("{e}; the file reached the process's file size limit (ulimit -f)")
        }
        _ => e.to_string(),
    }
}

#[glib::object_subclass]
impl ObjectSubclass for EdgeJson {
    const NAME: &'static str = "GstEdgeJson";
    type Type = super::EdgeJson;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for EdgeJson {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("location")
                    .nick("Location")
                    .blurb("File to write JSON Lines to (truncated at start); standard output when unset")
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        if pspec.name() == "location" {
            let mut s = self.settings.lock().unwrap_or_else(|e| e.into_inner());
            s.location = value
                .get::<Option<String>>()
                .ok()
                .flatten()
                .filter(|s| !s.is_empty());
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "location" => self
                .settings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .location
                .to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl GstObjectImpl for EdgeJson {}

impl ElementImpl for EdgeJson {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Edge AI JSON Lines writer",
                "Filter/Analyzer/Video",
                "Writes each frame's detected and tracked objects as one JSON object per line",
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

impl BaseTransformImpl for EdgeJson {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = true;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = true;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let location = self
            .settings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .location
            .clone();
        let out: Box<dyn Write + Send> = match &location {
            Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| {
                gst::error_msg!(
                    gst::ResourceError::OpenWrite,
                    ("cannot create {}: {}; check the `location` property and that its folder is writable", path, e)
                )
            })?)),
            None => Box::new(std::io::BufWriter::new(std::io::stdout())),
        };
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = Some(State {
            out,
            target: location.unwrap_or_else(|| "standard output".into()),
            failed: false,
            frame: 0,
            width: 0,
            height: 0,
        });
        Ok(())
    }

    /// Never fails: a flush error (full disk, size limit) is reported once,
    /// as a warning, and the element stops anyway, so that the pipeline
    /// reaches NULL. Nothing is pending after a failed write (each line is
    /// flushed when written), so a failure here is only reported when no
    /// write error was reported before.
    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut state) = state
            && let Err(e) = state.out.flush()
            && !state.failed
        {
            gst::element_imp_warning!(
                self,
                gst::ResourceError::Write,
                (
                    "cannot flush JSON output to {}: {}",
                    state.target,
                    write_advice(&e)
                )
            );
        }
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let s = incaps
            .structure(0)
            .ok_or_else(|| gst::loggable_error!(CAT, "empty caps"))?;
        let width = s.get::<i32>("width").unwrap_or(0).max(0) as u32;
        let height = s.get::<i32>("height").unwrap_or(0).max(0) as u32;
        if let Some(state) = self
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            state.width = width;
            state.height = height;
        }
        Ok(())
    }

    fn transform_ip_passthrough(
        &self,
        buf: &gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let result = {
            let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let Some(state) = guard.as_mut() else {
                return Err(gst::FlowError::Flushing);
            };
            let line = frame_line(state.frame, buf, state.width, state.height);
            state.frame += 1;
            match line {
                Ok(line) => {
                    let written = state
                        .out
                        .write_all(line.as_bytes())
                        .and_then(|_| state.out.write_all(b"\n"))
                        .and_then(|_| state.out.flush());
                    match written {
                        Ok(()) => Ok(()),
                        // Report once; `failed` keeps `stop` quiet.
                        Err(_) if state.failed => return Err(gst::FlowError::Error),
                        Err(e) => {
                            state.failed = true;
                            Err((
                                e.kind() == std::io::ErrorKind::StorageFull,
                                format!(
                                    "cannot write JSON line to {}: {}",
                                    state.target,
                                    write_advice(&e)
                                ),
                            ))
                        }
                    }
                }
                Err(e) => Err((false, format!("cannot serialise JSON line: {e}"))),
            }
        };
        if let Err((full, e)) = result {
            if full {
                gst::element_imp_error!(self, gst::ResourceError::NoSpaceLeft, ("{}", e));
            } else {
                gst::element_imp_error!(self, gst::ResourceError::Write, ("{}", e));
            }
            return Err(gst::FlowError::Error);
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
