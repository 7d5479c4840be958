// SPDX-License-Identifier: MPL-2.0
//! Stall detection bookkeeping.
//!
//! The binary puts a pad probe on the sink pads of every sink element; the
//! probe runs on the streaming thread and only touches the atomics of a
//! [`SinkActivity`] (no lock, no allocation). The main loop calls
//! [`check_stall`] a few times per stall timeout.
//!
//! A pipeline is **stalled** when no sink that is still expecting data has
//! received a buffer for `timeout`: the most recent buffer at any of them (or
//! the start of the run, if none came yet) is older than `timeout`. Sinks
//! that received EOS are expected to be silent and do not count; when every
//! sink is at EOS the pipeline is ending, not stalled.
//!
//! Times are nanoseconds on one monotonic clock chosen by the caller (the
//! binary uses the time since the runner started).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Buffers seen by one sink element, written from its streaming thread.
#[derive(Debug, Default)]
pub struct SinkActivity {
    name: String,
    buffers: AtomicU64,
    /// Time of the last buffer + 1 ns; 0 = none yet.
    last: AtomicU64,
    eos: AtomicBool,
}

impl SinkActivity {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Default::default()
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `n` buffers (a buffer, or a buffer list) arrived at `now_ns`.
    pub fn record_buffers(&self, n: u64, now_ns: u64) {
        self.buffers.fetch_add(n, Ordering::Relaxed);
        self.last
            .fetch_max(now_ns.saturating_add(1), Ordering::Relaxed);
        self.eos.store(false, Ordering::Relaxed);
    }

    /// EOS reached the sink (`true`), or a flush / new stream started
    /// (`false`).
    pub fn set_eos(&self, eos: bool) {
        self.eos.store(eos, Ordering::Relaxed);
    }

    pub fn buffers(&self) -> u64 {
        self.buffers.load(Ordering::Relaxed)
    }

    /// When the last buffer arrived, if any did.
    pub fn last_buffer_ns(&self) -> Option<u64> {
        match self.last.load(Ordering::Relaxed) {
            0 => None,
            t => Some(t - 1),
        }
    }

    pub fn at_eos(&self) -> bool {
        self.eos.load(Ordering::Relaxed)
    }
}

/// A detected stall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    /// How long no watched sink has received a buffer.
    pub silent_for: Duration,
    /// Whether any sink received a buffer in this run (a pipeline that never
    /// started flowing, or one that stopped).
    pub had_buffers: bool,
}

/// Nanoseconds since the last buffer at any watched sink (or since
/// `run_started_ns`), or `None` when nothing is watched (no sinks, or every
/// sink at EOS).
pub fn silence_ns<'a>(
    run_started_ns: u64,
    sinks: impl IntoIterator<Item = &'a SinkActivity>,
    now_ns: u64,
) -> Option<u64> {
    let mut watched = false;
    let mut last = run_started_ns;
    for s in sinks {
        if s.at_eos() {
            continue;
        }
        watched = true;
        if let Some(t) = s.last_buffer_ns() {
            last = last.max(t);
        }
    }
    watched.then(|| now_ns.saturating_sub(last))
}

/// Whether the pipeline has stalled: see the module documentation.
pub fn check_stall<'a>(
    run_started_ns: u64,
    sinks: impl IntoIterator<Item = &'a SinkActivity> + Clone,
    now_ns: u64,
    timeout: Duration,
) -> Option<Stall> {
    let silent = silence_ns(run_started_ns, sinks.clone(), now_ns)?;
    let timeout_ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
    (silent >= timeout_ns).then(|| Stall {
        silent_for: Duration::from_nanos(silent),
        had_buffers: sinks.into_iter().any(|s| s.buffers() > 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn check(started: u64, sinks: &[&SinkActivity], now: u64) -> Option<Stall> {
        check_stall(started, sinks.iter().copied(), now, Duration::from_secs(2))
    }

    #[test]
    fn counts_and_times() {
        let a = SinkActivity::new("a");
        assert_eq!(a.name(), "a");
        assert_eq!(a.last_buffer_ns(), None);
        a.record_buffers(1, 0);
        assert_eq!(a.last_buffer_ns(), Some(0));
        a.record_buffers(3, 5 * S);
        // A late writer with an older time never moves the time back.
        a.record_buffers(1, 4 * S);
        assert_eq!(a.buffers(), 5);
        assert_eq!(a.last_buffer_ns(), Some(5 * S));
    }

    #[test]
    fn a_pipeline_that_never_flows_stalls_after_the_timeout() {
        let a = SinkActivity::new("a");
        assert_eq!(check(10 * S, &[&a], 11 * S), None);
        assert_eq!(
            check(10 * S, &[&a], 12 * S),
            Some(Stall {
                silent_for: Duration::from_secs(2),
                had_buffers: false
            })
        );
    }

    #[test]
    fn the_most_recent_buffer_at_any_sink_counts() {
        let (a, b) = (SinkActivity::new("a"), SinkActivity::new("b"));
        a.record_buffers(1, S);
        b.record_buffers(1, 3 * S);
        assert_eq!(check(0, &[&a, &b], 4 * S), None);
        let st = check(0, &[&a, &b], 5 * S + S / 2).unwrap();
        assert_eq!(st.silent_for, Duration::from_millis(2500));
        assert!(st.had_buffers);
    }

    #[test]
    fn sinks_at_eos_are_not_watched() {
        let (a, b) = (SinkActivity::new("a"), SinkActivity::new("b"));
        a.record_buffers(1, 9 * S);
        b.record_buffers(1, S);
        a.set_eos(true);
        // a's recent buffer does not hide b's silence.
        assert_eq!(
            check(0, &[&a, &b], 10 * S).unwrap().silent_for,
            9 * Duration::from_secs(1)
        );
        // Everything at EOS: the pipeline is ending, not stalled.
        b.set_eos(true);
        assert_eq!(check(0, &[&a, &b], 100 * S), None);
        // A new buffer (after a flush or a new stream) watches the sink again.
        b.record_buffers(1, 100 * S);
        assert!(!b.at_eos());
        assert_eq!(check(0, &[&a, &b], 101 * S), None);
        assert!(check(0, &[&a, &b], 102 * S).is_some());
    }

    #[test]
    fn no_sinks_nothing_to_watch() {
        assert_eq!(check(0, &[], 1000 * S), None);
        assert_eq!(silence_ns(0, [], 5), None);
    }
}
