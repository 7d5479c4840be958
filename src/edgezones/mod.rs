// SPDX-License-Identifier: MPL-2.0
//! `edgezones`: counts tracked objects crossing lines and staying in
//! polygons, in the pipeline.
//!
//! A pass-through element placed after `edgetrack` (it needs track ids;
//! without them it says so once and counts nothing). Zones come from a
//! file (`config`, TOML or JSON) or the compact `zones` property, in
//! fractions of the frame by default (pixels when the configuration says
//! so), and can change while playing: a zone that keeps its name keeps its
//! counts. The rules (hysteresis, once per track and direction, a fresh
//! detection on one side of a crossing, dwell across lost-and-found tracks)
//! are those of [`crate::zones::counter`].
//!
//! Results:
//! - each object's ROI meta gets a `zones` parameter structure (the polygons
//!   it is in, the lines its track crossed, dwell, loitering), see
//!   [`crate::meta::ObjectZones`];
//! - each frame's `EdgeAIFrameMeta` gets the counters of every zone
//!   ([`crate::meta::ZoneCounter`]);
//! - an `edgezones-event` element message per event (crossing, enter, exit,
//!   overcrowded, cleared, loitering) and an `edgezones-counts` message every
//!   `counts-interval` and at EOS.
//!
//! ```text
//! gst-launch-1.0 filesrc location=vtest.avi ! decodebin ! videoconvert ! \
//!     edgedetect model=yolox_nano.onnx labels=coco.names interval=3 ! edgetrack ! \
//!     edgezones zones="door=line:0.3,0.55,0.75,0.55;square=polygon:0.3,0.3,0.7,0.3,0.7,0.8,0.3,0.8" ! \
//!     edgejson location=out.jsonl ! fakesink
//! ```
//!
//! See `docs/edgezones.md` for every property, field and message.

use gst::glib;
use gst::prelude::*;

mod imp;

/// Name of the element message posted per zone event.
pub const EVENT_MESSAGE_NAME: &str = "edgezones-event";
/// Name of the periodic element message with every zone's counters.
pub const COUNTS_MESSAGE_NAME: &str = "edgezones-counts";

glib::wrapper! {
    pub struct EdgeZones(ObjectSubclass<imp::EdgeZones>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "edgezones",
        gst::Rank::NONE,
        EdgeZones::static_type(),
    )
}
