//! Temperature (and optional power) sensors: sysfs files or shell commands.
//!
//! # Sensor specification ([`SensorSpec::parse`])
//!
//! The `sensor` string is interpreted, after trimming surrounding
//! whitespace, by the first matching rule:
//!
//! 1. empty or `auto` (any case) → [`SensorSpec::Auto`];
//! 2. `file:PATH` → [`SensorSpec::File`] (explicit);
//! 3. `cmd:COMMAND` → [`SensorSpec::Command`] (explicit);
//! 4. starts with `/`, `./` or `../` **and contains no whitespace** →
//!    [`SensorSpec::File`] (e.g. `/sys/class/thermal/thermal_zone0/temp`);
//! 5. anything else → [`SensorSpec::Command`], run with `sh -c`
//!    (e.g. `vcgencmd measure_temp`, `/usr/bin/vcgencmd measure_temp`).
//!
//! To run an executable that takes no arguments, use `cmd:/path/to/script`.
//!
//! # Reading ([`parse_temperature`])
//!
//! * **Files** must contain a single decimal number (surrounding whitespace
//!   allowed), e.g. `62100\n` or `62.1`.
//! * **Command output** is searched for numbers. A "number" is an optional
//!   sign, digits and an optional fraction, not glued to the end of a word
//!   (the `0` in `cv0` or `hwmon0` is not a number). The first number
//!   directly followed by a Celsius marker (`°C`, `ºC`, `'C` or `C`,
//!   optionally after spaces) wins; otherwise the first number.
//!   `temp=62.1'C` → 62.1; `Package id 0:  +45.0°C` → 45.0; `62.1` → 62.1.
//! * **Millidegree rule** (both paths): a value whose magnitude is greater
//!   than 200 is taken as millidegrees and divided by 1000 (no SoC runs at
//!   200 °C, and no millidegree value of a running SoC is ≤ 200 m°C) —
//!   except a command-output number carrying a Celsius marker, which is
//!   always degrees (`999'C` is out of range, not 0.999 °C).
//! * The result must lie within −40..=150 °C, otherwise it is a
//!   [`SensorError::Parse`] error; so are empty output, NaN and garbage.
//! * Commands time out after [`Sensor::DEFAULT_TIMEOUT`] (configurable with
//!   [`Sensor::with_timeout`]); the command runs in its own process group
//!   and the whole group is killed (SIGKILL) on timeout.
//!
//! # Automatic selection ([`Sensor::resolve`] with [`SensorSpec::Auto`])
//!
//! Thermal zones `<sys_root>/class/thermal/thermal_zone*` that have a
//! `temp` file are matched on their `type`, case-insensitively, in this
//! order (first match wins, lowest zone number first within one type):
//!
//! 1. [`PREFERRED_ZONE_TYPES`]: `tj-thermal` / `tj-therm` (Jetson: junction
//!    maximum over all on-die sensors, the most conservative choice), then
//!    `cpu-thermal` (Raspberry Pi, Jetson Orin), `cpu_thermal`, `CPU-therm`
//!    (older Jetson), `soc-thermal`, `soc_thermal`, `soc0-thermal`,
//!    `x86_pkg_temp` (Intel package);
//! 2. CPU hwmon devices `<sys_root>/class/hwmon/hwmon*` named
//!    [`PREFERRED_HWMON_NAMES`] (`coretemp`, `k10temp`, `zenpower`): the
//!    channel labelled `Package id 0`, `Tdie` or `Tctl`, else `temp1_input`;
//! 3. an `acpitz` zone (often a coarse or fixed firmware value);
//! 4. the lowest-numbered zone of any type.
//!
//! If nothing is found, [`SensorError::NotFound`] lists what was scanned.

use std::fmt;
use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Zone types picked first by automatic selection, in preference order.
pub const PREFERRED_ZONE_TYPES: &[&str] = &[
    "tj-thermal",
    "tj-therm",
    "cpu-thermal",
    "cpu_thermal",
    "CPU-therm",
    "soc-thermal",
    "soc_thermal",
    "soc0-thermal",
    "x86_pkg_temp",
];

/// hwmon device names used when no preferred thermal zone exists.
pub const PREFERRED_HWMON_NAMES: &[&str] = &["coretemp", "k10temp", "zenpower"];

/// hwmon channel labels preferred within a CPU hwmon device.
const PREFERRED_HWMON_LABELS: &[&str] = &["Package id 0", "Tdie", "Tctl"];

/// Sanity range of a temperature reading, °C.
pub const MIN_CELSIUS: f64 = -40.0;
/// Sanity range of a temperature reading, °C.
pub const MAX_CELSIUS: f64 = 150.0;
/// Values of greater magnitude are millidegrees.
pub const MILLIDEGREE_THRESHOLD: f64 = 200.0;

/// Largest amount read from a sensor file or a command's stdout/stderr.
const MAX_READ: usize = 64 * 1024;

/// How the user asked for the temperature to be obtained.
#[derive(Debug, Clone, PartialEq)]
pub enum SensorSpec {
    /// Pick a thermal zone automatically.
    Auto,
    /// Read this file.
    File(PathBuf),
    /// Run this command with `sh -c` and parse its standard output.
    Command(String),
}

impl SensorSpec {
    /// Parses a `sensor` property string; see the module docs for the rule.
    pub fn parse(s: &str) -> SensorSpec {
        let s = s.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("auto") {
            return SensorSpec::Auto;
        }
        if let Some(rest) = s.strip_prefix("file:") {
            return SensorSpec::File(PathBuf::from(rest.trim()));
        }
        if let Some(rest) = s.strip_prefix("cmd:") {
            return SensorSpec::Command(rest.trim().to_owned());
        }
        let looks_like_path = s.starts_with('/') || s.starts_with("./") || s.starts_with("../");
        if looks_like_path && !s.chars().any(char::is_whitespace) {
            SensorSpec::File(PathBuf::from(s))
        } else {
            SensorSpec::Command(s.to_owned())
        }
    }
}

impl fmt::Display for SensorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SensorSpec::Auto => f.write_str("auto"),
            SensorSpec::File(p) => write!(f, "file:{}", p.display()),
            SensorSpec::Command(c) => write!(f, "cmd:{c}"),
        }
    }
}

/// Sensor failure. Each message names the sensor and says what to do.
#[derive(Debug)]
pub enum SensorError {
    /// No sensor at the given place / none found automatically.
    NotFound(String),
    /// The sensor file could not be read.
    Io(String),
    /// The sensor produced something that is not a plausible value.
    Parse(String),
    /// The sensor command could not be run, failed or timed out.
    Command(String),
}

impl fmt::Display for SensorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SensorError::NotFound(m) => write!(f, "sensor not found: {m}"),
            SensorError::Io(m) => write!(f, "sensor read failed: {m}"),
            SensorError::Parse(m) => write!(f, "bad sensor value: {m}"),
            SensorError::Command(m) => write!(f, "sensor command failed: {m}"),
        }
    }
}

impl std::error::Error for SensorError {}

const HINT_SET_SENSOR: &str = "set the sensor property to a temperature file \
     (e.g. /sys/class/thermal/thermal_zone0/temp) or a command \
     (e.g. \"vcgencmd measure_temp\")";

/// Parses a temperature in °C from `text`.
///
/// `is_file` selects the strict file rule (the whole text is one number)
/// instead of the command-output rule (first number, preferring one with a
/// Celsius marker). The millidegree rule and the −40..=150 °C range check
/// apply to both; see the module docs.
pub fn parse_temperature(text: &str, is_file: bool) -> Result<f64, String> {
    if text.trim().is_empty() {
        return Err("empty output, expected a temperature".to_owned());
    }
    let (value, marked) = if is_file {
        let v = parse_plain_number(text).ok_or_else(|| {
            format!(
                "expected a single number (°C or millidegrees), got {}",
                excerpt(text)
            )
        })?;
        (v, false)
    } else {
        first_temperature_number(text)
            .ok_or_else(|| format!("no number in output {}", excerpt(text)))?
    };
    let celsius = if !marked && value.abs() > MILLIDEGREE_THRESHOLD {
        value / 1000.0
    } else {
        value
    };
    if !(MIN_CELSIUS..=MAX_CELSIUS).contains(&celsius) {
        return Err(format!(
            "{celsius} °C (from {value}) is outside the plausible range \
             {MIN_CELSIUS}..={MAX_CELSIUS} °C"
        ));
    }
    Ok(celsius)
}

/// Quoted, shortened text for error messages.
fn excerpt(text: &str) -> String {
    let t = text.trim();
    let short: String = t.chars().take(60).collect();
    if short.len() < t.len() {
        format!("{short:?}…")
    } else {
        format!("{short:?}")
    }
}

/// Whether a number may start right after byte `prev`.
fn may_precede_number(prev: u8) -> bool {
    !is_word_byte(prev)
}

/// Scans a number starting exactly at `start`:
/// `[+-]? ( digits ( '.' digits* )? | '.' digits )`.
/// Returns the end index (exclusive).
fn number_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        let mut j = i + 1;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        let frac_digits = j - (i + 1);
        // "62." is accepted as 62; a lone "." is not a number.
        return (int_digits > 0 || frac_digits > 0).then_some(j);
    }
    (int_digits > 0).then_some(i)
}

/// Converts `b[start..end]` (already validated by [`number_end`]).
fn number_value(text: &str, start: usize, end: usize) -> Option<f64> {
    let s = text.get(start..end)?;
    let s = s.strip_prefix('+').unwrap_or(s);
    // Rust's float parser does not accept "-.5"/".5" in all forms we want;
    // normalise a missing integer part and a trailing '.'.
    let mut owned = String::with_capacity(s.len() + 2);
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    if neg {
        owned.push('-');
    }
    if digits.starts_with('.') {
        owned.push('0');
    }
    owned.push_str(digits.strip_suffix('.').unwrap_or(digits));
    owned.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The whole trimmed text as one number, or `None`.
fn parse_plain_number(text: &str) -> Option<f64> {
    let t = text.trim();
    let b = t.as_bytes();
    match number_end(b, 0) {
        Some(end) if end == b.len() => number_value(t, 0, end),
        _ => None,
    }
}

/// Whether a Celsius marker follows at `i` (after optional spaces/tabs).
fn celsius_marker_at(text: &str, mut i: usize) -> bool {
    let b = text.as_bytes();
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    let rest = text.get(i..).unwrap_or("");
    let after = ["°C", "ºC", "'C", "C"]
        .iter()
        .find_map(|m| rest.strip_prefix(m));
    match after {
        Some(tail) => !tail.starts_with(|c: char| c.is_ascii_alphanumeric()),
        None => false,
    }
}

/// First number in free text, preferring one followed by a Celsius marker.
/// Returns the value and whether it carried a marker.
fn first_temperature_number(text: &str) -> Option<(f64, bool)> {
    let b = text.as_bytes();
    let mut first: Option<f64> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let starts = c.is_ascii_digit() || c == b'+' || c == b'-' || c == b'.';
        if starts
            && (i == 0 || may_precede_number(b[i - 1]))
            && let Some(end) = number_end(b, i)
        {
            if let Some(v) = number_value(text, i, end) {
                if celsius_marker_at(text, end) {
                    return Some((v, true));
                }
                if first.is_none() {
                    first = Some(v);
                }
            }
            i = end;
            continue;
        }
        // Skip the rest of a word so that "cv0" or "x1.5" yield nothing.
        if is_word_byte(c) {
            while i < b.len() && is_word_byte(b[i]) {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    first.map(|v| (v, false))
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'.'
}

/// Reads at most [`MAX_READ`] bytes of a file as (lossy) UTF-8 text.
fn read_small_file(path: &Path, what: &str) -> Result<String, SensorError> {
    let open = fs::File::open(path).and_then(|f| {
        let mut buf = Vec::new();
        f.take(MAX_READ as u64).read_to_end(&mut buf)?;
        Ok(buf)
    });
    match open {
        Ok(buf) => Ok(String::from_utf8_lossy(&buf).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(SensorError::NotFound(format!(
            "{what}: {} does not exist; check the path (ls {})",
            path.display(),
            path.parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ))),
        Err(e) => Err(SensorError::Io(format!(
            "{what}: cannot read {}: {e}; check that it is readable by this user \
             and that the driver is loaded",
            path.display()
        ))),
    }
}

#[derive(Debug, Clone)]
enum Source {
    File {
        path: PathBuf,
        label: Option<String>,
    },
    Command {
        cmd: String,
    },
}

/// A resolved temperature sensor, ready to be read.
#[derive(Debug, Clone)]
pub struct Sensor {
    source: Source,
    timeout: Duration,
}

impl Sensor {
    /// Default time a sensor command may take.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// Resolves `spec`. `sys_root` is `/sys` normally (a fake tree in
    /// tests); it is only used for [`SensorSpec::Auto`].
    ///
    /// A [`SensorSpec::File`] must exist; a directory holding a `temp` file
    /// (e.g. `/sys/class/thermal/thermal_zone3`) is accepted too. A
    /// [`SensorSpec::Command`] is not run here.
    pub fn resolve(spec: &SensorSpec, sys_root: &Path) -> Result<Sensor, SensorError> {
        let source = match spec {
            SensorSpec::Auto => auto_detect(sys_root)?,
            SensorSpec::File(path) => {
                if path.as_os_str().is_empty() {
                    return Err(SensorError::NotFound(format!(
                        "empty sensor file path; {HINT_SET_SENSOR}"
                    )));
                }
                let path = if path.is_dir() && path.join("temp").is_file() {
                    path.join("temp")
                } else {
                    path.clone()
                };
                if !path.exists() {
                    return Err(SensorError::NotFound(format!(
                        "sensor file {} does not exist; {HINT_SET_SENSOR}",
                        path.display()
                    )));
                }
                if path.is_dir() {
                    return Err(SensorError::NotFound(format!(
                        "sensor path {} is a directory without a temp file; \
                         {HINT_SET_SENSOR}",
                        path.display()
                    )));
                }
                Source::File { path, label: None }
            }
            SensorSpec::Command(cmd) => {
                if cmd.trim().is_empty() {
                    return Err(SensorError::Command(format!(
                        "empty sensor command; {HINT_SET_SENSOR}"
                    )));
                }
                Source::Command { cmd: cmd.clone() }
            }
        };
        Ok(Sensor {
            source,
            timeout: Self::DEFAULT_TIMEOUT,
        })
    }

    /// Sets the command timeout (ignored for files).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The command timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The file read, if this is a file sensor.
    pub fn path(&self) -> Option<&Path> {
        match &self.source {
            Source::File { path, .. } => Some(path),
            Source::Command { .. } => None,
        }
    }

    /// Human-readable description, e.g.
    /// `/sys/class/thermal/thermal_zone0/temp (cpu-thermal)` or
    /// `command "vcgencmd measure_temp"`.
    pub fn describe(&self) -> String {
        match &self.source {
            Source::File {
                path,
                label: Some(label),
            } => format!("{} ({label})", path.display()),
            Source::File { path, label: None } => path.display().to_string(),
            Source::Command { cmd } => format!("command {cmd:?}"),
        }
    }

    /// Reads the temperature once, in °C. May block up to the timeout for
    /// a command sensor: call it from a worker thread, not a streaming one.
    pub fn read_celsius(&self) -> Result<f64, SensorError> {
        let name = self.describe();
        match &self.source {
            Source::File { path, .. } => {
                let text = read_small_file(path, &format!("temperature sensor {name}"))?;
                parse_temperature(&text, true).map_err(|e| {
                    let hint = if text.starts_with("#!") {
                        format!(
                            "; this looks like a script, to run it set the sensor \
                             to \"cmd:{}\"",
                            path.display()
                        )
                    } else {
                        "; point the sensor at a file holding °C or millidegrees".to_owned()
                    };
                    SensorError::Parse(format!("temperature sensor {name}: {e}{hint}"))
                })
            }
            Source::Command { cmd } => {
                let out = run_command(cmd, self.timeout, &name)?;
                parse_temperature(&out, false).map_err(|e| {
                    SensorError::Parse(format!(
                        "temperature sensor {name}: {e}; the command must print a \
                         temperature such as \"62.1\" or \"temp=62.1'C\""
                    ))
                })
            }
        }
    }
}

/// One thermal zone found while scanning.
struct Zone {
    index: u64,
    dir: PathBuf,
    kind: String,
    has_temp: bool,
}

fn scan_zones(sys_root: &Path, scanned: &mut Vec<String>) -> Vec<Zone> {
    let base = sys_root.join("class").join("thermal");
    let entries = match fs::read_dir(&base) {
        Ok(e) => e,
        Err(e) => {
            scanned.push(format!("{} ({e})", base.display()));
            return Vec::new();
        }
    };
    let mut zones = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(index) = name
            .to_str()
            .and_then(|n| n.strip_prefix("thermal_zone"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        let kind = fs::read_to_string(dir.join("type"))
            .map(|t| t.trim().to_owned())
            .unwrap_or_default();
        let has_temp = dir.join("temp").is_file();
        zones.push(Zone {
            index,
            dir,
            kind,
            has_temp,
        });
    }
    zones.sort_by_key(|z| z.index);
    if zones.is_empty() {
        scanned.push(format!("{} (no thermal_zone*)", base.display()));
    } else {
        let list: Vec<String> = zones
            .iter()
            .map(|z| {
                let kind = if z.kind.is_empty() { "?" } else { &z.kind };
                if z.has_temp {
                    format!("thermal_zone{} ({kind})", z.index)
                } else {
                    format!("thermal_zone{} ({kind}, no temp file)", z.index)
                }
            })
            .collect();
        scanned.push(format!("{}: {}", base.display(), list.join(", ")));
    }
    zones
}

/// A CPU hwmon channel: (temp input path, label for describe()).
fn scan_hwmon(sys_root: &Path, scanned: &mut Vec<String>) -> Option<(PathBuf, String)> {
    let base = sys_root.join("class").join("hwmon");
    let entries = match fs::read_dir(&base) {
        Ok(e) => e,
        Err(e) => {
            scanned.push(format!("{} ({e})", base.display()));
            return None;
        }
    };
    let mut devices: Vec<(u64, PathBuf, String)> = entries
        .flatten()
        .filter_map(|entry| {
            let index = entry
                .file_name()
                .to_str()?
                .strip_prefix("hwmon")?
                .parse::<u64>()
                .ok()?;
            let dir = entry.path();
            let name = fs::read_to_string(dir.join("name"))
                .map(|n| n.trim().to_owned())
                .unwrap_or_default();
            Some((index, dir, name))
        })
        .collect();
    devices.sort_by_key(|d| d.0);
    let names: Vec<String> = devices
        .iter()
        .map(|(i, _, n)| format!("hwmon{i} ({})", if n.is_empty() { "?" } else { n }))
        .collect();
    scanned.push(if names.is_empty() {
        format!("{} (no hwmon*)", base.display())
    } else {
        format!("{}: {}", base.display(), names.join(", "))
    });

    for wanted in PREFERRED_HWMON_NAMES {
        for (index, dir, name) in &devices {
            if name != wanted {
                continue;
            }
            for label in PREFERRED_HWMON_LABELS {
                if let Some(input) = hwmon_temp_with_label(dir, label) {
                    return Some((input, format!("hwmon{index} {name} {label}")));
                }
            }
            let input = dir.join("temp1_input");
            if input.is_file() {
                return Some((input, format!("hwmon{index} {name}")));
            }
        }
    }
    None
}

/// `tempN_input` whose `tempN_label` is `label`.
fn hwmon_temp_with_label(dir: &Path, label: &str) -> Option<PathBuf> {
    let mut found: Vec<(u64, PathBuf)> = fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let file = entry.file_name();
            let n = file
                .to_str()?
                .strip_prefix("temp")?
                .strip_suffix("_label")?
                .parse::<u64>()
                .ok()?;
            let text = fs::read_to_string(entry.path()).ok()?;
            if text.trim() != label {
                return None;
            }
            let input = dir.join(format!("temp{n}_input"));
            input.is_file().then_some((n, input))
        })
        .collect();
    found.sort_by_key(|f| f.0);
    found.into_iter().next().map(|f| f.1)
}

fn auto_detect(sys_root: &Path) -> Result<Source, SensorError> {
    let mut scanned = Vec::new();
    let zones = scan_zones(sys_root, &mut scanned);
    let usable: Vec<&Zone> = zones.iter().filter(|z| z.has_temp).collect();
    let zone_source = |z: &Zone| Source::File {
        path: z.dir.join("temp"),
        label: Some(if z.kind.is_empty() {
            "unknown type".to_owned()
        } else {
            z.kind.clone()
        }),
    };

    for wanted in PREFERRED_ZONE_TYPES {
        if let Some(z) = usable.iter().find(|z| z.kind.eq_ignore_ascii_case(wanted)) {
            return Ok(zone_source(z));
        }
    }
    if let Some((path, label)) = scan_hwmon(sys_root, &mut scanned) {
        return Ok(Source::File {
            path,
            label: Some(label),
        });
    }
    if let Some(z) = usable
        .iter()
        .find(|z| z.kind.eq_ignore_ascii_case("acpitz"))
    {
        return Ok(zone_source(z));
    }
    if let Some(z) = usable.first() {
        return Ok(zone_source(z));
    }
    Err(SensorError::NotFound(format!(
        "no usable temperature sensor; scanned {}; {HINT_SET_SENSOR}",
        scanned.join("; ")
    )))
}

// ---------------------------------------------------------------------------
// Command execution

/// Reads a pipe to the end on a helper thread (keeping at most
/// [`MAX_READ`] bytes, draining the rest so the writer never blocks).
fn spawn_reader<R: Read + Send + 'static>(
    pipe: Option<R>,
) -> std::io::Result<mpsc::Receiver<Vec<u8>>> {
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("thermal-sensor-pipe".to_owned())
        .spawn(move || {
            let mut kept = Vec::new();
            if let Some(mut pipe) = pipe {
                let mut buf = [0u8; 4096];
                loop {
                    match pipe.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            let room = MAX_READ.saturating_sub(kept.len());
                            kept.extend_from_slice(&buf[..n.min(room)]);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
            }
            // The receiver may have given up already; nothing to do then.
            let _ = tx.send(kept);
        })?;
    Ok(rx)
}

/// SIGKILLs the process group `pgid` (the command ran with
/// `process_group(0)`, so its group id is its pid) using the shell's `kill`
/// builtin, then makes sure the direct child is dead and reaped.
fn kill_tree(child: &mut Child) {
    let pgid = child.id();
    // Best effort: the group may already be gone.
    let _ = Command::new("sh")
        .arg("-c")
        .arg("kill -s KILL -- \"-$1\" 2>/dev/null")
        .arg("sh")
        .arg(pgid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits for `child` until `deadline`; `None` on timeout.
fn wait_until(child: &mut Child, deadline: Instant) -> std::io::Result<Option<ExitStatus>> {
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Runs `cmd` with `sh -c` and returns its stdout, or an error on spawn
/// failure, timeout (the process group is killed), or non-zero exit.
fn run_command(cmd: &str, timeout: Duration, name: &str) -> Result<String, SensorError> {
    let start = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| {
            SensorError::Command(format!(
                "{name}: cannot start `sh -c`: {e}; check that /bin/sh exists"
            ))
        })?;
    let readers = spawn_reader(child.stdout.take())
        .and_then(|out| spawn_reader(child.stderr.take()).map(|err| (out, err)));
    let (out_rx, err_rx) = match readers {
        Ok(r) => r,
        Err(e) => {
            kill_tree(&mut child);
            return Err(SensorError::Command(format!(
                "{name}: cannot start a reader thread: {e}"
            )));
        }
    };
    let deadline = start + timeout;
    let status = match wait_until(&mut child, deadline) {
        Ok(Some(status)) => status,
        Ok(None) => {
            kill_tree(&mut child);
            return Err(SensorError::Command(format!(
                "{name} did not finish within {:.1} s and was killed; make the command \
                 faster or raise the timeout",
                timeout.as_secs_f64()
            )));
        }
        Err(e) => {
            kill_tree(&mut child);
            return Err(SensorError::Command(format!(
                "{name}: waiting for the command failed: {e}"
            )));
        }
    };
    // The shell has exited; its output normally closes at the same time.
    // Something it left in the background may hold the pipe open: give it
    // the rest of the timeout (at least 100 ms), then kill the group.
    let grace = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(100));
    let stdout = match out_rx.recv_timeout(grace) {
        Ok(bytes) => bytes,
        Err(_) => {
            kill_tree(&mut child);
            return Err(SensorError::Command(format!(
                "{name} exited but a background process kept its output open; it was \
                 killed. Do not leave processes running in the sensor command"
            )));
        }
    };
    let stderr = err_rx
        .recv_timeout(Duration::from_millis(100))
        .unwrap_or_default();
    if !status.success() {
        let err = String::from_utf8_lossy(&stderr);
        let err = err.trim();
        let detail = if err.is_empty() {
            String::new()
        } else {
            format!(": {}", excerpt(err))
        };
        return Err(SensorError::Command(format!(
            "{name} failed ({status}){detail}; check that the command works when run \
             with sh -c as this user"
        )));
    }
    Ok(String::from_utf8_lossy(&stdout).into_owned())
}

// ---------------------------------------------------------------------------
// Power

/// Unit of a power file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerUnit {
    /// µW: the hwmon ABI (`power*_input`, `power*_average`).
    Microwatts,
    /// mW: NVIDIA's downstream `ina3221x` IIO driver (`in_power*_input`,
    /// older JetPack releases).
    Milliwatts,
    /// W.
    Watts,
}

impl PowerUnit {
    fn per_watt(self) -> f64 {
        match self {
            PowerUnit::Microwatts => 1e6,
            PowerUnit::Milliwatts => 1e3,
            PowerUnit::Watts => 1.0,
        }
    }

    /// `"uW"`, `"mW"` or `"W"`.
    pub fn as_str(self) -> &'static str {
        match self {
            PowerUnit::Microwatts => "uW",
            PowerUnit::Milliwatts => "mW",
            PowerUnit::Watts => "W",
        }
    }

    /// Parses `uW`/`µW`/`microwatts`, `mW`/`milliwatts`, `W`/`watts`.
    pub fn parse(s: &str) -> Result<PowerUnit, String> {
        match s.trim() {
            "uW" | "µW" | "microwatts" => Ok(PowerUnit::Microwatts),
            "mW" | "milliwatts" => Ok(PowerUnit::Milliwatts),
            "W" | "watts" => Ok(PowerUnit::Watts),
            other => Err(format!(
                "unknown power unit {other:?}: expected uW, mW or W"
            )),
        }
    }
}

#[derive(Debug, Clone)]
enum PowerSource {
    /// A file holding power in `unit`.
    Power { path: PathBuf, unit: PowerUnit },
    /// hwmon voltage (mV) × current (mA), e.g. the upstream `ina3221`
    /// driver used on Jetson Orin, which exposes no power attribute.
    VoltageCurrent { voltage: PathBuf, current: PathBuf },
}

/// Optional power sensor, read in watts.
///
/// Unit rules of [`PowerSensor::new`], by file name:
/// * `inN_input` (hwmon voltage, mV) → power is computed as
///   `inN_input × currN_input` (mV × mA) from the same directory; this is
///   the upstream `ina3221` hwmon driver (Jetson Orin, JetPack 5/6);
/// * `in_power*` → milliwatts (NVIDIA `ina3221x` IIO driver, JetPack 4);
/// * anything else (`power*_input`, `power*_average`, …) → microwatts, the
///   hwmon ABI.
///
/// [`PowerSensor::with_unit`] overrides the rule and reads the path as a
/// power file in the given unit.
#[derive(Debug, Clone)]
pub struct PowerSensor {
    source: PowerSource,
    label: Option<String>,
}

impl PowerSensor {
    /// A power sensor on `path`; see the type docs for the unit rule.
    pub fn new(path: PathBuf) -> Self {
        let file = path
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or("")
            .to_owned();
        let channel = file
            .strip_prefix("in")
            .and_then(|r| r.strip_suffix("_input"))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        let source = if let Some(n) = channel {
            let current = path.with_file_name(format!("curr{n}_input"));
            PowerSource::VoltageCurrent {
                voltage: path,
                current,
            }
        } else if file.starts_with("in_power") {
            PowerSource::Power {
                path,
                unit: PowerUnit::Milliwatts,
            }
        } else {
            PowerSource::Power {
                path,
                unit: PowerUnit::Microwatts,
            }
        };
        PowerSensor {
            source,
            label: None,
        }
    }

    /// Reads the sensor's path as a plain power file in `unit`.
    pub fn with_unit(self, unit: PowerUnit) -> Self {
        let path = match self.source {
            PowerSource::Power { path, .. } => path,
            PowerSource::VoltageCurrent { voltage, .. } => voltage,
        };
        PowerSensor {
            source: PowerSource::Power { path, unit },
            label: self.label,
        }
    }

    /// The unit of a plain power file; `None` for voltage × current.
    pub fn unit(&self) -> Option<PowerUnit> {
        match &self.source {
            PowerSource::Power { unit, .. } => Some(*unit),
            PowerSource::VoltageCurrent { .. } => None,
        }
    }

    /// Looks for a whole-module power rail: an `ina3221` hwmon device under
    /// `<sys_root>/class/hwmon` with a channel labelled `VDD_IN` (Jetson
    /// Orin Nano / NX module input). `None` if there is none (Raspberry Pi,
    /// most x86 machines, AGX Orin which has no `VDD_IN` rail).
    pub fn discover(sys_root: &Path) -> Option<PowerSensor> {
        let base = sys_root.join("class").join("hwmon");
        let mut dirs: Vec<PathBuf> = fs::read_dir(base)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|d| fs::read_to_string(d.join("name")).is_ok_and(|n| n.trim() == "ina3221"))
            .collect();
        dirs.sort();
        for dir in dirs {
            for n in 1..=3 {
                let label = fs::read_to_string(dir.join(format!("in{n}_label")));
                if label.is_ok_and(|l| l.trim() == "VDD_IN") {
                    let mut sensor = PowerSensor::new(dir.join(format!("in{n}_input")));
                    sensor.label = Some("ina3221 VDD_IN".to_owned());
                    return Some(sensor);
                }
            }
        }
        None
    }

    /// Human-readable description, e.g. `/sys/.../power1_input (uW)` or
    /// `/sys/.../in1_input × curr1_input (ina3221 VDD_IN)`.
    pub fn describe(&self) -> String {
        let base = match &self.source {
            PowerSource::Power { path, unit } => {
                format!("{} ({})", path.display(), unit.as_str())
            }
            PowerSource::VoltageCurrent { voltage, current } => format!(
                "{} × {} (mV × mA)",
                voltage.display(),
                current
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
        };
        match &self.label {
            Some(l) => format!("{base} [{l}]"),
            None => base,
        }
    }

    /// Reads the power once, in watts.
    pub fn read_watts(&self) -> Result<f64, SensorError> {
        let name = format!("power sensor {}", self.describe());
        match &self.source {
            PowerSource::Power { path, unit } => Ok(read_number(path, &name)? / unit.per_watt()),
            PowerSource::VoltageCurrent { voltage, current } => {
                let mv = read_number(voltage, &name)?;
                let ma = read_number(current, &name)?;
                Ok(mv * ma / 1e6)
            }
        }
    }
}

fn read_number(path: &Path, name: &str) -> Result<f64, SensorError> {
    let text = read_small_file(path, name)?;
    parse_plain_number(&text).ok_or_else(|| {
        SensorError::Parse(format!(
            "{name}: {} holds {}, expected a number; check the path and unit",
            path.display(),
            excerpt(&text)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A unique scratch directory removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            static N: AtomicU32 = AtomicU32::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir()
                .join(format!("edgeai-thermal-{}-{tag}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn write(&self, rel: &str, content: &str) -> PathBuf {
            let p = self.0.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, content).unwrap();
            p
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn zone(t: &TempDir, n: u32, kind: &str, temp: Option<&str>) {
        t.write(
            &format!("class/thermal/thermal_zone{n}/type"),
            &format!("{kind}\n"),
        );
        if let Some(v) = temp {
            t.write(&format!("class/thermal/thermal_zone{n}/temp"), v);
        }
    }

    fn approx(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn file_sensor(p: &Path) -> Sensor {
        Sensor::resolve(&SensorSpec::File(p.to_owned()), Path::new("/nonexistent")).unwrap()
    }

    fn cmd_sensor(cmd: &str) -> Sensor {
        Sensor::resolve(
            &SensorSpec::Command(cmd.to_owned()),
            Path::new("/nonexistent"),
        )
        .unwrap()
    }

    // -- SensorSpec::parse ---------------------------------------------------

    #[test]
    fn spec_parse_rule() {
        assert_eq!(SensorSpec::parse("auto"), SensorSpec::Auto);
        assert_eq!(SensorSpec::parse(" AUTO "), SensorSpec::Auto);
        assert_eq!(SensorSpec::parse(""), SensorSpec::Auto);
        assert_eq!(
            SensorSpec::parse("/sys/class/thermal/thermal_zone0/temp"),
            SensorSpec::File("/sys/class/thermal/thermal_zone0/temp".into())
        );
        assert_eq!(
            SensorSpec::parse("./temp.txt"),
            SensorSpec::File("./temp.txt".into())
        );
        assert_eq!(
            SensorSpec::parse("../x/temp"),
            SensorSpec::File("../x/temp".into())
        );
        assert_eq!(
            SensorSpec::parse("vcgencmd measure_temp"),
            SensorSpec::Command("vcgencmd measure_temp".into())
        );
        assert_eq!(
            SensorSpec::parse("/usr/bin/vcgencmd measure_temp"),
            SensorSpec::Command("/usr/bin/vcgencmd measure_temp".into())
        );
        assert_eq!(
            SensorSpec::parse("cat /sys/class/thermal/thermal_zone0/temp"),
            SensorSpec::Command("cat /sys/class/thermal/thermal_zone0/temp".into())
        );
        assert_eq!(
            SensorSpec::parse("cmd:/opt/bin/read-temp"),
            SensorSpec::Command("/opt/bin/read-temp".into())
        );
        assert_eq!(
            SensorSpec::parse("file:/tmp/my temp"),
            SensorSpec::File("/tmp/my temp".into())
        );
        assert_eq!(
            SensorSpec::parse("temp.txt"),
            SensorSpec::Command("temp.txt".into())
        );
    }

    #[test]
    fn spec_display_roundtrip() {
        for s in ["auto", "file:/a/b", "cmd:vcgencmd measure_temp"] {
            let spec = SensorSpec::parse(s);
            assert_eq!(SensorSpec::parse(&spec.to_string()), spec);
        }
    }

    // -- parse_temperature ---------------------------------------------------

    #[test]
    fn parse_file_values() {
        assert!(approx(parse_temperature("62100\n", true).unwrap(), 62.1));
        assert!(approx(parse_temperature("62.1", true).unwrap(), 62.1));
        assert!(approx(parse_temperature(" 45 \n", true).unwrap(), 45.0));
        assert!(approx(parse_temperature("-5000", true).unwrap(), -5.0));
        assert!(approx(parse_temperature("-5", true).unwrap(), -5.0));
        assert!(approx(parse_temperature("0", true).unwrap(), 0.0));
        assert!(approx(parse_temperature("+50.", true).unwrap(), 50.0));
        assert!(approx(parse_temperature(".5", true).unwrap(), 0.5));
    }

    #[test]
    fn millidegree_rule_boundary() {
        // 200 is degrees (and out of range), 201 is millidegrees (0.201 °C)
        assert!(parse_temperature("200", true).is_err());
        assert!(approx(parse_temperature("201", true).unwrap(), 0.201));
        assert!(approx(parse_temperature("150", true).unwrap(), 150.0));
        assert!(parse_temperature("150.1", true).is_err());
        assert!(approx(parse_temperature("150000", true).unwrap(), 150.0));
        assert!(parse_temperature("151000", true).is_err());
        assert!(approx(parse_temperature("-40000", true).unwrap(), -40.0));
        assert!(parse_temperature("-41000", true).is_err());
        assert!(parse_temperature("-41", true).is_err());
    }

    #[test]
    fn parse_file_rejects_garbage() {
        for bad in [
            "",
            "  \n",
            "garbage",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "1e3",
            "62.1 C",
            "62,1",
            "0x3e",
            "temp=62.1'C",
            "62 63",
            ".",
            "-",
            "+",
            "--5",
        ] {
            assert!(parse_temperature(bad, true).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parse_command_output() {
        let ok = [
            ("temp=62.1'C\n", 62.1),
            ("62.1", 62.1),
            ("62100", 62.1),
            ("  +45.0°C  ", 45.0),
            (
                "Package id 0:  +45.0°C  (high = +80.0°C, crit = +100.0°C)",
                45.0,
            ),
            ("cv0-thermal: 51.5 C", 51.5),
            ("hwmon3 temp=55", 55.0),
            ("t=-5.5", -5.5),
            ("zone-3 48C", 48.0),
            ("cores 4, temp 61.0 ºC", 61.0),
            ("4 cores\n61.0 C", 61.0),
            ("4 Cores", 4.0),
            ("temperature: 70", 70.0),
        ];
        for (text, expected) in ok {
            let v = parse_temperature(text, false).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert!(approx(v, expected), "{text:?} → {v}, want {expected}");
        }
        for bad in ["", "hello", "NaN", "temp=nan'C", "cv0 gpu1", "999'C", "inf"] {
            assert!(parse_temperature(bad, false).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn parse_error_messages_quote_input() {
        let e = parse_temperature("garbage", true).unwrap_err();
        assert!(e.contains("\"garbage\""), "{e}");
        let long = "x".repeat(500);
        let e = parse_temperature(&long, false).unwrap_err();
        assert!(e.len() < 200, "{e}");
    }

    // -- file sensors --------------------------------------------------------

    #[test]
    fn file_sensor_millidegrees_and_degrees() {
        let t = TempDir::new("file");
        let p = t.write("a", "62100\n");
        assert!(approx(file_sensor(&p).read_celsius().unwrap(), 62.1));
        let p = t.write("b", "62.1");
        let s = file_sensor(&p);
        assert!(approx(s.read_celsius().unwrap(), 62.1));
        assert_eq!(s.describe(), p.display().to_string());
        assert_eq!(s.path(), Some(p.as_path()));
        // file changes are picked up on each read
        fs::write(&p, "70000").unwrap();
        assert!(approx(s.read_celsius().unwrap(), 70.0));
    }

    #[test]
    fn file_sensor_garbage_is_parse_error() {
        let t = TempDir::new("garbage");
        let p = t.write("t", "garbage\n");
        let err = file_sensor(&p).read_celsius().unwrap_err();
        assert!(matches!(err, SensorError::Parse(_)), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&p.display().to_string()), "{msg}");
        // a script pointed at as a file gets a hint
        let p = t.write("s.sh", "#!/bin/sh\necho 50\n");
        let msg = file_sensor(&p).read_celsius().unwrap_err().to_string();
        assert!(msg.contains("cmd:"), "{msg}");
        // empty file
        let p = t.write("e", "");
        assert!(matches!(
            file_sensor(&p).read_celsius(),
            Err(SensorError::Parse(_))
        ));
    }

    #[test]
    fn missing_file_errors() {
        let t = TempDir::new("missing");
        let p = t.path().join("nope");
        let err = Sensor::resolve(&SensorSpec::File(p.clone()), t.path()).unwrap_err();
        assert!(matches!(err, SensorError::NotFound(_)), "{err:?}");
        assert!(err.to_string().contains("nope"));
        // resolved, then removed
        let p = t.write("gone", "50000");
        let s = file_sensor(&p);
        fs::remove_file(&p).unwrap();
        let err = s.read_celsius().unwrap_err();
        assert!(
            matches!(err, SensorError::NotFound(_) | SensorError::Io(_)),
            "{err:?}"
        );
        // empty path
        assert!(matches!(
            Sensor::resolve(&SensorSpec::File(PathBuf::new()), t.path()),
            Err(SensorError::NotFound(_))
        ));
    }

    #[test]
    fn unreadable_path_is_io_error() {
        // A directory cannot be read as a file: EISDIR → Io.
        let t = TempDir::new("isdir");
        fs::create_dir_all(t.path().join("d")).unwrap();
        let s = Sensor {
            source: Source::File {
                path: t.path().join("d"),
                label: None,
            },
            timeout: Sensor::DEFAULT_TIMEOUT,
        };
        assert!(matches!(s.read_celsius(), Err(SensorError::Io(_))));
        // and resolve refuses a directory without a temp file
        assert!(matches!(
            Sensor::resolve(&SensorSpec::File(t.path().join("d")), t.path()),
            Err(SensorError::NotFound(_))
        ));
    }

    #[test]
    fn zone_directory_is_accepted() {
        let t = TempDir::new("zonedir");
        zone(&t, 0, "cpu-thermal", Some("51000\n"));
        let dir = t.path().join("class/thermal/thermal_zone0");
        let s = Sensor::resolve(&SensorSpec::File(dir.clone()), t.path()).unwrap();
        assert_eq!(s.path(), Some(dir.join("temp").as_path()));
        assert!(approx(s.read_celsius().unwrap(), 51.0));
    }

    // -- auto ------------------------------------------------------------------

    fn auto(t: &TempDir) -> Result<Sensor, SensorError> {
        Sensor::resolve(&SensorSpec::Auto, t.path())
    }

    #[test]
    fn auto_picks_cpu_thermal_over_acpitz() {
        let t = TempDir::new("auto-pi");
        zone(&t, 0, "acpitz", Some("27800\n"));
        zone(&t, 1, "cpu-thermal", Some("62100\n"));
        let s = auto(&t).unwrap();
        let expected = t.path().join("class/thermal/thermal_zone1/temp");
        assert_eq!(s.path(), Some(expected.as_path()));
        assert_eq!(
            s.describe(),
            format!("{} (cpu-thermal)", expected.display())
        );
        assert!(approx(s.read_celsius().unwrap(), 62.1));
    }

    #[test]
    fn auto_raspberry_pi_single_zone() {
        let t = TempDir::new("auto-pi5");
        zone(&t, 0, "cpu-thermal", Some("48300\n"));
        let s = auto(&t).unwrap();
        assert!(s.describe().ends_with("thermal_zone0/temp (cpu-thermal)"));
    }

    #[test]
    fn auto_jetson_orin_prefers_tj() {
        let t = TempDir::new("auto-orin");
        for (i, k) in [
            "cpu-thermal",
            "gpu-thermal",
            "cv0-thermal",
            "cv1-thermal",
            "cv2-thermal",
            "soc0-thermal",
            "soc1-thermal",
            "soc2-thermal",
            "tj-thermal",
        ]
        .iter()
        .enumerate()
        {
            zone(&t, i as u32, k, Some("50000\n"));
        }
        let s = auto(&t).unwrap();
        assert!(
            s.describe().ends_with("thermal_zone8/temp (tj-thermal)"),
            "{}",
            s.describe()
        );
    }

    #[test]
    fn auto_old_jetson_case_insensitive() {
        let t = TempDir::new("auto-tx2");
        zone(&t, 0, "BCPU-therm", Some("40000"));
        zone(&t, 1, "MCPU-therm", Some("40000"));
        zone(&t, 2, "GPU-therm", Some("40000"));
        zone(&t, 3, "CPU-therm", Some("41000"));
        let s = auto(&t).unwrap();
        assert!(s.describe().contains("thermal_zone3"), "{}", s.describe());
    }

    #[test]
    fn auto_x86_prefers_pkg_temp() {
        let t = TempDir::new("auto-x86");
        zone(&t, 0, "acpitz", Some("16800"));
        zone(&t, 1, "INT3400 Thermal", Some("20000"));
        zone(&t, 2, "x86_pkg_temp", Some("55000"));
        let s = auto(&t).unwrap();
        assert!(s.describe().ends_with("(x86_pkg_temp)"), "{}", s.describe());
        assert!(approx(s.read_celsius().unwrap(), 55.0));
    }

    #[test]
    fn auto_hwmon_before_acpitz() {
        let t = TempDir::new("auto-amd");
        zone(&t, 0, "acpitz", Some("16800"));
        t.write("class/hwmon/hwmon0/name", "nvme\n");
        t.write("class/hwmon/hwmon0/temp1_input", "38000\n");
        t.write("class/hwmon/hwmon2/name", "k10temp\n");
        t.write("class/hwmon/hwmon2/temp1_label", "Tctl\n");
        t.write("class/hwmon/hwmon2/temp1_input", "61250\n");
        t.write("class/hwmon/hwmon2/temp3_label", "Tccd1\n");
        t.write("class/hwmon/hwmon2/temp3_input", "58000\n");
        let s = auto(&t).unwrap();
        assert!(
            s.describe().contains("hwmon2/temp1_input"),
            "{}",
            s.describe()
        );
        assert!(s.describe().contains("k10temp Tctl"), "{}", s.describe());
        assert!(approx(s.read_celsius().unwrap(), 61.25));
    }

    #[test]
    fn auto_hwmon_coretemp_package_label() {
        let t = TempDir::new("auto-coretemp");
        t.write("class/hwmon/hwmon1/name", "coretemp\n");
        t.write("class/hwmon/hwmon1/temp2_label", "Core 0\n");
        t.write("class/hwmon/hwmon1/temp2_input", "50000\n");
        t.write("class/hwmon/hwmon1/temp1_label", "Package id 0\n");
        t.write("class/hwmon/hwmon1/temp1_input", "52000\n");
        let s = auto(&t).unwrap();
        assert!(approx(s.read_celsius().unwrap(), 52.0));
        // no label at all → temp1_input
        let t = TempDir::new("auto-coretemp-nolabel");
        t.write("class/hwmon/hwmon0/name", "coretemp\n");
        t.write("class/hwmon/hwmon0/temp1_input", "47000\n");
        assert!(approx(auto(&t).unwrap().read_celsius().unwrap(), 47.0));
    }

    #[test]
    fn auto_falls_back_to_acpitz_then_first_zone() {
        let t = TempDir::new("auto-acpi");
        zone(&t, 0, "foo", Some("30000"));
        zone(&t, 1, "acpitz", Some("40000"));
        assert!(auto(&t).unwrap().describe().ends_with("(acpitz)"));

        let t = TempDir::new("auto-first");
        zone(&t, 10, "foo", Some("30000"));
        zone(&t, 2, "bar", Some("40000"));
        zone(&t, 1, "nosensor", None); // no temp file: skipped
        let s = auto(&t).unwrap();
        assert!(
            s.describe().ends_with("thermal_zone2/temp (bar)"),
            "{}",
            s.describe()
        );
    }

    #[test]
    fn auto_skips_preferred_zone_without_temp() {
        let t = TempDir::new("auto-notemp");
        zone(&t, 0, "cpu-thermal", None);
        zone(&t, 1, "gpu-thermal", Some("40000"));
        assert!(auto(&t).unwrap().describe().ends_with("(gpu-thermal)"));
    }

    #[test]
    fn auto_not_found_lists_what_was_scanned() {
        let t = TempDir::new("auto-empty");
        let err = auto(&t).unwrap_err();
        assert!(matches!(err, SensorError::NotFound(_)), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("class/thermal"), "{msg}");
        assert!(msg.contains("class/hwmon"), "{msg}");
        assert!(msg.contains("vcgencmd"), "{msg}");

        zone(&t, 0, "cpu-thermal", None);
        t.write("class/hwmon/hwmon0/name", "nvme\n");
        let msg = auto(&t).unwrap_err().to_string();
        assert!(
            msg.contains("thermal_zone0 (cpu-thermal, no temp file)"),
            "{msg}"
        );
        assert!(msg.contains("hwmon0 (nvme)"), "{msg}");
    }

    // -- command sensors -------------------------------------------------------

    #[test]
    fn command_sensor_vcgencmd_style() {
        let s = cmd_sensor(r#"printf "temp=62.1'C\n""#);
        assert!(approx(s.read_celsius().unwrap(), 62.1));
        let s = cmd_sensor("echo 62.1");
        assert!(approx(s.read_celsius().unwrap(), 62.1));
        assert_eq!(s.describe(), "command \"echo 62.1\"");
        let s = cmd_sensor("echo 62100");
        assert!(approx(s.read_celsius().unwrap(), 62.1));
    }

    #[test]
    fn command_sensor_script() {
        let t = TempDir::new("script");
        let script = t.write("fake-vcgencmd", "#!/bin/sh\necho \"temp=$1'C\"\n");
        let s = cmd_sensor(&format!("sh {} 58.4", script.display()));
        assert!(approx(s.read_celsius().unwrap(), 58.4));
    }

    #[test]
    fn command_sensor_timeout_kills_and_returns() {
        let s = cmd_sensor("sleep 10; echo 50").with_timeout(Duration::from_millis(300));
        assert_eq!(s.timeout(), Duration::from_millis(300));
        let start = Instant::now();
        let err = s.read_celsius().unwrap_err();
        let took = start.elapsed();
        assert!(matches!(err, SensorError::Command(_)), "{err:?}");
        assert!(err.to_string().contains("did not finish"), "{err}");
        assert!(took < Duration::from_secs(3), "took {took:?}");
    }

    fn process_gone(pid: u32) -> bool {
        // Gone, or a zombie waiting for a (container) init to reap it.
        match fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        }
    }

    #[test]
    fn command_timeout_kills_grandchildren() {
        let t = TempDir::new("grandchild");
        let pidfile = t.path().join("pid");
        let cmd = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let s = cmd_sensor(&cmd).with_timeout(Duration::from_millis(1500));
        let start = Instant::now();
        assert!(matches!(s.read_celsius(), Err(SensorError::Command(_))));
        assert!(start.elapsed() < Duration::from_secs(5));
        let pid: u32 = fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let mut gone = false;
        for _ in 0..100 {
            if process_gone(pid) {
                gone = true;
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        assert!(gone, "sleep {pid} survived the timeout");
    }

    #[test]
    fn command_background_process_holding_output() {
        // The shell exits at once but leaves a process holding stdout open.
        let s = cmd_sensor("echo 50; sleep 10 &").with_timeout(Duration::from_millis(400));
        let start = Instant::now();
        let err = s.read_celsius().unwrap_err();
        assert!(matches!(err, SensorError::Command(_)), "{err:?}");
        assert!(start.elapsed() < Duration::from_secs(3));
        // ...but a background process with its output redirected is fine
        let s = cmd_sensor("sleep 1 >/dev/null 2>&1 & echo 50");
        assert!(approx(s.read_celsius().unwrap(), 50.0));
    }

    #[test]
    fn command_failures() {
        let err = cmd_sensor("echo oops >&2; exit 3")
            .read_celsius()
            .unwrap_err();
        assert!(matches!(err, SensorError::Command(_)), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("oops") && msg.contains('3'), "{msg}");

        let err = cmd_sensor("definitely-not-a-command-xyz")
            .read_celsius()
            .unwrap_err();
        assert!(matches!(err, SensorError::Command(_)), "{err:?}");

        let err = cmd_sensor("echo hello").read_celsius().unwrap_err();
        assert!(matches!(err, SensorError::Parse(_)), "{err:?}");
        assert!(err.to_string().contains("echo hello"));

        let err = cmd_sensor("true").read_celsius().unwrap_err();
        assert!(matches!(err, SensorError::Parse(_)), "{err:?}");

        assert!(matches!(
            Sensor::resolve(&SensorSpec::Command("  ".into()), Path::new("/")),
            Err(SensorError::Command(_))
        ));
    }

    #[test]
    fn command_large_output_does_not_block() {
        // 200 KiB of output after the temperature: drained, not deadlocked.
        let s = cmd_sensor("echo 42.0; head -c 204800 /dev/zero | tr '\\0' x")
            .with_timeout(Duration::from_secs(5));
        assert!(approx(s.read_celsius().unwrap(), 42.0));
    }

    // -- power -----------------------------------------------------------------

    #[test]
    fn power_hwmon_microwatts() {
        let t = TempDir::new("power");
        let p = t.write("power1_input", "5123000\n");
        let s = PowerSensor::new(p.clone());
        assert_eq!(s.unit(), Some(PowerUnit::Microwatts));
        assert!(approx(s.read_watts().unwrap(), 5.123));
        assert!(s.describe().contains("power1_input (uW)"));
    }

    #[test]
    fn power_ina3221x_milliwatts_and_override() {
        let t = TempDir::new("power-mw");
        let p = t.write("in_power0_input", "4200\n");
        let s = PowerSensor::new(p.clone());
        assert_eq!(s.unit(), Some(PowerUnit::Milliwatts));
        assert!(approx(s.read_watts().unwrap(), 4.2));
        let s = s.with_unit(PowerUnit::Microwatts);
        assert!(approx(s.read_watts().unwrap(), 0.0042));
        let p = t.write("watts", "7.5");
        let s = PowerSensor::new(p).with_unit(PowerUnit::Watts);
        assert!(approx(s.read_watts().unwrap(), 7.5));
    }

    #[test]
    fn power_voltage_times_current() {
        let t = TempDir::new("power-vi");
        let v = t.write("hwmon1/in1_input", "5080\n");
        t.write("hwmon1/curr1_input", "1000\n");
        let s = PowerSensor::new(v);
        assert_eq!(s.unit(), None);
        assert!(approx(s.read_watts().unwrap(), 5.08));
        assert!(s.describe().contains("curr1_input"), "{}", s.describe());
        // missing current file
        let v = t.write("hwmon2/in2_input", "5000\n");
        let err = PowerSensor::new(v).read_watts().unwrap_err();
        assert!(matches!(err, SensorError::NotFound(_)), "{err:?}");
    }

    #[test]
    fn power_errors() {
        let t = TempDir::new("power-err");
        let p = t.write("power1_input", "n/a\n");
        let err = PowerSensor::new(p).read_watts().unwrap_err();
        assert!(matches!(err, SensorError::Parse(_)), "{err:?}");
        assert!(err.to_string().contains("power1_input"));
        let err = PowerSensor::new(t.path().join("power9_input"))
            .read_watts()
            .unwrap_err();
        assert!(matches!(err, SensorError::NotFound(_)), "{err:?}");
    }

    #[test]
    fn power_discover_ina3221_vdd_in() {
        let t = TempDir::new("power-disc");
        assert!(PowerSensor::discover(t.path()).is_none());
        t.write("class/hwmon/hwmon0/name", "cpu_thermal\n");
        t.write("class/hwmon/hwmon1/name", "ina3221\n");
        t.write("class/hwmon/hwmon1/in1_label", "VDD_IN\n");
        t.write("class/hwmon/hwmon1/in1_input", "5000\n");
        t.write("class/hwmon/hwmon1/curr1_input", "1500\n");
        t.write("class/hwmon/hwmon1/in2_label", "VDD_CPU_GPU_CV\n");
        let s = PowerSensor::discover(t.path()).unwrap();
        assert!(approx(s.read_watts().unwrap(), 7.5));
        assert!(s.describe().contains("VDD_IN"), "{}", s.describe());
    }

    #[test]
    fn power_unit_parse() {
        assert_eq!(PowerUnit::parse("uW"), Ok(PowerUnit::Microwatts));
        assert_eq!(PowerUnit::parse("µW"), Ok(PowerUnit::Microwatts));
        assert_eq!(PowerUnit::parse(" mW "), Ok(PowerUnit::Milliwatts));
        assert_eq!(PowerUnit::parse("W"), Ok(PowerUnit::Watts));
        assert!(PowerUnit::parse("kW").is_err());
    }

    #[test]
    fn error_display_has_kind_and_advice() {
        let e = SensorError::NotFound("x".into());
        assert_eq!(e.to_string(), "sensor not found: x");
        let e: Box<dyn std::error::Error> = Box::new(SensorError::Io("y".into()));
        assert!(e.to_string().contains('y'));
    }
}
