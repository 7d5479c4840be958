//! GStreamer-free core of the `thermalgate` element.
//!
//! `thermalgate` reads the SoC temperature on its own thread and sheds
//! inference load *before* the SoC (Raspberry Pi 5, Jetson Orin, …) starts
//! throttling its clocks itself. This module holds everything that does not
//! need GStreamer, so it can be unit-tested on any machine:
//!
//! * [`sensor`]: where the temperature comes from — a sysfs file, a command
//!   (`vcgencmd measure_temp`) or automatic thermal-zone selection — and an
//!   optional power sensor. See `docs/thermal-sensors.md` for what the
//!   supported boards expose.
//! * [`policy`]: turns readings into a [`Level`] (normal / warning /
//!   critical) and an inference factor in `0..=1`, with hysteresis so that
//!   sensor noise does not make the level flap.
//! * [`pacer`]: turns the factor into a deterministic, evenly spaced
//!   per-frame keep/skip decision ([`Pacer`]), plus the one-frame-per-second
//!   gate used at the critical level ([`OncePerSecond`]).
//!
//! Typical use (element side):
//!
//! ```ignore
//! // sensor thread, every poll interval
//! let (level, factor) = match sensor.read_celsius() {
//!     Ok(t) => policy.update(t),
//!     Err(e) => { log(e); policy.sensor_failed(fail_mode) }
//! };
//! // streaming thread, per frame
//! let infer = pacer.admit(factor);
//! ```
//!
//! Nothing in here panics on bad input; configuration problems are reported
//! through `Result`s ([`PolicyConfig::validate`], [`SensorError`]).

pub mod pacer;
pub mod policy;
pub mod sensor;

pub use self::pacer::{OncePerSecond, Pacer};
pub use self::policy::{FailMode, Level, Policy, PolicyConfig};
pub use self::sensor::{
    PowerSensor, PowerUnit, Sensor, SensorError, SensorSpec, parse_temperature,
};
