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
//! - [`edgezones`]: counts tracks crossing lines and staying in polygons.
//! - [`thermalgate`]: sheds inference before the SoC throttles; reports the temperature.
//!
//! Plain modules that need no GStreamer, each with its own unit tests:
//! - [`frame`]: raw frames (pixel layouts, planes, frame views) and YUV ↔ RGB
//!   conversion, shared by pre-processing, drawing and snapshots.
//! - [`draw`]: boxes, dashed outlines, text and the statistics panel on raw frames.
//! - [`inference`]: letterbox pre-processing, output decoders, NMS, model family detection.
//! - [`runtime`]: ONNX Runtime discovery, the detector session, model instances shared by id.
//! - [`scheduler`]: the live-mode policy: which frame is inferred, release order, latency estimate.
//! - [`thermal`]: thermal policy, frame pacing and temperature sensors.
//! - [`events`]: the event store (SQLite), its writer and sync threads, snapshots.
//! - [`runner`]: the supervisor logic of the `edgeai-run` binary (config, restart policy, stall, stats).
//! - [`zones`]: lines and polygons, crossings, occupancy and dwell counting (`edgezones`).
//! - [`tracker`]: ByteTrack / SORT / IoU multi-object tracking, synthetic sequences, MOT metrics.
//!
//! [`meta`] is the one place where the plugin reads and writes buffer metadata;
//! [`video`] the one place where negotiated caps (format, colorimetry) become
//! [`frame`] types, and where the caps and pad templates the elements share
//! are built.

use gst::glib;

pub mod draw;
pub mod edgedetect;
pub mod edgeevents;
pub mod edgejson;
pub mod edgemqtt;
pub mod edgeoverlay;
pub mod edgetrack;
pub mod edgezones;
pub mod events;
pub mod frame;
pub mod inference;
pub mod meta;
pub mod mqtt;
pub mod runner;
pub mod runtime;
pub mod scheduler;
pub mod thermal;
pub mod thermalgate;
pub mod tracker;
pub mod video;
pub mod zones;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    meta::register();
    edgedetect::register(plugin)?;
    edgejson::register(plugin)?;
    edgetrack::register(plugin)?;
    edgeoverlay::register(plugin)?;
    edgeevents::register(plugin)?;
    edgemqtt::register(plugin)?;
    thermalgate::register(plugin)?;
    edgezones::register(plugin)?;
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
