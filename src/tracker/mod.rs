//! GStreamer-free multi-object tracking: ByteTrack, SORT and IoU trackers,
//! a synthetic ground-truth sequence generator and MOT metrics.
//!
//! # Frame model
//!
//! Each call advances the tracker by exactly one video frame:
//!
//! * [`Tracker::update`] — the detector ran on this frame. Every track is
//!   predicted one frame, associated with the detections, updated; new
//!   tracks are started and stale ones expired. Returns only the activated
//!   tracks matched to a detection *in this frame* (`TrackState::Tracked`).
//! * [`Tracker::predict_only`] — the detector skipped this frame (e.g. it
//!   runs every N frames). Tracks are predicted one frame and the tracks
//!   that were tracked at their last detector frame are returned with their
//!   predicted boxes (`TrackState::Predicted`).
//!
//! Both kinds of frame count toward `track_buffer_frames`: a track is
//! removed (a [`TrackEvent::Lost`] is queued) once it has gone more than
//! that many frames without a matched detection.
//!
//! # ByteTrack association (per detector frame)
//!
//! 1. Detections with `score >= track_high_thresh` are matched to the pool
//!    of tracked and lost tracks, cost `1 − IoU·score`, optimal assignment,
//!    maximum cost `match_thresh`.
//! 2. Detections with `track_low_thresh <= score < track_high_thresh` are
//!    matched to the tracks still unmatched that were *tracked* (not lost)
//!    before this frame, cost `1 − IoU`, maximum 0.5. This recovers occluded
//!    objects whose detector score dropped. Tracks still unmatched become
//!    lost.
//! 3. Unconfirmed tracks are matched to the high detections left over
//!    (fused cost, maximum 0.7); matched ones are activated, the rest
//!    dropped.
//! 4. Remaining high detections with `score >= new_track_thresh` start new
//!    unconfirmed tracks.
//!
//! SORT runs one optimal stage of IoU cost (minimum IoU 0.3) with all
//! tracks (tracked, lost, unconfirmed) against the high detections; the IoU
//! tracker does the same greedily (highest IoU first), without a motion
//! model (a track's box stays where it was last detected). Both share the
//! life-cycle above: a new track is confirmed by a second match (SORT's
//! `min_hits = 2`), lost tracks are kept for `track_buffer_frames` (SORT's
//! `max_age`). With `per_class`, detections never match tracks of another
//! class (in every algorithm and stage).
//!
//! # Decisions (differences from the reference ByteTrack implementation)
//!
//! * **Ids are assigned on activation**, not when a candidate track is
//!   created: a single-frame false positive never burns an id, so ids of
//!   reported tracks have no gaps. ([`TrackEvent::New`] is emitted at the
//!   same moment.)
//! * **First frame**: new tracks are activated immediately on the first
//!   detector frame after [`Tracker::new`], [`Tracker::reset`] or
//!   [`Tracker::end_all`] (ByteTrack's `frame_id == 1` rule); afterwards a
//!   new track must match again at the next detector frame.
//! * All tracks, including unconfirmed ones, are Kalman-predicted each
//!   frame; a lost track's height velocity is zeroed before prediction, as
//!   ByteTrack does.
//! * ByteTrack's final "remove duplicate tracks" pass (tracked vs lost with
//!   IoU > 0.85) is not performed: it can delete an occluded object's lost
//!   track that sits behind the occluder, and the one-to-one assignment
//!   already prevents double matches.
//! * Boxes that do not overlap are never matched, whatever the thresholds
//!   (only overlapping pairs are considered, which is also what keeps a
//!   frame with thousands of objects fast).
//! * Invalid detections (NaN/infinite coordinates or score, zero or negative
//!   size, area below `min_box_area`) are dropped before association.
//! * `Lost` events report the last matched detection box; `New` events the
//!   filtered box at activation.
//!
//! # Evaluation
//!
//! [`synth`] generates deterministic sequences with ground truth (crossing
//! and occluding objects, objects leaving and re-entering, manoeuvres,
//! detector noise, misses, clutter and low-score occluded detections), and
//! [`metrics`] computes CLEAR-MOT MOTA, ID switches and IDF1.
//!
//! # Streams
//!
//! [`timeline`] maps a stream's timestamps and frame rate onto tracker
//! frames (missed frames, gaps longer than the track buffer, the track
//! buffer at the stream's frame rate); [`Tracker::rescale`] follows a change
//! of resolution. The `edgetrack` element is built on these.

pub mod assignment;
pub mod bytetrack;
pub mod kalman;
pub mod metrics;
pub mod synth;
pub mod timeline;
pub mod track;

pub use assignment::{Assignment, Bbox, CostMatrix, iou, linear_assignment};
pub use bytetrack::{
    Algorithm, BoxDet, TrackEvent, TrackOutput, TrackState, Tracker, TrackerConfig,
};
pub use metrics::{MotAccumulator, MotMetrics};
pub use synth::{Frame, Scenario, Sequence, scenario, standard_suite};

#[cfg(test)]
mod tests;
