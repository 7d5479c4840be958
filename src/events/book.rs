// SPDX-License-Identifier: MPL-2.0
//! What the pipeline saw, turned into events: the live tracks, the count
//! windows and the thermal level. Pure bookkeeping, called from the
//! streaming thread; it never blocks and never touches the database.
//!
//! - **Tracks** are keyed by `track_id`. A *fresh* object (a detection, or
//!   a tracker's box matched to one: `tracking.tracked != false`) updates
//!   last seen, the frame count and, when its confidence beats the best so
//!   far, the best box, label and confidence. A *predicted* box
//!   (`tracked == false`) only keeps the track alive. A track ends when its
//!   id has not been on a frame (fresh or predicted) for `track-timeout` of
//!   running time, or at EOS / stop. An id that comes back after its track
//!   ended starts a new track row.
//! - **Counts**: running time is cut into windows of `count-interval`
//!   (`[k·I, (k+1)·I)`); a window is closed by the first frame of a later
//!   window (or by EOS / stop, then partial) and gives one row per label
//!   seen in it. Only frames with fresh detections count (`inferred` not
//!   false in the frame meta) and only fresh objects; objects without a
//!   track id count too.
//! - **Thermal**: the level implied by the frame meta's `throttle-factor`
//!   (1: normal, 0: critical, between: warning) is recorded as a `thermal`
//!   system event whenever it changes, with the temperature and factor.
//! - **Zones** (`edgezones` upstream): the zone events a frame carries
//!   become `zone_events` rows as they come. The zone counters a frame
//!   carries (running totals) give, when the count window closes, one
//!   `zone_counts` row per zone seen in the window: what changed since the
//!   previous window's end (crossings in / out, enters, exits, per label
//!   too), the occupancy at the end and its maximum over the window's
//!   frames, and the totals. A total that went down (the zone was
//!   redefined under another element) counts from 0 again.

use std::collections::{BTreeMap, BTreeSet};

use super::store::{
    CountRecord, EndReason, SystemRecord, TrackRecord, ZoneCountRecord, ZoneEventRecord,
    ZoneLabelCounts,
};

/// One object on one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub label: String,
    pub class_id: i32,
    pub confidence: f64,
    pub bbox: [f64; 4],
    pub track_id: Option<u64>,
    /// false for a tracker's predicted box.
    pub fresh: bool,
}

/// One zone's running totals on a frame, as `edgezones` writes them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZoneTotals {
    pub name: String,
    /// `line` or `polygon`.
    pub kind: String,
    pub crossed_in: u64,
    pub crossed_out: u64,
    pub occupancy: u32,
    pub entered: u64,
    pub exited: u64,
    /// Per label: totals of crossings, occupancy now.
    pub labels: BTreeMap<String, ZoneLabelCounts>,
}

/// One frame as the book needs it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frame {
    /// Wall clock, ms since the Unix epoch.
    pub wall_ms: i64,
    /// Running time in ns, when the buffer has a timestamp.
    pub running_time: Option<u64>,
    /// The clock of timeouts and count windows: the running time, or a
    /// stand-in (time since start) for frames without timestamps.
    pub clock_ns: u64,
    pub duration_ns: Option<u64>,
    /// The frame carries fresh detections (a detector ran on it).
    pub analysed: bool,
    pub objects: Vec<Observation>,
    pub temperature: Option<f64>,
    pub throttle_factor: Option<f64>,
    /// Zone events on this frame (`time` is the frame's wall clock).
    pub zone_events: Vec<ZoneEventRecord>,
    /// The zone counters on this frame; empty without `edgezones`.
    pub zones: Vec<ZoneTotals>,
}

/// What the book has to say about a frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A live track changed (`key` is unique per track row of this run).
    Alive {
        key: u64,
        track: TrackRecord,
    },
    /// A track ended (its final state).
    Ended {
        key: u64,
        track: TrackRecord,
    },
    Count(CountRecord),
    System(SystemRecord),
    ZoneEvent(ZoneEventRecord),
    ZoneCount(ZoneCountRecord),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BookConfig {
    /// 0: no counts.
    pub count_interval_ns: u64,
    /// 0: tracks end only at EOS / stop.
    pub track_timeout_ns: u64,
}

#[derive(Debug)]
struct Live {
    key: u64,
    track: TrackRecord,
    last_present_ns: u64,
}

#[derive(Debug, Default)]
struct LabelAgg {
    max: u64,
    sum: u64,
    ids: BTreeSet<u64>,
}

#[derive(Debug)]
struct Window {
    index: u64,
    first_wall: i64,
    last_wall: i64,
    last_end_ns: u64,
    frames: u64,
    labels: BTreeMap<String, LabelAgg>,
    timestamped: bool,
    /// Per zone: the last totals seen in the window, the most occupancy.
    zones: BTreeMap<String, (ZoneTotals, u32)>,
}

/// The thermal level a throttle factor implies.
pub fn thermal_level(factor: f64) -> &'static str {
    if factor >= 1.0 - 1e-9 {
        "normal"
    } else if factor <= 1e-9 {
        "critical"
    } else {
        "warning"
    }
}

#[derive(Debug)]
pub struct Book {
    cfg: BookConfig,
    tracks: BTreeMap<u64, Live>,
    next_key: u64,
    window: Option<Window>,
    thermal: Option<&'static str>,
    last_rt: Option<u64>,
    /// Zone totals at the end of the last closed window.
    zone_baseline: BTreeMap<String, ZoneTotals>,
}

impl Book {
    pub fn new(cfg: BookConfig) -> Self {
        Book {
            cfg,
            tracks: BTreeMap::new(),
            next_key: 1,
            window: None,
            thermal: None,
            last_rt: None,
            zone_baseline: BTreeMap::new(),
        }
    }

    /// Live tracks.
    pub fn live(&self) -> usize {
        self.tracks.len()
    }

    /// Running time of the last frame seen.
    pub fn last_running_time(&self) -> Option<u64> {
        self.last_rt
    }

    /// Takes one frame. Returns the events, and the keys and object indices
    /// of tracks whose best detection is on this frame (to snapshot).
    pub fn observe(&mut self, f: &Frame) -> (Vec<Event>, Vec<(u64, usize)>) {
        let mut events = Vec::new();
        let mut best = Vec::new();
        if f.running_time.is_some() {
            self.last_rt = f.running_time;
        }
        if let Some(factor) = f.throttle_factor {
            let level = thermal_level(factor);
            if self.thermal != Some(level) {
                let message = match self.thermal {
                    Some(old) => format!("thermal level {old} -> {level}"),
                    None => format!("thermal level {level}"),
                };
                self.thermal = Some(level);
                events.push(Event::System(SystemRecord {
                    time: f.wall_ms,
                    running_time: f.running_time,
                    kind: "thermal".into(),
                    message: Some(message),
                    level: Some(level.into()),
                    temperature: f.temperature,
                    factor: Some(factor),
                }));
            }
        }

        // The count window first: a new window closes the old one before
        // this frame is added.
        if let Some(index) = f.clock_ns.checked_div(self.cfg.count_interval_ns) {
            if self.window.as_ref().is_some_and(|w| w.index != index) {
                self.close_window(false, &mut events);
            }
            let w = self.window.get_or_insert_with(|| Window {
                index,
                first_wall: f.wall_ms,
                last_wall: f.wall_ms,
                last_end_ns: f.clock_ns,
                frames: 0,
                labels: BTreeMap::new(),
                timestamped: f.running_time.is_some(),
                zones: BTreeMap::new(),
            });
            for z in &f.zones {
                let max = w.zones.get(&z.name).map_or(0, |(_, m)| *m);
                w.zones
                    .insert(z.name.clone(), (z.clone(), max.max(z.occupancy)));
            }
            w.last_wall = f.wall_ms;
            w.last_end_ns = f.clock_ns + f.duration_ns.unwrap_or(0);
            if f.analysed {
                w.frames += 1;
                let mut per_label: BTreeMap<&str, (u64, BTreeSet<u64>)> = BTreeMap::new();
                for o in f.objects.iter().filter(|o| o.fresh) {
                    let e = per_label.entry(o.label.as_str()).or_default();
                    e.0 += 1;
                    if let Some(id) = o.track_id {
                        e.1.insert(id);
                    }
                }
                for (label, (n, ids)) in per_label {
                    let agg = w.labels.entry(label.to_string()).or_default();
                    agg.max = agg.max.max(n);
                    agg.sum += n;
                    agg.ids.extend(ids);
                }
            }
        }

        events.extend(f.zone_events.iter().cloned().map(Event::ZoneEvent));

        let mut seen = BTreeSet::new();
        for (i, o) in f.objects.iter().enumerate() {
            let Some(id) = o.track_id else { continue };
            if !o.fresh {
                if let Some(live) = self.tracks.get_mut(&id) {
                    live.last_present_ns = f.clock_ns;
                }
                continue;
            }
            let first_on_frame = seen.insert(id);
            match self.tracks.get_mut(&id) {
                Some(live) => {
                    let t = &mut live.track;
                    live.last_present_ns = f.clock_ns;
                    t.last_seen = f.wall_ms;
                    t.last_seen_rt = f.running_time;
                    if first_on_frame {
                        t.frames += 1;
                    }
                    if o.confidence > t.best_confidence {
                        set_best(t, o, f);
                        best.push((live.key, i));
                    }
                }
                None => {
                    let key = self.next_key;
                    self.next_key += 1;
                    let mut track = TrackRecord {
                        track_id: id,
                        label: o.label.clone(),
                        class_id: o.class_id,
                        first_seen: f.wall_ms,
                        last_seen: f.wall_ms,
                        first_seen_rt: f.running_time,
                        last_seen_rt: f.running_time,
                        frames: 1,
                        best_confidence: o.confidence,
                        best_box: o.bbox,
                        best_seen: f.wall_ms,
                        best_seen_rt: f.running_time,
                        end: None,
                    };
                    set_best(&mut track, o, f);
                    self.tracks.insert(
                        id,
                        Live {
                            key,
                            track,
                            last_present_ns: f.clock_ns,
                        },
                    );
                    best.push((key, i));
                }
            }
        }
        for id in &seen {
            if let Some(live) = self.tracks.get(id) {
                events.push(Event::Alive {
                    key: live.key,
                    track: live.track.clone(),
                });
            }
        }

        if self.cfg.track_timeout_ns > 0 {
            let timeout = self.cfg.track_timeout_ns;
            let gone: Vec<u64> = self
                .tracks
                .iter()
                .filter(|(_, l)| f.clock_ns.saturating_sub(l.last_present_ns) > timeout)
                .map(|(id, _)| *id)
                .collect();
            for id in gone {
                if let Some(mut live) = self.tracks.remove(&id) {
                    live.track.end = Some(EndReason::Timeout);
                    events.push(Event::Ended {
                        key: live.key,
                        track: live.track,
                    });
                }
            }
        }
        (events, best)
    }

    fn close_window(&mut self, partial: bool, events: &mut Vec<Event>) {
        let Some(w) = self.window.take() else { return };
        let interval = self.cfg.count_interval_ns;
        let start = w.index * interval;
        let end = if partial {
            w.last_end_ns.clamp(start, start + interval)
        } else {
            start + interval
        };
        for (label, agg) in w.labels {
            events.push(Event::Count(CountRecord {
                label,
                start_time: w.first_wall,
                end_time: w.last_wall,
                start_rt: w.timestamped.then_some(start),
                end_rt: w.timestamped.then_some(end),
                frames: w.frames,
                max_count: agg.max,
                mean_count: if w.frames > 0 {
                    agg.sum as f64 / w.frames as f64
                } else {
                    0.0
                },
                tracks: (!agg.ids.is_empty()).then_some(agg.ids.len() as u64),
            }));
        }
        for (name, (last, max_occupancy)) in w.zones {
            let base = self.zone_baseline.get(&name);
            // Totals that went down were reset: count from 0.
            let delta = |now: u64, before: Option<u64>| match before {
                Some(b) if b <= now => now - b,
                _ => now,
            };
            let labels = last
                .labels
                .iter()
                .map(|(label, l)| {
                    let b = base.and_then(|b| b.labels.get(label));
                    let counts = ZoneLabelCounts {
                        crossed_in: delta(l.crossed_in, b.map(|b| b.crossed_in)),
                        crossed_out: delta(l.crossed_out, b.map(|b| b.crossed_out)),
                        occupancy: l.occupancy,
                    };
                    (label.clone(), counts)
                })
                .collect();
            events.push(Event::ZoneCount(ZoneCountRecord {
                zone: name.clone(),
                zone_kind: last.kind.clone(),
                start_time: w.first_wall,
                end_time: w.last_wall,
                start_rt: w.timestamped.then_some(start),
                end_rt: w.timestamped.then_some(end),
                crossed_in: delta(last.crossed_in, base.map(|b| b.crossed_in)),
                crossed_out: delta(last.crossed_out, base.map(|b| b.crossed_out)),
                entered: delta(last.entered, base.map(|b| b.entered)),
                exited: delta(last.exited, base.map(|b| b.exited)),
                occupancy: last.occupancy,
                max_occupancy,
                total_in: last.crossed_in,
                total_out: last.crossed_out,
                total_entered: last.entered,
                total_exited: last.exited,
                labels,
            }));
            self.zone_baseline.insert(name, last);
        }
    }

    /// Ends every live track with `reason` and closes the count window
    /// (partial). The book can go on afterwards (a new segment).
    pub fn finish(&mut self, reason: EndReason) -> Vec<Event> {
        let mut events = Vec::new();
        self.close_window(true, &mut events);
        for (_, mut live) in std::mem::take(&mut self.tracks) {
            live.track.end = Some(reason);
            events.push(Event::Ended {
                key: live.key,
                track: live.track,
            });
        }
        events
    }
}

fn set_best(t: &mut TrackRecord, o: &Observation, f: &Frame) {
    t.best_confidence = o.confidence;
    t.best_box = o.bbox;
    t.best_seen = f.wall_ms;
    t.best_seen_rt = f.running_time;
    t.label = o.label.clone();
    t.class_id = o.class_id;
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn obs(label: &str, conf: f64, id: Option<u64>, fresh: bool) -> Observation {
        Observation {
            label: label.into(),
            class_id: if label == "person" { 0 } else { 2 },
            confidence: conf,
            bbox: [conf * 10.0, 0.0, conf * 10.0 + 5.0, 5.0],
            track_id: id,
            fresh,
        }
    }

    fn frame(i: u64, objects: Vec<Observation>) -> Frame {
        Frame {
            wall_ms: 1_000_000 + i as i64 * 100,
            running_time: Some(i * 100 * MS),
            clock_ns: i * 100 * MS,
            duration_ns: Some(100 * MS),
            analysed: true,
            objects,
            ..Default::default()
        }
    }

    fn ended(events: &[Event]) -> Vec<(u64, TrackRecord)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Ended { key, track } => Some((*key, track.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn track_life_best_box_predictions_and_timeout() {
        let mut b = Book::new(BookConfig {
            count_interval_ns: 0,
            track_timeout_ns: 300 * MS,
        });
        // Frames 0..=4: id 1 with confidences 0.5 0.8 0.7 (predicted 0.99) 0.6.
        let confs = [
            (0.5, true),
            (0.8, true),
            (0.7, true),
            (0.99, false),
            (0.6, true),
        ];
        let mut snaps = Vec::new();
        for (i, (c, fresh)) in confs.iter().enumerate() {
            let (ev, best) = b.observe(&frame(i as u64, vec![obs("person", *c, Some(1), *fresh)]));
            assert!(ended(&ev).is_empty());
            snaps.push(best.len());
        }
        assert_eq!(
            snaps,
            vec![1, 1, 0, 0, 0],
            "snapshots at the first and the best"
        );
        // Frames 5..=7 empty: 300 ms after frame 4 is not yet "more than".
        for i in 5..=7 {
            let (ev, _) = b.observe(&frame(i, vec![]));
            assert!(ended(&ev).is_empty(), "frame {i}");
        }
        let (ev, _) = b.observe(&frame(8, vec![]));
        let e = ended(&ev);
        assert_eq!(e.len(), 1);
        let t = &e[0].1;
        assert_eq!(t.end, Some(EndReason::Timeout));
        assert_eq!(t.frames, 4, "the predicted frame is not counted");
        assert_eq!(t.best_confidence, 0.8);
        assert_eq!(t.best_box, [8.0, 0.0, 13.0, 5.0]);
        assert_eq!(t.first_seen_rt, Some(0));
        assert_eq!(t.last_seen_rt, Some(400 * MS));
        assert_eq!(t.best_seen_rt, Some(100 * MS));
        assert_eq!((t.first_seen, t.last_seen), (1_000_000, 1_000_400));
        // The id comes back: a new track row (new key).
        let (ev, best) = b.observe(&frame(9, vec![obs("person", 0.4, Some(1), true)]));
        assert_eq!(best.len(), 1);
        match &ev[0] {
            Event::Alive { key, .. } => assert_ne!(*key, e[0].0),
            other => panic!("{other:?}"),
        }
        let fin = b.finish(EndReason::Eos);
        assert_eq!(ended(&fin)[0].1.end, Some(EndReason::Eos));
        assert_eq!(b.live(), 0);
    }

    #[test]
    fn predicted_boxes_keep_a_track_alive() {
        let mut b = Book::new(BookConfig {
            count_interval_ns: 0,
            track_timeout_ns: 150 * MS,
        });
        b.observe(&frame(0, vec![obs("car", 0.9, Some(5), true)]));
        for i in 1..10 {
            let (ev, _) = b.observe(&frame(i, vec![obs("car", 0.9, Some(5), false)]));
            assert!(ended(&ev).is_empty());
        }
        let (ev, _) = b.observe(&frame(12, vec![]));
        let e = ended(&ev);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].1.frames, 1);
        assert_eq!(e[0].1.last_seen_rt, Some(0));
    }

    #[test]
    fn counts_per_window_by_hand() {
        // 1 s windows, frames every 100 ms (ten per window).
        let mut b = Book::new(BookConfig {
            count_interval_ns: 1000 * MS,
            track_timeout_ns: 0,
        });
        let mut counts = Vec::new();
        for i in 0..25u64 {
            let mut objects = Vec::new();
            // Window 0: 2 persons on frames 0..5, 1 on 5..10; a car on frame 3.
            // Window 1: 3 persons (ids 1,2,3) on every frame, frame 15 not analysed.
            // Window 2 (partial, frames 20..25): one untracked person.
            match i {
                0..=4 => {
                    objects.push(obs("person", 0.9, Some(1), true));
                    objects.push(obs("person", 0.9, Some(2), true));
                }
                5..=9 => objects.push(obs("person", 0.9, Some(1), true)),
                10..=19 => {
                    for id in 1..=3 {
                        objects.push(obs("person", 0.9, Some(id), true));
                    }
                }
                _ => objects.push(obs("person", 0.9, None, true)),
            }
            if i == 3 {
                objects.push(obs("car", 0.7, None, true));
                objects.push(obs("car", 0.7, Some(9), false));
            }
            let mut f = frame(i, objects);
            f.analysed = i != 15;
            let (ev, _) = b.observe(&f);
            counts.extend(ev.into_iter().filter_map(|e| match e {
                Event::Count(c) => Some(c),
                _ => None,
            }));
        }
        counts.extend(
            b.finish(EndReason::Eos)
                .into_iter()
                .filter_map(|e| match e {
                    Event::Count(c) => Some(c),
                    _ => None,
                }),
        );
        let got: Vec<_> = counts
            .iter()
            .map(|c| {
                (
                    c.label.as_str(),
                    c.start_rt.unwrap() / MS,
                    c.end_rt.unwrap() / MS,
                    c.frames,
                    c.max_count,
                    c.mean_count,
                    c.tracks,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("car", 0, 1000, 10, 1, 0.1, None),
                ("person", 0, 1000, 10, 2, 1.5, Some(2)),
                ("person", 1000, 2000, 9, 3, 3.0, Some(3)),
                ("person", 2000, 2500, 5, 1, 1.0, None),
            ]
        );
        assert_eq!(counts[1].start_time, 1_000_000);
        assert_eq!(counts[1].end_time, 1_000_900);
    }

    #[test]
    fn thermal_level_changes_only() {
        let mut b = Book::new(BookConfig {
            count_interval_ns: 0,
            track_timeout_ns: 0,
        });
        let mut kinds = Vec::new();
        for (i, factor) in [1.0, 1.0, 0.6, 0.5, 0.0, 0.0, 1.0].iter().enumerate() {
            let mut f = frame(i as u64, vec![]);
            f.throttle_factor = Some(*factor);
            f.temperature = Some(70.0 + i as f64);
            for e in b.observe(&f).0 {
                if let Event::System(s) = e {
                    kinds.push((s.level.unwrap(), s.temperature.unwrap(), s.factor.unwrap()));
                }
            }
        }
        assert_eq!(
            kinds,
            vec![
                ("normal".to_string(), 70.0, 1.0),
                ("warning".to_string(), 72.0, 0.6),
                ("critical".to_string(), 74.0, 0.0),
                ("normal".to_string(), 76.0, 1.0),
            ]
        );
    }

    fn door(crossed_in: u64, crossed_out: u64) -> ZoneTotals {
        let mut labels = BTreeMap::new();
        labels.insert(
            "person".to_string(),
            ZoneLabelCounts {
                crossed_in,
                crossed_out,
                occupancy: 0,
            },
        );
        ZoneTotals {
            name: "door".into(),
            kind: "line".into(),
            crossed_in,
            crossed_out,
            labels,
            ..Default::default()
        }
    }

    fn pen(occupancy: u32, entered: u64, exited: u64) -> ZoneTotals {
        ZoneTotals {
            name: "pen".into(),
            kind: "polygon".into(),
            occupancy,
            entered,
            exited,
            ..Default::default()
        }
    }

    fn zone_counts(events: &[Event]) -> Vec<ZoneCountRecord> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::ZoneCount(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn zone_events_pass_and_zone_windows_count_changes() {
        let mut b = Book::new(BookConfig {
            count_interval_ns: 300 * MS,
            track_timeout_ns: 0,
        });
        // Totals per frame (100 ms each, windows of 3 frames):
        // door in/out, pen occupancy/entered/exited.
        let totals = [
            ((0, 0), (0, 0, 0)),
            ((1, 0), (1, 1, 0)),
            ((2, 0), (3, 3, 0)),
            // window 2
            ((2, 1), (2, 3, 1)),
            ((2, 1), (2, 3, 1)),
            ((4, 1), (0, 3, 3)),
            // window 3 (partial: EOS after its first frame)
            ((5, 1), (1, 4, 3)),
        ];
        let mut rows = Vec::new();
        for (i, ((din, dout), (occ, ent, ex))) in totals.iter().enumerate() {
            let mut f = frame(i as u64, vec![]);
            f.zones = vec![door(*din, *dout), pen(*occ, *ent, *ex)];
            if i == 1 {
                f.zone_events = vec![ZoneEventRecord {
                    time: f.wall_ms,
                    zone: "door".into(),
                    kind: "crossing".into(),
                    track_id: Some(9),
                    ..Default::default()
                }];
            }
            let (ev, _) = b.observe(&f);
            let passed: Vec<_> = ev
                .iter()
                .filter(|e| matches!(e, Event::ZoneEvent(z) if z.track_id == Some(9)))
                .collect();
            assert_eq!(passed.len(), usize::from(i == 1), "frame {i}");
            rows.extend(zone_counts(&ev));
        }
        rows.extend(zone_counts(&b.finish(EndReason::Eos)));
        let got: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.zone.as_str(),
                    [r.crossed_in, r.crossed_out, r.entered, r.exited],
                    [r.occupancy, r.max_occupancy],
                    [r.total_in, r.total_out, r.total_entered, r.total_exited],
                    r.end_rt,
                )
            })
            .collect();
        let rt = |ms: u64| Some(ms * MS);
        assert_eq!(
            got,
            vec![
                ("door", [2, 0, 0, 0], [0, 0], [2, 0, 0, 0], rt(300)),
                ("pen", [0, 0, 3, 0], [3, 3], [0, 0, 3, 0], rt(300)),
                ("door", [2, 1, 0, 0], [0, 0], [4, 1, 0, 0], rt(600)),
                ("pen", [0, 0, 0, 3], [0, 2], [0, 0, 3, 3], rt(600)),
                ("door", [1, 0, 0, 0], [0, 0], [5, 1, 0, 0], rt(700)),
                ("pen", [0, 0, 1, 0], [1, 1], [0, 0, 4, 3], rt(700)),
            ]
        );
        assert_eq!(rows[2].labels["person"].crossed_in, 2);
        assert_eq!(rows[2].labels["person"].crossed_out, 1);
        assert_eq!(rows[0].zone_kind, "line");
        assert_eq!(rows[1].zone_kind, "polygon");
    }

    #[test]
    fn zone_totals_that_go_down_count_from_zero() {
        let mut b = Book::new(BookConfig {
            count_interval_ns: 100 * MS,
            track_timeout_ns: 0,
        });
        let mut rows = Vec::new();
        for (i, t) in [5, 2].iter().enumerate() {
            let mut f = frame(i as u64, vec![]);
            f.zones = vec![door(*t, 0)];
            rows.extend(zone_counts(&b.observe(&f).0));
        }
        rows.extend(zone_counts(&b.finish(EndReason::Eos)));
        let ins: Vec<_> = rows.iter().map(|r| (r.crossed_in, r.total_in)).collect();
        assert_eq!(ins, vec![(5, 5), (2, 2)]);
    }
}
