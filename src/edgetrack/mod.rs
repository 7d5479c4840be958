// SPDX-License-Identifier: MPL-2.0
//! `edgetrack`: multi-object tracking (ByteTrack, SORT, IoU) of the objects
//! a detector attached, with Kalman-predicted boxes on the frames the
//! detector skipped.
//!
//! An in-place filter that never reads pixels. It reads the
//! `GstVideoRegionOfInterestMeta`s of each buffer (written by `edgedetect`,
//! DL Streamer's `gvadetect`, or any producer; see [`crate::meta`]) and runs
//! the GStreamer-free [`crate::tracker::Tracker`] on them:
//!
//! - on a **detector frame** (`inferred` true in the `EdgeAIFrameMeta`, or
//!   no marker at all) each detection matched to a confirmed track gets an
//!   `object_id` structure (`id`, as `gvatrack` writes it) and a `tracking`
//!   structure (`track_id`, `age`, `state=tracked`, velocity). Detections
//!   the tracker did not match keep their ROI meta unchanged, without id:
//!   detector output is never deleted;
//! - on a frame the detector **skipped** (`inferred=false`, e.g.
//!   `edgedetect interval=3`) the tracks that were matched at the last
//!   detector frame are added as new ROI metas at their Kalman-predicted
//!   boxes, with a `detection` structure (the track's label and last score)
//!   and `state=predicted`, so an overlay draws a box on every frame.
//!
//! Track ids are unique per stream and never reused, also across flushes.
//! An `edgetrack-track` element message announces each track's start
//! (`event=new`) and end (`event=lost`).
//!
//! ```text
//! gst-launch-1.0 filesrc location=vtest.avi ! decodebin ! videoconvert ! \
//!     edgedetect model=yolox_nano.onnx labels=coco.names interval=3 ! \
//!     edgetrack ! edgejson ! fakesink
//! ```
//!
//! See `docs/edgetrack.md` for every property, field and message.

use gst::glib;
use gst::prelude::*;

mod imp;

/// Name of the element message posted when a track starts or ends.
pub const TRACK_MESSAGE_NAME: &str = "edgetrack-track";

/// Association algorithm (the `tracker` property).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstEdgeTrackAlgorithm")]
pub enum TrackerAlgorithm {
    #[default]
    #[enum_value(
        name = "ByteTrack: Kalman motion, high- then low-score association",
        nick = "bytetrack"
    )]
    ByteTrack = 0,
    #[enum_value(
        name = "SORT: Kalman motion, one IoU association of the high-score detections",
        nick = "sort"
    )]
    Sort = 1,
    #[enum_value(
        name = "IoU: no motion model, greedy IoU association (boxes stay in place on skipped frames)",
        nick = "iou"
    )]
    Iou = 2,
}

impl From<TrackerAlgorithm> for crate::tracker::Algorithm {
    fn from(a: TrackerAlgorithm) -> Self {
        match a {
            TrackerAlgorithm::ByteTrack => crate::tracker::Algorithm::ByteTrack,
            TrackerAlgorithm::Sort => crate::tracker::Algorithm::Sort,
            TrackerAlgorithm::Iou => crate::tracker::Algorithm::Iou,
        }
    }
}

glib::wrapper! {
    pub struct EdgeTrack(ObjectSubclass<imp::EdgeTrack>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    #[cfg(feature = "doc")]
    {
        TrackerAlgorithm::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    }
    gst::Element::register(
        Some(plugin),
        "edgetrack",
        gst::Rank::NONE,
        EdgeTrack::static_type(),
    )
}
