// SPDX-License-Identifier: MPL-2.0
//! What `edgeai-run` does after a failure: restart after an exponential
//! backoff, or give up.
//!
//! - **Backoff.** The k-th consecutive failure waits
//!   `initial_backoff · 2^(k−1)`, at most `max_backoff`
//!   (1 s, 2 s, 4 s, … 60 s with the defaults). A run that lasted at least
//!   `reset_after` before it failed starts the count again at k = 1: a
//!   pipeline that fails once a day always restarts after `initial_backoff`.
//! - **Cap.** At most `max_restarts_per_hour` restarts in any sliding window
//!   of one hour. The failure that would need one more gives
//!   [`Decision::GiveUp`]: the runner exits non-zero and the service manager
//!   (systemd's `Restart=`) takes over, typically with a fresh process.
//!
//! Time is passed in ([`Instant`]s and run [`Duration`]s), so the schedule is
//! tested without sleeping.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The sliding window of the restart cap.
pub const WINDOW: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub max_restarts_per_hour: u32,
    pub reset_after: Duration,
}

impl RestartPolicy {
    /// The wait before the restart that follows the k-th consecutive failure
    /// (k ≥ 1).
    pub fn backoff(&self, consecutive: u32) -> Duration {
        let doublings = consecutive.saturating_sub(1).min(63);
        // Duration has no overflow-free shift: saturate through checked_mul.
        let factor = 1u32.checked_shl(doublings).unwrap_or(u32::MAX);
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// What to do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Restart {
        /// Wait this long, then start the pipeline again.
        delay: Duration,
        /// Consecutive failures, this one included (1 after a good run).
        consecutive: u32,
        /// Restarts in the last hour, this one included (≤ the cap).
        in_window: u32,
        /// Restarts since the runner started, this one included.
        total: u64,
    },
    GiveUp {
        /// Restarts already made in the last hour (= the cap).
        in_window: u32,
    },
}

/// Counts failures and restarts; one per runner.
#[derive(Debug, Clone)]
pub struct RestartTracker {
    policy: RestartPolicy,
    consecutive: u32,
    restarts: VecDeque<Instant>,
    total: u64,
}

impl RestartTracker {
    pub fn new(policy: RestartPolicy) -> Self {
        Self {
            policy,
            consecutive: 0,
            restarts: VecDeque::new(),
            total: 0,
        }
    }

    pub fn policy(&self) -> &RestartPolicy {
        &self.policy
    }

    /// The pipeline failed at `now` after running for `run_time`.
    pub fn on_failure(&mut self, now: Instant, run_time: Duration) -> Decision {
        self.prune(now);
        if run_time >= self.policy.reset_after {
            self.consecutive = 0;
        }
        let in_window = self.restarts.len() as u32;
        if in_window >= self.policy.max_restarts_per_hour {
            return Decision::GiveUp { in_window };
        }
        self.consecutive = self.consecutive.saturating_add(1);
        self.restarts.push_back(now);
        self.total += 1;
        Decision::Restart {
            delay: self.policy.backoff(self.consecutive),
            consecutive: self.consecutive,
            in_window: in_window + 1,
            total: self.total,
        }
    }

    /// Restarts in the hour before `now`.
    pub fn restarts_in_window(&mut self, now: Instant) -> u32 {
        self.prune(now);
        self.restarts.len() as u32
    }

    /// Restarts since the runner started.
    pub fn total(&self) -> u64 {
        self.total
    }

    fn prune(&mut self, now: Instant) {
        while let Some(&t) = self.restarts.front() {
            if now.saturating_duration_since(t) >= WINDOW {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn policy(cap: u32) -> RestartPolicy {
        RestartPolicy {
            initial_backoff: ms(1000),
            max_backoff: ms(60_000),
            max_restarts_per_hour: cap,
            reset_after: ms(60_000),
        }
    }

    fn delay(d: Decision) -> Duration {
        match d {
            Decision::Restart { delay, .. } => delay,
            Decision::GiveUp { .. } => panic!("gave up"),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let p = policy(100);
        let got: Vec<u64> = (1..=9).map(|k| p.backoff(k).as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        // No overflow far out.
        assert_eq!(p.backoff(40), ms(60_000));
        assert_eq!(p.backoff(u32::MAX), ms(60_000));
        // k = 0 is treated as the first failure.
        assert_eq!(p.backoff(0), ms(1000));
        let zero = RestartPolicy {
            initial_backoff: Duration::ZERO,
            ..p
        };
        assert_eq!(zero.backoff(10), Duration::ZERO);
    }

    #[test]
    fn fast_failures_back_off_then_hit_the_cap() {
        let mut t = RestartTracker::new(policy(3));
        let t0 = Instant::now();
        let quick = ms(100);
        assert_eq!(
            t.on_failure(t0, quick),
            Decision::Restart {
                delay: ms(1000),
                consecutive: 1,
                in_window: 1,
                total: 1
            }
        );
        assert_eq!(delay(t.on_failure(t0 + ms(1200), quick)), ms(2000));
        assert_eq!(delay(t.on_failure(t0 + ms(3300), quick)), ms(4000));
        // The fourth failure within the hour would be the fourth restart.
        assert_eq!(
            t.on_failure(t0 + ms(7400), quick),
            Decision::GiveUp { in_window: 3 }
        );
        assert_eq!(t.total(), 3);
    }

    #[test]
    fn the_window_slides() {
        let mut t = RestartTracker::new(policy(2));
        let t0 = Instant::now();
        let long = ms(600_000); // every run long enough to reset the backoff
        assert_eq!(delay(t.on_failure(t0, long)), ms(1000));
        assert_eq!(delay(t.on_failure(t0 + ms(1_800_000), long)), ms(1000));
        // 59 min 59 s after the first restart: still two in the window.
        assert_eq!(
            t.on_failure(t0 + ms(3_599_000), long),
            Decision::GiveUp { in_window: 2 }
        );
        // One hour after the first: it has left the window.
        assert_eq!(t.restarts_in_window(t0 + ms(3_600_000)), 1);
        assert!(matches!(
            t.on_failure(t0 + ms(3_600_000), long),
            Decision::Restart {
                in_window: 2,
                total: 3,
                ..
            }
        ));
    }

    #[test]
    fn a_long_run_resets_the_backoff() {
        let mut t = RestartTracker::new(policy(100));
        let t0 = Instant::now();
        assert_eq!(delay(t.on_failure(t0, ms(10))), ms(1000));
        assert_eq!(delay(t.on_failure(t0 + ms(2000), ms(10))), ms(2000));
        assert_eq!(delay(t.on_failure(t0 + ms(5000), ms(59_999))), ms(4000));
        // This run lasted reset_after: back to the first step.
        assert_eq!(delay(t.on_failure(t0 + ms(70_000), ms(60_000))), ms(1000));
        assert_eq!(delay(t.on_failure(t0 + ms(72_000), ms(10))), ms(2000));
    }

    #[test]
    fn cap_zero_never_restarts() {
        let mut t = RestartTracker::new(policy(0));
        assert_eq!(
            t.on_failure(Instant::now(), ms(10)),
            Decision::GiveUp { in_window: 0 }
        );
    }
}
