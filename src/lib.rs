// SPDX-License-Identifier: MPL-2.0
#![allow(clippy::non_send_fields_in_send_ty, unused_doc_comments)]

//! GStreamer elements for video analytics on edge devices.
//!
//! Elements (one folder each, `mod.rs` + `imp.rs`):
//! - [`edgedetect`]: YOLO-family object detection with ONNX Runtime.
//! - [`edgejson`]: writes what the pipeline saw as JSON Lines.
//! - [`edgetrack`]: multi-object tracking, predicted boxes on skipped frames.
//! - [`edgeoverlay`]: draws boxes, labels, track ids and live statistics on the video.
//! - [`edgeevents`]: keeps tracks, counts and system events in SQLite, synced upstream.
//! - [`thermalgate`]: sheds inference before the SoC throttles; reports the temperature.
//!
//! Plain modules that need no GStreamer, each with its own unit tests:
//! - [`draw`]: boxes, dashed outlines, text and the statistics panel on raw frames.
//! - [`inference`]: letterbox pre-processing, output decoders, NMS, model family detection.
//! - [`runtime`]: ONNX Runtime discovery, the detector session, model instances shared by id.
//! - [`scheduler`]: the live-mode policy: which frame is inferred, release order, latency estimate.
//! - [`thermal`]: thermal policy, frame pacing and temperature sensors.
//! - [`events`]: the event store (SQLite), its writer and sync threads, snapshots.
//! - [`runner`]: the supervisor logic of the `edgeai-run` binary (config, restart policy, stall, stats).
//! - [`tracker`]: ByteTrack / SORT / IoU multi-object tracking, synthetic sequences, MOT metrics.
//!
//! [`meta`] is the one place where the plugin reads and writes buffer metadata.

use gst::glib;

pub mod draw;
pub mod edgedetect;
pub mod edgeevents;
pub mod edgejson;
pub mod edgeoverlay;
pub mod edgetrack;
pub mod events;
pub mod inference;
pub mod meta;
pub mod runner;
pub mod runtime;
pub mod scheduler;
pub mod thermal;
pub mod thermalgate;
pub mod tracker;

/// The raw video formats the analytics elements accept, any size and rate.
pub fn supported_video_caps() -> gst::Caps {
    use gst_video::VideoFormat as F;
    gst_video::VideoCapsBuilder::new()
        .format_list([
            F::Rgb,
            F::Bgr,
            F::Rgba,
            F::Bgra,
            F::Rgbx,
            F::Bgrx,
            F::Nv12,
            F::I420,
        ])
        .build()
}

/// The pre-processing layout of a raw video format, for the formats of
/// [`supported_video_caps`].
pub fn pixel_layout(format: gst_video::VideoFormat) -> Option<inference::PixelLayout> {
    use gst_video::VideoFormat as F;
    use inference::PixelLayout as L;
    Some(match format {
        F::Rgb => L::Rgb,
        F::Bgr => L::Bgr,
        F::Rgba => L::Rgba,
        F::Bgra => L::Bgra,
        F::Rgbx => L::Rgbx,
        F::Bgrx => L::Bgrx,
        F::Nv12 => L::Nv12,
        F::I420 => L::I420,
        _ => return None,
    })
}

/// Any raw video in any memory, for the elements that never read pixels.
pub fn any_video_caps() -> gst::Caps {
    gst::Caps::builder_full()
        .structure_with_any_features(gst::Structure::new_empty("video/x-raw"))
        .build()
}

/// The always-present `src` and `sink` pad templates of an in-place filter.
pub fn filter_pad_templates(caps: &gst::Caps) -> Vec<gst::PadTemplate> {
    [
        ("src", gst::PadDirection::Src),
        ("sink", gst::PadDirection::Sink),
    ]
    .into_iter()
    .map(|(name, dir)| {
        gst::PadTemplate::new(name, dir, gst::PadPresence::Always, caps)
            .expect("static pad template")
    })
    .collect()
}

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    meta::register();
    edgedetect::register(plugin)?;
    edgejson::register(plugin)?;
    edgetrack::register(plugin)?;
    edgeoverlay::register(plugin)?;
    edgeevents::register(plugin)?;
    thermalgate::register(plugin)?;
    Ok(())
}

gst::plugin_define!(
    edgeai,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MPL-2.0",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);
