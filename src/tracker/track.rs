//! Per-track state: life-cycle, counters and motion model.

use super::assignment::{Bbox, is_valid_box};
use super::kalman::{KalmanFilter, KalmanState};

/// Life-cycle of a track (ByteTrack's `TrackState`).
///
/// ```text
///  New ──match──▶ Tracked ──no match──▶ Lost ──buffer exceeded──▶ Removed
///   │               ▲                    │
///   └─no match─▶ Removed     re-match ◀──┘
/// ```
///
/// A `New` track is unconfirmed: it has no id yet and is not reported. It
/// becomes `Tracked` (activated, id assigned) when it matches in the next
/// detector frame, and is removed otherwise. On the first detector frame of
/// a tracker (after construction, [`reset`](super::Tracker::reset) or
/// [`end_all`](super::Tracker::end_all)) new tracks are activated
/// immediately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Created from a detection, not yet confirmed.
    New,
    /// Matched at its last detector frame.
    Tracked,
    /// Unmatched at a detector frame; kept for re-identification until the
    /// track buffer runs out.
    Lost,
    /// Finished; dropped from the tracker.
    Removed,
}

/// How the box moves between updates.
// Nearly every track uses the Kalman variant, so boxing it would only add an
// allocation per track.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Motion {
    /// Constant-velocity Kalman filter (ByteTrack, SORT).
    Kalman(KalmanState),
    /// No motion model (IoU tracker): the box stays where it was last seen.
    /// `velocity` is only reported (centre displacement per frame between the
    /// last two matches), never used for prediction.
    Static {
        /// Last matched box.
        bbox: Bbox,
        /// Reported centre velocity, pixels per frame.
        velocity: (f32, f32),
    },
}

/// One track.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// Public id, assigned on activation (`None` while unconfirmed).
    pub id: Option<u64>,
    /// Life-cycle state.
    pub lifecycle: Lifecycle,
    /// Motion model and current estimate.
    pub motion: Motion,
    /// Class of the last matched detection.
    pub class_id: i32,
    /// Score of the last matched detection.
    pub score: f32,
    /// Last matched detection box (what a `Lost` event reports).
    pub last_det: Bbox,
    /// Frames since the track was created (0 on its first frame).
    pub age: u32,
    /// Number of detections matched, including the one that created it.
    pub hits: u32,
    /// Frames since the last matched detection (0 when matched this frame).
    pub time_since_update: u32,
    /// Index of the detection matched in the current frame, if any.
    pub det_index: Option<usize>,
}

/// `[x1, y1, x2, y2]` → `[cx, cy, w/h, h]`.
pub fn xyxy_to_xyah(b: &Bbox) -> [f64; 4] {
    let w = f64::from(b[2]) - f64::from(b[0]);
    let h = f64::from(b[3]) - f64::from(b[1]);
    [
        f64::from(b[0]) + w / 2.0,
        f64::from(b[1]) + h / 2.0,
        w / h,
        h,
    ]
}

/// Smallest height/aspect reported for a predicted box, so a filter whose
/// height velocity drove the height to zero still yields a valid box.
const MIN_EXTENT: f64 = 1e-3;

/// `[cx, cy, a, h]` → `[x1, y1, x2, y2]`; height and aspect are clamped to a
/// small positive minimum so the result always has positive size when the
/// input is finite.
pub fn xyah_to_xyxy(m: [f64; 4]) -> Bbox {
    let h = m[3].max(MIN_EXTENT);
    let a = m[2].max(MIN_EXTENT);
    let w = a * h;
    [
        (m[0] - w / 2.0) as f32,
        (m[1] - h / 2.0) as f32,
        (m[0] + w / 2.0) as f32,
        (m[1] + h / 2.0) as f32,
    ]
}

fn centre(b: &Bbox) -> (f32, f32) {
    ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0)
}

impl Track {
    /// A new unconfirmed track from a (valid) detection box.
    pub fn new(
        bbox: Bbox,
        score: f32,
        class_id: i32,
        det_index: usize,
        kalman: Option<&KalmanFilter>,
    ) -> Self {
        let motion = match kalman {
            Some(kf) => Motion::Kalman(kf.initiate(xyxy_to_xyah(&bbox))),
            None => Motion::Static {
                bbox,
                velocity: (0.0, 0.0),
            },
        };
        Self {
            id: None,
            lifecycle: Lifecycle::New,
            motion,
            class_id,
            score,
            last_det: bbox,
            age: 0,
            hits: 1,
            time_since_update: 0,
            det_index: Some(det_index),
        }
    }

    /// Current box estimate (Kalman mean, or the last box for `Static`).
    pub fn bbox(&self) -> Bbox {
        match &self.motion {
            Motion::Kalman(s) => xyah_to_xyxy(s.xyah()),
            Motion::Static { bbox, .. } => *bbox,
        }
    }

    /// Centre velocity in pixels per frame.
    pub fn velocity(&self) -> (f32, f32) {
        match &self.motion {
            Motion::Kalman(s) => {
                let (vx, vy) = s.velocity();
                (vx as f32, vy as f32)
            }
            Motion::Static { velocity, .. } => *velocity,
        }
    }

    /// Change of image scale (x by `sx`, y by `sy`): the motion state, the
    /// last detection and the reported velocity are scaled. Scales that are
    /// not finite and positive are ignored.
    pub fn rescale(&mut self, sx: f32, sy: f32) {
        if !(sx.is_finite() && sy.is_finite() && sx > 0.0 && sy > 0.0) {
            return;
        }
        let scale = |b: &mut Bbox| {
            b[0] *= sx;
            b[1] *= sy;
            b[2] *= sx;
            b[3] *= sy;
        };
        match &mut self.motion {
            Motion::Kalman(s) => s.rescale(f64::from(sx), f64::from(sy)),
            Motion::Static { bbox, velocity } => {
                scale(bbox);
                *velocity = (velocity.0 * sx, velocity.1 * sy);
            }
        }
        scale(&mut self.last_det);
    }

    /// True when the track has a public id.
    pub fn is_activated(&self) -> bool {
        self.id.is_some()
    }

    /// Advance one frame. Lost tracks have their height velocity zeroed
    /// first (as ByteTrack does) so an unobserved box does not shrink or
    /// grow without bound. A state that became non-finite, or whose box no
    /// longer fits in `f32`, marks the track `Removed`.
    pub fn predict(&mut self, kf: &KalmanFilter) {
        self.age = self.age.saturating_add(1);
        self.time_since_update = self.time_since_update.saturating_add(1);
        self.det_index = None;
        if let Motion::Kalman(s) = &mut self.motion {
            if self.lifecycle != Lifecycle::Tracked {
                s.mean[7] = 0.0;
            }
            kf.predict(s);
            if !s.is_finite() || !is_valid_box(&xyah_to_xyxy(s.xyah())) {
                self.lifecycle = Lifecycle::Removed;
            }
        }
    }

    /// Correct the track with a matched detection (box must be valid).
    /// If the Kalman update is rejected (degenerate innovation covariance),
    /// the filter is re-initialised from the detection instead.
    pub fn update(
        &mut self,
        bbox: Bbox,
        score: f32,
        class_id: i32,
        det_index: usize,
        kf: &KalmanFilter,
    ) {
        match &mut self.motion {
            Motion::Kalman(s) => {
                let z = xyxy_to_xyah(&bbox);
                if kf.update(s, z).is_err() {
                    *s = kf.initiate(z);
                }
            }
            Motion::Static {
                bbox: last,
                velocity,
            } => {
                let (ox, oy) = centre(last);
                let (nx, ny) = centre(&bbox);
                let dt = self.time_since_update.max(1) as f32;
                *velocity = ((nx - ox) / dt, (ny - oy) / dt);
                *last = bbox;
            }
        }
        self.last_det = bbox;
        self.score = score;
        self.class_id = class_id;
        self.hits = self.hits.saturating_add(1);
        self.time_since_update = 0;
        self.det_index = Some(det_index);
        if self.lifecycle != Lifecycle::New {
            self.lifecycle = Lifecycle::Tracked;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_conversions_round_trip() {
        let b = [10.0, 20.0, 40.0, 80.0];
        let m = xyxy_to_xyah(&b);
        assert_eq!(m, [25.0, 50.0, 0.5, 60.0]);
        assert_eq!(xyah_to_xyxy(m), b);
        let tiny = xyah_to_xyxy([0.0, 0.0, -1.0, -5.0]);
        assert!(tiny[2] > tiny[0] && tiny[3] > tiny[1]);
    }

    #[test]
    fn counters_and_lifecycle() {
        let kf = KalmanFilter::default();
        let mut t = Track::new([0.0, 0.0, 10.0, 20.0], 0.9, 1, 3, Some(&kf));
        assert_eq!((t.age, t.hits, t.time_since_update), (0, 1, 0));
        assert_eq!(t.det_index, Some(3));
        assert!(!t.is_activated());
        t.predict(&kf);
        t.predict(&kf);
        assert_eq!((t.age, t.time_since_update), (2, 2));
        assert_eq!(t.det_index, None);
        t.update([2.0, 0.0, 12.0, 20.0], 0.8, 1, 0, &kf);
        assert_eq!((t.age, t.hits, t.time_since_update), (2, 2, 0));
        // update never activates by itself: the tracker does.
        assert_eq!(t.lifecycle, Lifecycle::New);
        t.lifecycle = Lifecycle::Lost;
        t.update([2.0, 0.0, 12.0, 20.0], 0.8, 1, 0, &kf);
        assert_eq!(t.lifecycle, Lifecycle::Tracked);
    }

    #[test]
    fn rescale_scales_box_and_velocity() {
        let kf = KalmanFilter::default();
        let mut t = Track::new([10.0, 20.0, 40.0, 80.0], 0.9, 0, 0, Some(&kf));
        t.rescale(2.0, 0.5);
        assert_eq!(t.bbox(), [20.0, 10.0, 80.0, 40.0]);
        assert_eq!(t.last_det, [20.0, 10.0, 80.0, 40.0]);
        let mut s = Track::new([10.0, 20.0, 40.0, 80.0], 0.9, 0, 0, None);
        s.update([12.0, 21.0, 42.0, 81.0], 0.9, 0, 0, &kf);
        s.rescale(2.0, 0.5);
        assert_eq!(s.bbox(), [24.0, 10.5, 84.0, 40.5]);
        assert_eq!(s.velocity(), (4.0, 0.5));
        s.rescale(f32::NAN, 1.0);
        assert_eq!(s.bbox(), [24.0, 10.5, 84.0, 40.5]);
    }

    #[test]
    fn static_motion_keeps_box() {
        let kf = KalmanFilter::default();
        let mut t = Track::new([0.0, 0.0, 10.0, 10.0], 0.9, 0, 0, None);
        t.predict(&kf);
        t.predict(&kf);
        assert_eq!(t.bbox(), [0.0, 0.0, 10.0, 10.0]);
        t.update([4.0, 2.0, 14.0, 12.0], 0.9, 0, 0, &kf);
        assert_eq!(t.bbox(), [4.0, 2.0, 14.0, 12.0]);
        assert_eq!(t.velocity(), (2.0, 1.0));
    }
}
