// SPDX-License-Identifier: MPL-2.0
//! `edgeevents`: turns what the pipeline saw into durable events in SQLite,
//! and syncs them upstream in batches.
//!
//! A pass-through element (buffers are not changed) placed after a detector
//! and a tracker. It reads the objects and the frame meta of every buffer
//! ([`crate::meta`]) and keeps, in the database at `location`:
//!
//! - `tracks`: one row per track (`track_id` from `edgetrack` or any
//!   `gvatrack`-style producer): label, first and last seen (wall clock and
//!   running time), frames seen, best confidence and box, and a small JPEG
//!   of the best detection when `snapshots=true`;
//! - `counts`: objects per label every `count-interval` seconds of running
//!   time (from tracked and untracked detections);
//! - `system_events`: start, stop, thermal levels (from the
//!   `throttle-factor` that `thermalgate` writes into the frame meta), and
//!   the element's own errors.
//!
//! The streaming thread never waits for the database or the network: a
//! writer thread commits every `sync-interval` (WAL mode, `synchronous`
//! FULL by default), and with `sync-url` set a sync thread posts unsynced
//! rows as JSON batches, at least once, with an idempotency key per row.
//! Several pipelines may share one database with different `stream-id`s.
//!
//! ```text
//! gst-launch-1.0 -e v4l2src ! videoconvert ! \
//!     edgedetect model=yolox_nano.onnx labels=coco.names ! edgetrack ! \
//!     edgeevents location=/var/lib/edgeai/events.db stream-id=door snapshots=true \
//!         sync-url=http://collector.local:8080/events ! fakesink
//! ```
//!
//! See `docs/edgeevents.md` for the schema, the batch format, the
//! durability guarantees and an `sqlite3` cookbook.

use gst::glib;
use gst::prelude::*;

mod imp;

/// `PRAGMA synchronous` of the database.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstEdgeEventsSynchronous")]
pub enum Synchronous {
    #[enum_value(
        name = "NORMAL: commits survive a crash or kill of the process; a power cut may lose the last ones",
        nick = "normal"
    )]
    Normal = 0,
    #[default]
    #[enum_value(
        name = "FULL: every commit is flushed to the storage device and survives a power cut",
        nick = "full"
    )]
    Full = 1,
}

glib::wrapper! {
    pub struct EdgeEvents(ObjectSubclass<imp::EdgeEvents>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    #[cfg(feature = "doc")]
    Synchronous::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(
        Some(plugin),
        "edgeevents",
        gst::Rank::NONE,
        EdgeEvents::static_type(),
    )
}
