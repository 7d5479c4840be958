// SPDX-License-Identifier: MPL-2.0
//! `edgeai-run`: runs a GStreamer pipeline unattended.
//!
//! Restarts the pipeline on errors and stalls with exponential backoff (and
//! gives up, exit status 1, past a cap of restarts per hour), stops it
//! cleanly on SIGINT/SIGTERM by sending EOS (so MP4 files are finalised),
//! logs live statistics and serves them as JSON, and talks to systemd
//! (`Type=notify`, `WatchdogSec=`). The plugin is registered statically:
//! no `GST_PLUGIN_PATH` needed.
//!
//! ```text
//! edgeai-run --stall-timeout 5s --stats-addr 127.0.0.1:9100 \
//!     "v4l2src ! videoconvert ! edgedetect model=yolox_nano.onnx ! fakesink"
//! edgeai-run --config /etc/edgeai/camera.toml
//! ```
//!
//! The decisions (configuration, restart policy, stall check, statistics)
//! live in the GStreamer-free `gstedgeai::runner` module; this binary holds
//! the pipeline, the main loop, the signals and the HTTP endpoint. See
//! `docs/edgeai-run.md`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use clap::Parser;
use gstedgeai::runner::{FileConfig, OnEos, Overrides, Settings, parse_duration};

mod http;
mod mqtt;
mod supervisor;

use supervisor::exit;

static START: OnceLock<Instant> = OnceLock::new();

/// Seconds since the runner started (the time stamp of log lines).
fn uptime() -> f64 {
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// One log line on stderr (the journal under systemd), time-stamped with the
/// runner's uptime. A closed stderr (journald restarting) must not stop the
/// runner, so write errors are ignored rather than panicking as `eprintln!`
/// would.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "edgeai-run [{:9.3}] {}",
            $crate::uptime(),
            format_args!($($arg)*)
        );
    }};
}
pub(crate) use say;

fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.0)
}

/// Runs a GStreamer pipeline unattended: restarts it on errors and stalls,
/// stops it cleanly on SIGINT/SIGTERM, reports live statistics.
///
/// Options go before the pipeline; a command-line value wins over the
/// configuration file. Durations: 10s, 500ms, 2min, or seconds.
#[derive(Parser, Debug)]
#[command(name = "edgeai-run", version, after_help = AFTER_HELP)]
struct Cli {
    /// The pipeline in gst-launch-1.0 syntax (one argument, or several joined
    /// by spaces).
    #[arg(value_name = "PIPELINE-DESCRIPTION", trailing_var_arg = true)]
    pipeline: Vec<String>,

    /// TOML configuration file (pipeline, [restart], [stats], [stop]).
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// No buffer at any sink for this long is a stall, and restarts the
    /// pipeline; 0 turns stall detection off [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    stall_timeout: Option<Duration>,

    /// Wait before the first restart; doubled after each consecutive failure
    /// [default: 1s].
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    initial_backoff: Option<Duration>,

    /// Longest wait between restarts [default: 1min].
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    max_backoff: Option<Duration>,

    /// Restarts allowed in any sliding hour; one more failure exits with
    /// status 1 [default: 10].
    #[arg(long, visible_alias = "max-restarts", value_name = "N")]
    max_restarts_per_hour: Option<u32>,

    /// A run that lasted this long resets the backoff [default: 1min].
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    reset_after: Option<Duration>,

    /// What to do when the pipeline ends by itself: exit (status 0) or
    /// restart [default: exit].
    #[arg(long, value_name = "exit|restart")]
    on_eos: Option<OnEos>,

    /// Period of the statistics log line and of the JSON refresh; 0 turns
    /// statistics off [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    stats_interval: Option<Duration>,

    /// Serve the statistics as JSON over HTTP on IP:PORT (GET /stats,
    /// /health); port 0 picks a free port, logged at start.
    #[arg(long, value_name = "IP:PORT")]
    stats_addr: Option<String>,

    /// Also publish the statistics JSON to an MQTT broker at every
    /// stats-interval: mqtt(s)://[user[:password]@]host[:port]/PREFIX
    /// (topic PREFIX/stats, retained; PREFIX/status with a last will).
    #[arg(long, value_name = "URL")]
    stats_mqtt: Option<String>,

    /// On SIGINT/SIGTERM, how long to wait for EOS to reach the sinks
    /// [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    eos_timeout: Option<Duration>,

    /// How long stopping a pipeline may take before the runner exits with
    /// status 3 [default: 5s].
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    teardown_timeout: Option<Duration>,
}

const AFTER_HELP: &str = "\
Exit status: 0 stopped by a signal after EOS reached the sinks, or the pipeline ended;
1 restart cap reached, or a stop that could not finish cleanly; 2 bad configuration or
pipeline (no restart); 3 a pipeline could not be stopped; 128+N a second signal N.
Documentation: docs/edgeai-run.md";

impl Cli {
    fn overrides(self) -> (Option<PathBuf>, Overrides) {
        let pipeline = (!self.pipeline.is_empty()).then(|| self.pipeline.join(" "));
        (
            self.config,
            Overrides {
                pipeline,
                stall_timeout: self.stall_timeout,
                initial_backoff: self.initial_backoff,
                max_backoff: self.max_backoff,
                max_restarts_per_hour: self.max_restarts_per_hour,
                reset_after: self.reset_after,
                on_eos: self.on_eos,
                stats_interval: self.stats_interval,
                stats_addr: self.stats_addr,
                stats_mqtt: self.stats_mqtt,
                eos_timeout: self.eos_timeout,
                teardown_timeout: self.teardown_timeout,
            },
        )
    }
}

fn main() {
    uptime();
    std::process::exit(real_main());
}

fn real_main() -> i32 {
    let (config, overrides) = Cli::parse().overrides();
    let file = match config.as_deref().map(FileConfig::load).transpose() {
        Ok(f) => f.unwrap_or_default(),
        Err(e) => {
            say!("error: {e}");
            return exit::CONFIG;
        }
    };
    let settings = match Settings::resolve(file, overrides) {
        Ok(s) => s,
        Err(e) => {
            say!("error: {e}");
            return exit::CONFIG;
        }
    };
    if let Err(e) = gst::init() {
        say!("error: cannot initialise GStreamer: {e}");
        return exit::GAVE_UP;
    }
    if let Err(e) = gstedgeai::plugin_register_static() {
        say!("error: cannot register the edgeai plugin: {e}");
        return exit::GAVE_UP;
    }
    // Bad configuration exits at once with the parser's message.
    let first = match supervisor::build_pipeline(&settings.pipeline) {
        Ok(p) => p,
        Err(e) => {
            say!("error: invalid pipeline: {e}");
            return exit::CONFIG;
        }
    };
    let published = match settings.stats_addr {
        None => None,
        Some(addr) => match start_endpoint(addr) {
            Ok(p) => Some(p),
            Err(e) => {
                say!("error: {e}");
                return exit::CONFIG;
            }
        },
    };
    let stats_mqtt = match &settings.stats_mqtt {
        None => None,
        Some(cfg) => match mqtt::StatsPublisher::start(cfg) {
            Ok(p) => Some(Arc::new(p)),
            Err(e) => {
                say!("error: {e}");
                return exit::CONFIG;
            }
        },
    };
    let code = supervisor::run(settings, first, published, stats_mqtt.clone());
    if let Some(p) = stats_mqtt {
        p.stop(code);
    }
    code
}

fn start_endpoint(addr: SocketAddr) -> Result<http::SharedStats, String> {
    let shared: http::SharedStats = Arc::new(Mutex::new(http::Published {
        json: "{}".into(),
        state: "starting".into(),
    }));
    let bound = http::serve(addr, shared.clone())?;
    if !bound.ip().is_loopback() {
        say!(
            "warning: the stats endpoint on {bound} is reachable from the network and has no authentication"
        );
    }
    say!("stats endpoint: http://{bound}/stats");
    Ok(shared)
}
