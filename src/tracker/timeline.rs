//! From timestamps to tracker frames: how a stream's frame rate and the
//! gaps between its timestamps map onto the frame-based [`Tracker`](super::Tracker).
//!
//! The tracker counts frames. A stream has timestamps and a frame rate, and
//! it may drop frames (a `thermalgate action=drop` upstream, a lossy
//! network) or jump (a camera that stalls, a playlist). [`Timeline`] turns
//! each buffer's timestamp into one [`Step`]: how many frames were missed
//! since the previous buffer (the tracker predicts through them so Kalman
//! velocities stay in pixels per frame), or a gap longer than the track
//! buffer, after which no track could be recovered and all are ended.
//!
//! `track_buffer` is given, as in ByteTrack, in frames of a 30 fps video:
//! [`buffer_frames`] converts it to frames of the actual stream and
//! [`buffer_duration_ns`] to time, so a lost track is kept as long in
//! seconds at 10 fps as at 30 fps.

/// Frame rate at which `track_buffer` is expressed (ByteTrack's convention).
pub const REFERENCE_FPS: f64 = 30.0;

/// Frames of a stream at `fps` that last as long as `track_buffer` frames at
/// 30 fps: `round(track_buffer · fps / 30)`. Without a usable frame rate
/// (`None`, zero, negative or not finite: variable-rate streams) the value is
/// taken as frames unchanged.
pub fn buffer_frames(track_buffer: u32, fps: Option<f64>) -> u32 {
    match fps {
        Some(f) if f.is_finite() && f > 0.0 => {
            let frames = (f64::from(track_buffer) * f / REFERENCE_FPS).round();
            if frames >= f64::from(u32::MAX) {
                u32::MAX
            } else {
                frames as u32
            }
        }
        _ => track_buffer,
    }
}

/// How long `track_buffer` frames at 30 fps last, in nanoseconds.
pub fn buffer_duration_ns(track_buffer: u32) -> u64 {
    u64::from(track_buffer) * 1_000_000_000 / REFERENCE_FPS as u64
}

/// What happened between the previous buffer and this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The next frame; `missed` frames were skipped before it (0 normally).
    Next {
        /// Whole frames missing between the two timestamps.
        missed: u32,
    },
    /// The timestamps are further apart than the track buffer: every track
    /// has run out and must be ended.
    Gap {
        /// Time between the two timestamps, ns.
        elapsed_ns: u64,
    },
}

/// Remembers the previous timestamp of a stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    last_ns: Option<u64>,
}

impl Timeline {
    /// A timeline that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forget the previous timestamp (after a flush or a new stream).
    pub fn reset(&mut self) {
        self.last_ns = None;
    }

    /// Classify a buffer with timestamp `ts_ns` (a running time), for a
    /// stream of frame duration `frame_ns` whose tracks are kept
    /// `buffer_frames` frames (`buffer_ns` long) without a detection.
    ///
    /// * No timestamp, or the first one: `Next { missed: 0 }`.
    /// * A timestamp that does not advance (equal or earlier, e.g. a new
    ///   segment without a flush): `Next { missed: 0 }`, and it becomes the
    ///   reference for the next buffer.
    /// * With a known frame duration: `missed = round(Δ / frame_ns) − 1` (at
    ///   least 0, so jitter under half a frame never counts as a missed
    ///   frame). When more frames are missing than a track may go without a
    ///   detection (`missed > buffer_frames`) no track could be recovered
    ///   any more: `Gap`; otherwise `Next { missed }`.
    /// * Without a frame duration (`None` or 0): `Gap` when `Δ > buffer_ns`,
    ///   else `Next { missed: 0 }`.
    pub fn step(
        &mut self,
        ts_ns: Option<u64>,
        frame_ns: Option<u64>,
        buffer_frames: u32,
        buffer_ns: u64,
    ) -> Step {
        let Some(ts) = ts_ns else {
            return Step::Next { missed: 0 };
        };
        let prev = self.last_ns.replace(ts);
        let Some(prev) = prev else {
            return Step::Next { missed: 0 };
        };
        if ts <= prev {
            return Step::Next { missed: 0 };
        }
        let elapsed_ns = ts - prev;
        match frame_ns {
            Some(f) if f > 0 => {
                let frames = elapsed_ns / f + u64::from(elapsed_ns % f >= f.div_ceil(2));
                let missed = frames.saturating_sub(1);
                if missed > u64::from(buffer_frames) {
                    Step::Gap { elapsed_ns }
                } else {
                    // missed <= buffer_frames <= u32::MAX
                    Step::Next {
                        missed: missed as u32,
                    }
                }
            }
            _ if elapsed_ns > buffer_ns => Step::Gap { elapsed_ns },
            _ => Step::Next { missed: 0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn buffer_frames_scales_with_the_frame_rate() {
        assert_eq!(buffer_frames(30, Some(30.0)), 30);
        assert_eq!(buffer_frames(30, Some(10.0)), 10);
        assert_eq!(buffer_frames(30, Some(60.0)), 60);
        // 30 * 25 / 30 = 25; 30 * 29.97 / 30 = 29.97 -> 30; 7 * 10 / 30 = 2.33 -> 2.
        assert_eq!(buffer_frames(30, Some(25.0)), 25);
        assert_eq!(buffer_frames(30, Some(30_000.0 / 1001.0)), 30);
        assert_eq!(buffer_frames(7, Some(10.0)), 2);
        assert_eq!(buffer_frames(0, Some(10.0)), 0);
        // Unknown or variable rate: frames as given.
        for fps in [
            None,
            Some(0.0),
            Some(-5.0),
            Some(f64::NAN),
            Some(f64::INFINITY),
        ] {
            assert_eq!(buffer_frames(30, fps), 30);
        }
        assert_eq!(buffer_frames(u32::MAX, Some(1000.0)), u32::MAX);
    }

    #[test]
    fn buffer_duration() {
        assert_eq!(buffer_duration_ns(30), 1_000 * MS);
        assert_eq!(buffer_duration_ns(45), 1_500 * MS);
        assert_eq!(buffer_duration_ns(0), 0);
    }

    #[test]
    fn steps_count_missed_frames_and_gaps() {
        // 10 fps, tracks kept 10 frames (1 s).
        let frame = Some(100 * MS);
        let mut t = Timeline::new();
        let mut step = |ts: u64| t.step(Some(ts * MS), frame, 10, 1_000 * MS);
        assert_eq!(step(0), Step::Next { missed: 0 });
        assert_eq!(step(100), Step::Next { missed: 0 });
        // Jitter of 40 ms either way is not a missed frame; 50 ms rounds up.
        assert_eq!(step(240), Step::Next { missed: 0 });
        assert_eq!(step(300), Step::Next { missed: 0 });
        assert_eq!(step(450), Step::Next { missed: 1 });
        // Two frames dropped.
        assert_eq!(step(750), Step::Next { missed: 2 });
        // 10 frames missing: a track matched at 750 ms can still be
        // recovered now; 11 missing: it cannot.
        assert_eq!(step(1_850), Step::Next { missed: 10 });
        assert_eq!(
            step(3_050),
            Step::Gap {
                elapsed_ns: 1_200 * MS
            }
        );
        assert_eq!(step(3_150), Step::Next { missed: 0 });
    }

    #[test]
    fn without_frame_duration_the_buffer_time_decides() {
        let mut t = Timeline::new();
        let max = 1_000 * MS;
        assert_eq!(t.step(Some(0), None, 10, max), Step::Next { missed: 0 });
        assert_eq!(
            t.step(Some(700 * MS), None, 10, max),
            Step::Next { missed: 0 }
        );
        assert_eq!(
            t.step(Some(1_700 * MS), None, 10, max),
            Step::Next { missed: 0 }
        );
        assert_eq!(
            t.step(Some(2_700 * MS + 1), None, 10, max),
            Step::Gap {
                elapsed_ns: 1_000 * MS + 1
            }
        );
        // A zero frame duration is treated as unknown.
        assert_eq!(
            t.step(Some(3_000 * MS), Some(0), 10, max),
            Step::Next { missed: 0 }
        );
    }

    #[test]
    fn zero_track_buffer_tolerates_jitter() {
        // track-buffer 0: any missed frame ends the tracks, jitter does not.
        let mut t = Timeline::new();
        let f = Some(33 * MS);
        assert_eq!(t.step(Some(0), f, 0, 0), Step::Next { missed: 0 });
        assert_eq!(t.step(Some(40 * MS), f, 0, 0), Step::Next { missed: 0 });
        assert_eq!(
            t.step(Some(110 * MS), f, 0, 0),
            Step::Gap {
                elapsed_ns: 70 * MS
            }
        );
    }

    #[test]
    fn missing_and_backward_timestamps() {
        let frame = Some(100 * MS);
        let mut t = Timeline::new();
        let mut step = |ts: Option<u64>| t.step(ts.map(|v| v * MS), frame, 10, 1_000 * MS);
        assert_eq!(step(None), Step::Next { missed: 0 });
        assert_eq!(step(Some(5_000)), Step::Next { missed: 0 });
        // A buffer without timestamp does not move the reference.
        assert_eq!(step(None), Step::Next { missed: 0 });
        assert_eq!(step(Some(5_100)), Step::Next { missed: 0 });
        // Backwards: no gap, new reference.
        assert_eq!(step(Some(100)), Step::Next { missed: 0 });
        assert_eq!(step(Some(200)), Step::Next { missed: 0 });
        t.reset();
        assert_eq!(
            t.step(Some(9_000 * MS), frame, 10, 1_000 * MS),
            Step::Next { missed: 0 }
        );
    }
}
