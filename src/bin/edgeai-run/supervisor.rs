// SPDX-License-Identifier: MPL-2.0
//! The supervisor: one GLib main loop that owns the pipeline, watches its
//! bus, checks for stalls, handles SIGINT/SIGTERM, logs and publishes
//! statistics and pings systemd. Every decision comes from
//! `gstedgeai::runner`.
//!
//! Everything here runs on the main thread, except the pad probes (they
//! only touch the atomics of a [`SinkActivity`]) and the pipeline teardown,
//! which runs on a helper thread so that a pipeline blocked in an element
//! cannot block the runner: past `teardown-timeout` the runner exits with
//! status 3 and lets the service manager start a fresh process.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gst::glib;
use gst::prelude::*;
use gstedgeai::runner::{
    Decision, InferenceStats, OnEos, Rates, RestartPolicy, RestartStats, RestartTracker, Settings,
    SinkActivity, SinkStats, Snapshot, ThermalStats, TrackingStats, ZonesStats, check_stall,
    fmt_duration, read_rss_bytes, silence_ns,
};
use sd_notify::NotifyState;

use crate::http::SharedStats;
use crate::mqtt::StatsPublisher;
use crate::say;

/// Exit statuses (documented in `docs/edgeai-run.md` and `--help`).
pub mod exit {
    pub const OK: i32 = 0;
    pub const GAVE_UP: i32 = 1;
    pub const CONFIG: i32 = 2;
    pub const STUCK: i32 = 3;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Pipeline created and set to PLAYING, not there yet.
    Starting,
    Running,
    /// Waiting out a backoff; no pipeline.
    Restarting,
    /// EOS sent after a signal; waiting for it to reach the sinks.
    Stopping,
    /// Done: the main loop is quitting.
    Stopped,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Restarting => "restarting",
            Phase::Stopping => "stopping",
            Phase::Stopped => "stopped",
        }
    }
}

type Sinks = Arc<Mutex<Vec<Arc<SinkActivity>>>>;

fn lock_sinks(s: &Sinks) -> Vec<Arc<SinkActivity>> {
    s.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Parses a pipeline description; every parser problem (syntax, missing
/// element, unknown property, bad value) is an error here.
pub fn build_pipeline(desc: &str) -> Result<gst::Pipeline, String> {
    let element = gst::parse::launch_full(desc, None, gst::ParseFlags::FATAL_ERRORS)
        .map_err(|e| e.to_string())?;
    match element.downcast::<gst::Pipeline>() {
        Ok(p) => Ok(p),
        // A single element: wrap it, as gst-launch-1.0 does.
        Err(element) => {
            let p = gst::Pipeline::new();
            p.add(&element).map_err(|e| e.to_string())?;
            Ok(p)
        }
    }
}

fn nanos_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn is_sink(e: &gst::Element) -> bool {
    e.element_flags().contains(gst::ElementFlags::SINK) && !e.is::<gst::Bin>()
}

/// Counts buffers (and notes EOS) on every sink pad of `element`.
fn probe_sink(element: &gst::Element, sinks: &Sinks, epoch: Instant) {
    let activity = Arc::new(SinkActivity::new(element.name().as_str()));
    sinks
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(activity.clone());
    let add = move |pad: &gst::Pad| {
        let a = activity.clone();
        pad.add_probe(
            gst::PadProbeType::BUFFER
                | gst::PadProbeType::BUFFER_LIST
                | gst::PadProbeType::EVENT_DOWNSTREAM,
            move |_, info| {
                match &info.data {
                    Some(gst::PadProbeData::Buffer(_)) => a.record_buffers(1, nanos_since(epoch)),
                    Some(gst::PadProbeData::BufferList(l)) => {
                        a.record_buffers(l.len() as u64, nanos_since(epoch))
                    }
                    Some(gst::PadProbeData::Event(ev)) => match ev.type_() {
                        gst::EventType::Eos => a.set_eos(true),
                        gst::EventType::FlushStop | gst::EventType::StreamStart => a.set_eos(false),
                        _ => {}
                    },
                    _ => {}
                }
                gst::PadProbeReturn::Ok
            },
        );
    };
    for pad in element.sink_pads() {
        add(&pad);
    }
    // Request or sometimes sink pads that appear later.
    element.connect_pad_added(move |_, pad| {
        if pad.direction() == gst::PadDirection::Sink {
            add(pad);
        }
    });
}

/// Probes the sinks of `pipeline`, including sinks added later inside bins.
fn watch_sinks(pipeline: &gst::Pipeline, epoch: Instant) -> Sinks {
    let sinks: Sinks = Arc::new(Mutex::new(Vec::new()));
    let s = sinks.clone();
    pipeline.connect_deep_element_added(move |_, _, element| {
        if is_sink(element) {
            probe_sink(element, &s, epoch);
        }
    });
    for element in pipeline.iterate_recurse().into_iter().flatten() {
        if is_sink(&element) {
            probe_sink(&element, &sinks, epoch);
        }
    }
    sinks
}

fn has(e: &gst::Element, name: &str) -> bool {
    e.find_property(name).is_some()
}

fn prop_u64(e: &gst::Element, name: &str) -> Option<u64> {
    e.find_property(name)?;
    e.property_value(name).transform::<u64>().ok()?.get().ok()
}

fn prop_f64(e: &gst::Element, name: &str) -> Option<f64> {
    e.find_property(name)?;
    e.property_value(name).transform::<f64>().ok()?.get().ok()
}

fn prop_string(e: &gst::Element, name: &str) -> Option<String> {
    e.find_property(name)?;
    e.property_value(name)
        .get::<Option<String>>()
        .ok()
        .flatten()
}

/// systemd notification; a no-op without `NOTIFY_SOCKET`.
fn notify(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        say!("warning: sd_notify failed: {e}");
    }
}

struct Run {
    pipeline: gst::Pipeline,
    bus_watch: gst::bus::BusWatchGuard,
    sinks: Sinks,
    started: Instant,
    started_ns: u64,
}

pub struct Runner {
    settings: Settings,
    epoch: Instant,
    main_loop: glib::MainLoop,
    tracker: RestartTracker,
    run: Option<Run>,
    run_number: u64,
    phase: Phase,
    exit_code: i32,
    ever_playing: bool,
    ready_sent: bool,
    signals: u32,
    last_cause: Option<String>,
    stop_timer: Option<glib::SourceId>,
    rates: Rates,
    snapshot: Snapshot,
    /// The last `edgezones-counts` of each element in this run.
    zones: std::collections::BTreeMap<String, ZonesStats>,
    published: Option<SharedStats>,
    stats_mqtt: Option<Arc<StatsPublisher>>,
    /// The already-parsed pipeline of the first run.
    first: Option<gst::Pipeline>,
    weak_self: Weak<RefCell<Runner>>,
}

/// Runs the supervisor until it stops; returns the exit status.
/// `first` is the pipeline parsed when the configuration was validated; it
/// becomes the first run, so element names (`identity0`) match the
/// description's order on the first run.
pub fn run(
    settings: Settings,
    first: gst::Pipeline,
    published: Option<SharedStats>,
    stats_mqtt: Option<Arc<StatsPublisher>>,
) -> i32 {
    let main_loop = glib::MainLoop::new(None, false);
    let policy = RestartPolicy {
        initial_backoff: settings.initial_backoff,
        max_backoff: settings.max_backoff,
        max_restarts_per_hour: settings.max_restarts_per_hour,
        reset_after: settings.reset_after,
    };
    let runner = Rc::new_cyclic(|weak| {
        RefCell::new(Runner {
            settings: settings.clone(),
            epoch: Instant::now(),
            main_loop: main_loop.clone(),
            tracker: RestartTracker::new(policy),
            run: None,
            run_number: 0,
            phase: Phase::Starting,
            exit_code: exit::OK,
            ever_playing: false,
            ready_sent: false,
            signals: 0,
            last_cause: None,
            stop_timer: None,
            rates: Rates::new(0.0),
            snapshot: Snapshot::default(),
            zones: std::collections::BTreeMap::new(),
            published,
            stats_mqtt,
            first: Some(first),
            weak_self: weak.clone(),
        })
    });
    let weak = Rc::downgrade(&runner);

    for signum in [libc::SIGINT, libc::SIGTERM] {
        let w = weak.clone();
        glib_unix::unix_signal_add_local(signum, move || {
            if let Some(r) = w.upgrade() {
                r.borrow_mut().on_signal(signum);
            }
            glib::ControlFlow::Continue
        });
    }
    if let Some(timeout) = settings.stall_timeout {
        // Checked ten times per timeout: a stall is seen within
        // timeout + timeout/10 (at most 500 ms late).
        let period = (timeout / 10).clamp(Duration::from_millis(20), Duration::from_millis(500));
        let w = weak.clone();
        glib::timeout_add_local(period, move || {
            if let Some(r) = w.upgrade() {
                r.borrow_mut().check_stall(timeout);
            }
            glib::ControlFlow::Continue
        });
    }
    if let Some(interval) = settings.stats_interval {
        let w = weak.clone();
        glib::timeout_add_local(interval, move || {
            if let Some(r) = w.upgrade() {
                r.borrow_mut().tick_stats();
            }
            glib::ControlFlow::Continue
        });
    }
    if let Some(usec) = sd_notify::watchdog_enabled() {
        let period = usec / 2;
        say!(
            "systemd watchdog enabled ({}): pinging every {}",
            fmt_duration(usec),
            fmt_duration(period)
        );
        glib::timeout_add_local(period, || {
            notify(&[NotifyState::Watchdog]);
            glib::ControlFlow::Continue
        });
    }

    runner.borrow_mut().start_run();
    if runner.borrow().phase != Phase::Stopped {
        main_loop.run();
    }
    runner.borrow().exit_code
}

impl Runner {
    fn now_s(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    fn start_run(&mut self) {
        if self.phase == Phase::Stopped {
            return;
        }
        self.run_number += 1;
        self.phase = Phase::Starting;
        self.zones.clear();
        let parsed = match self.first.take() {
            Some(p) => Ok(p),
            None => build_pipeline(&self.settings.pipeline),
        };
        let pipeline = match parsed {
            Ok(p) => p,
            Err(e) => {
                say!("error: invalid pipeline: {e}");
                return self.finish(exit::CONFIG);
            }
        };
        let sinks = watch_sinks(&pipeline, self.epoch);
        if lock_sinks(&sinks).is_empty() {
            say!("warning: the pipeline has no sink element: stall detection cannot watch it");
        }
        let Some(bus) = pipeline.bus() else {
            say!("error: the pipeline has no bus");
            return self.finish(exit::GAVE_UP);
        };
        let weak = self.weak_self.clone();
        let bus_watch = match bus.add_watch_local(move |_, msg| {
            if let Some(r) = weak.upgrade() {
                r.borrow_mut().on_message(msg);
            }
            glib::ControlFlow::Continue
        }) {
            Ok(w) => w,
            Err(e) => {
                say!("error: cannot watch the pipeline's bus: {e}");
                return self.finish(exit::GAVE_UP);
            }
        };
        let started = Instant::now();
        let started_ns = nanos_since(self.epoch);
        self.rates.new_run(self.now_s());
        self.snapshot.sinks.clear();
        self.snapshot.inference.clear();
        self.snapshot.tracking.clear();
        self.snapshot.thermal.clear();
        say!("run {}: starting the pipeline", self.run_number);
        self.run = Some(Run {
            pipeline: pipeline.clone(),
            bus_watch,
            sinks,
            started,
            started_ns,
        });
        // Filled at once (sinks, version, RSS), not only at the first
        // stats interval: a health probe right after start sees the run.
        self.collect();
        self.publish();
        if pipeline.set_state(gst::State::Playing).is_err() {
            let (cause, config) = match bus.pop_filtered(&[gst::MessageType::Error]) {
                Some(msg) => self.describe_error(&msg),
                None => (
                    "the pipeline could not be set to PLAYING".to_string(),
                    false,
                ),
            };
            self.fail(cause, config);
        }
    }

    /// The cause of an error message, and whether it is a configuration
    /// error that no restart can fix: a missing plugin, an element's
    /// settings (`LibraryError::Settings`) or a library that cannot be loaded
    /// (`LibraryError::Init`, e.g. no ONNX Runtime) before the pipeline ever
    /// played.
    fn describe_error(&self, msg: &gst::Message) -> (String, bool) {
        let gst::MessageView::Error(e) = msg.view() else {
            return ("error".into(), false);
        };
        let src = msg
            .src()
            .map(|s| s.name().to_string())
            .unwrap_or_else(|| "the pipeline".into());
        let err = e.error();
        if let Some(debug) = e.debug() {
            say!("error details from {src}: {debug}");
        }
        // LibraryError::Init: a library the element needs cannot be loaded
        // or initialised (edgedetect without ONNX Runtime).
        let config = !self.ever_playing
            && (err.matches(gst::LibraryError::Settings)
                || err.matches(gst::LibraryError::Init)
                || err.matches(gst::CoreError::MissingPlugin));
        (format!("error from {src}: {}", err.message()), config)
    }

    fn on_message(&mut self, msg: &gst::Message) {
        let Some(run) = &self.run else { return };
        let from_pipeline = msg.src() == Some(run.pipeline.upcast_ref::<gst::Object>());
        match msg.view() {
            gst::MessageView::Error(_) => {
                let (cause, config) = self.describe_error(msg);
                self.fail(cause, config);
            }
            gst::MessageView::Warning(w) => {
                let src = msg.src().map(|s| s.name().to_string()).unwrap_or_default();
                say!("warning from {src}: {}", w.error().message());
            }
            gst::MessageView::Eos(_) => self.on_eos(),
            gst::MessageView::Element(e) => {
                let src = msg.src().map(|s| s.name().to_string()).unwrap_or_default();
                if let Some(z) = e
                    .structure()
                    .and_then(|s| ZonesStats::from_counts_message(&src, s))
                {
                    self.zones.insert(src, z);
                }
            }
            gst::MessageView::StateChanged(s)
                if from_pipeline && s.current() == gst::State::Playing =>
            {
                self.on_playing()
            }
            _ => {}
        }
    }

    fn on_playing(&mut self) {
        if self.phase != Phase::Starting {
            return;
        }
        self.phase = Phase::Running;
        self.ever_playing = true;
        say!("run {}: playing", self.run_number);
        let status = format!("running (run {})", self.run_number);
        if self.ready_sent {
            notify(&[NotifyState::Status(&status)]);
        } else {
            self.ready_sent = true;
            notify(&[NotifyState::Ready, NotifyState::Status(&status)]);
        }
        self.publish_state();
    }

    fn on_eos(&mut self) {
        match self.phase {
            Phase::Stopping => {
                if let Some(id) = self.stop_timer.take() {
                    id.remove();
                }
                say!("EOS reached the sinks: stopped cleanly");
                if self.teardown() {
                    self.finish(exit::OK);
                }
            }
            Phase::Starting | Phase::Running => match self.settings.on_eos {
                OnEos::Exit => {
                    say!("the pipeline ended (EOS): exiting");
                    if self.teardown() {
                        self.finish(exit::OK);
                    }
                }
                OnEos::Restart => self.fail("end of stream".into(), false),
            },
            Phase::Restarting | Phase::Stopped => {}
        }
    }

    /// The pipeline failed: tear it down, then restart it after the backoff
    /// or give up.
    fn fail(&mut self, cause: String, config_error: bool) {
        match self.phase {
            Phase::Restarting | Phase::Stopped => return,
            Phase::Stopping => {
                say!("{cause} while stopping: stopping now");
                if self.teardown() {
                    self.finish(exit::GAVE_UP);
                }
                return;
            }
            Phase::Starting | Phase::Running => {}
        }
        let run_time = self
            .run
            .as_ref()
            .map(|r| r.started.elapsed())
            .unwrap_or_default();
        say!(
            "run {} failed after {}: {cause}",
            self.run_number,
            fmt_duration(run_time)
        );
        if !self.teardown() {
            return;
        }
        if config_error {
            say!("configuration error, not restarting: {cause}");
            return self.finish(exit::CONFIG);
        }
        let cap = self.tracker.policy().max_restarts_per_hour;
        match self.tracker.on_failure(Instant::now(), run_time) {
            Decision::GiveUp { in_window } => {
                say!(
                    "giving up: {in_window} restart(s) in the last hour already, the maximum \
                     (max-restarts-per-hour {cap}); exiting with status {}",
                    exit::GAVE_UP
                );
                self.last_cause = Some(cause);
                self.finish(exit::GAVE_UP);
            }
            Decision::Restart {
                delay,
                in_window,
                total,
                ..
            } => {
                say!(
                    "restart {total} ({in_window}/{cap} in the last hour) in {}",
                    fmt_duration(delay)
                );
                let status = format!("restarting in {}: {cause}", fmt_duration(delay));
                if self.ready_sent {
                    notify(&[NotifyState::Status(&status)]);
                } else {
                    // The supervisor is up and keeping the pipeline alive.
                    self.ready_sent = true;
                    notify(&[NotifyState::Ready, NotifyState::Status(&status)]);
                }
                self.last_cause = Some(cause);
                self.phase = Phase::Restarting;
                self.publish_state();
                let weak = self.weak_self.clone();
                glib::timeout_add_local_once(delay, move || {
                    if let Some(r) = weak.upgrade() {
                        r.borrow_mut().start_run();
                    }
                });
            }
        }
    }

    /// Stops the current pipeline (state NULL) on a helper thread, waiting
    /// at most `teardown-timeout`. Returns false (and finishes with status
    /// 3) when it did not stop in time.
    fn teardown(&mut self) -> bool {
        let Some(run) = self.run.take() else {
            return true;
        };
        let Run {
            pipeline,
            bus_watch,
            ..
        } = run;
        drop(bus_watch);
        let (tx, rx) = mpsc::channel();
        let p = pipeline.clone();
        let spawned = std::thread::Builder::new()
            .name("teardown".into())
            .spawn(move || {
                let _ = p.set_state(gst::State::Null);
                let _ = tx.send(());
            });
        if spawned.is_err() {
            let _ = pipeline.set_state(gst::State::Null);
            return true;
        }
        let limit = self.settings.teardown_timeout;
        if rx.recv_timeout(limit).is_ok() {
            return true;
        }
        say!(
            "error: the pipeline did not stop within {} (an element is blocked): exiting with \
             status {} so that the service manager starts a fresh process",
            fmt_duration(limit),
            exit::STUCK
        );
        self.finish(exit::STUCK);
        false
    }

    fn on_signal(&mut self, signum: i32) {
        let name = if signum == libc::SIGINT {
            "SIGINT"
        } else {
            "SIGTERM"
        };
        self.signals += 1;
        if self.signals >= 2 {
            say!("{name} again: stopping at once");
            if self.teardown() {
                self.finish(128 + signum);
            }
            return;
        }
        match self.phase {
            Phase::Restarting => {
                say!("{name}: no pipeline running: exiting");
                self.finish(exit::OK);
            }
            Phase::Starting | Phase::Running => {
                let Some(run) = &self.run else { return };
                say!(
                    "{name}: sending EOS and waiting up to {} for it to reach the sinks \
                     (send it again to stop at once)",
                    fmt_duration(self.settings.eos_timeout)
                );
                notify(&[NotifyState::Stopping]);
                if !run.pipeline.send_event(gst::event::Eos::new()) {
                    say!("warning: no source accepted the EOS event");
                }
                self.phase = Phase::Stopping;
                self.publish_state();
                let weak = self.weak_self.clone();
                self.stop_timer = Some(glib::timeout_add_local_once(
                    self.settings.eos_timeout,
                    move || {
                        if let Some(r) = weak.upgrade() {
                            r.borrow_mut().on_stop_timeout();
                        }
                    },
                ));
            }
            Phase::Stopping | Phase::Stopped => {}
        }
    }

    fn on_stop_timeout(&mut self) {
        self.stop_timer = None;
        if self.phase != Phase::Stopping {
            return;
        }
        say!(
            "EOS did not reach the sinks within {}: stopping anyway (recordings may be incomplete)",
            fmt_duration(self.settings.eos_timeout)
        );
        if self.teardown() {
            self.finish(exit::GAVE_UP);
        }
    }

    fn finish(&mut self, code: i32) {
        if self.phase == Phase::Stopped {
            return;
        }
        self.phase = Phase::Stopped;
        self.exit_code = code;
        self.publish_state();
        self.main_loop.quit();
    }

    fn check_stall(&mut self, timeout: Duration) {
        if !matches!(self.phase, Phase::Starting | Phase::Running) {
            return;
        }
        let Some(run) = &self.run else { return };
        let sinks = lock_sinks(&run.sinks);
        let now = nanos_since(self.epoch);
        let Some(stall) = check_stall(
            run.started_ns,
            sinks.iter().map(|s| s.as_ref()),
            now,
            timeout,
        ) else {
            return;
        };
        let cause = if stall.had_buffers {
            format!(
                "stall: no buffer reached a sink for {}",
                fmt_duration(stall.silent_for)
            )
        } else {
            format!(
                "stall: no buffer reached a sink in the {} since the start",
                fmt_duration(stall.silent_for)
            )
        };
        self.fail(cause, false);
    }

    fn restart_stats(&mut self) -> RestartStats {
        RestartStats {
            total: self.tracker.total(),
            last_hour: self.tracker.restarts_in_window(Instant::now()),
            max_per_hour: self.settings.max_restarts_per_hour,
            last_cause: self.last_cause.clone(),
        }
    }

    /// Refreshes the state fields of the published snapshot.
    fn publish_state(&mut self) {
        self.snapshot.state = self.phase.as_str().into();
        self.snapshot.run = self.run_number;
        self.snapshot.uptime_s = self.now_s();
        self.snapshot.restarts = self.restart_stats();
        self.snapshot.timestamp = unix_time();
        self.publish();
    }

    fn publish(&self) {
        if let Some(p) = &self.published {
            let json = self.snapshot.to_json();
            let mut g = p.lock().unwrap_or_else(|e| e.into_inner());
            g.json = json;
            g.state = self.snapshot.state.clone();
        }
    }

    fn tick_stats(&mut self) {
        if self.phase == Phase::Stopped {
            return;
        }
        self.collect();
        say!("{}", self.snapshot.log_line());
        self.publish();
        if let Some(m) = &self.stats_mqtt {
            m.publish(&self.snapshot.to_json());
        }
    }

    /// Fills the snapshot: rates over the last interval, element statistics.
    fn collect(&mut self) {
        let t = self.now_s();
        let restarts = self.restart_stats();
        let s = &mut self.snapshot;
        s.state = self.phase.as_str().into();
        s.uptime_s = t;
        s.run = self.run_number;
        s.restarts = restarts;
        s.interval_s = self
            .settings
            .stats_interval
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        s.rss_bytes = read_rss_bytes();
        s.timestamp = unix_time();
        s.version = env!("CARGO_PKG_VERSION").into();
        s.run_uptime_s = 0.0;
        s.last_buffer_age_s = None;
        s.sinks.clear();
        s.inference.clear();
        s.tracking.clear();
        s.thermal.clear();
        s.zones = self.zones.values().cloned().collect();
        let Some(run) = &self.run else { return };
        s.run_uptime_s = run.started.elapsed().as_secs_f64();
        let sinks = lock_sinks(&run.sinks);
        s.last_buffer_age_s = silence_ns(
            run.started_ns,
            sinks.iter().map(|a| a.as_ref()),
            nanos_since(self.epoch),
        )
        .map(|ns| ns as f64 / 1e9);
        for a in &sinks {
            let buffers = a.buffers();
            s.sinks.push(SinkStats {
                name: a.name().to_string(),
                fps: self.rates.rate(&format!("sink/{}", a.name()), t, buffers),
                buffers,
            });
        }
        for e in run.pipeline.iterate_recurse().into_iter().flatten() {
            let name = e.name().to_string();
            if has(&e, "frames-inferred") && has(&e, "mean-latency") {
                let inferred = prop_u64(&e, "frames-inferred").unwrap_or(0);
                s.inference.push(InferenceStats {
                    rate: self.rates.rate(&format!("infer/{name}"), t, inferred),
                    frames_inferred: inferred,
                    frames_skipped: prop_u64(&e, "frames-skipped").unwrap_or(0),
                    mean_latency_ms: prop_f64(&e, "mean-latency").unwrap_or(0.0),
                    last_latency_ms: prop_f64(&e, "last-latency").unwrap_or(0.0),
                    name: name.clone(),
                });
            }
            if let Some(tracks) = prop_u64(&e, "tracks-alive") {
                s.tracking.push(TrackingStats {
                    name: name.clone(),
                    tracks_alive: tracks,
                });
            }
            if has(&e, "throttle-factor") && has(&e, "temperature") {
                let temperature = prop_f64(&e, "temperature")
                    .filter(|c| *c > gstedgeai::thermalgate::TEMPERATURE_UNKNOWN + 1.0);
                s.thermal.push(ThermalStats {
                    name,
                    temperature_c: temperature,
                    throttle_factor: prop_f64(&e, "throttle-factor").unwrap_or(1.0),
                    level: prop_string(&e, "level").unwrap_or_default(),
                });
            }
        }
    }
}

fn unix_time() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
