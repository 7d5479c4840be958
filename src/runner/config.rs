// SPDX-License-Identifier: MPL-2.0
//! `edgeai-run`'s configuration: the TOML file ([`FileConfig`]), the
//! command-line overrides ([`Overrides`]) and the resolved, validated
//! [`Settings`]. A command-line value wins over the file's, which wins over
//! the default.
//!
//! ```toml
//! pipeline = "v4l2src ! videoconvert ! edgedetect model=yolox_nano.onnx ! fakesink"
//!
//! [restart]
//! stall-timeout = "10s"          # 0 turns stall detection off
//! initial-backoff = "1s"
//! max-backoff = "1min"
//! max-restarts-per-hour = 10
//! reset-after = "1min"           # a run this long resets the backoff
//! on-eos = "exit"                # or "restart"
//!
//! [stats]
//! interval = "10s"               # 0 turns statistics off
//! addr = "127.0.0.1:9100"        # optional JSON endpoint
//! mqtt = "mqtt://broker.local/edgeai/cam1"  # optional: the same JSON to PREFIX/stats
//! # mqtt-ca-file, mqtt-cert-file, mqtt-key-file: PEM files for mqtts://
//!
//! [stop]
//! eos-timeout = "10s"
//! teardown-timeout = "5s"
//! ```
//!
//! Durations are humantime strings (`"500ms"`, `"10s"`, `"2min"`, `"1h"`) or
//! plain numbers of seconds (`10`, `0.5`).

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_secs(1);
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(60);
pub const DEFAULT_MAX_RESTARTS_PER_HOUR: u32 = 10;
pub const DEFAULT_RESET_AFTER: Duration = Duration::from_secs(60);
pub const DEFAULT_STATS_INTERVAL: Duration = Duration::from_secs(10);
pub const DEFAULT_EOS_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_TEARDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// The shortest stall timeout accepted (other than 0 = off): below it, the
/// scheduling jitter of a loaded machine alone would look like a stall.
pub const MIN_STALL_TIMEOUT: Duration = Duration::from_millis(100);

/// A configuration problem, with a message meant for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// What the runner does when the pipeline ends on its own (EOS without a
/// stop signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnEos {
    /// Exit with status 0: the pipeline is done.
    #[default]
    Exit,
    /// Restart it like after a failure (backoff and cap included).
    Restart,
}

impl std::str::FromStr for OnEos {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s {
            "exit" => Ok(OnEos::Exit),
            "restart" => Ok(OnEos::Restart),
            other => Err(ConfigError(format!(
                "invalid on-eos value \"{other}\": expected \"exit\" or \"restart\""
            ))),
        }
    }
}

/// Parses a duration: a number of seconds (`10`, `0.5`) or a humantime
/// string (`500ms`, `10s`, `2min`, `1h 30min`).
pub fn parse_duration(text: &str) -> Result<Duration, ConfigError> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        return seconds(secs).ok_or_else(|| bad_duration(text));
    }
    humantime::parse_duration(t).map_err(|_| bad_duration(text))
}

fn seconds(secs: f64) -> Option<Duration> {
    (secs.is_finite() && (0.0..1e12).contains(&secs)).then(|| Duration::from_secs_f64(secs))
}

fn bad_duration(text: &str) -> ConfigError {
    ConfigError(format!(
        "invalid duration \"{text}\": expected e.g. 10s, 500ms, 2min or a number of seconds"
    ))
}

/// A duration in the TOML file: a number of seconds or a humantime string.
#[derive(Deserialize)]
#[serde(untagged)]
enum DurationValue {
    Seconds(f64),
    Text(String),
}

fn de_duration<'de, D>(d: D) -> Result<Option<Duration>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error;
    match DurationValue::deserialize(d)? {
        DurationValue::Seconds(s) => seconds(s)
            .map(Some)
            .ok_or_else(|| D::Error::custom(bad_duration(&s.to_string()))),
        DurationValue::Text(t) => parse_duration(&t).map(Some).map_err(D::Error::custom),
    }
}

/// The `[restart]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RestartSection {
    #[serde(default, deserialize_with = "de_duration")]
    pub stall_timeout: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration")]
    pub initial_backoff: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration")]
    pub max_backoff: Option<Duration>,
    pub max_restarts_per_hour: Option<u32>,
    #[serde(default, deserialize_with = "de_duration")]
    pub reset_after: Option<Duration>,
    pub on_eos: Option<OnEos>,
}

/// The `[stats]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StatsSection {
    #[serde(default, deserialize_with = "de_duration")]
    pub interval: Option<Duration>,
    pub addr: Option<String>,
    pub mqtt: Option<String>,
    pub mqtt_ca_file: Option<std::path::PathBuf>,
    pub mqtt_cert_file: Option<std::path::PathBuf>,
    pub mqtt_key_file: Option<std::path::PathBuf>,
}

/// Where the statistics are published over MQTT (`[stats] mqtt`).
#[derive(Clone, PartialEq)]
pub struct StatsMqtt {
    /// `mqtt(s)://[user[:password]@]host[:port]/PREFIX`.
    pub url: String,
    pub ca_file: Option<std::path::PathBuf>,
    pub cert_file: Option<std::path::PathBuf>,
    pub key_file: Option<std::path::PathBuf>,
}

// Not derived: the URL may hold a password.
impl fmt::Debug for StatsMqtt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatsMqtt({})", crate::mqtt::redact(&self.url))
    }
}

/// The `[stop]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StopSection {
    #[serde(default, deserialize_with = "de_duration")]
    pub eos_timeout: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration")]
    pub teardown_timeout: Option<Duration>,
}

/// The TOML configuration file, as written (every value optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub pipeline: Option<String>,
    #[serde(default)]
    pub restart: RestartSection,
    #[serde(default)]
    pub stats: StatsSection,
    #[serde(default)]
    pub stop: StopSection,
}

impl FileConfig {
    /// Parses the text of a configuration file; unknown keys are errors
    /// (a misspelt key must not be silently ignored on an unattended device).
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError(format!("invalid configuration: {e}")))
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError(format!("cannot read configuration {}: {e}", path.display()))
        })?;
        Self::parse(&text).map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))
    }
}

/// Values given on the command line; each one, when present, wins over the
/// configuration file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub pipeline: Option<String>,
    pub stall_timeout: Option<Duration>,
    pub initial_backoff: Option<Duration>,
    pub max_backoff: Option<Duration>,
    pub max_restarts_per_hour: Option<u32>,
    pub reset_after: Option<Duration>,
    pub on_eos: Option<OnEos>,
    pub stats_interval: Option<Duration>,
    pub stats_addr: Option<String>,
    pub stats_mqtt: Option<String>,
    pub eos_timeout: Option<Duration>,
    pub teardown_timeout: Option<Duration>,
}

/// The resolved configuration of a run of `edgeai-run`.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The pipeline in `gst-launch-1.0` syntax.
    pub pipeline: String,
    /// No buffer at any sink for this long is a stall; `None` = off.
    pub stall_timeout: Option<Duration>,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Restarts allowed in any sliding hour; one more failure exits.
    pub max_restarts_per_hour: u32,
    /// A run that lasted this long resets the backoff to `initial_backoff`.
    pub reset_after: Duration,
    pub on_eos: OnEos,
    /// Statistics period; `None` = no statistics.
    pub stats_interval: Option<Duration>,
    pub stats_addr: Option<SocketAddr>,
    /// Publish the statistics to this broker too.
    pub stats_mqtt: Option<StatsMqtt>,
    /// How long a graceful stop waits for EOS to reach the sinks.
    pub eos_timeout: Duration,
    /// How long stopping a pipeline (state NULL) may take before the runner
    /// gives up on it and exits.
    pub teardown_timeout: Duration,
}

impl Settings {
    /// Merges the file and the command line over the defaults and validates
    /// the result.
    pub fn resolve(file: FileConfig, cli: Overrides) -> Result<Settings, ConfigError> {
        let pipeline = cli
            .pipeline
            .or(file.pipeline)
            .map(|p| p.trim().to_string())
            .unwrap_or_default();
        if pipeline.is_empty() {
            return Err(ConfigError(
                "no pipeline: give one on the command line or as `pipeline = \"...\"` in the configuration file".into(),
            ));
        }
        let r = file.restart;
        let stall = cli
            .stall_timeout
            .or(r.stall_timeout)
            .unwrap_or(DEFAULT_STALL_TIMEOUT);
        if !stall.is_zero() && stall < MIN_STALL_TIMEOUT {
            return Err(ConfigError(format!(
                "stall-timeout {} is too short: use 0 (off) or at least {}",
                fmt_duration(stall),
                fmt_duration(MIN_STALL_TIMEOUT)
            )));
        }
        let initial_backoff = cli
            .initial_backoff
            .or(r.initial_backoff)
            .unwrap_or(DEFAULT_INITIAL_BACKOFF);
        let max_backoff = cli
            .max_backoff
            .or(r.max_backoff)
            .unwrap_or(DEFAULT_MAX_BACKOFF.max(initial_backoff));
        if max_backoff < initial_backoff {
            return Err(ConfigError(format!(
                "max-backoff ({}) is shorter than initial-backoff ({})",
                fmt_duration(max_backoff),
                fmt_duration(initial_backoff)
            )));
        }
        let s = file.stats;
        let stats_interval = cli
            .stats_interval
            .or(s.interval)
            .unwrap_or(DEFAULT_STATS_INTERVAL);
        let stats_addr = match cli.stats_addr.or(s.addr) {
            None => None,
            Some(a) => Some(a.trim().parse::<SocketAddr>().map_err(|_| {
                ConfigError(format!(
                    "invalid stats address \"{a}\": expected IP:PORT, e.g. 127.0.0.1:9100"
                ))
            })?),
        };
        let stats_mqtt = match cli.stats_mqtt.or(s.mqtt) {
            None => None,
            Some(url) => {
                crate::mqtt::BrokerUrl::parse(&url)
                    .map_err(|e| ConfigError(format!("invalid stats MQTT URL: {e}")))?;
                Some(StatsMqtt {
                    url,
                    ca_file: s.mqtt_ca_file,
                    cert_file: s.mqtt_cert_file,
                    key_file: s.mqtt_key_file,
                })
            }
        };
        if stats_mqtt.is_some() && stats_interval.is_zero() {
            return Err(ConfigError(
                "publishing statistics to MQTT needs statistics: set stats-interval above 0".into(),
            ));
        }
        if stats_addr.is_some() && stats_interval.is_zero() {
            return Err(ConfigError(
                "the stats endpoint needs statistics: set stats-interval above 0".into(),
            ));
        }
        let t = file.stop;
        let eos_timeout = cli
            .eos_timeout
            .or(t.eos_timeout)
            .unwrap_or(DEFAULT_EOS_TIMEOUT);
        let teardown_timeout = cli
            .teardown_timeout
            .or(t.teardown_timeout)
            .unwrap_or(DEFAULT_TEARDOWN_TIMEOUT);
        for (name, d) in [
            ("eos-timeout", eos_timeout),
            ("teardown-timeout", teardown_timeout),
        ] {
            if d.is_zero() {
                return Err(ConfigError(format!("{name} must be above 0")));
            }
        }
        Ok(Settings {
            pipeline,
            stall_timeout: (!stall.is_zero()).then_some(stall),
            initial_backoff,
            max_backoff,
            max_restarts_per_hour: cli
                .max_restarts_per_hour
                .or(r.max_restarts_per_hour)
                .unwrap_or(DEFAULT_MAX_RESTARTS_PER_HOUR),
            reset_after: cli
                .reset_after
                .or(r.reset_after)
                .unwrap_or(DEFAULT_RESET_AFTER),
            on_eos: cli.on_eos.or(r.on_eos).unwrap_or_default(),
            stats_interval: (!stats_interval.is_zero()).then_some(stats_interval),
            stats_addr,
            stats_mqtt,
            eos_timeout,
            teardown_timeout,
        })
    }
}

/// A duration for log lines and messages: `250ms`, `1.5s`, `90s`.
pub fn fmt_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        let n = format!("{:.3}", d.as_secs_f64());
        format!("{}s", n.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn only_pipeline() -> Overrides {
        Overrides {
            pipeline: Some("videotestsrc ! fakesink".into()),
            ..Default::default()
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10").unwrap(), secs(10.0));
        assert_eq!(parse_duration("0.25").unwrap(), secs(0.25));
        assert_eq!(parse_duration("500ms").unwrap(), secs(0.5));
        assert_eq!(parse_duration(" 2min ").unwrap(), secs(120.0));
        assert_eq!(parse_duration("1h 30min").unwrap(), secs(5400.0));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        for bad in ["", "-1", "ten", "10 parsecs", "nan", "inf"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.0.contains("invalid duration"), "{bad}: {e}");
        }
    }

    #[test]
    fn defaults() {
        let s = Settings::resolve(FileConfig::default(), only_pipeline()).unwrap();
        assert_eq!(s.pipeline, "videotestsrc ! fakesink");
        assert_eq!(s.stall_timeout, Some(secs(10.0)));
        assert_eq!(s.initial_backoff, secs(1.0));
        assert_eq!(s.max_backoff, secs(60.0));
        assert_eq!(s.max_restarts_per_hour, 10);
        assert_eq!(s.reset_after, secs(60.0));
        assert_eq!(s.on_eos, OnEos::Exit);
        assert_eq!(s.stats_interval, Some(secs(10.0)));
        assert_eq!(s.stats_addr, None);
        assert_eq!(s.eos_timeout, secs(10.0));
        assert_eq!(s.teardown_timeout, secs(5.0));
    }

    const FULL: &str = r#"
pipeline = """
videotestsrc is-live=true !
  fakesink
"""
[restart]
stall-timeout = "2s"
initial-backoff = 0.5
max-backoff = "30s"
max-restarts-per-hour = 4
reset-after = 120
on-eos = "restart"

[stats]
interval = "1s"
addr = "127.0.0.1:9100"

[stop]
eos-timeout = "3s"
teardown-timeout = "2500ms"
"#;

    #[test]
    fn file_values() {
        let s = Settings::resolve(FileConfig::parse(FULL).unwrap(), Overrides::default()).unwrap();
        assert_eq!(s.pipeline, "videotestsrc is-live=true !\n  fakesink");
        assert_eq!(s.stall_timeout, Some(secs(2.0)));
        assert_eq!(s.initial_backoff, secs(0.5));
        assert_eq!(s.max_backoff, secs(30.0));
        assert_eq!(s.max_restarts_per_hour, 4);
        assert_eq!(s.reset_after, secs(120.0));
        assert_eq!(s.on_eos, OnEos::Restart);
        assert_eq!(s.stats_interval, Some(secs(1.0)));
        assert_eq!(s.stats_addr, Some("127.0.0.1:9100".parse().unwrap()));
        assert_eq!(s.eos_timeout, secs(3.0));
        assert_eq!(s.teardown_timeout, secs(2.5));
    }

    #[test]
    fn command_line_wins() {
        let cli = Overrides {
            pipeline: Some("audiotestsrc ! fakesink".into()),
            stall_timeout: Some(Duration::ZERO),
            max_restarts_per_hour: Some(0),
            stats_addr: Some("[::1]:0".into()),
            on_eos: Some(OnEos::Exit),
            ..Default::default()
        };
        let s = Settings::resolve(FileConfig::parse(FULL).unwrap(), cli).unwrap();
        assert_eq!(s.pipeline, "audiotestsrc ! fakesink");
        assert_eq!(s.stall_timeout, None);
        assert_eq!(s.max_restarts_per_hour, 0);
        assert_eq!(s.stats_addr, Some("[::1]:0".parse().unwrap()));
        assert_eq!(s.on_eos, OnEos::Exit);
        // Untouched values still come from the file.
        assert_eq!(s.max_backoff, secs(30.0));
    }

    #[test]
    fn stats_mqtt() {
        let file = FileConfig::parse(
            "pipeline = \"a\"\n[stats]\nmqtt = \"mqtt://u:pw@h:1884/site\"\nmqtt-ca-file = \"/ca.pem\"",
        )
        .unwrap();
        let s = Settings::resolve(file, Overrides::default()).unwrap();
        let m = s.stats_mqtt.unwrap();
        assert_eq!(m.url, "mqtt://u:pw@h:1884/site");
        assert_eq!(m.ca_file, Some("/ca.pem".into()));
        assert!(!format!("{m:?}").contains("pw"));
        let cli = Overrides {
            stats_mqtt: Some("mqtt://other/x".into()),
            stats_interval: Some(Duration::ZERO),
            ..only_pipeline()
        };
        let e = Settings::resolve(FileConfig::default(), cli).unwrap_err().0;
        assert!(e.contains("stats-interval"), "{e}");
        let cli = Overrides {
            stats_mqtt: Some("http://x".into()),
            ..only_pipeline()
        };
        let e = Settings::resolve(FileConfig::default(), cli).unwrap_err().0;
        assert!(e.contains("invalid stats MQTT URL"), "{e}");
    }

    #[test]
    fn max_backoff_default_follows_a_long_initial_backoff() {
        let cli = Overrides {
            initial_backoff: Some(secs(90.0)),
            ..only_pipeline()
        };
        let s = Settings::resolve(FileConfig::default(), cli).unwrap();
        assert_eq!(s.max_backoff, secs(90.0));
    }

    fn err(file: &str, cli: Overrides) -> String {
        match FileConfig::parse(file) {
            Err(e) => e.0,
            Ok(f) => Settings::resolve(f, cli).unwrap_err().0,
        }
    }

    #[test]
    fn bad_configurations() {
        let none = Overrides::default;
        assert!(err("", none()).contains("no pipeline"));
        assert!(err("pipeline = \"  \"", none()).contains("no pipeline"));
        // Unknown keys are rejected, with the key's name.
        let e = err("pipeline = \"a\"\n[restart]\nstall-timout = 3", none());
        assert!(e.contains("stall-timout"), "{e}");
        let e = err("pipeline = \"a\"\nstats-addr = \"x\"", none());
        assert!(e.contains("stats-addr"), "{e}");
        let e = err(
            "pipeline = \"a\"\n[restart]\nstall-timeout = \"soon\"",
            none(),
        );
        assert!(e.contains("invalid duration \"soon\""), "{e}");
        let e = err("pipeline = \"a\"\n[restart]\nstall-timeout = -3", none());
        assert!(e.contains("invalid duration"), "{e}");
        let e = err("pipeline = \"a\"\n[restart]\non-eos = \"loop\"", none());
        assert!(e.contains("loop"), "{e}");
        let e = err("pipeline = [1]", none());
        assert!(e.contains("invalid configuration"), "{e}");
        let e = err(
            "pipeline = \"a\"\n[restart]\nstall-timeout = \"50ms\"",
            none(),
        );
        assert!(e.contains("too short"), "{e}");
        let e = err(
            "pipeline = \"a\"\n[restart]\ninitial-backoff = 10\nmax-backoff = 5",
            none(),
        );
        assert!(
            e.contains("max-backoff (5s) is shorter than initial-backoff (10s)"),
            "{e}"
        );
        let e = err("pipeline = \"a\"\n[stats]\naddr = \"localhost\"", none());
        assert!(e.contains("invalid stats address \"localhost\""), "{e}");
        let e = err(
            "pipeline = \"a\"\n[stats]\naddr = \"127.0.0.1:1\"\ninterval = 0",
            none(),
        );
        assert!(e.contains("stats-interval"), "{e}");
        let e = err("pipeline = \"a\"\n[stop]\neos-timeout = 0", none());
        assert!(e.contains("eos-timeout must be above 0"), "{e}");
    }

    #[test]
    fn on_eos_from_str() {
        assert_eq!("exit".parse::<OnEos>().unwrap(), OnEos::Exit);
        assert_eq!("restart".parse::<OnEos>().unwrap(), OnEos::Restart);
        assert!("again".parse::<OnEos>().is_err());
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_duration(secs(0.25)), "250ms");
        assert_eq!(fmt_duration(secs(2.0)), "2s");
        assert_eq!(fmt_duration(secs(1.5)), "1.5s");
        assert_eq!(fmt_duration(secs(90.0)), "90s");
    }

    #[test]
    fn example_file_in_pipelines_parses() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/example.toml");
        let f = FileConfig::load(Path::new(path)).unwrap();
        let s = Settings::resolve(f, Overrides::default()).unwrap();
        assert!(s.pipeline.contains("edgedetect"), "{}", s.pipeline);
    }
}
