// SPDX-License-Identifier: MPL-2.0
//! The zone events of a frame in its `EdgeAIFrameMeta`: field `zone-events`
//! of the `edgeai-frame` structure, written by `edgezones`, read by
//! `edgeevents` (and any element downstream) so events reach elements that
//! cannot see the bus. See docs/metadata.md.

use gst::glib;

use super::{FRAME_META_NAME, FRAME_STRUCTURE_NAME};

/// Field of the [`FRAME_STRUCTURE_NAME`] structure holding the zone events.
pub const ZONE_EVENTS_FIELD: &str = "zone-events";
/// Name of each structure in the [`ZONE_EVENTS_FIELD`] array.
pub const ZONE_EVENT_STRUCTURE: &str = "zone-event";

/// One zone event as carried by a frame: the fields of the
/// `edgezones-event` bus message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameZoneEvent {
    pub zone: String,
    /// `crossing`, `enter`, `exit`, `overcrowded`, `cleared`, `loitering`.
    pub kind: String,
    /// `None` for `overcrowded` / `cleared`.
    pub track_id: Option<u64>,
    /// Empty for `overcrowded` / `cleared`.
    pub label: String,
    /// `in` / `out` for crossings, empty otherwise.
    pub direction: String,
    /// Running time of the event, ns.
    pub running_time: u64,
    /// `exit` and `loitering`: seconds inside.
    pub dwell: Option<f64>,
    /// Polygons: occupancy after the event.
    pub occupancy: Option<u32>,
}

impl FrameZoneEvent {
    /// As a `zone-event` structure (the bus message's fields).
    pub fn to_structure(&self) -> gst::Structure {
        let mut b = gst::Structure::builder(ZONE_EVENT_STRUCTURE)
            .field("zone", self.zone.as_str())
            .field("kind", self.kind.as_str())
            .field("label", self.label.as_str())
            .field("direction", self.direction.as_str())
            .field(
                "running-time",
                gst::ClockTime::from_nseconds(self.running_time),
            );
        if let Some(id) = self.track_id {
            b = b.field("track_id", id);
        }
        if let Some(d) = self.dwell {
            b = b.field("dwell", d);
        }
        if let Some(o) = self.occupancy {
            b = b.field("occupancy", o);
        }
        b.build()
    }

    /// Reads a structure written by [`FrameZoneEvent::to_structure`] (or an
    /// `edgezones-event` message's).
    pub fn from_structure(s: &gst::StructureRef) -> FrameZoneEvent {
        FrameZoneEvent {
            zone: s.get::<String>("zone").unwrap_or_default(),
            kind: s.get::<String>("kind").unwrap_or_default(),
            track_id: s.get::<u64>("track_id").ok(),
            label: s.get::<String>("label").unwrap_or_default(),
            direction: s.get::<String>("direction").unwrap_or_default(),
            running_time: s
                .get::<gst::ClockTime>("running-time")
                .map_or(0, gst::ClockTime::nseconds),
            dwell: s.get::<f64>("dwell").ok(),
            occupancy: s.get::<u32>("occupancy").ok(),
        }
    }
}

/// Appends zone events to the frame's (an element downstream of two
/// `edgezones` gets both's events), keeping the frame meta's other fields.
pub fn add_zone_events(
    buffer: &mut gst::BufferRef,
    events: &[FrameZoneEvent],
) -> Result<(), glib::BoolError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut meta = match gst::meta::CustomMeta::from_mut_buffer(buffer, FRAME_META_NAME) {
        Ok(meta) => meta,
        Err(_) => gst::meta::CustomMeta::add(buffer, FRAME_META_NAME)?,
    };
    let s = meta.mut_structure();
    s.set_name(FRAME_STRUCTURE_NAME);
    let mut all: Vec<glib::SendValue> = s
        .get::<gst::Array>(ZONE_EVENTS_FIELD)
        .map(|a| a.as_slice().to_vec())
        .unwrap_or_default();
    all.extend(events.iter().map(|e| {
        use gst::prelude::*;
        e.to_structure().to_send_value()
    }));
    s.set(ZONE_EVENTS_FIELD, gst::Array::from_values(all));
    Ok(())
}

/// The frame's zone events, in order; empty when none.
pub fn zone_events(buffer: &gst::BufferRef) -> Vec<FrameZoneEvent> {
    let Ok(meta) = gst::meta::CustomMeta::from_buffer(buffer, FRAME_META_NAME) else {
        return Vec::new();
    };
    meta.structure()
        .get::<gst::Array>(ZONE_EVENTS_FIELD)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.get::<gst::Structure>().ok())
                .map(|s| FrameZoneEvent::from_structure(&s))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{ZoneCounter, frame_info, register, set_zone_counters, zone_counters};

    #[test]
    fn zone_events_round_trip_and_append() {
        let _ = gst::init();
        register();
        let mut buf = gst::Buffer::with_size(16).unwrap();
        assert!(zone_events(&buf).is_empty());
        let crossing = FrameZoneEvent {
            zone: "door".into(),
            kind: "crossing".into(),
            track_id: Some(7),
            label: "person".into(),
            direction: "in".into(),
            running_time: 1_500_000_000,
            ..Default::default()
        };
        let crowded = FrameZoneEvent {
            zone: "queue".into(),
            kind: "overcrowded".into(),
            running_time: 1_500_000_000,
            occupancy: Some(5),
            ..Default::default()
        };
        let exit = FrameZoneEvent {
            zone: "queue".into(),
            kind: "exit".into(),
            track_id: Some(3),
            label: "car".into(),
            running_time: 1_500_000_000,
            dwell: Some(2.25),
            occupancy: Some(4),
            ..Default::default()
        };
        let counters = vec![ZoneCounter {
            name: "door".into(),
            kind: "line".into(),
            crossed_in: 1,
            ..Default::default()
        }];
        set_zone_counters(buf.get_mut().unwrap(), &counters).unwrap();
        add_zone_events(buf.get_mut().unwrap(), std::slice::from_ref(&crossing)).unwrap();
        add_zone_events(buf.get_mut().unwrap(), &[]).unwrap();
        add_zone_events(buf.get_mut().unwrap(), &[crowded.clone(), exit.clone()]).unwrap();
        assert_eq!(zone_events(&buf), vec![crossing, crowded, exit]);
        // The counters and the other facts survive; one meta.
        assert_eq!(zone_counters(&buf), counters);
        assert_eq!(frame_info(&buf).inferred, None);
        assert_eq!(buf.iter_meta::<gst::Meta>().count(), 1);
        let s = gst::meta::CustomMeta::from_buffer(&buf, FRAME_META_NAME).unwrap();
        let a = s.structure().get::<gst::Array>(ZONE_EVENTS_FIELD).unwrap();
        let first = a.as_slice()[0].get::<gst::Structure>().unwrap();
        assert_eq!(first.name(), "zone-event");
        assert_eq!(first.get::<u64>("track_id").unwrap(), 7);
        assert_eq!(
            first.get::<gst::ClockTime>("running-time").unwrap(),
            gst::ClockTime::from_mseconds(1500)
        );
    }
}
