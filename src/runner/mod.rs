// SPDX-License-Identifier: MPL-2.0
//! GStreamer-free core of `edgeai-run`, the supervised pipeline runner
//! (`src/bin/edgeai-run/`, documented in `docs/edgeai-run.md`).
//!
//! The binary owns the pipeline, the GLib main loop, the signals and the
//! HTTP endpoint; every decision it takes comes from here, so it can be
//! unit-tested without a pipeline:
//!
//! * [`config`]: the TOML file and the command-line overrides, resolved and
//!   validated into [`Settings`]; durations as `"10s"`, `"500ms"` or seconds.
//! * [`policy`]: what to do after a failure — restart after an exponential
//!   backoff, or give up once the cap of restarts in a sliding hour is
//!   reached ([`RestartTracker`]).
//! * [`stall`]: per-sink activity counters written by pad probes on the
//!   streaming threads (lock-free) and the stall check over them
//!   ([`check_stall`]).
//! * [`stats`]: rates from counters, the statistics snapshot served as JSON
//!   and logged as one line, and the process RSS.
//!
//! Nothing in here panics on bad input; configuration problems come back as
//! [`ConfigError`]s with a message meant for the user.

pub mod config;
pub mod policy;
pub mod stall;
pub mod stats;

pub use self::config::{
    ConfigError, FileConfig, OnEos, Overrides, Settings, StatsMqtt, fmt_duration, parse_duration,
};
pub use self::policy::{Decision, RestartPolicy, RestartTracker};
pub use self::stall::{SinkActivity, Stall, check_stall, silence_ns};
pub use self::stats::{
    InferenceStats, Rates, RestartStats, SinkStats, Snapshot, ThermalStats, TrackingStats,
    ZoneLabelStats, ZoneStats, ZonesStats, read_rss_bytes,
};
