// SPDX-License-Identifier: MPL-2.0
//! The counting rules: line crossings (directed, with hysteresis, once per
//! track and direction, a fresh detection on at least one side), polygon
//! occupancy, enter / exit, dwell, overcrowding and loitering, per zone and
//! per label. No GStreamer: the element feeds it one frame at a time.
//!
//! Rules (see `docs/edgezones.md`):
//! - a track's reference point is on a side of a line only when it is more
//!   than the zone's `min-distance` from the line; inside that band nothing
//!   changes (jitter on the line counts nothing);
//! - a crossing is counted when the side changes and the movement from the
//!   last point on the old side to the first point on the new side meets
//!   the segment (end points included); `in` when the new side is the
//!   zone's `in` side;
//! - at most one `in` and one `out` per track and line: a track lost and
//!   re-found with the same id, or jittering back and forth, is not counted
//!   again;
//! - a crossing needs a fresh detection (not a predicted box) on at least
//!   one side: a crossing seen on predicted boxes waits for a fresh
//!   detection on the new side (then it counts, with the time of the first
//!   point past the line), or for the track to vanish there after a fresh
//!   detection on the old side (it went through and out of sight); it is
//!   dropped if the track shows up on the old side first (a prediction
//!   overshooting the line);
//! - a track enters a polygon when its reference point is at least
//!   `min-distance` inside (a point on the edge is inside when `min-distance`
//!   is 0), and leaves it when at least `min-distance` outside; with anchor
//!   `box` the whole box counts;
//! - a track not seen for `memory_ns` is forgotten: it leaves the polygons it
//!   was in (an `exit` event). Until then a lost and re-found track keeps its
//!   state: its dwell time goes on and no second `enter` is posted;
//! - occupancy is the number of tracks in a polygon (seen or not yet
//!   forgotten).

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use super::config::{Anchor, Shape, ZoneConfig, ZoneKind};
use super::geometry::{Point, Polygon, Segment, Side};

/// One object of a frame as the counter sees it, in pixels.
#[derive(Debug, Clone)]
pub struct Observation<'a> {
    pub track_id: Option<u64>,
    pub label: &'a str,
    pub bbox: [f64; 4],
    /// A detection of this frame; `false` for a tracker's predicted box.
    pub fresh: bool,
}

/// Direction of a line crossing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Crossing,
    Enter,
    Exit,
    Overcrowded,
    Cleared,
    Loitering,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Crossing => "crossing",
            EventKind::Enter => "enter",
            EventKind::Exit => "exit",
            EventKind::Overcrowded => "overcrowded",
            EventKind::Cleared => "cleared",
            EventKind::Loitering => "loitering",
        }
    }
}

/// One event of one zone.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneEvent {
    pub zone: String,
    pub kind: EventKind,
    /// `None` for `overcrowded` / `cleared`.
    pub track_id: Option<u64>,
    /// Empty for `overcrowded` / `cleared`.
    pub label: String,
    /// Crossings only.
    pub direction: Option<Direction>,
    pub time_ns: u64,
    /// `exit` and `loitering`: time inside so far.
    pub dwell_ns: Option<u64>,
    /// Polygons: occupancy after the event.
    pub occupancy: Option<u32>,
}

/// Per-label counts of one zone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LabelCount {
    pub crossed_in: u64,
    pub crossed_out: u64,
    pub occupancy: u32,
}

/// The counters of one zone.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZoneCount {
    pub name: String,
    pub is_line: bool,
    pub crossed_in: u64,
    pub crossed_out: u64,
    pub occupancy: u32,
    pub entered: u64,
    pub exited: u64,
    pub per_label: BTreeMap<String, LabelCount>,
}

/// The zones one object is in on this frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectZones {
    /// Polygons the object is in.
    pub inside: Vec<String>,
    /// Lines it was counted crossing on this frame.
    pub crossed: Vec<(String, Direction)>,
    /// Lines it has been counted crossing so far (either direction).
    pub has_crossed: Vec<String>,
    /// Longest time inside one of its polygons.
    pub dwell_ns: u64,
    /// It stayed longer than a polygon's `loiter-seconds`.
    pub loitering: bool,
}

impl ObjectZones {
    pub fn is_empty(&self) -> bool {
        self.inside.is_empty() && self.has_crossed.is_empty()
    }
}

/// A track against one line.
#[derive(Debug, Clone, Default)]
struct LineTrack {
    /// The side the track is known to be on: where a fresh detection put
    /// it, or where a counted crossing took it.
    side: Option<Side>,
    /// Its last point on that side.
    last: Option<Point>,
    /// A fresh detection was seen on `side` (since it became the side).
    side_fresh: bool,
    /// A crossing seen on predicted boxes only, waiting for a fresh
    /// detection on the new side (or for the track to vanish there):
    /// direction and time of the first point past the line.
    pending: Option<(Direction, u64)>,
    counted_in: bool,
    counted_out: bool,
}

#[derive(Debug, Clone)]
struct PolyTrack {
    inside: bool,
    since_ns: u64,
    loitered: bool,
}

#[derive(Debug, Clone, Default)]
struct ZoneRuntime {
    count: ZoneCount,
    lines: HashMap<u64, LineTrack>,
    polys: HashMap<u64, PolyTrack>,
    overcrowded: bool,
}

#[derive(Debug, Clone)]
struct TrackSeen {
    last_ns: u64,
    label: String,
}

/// Counts one stream's tracks against a set of zones.
#[derive(Debug, Clone)]
pub struct Counter {
    config: ZoneConfig,
    zones: Vec<ZoneRuntime>,
    shapes: Vec<(Shape, f64)>,
    size: (u32, u32),
    tracks: HashMap<u64, TrackSeen>,
    memory_ns: u64,
}

/// Polygon membership distance of an observation: negative inside; exact
/// within `margin` of the boundary (farther outside, a lower bound).
fn polygon_distance(poly: &Polygon, anchor: Anchor, bbox: [f64; 4], margin: f64) -> f64 {
    match anchor {
        Anchor::WholeBox => [
            Point::new(bbox[0], bbox[1]),
            Point::new(bbox[2], bbox[1]),
            Point::new(bbox[2], bbox[3]),
            Point::new(bbox[0], bbox[3]),
        ]
        .into_iter()
        .map(|p| poly.signed_distance_within(p, margin))
        .fold(f64::NEG_INFINITY, f64::max),
        a => poly.signed_distance_within(a.point(bbox), margin),
    }
}

impl Counter {
    /// A counter for `config`; tracks unseen for `memory_ns` are forgotten.
    pub fn new(config: ZoneConfig, memory_ns: u64) -> Self {
        let zones = config
            .zones
            .iter()
            .map(|z| ZoneRuntime {
                count: ZoneCount {
                    name: z.name.clone(),
                    is_line: z.is_line(),
                    ..Default::default()
                },
                ..Default::default()
            })
            .collect();
        Counter {
            config,
            zones,
            shapes: Vec::new(),
            size: (0, 0),
            tracks: HashMap::new(),
            memory_ns,
        }
    }

    pub fn config(&self) -> &ZoneConfig {
        &self.config
    }

    pub fn set_memory(&mut self, memory_ns: u64) {
        self.memory_ns = memory_ns;
    }

    /// Replaces the zones. A zone that keeps its name and kind keeps its
    /// counts and the state of its tracks; the others start from zero.
    pub fn set_config(&mut self, config: ZoneConfig) {
        let mut old: HashMap<String, ZoneRuntime> = self
            .zones
            .drain(..)
            .map(|z| (z.count.name.clone(), z))
            .collect();
        self.zones = config
            .zones
            .iter()
            .map(|z| match old.remove(&z.name) {
                Some(rt) if rt.count.is_line == z.is_line() => rt,
                _ => ZoneRuntime {
                    count: ZoneCount {
                        name: z.name.clone(),
                        is_line: z.is_line(),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            })
            .collect();
        self.config = config;
        self.size = (0, 0);
    }

    /// Forgets every track (flush, new stream); counts are kept. Tracks inside
    /// polygons leave them (`exit` events at `time_ns`).
    pub fn end_tracks(&mut self, time_ns: u64) -> Vec<ZoneEvent> {
        let ids: Vec<u64> = self.tracks.keys().copied().collect();
        let mut events = Vec::new();
        for id in ids {
            self.forget(id, time_ns, &mut events);
        }
        self.refresh_occupancy(time_ns, &mut events);
        events
    }

    /// The counters of every zone, in configuration order.
    pub fn counts(&self) -> Vec<ZoneCount> {
        self.zones.iter().map(|z| z.count.clone()).collect()
    }

    fn forget(&mut self, id: u64, time_ns: u64, events: &mut Vec<ZoneEvent>) {
        let label = self.tracks.remove(&id).map(|t| t.label).unwrap_or_default();
        for z in &mut self.zones {
            if let Some(lt) = z.lines.remove(&id)
                && let Some((dir, when)) = vanish_line(&lt)
            {
                let counted = match dir {
                    Direction::In => lt.counted_in,
                    Direction::Out => lt.counted_out,
                };
                if !counted {
                    let lc = z.count.per_label.entry(label.clone()).or_default();
                    match dir {
                        Direction::In => {
                            z.count.crossed_in += 1;
                            lc.crossed_in += 1;
                        }
                        Direction::Out => {
                            z.count.crossed_out += 1;
                            lc.crossed_out += 1;
                        }
                    }
                    events.push(ZoneEvent {
                        zone: z.count.name.clone(),
                        kind: EventKind::Crossing,
                        track_id: Some(id),
                        label: label.clone(),
                        direction: Some(dir),
                        time_ns: when,
                        dwell_ns: None,
                        occupancy: None,
                    });
                }
            }
            if let Some(pt) = z.polys.remove(&id)
                && pt.inside
            {
                z.count.exited += 1;
                events.push(ZoneEvent {
                    zone: z.count.name.clone(),
                    kind: EventKind::Exit,
                    track_id: Some(id),
                    label: label.clone(),
                    direction: None,
                    time_ns,
                    dwell_ns: Some(time_ns.saturating_sub(pt.since_ns)),
                    occupancy: None,
                });
            }
        }
    }

    /// Occupancy of every polygon from its tracks' states; `overcrowded` and
    /// `cleared` events.
    fn refresh_occupancy(&mut self, time_ns: u64, events: &mut Vec<ZoneEvent>) {
        for (zi, z) in self.zones.iter_mut().enumerate() {
            if z.count.is_line {
                continue;
            }
            for lc in z.count.per_label.values_mut() {
                lc.occupancy = 0;
            }
            let mut occ = 0u32;
            for (id, pt) in &z.polys {
                if pt.inside {
                    occ += 1;
                    let label = self.tracks.get(id).map(|t| t.label.as_str()).unwrap_or("");
                    match z.count.per_label.get_mut(label) {
                        Some(lc) => lc.occupancy += 1,
                        None => {
                            z.count.per_label.insert(
                                label.to_string(),
                                LabelCount {
                                    occupancy: 1,
                                    ..Default::default()
                                },
                            );
                        }
                    }
                }
            }
            z.count.occupancy = occ;
            // Fill in the occupancy of this frame's enter / exit events.
            for e in events.iter_mut() {
                if e.zone == z.count.name && e.occupancy.is_none() {
                    e.occupancy = Some(occ);
                }
            }
            let max = match self.config.zones.get(zi).map(|c| &c.kind) {
                Some(ZoneKind::Polygon { max_occupancy, .. }) => *max_occupancy,
                _ => 0,
            };
            let kind = if max > 0 && occ >= max && !z.overcrowded {
                z.overcrowded = true;
                Some(EventKind::Overcrowded)
            } else if z.overcrowded && (max == 0 || occ < max) {
                z.overcrowded = false;
                Some(EventKind::Cleared)
            } else {
                None
            };
            if let Some(kind) = kind {
                events.push(ZoneEvent {
                    zone: z.count.name.clone(),
                    kind,
                    track_id: None,
                    label: String::new(),
                    direction: None,
                    time_ns,
                    dwell_ns: None,
                    occupancy: Some(occ),
                });
            }
        }
    }

    /// Counts one frame of `width` x `height` pixels at `time_ns` (running
    /// time). Returns the zones of each observation (same order) and the
    /// events of this frame.
    pub fn update(
        &mut self,
        width: u32,
        height: u32,
        time_ns: u64,
        objects: &[Observation],
    ) -> (Vec<ObjectZones>, Vec<ZoneEvent>) {
        if self.size != (width, height) || self.shapes.len() != self.config.zones.len() {
            self.shapes = self.config.resolve(width, height);
            self.size = (width, height);
        }
        let mut events = Vec::new();
        let mut out = vec![ObjectZones::default(); objects.len()];

        for o in objects {
            if let Some(id) = o.track_id {
                match self.tracks.get_mut(&id) {
                    Some(t) => {
                        t.last_ns = time_ns;
                        if t.label != o.label {
                            t.label = o.label.to_string();
                        }
                    }
                    None => {
                        self.tracks.insert(
                            id,
                            TrackSeen {
                                last_ns: time_ns,
                                label: o.label.to_string(),
                            },
                        );
                    }
                }
            }
        }

        for (zi, z) in self.zones.iter_mut().enumerate() {
            let cfg = &self.config.zones[zi];
            let (shape, margin) = &self.shapes[zi];
            let margin = *margin;
            for (oi, o) in objects.iter().enumerate() {
                if !cfg.counts_label(o.label) {
                    continue;
                }
                match shape {
                    Shape::Line { segment, in_side } => {
                        let Some(id) = o.track_id else { continue };
                        let p = cfg.anchor.point(o.bbox);
                        let lt = z.lines.entry(id).or_default();
                        if let Some((dir, when)) =
                            step_line(lt, segment, *in_side, margin, p, o.fresh, time_ns)
                        {
                            let counted = match dir {
                                Direction::In => &mut lt.counted_in,
                                Direction::Out => &mut lt.counted_out,
                            };
                            if !*counted {
                                *counted = true;
                                let lc = z.count.per_label.entry(o.label.to_string()).or_default();
                                match dir {
                                    Direction::In => {
                                        z.count.crossed_in += 1;
                                        lc.crossed_in += 1;
                                    }
                                    Direction::Out => {
                                        z.count.crossed_out += 1;
                                        lc.crossed_out += 1;
                                    }
                                }
                                out[oi].crossed.push((z.count.name.clone(), dir));
                                events.push(ZoneEvent {
                                    zone: z.count.name.clone(),
                                    kind: EventKind::Crossing,
                                    track_id: Some(id),
                                    label: o.label.to_string(),
                                    direction: Some(dir),
                                    time_ns: when,
                                    dwell_ns: None,
                                    occupancy: None,
                                });
                            }
                        }
                        if lt.counted_in || lt.counted_out {
                            out[oi].has_crossed.push(z.count.name.clone());
                        }
                    }
                    Shape::Polygon(poly) => {
                        let d = polygon_distance(poly, cfg.anchor, o.bbox, margin);
                        let Some(id) = o.track_id else {
                            // Untracked: membership only, no hysteresis, no counts.
                            if d <= 0.0 {
                                out[oi].inside.push(z.count.name.clone());
                            }
                            continue;
                        };
                        let loiter_ns = match cfg.kind {
                            ZoneKind::Polygon { loiter_ns, .. } => loiter_ns,
                            _ => 0,
                        };
                        let is_in = if margin == 0.0 {
                            d <= 0.0
                        } else {
                            d <= -margin
                        };
                        let is_out = d > margin;
                        // Only tracks inside have an entry: most objects are
                        // outside most polygons, and cost nothing more here.
                        let pt = match z.polys.entry(id) {
                            Entry::Occupied(e) => e.into_mut(),
                            Entry::Vacant(e) => {
                                if !is_in {
                                    continue;
                                }
                                e.insert(PolyTrack {
                                    inside: false,
                                    since_ns: time_ns,
                                    loitered: false,
                                })
                            }
                        };
                        if !pt.inside && is_in {
                            pt.inside = true;
                            pt.since_ns = time_ns;
                            pt.loitered = false;
                            z.count.entered += 1;
                            events.push(ZoneEvent {
                                zone: z.count.name.clone(),
                                kind: EventKind::Enter,
                                track_id: Some(id),
                                label: o.label.to_string(),
                                direction: None,
                                time_ns,
                                dwell_ns: None,
                                occupancy: None,
                            });
                        } else if pt.inside && is_out {
                            pt.inside = false;
                            z.count.exited += 1;
                            events.push(ZoneEvent {
                                zone: z.count.name.clone(),
                                kind: EventKind::Exit,
                                track_id: Some(id),
                                label: o.label.to_string(),
                                direction: None,
                                time_ns,
                                dwell_ns: Some(time_ns.saturating_sub(pt.since_ns)),
                                occupancy: None,
                            });
                            z.polys.remove(&id);
                            continue;
                        }
                        if pt.inside {
                            let dwell = time_ns.saturating_sub(pt.since_ns);
                            if loiter_ns > 0 && dwell >= loiter_ns && !pt.loitered {
                                pt.loitered = true;
                                events.push(ZoneEvent {
                                    zone: z.count.name.clone(),
                                    kind: EventKind::Loitering,
                                    track_id: Some(id),
                                    label: o.label.to_string(),
                                    direction: None,
                                    time_ns,
                                    dwell_ns: Some(dwell),
                                    occupancy: None,
                                });
                            }
                            let oz = &mut out[oi];
                            oz.inside.push(z.count.name.clone());
                            oz.dwell_ns = oz.dwell_ns.max(dwell);
                            oz.loitering |= pt.loitered;
                        }
                    }
                }
            }
        }

        // Forget tracks unseen for too long.
        let stale: Vec<u64> = self
            .tracks
            .iter()
            .filter(|(_, t)| time_ns.saturating_sub(t.last_ns) > self.memory_ns)
            .map(|(&id, _)| id)
            .collect();
        for id in stale {
            self.forget(id, time_ns, &mut events);
        }
        self.refresh_occupancy(time_ns, &mut events);
        (out, events)
    }
}

/// One observation of a track against one line; returns the crossing to
/// count (direction, time of the first point past the line), if any. The
/// caller applies once-per-direction.
#[allow(clippy::too_many_arguments)]
fn step_line(
    lt: &mut LineTrack,
    segment: &Segment,
    in_side: Side,
    margin: f64,
    p: Point,
    fresh: bool,
    time_ns: u64,
) -> Option<(Direction, u64)> {
    let side = segment.side(p, margin)?;
    let Some(cur) = lt.side else {
        lt.side = Some(side);
        lt.last = Some(p);
        lt.side_fresh = fresh;
        return None;
    };
    if side == cur {
        // Still (or back) on the known side: a crossing seen only on
        // predicted boxes did not happen.
        lt.last = Some(p);
        lt.side_fresh |= fresh;
        lt.pending = None;
        return None;
    }
    let crossing = match lt.pending {
        Some(pending) => Some(pending),
        None => {
            let from = lt.last.unwrap_or(p);
            if segment.crossed_by(from, p) {
                let dir = if side == in_side {
                    Direction::In
                } else {
                    Direction::Out
                };
                Some((dir, time_ns))
            } else {
                // Went round an end of the segment: a new side, no crossing.
                lt.side = Some(side);
                lt.last = Some(p);
                lt.side_fresh = fresh;
                return None;
            }
        }
    };
    if fresh {
        lt.side = Some(side);
        lt.last = Some(p);
        lt.side_fresh = true;
        lt.pending = None;
        crossing
    } else {
        lt.pending = crossing;
        None
    }
}

/// A track vanished: a crossing it was predicted to make counts when a
/// fresh detection saw it on the side it left (it went through the door and
/// out of sight).
fn vanish_line(lt: &LineTrack) -> Option<(Direction, u64)> {
    if lt.side_fresh { lt.pending } else { None }
}

#[cfg(test)]
mod tests {
    use super::super::config::parse_compact;
    use super::*;

    const MS: u64 = 1_000_000;

    /// A 100x100 frame, pixel zones, hysteresis `md` px.
    fn counter(zones: &str) -> Counter {
        Counter::new(
            parse_compact(&format!("units=pixels;{zones}")).unwrap(),
            1000 * MS,
        )
    }

    /// A 10x10 box whose bottom-centre is at (x, y).
    fn feet(x: f64, y: f64) -> [f64; 4] {
        [x - 5.0, y - 10.0, x + 5.0, y]
    }

    fn obs(id: u64, x: f64, y: f64, fresh: bool) -> Observation<'static> {
        Observation {
            track_id: Some(id),
            label: "person",
            bbox: feet(x, y),
            fresh,
        }
    }

    /// Runs (x, y, fresh) positions of track 1, one per 33 ms frame; returns
    /// (in, out) and the events.
    fn walk(c: &mut Counter, path: &[(f64, f64, bool)]) -> ((u64, u64), Vec<ZoneEvent>) {
        let mut all = Vec::new();
        for (k, &(x, y, f)) in path.iter().enumerate() {
            let (_, ev) = c.update(100, 100, k as u64 * 33 * MS, &[obs(1, x, y, f)]);
            all.extend(ev);
        }
        let z = &c.counts()[0];
        ((z.crossed_in, z.crossed_out), all)
    }

    fn fresh_path(points: &[(f64, f64)]) -> Vec<(f64, f64, bool)> {
        points.iter().map(|&(x, y)| (x, y, true)).collect()
    }

    #[test]
    fn crossing_with_direction_and_label_counts() {
        // Line left to right at y = 50; `in` is the right side = below.
        let mut c = counter("door=line:10,50,90,50:min-distance=5");
        let ((i, o), ev) = walk(
            &mut c,
            &fresh_path(&[(30.0, 30.0), (30.0, 45.0), (30.0, 56.0), (30.0, 70.0)]),
        );
        assert_eq!((i, o), (1, 0));
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, EventKind::Crossing);
        assert_eq!(ev[0].direction, Some(Direction::In));
        assert_eq!(ev[0].track_id, Some(1));
        assert_eq!(
            ev[0].time_ns,
            2 * 33 * MS,
            "counted when 6 px past the line"
        );
        assert_eq!(c.counts()[0].per_label["person"].crossed_in, 1);
        // in=left flips the direction.
        let mut c = counter("door=line:10,50,90,50:min-distance=5:in=left");
        let ((i, o), _) = walk(&mut c, &fresh_path(&[(30.0, 30.0), (30.0, 70.0)]));
        assert_eq!((i, o), (0, 1));
    }

    #[test]
    fn crossing_at_an_end_point_and_outside_the_extent() {
        let mut c = counter("door=line:10,50,90,50:min-distance=5");
        assert_eq!(
            walk(&mut c, &fresh_path(&[(10.0, 30.0), (10.0, 70.0)])).0,
            (1, 0)
        );
        let mut c = counter("door=line:10,50,90,50:min-distance=5");
        assert_eq!(
            walk(&mut c, &fresh_path(&[(95.0, 30.0), (95.0, 70.0)])).0,
            (0, 0)
        );
    }

    #[test]
    fn a_point_staying_on_the_line_counts_nothing() {
        let mut c = counter("door=line:10,50,90,50:min-distance=5");
        let path: Vec<_> = (0..30)
            .map(|k| (10.0 + 2.0 * f64::from(k), 50.0, true))
            .collect();
        assert_eq!(walk(&mut c, &path).0, (0, 0));
    }

    #[test]
    fn jitter_around_the_line_counts_nothing() {
        // ±4 px around the line with a 5 px band, after approaching from above.
        let mut c = counter("door=line:10,50,90,50:min-distance=5");
        let mut path = vec![(40.0, 30.0, true)];
        for k in 0..40 {
            path.push((40.0, if k % 2 == 0 { 54.0 } else { 46.0 }, true));
        }
        assert_eq!(walk(&mut c, &path).0, (0, 0));
        // The same jitter with no hysteresis counts one in and one out, never more.
        let mut c = counter("door=line:10,50,90,50:min-distance=0");
        assert_eq!(walk(&mut c, &path).0, (1, 1));
    }

    #[test]
    fn crossing_back_counts_one_in_and_one_out_once() {
        let mut c = counter("door=line:10,50,90,50:min-distance=5");
        let (counts, ev) = walk(
            &mut c,
            &fresh_path(&[
                (30.0, 30.0),
                (30.0, 70.0),
                (30.0, 30.0),
                (30.0, 70.0),
                (30.0, 30.0),
            ]),
        );
        assert_eq!(counts, (1, 1));
        let dirs: Vec<_> = ev.iter().map(|e| e.direction.unwrap()).collect();
        assert_eq!(dirs, vec![Direction::In, Direction::Out]);
    }

    #[test]
    fn lost_and_refound_track_is_not_counted_again() {
        let mut c = counter("door=line:10,50,90,50:min-distance=5");
        let mut all = Vec::new();
        let mut t = 0;
        let mut step = |c: &mut Counter, o: &[Observation]| {
            let (_, ev) = c.update(100, 100, t * 33 * MS, o);
            t += 1;
            all.extend(ev);
        };
        step(&mut c, &[obs(1, 30.0, 40.0, true)]);
        step(&mut c, &[obs(1, 30.0, 60.0, true)]);
        // Lost for 10 frames, re-found a little back above and below again.
        for _ in 0..10 {
            step(&mut c, &[]);
        }
        step(&mut c, &[obs(1, 30.0, 62.0, true)]);
        step(&mut c, &[obs(1, 30.0, 70.0, true)]);
        assert_eq!(
            (c.counts()[0].crossed_in, c.counts()[0].crossed_out),
            (1, 0)
        );
        assert_eq!(all.len(), 1);
    }

    #[test]
    fn predicted_boxes_need_a_fresh_detection_on_one_side() {
        // Fresh above, predicted below: waits for a fresh detection below,
        // counted with the time of the first point past the line.
        let mut c = counter("door=line:10,50,90,50:min-distance=5");
        let path = [
            (30.0, 30.0, true),
            (30.0, 40.0, false),
            (30.0, 60.0, false),
            (30.0, 66.0, false),
        ];
        assert_eq!(walk(&mut c, &path).0, (0, 0));
        let (_, ev) = c.update(100, 100, 4 * 33 * MS, &[obs(1, 30.0, 70.0, true)]);
        assert_eq!(ev.len(), 1);
        assert_eq!(
            (ev[0].direction, ev[0].time_ns),
            (Some(Direction::In), 2 * 33 * MS)
        );
        // Fresh above, predicted below, then gone (through the door and out
        // of sight): counted when the track is forgotten.
        let mut c = counter("door=line:10,50,90,50:min-distance=5");
        walk(&mut c, &[(30.0, 30.0, true), (30.0, 60.0, false)]);
        let (_, ev) = c.update(100, 100, 1100 * MS, &[]);
        assert_eq!(ev.len(), 1);
        assert_eq!(
            (ev[0].direction, ev[0].time_ns),
            (Some(Direction::In), 33 * MS)
        );
        assert_eq!(c.counts()[0].crossed_in, 1);
        // Predicted on both sides, then gone: no fresh detection anywhere, nothing.
        let mut c = counter("door=line:10,50,90,50:min-distance=5");
        walk(&mut c, &[(30.0, 30.0, false), (30.0, 60.0, false)]);
        let (_, ev) = c.update(100, 100, 1100 * MS, &[]);
        assert!(ev.is_empty());
        // Predicted on both sides, then fresh below: counted.
        let mut c = counter("door=line:10,50,90,50:min-distance=5");
        walk(&mut c, &[(30.0, 30.0, false), (30.0, 60.0, false)]);
        c.update(100, 100, 2 * 33 * MS, &[obs(1, 30.0, 70.0, true)]);
        assert_eq!(c.counts()[0].crossed_in, 1);
        // A prediction overshooting the line, then a fresh detection back
        // above: no crossing at all (neither in nor out).
        let mut c = counter("door=line:10,50,90,50:min-distance=5");
        let path = [
            (30.0, 30.0, true),
            (30.0, 60.0, false),
            (30.0, 30.0, false),
            (30.0, 25.0, true),
        ];
        assert_eq!(walk(&mut c, &path).0, (0, 0));
    }

    #[test]
    fn polygon_enter_exit_dwell_and_labels() {
        // A concave "U" (notch 40..60 x 0..60 is outside), no hysteresis.
        let mut c = counter(
            "u=polygon:0,0,40,0,40,60,60,60,60,0,100,0,100,100,0,100:min-distance=0:labels=person",
        );
        let car = Observation {
            track_id: Some(9),
            label: "car",
            bbox: feet(20.0, 20.0),
            fresh: true,
        };
        // Track 1 in the notch (outside), then on its bottom edge (inside).
        let (z, ev) = c.update(100, 100, 0, &[obs(1, 50.0, 30.0, true), car.clone()]);
        assert!(ev.is_empty() && z[0].inside.is_empty() && z[1].inside.is_empty());
        let (z, ev) = c.update(100, 100, 100 * MS, &[obs(1, 50.0, 60.0, true), car.clone()]);
        assert_eq!(ev.len(), 1);
        assert_eq!((ev[0].kind, ev[0].occupancy), (EventKind::Enter, Some(1)));
        assert_eq!(z[0].inside, vec!["u".to_string()]);
        assert!(z[1].inside.is_empty(), "cars are not counted");
        let (z, _) = c.update(100, 100, 600 * MS, &[obs(1, 20.0, 90.0, true)]);
        assert_eq!(z[0].dwell_ns, 500 * MS);
        assert_eq!(c.counts()[0].occupancy, 1);
        assert_eq!(c.counts()[0].per_label["person"].occupancy, 1);
        let (_, ev) = c.update(100, 100, 700 * MS, &[obs(1, 50.0, 20.0, true)]);
        assert_eq!(ev[0].kind, EventKind::Exit);
        assert_eq!(ev[0].dwell_ns, Some(600 * MS));
        let z = &c.counts()[0];
        assert_eq!((z.entered, z.exited, z.occupancy), (1, 1, 0));
    }

    #[test]
    fn dwell_goes_on_across_lost_and_found() {
        let mut c = counter("p=polygon:0,0,100,0,100,100,0,100:min-distance=2:loiter-seconds=0.5");
        c.update(100, 100, 0, &[obs(1, 50.0, 50.0, true)]);
        // Lost for 300 ms (within the 1 s memory), found again inside.
        for k in 1..10 {
            c.update(100, 100, k * 33 * MS, &[]);
        }
        assert_eq!(c.counts()[0].occupancy, 1, "still inside while lost");
        let (z, ev) = c.update(100, 100, 400 * MS, &[obs(1, 52.0, 50.0, true)]);
        assert!(ev.is_empty(), "no second enter: {ev:?}");
        assert_eq!(z[0].dwell_ns, 400 * MS);
        let (z, ev) = c.update(100, 100, 500 * MS, &[obs(1, 52.0, 50.0, true)]);
        assert_eq!(ev.len(), 1);
        assert_eq!(
            (ev[0].kind, ev[0].dwell_ns),
            (EventKind::Loitering, Some(500 * MS))
        );
        assert!(z[0].loitering);
        // Gone for longer than the memory: it leaves with its dwell.
        let (_, ev) = c.update(100, 100, 1501 * MS + 1, &[]);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, EventKind::Exit);
        assert_eq!(ev[0].dwell_ns, Some(1501 * MS + 1));
        assert_eq!(c.counts()[0].entered, 1);
    }

    #[test]
    fn polygon_hysteresis_and_whole_box() {
        let mut c = counter("p=polygon:0,0,50,0,50,100,0,100:min-distance=4");
        // 2 px inside the edge: not yet in; 5 px: in; 2 px outside: still in; 5 px out: out.
        let seq = [(48.0, false), (45.0, true), (52.0, true), (55.0, false)];
        for (k, (x, inside)) in seq.into_iter().enumerate() {
            c.update(100, 100, k as u64 * MS, &[obs(1, x, 50.0, true)]);
            assert_eq!(c.counts()[0].occupancy == 1, inside, "x = {x}");
        }
        // anchor=box: the whole box must be inside.
        let mut c = counter("p=polygon:0,0,50,0,50,100,0,100:min-distance=0:anchor=box");
        c.update(100, 100, 0, &[obs(1, 47.0, 50.0, true)]); // box 42..52
        assert_eq!(c.counts()[0].occupancy, 0);
        c.update(100, 100, MS, &[obs(1, 45.0, 50.0, true)]); // box 40..50
        assert_eq!(c.counts()[0].occupancy, 1);
    }

    #[test]
    fn overcrowded_and_cleared() {
        let mut c = counter("p=polygon:0,0,100,0,100,100,0,100:min-distance=0:max-occupancy=2");
        let (_, ev) = c.update(100, 100, 0, &[obs(1, 10.0, 50.0, true)]);
        assert_eq!(ev.len(), 1);
        let (_, ev) = c.update(
            100,
            100,
            MS,
            &[obs(1, 10.0, 50.0, true), obs(2, 20.0, 50.0, true)],
        );
        let kinds: Vec<_> = ev.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![EventKind::Enter, EventKind::Overcrowded]);
        assert_eq!(ev[1].occupancy, Some(2));
        let (_, ev) = c.update(
            100,
            100,
            2 * MS,
            &[
                obs(1, 10.0, 50.0, true),
                obs(2, 20.0, 50.0, true),
                obs(3, 30.0, 50.0, true),
            ],
        );
        assert_eq!(ev.len(), 1, "no second overcrowded at 3");
        let (_, ev) = c.update(
            100,
            100,
            3 * MS,
            &[
                obs(1, 10.0, 50.0, true),
                obs(2, 20.0, 150.0, true),
                obs(3, 30.0, 150.0, true),
            ],
        );
        let kinds: Vec<_> = ev.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            vec![EventKind::Exit, EventKind::Exit, EventKind::Cleared]
        );
        assert_eq!(ev[2].occupancy, Some(1));
    }

    #[test]
    fn new_config_keeps_the_counts_of_zones_that_keep_their_name() {
        let mut c =
            counter("door=line:10,50,90,50:min-distance=5;p=polygon:0,0,100,0,100,100,0,100");
        walk(&mut c, &fresh_path(&[(30.0, 30.0), (30.0, 70.0)]));
        assert_eq!(c.counts()[0].crossed_in, 1);
        // door moves, p is removed, q is new.
        c.set_config(
            parse_compact(
                "units=pixels;q=polygon:0,0,10,0,10,10;door=line:10,80,90,80:min-distance=5",
            )
            .unwrap(),
        );
        let counts = c.counts();
        assert_eq!(counts[0].name, "q");
        assert_eq!(counts[0].entered, 0);
        assert_eq!((counts[1].name.as_str(), counts[1].crossed_in), ("door", 1));
    }

    #[test]
    fn fractions_follow_the_resolution() {
        let cfg = parse_compact("door=line:0.1,0.5,0.9,0.5:min-distance=0.05").unwrap();
        let mut c = Counter::new(cfg, 1000 * MS);
        // 200x100: line at y = 50, band 5 px.
        c.update(200, 100, 0, &[obs(1, 100.0, 40.0, true)]);
        // Resolution doubles: the line is now at y = 100; the track at 120 crossed it.
        c.update(400, 200, 33 * MS, &[obs(1, 200.0, 120.0, true)]);
        assert_eq!(c.counts()[0].crossed_in, 1);
    }
}
