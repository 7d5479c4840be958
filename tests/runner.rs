// SPDX-License-Identifier: MPL-2.0
//! `edgeai-run` end to end: the built binary is started on real pipelines and
//! judged by its exit status, its log lines (stderr), the files it leaves and
//! its HTTP endpoint.
//!
//! Timing: the assertions on delays are lower bounds the runner guarantees
//! (a backoff is never shorter than announced, a stall is never declared
//! before the timeout) plus generous upper bounds (the stated margin), so a
//! loaded machine cannot make them flaky. Every wait is bounded.
//!
//! - failure after N buffers (`identity error-after=N`): restarts with a
//!   doubling backoff up to the cap, then exit status 1;
//! - a source that stops delivering (`fdsrc` on a pipe the test stops
//!   writing to, like an `appsrc` whose producer stops): restart within the
//!   stall timeout + 1 s, and the restarted pipeline works;
//! - a pipeline that never delivers (`valve drop=true`) with no restart
//!   allowed: exit status 1 after the stall timeout;
//! - an element blocked for longer than the teardown timeout: exit status 3;
//! - configuration errors: exit status 2 at once, no restart;
//! - SIGTERM while recording to MP4: a file the GStreamer discoverer reads
//!   with the recorded duration (and SIGKILL, for contrast, leaves one it
//!   cannot read);
//! - EOS that never reaches the sinks: exit status 1 after the EOS timeout;
//!   a second signal: exit at once with 128 + the signal;
//! - the statistics endpoint: JSON with the inference rate, checked against
//!   the sink's frame count and `thermalgate`'s throttle factor;
//! - tracks alive from `edgetrack` on a video with pedestrians;
//! - systemd: READY, WATCHDOG pings and STOPPING on a notification socket.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_edgeai-run");

/// A running `edgeai-run`, its stderr lines as they arrive (with the time
/// the test read them).
struct Runner {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<(Instant, String)>,
    seen: Vec<String>,
}

impl Runner {
    fn spawn(args: &[&str]) -> Self {
        Self::spawn_with(args, false)
    }

    fn spawn_with(args: &[&str], piped_stdin: bool) -> Self {
        Self::spawn_env(args, piped_stdin, &[])
    }

    fn spawn_env(args: &[&str], piped_stdin: bool, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(BIN)
            .args(args)
            .envs(env.iter().copied())
            .stdin(if piped_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        Runner {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    fn log(&self) -> String {
        self.seen.join("\n")
    }

    /// Waits for a line containing `needle`; returns when it was read.
    fn expect(&mut self, needle: &str, timeout: Duration) -> (Instant, String) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((t, line)) => {
                    eprintln!("{line}");
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return (t, line);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no line with {needle:?} within {timeout:?}; log:\n{}",
                        self.log()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "edgeai-run ended before a line with {needle:?}; log:\n{}",
                        self.log()
                    )
                }
            }
        }
    }

    /// Waits for the process to exit; returns its status (128+N for a
    /// signal N) after reading the rest of its log.
    fn wait_exit(&mut self, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        let status = loop {
            match self.child.try_wait().expect("try_wait") {
                Some(s) => break s,
                None if Instant::now() >= deadline => {
                    let _ = self.child.kill();
                    panic!(
                        "edgeai-run still running after {timeout:?}; log:\n{}",
                        self.log()
                    );
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        while let Ok((_, line)) = self.lines.recv_timeout(Duration::from_secs(2)) {
            eprintln!("{line}");
            self.seen.push(line);
        }
        use std::os::unix::process::ExitStatusExt;
        status
            .code()
            .or_else(|| status.signal().map(|s| 128 + s))
            .expect("exit status")
    }

    fn signal(&self, signum: i32) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(pid, signum) };
        assert_eq!(rc, 0, "kill({pid}, {signum})");
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The runner's own time stamp of a log line: `edgeai-run [   1.234] ...`.
fn log_time(line: &str) -> f64 {
    let inside = line
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .unwrap_or_else(|| panic!("no time stamp in {line:?}"))
        .0;
    inside.trim().parse().expect("time stamp")
}

/// The duration in the runner's message `... for 1.062s` / `in 200ms`.
fn duration_after(line: &str, word: &str) -> f64 {
    let rest = line
        .split_once(word)
        .unwrap_or_else(|| panic!("no {word:?} in {line:?}"))
        .1;
    let token = rest.split_whitespace().next().expect("duration");
    if let Some(ms) = token.strip_suffix("ms") {
        ms.parse::<f64>().expect("ms") / 1000.0
    } else {
        token
            .trim_end_matches([':', ','])
            .strip_suffix('s')
            .unwrap_or_else(|| panic!("not a duration: {token}"))
            .parse()
            .expect("seconds")
    }
}

const START: Duration = Duration::from_secs(20);
const EXIT: Duration = Duration::from_secs(20);

#[test]
fn failures_restart_with_backoff_up_to_the_cap_then_exit_1() {
    let mut r = Runner::spawn(&[
        "--initial-backoff",
        "200ms",
        "--max-backoff",
        "500ms",
        "--max-restarts-per-hour",
        "3",
        "--stats-interval",
        "0",
        "videotestsrc ! identity error-after=5 ! fakesink",
    ]);
    // Backoff 200 ms, doubled, capped at 500 ms; a fourth failure exceeds
    // the cap of 3 restarts in the hour.
    let expected = [0.2, 0.4, 0.5];
    let (_, mut start) = r.expect("run 1: starting", START);
    for (k, delay) in expected.iter().enumerate() {
        let run = k + 1;
        let (_, failed) = r.expect(&format!("run {run} failed after"), START);
        assert!(
            failed.contains("error from identity") && failed.contains("Failed after iterations"),
            "{failed}"
        );
        assert!(log_time(&failed) >= log_time(&start));
        let (_, restart) = r.expect(
            &format!("restart {run} ({run}/3 in the last hour) in"),
            START,
        );
        assert_eq!(duration_after(&restart, "hour) in "), *delay, "{restart}");
        let (_, next) = r.expect(&format!("run {}: starting", run + 1), START);
        let waited = log_time(&next) - log_time(&restart);
        assert!(
            waited >= delay - 0.002 && waited < delay + 2.0,
            "run {} started {waited:.3}s after restart {run} was announced with {delay}s backoff",
            run + 1
        );
        start = next;
    }
    r.expect("run 4 failed after", START);
    r.expect("giving up: 3 restart(s) in the last hour", START);
    assert_eq!(r.wait_exit(EXIT), 1);
    assert!(!r.log().contains("run 5"), "{}", r.log());
}

#[test]
fn a_source_that_stops_delivering_is_restarted_within_the_stall_timeout() {
    // fdsrc reads the runner's stdin: the test is the producer, and stops
    // writing while keeping the pipe open, as a stalled camera would.
    let mut r = Runner::spawn_with(
        &[
            "--stall-timeout",
            "1s",
            "--initial-backoff",
            "100ms",
            "--stats-interval",
            "0",
            "fdsrc fd=0 ! fakesink sync=false",
        ],
        true,
    );
    r.expect("run 1: starting", START);
    let mut stdin = r.stdin.take().expect("stdin");
    for i in 0..5 {
        writeln!(stdin, "frame {i}").expect("write");
        stdin.flush().expect("flush");
        std::thread::sleep(Duration::from_millis(100));
    }
    writeln!(stdin, "last frame").expect("write");
    stdin.flush().expect("flush");
    let last_write = Instant::now();
    // The sink gets the last buffer after this write, so the stall cannot be
    // declared less than 1 s after it; the runner checks every 100 ms and the
    // stated margin is 1 s.
    let (t, line) = r.expect("run 1 failed after", Duration::from_secs(10));
    assert!(
        line.contains("stall: no buffer reached a sink for"),
        "{line}"
    );
    let after = t.duration_since(last_write).as_secs_f64();
    assert!(
        (1.0..2.0).contains(&after),
        "stall declared {after:.3}s after the last buffer, expected 1 s + at most 1 s"
    );
    let silent = duration_after(&line, " for ");
    assert!((1.0..1.5).contains(&silent), "{line}");
    r.expect("restart 1 (1/10 in the last hour) in 100ms", START);
    r.expect("run 2: starting", START);
    // The restarted pipeline reads the same pipe: data flows again, then
    // closing the pipe ends the stream and the runner exits 0.
    writeln!(stdin, "after the restart").expect("write");
    stdin.flush().expect("flush");
    r.expect("run 2: playing", START);
    drop(stdin);
    r.expect("the pipeline ended (EOS): exiting", START);
    assert_eq!(r.wait_exit(EXIT), 0);
    assert!(!r.log().contains("run 2 failed"), "{}", r.log());
}

#[test]
fn a_pipeline_that_never_delivers_stalls_and_cap_zero_exits_1() {
    let mut r = Runner::spawn(&[
        "--stall-timeout",
        "1s",
        "--max-restarts-per-hour",
        "0",
        "--stats-interval",
        "0",
        "videotestsrc ! valve drop=true ! fakesink",
    ]);
    let (_, start) = r.expect("run 1: starting", START);
    let (_, line) = r.expect("run 1 failed after", Duration::from_secs(10));
    assert!(
        line.contains("stall: no buffer reached a sink in the") && line.contains("since the start"),
        "{line}"
    );
    let after = log_time(&line) - log_time(&start);
    assert!((1.0..2.0).contains(&after), "stall after {after:.3}s");
    r.expect("giving up: 0 restart(s)", START);
    assert_eq!(r.wait_exit(EXIT), 1);
}

#[test]
fn a_pipeline_that_cannot_be_stopped_exits_3() {
    // identity sleeps 10 s per buffer and cannot be interrupted: the stall
    // is detected after 1 s, stopping the pipeline blocks, and after the
    // 1 s teardown timeout the runner exits with status 3.
    let started = Instant::now();
    let mut r = Runner::spawn(&[
        "--stall-timeout",
        "1s",
        "--teardown-timeout",
        "1s",
        "--stats-interval",
        "0",
        "videotestsrc ! identity sleep-time=10000000 ! fakesink",
    ]);
    r.expect("run 1 failed after", Duration::from_secs(10));
    r.expect("did not stop within 1s", Duration::from_secs(10));
    assert_eq!(r.wait_exit(EXIT), 3);
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn configuration_errors_exit_2_without_restarting() {
    let dir = temp_dir("runner-config");
    let bad_key = dir.join("bad.toml");
    std::fs::write(
        &bad_key,
        "pipeline = \"videotestsrc ! fakesink\"\n[restart]\nstall-timout = 3\n",
    )
    .unwrap();
    let bad_key = bad_key.to_str().unwrap().to_string();
    let not_a_model = repo_dir().join("Cargo.toml");
    let not_a_model = format!(
        "videotestsrc ! videoconvert ! edgedetect model={} ! fakesink",
        not_a_model.display()
    );
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["videotestsrc ! nosuchelement ! fakesink"],
            "no element \"nosuchelement\"",
        ),
        (
            vec!["videotestsrc nosuchproperty=1 ! fakesink"],
            "no property \"nosuchproperty\" in element \"videotestsrc\"",
        ),
        (vec!["videotestsrc ! ! fakesink"], "syntax error"),
        (
            vec!["videotestsrc pattern=nonsense ! fakesink"],
            "could not set property \"pattern\"",
        ),
        (vec!["--config", &bad_key], "stall-timout"),
        (
            vec!["--stall-timeout", "soon", "fakesrc ! fakesink"],
            "invalid duration",
        ),
        (vec![], "no pipeline"),
        // Settings an element rejects when it starts, before the pipeline
        // ever played (LibraryError::Settings): no restart fixes them.
        (vec![&not_a_model], "configuration error, not restarting"),
    ];
    for (args, message) in cases {
        let started = Instant::now();
        let mut r = Runner::spawn(&args);
        assert_eq!(r.wait_exit(EXIT), 2, "{args:?}:\n{}", r.log());
        let log = r.log();
        assert!(log.contains(message), "{args:?}: no {message:?} in:\n{log}");
        assert!(!log.contains("restart 1"), "{args:?} restarted:\n{log}");
        assert!(started.elapsed() < Duration::from_secs(10), "{args:?}");
    }
}

/// Duration of a media file as the GStreamer discoverer (the library behind
/// `gst-discoverer-1.0`) reads it, and its first video stream's size.
fn discover(path: &Path) -> Result<(f64, u32, u32), String> {
    init();
    let uri = glib::filename_to_uri(path, None).map_err(|e| e.to_string())?;
    let discoverer = gst_pbutils::Discoverer::new(gst::ClockTime::from_seconds(10))
        .map_err(|e| e.to_string())?;
    let info = discoverer.discover_uri(&uri).map_err(|e| e.to_string())?;
    if info.result() != gst_pbutils::DiscovererResult::Ok {
        return Err(format!("{:?}", info.result()));
    }
    let duration = info.duration().ok_or("no duration")?;
    let video = info.video_streams();
    let v = video.first().ok_or("no video stream")?;
    Ok((duration.nseconds() as f64 / 1e9, v.width(), v.height()))
}

fn recording_pipeline(file: &Path) -> String {
    format!(
        "videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=10/1 ! \
         videoconvert ! openh264enc ! h264parse ! mp4mux ! filesink buffer-mode=unbuffered location={}",
        file.display()
    )
}

#[test]
fn sigterm_finalises_an_mp4_recording() {
    let dir = temp_dir("runner-mp4");
    let file = dir.join("rec.mp4");
    let desc = recording_pipeline(&file);
    let mut r = Runner::spawn(&["--stats-interval", "0", &desc]);
    let (playing, _) = r.expect("run 1: playing", START);
    std::thread::sleep(Duration::from_secs(3));
    let stop = Instant::now();
    r.signal(libc::SIGTERM);
    r.expect("SIGTERM: sending EOS", Duration::from_secs(5));
    r.expect(
        "EOS reached the sinks: stopped cleanly",
        Duration::from_secs(15),
    );
    assert_eq!(r.wait_exit(EXIT), 0);
    // Frames are time-stamped from PLAYING; the recording ends at the EOS
    // sent at the signal.
    let expected = stop.duration_since(playing).as_secs_f64();
    let (duration, w, h) = discover(&file).unwrap_or_else(|e| panic!("unreadable recording: {e}"));
    assert_eq!((w, h), (320, 240));
    eprintln!("recording lasts {duration:.3}s, the pipeline played {expected:.3}s");
    assert!(
        (duration - expected).abs() <= 0.5,
        "recording lasts {duration:.3}s, the pipeline played {expected:.3}s"
    );

    // For contrast: SIGKILL (what a supervisor without EOS amounts to)
    // leaves an MP4 without its index, which the discoverer cannot read.
    let killed = dir.join("killed.mp4");
    let desc = recording_pipeline(&killed);
    let mut r = Runner::spawn(&["--stats-interval", "0", &desc]);
    r.expect("run 1: playing", START);
    std::thread::sleep(Duration::from_secs(2));
    r.signal(libc::SIGKILL);
    assert_eq!(r.wait_exit(EXIT), 128 + libc::SIGKILL);
    let size = std::fs::metadata(&killed).map(|m| m.len()).unwrap_or(0);
    assert!(size > 1000, "the killed recording has {size} bytes of data");
    assert!(
        discover(&killed).is_err(),
        "a killed recording was readable"
    );
}

/// `GET path` on the endpoint; (status code, body).
fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the stats endpoint");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("send request");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read response");
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP response");
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status code");
    (code, body.to_string())
}

#[test]
fn the_stats_endpoint_serves_json_with_the_inference_rate() {
    let dir = temp_dir("runner-stats");
    // 78.5 °C with thermalgate's defaults (warning 75, critical 85,
    // min-factor 0.2): factor 1 − 0.8 × 3.5 / 10 = 0.72, so 72 % of the
    // frames are inferred (docs/thermalgate.md).
    let sensor = dir.join("temp");
    std::fs::write(&sensor, "78500\n").unwrap();
    let desc = format!(
        "videotestsrc is-live=true ! video/x-raw,width=160,height=120,framerate=10/1 ! \
         videoconvert ! thermalgate sensor={} ! edgedetect model={} ! fakesink name=out sync=false",
        sensor.display(),
        yolox_model().display()
    );
    let mut r = Runner::spawn(&[
        "--stats-interval",
        "1s",
        "--stats-addr",
        "127.0.0.1:0",
        &desc,
    ]);
    let (_, line) = r.expect("stats endpoint: http://127.0.0.1:", START);
    let port: u16 = line
        .rsplit_once("127.0.0.1:")
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line}"));
    r.expect("run 1: playing", START);

    // Poll until a snapshot covers at least 2 s of the run with inferences.
    let deadline = Instant::now() + Duration::from_secs(30);
    let stats: serde_json::Value = loop {
        let (code, body) = http_get(port, "/stats");
        assert_eq!(code, 200, "{body}");
        let v: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("invalid JSON {body}: {e}"));
        let inferred = v["inference"][0]["frames_inferred"].as_u64().unwrap_or(0);
        if v["run_uptime_s"].as_f64().unwrap_or(0.0) >= 2.0 && inferred >= 5 {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "no inferences within 30 s: {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    eprintln!("{stats:#}");
    assert_eq!(stats["state"], "running");
    assert_eq!(stats["run"], 1);
    assert_eq!(stats["restarts"]["total"], 0);
    assert_eq!(stats["interval_s"], 1.0);
    let inf = &stats["inference"][0];
    assert_eq!(inf["name"], "edgedetect0");
    let rate = inf["rate"].as_f64().expect("inference rate");
    assert!(rate > 0.0, "{inf}");
    assert!(inf["mean_latency_ms"].as_f64().unwrap() > 0.0, "{inf}");
    assert!(inf["last_latency_ms"].as_f64().unwrap() > 0.0, "{inf}");
    let inferred = inf["frames_inferred"].as_u64().unwrap() as f64;
    let skipped = inf["frames_skipped"].as_u64().unwrap() as f64;
    // Every frame through edgedetect goes to the sink (same thread, the
    // counters read a moment apart: ±1 frame).
    let sink = &stats["sinks"][0];
    assert_eq!(sink["name"], "out");
    let buffers = sink["buffers"].as_u64().unwrap() as f64;
    assert!((inferred + skipped - buffers).abs() <= 1.0, "{stats}");
    // thermalgate admits ⌈n·0.72⌉ of n frames.
    let n = inferred + skipped;
    assert!(
        (inferred - (n * 0.72).ceil()).abs() <= 1.0,
        "{inferred} of {n}"
    );
    // Over the same interval, inferences/s ≈ 0.72 × sink fps, within the
    // frames counted on either side of the window's two edges.
    let fps = sink["fps"].as_f64().unwrap();
    assert!(fps > 0.0);
    assert!((rate - 0.72 * fps).abs() <= 3.0, "rate {rate}, fps {fps}");
    let th = &stats["thermal"][0];
    assert_eq!(th["temperature_c"], 78.5);
    assert!(
        (th["throttle_factor"].as_f64().unwrap() - 0.72).abs() < 1e-9,
        "{th}"
    );
    assert_eq!(th["level"], "warning");
    assert!(stats["tracking"].as_array().unwrap().is_empty());
    assert!(stats["rss_bytes"].as_u64().unwrap() > 10_000_000);

    let (code, body) = http_get(port, "/health");
    assert_eq!((code, body.as_str()), (200, r#"{"state":"running"}"#));
    let (code, _) = http_get(port, "/nothing-here");
    assert_eq!(code, 404);
    // The log line carries the same numbers.
    r.expect("edgedetect0", Duration::from_secs(5));
    assert!(r.log().contains("inferences/s"), "{}", r.log());

    r.signal(libc::SIGINT);
    r.expect(
        "EOS reached the sinks: stopped cleanly",
        Duration::from_secs(15),
    );
    assert_eq!(r.wait_exit(EXIT), 0);
}

/// `valve drop=true` drops EOS too: a stop request can never complete.
const EOS_NEVER_ARRIVES: &str =
    "videotestsrc is-live=true ! valve drop=true ! fakesink async=false";

#[test]
fn eos_that_never_reaches_the_sinks_times_out_with_status_1() {
    let mut r = Runner::spawn(&[
        "--stall-timeout",
        "0",
        "--eos-timeout",
        "1s",
        "--stats-interval",
        "0",
        EOS_NEVER_ARRIVES,
    ]);
    r.expect("run 1: playing", START);
    r.signal(libc::SIGTERM);
    let (_, sent) = r.expect("SIGTERM: sending EOS", Duration::from_secs(5));
    let (_, gave_up) = r.expect(
        "EOS did not reach the sinks within 1s",
        Duration::from_secs(10),
    );
    let waited = log_time(&gave_up) - log_time(&sent);
    assert!((1.0..3.0).contains(&waited), "gave up after {waited:.3}s");
    assert_eq!(r.wait_exit(EXIT), 1);
}

#[test]
fn a_second_signal_stops_at_once() {
    let mut r = Runner::spawn(&[
        "--stall-timeout",
        "0",
        "--eos-timeout",
        "60s",
        "--stats-interval",
        "0",
        EOS_NEVER_ARRIVES,
    ]);
    r.expect("run 1: playing", START);
    r.signal(libc::SIGINT);
    r.expect(
        "SIGINT: sending EOS and waiting up to 60s",
        Duration::from_secs(5),
    );
    let second = Instant::now();
    r.signal(libc::SIGTERM);
    r.expect("SIGTERM again: stopping at once", Duration::from_secs(5));
    assert_eq!(r.wait_exit(EXIT), 128 + libc::SIGTERM);
    assert!(second.elapsed() < Duration::from_secs(10));
}

#[test]
fn systemd_notifications() {
    use std::os::unix::net::UnixDatagram;
    let dir = temp_dir("runner-notify");
    let path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&path).expect("bind the notification socket");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // Watchdog of 400 ms: the runner pings every 200 ms.
    struct KillOnDrop(Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let child = Command::new(BIN)
        .args([
            "--stats-interval",
            "0",
            "videotestsrc is-live=true ! fakesink",
        ])
        .env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", "400000")
        .env_remove("WATCHDOG_PID")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start edgeai-run");
    let mut child = KillOnDrop(child);
    let mut buf = [0u8; 4096];
    let mut recv = || -> (Instant, String) {
        let n = socket.recv(&mut buf).expect("notification within 10 s");
        (
            Instant::now(),
            String::from_utf8_lossy(&buf[..n]).into_owned(),
        )
    };
    let mut ready = false;
    let mut pings = Vec::new();
    while pings.len() < 4 {
        let (t, msg) = recv();
        ready |= msg.lines().any(|l| l == "READY=1");
        if msg.lines().any(|l| l == "WATCHDOG=1") {
            pings.push(t);
        }
    }
    assert!(ready, "no READY=1 before four watchdog pings");
    // Pings every 200 ms: three intervals take at least ~0.6 s.
    let span = pings[3].duration_since(pings[0]).as_secs_f64();
    assert!((0.5..3.0).contains(&span), "4 pings over {span:.3}s");
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(
        unsafe { libc::kill(child.0.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    let mut stopping = false;
    for _ in 0..50 {
        let (_, msg) = recv();
        if msg.lines().any(|l| l == "STOPPING=1") {
            stopping = true;
            break;
        }
    }
    assert!(stopping, "no STOPPING=1 after SIGTERM");
    let deadline = Instant::now() + EXIT;
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "edgeai-run did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn the_stats_report_tracks_alive_from_edgetrack_and_zone_counters() {
    // vtest.avi shows several pedestrians in every frame: once the tracker
    // has confirmed them, edgetrack's `tracks-alive` (read by property,
    // whatever the element's name) is at least 1. edgezones' counters come
    // from its `edgezones-counts` bus messages.
    let desc = format!(
        "filesrc location={} ! decodebin ! videoconvert ! edgedetect model={} ! edgetrack ! \
         edgezones counts-interval=200 \
         zones=\"crossing=line:0.05,0.6,0.95,0.6;square=polygon:0.3,0.35,0.7,0.35,0.7,0.85,0.3,0.85\" ! \
         fakesink sync=false",
        shared("media/vtest.avi").display(),
        yolox_model().display()
    );
    let mut r = Runner::spawn(&[
        "--stats-interval",
        "500ms",
        "--stats-addr",
        "127.0.0.1:0",
        &desc,
    ]);
    let (_, line) = r.expect("stats endpoint: http://127.0.0.1:", START);
    let port: u16 = line
        .rsplit_once("127.0.0.1:")
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let stats: serde_json::Value = loop {
        let (_, body) = http_get(port, "/stats");
        let v: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("invalid JSON {body}: {e}"));
        if v["inference"][0]["frames_inferred"].as_u64().unwrap_or(0) >= 20
            && v["zones"].as_array().is_some_and(|z| !z.is_empty())
        {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "fewer than 20 inferences in 60 s: {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let tracking = stats["tracking"].as_array().expect("tracking array");
    assert_eq!(tracking.len(), 1, "{stats}");
    assert_eq!(tracking[0]["name"], "edgetrack0");
    let alive = tracking[0]["tracks_alive"].as_u64().expect("tracks_alive");
    assert!((1..=30).contains(&alive), "{alive} tracks alive: {stats}");
    let zones = stats["zones"].as_array().expect("zones array");
    assert_eq!(zones.len(), 1, "{stats}");
    assert_eq!(zones[0]["name"], "edgezones0");
    let z = &zones[0]["zones"];
    assert_eq!(
        (&z[0]["name"], &z[0]["kind"]),
        (&"crossing".into(), &"line".into())
    );
    assert_eq!(
        (&z[1]["name"], &z[1]["kind"]),
        (&"square".into(), &"polygon".into())
    );
    let n = |v: &serde_json::Value| v.as_u64().unwrap_or_else(|| panic!("not a count: {stats}"));
    assert_eq!(
        n(&z[1]["entered"]) - n(&z[1]["exited"]),
        n(&z[1]["occupancy"]),
        "{stats}"
    );
    // The log line of a statistics interval shows the line's counts.
    r.expect("; edgezones0 crossing in ", Duration::from_secs(10));
    r.signal(libc::SIGTERM);
    r.expect(
        "EOS reached the sinks: stopped cleanly",
        Duration::from_secs(15),
    );
    assert_eq!(r.wait_exit(EXIT), 0);
}

/// No ONNX Runtime anywhere (as for a service user whose home has no copy):
/// a configuration error, exit 2 at once, not a restart loop.
#[test]
fn no_onnx_runtime_is_a_configuration_error_exit_2() {
    let desc = format!(
        "videotestsrc num-buffers=10 ! videoconvert ! edgedetect model={} ! fakesink",
        yolox_model().display()
    );
    let started = Instant::now();
    let mut r = Runner::spawn_env(
        &[&desc],
        false,
        &[
            ("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so"),
            ("HOME", "/nonexistent"),
            ("XDG_DATA_HOME", "/nonexistent"),
            ("LD_LIBRARY_PATH", ""),
        ],
    );
    assert_eq!(r.wait_exit(EXIT), 2, "{}", r.log());
    let log = r.log();
    assert!(log.contains("could not load ONNX Runtime"), "{log}");
    assert!(log.contains("configuration error, not restarting"), "{log}");
    assert!(!log.contains("restart 1"), "{log}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// /stats right after the start, long before the first stats interval:
/// the sinks, the version and the RSS are there.
#[test]
fn the_stats_endpoint_is_filled_at_start() {
    let mut r = Runner::spawn(&[
        "--stats-interval",
        "1h",
        "--stats-addr",
        "127.0.0.1:0",
        "videotestsrc is-live=true ! video/x-raw,width=64,height=48 ! fakesink name=out",
    ]);
    let (_, line) = r.expect("stats endpoint: http://127.0.0.1:", START);
    let port: u16 = line
        .rsplit_once("127.0.0.1:")
        .and_then(|(_, rest)| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line}"));
    r.expect("run 1: playing", START);
    let (code, body) = http_get(port, "/stats");
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"), "{body}");
    assert_eq!(v["run"], 1, "{body}");
    assert_eq!(v["sinks"][0]["name"], "out", "{body}");
    assert!(v["rss_bytes"].as_u64().unwrap_or(0) > 1_000_000, "{body}");
    r.signal(libc::SIGINT);
    assert_eq!(r.wait_exit(EXIT), 0, "{}", r.log());
}
