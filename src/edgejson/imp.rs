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
}

#[derive(Serialize)]
struct JsonFrame<'a> {
    frame: u64,
    pts: Option<u64>,
    width: u32,
    height: u32,
    inferred: bool,
    objects: Vec<JsonObject<'a>>,
}

fn round(v: f64, digits: i32) -> f64 {
    let k = 10f64.powi(digits);
    (v * k).round() / k
}

/// One JSON line for one buffer.
fn frame_line(
    frame: u64,
    buf: &gst::BufferRef,
    width: u32,
    height: u32,
) -> Result<String, serde_json::Error> {
    let info = meta::frame_info(buf);
    let objects = meta::objects(buf, width, height);
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
            })
            .collect(),
    };
    serde_json::to_string(&json)
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
            frame: 0,
            width: 0,
            height: 0,
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        if let Some(mut state) = self.state.lock().unwrap_or_else(|e| e.into_inner()).take() {
            state.out.flush().map_err(|e| {
                gst::error_msg!(
                    gst::ResourceError::Write,
                    ("cannot flush JSON output: {}", e)
                )
            })?;
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
                Ok(line) => state
                    .out
                    .write_all(line.as_bytes())
                    .and_then(|_| state.out.write_all(b"\n"))
                    .and_then(|_| state.out.flush())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        };
        if let Err(e) = result {
            gst::element_imp_error!(
                self,
                gst::ResourceError::Write,
                ("cannot write JSON line: {}", e)
            );
            return Err(gst::FlowError::Error);
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
