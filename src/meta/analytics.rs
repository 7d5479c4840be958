// SPDX-License-Identifier: MPL-2.0
//! GStreamer's own analytics metadata (`GstAnalyticsRelationMeta`,
//! GStreamer 1.24+, cargo feature `v1_24`), the second format [`super`]
//! knows besides DL Streamer's ROI metas.
//!
//! One relation meta per buffer; per object one object-detection Mtd
//! (`GstAnalyticsODMtd`: the label as a quark of its name, the box in whole
//! frame pixels, the confidence) and, once `edgetrack` saw it, one tracking
//! Mtd (`GstAnalyticsTrackingMtd`: track id, first and last seen as running
//! times, lost when the box is a prediction) related to it
//! (`OD -RELATE_TO-> tracking`). Reading also accepts the relation in the
//! other direction.

use std::collections::HashMap;

use gst::glib;
use gst_analytics::{
    AnalyticsMetaRefExt, AnalyticsMetaRefMutExt, AnalyticsODMtd, AnalyticsRelationMeta,
    AnalyticsRelationMetaODExt, AnalyticsRelationMetaTrackingExt, AnalyticsTrackingMtd, RelTypes,
};

use super::{Object, Source, Tracking, roi_rect};

/// The buffer's relation meta, added when missing.
fn relation_meta_mut(
    buffer: &mut gst::BufferRef,
) -> Option<gst::MetaRefMut<'_, AnalyticsRelationMeta, gst::meta::Standalone>> {
    if buffer.meta::<AnalyticsRelationMeta>().is_none() {
        return Some(AnalyticsRelationMeta::add(buffer));
    }
    buffer.meta_mut::<AnalyticsRelationMeta>()
}

/// Adds `obj` as an OD Mtd (and its tracking, if any); returns the OD Mtd's
/// id, `None` when the relation meta refused it (it cannot grow further).
pub(super) fn add_object(
    buffer: &mut gst::BufferRef,
    obj: &Object,
    width: u32,
    height: u32,
) -> Option<u32> {
    let (x, y, w, h) = roi_rect(obj, width, height);
    let as_i32 = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    let od = {
        let mut rmeta = relation_meta_mut(buffer)?;
        rmeta
            .add_od_mtd(
                glib::Quark::from_str(obj.label.as_str()),
                as_i32(x),
                as_i32(y),
                as_i32(w),
                as_i32(h),
                obj.confidence as f32,
            )
            .ok()?
            .id()
    };
    if let Some(t) = &obj.tracking {
        add_tracking(buffer, od, t);
    }
    Some(od)
}

/// Adds a tracking Mtd for `t` related to OD Mtd `od`.
fn add_tracking(buffer: &mut gst::BufferRef, od: u32, t: &Tracking) -> Option<u32> {
    let first_seen = t.first_seen.or(t.last_seen).unwrap_or(gst::ClockTime::ZERO);
    let id = {
        let mut rmeta = relation_meta_mut(buffer)?;
        let id = rmeta.add_tracking_mtd(t.track_id, first_seen).ok()?.id();
        rmeta.set_relation(RelTypes::RELATE_TO, od, id).ok()?;
        id
    };
    // `mtd_mut` borrows the meta for as long as the meta reference lives:
    // fetch the meta again for each change.
    if let Some(last) = t.last_seen {
        let mut rmeta = relation_meta_mut(buffer)?;
        let mut mtd = rmeta.mtd_mut::<AnalyticsTrackingMtd>(id)?;
        mtd.update_last_seen(last).ok()?;
    }
    if !t.tracked {
        let mut rmeta = relation_meta_mut(buffer)?;
        let mut mtd = rmeta.mtd_mut::<AnalyticsTrackingMtd>(id)?;
        mtd.set_lost().ok()?;
    }
    Some(id)
}

/// A tracking Mtd's facts, read through the C API so that a producer's
/// `GST_CLOCK_TIME_NONE` times read as `None` (the binding's `info()` turns
/// them into a `ClockTime`, which cannot hold NONE).
type TrackingInfo = (u64, Option<gst::ClockTime>, Option<gst::ClockTime>, bool);

fn tracking_info(rmeta: &gst::MetaRef<'_, AnalyticsRelationMeta>, id: u32) -> Option<TrackingInfo> {
    let (mut track_id, mut first, mut last, mut lost) = (0u64, 0u64, 0u64, 0);
    // SAFETY: `raw` names Mtd `id` of the live relation meta `rmeta`
    // (a GstAnalyticsTrackingMtd is an id and the meta's pointer); the C
    // function only reads it and writes the four out values.
    let ok = unsafe {
        let raw = gst_analytics::ffi::GstAnalyticsTrackingMtd {
            id,
            meta: rmeta.as_mut_ptr(),
        };
        gst_analytics::ffi::gst_analytics_tracking_mtd_get_info(
            &raw,
            &mut track_id,
            &mut first,
            &mut last,
            &mut lost,
        )
    };
    if ok == glib::ffi::GFALSE {
        return None;
    }
    let time = |t: u64| (t != u64::MAX).then(|| gst::ClockTime::from_nseconds(t));
    Some((track_id, time(first), time(last), lost != glib::ffi::GFALSE))
}

/// The tracking Mtd related to OD Mtd `od`, either direction.
fn tracking_of(rmeta: &gst::MetaRef<'_, AnalyticsRelationMeta>, od: u32) -> Option<u32> {
    if let Some(t) = rmeta
        .iter_direct_related::<AnalyticsTrackingMtd>(od, RelTypes::ANY)
        .next()
    {
        return Some(t.id());
    }
    rmeta
        .iter::<AnalyticsTrackingMtd>()
        .map(|t| t.id())
        .find(|&t| rmeta.relation(t, od) != RelTypes::NONE)
}

fn tracking(rmeta: &gst::MetaRef<'_, AnalyticsRelationMeta>, od: u32) -> Option<Tracking> {
    let (track_id, first_seen, last_seen, lost) = tracking_info(rmeta, tracking_of(rmeta, od)?)?;
    Some(Tracking {
        track_id,
        age: 0,
        tracked: !lost,
        vx: 0.0,
        vy: 0.0,
        first_seen,
        last_seen,
    })
}

/// Adds the buffer's OD Mtds to the objects read from ROI metas: an OD
/// Mtd a ROI meta links to (same label) completes that object (tracking
/// times; the tracking itself when the ROI meta has none), any other
/// becomes an object of its own. A link to a missing OD Mtd (the relation
/// meta was replaced) is dropped.
pub(super) fn merge(buffer: &gst::BufferRef, objs: &mut Vec<Object>, srcs: &mut Vec<Source>) {
    let Some(rmeta) = buffer.meta::<AnalyticsRelationMeta>() else {
        for s in srcs.iter_mut() {
            s.od = None;
        }
        return;
    };
    let ods: Vec<(u32, String, [f64; 4], f64)> = rmeta
        .iter::<AnalyticsODMtd>()
        .filter_map(|od| {
            let loc = od.location().ok()?;
            let label = od
                .obj_type()
                .map(|q| q.as_str().to_string())
                .unwrap_or_default();
            let (x, y) = (f64::from(loc.x), f64::from(loc.y));
            let b = [x, y, x + f64::from(loc.w), y + f64::from(loc.h)];
            Some((od.id(), label, b, f64::from(loc.loc_conf_lvl)))
        })
        .collect();
    let mut linked = HashMap::new();
    for (i, s) in srcs.iter_mut().enumerate() {
        let Some(id) = s.od else { continue };
        match ods.iter().find(|o| o.0 == id) {
            Some(o)
                if objs.get(i).is_some_and(|obj| obj.label == o.1) && !linked.contains_key(&id) =>
            {
                linked.insert(id, i);
            }
            _ => s.od = None,
        }
    }
    for (id, label, b, confidence) in ods {
        let t = tracking(&rmeta, id);
        if let Some(obj) = linked.get(&id).and_then(|&i| objs.get_mut(i)) {
            match (&mut obj.tracking, t) {
                (Some(mine), Some(t)) => {
                    mine.first_seen = t.first_seen;
                    mine.last_seen = t.last_seen;
                }
                (None, Some(t)) => {
                    obj.track_id = Some(t.track_id);
                    obj.tracking = Some(t);
                }
                _ => {}
            }
            continue;
        }
        let mut obj = Object::new(&label, -1, confidence, b);
        obj.track_id = t.as_ref().map(|t| t.track_id);
        obj.tracking = t;
        objs.push(obj);
        srcs.push(Source {
            roi: None,
            od: Some(id),
        });
    }
}

/// Writes the tracking of `tracks` (positions in [`super::objects`]) into the
/// relation meta: a tracking Mtd related to each object's OD Mtd, the OD
/// Mtd added first for objects that have none. Returns the OD Mtds added,
/// by position, for the caller to link their ROI metas to.
pub(super) fn write_trackings(
    buffer: &mut gst::BufferRef,
    tracks: &HashMap<usize, Tracking>,
    objs: &[Object],
    srcs: &[Source],
    width: u32,
    height: u32,
) -> HashMap<usize, u32> {
    let mut added = HashMap::new();
    let mut positions: Vec<usize> = tracks.keys().copied().collect();
    positions.sort_unstable();
    for pos in positions {
        let (Some(t), Some(src), Some(obj)) = (tracks.get(&pos), srcs.get(pos), objs.get(pos))
        else {
            continue;
        };
        match src.od {
            Some(od) => {
                add_tracking(buffer, od, t);
            }
            None => {
                let mut obj = obj.clone();
                obj.track_id = Some(t.track_id);
                obj.tracking = Some(t.clone());
                if let Some(od) = add_object(buffer, &obj, width, height) {
                    added.insert(pos, od);
                }
            }
        }
    }
    added
}

#[cfg(test)]
mod tests {
    use super::super::{
        MetaOutput, Object, Tracking, add_object, add_object_to, objects, set_trackings_to,
    };
    use super::*;
    use gst_video::VideoRegionOfInterestMeta;

    fn init() {
        let _ = gst::init();
    }

    /// (label, x, y, w, h, confidence, tracking info) of each OD Mtd, read
    /// with gstreamer-analytics only.
    type Read = (
        String,
        i32,
        i32,
        i32,
        i32,
        f32,
        Option<(u64, u64, u64, bool)>,
    );

    fn read(buf: &gst::BufferRef) -> Vec<Read> {
        let Some(rmeta) = buf.meta::<AnalyticsRelationMeta>() else {
            return Vec::new();
        };
        rmeta
            .iter::<AnalyticsODMtd>()
            .map(|od| {
                let l = od.location().unwrap();
                let t = rmeta
                    .iter_direct_related::<AnalyticsTrackingMtd>(od.id(), RelTypes::RELATE_TO)
                    .next()
                    .map(|t| {
                        let (id, f, l, lost) = t.info();
                        (id, f.nseconds(), l.nseconds(), lost)
                    });
                let label = od.obj_type().unwrap().as_str().to_string();
                (label, l.x, l.y, l.w, l.h, l.loc_conf_lvl, t)
            })
            .collect()
    }

    fn tracking(id: u64, tracked: bool, first: u64, last: u64) -> Tracking {
        Tracking {
            track_id: id,
            age: 2,
            tracked,
            vx: 1.0,
            vy: 0.0,
            first_seen: Some(gst::ClockTime::from_mseconds(first)),
            last_seen: Some(gst::ClockTime::from_mseconds(last)),
        }
    }

    #[test]
    fn both_kinds_describe_one_object() {
        init();
        let mut buf = gst::Buffer::with_size(16).unwrap();
        let obj = Object::new("person", 0, 0.87, [76.8, 57.6, 384.0, 576.0]);
        add_object_to(buf.get_mut().unwrap(), &obj, 768, 576, MetaOutput::Both);
        // The OD Mtd: label quark, the ROI's whole-pixel box, confidence.
        assert_eq!(
            read(&buf),
            vec![("person".into(), 77, 58, 307, 518, 0.87f32, None)]
        );
        let roi = buf.meta::<VideoRegionOfInterestMeta>().unwrap();
        assert_eq!(roi.rect(), (77, 58, 307, 518));
        assert_eq!(roi.param("analytics").unwrap().get::<u32>("od_id"), Ok(0));
        // Listed once, with the ROI's exact floats and class id.
        let objs = objects(&buf, 768, 576);
        assert_eq!(objs.len(), 1);
        let o = &objs[0];
        assert_eq!(
            (o.label.as_str(), o.class_id, o.confidence),
            ("person", 0, 0.87)
        );
        for (got, want) in [o.x1, o.y1, o.x2, o.y2]
            .into_iter()
            .zip([76.8, 57.6, 384.0, 576.0])
        {
            assert!((got - want).abs() < 1e-9, "{o:?}");
        }
    }

    #[test]
    fn analytics_only_objects_are_read() {
        init();
        let mut buf = gst::Buffer::with_size(16).unwrap();
        let mut obj = Object::new("car", 2, 0.5, [10.4, 20.6, 50.0, 60.0]);
        obj.tracking = Some(tracking(9, false, 100, 300));
        obj.track_id = Some(9);
        add_object_to(
            buf.get_mut().unwrap(),
            &obj,
            100,
            100,
            MetaOutput::Analytics,
        );
        assert_eq!(buf.iter_meta::<VideoRegionOfInterestMeta>().count(), 0);
        assert_eq!(
            read(&buf),
            vec![(
                "car".into(),
                10,
                21,
                40,
                39,
                0.5,
                Some((9, 100_000_000, 300_000_000, true))
            )]
        );
        let objs = objects(&buf, 100, 100);
        assert_eq!(objs.len(), 1);
        let o = &objs[0];
        assert_eq!(
            (o.label.as_str(), o.class_id, o.confidence),
            ("car", -1, 0.5)
        );
        assert_eq!([o.x1, o.y1, o.x2, o.y2], [10.0, 21.0, 50.0, 60.0]);
        assert_eq!(o.track_id, Some(9));
        let t = o.tracking.as_ref().unwrap();
        assert!(!t.tracked);
        assert_eq!(t.first_seen, Some(gst::ClockTime::from_mseconds(100)));
        assert_eq!(t.last_seen, Some(gst::ClockTime::from_mseconds(300)));
    }

    #[test]
    fn roi_output_writes_no_relation_meta() {
        init();
        let mut buf = gst::Buffer::with_size(16).unwrap();
        let obj = Object::new("dog", 16, 0.7, [0.0, 0.0, 10.0, 10.0]);
        add_object_to(buf.get_mut().unwrap(), &obj, 100, 100, MetaOutput::Roi);
        assert!(buf.meta::<AnalyticsRelationMeta>().is_none());
        assert_eq!(objects(&buf, 100, 100).len(), 1);
    }

    /// An upstream producer's OD Mtds (no ROI meta), tracked with output
    /// `both`: tracking Mtds related to them, ROI metas added and linked, one
    /// object each in the list; a ROI object of ours gets a linked OD Mtd.
    #[test]
    fn trackings_complete_both_kinds() {
        init();
        let mut buf = gst::Buffer::with_size(16).unwrap();
        // Ours, ROI only (an edgedetect with meta-output=roi).
        add_object(
            buf.get_mut().unwrap(),
            &Object::new("person", 0, 0.9, [0.0, 0.0, 10.0, 20.0]),
            100,
            100,
        );
        {
            let mut rmeta = AnalyticsRelationMeta::add(buf.get_mut().unwrap());
            rmeta
                .add_od_mtd(glib::Quark::from_str("car"), 50, 50, 20, 10, 0.6)
                .unwrap();
            rmeta
                .add_od_mtd(glib::Quark::from_str("bus"), 5, 60, 30, 30, 0.8)
                .unwrap();
        }
        let before = objects(&buf, 100, 100);
        let labels: Vec<&str> = before.iter().map(|o| o.label.as_str()).collect();
        assert_eq!(labels, ["person", "car", "bus"]);
        let mut tracks = HashMap::new();
        tracks.insert(0, tracking(1, true, 0, 40));
        tracks.insert(2, tracking(3, true, 40, 40));
        let n = set_trackings_to(buf.get_mut().unwrap(), &tracks, 100, 100, MetaOutput::Both);
        assert_eq!(n, 2);
        // The car is untracked; the bus got a tracking Mtd; the person an OD
        // Mtd with its tracking.
        assert_eq!(
            read(&buf),
            vec![
                ("car".into(), 50, 50, 20, 10, 0.6, None),
                (
                    "bus".into(),
                    5,
                    60,
                    30,
                    30,
                    0.8,
                    Some((3, 40_000_000, 40_000_000, false))
                ),
                (
                    "person".into(),
                    0,
                    0,
                    10,
                    20,
                    0.9,
                    Some((1, 0, 40_000_000, false))
                ),
            ]
        );
        let rois: Vec<(String, Option<u32>)> = buf
            .iter_meta::<VideoRegionOfInterestMeta>()
            .map(|m| {
                (
                    m.roi_type().to_string(),
                    m.param("analytics")
                        .and_then(|a| a.get::<u32>("od_id").ok()),
                )
            })
            .collect();
        assert_eq!(rois.len(), 2, "{rois:?}");
        assert_eq!(rois[0].0, "person");
        assert!(
            rois[0].1.is_some(),
            "the person's ROI is linked to its new OD Mtd"
        );
        assert_eq!(rois[1], ("bus".to_string(), Some(1)));
        // Still three objects, with their tracks.
        let after = objects(&buf, 100, 100);
        let got: Vec<(&str, Option<u64>)> = after
            .iter()
            .map(|o| (o.label.as_str(), o.track_id))
            .collect();
        // The ROI metas first (now the bus has one), then the OD-only car.
        assert_eq!(got, [("person", Some(1)), ("bus", Some(3)), ("car", None)]);
        // The ROI half keeps velocity, the analytics half adds the times.
        let p = after[0].tracking.as_ref().unwrap();
        assert_eq!((p.vx, p.age), (1.0, 2));
        assert_eq!(p.first_seen, Some(gst::ClockTime::ZERO));
    }

    #[test]
    fn a_stale_link_is_ignored() {
        init();
        let mut buf = gst::Buffer::with_size(16).unwrap();
        let obj = Object::new("person", 0, 0.9, [0.0, 0.0, 10.0, 20.0]);
        add_object_to(buf.get_mut().unwrap(), &obj, 100, 100, MetaOutput::Both);
        // The relation meta is replaced by one whose Mtd 0 is another object.
        let b = buf.get_mut().unwrap();
        b.foreach_meta_mut(|mut m| {
            if m.downcast_ref::<AnalyticsRelationMeta>().is_some() {
                std::ops::ControlFlow::Continue(gst::buffer::BufferMetaForeachAction::Remove)
            } else {
                std::ops::ControlFlow::Continue(gst::buffer::BufferMetaForeachAction::Keep)
            }
        });
        AnalyticsRelationMeta::add(b)
            .add_od_mtd(glib::Quark::from_str("car"), 50, 50, 20, 10, 0.6)
            .unwrap();
        let labels: Vec<String> = objects(&buf, 100, 100)
            .into_iter()
            .map(|o| o.label)
            .collect();
        assert_eq!(labels, ["person", "car"]);
    }
}
