// SPDX-License-Identifier: MPL-2.0
//! `edgeoverlay`: draws what the pipeline saw on the video.
//!
//! An in-place filter for a person watching a monitor: for every object in
//! the buffer's metadata ([`crate::meta`]: ROI metas from `edgedetect`,
//! `edgetrack` or DL Streamer) it draws the box and a label with the class
//! name, the confidence and the track id. The colour is stable per track id
//! (per class when the object is not tracked); boxes a tracker predicted
//! without a detection are drawn dashed, with a half-transparent label. With
//! `show-stats=true` a panel in the top-left corner shows the overlay's frame
//! rate, the detector's inference rate and latency, and, when `thermalgate`
//! is upstream, the temperature and throttle factor.
//!
//! With `edgezones` upstream (and `draw-zones=true`, the default) it also
//! draws the zones from the geometry `edgezones` writes into the frame meta:
//! lines with an arrow to their `in` side and their in/out counts, polygons
//! translucent with their occupancy (red when overcrowded), and colours each
//! object by its zone state (loitering, just crossed a line, inside a
//! polygon).
//!
//! Pixels are written in place on RGB, BGR, RGBA, BGRA, RGBx, BGRx, NV12 and
//! I420 frames of any size and stride; a frame without objects (and without
//! the panel) passes byte for byte. The drawing itself is in [`crate::draw`];
//! text uses the font the build carries, never a system font.
//!
//! ```text
//! gst-launch-1.0 filesrc location=vtest.avi ! decodebin ! videoconvert ! \
//!     edgedetect model=yolox_nano.onnx labels=coco.names ! \
//!     edgeoverlay show-stats=true ! videoconvert ! autovideosink
//! ```
//!
//! See `docs/edgeoverlay.md` for every property, the colours and the panel.

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    pub struct EdgeOverlay(ObjectSubclass<imp::EdgeOverlay>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "edgeoverlay",
        gst::Rank::NONE,
        EdgeOverlay::static_type(),
    )
}
