//! Per-frame admission: which frames to keep at a given factor.
//!
//! [`Pacer`] is a deterministic error-diffusion (Bresenham) accumulator:
//! each frame adds the factor to an accumulator and a frame is kept when the
//! accumulator reaches one whole frame. Kept frames are therefore spread as
//! evenly as possible (gaps differ by at most one frame), with no randomness.
//!
//! The arithmetic is done in integers: the factor is quantised to parts per
//! million ([`Pacer::SCALE`]), so long runs never drift through floating
//! point rounding (0.6 keeps exactly 3 of every 5 frames forever).
//!
//! The accumulator starts one unit short of a whole frame, so the first
//! frame after [`Pacer::new`] / [`Pacer::reset`] is kept at any non-zero
//! factor, and after `n` frames at a constant factor `f` exactly
//! `ceil(n * f)` frames have been kept (with `f` quantised to 1e-6).
//!
//! [`OncePerSecond`] is the "keep one frame per second of stream time" gate
//! used by the `drop` action at the critical level.

/// Error-diffusion frame pacer. See the module docs.
#[derive(Debug, Clone)]
pub struct Pacer {
    /// Accumulated credit in units of `1 / SCALE` frame; always `< SCALE`.
    acc: u64,
}

impl Pacer {
    /// Resolution of the factor: one part per million.
    pub const SCALE: u64 = 1_000_000;

    /// A pacer whose next frame is kept at any non-zero factor.
    pub fn new() -> Self {
        Pacer {
            acc: Self::SCALE - 1,
        }
    }

    /// Back to the state of [`Pacer::new`] (e.g. after a flush).
    pub fn reset(&mut self) {
        self.acc = Self::SCALE - 1;
    }

    /// Whether this frame should be kept at `factor` (clamped to `0..=1`;
    /// NaN counts as 0). 1.0 keeps every frame, 0.5 every other frame,
    /// 0.6 three of five evenly (`K K D K D` from a fresh pacer), 0.0 none.
    ///
    /// The factor may change from one call to the next; the accumulated
    /// credit carries over, so a change takes effect smoothly.
    pub fn admit(&mut self, factor: f64) -> bool {
        let step = Self::quantise(factor);
        if step == 0 {
            return false;
        }
        // acc < SCALE and step <= SCALE, so this cannot overflow.
        self.acc += step;
        if self.acc >= Self::SCALE {
            self.acc -= Self::SCALE;
            true
        } else {
            false
        }
    }

    /// `factor` in `0..=SCALE`.
    fn quantise(factor: f64) -> u64 {
        if factor >= 1.0 {
            Self::SCALE
        } else if factor > 0.0 {
            // In (0, SCALE): the cast cannot truncate meaningfully.
            (factor * Self::SCALE as f64).round() as u64
        } else {
            0
        }
    }
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer::new()
    }
}

/// Keeps one frame per interval (default 1 s) of running time.
///
/// A frame is kept when it is the first one since [`OncePerSecond::new`] /
/// [`OncePerSecond::reset`], or when at least the interval has passed since
/// the last *kept* frame. If running time goes backwards (it should not
/// within a segment; call `reset` on flush/segment changes), the frame is
/// kept and becomes the new reference, so the gate can never get stuck.
#[derive(Debug, Clone)]
pub struct OncePerSecond {
    interval_ns: u64,
    last_kept: Option<u64>,
}

impl OncePerSecond {
    /// One second in nanoseconds.
    pub const SECOND_NS: u64 = 1_000_000_000;

    /// A gate keeping one frame per second.
    pub fn new() -> Self {
        Self::with_interval(Self::SECOND_NS)
    }

    /// A gate keeping one frame per `interval_ns` (0 keeps every frame).
    pub fn with_interval(interval_ns: u64) -> Self {
        OncePerSecond {
            interval_ns,
            last_kept: None,
        }
    }

    /// Whether the frame at `running_time_ns` should be kept.
    pub fn admit(&mut self, running_time_ns: u64) -> bool {
        let keep = match self.last_kept {
            None => true,
            Some(last) => match running_time_ns.checked_sub(last) {
                Some(elapsed) => elapsed >= self.interval_ns,
                None => true, // time went backwards
            },
        };
        if keep {
            self.last_kept = Some(running_time_ns);
        }
        keep
    }

    /// Forgets the last kept frame: the next frame is kept.
    pub fn reset(&mut self) {
        self.last_kept = None;
    }
}

impl Default for OncePerSecond {
    fn default() -> Self {
        OncePerSecond::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pattern string of `n` frames: 'K' kept, '.' dropped.
    fn pattern(p: &mut Pacer, factor: f64, n: usize) -> String {
        (0..n)
            .map(|_| if p.admit(factor) { 'K' } else { '.' })
            .collect()
    }

    #[test]
    fn factor_one_keeps_all() {
        let mut p = Pacer::new();
        assert_eq!(pattern(&mut p, 1.0, 10), "KKKKKKKKKK");
        assert_eq!(pattern(&mut p, 1.5, 3), "KKK");
    }

    #[test]
    fn factor_half_alternates() {
        let mut p = Pacer::new();
        assert_eq!(pattern(&mut p, 0.5, 10), "K.K.K.K.K.");
    }

    #[test]
    fn factor_0_6_three_of_five_evenly() {
        let mut p = Pacer::new();
        let s = pattern(&mut p, 0.6, 20);
        assert_eq!(s, "KK.K.KK.K.KK.K.KK.K.");
        // every window of 5 consecutive frames holds exactly 3 kept
        let b = s.as_bytes();
        for w in b.windows(5) {
            assert_eq!(w.iter().filter(|&&c| c == b'K').count(), 3);
        }
        // never two drops in a row
        assert!(!s.contains(".."));
    }

    #[test]
    fn factor_0_2_one_of_five() {
        let mut p = Pacer::new();
        assert_eq!(pattern(&mut p, 0.2, 15), "K....K....K....");
    }

    #[test]
    fn factor_zero_and_nan_keep_none() {
        let mut p = Pacer::new();
        assert_eq!(pattern(&mut p, 0.0, 5), ".....");
        assert_eq!(pattern(&mut p, -1.0, 5), ".....");
        assert_eq!(pattern(&mut p, f64::NAN, 5), ".....");
        // credit was not consumed: a later non-zero factor keeps at once
        assert!(p.admit(0.5));
    }

    #[test]
    fn count_over_300_frames() {
        let mut p = Pacer::new();
        let kept = (0..300).filter(|_| p.admit(0.6)).count();
        assert_eq!(kept, 180);
        let mut p = Pacer::new();
        let kept = (0..1_000_000).filter(|_| p.admit(0.6)).count();
        assert_eq!(kept, 600_000);
    }

    #[test]
    fn count_is_ceil_n_f() {
        for &f in &[0.1, 0.25, 1.0 / 3.0, 0.37, 0.6, 0.75, 0.99] {
            let mut p = Pacer::new();
            let mut kept = 0u64;
            for n in 1..=1000u64 {
                if p.admit(f) {
                    kept += 1;
                }
                let q = (f * Pacer::SCALE as f64).round() as u64;
                let expected = (n * q).div_ceil(Pacer::SCALE);
                assert_eq!(kept, expected, "f={f} n={n}");
            }
        }
    }

    #[test]
    fn switching_factor_mid_way() {
        let mut p = Pacer::new();
        assert_eq!(pattern(&mut p, 1.0, 4), "KKKK");
        assert_eq!(pattern(&mut p, 0.5, 6), "K.K.K.");
        assert_eq!(pattern(&mut p, 0.25, 8), "K...K...");
        assert_eq!(pattern(&mut p, 0.0, 3), "...");
        assert_eq!(pattern(&mut p, 1.0, 2), "KK");
        // half-way through a 0.5 cycle into 0.2: credit 0.5 carries over
        let mut p = Pacer::new();
        assert_eq!(pattern(&mut p, 0.5, 1), "K");
        // acc now 0.5 - 1e-6; +0.2 each: 0.7, 0.9, 1.1 → kept on 3rd
        assert_eq!(pattern(&mut p, 0.2, 8), "..K....K");
    }

    #[test]
    fn reset_restarts_pattern() {
        let mut p = Pacer::new();
        pattern(&mut p, 0.3, 7);
        p.reset();
        assert_eq!(pattern(&mut p, 0.5, 4), "K.K.");
        assert_eq!(pattern(&mut Pacer::default(), 0.5, 2), "K.");
    }

    #[test]
    fn tiny_factor_quantises_to_zero() {
        let mut p = Pacer::new();
        assert_eq!(pattern(&mut p, 1e-9, 3), "...");
        // 1e-6 is the smallest representable non-zero factor
        assert!(p.admit(1e-6));
        assert!(!p.admit(1e-6));
    }

    const MS: u64 = 1_000_000;

    #[test]
    fn once_per_second_basic() {
        let mut g = OncePerSecond::new();
        // 30 fps, frames at exact multiples of 1/30 s
        let kept: Vec<u64> = (0..100u64)
            .filter(|i| g.admit(i * 1_000_000_000 / 30))
            .collect();
        assert_eq!(kept, vec![0, 30, 60, 90]);
    }

    #[test]
    fn once_per_second_measures_from_last_kept() {
        let mut g = OncePerSecond::new();
        assert!(g.admit(500 * MS)); // first frame kept whatever its time
        assert!(!g.admit(900 * MS));
        assert!(!g.admit(1499 * MS));
        assert!(g.admit(1500 * MS)); // exactly 1 s later
        assert!(!g.admit(2400 * MS));
        assert!(g.admit(2600 * MS)); // late frame: reference moves to it
        assert!(!g.admit(3500 * MS));
        assert!(g.admit(3600 * MS));
    }

    #[test]
    fn once_per_second_sparse_stream() {
        let mut g = OncePerSecond::new();
        for t in [0, 2_000, 5_000, 5_999, 7_000] {
            let expected = t != 5_999;
            assert_eq!(g.admit(t * MS), expected, "t={t} ms");
        }
    }

    #[test]
    fn once_per_second_backwards_and_reset() {
        let mut g = OncePerSecond::new();
        assert!(g.admit(10_000 * MS));
        assert!(!g.admit(10_100 * MS));
        assert!(g.admit(100 * MS)); // went backwards: kept, new reference
        assert!(!g.admit(600 * MS));
        g.reset();
        assert!(g.admit(700 * MS));
        assert!(!g.admit(800 * MS));
    }

    #[test]
    fn once_per_interval() {
        let mut g = OncePerSecond::with_interval(250 * MS);
        let kept = (0..20u64).filter(|i| g.admit(i * 100 * MS)).count();
        // kept at 0, 300, 600, ... 1800 ms
        assert_eq!(kept, 7);
        let mut g = OncePerSecond::with_interval(0);
        assert!((0..5).all(|_| g.admit(42)));
        let mut g = OncePerSecond::default();
        assert!(g.admit(u64::MAX));
        assert!(!g.admit(u64::MAX));
    }
}
