// SPDX-License-Identifier: MPL-2.0
//! `thermalgate`: sheds analytics work before the SoC throttles itself, and
//! reports the temperature.
//!
//! A Raspberry Pi 5 or a Jetson in a closed box heats up under continuous
//! inference until the SoC throttles its clocks hard. `thermalgate` reads the
//! SoC temperature on its own thread (once synchronously when it starts, so
//! the first frame already obeys it, then every `poll-interval` ms) and turns
//! it into a throttle factor with [`crate::thermal::Policy`]: 1.0 below
//! `warning-temp`, falling linearly to `min-factor` just below
//! `critical-temp`, 0 at or above it, with `hysteresis` on the way down.
//!
//! What the factor does depends on `action`:
//!
//! - `skip-inference` (default): every buffer passes; frames that the
//!   [`crate::thermal::Pacer`] does not admit get `skip-inference = true` in
//!   the `EdgeAIFrameMeta` ([`crate::meta`]), so `edgedetect` does not run on
//!   them. At critical no frame is admitted: no inference at all, frames
//!   still flow.
//! - `drop`: frames not admitted are dropped, evenly spaced; the frames that
//!   pass keep their timestamps, and a GAP event covering each dropped
//!   frame's timestamp and duration is sent downstream so that sinks and
//!   muxers know time advanced. At critical one frame per second of running
//!   time passes ([`crate::thermal::OncePerSecond`]).
//!
//! Every buffer that passes carries `temperature` and `throttle-factor` in
//! its frame meta. The element posts a `thermalgate-status` element message
//! when the level changes (and every poll with `report-every-poll=true`) and
//! an element warning when it enters critical. An unreadable sensor gives one
//! warning, then `fail-mode` applies until it can be read again.
//!
//! Any `video/x-raw`, in any memory: pixels are never read.
//!
//! ```text
//! gst-launch-1.0 v4l2src ! videoconvert ! \
//!     thermalgate warning-temp=75 critical-temp=85 ! \
//!     edgedetect model=yolox_nano.onnx ! edgejson ! fakesink
//! ```
//!
//! See `docs/thermalgate.md` for every property and message field.

use gst::glib;
use gst::prelude::*;

mod imp;

/// Value of the `temperature` property and of the status message's
/// `temperature` field while no reading is available (before the first
/// poll, or while the sensor cannot be read): absolute zero, which no sensor
/// reports (readings outside −40..=150 °C are rejected as garbage).
pub const TEMPERATURE_UNKNOWN: f64 = -273.15;

/// Name of the element message posted by `thermalgate`.
pub const STATUS_MESSAGE_NAME: &str = "thermalgate-status";

/// What `thermalgate` does with the frames it does not admit.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstThermalGateAction")]
pub enum Action {
    #[default]
    #[enum_value(
        name = "Pass every frame; mark frames not admitted with skip-inference so detectors skip them",
        nick = "skip-inference"
    )]
    SkipInference = 0,
    #[enum_value(
        name = "Drop frames not admitted (a GAP event replaces each); one frame per second at critical",
        nick = "drop"
    )]
    Drop = 1,
}

/// What `thermalgate` assumes while the sensor cannot be read.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstThermalGateFailMode")]
pub enum FailMode {
    #[default]
    #[enum_value(
        name = "Fail open: no throttling (the SoC's own throttling is the safety net)",
        nick = "open"
    )]
    Open = 0,
    #[enum_value(name = "Fail closed: act as critical", nick = "closed")]
    Closed = 1,
}

glib::wrapper! {
    pub struct ThermalGate(ObjectSubclass<imp::ThermalGate>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    #[cfg(feature = "doc")]
    {
        Action::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
        FailMode::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    }
    gst::Element::register(
        Some(plugin),
        "thermalgate",
        gst::Rank::NONE,
        ThermalGate::static_type(),
    )
}
