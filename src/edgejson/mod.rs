// SPDX-License-Identifier: MPL-2.0
//! `edgejson`: writes what the pipeline saw as JSON Lines, one object per frame.
//!
//! A pass-through element; each buffer becomes one line
//!
//! ```json
//! {"frame": 0, "pts": 0, "width": 768, "height": 576, "inferred": true,
//!  "objects": [{"label": "person", "class_id": 0, "confidence": 0.87,
//!               "box": [x1, y1, x2, y2], "track_id": 3}]}
//! ```
//!
//! written to `location`, or to standard output when `location` is unset.
//! `box` is in frame pixels; `track_id` is present only for tracked objects.
//!
//! ```text
//! gst-launch-1.0 filesrc location=vtest.avi ! decodebin ! videoconvert ! \
//!     edgedetect model=yolox_nano.onnx labels=coco.names ! edgejson location=out.jsonl ! fakesink
//! ```

use gst::glib;
use gst::prelude::*;

mod imp;

pub(crate) use imp::frame_line;

glib::wrapper! {
    pub struct EdgeJson(ObjectSubclass<imp::EdgeJson>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "edgejson",
        gst::Rank::NONE,
        EdgeJson::static_type(),
    )
}
