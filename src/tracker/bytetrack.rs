//! The multi-object [`Tracker`]: ByteTrack, SORT and IoU association on top
//! of the shared track life-cycle (see [`super::track::Lifecycle`]).

use super::assignment::{
    Bbox, Edge, box_area, fused_cost, greedy_assignment_sparse, is_valid_box,
    linear_assignment_sparse, overlapping_pairs,
};
use super::kalman::KalmanFilter;
use super::track::{Lifecycle, Motion, Track, xyxy_to_xyah};

/// One detection handed to the tracker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxDet {
    /// Left edge, pixels.
    pub x1: f32,
    /// Top edge, pixels.
    pub y1: f32,
    /// Right edge, pixels.
    pub x2: f32,
    /// Bottom edge, pixels.
    pub y2: f32,
    /// Detector confidence (normally in `[0, 1]`).
    pub score: f32,
    /// Detector class.
    pub class_id: i32,
    /// Index of this detection in the caller's list; echoed back in
    /// [`TrackOutput::det_index`].
    pub index: usize,
}

impl BoxDet {
    /// The box as `[x1, y1, x2, y2]`.
    pub fn bbox(&self) -> Bbox {
        [self.x1, self.y1, self.x2, self.y2]
    }
}

/// Association algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ByteTrack: Kalman prediction, two-stage association (high-score
    /// detections with IoU·score, then low-score detections with IoU against
    /// the still-unmatched tracked tracks), optimal assignment.
    ByteTrack,
    /// SORT: Kalman prediction, one optimal IoU association of the
    /// detections with `score >= track_high_thresh`, minimum IoU 0.3.
    Sort,
    /// Plain IoU tracker: no motion model, greedy association by decreasing
    /// IoU (minimum 0.3) of the detections with `score >= track_high_thresh`.
    Iou,
}

/// Tracker parameters. Thresholds that are NaN simply never pass (nothing is
/// matched / created); they never cause a panic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackerConfig {
    /// Association algorithm.
    pub algorithm: Algorithm,
    /// Detections with `score >= track_high_thresh` are "high" (ByteTrack's
    /// first stage; the only detections used by SORT and IoU). Default 0.5.
    pub track_high_thresh: f32,
    /// ByteTrack: detections with `track_low_thresh <= score <
    /// track_high_thresh` take part in the second stage; lower ones are
    /// discarded. Default 0.1.
    pub track_low_thresh: f32,
    /// Minimum score of an unmatched high detection to start a new track
    /// (all algorithms). Default 0.6.
    pub new_track_thresh: f32,
    /// ByteTrack first stage: maximum fused cost `1 − IoU·score` of a match.
    /// Default 0.8. Boxes that do not overlap at all are never matched,
    /// whatever this value.
    pub match_thresh: f32,
    /// Frames a track may go without a matched detection before it is
    /// removed (both detector frames and [`Tracker::predict_only`] frames
    /// count). Default 30.
    pub track_buffer_frames: u32,
    /// Detections with a smaller box area (pixels²) are ignored; 0 (the
    /// default) disables the filter.
    pub min_box_area: f32,
    /// Never associate a detection with a track of another class. Default
    /// true. With `false` a track takes the class of its latest detection.
    pub per_class: bool,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::ByteTrack,
            track_high_thresh: 0.5,
            track_low_thresh: 0.1,
            new_track_thresh: 0.6,
            match_thresh: 0.8,
            track_buffer_frames: 30,
            min_box_area: 0.0,
            per_class: true,
        }
    }
}

/// Whether a reported track was matched to a detection this frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackState {
    /// Matched to a detection in this frame.
    Tracked,
    /// Not matched this frame (the detector did not run) but alive: the box
    /// is the motion model's prediction.
    Predicted,
}

/// One reported track.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackOutput {
    /// Track id: starts at 1, increases, never reused by one [`Tracker`].
    pub track_id: u64,
    /// Left edge of the estimated box (Kalman estimate for ByteTrack/SORT,
    /// last matched detection for IoU).
    pub x1: f32,
    /// Top edge.
    pub y1: f32,
    /// Right edge.
    pub x2: f32,
    /// Bottom edge.
    pub y2: f32,
    /// Score of the most recent matched detection.
    pub score: f32,
    /// Class of the most recent matched detection.
    pub class_id: i32,
    /// Frames since the track was first seen (its first detection).
    pub age: u32,
    /// Tracked (matched now) or Predicted.
    pub state: TrackState,
    /// Centre velocity, pixels per frame (Kalman estimate; for the IoU
    /// tracker the displacement between its last two matches).
    pub vx: f32,
    /// Centre velocity, pixels per frame.
    pub vy: f32,
    /// `Some(BoxDet::index)` of the detection matched this frame.
    pub det_index: Option<usize>,
}

/// Track life-cycle notification, collected by [`Tracker::take_events`].
#[derive(Debug, Clone, PartialEq)]
pub enum TrackEvent {
    /// A track was activated and got its id; the box is its estimate at
    /// activation.
    New {
        /// New track id.
        track_id: u64,
        /// Its class.
        class_id: i32,
        /// Box left edge.
        x1: f32,
        /// Box top edge.
        y1: f32,
        /// Box right edge.
        x2: f32,
        /// Box bottom edge.
        y2: f32,
    },
    /// An activated track was removed; the box is its last matched
    /// detection.
    Lost {
        /// Ended track id.
        track_id: u64,
        /// Its class.
        class_id: i32,
        /// Box left edge.
        x1: f32,
        /// Box top edge.
        y1: f32,
        /// Box right edge.
        x2: f32,
        /// Box bottom edge.
        y2: f32,
    },
}

/// Second-stage (low-score) maximum IoU cost, as in ByteTrack.
const SECOND_STAGE_THRESH: f32 = 0.5;
/// Unconfirmed-track maximum fused cost, as in ByteTrack.
const UNCONFIRMED_THRESH: f32 = 0.7;
/// SORT / IoU trackers: minimum IoU 0.3, i.e. maximum cost `1 − 0.3`.
const SORT_IOU_COST_THRESH: f32 = 1.0 - 0.3;

/// At most this many overlapping detections (highest IoU first) are
/// considered per track: bounds work and memory when hundreds of boxes
/// pile up on one spot, without effect in ordinary scenes.
const MAX_CANDIDATES_PER_TRACK: usize = 32;

/// A valid, filtered detection.
#[derive(Debug, Clone, Copy)]
struct Det {
    bbox: Bbox,
    score: f32,
    class_id: i32,
    index: usize,
}

/// Cost used for an association stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CostKind {
    /// `1 − IoU`.
    Iou,
    /// `1 − IoU·score`.
    Fused,
}

/// Matches of one stage, in global indices.
struct StageResult {
    matches: Vec<(usize, usize)>,
    unmatched_tracks: Vec<usize>,
    unmatched_dets: Vec<usize>,
}

/// Multi-object tracker. See the [module docs](super) for the frame model.
///
/// Invalid detections (non-finite coordinates or score, zero or negative
/// width/height, area below `min_box_area`) are ignored. The tracker never
/// panics on its input; cost grows roughly linearly with the number of
/// detections for well-separated objects (assignment is solved per
/// connected group of overlapping boxes).
#[derive(Debug, Clone)]
pub struct Tracker {
    cfg: TrackerConfig,
    kf: KalmanFilter,
    tracks: Vec<Track>,
    events: Vec<TrackEvent>,
    next_id: u64,
    /// The next detector frame is the first one: activate new tracks at once.
    first_frame: bool,
}

impl Tracker {
    /// A tracker with the given configuration.
    pub fn new(cfg: TrackerConfig) -> Self {
        Self {
            cfg,
            kf: KalmanFilter::default(),
            tracks: Vec::new(),
            events: Vec::new(),
            next_id: 1,
            first_frame: true,
        }
    }

    /// Current configuration.
    pub fn config(&self) -> &TrackerConfig {
        &self.cfg
    }

    /// Change parameters live; existing tracks and ids are kept. Switching
    /// between the IoU tracker and a Kalman-based algorithm converts each
    /// track's motion model (a new filter is started from the current box).
    pub fn set_config(&mut self, cfg: TrackerConfig) {
        let want_kalman = cfg.algorithm != Algorithm::Iou;
        for t in &mut self.tracks {
            match (&t.motion, want_kalman) {
                (Motion::Static { bbox, .. }, true) => {
                    t.motion = Motion::Kalman(self.kf.initiate(xyxy_to_xyah(bbox)));
                }
                (Motion::Kalman(_), false) => {
                    t.motion = Motion::Static {
                        bbox: t.bbox(),
                        velocity: t.velocity(),
                    };
                }
                _ => {}
            }
        }
        self.cfg = cfg;
    }

    /// Process a frame on which the detector ran: predict every track one
    /// frame, associate, update, create and expire tracks.
    ///
    /// Returns the activated tracks matched to a detection in this frame
    /// (all with [`TrackState::Tracked`] and `det_index: Some(..)`), sorted
    /// by id. Tracks that are unmatched in this frame (lost, possibly
    /// recovered later within the track buffer) and unconfirmed new tracks
    /// are *not* returned.
    pub fn update(&mut self, dets: &[BoxDet]) -> Vec<TrackOutput> {
        let first = std::mem::replace(&mut self.first_frame, false);
        self.predict_all();
        let dets = self.prepare(dets);
        match self.cfg.algorithm {
            Algorithm::ByteTrack => self.associate_bytetrack(&dets, first),
            Algorithm::Sort => self.associate_single(&dets, first, false),
            Algorithm::Iou => self.associate_single(&dets, first, true),
        }
        self.expire();
        let mut out: Vec<TrackOutput> = self
            .tracks
            .iter()
            .filter(|t| {
                t.is_activated() && t.lifecycle == Lifecycle::Tracked && t.time_since_update == 0
            })
            .map(|t| output(t, TrackState::Tracked))
            .collect();
        out.sort_unstable_by_key(|o| o.track_id);
        out
    }

    /// Process a frame on which the detector did not run: predict every
    /// track one frame (the IoU tracker keeps boxes in place), expire tracks
    /// whose frames without a detection exceed `track_buffer_frames`
    /// (emitting `Lost`), and return the tracks that were `Tracked` at their
    /// last detector frame, as [`TrackState::Predicted`] with
    /// `det_index: None`, sorted by id. Lost and unconfirmed tracks are not
    /// returned (but are predicted, and an unconfirmed track can still be
    /// confirmed at the next detector frame).
    pub fn predict_only(&mut self) -> Vec<TrackOutput> {
        self.predict_all();
        self.expire();
        let mut out: Vec<TrackOutput> = self
            .tracks
            .iter()
            .filter(|t| t.is_activated() && t.lifecycle == Lifecycle::Tracked)
            .map(|t| output(t, TrackState::Predicted))
            .collect();
        out.sort_unstable_by_key(|o| o.track_id);
        out
    }

    /// Events since the last call, in the order they happened. Events
    /// accumulate until taken, so call this once per frame.
    pub fn take_events(&mut self) -> Vec<TrackEvent> {
        std::mem::take(&mut self.events)
    }

    /// Drop all tracks and pending events without emitting anything (e.g.
    /// after a flush). Ids keep increasing; the next detector frame counts as
    /// a first frame (new tracks are activated at once).
    pub fn reset(&mut self) {
        self.tracks.clear();
        self.events.clear();
        self.first_frame = true;
    }

    /// End every track, emitting `Lost` for each activated one (e.g. on a
    /// timestamp gap). The next detector frame counts as a first frame.
    pub fn end_all(&mut self) {
        for t in &self.tracks {
            push_lost(&mut self.events, t);
        }
        self.tracks.clear();
        self.first_frame = true;
    }

    /// Change of image scale, e.g. after a change of resolution: every
    /// track's state is multiplied by `sx` horizontally and `sy` vertically
    /// (boxes, velocities, Kalman covariance), so tracks keep their ids and
    /// match the detections of the new frame size. Ignored unless both
    /// scales are finite and positive.
    pub fn rescale(&mut self, sx: f32, sy: f32) {
        for t in &mut self.tracks {
            t.rescale(sx, sy);
        }
    }

    /// Number of activated tracks still alive (tracked or lost within the
    /// buffer); unconfirmed candidates are not counted.
    pub fn live_tracks(&self) -> usize {
        self.tracks
            .iter()
            .filter(|t| {
                t.is_activated() && matches!(t.lifecycle, Lifecycle::Tracked | Lifecycle::Lost)
            })
            .count()
    }

    fn predict_all(&mut self) {
        for t in &mut self.tracks {
            t.predict(&self.kf);
        }
    }

    /// Keep valid detections only (see [`Tracker`]); scores below the lowest
    /// threshold in use are dropped here too.
    fn prepare(&self, dets: &[BoxDet]) -> Vec<Det> {
        let min_score = match self.cfg.algorithm {
            Algorithm::ByteTrack => self.cfg.track_low_thresh.min(self.cfg.track_high_thresh),
            Algorithm::Sort | Algorithm::Iou => self.cfg.track_high_thresh,
        };
        let min_area = self.cfg.min_box_area;
        dets.iter()
            .filter(|d| {
                let b = d.bbox();
                is_valid_box(&b)
                    && d.score.is_finite()
                    && d.score >= min_score
                    && box_area(&b).is_finite()
                    && !(min_area > 0.0 && box_area(&b) < min_area)
            })
            .map(|d| Det {
                bbox: d.bbox(),
                score: d.score,
                class_id: d.class_id,
                index: d.index,
            })
            .collect()
    }

    /// Associate tracks `track_ids` (indices into `self.tracks`) with
    /// detections `det_ids` (indices into `dets`).
    fn associate(
        &self,
        track_ids: &[usize],
        det_ids: &[usize],
        dets: &[Det],
        thresh: f32,
        kind: CostKind,
        greedy: bool,
    ) -> StageResult {
        let tboxes: Vec<Bbox> = track_ids.iter().map(|&i| self.tracks[i].bbox()).collect();
        let dboxes: Vec<Bbox> = det_ids.iter().map(|&j| dets[j].bbox).collect();
        let mut edges = Vec::new();
        for (r, c, iou) in overlapping_pairs(&tboxes, &dboxes, MAX_CANDIDATES_PER_TRACK) {
            let t = &self.tracks[track_ids[r]];
            let d = &dets[det_ids[c]];
            if self.cfg.per_class && t.class_id != d.class_id {
                continue;
            }
            let cost = match kind {
                CostKind::Iou => 1.0 - iou,
                CostKind::Fused => fused_cost(iou, d.score),
            };
            edges.push(Edge {
                row: r,
                col: c,
                cost,
            });
        }
        let a = if greedy {
            greedy_assignment_sparse(track_ids.len(), det_ids.len(), &edges, thresh)
        } else {
            linear_assignment_sparse(track_ids.len(), det_ids.len(), &edges, thresh)
        };
        StageResult {
            matches: a
                .matches
                .iter()
                .map(|&(r, c)| (track_ids[r], det_ids[c]))
                .collect(),
            unmatched_tracks: a.unmatched_rows.iter().map(|&r| track_ids[r]).collect(),
            unmatched_dets: a.unmatched_cols.iter().map(|&c| det_ids[c]).collect(),
        }
    }

    fn apply_match(&mut self, ti: usize, d: &Det) {
        self.tracks[ti].update(d.bbox, d.score, d.class_id, d.index, &self.kf);
    }

    fn activate(&mut self, ti: usize) {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        let t = &mut self.tracks[ti];
        t.id = Some(id);
        t.lifecycle = Lifecycle::Tracked;
        let b = t.bbox();
        self.events.push(TrackEvent::New {
            track_id: id,
            class_id: t.class_id,
            x1: b[0],
            y1: b[1],
            x2: b[2],
            y2: b[3],
        });
    }

    /// Start tracks from unmatched detections with `score >=
    /// new_track_thresh`, in detection order; on a first frame they are
    /// activated immediately.
    fn create_tracks(&mut self, det_ids: &[usize], dets: &[Det], first: bool) {
        let kalman = self.cfg.algorithm != Algorithm::Iou;
        for &j in det_ids {
            let d = &dets[j];
            // Written as a positive test so a NaN threshold creates nothing.
            let passes = d.score >= self.cfg.new_track_thresh;
            if !passes {
                continue;
            }
            let kf = kalman.then_some(&self.kf);
            self.tracks
                .push(Track::new(d.bbox, d.score, d.class_id, d.index, kf));
            if first {
                let ti = self.tracks.len() - 1;
                self.activate(ti);
            }
        }
    }

    fn associate_bytetrack(&mut self, dets: &[Det], first: bool) {
        let high: Vec<usize> = (0..dets.len())
            .filter(|&j| dets[j].score >= self.cfg.track_high_thresh)
            .collect();
        let low: Vec<usize> = (0..dets.len())
            .filter(|&j| {
                dets[j].score < self.cfg.track_high_thresh
                    && dets[j].score >= self.cfg.track_low_thresh
            })
            .collect();
        let pool: Vec<usize> = (0..self.tracks.len())
            .filter(|&i| {
                let t = &self.tracks[i];
                t.is_activated() && matches!(t.lifecycle, Lifecycle::Tracked | Lifecycle::Lost)
            })
            .collect();
        let unconfirmed: Vec<usize> = (0..self.tracks.len())
            .filter(|&i| self.tracks[i].lifecycle == Lifecycle::New)
            .collect();

        // Stage 1: high detections vs tracked + lost, fused cost.
        let s1 = self.associate(
            &pool,
            &high,
            dets,
            self.cfg.match_thresh,
            CostKind::Fused,
            false,
        );
        for &(ti, j) in &s1.matches {
            self.apply_match(ti, &dets[j]);
        }

        // Stage 2: low detections vs still-unmatched tracks that were
        // tracked (not lost) before this frame, plain IoU cost.
        let r_tracked: Vec<usize> = s1
            .unmatched_tracks
            .iter()
            .copied()
            .filter(|&i| self.tracks[i].lifecycle == Lifecycle::Tracked)
            .collect();
        let s2 = self.associate(
            &r_tracked,
            &low,
            dets,
            SECOND_STAGE_THRESH,
            CostKind::Iou,
            false,
        );
        for &(ti, j) in &s2.matches {
            self.apply_match(ti, &dets[j]);
        }
        for &ti in &s2.unmatched_tracks {
            self.tracks[ti].lifecycle = Lifecycle::Lost;
        }

        // Stage 3: unconfirmed tracks vs the remaining high detections.
        let s3 = self.associate(
            &unconfirmed,
            &s1.unmatched_dets,
            dets,
            UNCONFIRMED_THRESH,
            CostKind::Fused,
            false,
        );
        for &(ti, j) in &s3.matches {
            self.apply_match(ti, &dets[j]);
            self.activate(ti);
        }
        for &ti in &s3.unmatched_tracks {
            self.tracks[ti].lifecycle = Lifecycle::Removed;
        }

        // Stage 4: new tracks.
        self.create_tracks(&s3.unmatched_dets, dets, first);
    }

    /// SORT (optimal, Kalman) or IoU (greedy, static) single-stage update.
    fn associate_single(&mut self, dets: &[Det], first: bool, greedy: bool) {
        let all: Vec<usize> = (0..dets.len()).collect();
        let pool: Vec<usize> = (0..self.tracks.len())
            .filter(|&i| {
                matches!(
                    self.tracks[i].lifecycle,
                    Lifecycle::New | Lifecycle::Tracked | Lifecycle::Lost
                )
            })
            .collect();
        let s = self.associate(
            &pool,
            &all,
            dets,
            SORT_IOU_COST_THRESH,
            CostKind::Iou,
            greedy,
        );
        for &(ti, j) in &s.matches {
            let was_new = self.tracks[ti].lifecycle == Lifecycle::New;
            self.apply_match(ti, &dets[j]);
            if was_new {
                self.activate(ti);
            }
        }
        for &ti in &s.unmatched_tracks {
            let t = &mut self.tracks[ti];
            t.lifecycle = match t.lifecycle {
                Lifecycle::New => Lifecycle::Removed,
                _ => Lifecycle::Lost,
            };
        }
        self.create_tracks(&s.unmatched_dets, dets, first);
    }

    /// Remove tracks that ran out of buffer or were marked removed; emit
    /// `Lost` for the activated ones.
    fn expire(&mut self) {
        let buffer = self.cfg.track_buffer_frames;
        let events = &mut self.events;
        self.tracks.retain(|t| {
            let remove = t.lifecycle == Lifecycle::Removed || t.time_since_update > buffer;
            if remove {
                push_lost(events, t);
            }
            !remove
        });
    }
}

/// Queue a `Lost` event for an activated track (unconfirmed ones have no id
/// and end silently).
fn push_lost(events: &mut Vec<TrackEvent>, t: &Track) {
    if let Some(id) = t.id {
        let b = t.last_det;
        events.push(TrackEvent::Lost {
            track_id: id,
            class_id: t.class_id,
            x1: b[0],
            y1: b[1],
            x2: b[2],
            y2: b[3],
        });
    }
}

fn output(t: &Track, state: TrackState) -> TrackOutput {
    let b = t.bbox();
    let (vx, vy) = t.velocity();
    TrackOutput {
        track_id: t.id.unwrap_or(0),
        x1: b[0],
        y1: b[1],
        x2: b[2],
        y2: b[3],
        score: t.score,
        class_id: t.class_id,
        age: t.age,
        state,
        vx,
        vy,
        det_index: if state == TrackState::Tracked {
            t.det_index
        } else {
            None
        },
    }
}
