// SPDX-License-Identifier: MPL-2.0

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;

use super::{Action, FailMode, STATUS_MESSAGE_NAME, TEMPERATURE_UNKNOWN};
use crate::meta;
use crate::thermal::sensor::{MAX_CELSIUS, MIN_CELSIUS};
use crate::thermal::{
    self, Level, OncePerSecond, Pacer, Policy, PolicyConfig, PowerSensor, Sensor, SensorError,
    SensorSpec,
};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "thermalgate",
        gst::DebugColorFlags::empty(),
        Some("Edge AI thermal gate"),
    )
});

const DEFAULT_SENSOR: &str = "auto";
const DEFAULT_POLL_INTERVAL_MS: u32 = 5000;
const MIN_POLL_INTERVAL_MS: u32 = 10;
const MAX_POLL_INTERVAL_MS: u32 = 3_600_000;
const DEFAULT_WARNING_TEMP: f64 = 75.0;
const DEFAULT_CRITICAL_TEMP: f64 = 85.0;
const DEFAULT_MIN_FACTOR: f64 = 0.2;
const DEFAULT_HYSTERESIS: f64 = 2.0;
const MAX_HYSTERESIS: f64 = 50.0;
const DEFAULT_ACTION: Action = Action::SkipInference;
const DEFAULT_FAIL_MODE: FailMode = FailMode::Open;
const DEFAULT_REPORT_EVERY_POLL: bool = false;
/// Frame duration assumed when neither the buffer nor the caps give one.
const FALLBACK_FRAME_DURATION_NS: u64 = 1_000_000_000 / 30;
/// How long `stop()` waits for a poll in flight (a slow sensor command)
/// before leaving the thread to finish it on its own.
const STOP_WAIT: Duration = Duration::from_millis(250);
/// Where `sensor=auto` and `power-sensor=auto` look.
const SYS_ROOT: &str = "/sys";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, Clone)]
struct Settings {
    sensor: String,
    poll_interval_ms: u32,
    policy: PolicyConfig,
    action: Action,
    fail_mode: FailMode,
    report_every_poll: bool,
    power_sensor: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            sensor: DEFAULT_SENSOR.to_string(),
            poll_interval_ms: DEFAULT_POLL_INTERVAL_MS,
            policy: PolicyConfig {
                warning_temp: DEFAULT_WARNING_TEMP,
                critical_temp: DEFAULT_CRITICAL_TEMP,
                min_factor: DEFAULT_MIN_FACTOR,
                hysteresis: DEFAULT_HYSTERESIS,
            },
            action: DEFAULT_ACTION,
            fail_mode: DEFAULT_FAIL_MODE,
            report_every_poll: DEFAULT_REPORT_EVERY_POLL,
            power_sensor: String::new(),
        }
    }
}

fn policy_fail_mode(mode: FailMode) -> thermal::FailMode {
    match mode {
        FailMode::Open => thermal::FailMode::Open,
        FailMode::Closed => thermal::FailMode::Closed,
    }
}

/// The poller's latest decision, read per frame and by the properties.
#[derive(Debug, Clone, Copy)]
struct Status {
    /// `None` before the first reading and while the sensor is unreadable.
    temperature: Option<f64>,
    level: Level,
    factor: f64,
    /// Running time of the last buffer seen (for the status message).
    running_time: Option<gst::ClockTime>,
}

impl Default for Status {
    fn default() -> Self {
        Status {
            temperature: None,
            level: Level::Normal,
            factor: 1.0,
            running_time: None,
        }
    }
}

#[derive(Debug, Default)]
struct Control {
    stop: bool,
    poll_now: bool,
}

/// Shared by the element and the polling thread of one run (start → stop).
#[derive(Debug, Default)]
struct Shared {
    status: Mutex<Status>,
    /// Frames admitted (not marked / not dropped) since start.
    admitted: AtomicU64,
    control: Mutex<Control>,
    wake: Condvar,
}

impl Shared {
    fn poll_now(&self) {
        lock(&self.control).poll_now = true;
        self.wake.notify_all();
    }

    fn stop(&self) {
        lock(&self.control).stop = true;
        self.wake.notify_all();
    }

    fn stopped(&self) -> bool {
        lock(&self.control).stop
    }

    /// Waits for the poll interval, an early poll request or stop. Returns
    /// false on stop.
    fn wait(&self, interval: Duration) -> bool {
        let deadline = Instant::now() + interval;
        let mut control = lock(&self.control);
        loop {
            if control.stop {
                return false;
            }
            if control.poll_now {
                control.poll_now = false;
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            control = match self.wake.wait_timeout(control, deadline - now) {
                Ok((guard, _)) => guard,
                Err(e) => e.into_inner().0,
            };
        }
    }
}

/// What a poll wants posted, once no lock is held.
enum Outgoing {
    SensorWarning(gst::ResourceError, String),
    Critical(String),
    Status(gst::Structure),
}

/// The sensors and the policy; owned by `start()` for the first reading,
/// then by the polling thread.
struct Poller {
    shared: Arc<Shared>,
    spec: SensorSpec,
    sensor: Option<Sensor>,
    power_spec: String,
    power: Option<PowerSensor>,
    policy: Policy,
    sensor_failing: bool,
    power_failing: bool,
    /// Level and sensor health of the last status message.
    reported: Option<(Level, bool)>,
    last_poll: Option<(Instant, u64)>,
}

fn error_kind(e: &SensorError) -> gst::ResourceError {
    match e {
        SensorError::NotFound(_) => gst::ResourceError::NotFound,
        _ => gst::ResourceError::Read,
    }
}

impl Poller {
    fn new(shared: Arc<Shared>, settings: &Settings) -> Self {
        Poller {
            shared,
            spec: SensorSpec::parse(&settings.sensor),
            sensor: None,
            power_spec: settings.power_sensor.trim().to_string(),
            power: None,
            policy: Policy::new(settings.policy),
            sensor_failing: false,
            power_failing: false,
            reported: None,
            last_poll: None,
        }
    }

    fn sensor_name(&self) -> String {
        match &self.sensor {
            Some(s) => s.describe(),
            None => self.spec.to_string(),
        }
    }

    fn read_temperature(&mut self) -> Result<f64, SensorError> {
        let sensor = match &self.sensor {
            Some(s) => s,
            None => self
                .sensor
                .insert(Sensor::resolve(&self.spec, Path::new(SYS_ROOT))?),
        };
        let reading = sensor.read_celsius();
        if reading.is_err() && self.spec == SensorSpec::Auto {
            // The zone may have gone away: choose again next time.
            self.sensor = None;
        }
        reading
    }

    /// Reads the power sensor, if one is set; a failure is reported once.
    fn read_power(&mut self, imp: &ThermalGate, out: &mut Vec<Outgoing>) -> Option<f64> {
        if self.power_spec.is_empty() {
            return None;
        }
        if self.power.is_none() {
            self.power = if self.power_spec.eq_ignore_ascii_case("auto") {
                PowerSensor::discover(Path::new(SYS_ROOT))
            } else {
                Some(PowerSensor::new(PathBuf::from(&self.power_spec)))
            };
        }
        let reading = match &self.power {
            Some(p) => p.read_watts().map_err(|e| (error_kind(&e), e.to_string())),
            None => Err((
                gst::ResourceError::NotFound,
                "power-sensor=auto found no power sensor (it looks for an ina3221 hwmon \
                 channel labelled VDD_IN); set power-sensor to a power file"
                    .to_string(),
            )),
        };
        match reading {
            Ok(watts) => {
                if self.power_failing {
                    self.power_failing = false;
                    gst::info!(
                        CAT,
                        imp = imp,
                        "power sensor can be read again: {watts:.2} W"
                    );
                }
                Some(watts)
            }
            Err((kind, text)) => {
                if !self.power_failing {
                    self.power_failing = true;
                    out.push(Outgoing::SensorWarning(
                        kind,
                        format!(
                            "{text}; power is left out of the status messages until it can be read"
                        ),
                    ));
                } else {
                    gst::debug!(CAT, imp = imp, "power sensor still unreadable: {text}");
                }
                None
            }
        }
    }

    /// One reading: updates the shared status and returns what to post.
    fn poll(&mut self, imp: &ThermalGate, settings: &Settings) -> Vec<Outgoing> {
        let mut out = Vec::new();
        if *self.policy.config() != settings.policy && settings.policy.validate().is_ok() {
            self.policy.set_config(settings.policy);
        }
        let reading = self.read_temperature();
        let sensor_name = self.sensor_name();
        let (level, factor, temperature) = match reading {
            Ok(t) => {
                if self.sensor_failing {
                    self.sensor_failing = false;
                    gst::info!(
                        CAT,
                        imp = imp,
                        "temperature sensor {sensor_name} can be read again: {t:.1} °C"
                    );
                }
                let (level, factor) = self.policy.update(t);
                (level, factor, Some(t))
            }
            Err(e) => {
                let (level, factor) = self
                    .policy
                    .sensor_failed(policy_fail_mode(settings.fail_mode));
                if !self.sensor_failing {
                    self.sensor_failing = true;
                    let mode = match settings.fail_mode {
                        FailMode::Open => "fail-mode=open: not throttling until it can be read",
                        FailMode::Closed => {
                            "fail-mode=closed: acting as critical (no inference) until it can be read"
                        }
                    };
                    out.push(Outgoing::SensorWarning(
                        error_kind(&e),
                        format!("{e}; {mode}"),
                    ));
                } else {
                    gst::debug!(CAT, imp = imp, "temperature sensor still unreadable: {e}");
                }
                (level, factor, None)
            }
        };
        let power = self.read_power(imp, &mut out);

        let running_time = {
            let mut status = lock(&self.shared.status);
            status.temperature = temperature;
            status.level = level;
            status.factor = factor;
            status.running_time
        };
        let admitted = self.shared.admitted.load(Ordering::Relaxed);
        let now = Instant::now();
        let fps = self.last_poll.and_then(|(then, before)| {
            let secs = now.duration_since(then).as_secs_f64();
            (secs > 0.0).then(|| admitted.saturating_sub(before) as f64 / secs)
        });
        self.last_poll = Some((now, admitted));

        let sensor_ok = temperature.is_some();
        gst::debug!(
            CAT,
            imp = imp,
            "{sensor_name}: {temperature:?} °C, level {level}, factor {factor:.3}, power {power:?} W"
        );
        let changed = self.reported != Some((level, sensor_ok));
        if changed
            && level == Level::Critical
            && let Some(t) = temperature
        {
            let what = match settings.action {
                Action::SkipInference => "inference stopped, frames still pass",
                Action::Drop => "passing one frame per second",
            };
            out.push(Outgoing::Critical(format!(
                "SoC temperature {t:.1} °C reached critical-temp ({:.1} °C, sensor {sensor_name}): {what}",
                settings.policy.critical_temp
            )));
        }
        if changed || settings.report_every_poll {
            let fps_per_watt = match (fps, power) {
                (Some(f), Some(w)) if w > 0.0 => Some(f / w),
                _ => None,
            };
            let s = gst::Structure::builder(STATUS_MESSAGE_NAME)
                .field("temperature", temperature.unwrap_or(TEMPERATURE_UNKNOWN))
                .field("factor", factor)
                .field("level", level.as_str())
                .field("sensor", sensor_name.as_str())
                .field("sensor-ok", sensor_ok)
                .field_if_some("power", power)
                .field_if_some("running-time", running_time)
                .field_if_some("admitted-fps", fps)
                .field_if_some("fps-per-watt", fps_per_watt)
                .build();
            out.push(Outgoing::Status(s));
        }
        self.reported = Some((level, sensor_ok));
        out
    }
}

/// The polling thread: waits, polls, posts (without holding any lock).
fn run_poller(
    mut poller: Poller,
    element: glib::WeakRef<super::ThermalGate>,
    _done: mpsc::Sender<()>,
) {
    loop {
        let Some(obj) = element.upgrade() else { return };
        let interval = u64::from(lock(&obj.imp().settings).poll_interval_ms);
        drop(obj);
        if !poller.shared.wait(Duration::from_millis(interval)) {
            return;
        }
        let Some(obj) = element.upgrade() else { return };
        let imp = obj.imp();
        let settings = lock(&imp.settings).clone();
        let out = poller.poll(imp, &settings);
        if poller.shared.stopped() {
            return;
        }
        imp.post(out);
    }
    // `_done` is dropped here, telling `stop()` the thread is over.
}

/// The polling thread of one run.
struct Running {
    shared: Arc<Shared>,
    thread: Option<thread::JoinHandle<()>>,
    done: mpsc::Receiver<()>,
}

/// Streaming-side state.
struct State {
    shared: Arc<Shared>,
    pacer: Pacer,
    once: OncePerSecond,
    segment: gst::FormattedSegment<gst::ClockTime>,
    frame_duration: Option<gst::ClockTime>,
    frames: u64,
}

#[derive(Default)]
pub struct ThermalGate {
    settings: Mutex<Settings>,
    /// Status of the current (or last) run, for the read-only properties.
    shared: Mutex<Option<Arc<Shared>>>,
    running: Mutex<Option<Running>>,
    started: AtomicBool,
    state: Mutex<Option<State>>,
}

impl ThermalGate {
    fn post(&self, out: Vec<Outgoing>) {
        for item in out {
            match item {
                Outgoing::SensorWarning(kind, text) => {
                    gst::element_imp_warning!(self, kind, ("{}", text));
                }
                Outgoing::Critical(text) => {
                    gst::element_imp_warning!(self, gst::CoreError::Failed, ("{}", text));
                }
                Outgoing::Status(s) => {
                    let msg = gst::message::Element::builder(s).src(&*self.obj()).build();
                    if self.obj().post_message(msg).is_err() {
                        gst::debug!(CAT, imp = self, "no bus to post the status message on");
                    }
                }
            }
        }
    }

    fn status(&self) -> Status {
        match lock(&self.shared).as_ref() {
            Some(shared) => *lock(&shared.status),
            None => Status::default(),
        }
    }

    /// Asks the polling thread, if any, to poll now (to apply new settings).
    fn poll_now(&self) {
        if let Some(shared) = lock(&self.shared).as_ref() {
            shared.poll_now();
        }
    }

    /// A threshold property: while running, an invalid combination keeps the
    /// old values; before start anything goes (`start()` validates).
    fn set_threshold(&self, name: &str, value: f64) {
        let running = self.started.load(Ordering::SeqCst);
        let applied = {
            let mut s = lock(&self.settings);
            let mut cfg = s.policy;
            match name {
                "warning-temp" => cfg.warning_temp = value,
                "critical-temp" => cfg.critical_temp = value,
                "min-factor" => cfg.min_factor = value,
                _ => cfg.hysteresis = value,
            }
            match cfg.validate() {
                Err(e) if running => Err(e),
                _ => {
                    s.policy = cfg;
                    Ok(())
                }
            }
        };
        match applied {
            Ok(()) if running => self.poll_now(),
            Ok(()) => {}
            Err(e) => gst::warning!(
                CAT,
                imp = self,
                "ignoring {name}={value}: {e}; the thresholds in use are unchanged \
                 (when raising both, set critical-temp first; when lowering, warning-temp first)"
            ),
        }
    }
}

#[glib::object_subclass]
impl ObjectSubclass for ThermalGate {
    const NAME: &'static str = "GstThermalGate";
    type Type = super::ThermalGate;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for ThermalGate {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("sensor")
                    .nick("Sensor")
                    .blurb(
                        "Temperature source: auto (thermal zone by type), a file holding degrees or \
                         millidegrees, or a command printing a temperature (vcgencmd measure_temp)",
                    )
                    .default_value(Some(DEFAULT_SENSOR))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("poll-interval")
                    .nick("Poll interval")
                    .blurb("Time between two temperature readings, in milliseconds")
                    .minimum(MIN_POLL_INTERVAL_MS)
                    .maximum(MAX_POLL_INTERVAL_MS)
                    .default_value(DEFAULT_POLL_INTERVAL_MS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("warning-temp")
                    .nick("Warning temperature")
                    .blurb("°C at which shedding starts (factor 1.0 here, falling to min-factor at critical-temp)")
                    .minimum(MIN_CELSIUS)
                    .maximum(MAX_CELSIUS)
                    .default_value(DEFAULT_WARNING_TEMP)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("critical-temp")
                    .nick("Critical temperature")
                    .blurb("°C at which inference stops (skip-inference) or one frame per second passes (drop)")
                    .minimum(MIN_CELSIUS)
                    .maximum(MAX_CELSIUS)
                    .default_value(DEFAULT_CRITICAL_TEMP)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("min-factor")
                    .nick("Minimum factor")
                    .blurb("Share of frames admitted just below critical-temp")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_MIN_FACTOR)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("hysteresis")
                    .nick("Hysteresis")
                    .blurb("°C below a threshold the temperature must fall before the level goes down")
                    .minimum(0.0)
                    .maximum(MAX_HYSTERESIS)
                    .default_value(DEFAULT_HYSTERESIS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("action", DEFAULT_ACTION)
                    .nick("Action")
                    .blurb("What happens to frames that are not admitted")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("fail-mode", DEFAULT_FAIL_MODE)
                    .nick("Fail mode")
                    .blurb("What to assume while the sensor cannot be read")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("report-every-poll")
                    .nick("Report every poll")
                    .blurb("Post the thermalgate-status message at every poll, not only when the level changes")
                    .default_value(DEFAULT_REPORT_EVERY_POLL)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("power-sensor")
                    .nick("Power sensor")
                    .blurb(
                        "Optional power file reported in the status message (hwmon power*_input in µW, \
                         ina3221 inN_input × currN_input, in_power* in mW), or auto (ina3221 VDD_IN)",
                    )
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("temperature")
                    .nick("Temperature")
                    .blurb("Last reading in °C; -273.15 when none (not started, sensor unreadable)")
                    .minimum(TEMPERATURE_UNKNOWN)
                    .maximum(MAX_CELSIUS)
                    .default_value(TEMPERATURE_UNKNOWN)
                    .read_only()
                    .build(),
                glib::ParamSpecDouble::builder("throttle-factor")
                    .nick("Throttle factor")
                    .blurb("Share of frames currently admitted (1 = all, 0 = critical)")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(1.0)
                    .read_only()
                    .build(),
                glib::ParamSpecString::builder("level")
                    .nick("Level")
                    .blurb("Current thermal level: normal, warning or critical")
                    .default_value(Some(Level::Normal.as_str()))
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let name = pspec.name();
        match name {
            "warning-temp" | "critical-temp" | "min-factor" | "hysteresis" => {
                if let Ok(v) = value.get::<f64>() {
                    self.set_threshold(name, v);
                }
                return;
            }
            "sensor" => {
                let v = value.get::<Option<String>>().ok().flatten();
                lock(&self.settings).sensor = v.unwrap_or_else(|| DEFAULT_SENSOR.to_string());
                return;
            }
            "power-sensor" => {
                let v = value.get::<Option<String>>().ok().flatten();
                lock(&self.settings).power_sensor = v.unwrap_or_default();
                return;
            }
            _ => {}
        }
        {
            let mut s = lock(&self.settings);
            match name {
                "poll-interval" => {
                    s.poll_interval_ms = value.get().unwrap_or(DEFAULT_POLL_INTERVAL_MS)
                }
                "action" => s.action = value.get().unwrap_or(DEFAULT_ACTION),
                "fail-mode" => s.fail_mode = value.get().unwrap_or(DEFAULT_FAIL_MODE),
                "report-every-poll" => {
                    s.report_every_poll = value.get().unwrap_or(DEFAULT_REPORT_EVERY_POLL)
                }
                other => {
                    gst::warning!(CAT, imp = self, "unknown property {other}");
                    return;
                }
            }
        }
        // A new interval or fail mode takes effect at once.
        if matches!(name, "poll-interval" | "fail-mode") && self.started.load(Ordering::SeqCst) {
            self.poll_now();
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "temperature" => self
                .status()
                .temperature
                .unwrap_or(TEMPERATURE_UNKNOWN)
                .to_value(),
            "throttle-factor" => self.status().factor.to_value(),
            "level" => self.status().level.as_str().to_value(),
            name => {
                let s = lock(&self.settings).clone();
                let opt = |v: &str| {
                    if v.is_empty() {
                        None
                    } else {
                        Some(v.to_string())
                    }
                };
                match name {
                    "sensor" => s.sensor.to_value(),
                    "poll-interval" => s.poll_interval_ms.to_value(),
                    "warning-temp" => s.policy.warning_temp.to_value(),
                    "critical-temp" => s.policy.critical_temp.to_value(),
                    "min-factor" => s.policy.min_factor.to_value(),
                    "hysteresis" => s.policy.hysteresis.to_value(),
                    "action" => s.action.to_value(),
                    "fail-mode" => s.fail_mode.to_value(),
                    "report-every-poll" => s.report_every_poll.to_value(),
                    "power-sensor" => opt(&s.power_sensor).to_value(),
                    _ => glib::Value::from_type(pspec.value_type()),
                }
            }
        }
    }
}

impl GstObjectImpl for ThermalGate {}

impl ElementImpl for ThermalGate {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Edge AI thermal gate",
                "Filter/Analyzer/Video",
                "Reads the SoC temperature and sheds inference work (skip-inference marks or dropped \
                 frames) before the SoC throttles itself",
                "gst-plugin-edgeai developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        // Pixels are never read: any raw video, in any memory.
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(|| crate::video::filter_pad_templates(&crate::video::any_video_caps()));
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for ThermalGate {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = lock(&self.settings).clone();
        settings.policy.validate().map_err(|e| {
            gst::error_msg!(
                gst::LibraryError::Settings,
                ("invalid thermalgate thresholds: {}", e)
            )
        })?;
        let shared = Arc::new(Shared::default());
        let mut poller = Poller::new(Arc::clone(&shared), &settings);
        // The first reading, before any frame: the first frame obeys it.
        let first = poller.poll(self, &settings);
        *lock(&self.shared) = Some(Arc::clone(&shared));
        *lock(&self.state) = Some(State {
            shared: Arc::clone(&shared),
            pacer: Pacer::new(),
            once: OncePerSecond::new(),
            segment: gst::FormattedSegment::new(),
            frame_duration: None,
            frames: 0,
        });
        self.post(first);

        let (done_tx, done_rx) = mpsc::channel();
        let weak = self.obj().downgrade();
        let thread = thread::Builder::new()
            .name("thermalgate-poll".to_string())
            .spawn(move || run_poller(poller, weak, done_tx))
            .map_err(|e| {
                gst::error_msg!(
                    gst::CoreError::Thread,
                    ("cannot start the temperature polling thread: {}", e)
                )
            })?;
        *lock(&self.running) = Some(Running {
            shared,
            thread: Some(thread),
            done: done_rx,
        });
        self.started.store(true, Ordering::SeqCst);
        gst::info!(
            CAT,
            imp = self,
            "started: sensor {:?}, polling every {} ms",
            settings.sensor,
            settings.poll_interval_ms
        );
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        self.started.store(false, Ordering::SeqCst);
        let running = lock(&self.running).take();
        *lock(&self.state) = None;
        if let Some(mut running) = running {
            running.shared.stop();
            match running.done.recv_timeout(STOP_WAIT) {
                Err(mpsc::RecvTimeoutError::Timeout) => gst::debug!(
                    CAT,
                    imp = self,
                    "a sensor read is still in progress; the polling thread ends when it returns"
                ),
                _ => {
                    if let Some(thread) = running.thread.take()
                        && thread.join().is_err()
                    {
                        gst::warning!(CAT, imp = self, "the polling thread panicked");
                    }
                }
            }
        }
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let fps = incaps
            .structure(0)
            .and_then(|s| s.get::<gst::Fraction>("framerate").ok())
            .filter(|f| f.numer() > 0 && f.denom() > 0);
        let duration = fps.and_then(|f| {
            let ns = 1_000_000_000u64.checked_mul(f.denom() as u64)? / f.numer() as u64;
            Some(gst::ClockTime::from_nseconds(ns))
        });
        gst::debug!(
            CAT,
            imp = self,
            "caps {incaps}, frame duration {duration:?}"
        );
        if let Some(state) = lock(&self.state).as_mut() {
            state.frame_duration = duration;
        }
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::FlushStop(_) => {
                if let Some(state) = lock(&self.state).as_mut() {
                    state.pacer.reset();
                    state.once.reset();
                }
            }
            gst::EventView::Segment(e) => match e.segment().downcast_ref::<gst::ClockTime>() {
                Some(segment) => {
                    if let Some(state) = lock(&self.state).as_mut() {
                        state.segment = segment.clone();
                        state.once.reset();
                    }
                }
                None => gst::debug!(
                    CAT,
                    imp = self,
                    "segment not in time format: timestamps are taken as running times"
                ),
            },
            _ => {}
        }
        self.parent_sink_event(event)
    }

    fn propose_allocation(
        &self,
        decide_query: Option<&gst::query::Allocation>,
        query: &mut gst::query::Allocation,
    ) -> Result<(), gst::LoggableError> {
        query.add_allocation_meta::<gst_video::VideoMeta>(None);
        self.parent_propose_allocation(decide_query, query)
    }

    fn transform_ip(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let action = lock(&self.settings).action;
        let (keep, status, gap) = {
            let mut guard = lock(&self.state);
            let Some(state) = guard.as_mut() else {
                return Err(gst::FlowError::Flushing);
            };
            let running_time = state.segment.to_running_time(buf.pts());
            let status = {
                let mut status = lock(&state.shared.status);
                if running_time.is_some() {
                    status.running_time = running_time;
                }
                *status
            };
            let frame = state.frames;
            state.frames += 1;
            let keep = match action {
                Action::Drop if status.level == Level::Critical => {
                    // Without a running time, count frames at the nominal rate.
                    let t = running_time
                        .map(gst::ClockTime::nseconds)
                        .unwrap_or_else(|| {
                            let d = state
                                .frame_duration
                                .map_or(FALLBACK_FRAME_DURATION_NS, gst::ClockTime::nseconds);
                            frame.saturating_mul(d)
                        });
                    state.once.admit(t)
                }
                _ => state.pacer.admit(status.factor),
            };
            if keep {
                state.shared.admitted.fetch_add(1, Ordering::Relaxed);
            }
            let gap = buf
                .pts()
                .map(|pts| (pts, buf.duration().or(state.frame_duration)));
            (keep, status, gap)
        };

        if action == Action::Drop && !keep {
            match gap {
                Some((pts, duration)) => {
                    let event = gst::event::Gap::builder(pts).duration(duration).build();
                    if !self.obj().src_pad().push_event(event) {
                        gst::debug!(CAT, imp = self, "downstream refused the GAP event at {pts}");
                    }
                }
                None => gst::debug!(
                    CAT,
                    imp = self,
                    "dropped a frame without timestamp: no GAP event"
                ),
            }
            gst::trace!(CAT, imp = self, "dropped at factor {:.3}", status.factor);
            return Ok(gst_base::BASE_TRANSFORM_FLOW_DROPPED);
        }

        if let Err(e) = meta::update_frame_info(buf, |f| {
            if !keep {
                f.skip_inference = true;
            }
            f.temperature = status.temperature;
            f.throttle_factor = Some(status.factor);
        }) {
            gst::warning!(CAT, imp = self, "cannot add frame meta: {e}");
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
