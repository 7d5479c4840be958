// SPDX-License-Identifier: MPL-2.0
//! Lines and polygons over the video, and the counting rules of `edgezones`:
//! [`geometry`] (segments, polygons), [`config`] (the zone file and the
//! compact `zones` string, validated), [`counter`] (crossings, occupancy,
//! dwell, events). No GStreamer here.

pub mod config;
pub mod counter;
pub mod geometry;

pub use config::{Anchor, Units, Zone, ZoneConfig, ZoneKind, parse_compact, parse_file_text};
pub use counter::{
    Counter, Direction, EventKind, LabelCount, ObjectZones, Observation, ZoneCount, ZoneEvent,
};
