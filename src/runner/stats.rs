// SPDX-License-Identifier: MPL-2.0
//! `edgeai-run`'s live statistics: rates from monotonically growing
//! counters ([`Rates`]), the snapshot served as JSON and logged as one line
//! ([`Snapshot`]), and the process's resident memory ([`read_rss_bytes`]).
//!
//! The field names and units of the JSON are documented in
//! `docs/edgeai-run.md`; change both together.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;

/// Per-second rates of named counters over the time between two samples.
///
/// Counters belong to one run of the pipeline: [`Rates::new_run`] forgets the
/// previous run's counters, and a counter first seen in a run counts from 0
/// at the run's start. A counter that goes backwards (an element restarted
/// inside the run) counts from 0 again.
#[derive(Debug, Default, Clone)]
pub struct Rates {
    run_start: f64,
    last: HashMap<String, (f64, u64)>,
}

impl Rates {
    pub fn new(run_start_s: f64) -> Self {
        Self {
            run_start: run_start_s,
            last: HashMap::new(),
        }
    }

    /// A new run started at `t_s` (seconds on the caller's clock).
    pub fn new_run(&mut self, t_s: f64) {
        self.run_start = t_s;
        self.last.clear();
    }

    /// The rate of `key` (per second) since its previous sample, and records
    /// this one. 0 when no time has passed.
    pub fn rate(&mut self, key: &str, t_s: f64, count: u64) -> f64 {
        let (t0, c0) = self.last.get(key).copied().unwrap_or((self.run_start, 0));
        self.last.insert(key.to_string(), (t_s, count));
        let dt = t_s - t0;
        let dc = if count >= c0 { count - c0 } else { count };
        if dt > 0.0 { dc as f64 / dt } else { 0.0 }
    }
}

/// Restarts, as counted by the runner.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RestartStats {
    pub total: u64,
    pub last_hour: u32,
    pub max_per_hour: u32,
    /// Why the last restart happened (`null` before the first).
    pub last_cause: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SinkStats {
    pub name: String,
    /// Buffers per second that reached the sink over the last interval.
    pub fps: f64,
    /// Buffers that reached the sink in this run.
    pub buffers: u64,
}

/// An `edgedetect` (any element with `frames-inferred` and `mean-latency`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct InferenceStats {
    pub name: String,
    /// Inferred frames per second over the last interval.
    pub rate: f64,
    pub frames_inferred: u64,
    pub frames_skipped: u64,
    /// Mean latency per inferred frame since the element started, ms.
    pub mean_latency_ms: f64,
    pub last_latency_ms: f64,
}

/// A tracker (any element with `tracks-alive`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TrackingStats {
    pub name: String,
    pub tracks_alive: u64,
}

/// A `thermalgate` (any element with `temperature` and `throttle-factor`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ThermalStats {
    pub name: String,
    /// °C; `null` while the element has no reading.
    pub temperature_c: Option<f64>,
    pub throttle_factor: f64,
    pub level: String,
}

/// One label's counters in a zone.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ZoneLabelStats {
    pub label: String,
    #[serde(rename = "in")]
    pub crossed_in: u64,
    #[serde(rename = "out")]
    pub crossed_out: u64,
    pub occupancy: u32,
}

/// One zone's counters since its element started.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ZoneStats {
    pub name: String,
    /// `line` or `polygon`.
    pub kind: String,
    /// Lines: crossings in and out.
    #[serde(rename = "in")]
    pub crossed_in: u64,
    #[serde(rename = "out")]
    pub crossed_out: u64,
    /// Polygons: tracks inside now, enters and exits.
    pub occupancy: u32,
    pub entered: u64,
    pub exited: u64,
    pub labels: Vec<ZoneLabelStats>,
}

/// An `edgezones` element's counters, from its last `edgezones-counts`
/// bus message.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ZonesStats {
    /// The element's name.
    pub name: String,
    /// Running time of the message, seconds.
    pub running_time_s: f64,
    pub zones: Vec<ZoneStats>,
}

impl ZonesStats {
    /// Reads an `edgezones-counts` message's structure (`None` for any
    /// other structure); `element` is the message's source.
    pub fn from_counts_message(element: &str, s: &gst::StructureRef) -> Option<ZonesStats> {
        if s.name() != crate::edgezones::COUNTS_MESSAGE_NAME {
            return None;
        }
        let zones = s
            .get::<gst::Array>("zones")
            .map(|a| crate::meta::zone_counters_from_array(&a))
            .unwrap_or_default();
        Some(ZonesStats {
            name: element.to_string(),
            running_time_s: s
                .get::<gst::ClockTime>("running-time")
                .map_or(0.0, |t| t.nseconds() as f64 / 1e9),
            zones: zones
                .into_iter()
                .map(|z| ZoneStats {
                    name: z.name,
                    kind: z.kind,
                    crossed_in: z.crossed_in,
                    crossed_out: z.crossed_out,
                    occupancy: z.occupancy,
                    entered: z.entered,
                    exited: z.exited,
                    labels: z
                        .labels
                        .into_iter()
                        .map(|l| ZoneLabelStats {
                            label: l.label,
                            crossed_in: l.crossed_in,
                            crossed_out: l.crossed_out,
                            occupancy: l.occupancy,
                        })
                        .collect(),
                })
                .collect(),
        })
    }
}

/// Everything `edgeai-run` reports, once per statistics interval.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Snapshot {
    /// `starting`, `running`, `restarting` (waiting out a backoff),
    /// `stopping` (EOS sent after a signal) or `stopped`.
    pub state: String,
    /// Seconds since the runner started.
    pub uptime_s: f64,
    /// Number of the current run of the pipeline (1 for the first).
    pub run: u64,
    /// Seconds since the current run started (0 while restarting).
    pub run_uptime_s: f64,
    /// Seconds since a buffer last reached a sink in this run (or since the
    /// run started); `null` when no sink is watched.
    pub last_buffer_age_s: Option<f64>,
    pub restarts: RestartStats,
    /// Seconds covered by the rates (the statistics interval).
    pub interval_s: f64,
    pub sinks: Vec<SinkStats>,
    pub inference: Vec<InferenceStats>,
    pub tracking: Vec<TrackingStats>,
    pub thermal: Vec<ThermalStats>,
    /// Zone counters of each `edgezones` that posted `edgezones-counts` in
    /// this run, by element name.
    pub zones: Vec<ZonesStats>,
    /// Resident memory of the runner process, bytes (`null` where
    /// `/proc/self/status` cannot be read).
    pub rss_bytes: Option<u64>,
    /// When the snapshot was taken, seconds since the Unix epoch.
    pub timestamp: f64,
    /// edgeai-run's version.
    pub version: String,
}

impl Snapshot {
    pub fn to_json(&self) -> String {
        // Serialising plain structs of numbers and strings cannot fail; a
        // NaN would become null.
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The statistics as one log line.
    pub fn log_line(&self) -> String {
        let mut s = format!(
            "stats: {} run {} up {:.0}s, restarts {} ({} in the last hour)",
            self.state, self.run, self.run_uptime_s, self.restarts.total, self.restarts.last_hour
        );
        for k in &self.sinks {
            let _ = write!(s, "; {} {:.1} fps", k.name, k.fps);
        }
        for i in &self.inference {
            let _ = write!(
                s,
                "; {} {:.1} inferences/s, latency {:.1} ms mean {:.1} ms last, {} skipped",
                i.name, i.rate, i.mean_latency_ms, i.last_latency_ms, i.frames_skipped
            );
        }
        for t in &self.tracking {
            let _ = write!(s, "; {} {} tracks", t.name, t.tracks_alive);
        }
        for t in &self.thermal {
            match t.temperature_c {
                Some(c) => {
                    let _ = write!(s, "; {} {c:.1} °C", t.name);
                }
                None => {
                    let _ = write!(s, "; {} no reading", t.name);
                }
            }
            let _ = write!(s, ", factor {:.2}, {}", t.throttle_factor, t.level);
        }
        for e in &self.zones {
            let _ = write!(s, "; {}", e.name);
            for (i, z) in e.zones.iter().enumerate() {
                let sep = if i == 0 { " " } else { ", " };
                if z.kind == "line" {
                    let _ = write!(
                        s,
                        "{sep}{} in {} out {}",
                        z.name, z.crossed_in, z.crossed_out
                    );
                } else {
                    let _ = write!(s, "{sep}{} occupancy {}", z.name, z.occupancy);
                }
            }
        }
        if let Some(b) = self.rss_bytes {
            let _ = write!(s, "; rss {:.1} MiB", b as f64 / (1024.0 * 1024.0));
        }
        s
    }
}

/// `VmRSS` from the text of `/proc/<pid>/status`, in bytes.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut parts = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next()? {
        "kB" => value.checked_mul(1024),
        _ => None,
    }
}

/// The resident memory of this process (Linux `/proc/self/status`), bytes.
/// A few lines of parsing: a crate such as `procfs` would bring far more
/// than this one number.
pub fn read_rss_bytes() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .as_deref()
        .and_then(parse_vm_rss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_over_intervals() {
        let mut r = Rates::new(100.0);
        // First sample counts from the run's start: 25 in 2.5 s.
        assert_eq!(r.rate("a", 102.5, 25), 10.0);
        assert_eq!(r.rate("a", 103.5, 30), 5.0);
        assert_eq!(r.rate("a", 103.5, 30), 0.0); // no time passed
        // Another counter has its own history.
        assert_eq!(r.rate("b", 104.0, 8), 2.0);
        // A counter that went back (element restarted) counts from 0.
        assert_eq!(r.rate("a", 105.5, 4), 2.0);
        // A new run forgets everything.
        r.new_run(200.0);
        assert_eq!(r.rate("a", 201.0, 3), 3.0);
    }

    fn sample() -> Snapshot {
        Snapshot {
            state: "running".into(),
            uptime_s: 30.0,
            run: 2,
            run_uptime_s: 12.4,
            last_buffer_age_s: Some(0.05),
            restarts: RestartStats {
                total: 1,
                last_hour: 1,
                max_per_hour: 10,
                last_cause: Some("stall: no buffer reached a sink for 10s".into()),
            },
            interval_s: 10.0,
            sinks: vec![SinkStats {
                name: "fakesink0".into(),
                fps: 10.0,
                buffers: 124,
            }],
            inference: vec![InferenceStats {
                name: "edgedetect0".into(),
                rate: 5.0,
                frames_inferred: 62,
                frames_skipped: 62,
                mean_latency_ms: 31.25,
                last_latency_ms: 29.5,
            }],
            tracking: vec![TrackingStats {
                name: "edgetrack0".into(),
                tracks_alive: 3,
            }],
            thermal: vec![ThermalStats {
                name: "thermalgate0".into(),
                temperature_c: None,
                throttle_factor: 1.0,
                level: "normal".into(),
            }],
            zones: vec![],
            rss_bytes: Some(3 * 1024 * 1024 / 2),
            timestamp: 1.7e9,
            version: "0.1.0".into(),
        }
    }

    #[test]
    fn json_fields() {
        let v: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        assert_eq!(v["state"], "running");
        assert_eq!(v["run"], 2);
        assert_eq!(v["restarts"]["total"], 1);
        assert_eq!(v["restarts"]["max_per_hour"], 10);
        assert_eq!(v["sinks"][0]["fps"], 10.0);
        assert_eq!(v["inference"][0]["rate"], 5.0);
        assert_eq!(v["inference"][0]["mean_latency_ms"], 31.25);
        assert_eq!(v["tracking"][0]["tracks_alive"], 3);
        assert!(v["thermal"][0]["temperature_c"].is_null());
        assert_eq!(v["thermal"][0]["level"], "normal");
        assert_eq!(v["rss_bytes"], 1572864);
        let empty: serde_json::Value =
            serde_json::from_str(&Snapshot::default().to_json()).unwrap();
        assert!(empty["restarts"]["last_cause"].is_null());
        assert_eq!(empty["inference"], serde_json::json!([]));
    }

    #[test]
    fn log_line() {
        assert_eq!(
            sample().log_line(),
            "stats: running run 2 up 12s, restarts 1 (1 in the last hour); fakesink0 10.0 fps; \
             edgedetect0 5.0 inferences/s, latency 31.2 ms mean 29.5 ms last, 62 skipped; \
             edgetrack0 3 tracks; thermalgate0 no reading, factor 1.00, normal; rss 1.5 MiB"
        );
    }

    #[test]
    fn vm_rss() {
        let status = "Name:\tedgeai-run\nVmPeak:\t  200000 kB\nVmRSS:\t   85432 kB\nThreads:\t7\n";
        assert_eq!(parse_vm_rss(status), Some(85432 * 1024));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
        assert_eq!(parse_vm_rss("VmRSS: lots kB\n"), None);
        assert_eq!(parse_vm_rss("VmRSS: 12 MB\n"), None);
        // This process has a resident set.
        assert!(read_rss_bytes().unwrap() > 0);
    }

    #[test]
    fn zone_counters_from_the_counts_message() {
        let _ = gst::init();
        let counters = vec![
            crate::meta::ZoneCounter {
                name: "door".into(),
                kind: "line".into(),
                crossed_in: 3,
                crossed_out: 1,
                labels: vec![crate::meta::LabelCounter {
                    label: "person".into(),
                    crossed_in: 3,
                    crossed_out: 1,
                    occupancy: 0,
                }],
                ..Default::default()
            },
            crate::meta::ZoneCounter {
                name: "queue".into(),
                kind: "polygon".into(),
                occupancy: 2,
                entered: 5,
                exited: 3,
                ..Default::default()
            },
        ];
        let msg = gst::Structure::builder("edgezones-counts")
            .field("running-time", gst::ClockTime::from_mseconds(12_500))
            .field("zones", crate::meta::zone_counters_array(&counters))
            .build();
        assert_eq!(
            ZonesStats::from_counts_message("edgezones0", &gst::Structure::new_empty("other")),
            None
        );
        let z = ZonesStats::from_counts_message("edgezones0", &msg).unwrap();
        let mut snap = sample();
        snap.zones = vec![z];
        let v: serde_json::Value = serde_json::from_str(&snap.to_json()).unwrap();
        assert_eq!(
            v["zones"],
            serde_json::json!([{
                "name": "edgezones0",
                "running_time_s": 12.5,
                "zones": [
                    {"name": "door", "kind": "line", "in": 3, "out": 1, "occupancy": 0,
                     "entered": 0, "exited": 0,
                     "labels": [{"label": "person", "in": 3, "out": 1, "occupancy": 0}]},
                    {"name": "queue", "kind": "polygon", "in": 0, "out": 0, "occupancy": 2,
                     "entered": 5, "exited": 3, "labels": []}
                ]
            }])
        );
        assert!(
            snap.log_line()
                .ends_with("; edgezones0 door in 3 out 1, queue occupancy 2; rss 1.5 MiB"),
            "{}",
            snap.log_line()
        );
    }
}
