// SPDX-License-Identifier: MPL-2.0
//! MQTT against a real broker: Debian's `mosquitto`, started by each test on
//! a free loopback port with a generated configuration (never the system
//! service), read by a real subscriber (`mosquitto_sub`, persistent
//! session, QoS 1).
//!
//! - `edgeevents` with an `mqtt://` sync-url: every event of a vtest.avi run
//!   arrives, once per idempotency key, in order per stream, from two
//!   streams sharing one database; a 10 s broker outage loses nothing and
//!   never slows the pipeline; events stored before a SIGKILL while the
//!   broker was down are delivered by the next run; wrong credentials, a
//!   refused TLS certificate and an unresolvable host give a clear warning,
//!   keep the events and never stall (and the right password / CA deliver);
//! - `edgemqtt`: the detections are edgejson's lines, a broker that stops
//!   acknowledging makes messages drop (counted, warned) while the pipeline
//!   keeps its rate, the retained status says `stopped` with the counts, and
//!   the last will says `offline` after a SIGKILL;
//! - `edgeai-run --stats-mqtt`: the statistics snapshot on `PREFIX/stats`.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use gst::prelude::*;
use rusqlite::Connection;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn need(tool: &str) {
    let ok = Command::new(tool)
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        ok,
        "{tool} is missing: install Debian's mosquitto and mosquitto-clients (scripts/setup.sh does)"
    );
}

/// A mosquitto of our own: plain listener on `port`, optionally TLS on
/// `tls_port`, persistence in its folder (so a restart keeps the
/// subscriber's session and queued messages).
struct Broker {
    dir: PathBuf,
    port: u16,
    tls_port: Option<u16>,
    conf: PathBuf,
    child: Option<Child>,
}

impl Broker {
    fn new(name: &str, extra: &str, tls: Option<&Path>) -> Broker {
        need("mosquitto");
        let dir = temp_dir(name);
        let port = free_port();
        let mut conf = format!(
            "user root\nper_listener_settings false\npersistence true\npersistence_location {}/\n\
             max_queued_messages 0\nlog_dest file {}/broker.log\nlistener {port} 127.0.0.1\n",
            dir.display(),
            dir.display()
        );
        let tls_port = tls.map(|certs| {
            let p = free_port();
            conf.push_str(&format!(
                "listener {p} 127.0.0.1\ncafile {0}/ca.pem\ncertfile {0}/server.pem\nkeyfile {0}/server.key\n",
                certs.display()
            ));
            p
        });
        conf.push_str(extra);
        let path = dir.join("mosquitto.conf");
        std::fs::write(&path, conf).unwrap();
        Broker {
            dir,
            port,
            tls_port,
            conf: path,
            child: None,
        }
    }

    fn start(&mut self) -> &mut Self {
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        self.child = Some(child);
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "mosquitto did not listen on {}: {}",
                self.port,
                std::fs::read_to_string(self.dir.join("broker.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self
    }

    fn signal(&self, sig: i32) {
        if let Some(c) = &self.child {
            // SAFETY: kill(2) on the pid of our own child.
            unsafe { libc::kill(c.id() as i32, sig) };
        }
    }

    /// SIGTERM (mosquitto saves its persistence file) and wait.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill(2) on the pid of our own child.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let _ = c.wait();
        }
    }

    fn url(&self, prefix: &str) -> String {
        format!("mqtt://127.0.0.1:{}/{prefix}", self.port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.signal(libc::SIGCONT);
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

type Messages = Arc<Mutex<Vec<(String, String)>>>;

/// `mosquitto_sub` on `PREFIX/#`, QoS 1, persistent session: every line
/// (topic, payload) it prints.
struct Sub {
    child: Child,
    msgs: Messages,
}

impl Sub {
    fn new(broker: &Broker, prefix: &str) -> Sub {
        need("mosquitto_sub");
        let mut child = Command::new("mosquitto_sub")
            .args(["-h", "127.0.0.1", "-p", &broker.port.to_string()])
            .args(["-t", &format!("{prefix}/#"), "-v", "-q", "1", "-c"])
            .args(["-i", &format!("test-sub-{prefix}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto_sub");
        let out = child.stdout.take().unwrap();
        let msgs: Messages = Arc::default();
        let m = msgs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Some((t, p)) = line.split_once(' ') {
                    m.lock().unwrap().push((t.to_string(), p.to_string()));
                }
            }
        });
        let sub = Sub { child, msgs };
        // Subscribed once a probe comes back.
        let t = Instant::now();
        loop {
            let _ = Command::new("mosquitto_pub")
                .args(["-h", "127.0.0.1", "-p", &broker.port.to_string()])
                .args(["-t", &format!("{prefix}/probe"), "-m", "probe", "-q", "1"])
                .status();
            std::thread::sleep(Duration::from_millis(100));
            if sub.count(|t, _| t.ends_with("/probe")) > 0 {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(10), "no subscription");
        }
        sub
    }

    fn count(&self, f: impl Fn(&str, &str) -> bool) -> usize {
        self.msgs
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, p)| f(t, p))
            .count()
    }

    fn all(&self) -> Vec<(String, String)> {
        self.msgs.lock().unwrap().clone()
    }
}

impl Drop for Sub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One retained message of `topic` (what a consumer that subscribes now
/// sees).
fn retained(broker: &Broker, topic: &str) -> Value {
    let out = Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &broker.port.to_string()])
        .args(["-t", topic, "-C", "1", "-W", "5", "--retained-only"])
        .output()
        .expect("mosquitto_sub");
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("retained {topic}: {e}: {text:?}"))
}

/// A final event in the database: seq, key, synced.
type DbEvent = (i64, String, bool);

/// The final events of each stream in the database.
fn db_events(db: &Path) -> BTreeMap<String, Vec<DbEvent>> {
    let c = Connection::open(db).unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    let mut out: BTreeMap<String, Vec<DbEvent>> = BTreeMap::new();
    for table in ["tracks", "counts", "system_events"] {
        let mut st = c
            .prepare(&format!(
                "SELECT stream_id, seq, key, synced FROM {table} WHERE seq IS NOT NULL"
            ))
            .unwrap();
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)? == 1,
                ))
            })
            .unwrap();
        for r in rows {
            let (s, seq, key, synced) = r.unwrap();
            out.entry(s).or_default().push((seq, key, synced));
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

/// Event messages (not status, probe, detections) under `prefix`, checked:
/// topic `prefix/STREAM/KIND` matches the payload; a key seen twice has the
/// same payload. Returns stream → keys in order of first arrival, and the
/// number of duplicates.
fn received_events(msgs: &[(String, String)], prefix: &str) -> (BTreeMap<String, Vec<i64>>, usize) {
    let mut first: HashMap<String, String> = HashMap::new();
    let mut order: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut dups = 0;
    for (topic, payload) in msgs {
        let Some(rest) = topic.strip_prefix(&format!("{prefix}/")) else {
            continue;
        };
        let Some((stream, kind)) = rest.split_once('/') else {
            continue;
        };
        if !["tracks", "counts", "system"].contains(&kind) {
            continue;
        }
        let v: Value = serde_json::from_str(payload).unwrap();
        let key = v["key"]
            .as_str()
            .expect("every event has a key")
            .to_string();
        assert_eq!(v["stream_id"], stream, "{topic}: {payload}");
        let want_kind = match v["type"].as_str().unwrap() {
            "track" => "tracks",
            "count" => "counts",
            "system" => "system",
            t => panic!("unknown type {t}"),
        };
        assert_eq!(kind, want_kind, "{topic}: {payload}");
        let seq = v["seq"].as_i64().unwrap();
        assert!(key.ends_with(&format!(":{stream}:{seq}")), "{key}");
        match first.get(&key) {
            Some(p) => {
                assert_eq!(p, payload, "a repeated key carries the same event");
                dups += 1;
            }
            None => {
                first.insert(key, payload.clone());
                order.entry(stream.to_string()).or_default().push(seq);
            }
        }
    }
    (order, dups)
}

/// Waits until every final event of the database arrived, then checks
/// order and synced flags. Returns the number of duplicates.
fn assert_all_delivered(sub: &Sub, db: &Path, prefix: &str, streams: &[&str]) -> usize {
    let t = Instant::now();
    loop {
        let want = db_events(db);
        let (got, dups) = received_events(&sub.all(), prefix);
        let complete = streams.iter().all(|s| {
            let w: Vec<i64> = want
                .get(*s)
                .map(|v| v.iter().map(|e| e.0).collect())
                .unwrap_or_default();
            !w.is_empty() && got.get(*s).map(|g| g.len()) == Some(w.len())
        });
        if complete {
            for s in streams {
                let w = &want[*s];
                let g = &got[*s];
                // In order per stream (first arrivals), no gap, nothing else.
                assert_eq!(
                    g,
                    &w.iter().map(|e| e.0).collect::<Vec<_>>(),
                    "stream {s}: first arrivals in seq order"
                );
                assert_eq!(
                    w.iter().map(|e| e.0).collect::<Vec<_>>(),
                    (1..=w.len() as i64).collect::<Vec<_>>()
                );
                let t2 = Instant::now();
                // Marked synced (the final mark may trail the PUBACK).
                while db_events(db)[*s].iter().any(|e| !e.2) {
                    assert!(
                        t2.elapsed() < Duration::from_secs(10),
                        "stream {s}: rows delivered but not marked synced"
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            return dups;
        }
        assert!(
            t.elapsed() < WAIT,
            "not every event arrived within {WAIT:?}: database {:?}, received {:?}",
            want.iter()
                .map(|(k, v)| (k.clone(), v.len()))
                .collect::<Vec<_>>(),
            got.iter()
                .map(|(k, v)| (k.clone(), v.len()))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn tiny_model() -> PathBuf {
    test_models_dir().join("yolox_tiny.onnx")
}

#[test]
fn vtest_events_of_two_streams_arrive_once_per_key_in_order() {
    let mut broker = Broker::new("mqtt-two", "allow_anonymous true\n", None);
    broker.start();
    let sub = Sub::new(&broker, "ev");
    let dir = temp_dir("mqtt-two-db");
    let db = dir.join("events.db");
    let video = shared("media/vtest.avi");
    let threads: Vec<_> = ["door", "hall"]
        .into_iter()
        .map(|stream| {
            let desc = format!(
                "filesrc location={} ! decodebin ! videoconvert ! edgedetect model={} ! edgetrack ! \
                 edgeevents location={} stream-id={stream} count-interval=1 sync-interval=100 \
                 batch-size=50 sync-url={} ! fakesink",
                video.display(),
                tiny_model().display(),
                db.display(),
                broker.url("ev")
            );
            std::thread::spawn(move || run_pipeline(&desc, Duration::from_secs(300)))
        })
        .collect();
    for t in threads {
        t.join().unwrap().expect("vtest pipeline");
    }
    let dups = assert_all_delivered(&sub, &db, "ev", &["door", "hall"]);
    let events = db_events(&db);
    // 795 frames at 10 fps: 80 one-second windows × 2 labels, tracks, start
    // and stop, per stream.
    for s in ["door", "hall"] {
        assert!(events[s].len() > 160, "{s}: {}", events[s].len());
    }
    eprintln!(
        "delivered {} + {} events, {dups} duplicates",
        events["door"].len(),
        events["hall"].len()
    );
}

/// A live pipeline whose sink records when each buffer arrives.
struct Live {
    pipeline: gst::Pipeline,
    times: Arc<Mutex<Vec<Instant>>>,
}

fn live(desc_mid: &str, buffers: Option<u32>) -> Live {
    init();
    let desc = format!(
        "videotestsrc is-live=true {} ! video/x-raw,width=64,height=64,framerate=30/1 ! \
         edgedetect model={} ! {desc_mid} ! fakesink name=sink sync=true signal-handoffs=true",
        buffers
            .map(|n| format!("num-buffers={n}"))
            .unwrap_or_default(),
        tiny_model().display()
    );
    let pipeline = gst::parse::launch(&desc)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let times: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let t = times.clone();
    pipeline
        .by_name("sink")
        .unwrap()
        .connect("handoff", false, move |_| {
            t.lock().unwrap().push(Instant::now());
            None
        });
    pipeline.set_state(gst::State::Playing).unwrap();
    Live { pipeline, times }
}

impl Live {
    /// Buffers per second at the sink between two instants (from 0.5 s
    /// after the first buffer at the earliest: a live pipeline starts with
    /// a burst).
    fn rate(&self, from: Instant, to: Instant) -> f64 {
        let times = self.times.lock().unwrap();
        let from = times
            .first()
            .map_or(from, |f| from.max(*f + Duration::from_millis(500)));
        let n = times.iter().filter(|t| **t >= from && **t < to).count();
        n as f64 / (to - from).as_secs_f64()
    }

    fn max_gap(&self) -> Duration {
        let t = self.times.lock().unwrap();
        t.windows(2).map(|w| w[1] - w[0]).max().unwrap_or_default()
    }

    /// EOS (when `send`), then waits for it; returns the warnings posted.
    fn finish(self, send: bool) -> Vec<String> {
        if send {
            self.pipeline.send_event(gst::event::Eos::new());
        }
        let bus = self.pipeline.bus().unwrap();
        let mut warnings = vec![];
        loop {
            let msg = bus
                .timed_pop(gst::ClockTime::from_seconds(60))
                .expect("EOS within 60 s");
            match msg.view() {
                gst::MessageView::Eos(_) => break,
                gst::MessageView::Error(e) => panic!("{} ({:?})", e.error(), e.debug()),
                gst::MessageView::Warning(w) => {
                    warnings.push(format!("{} ({:?})", w.error(), w.debug()))
                }
                _ => {}
            }
        }
        self.pipeline.set_state(gst::State::Null).unwrap();
        while let Some(msg) = bus.pop() {
            if let gst::MessageView::Warning(w) = msg.view() {
                warnings.push(format!("{} ({:?})", w.error(), w.debug()));
            }
        }
        warnings
    }
}

#[test]
fn broker_down_for_10s_loses_nothing_and_never_stalls() {
    let mut broker = Broker::new("mqtt-outage", "allow_anonymous true\n", None);
    broker.start();
    let sub = Sub::new(&broker, "out");
    let db = temp_dir("mqtt-outage-db").join("events.db");
    let p = live(
        &format!(
            "edgeevents location={} stream-id=cam count-interval=1 sync-interval=100 sync-url={}",
            db.display(),
            broker.url("out")
        ),
        None,
    );
    let t0 = Instant::now();
    // Events flow: at least two windows delivered.
    while sub.count(|t, _| t.ends_with("/counts")) < 4 {
        assert!(t0.elapsed() < WAIT, "no counts delivered");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    let down = Instant::now();
    broker.stop();
    std::thread::sleep(Duration::from_secs(10));
    let up = Instant::now();
    broker.start();
    std::thread::sleep(Duration::from_secs(2));
    let before = p.rate(t0 + Duration::from_millis(500), down);
    let during = p.rate(down, up);
    let gap = p.max_gap();
    let warnings = p.finish(true);
    let dups = assert_all_delivered(&sub, &db, "out", &["cam"]);
    eprintln!(
        "rate before {before:.2}/s, during the outage {during:.2}/s, longest gap {gap:?}, {dups} duplicates"
    );
    assert!(
        (during / before - 1.0).abs() < 0.05,
        "the output rate changed during the outage: {before:.2}/s before, {during:.2}/s during"
    );
    assert!(gap < Duration::from_millis(500), "a gap of {gap:?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("cannot sync events to mqtt://127.0.0.1")),
        "{warnings:?}"
    );
    // Windows of the outage were delivered too: one per second, no gap.
    let c = Connection::open(&db).unwrap();
    let windows: Vec<i64> = c
        .prepare("SELECT DISTINCT start_rt / 1000000000 FROM counts ORDER BY 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(windows.len() >= 14, "{windows:?}");
    assert_eq!(windows, (0..windows.len() as i64).collect::<Vec<_>>());
}

fn child_args(db: &Path, url: &str, live: bool, buffers: u32) -> Vec<String> {
    format!(
        "videotestsrc is-live={live} num-buffers={buffers} ! video/x-raw,width=64,height=64,framerate=30/1 \
         ! edgedetect model={} ! edgeevents location={} stream-id=child count-interval=1 \
         sync-interval=100 sync-url={url} ! fakesink",
        tiny_model().display(),
        db.display()
    )
    .split_whitespace()
    .map(String::from)
    .collect()
}

fn plugin_env(cmd: &mut Command) -> &mut Command {
    gst_child_env(cmd, "mqtt-test-registry.bin")
}

#[test]
fn events_stored_before_a_sigkill_while_the_broker_was_down_are_delivered() {
    let mut broker = Broker::new("mqtt-kill", "allow_anonymous true\n", None);
    let db = temp_dir("mqtt-kill-db").join("events.db");
    let url = broker.url("kill");
    let mut child = plugin_env(&mut Command::new("gst-launch-1.0"))
        .args(child_args(&db, &url, true, 100_000))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gst-launch-1.0");
    let t = Instant::now();
    loop {
        let n = Connection::open(&db)
            .ok()
            .and_then(|c| {
                c.busy_timeout(Duration::from_secs(5)).ok()?;
                c.query_row("SELECT count(*) FROM counts", [], |r| r.get::<_, i64>(0))
                    .ok()
            })
            .unwrap_or(0);
        if n >= 6 {
            break;
        }
        assert!(t.elapsed() < WAIT, "no counts committed");
        assert!(child.try_wait().unwrap().is_none(), "the child ended");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = db_events(&db)["child"].clone();
    assert!(
        before.iter().all(|e| !e.2),
        "nothing synced without a broker"
    );
    broker.start();
    let sub = Sub::new(&broker, "kill");
    let out = plugin_env(&mut Command::new("gst-launch-1.0"))
        .args(child_args(&db, &url, false, 30))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_all_delivered(&sub, &db, "kill", &["child"]);
    let (got, _) = received_events(&sub.all(), "kill");
    for (seq, _, _) in &before {
        assert!(got["child"].contains(seq), "event {seq} of the killed run");
    }
}

/// A short live run against `url`: the warnings, the longest gap at the
/// sink, and the database's events.
fn short_run(
    url: &str,
    extra: &str,
    name: &str,
) -> (Vec<String>, Duration, Vec<DbEvent>, Duration) {
    let db = temp_dir(name).join("events.db");
    let t = Instant::now();
    let p = live(
        &format!(
            "edgeevents location={} stream-id=s count-interval=1 sync-interval=100 sync-url={url} {extra}",
            db.display()
        ),
        Some(45),
    );
    let gap_check = p.times.clone();
    let warnings = p.finish(false);
    let took = t.elapsed();
    let gap = gap_check
        .lock()
        .unwrap()
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    assert_eq!(gap_check.lock().unwrap().len(), 45);
    (warnings, gap, db_events(&db).remove("s").unwrap(), took)
}

fn openssl(dir: &Path, args: &str) {
    let out = Command::new("openssl")
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
        .expect("openssl (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 signed by it, and another CA.
fn certificates() -> PathBuf {
    let dir = temp_dir("mqtt-certs");
    let key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    openssl(
        &dir,
        &format!("req -x509 {key} -keyout ca.key -out ca.pem -days 2 -subj /CN=edgeai-test-ca"),
    );
    openssl(
        &dir,
        &format!("req -x509 {key} -keyout other.key -out other.pem -days 2 -subj /CN=other-ca"),
    );
    openssl(
        &dir,
        &format!("req {key} -keyout server.key -out server.csr -subj /CN=127.0.0.1"),
    );
    std::fs::write(
        dir.join("ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(
        &dir,
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext",
    );
    dir
}

#[test]
fn bad_credentials_refused_certificate_and_unknown_host_warn_and_keep_events() {
    need("mosquitto_passwd");
    let certs = certificates();
    let mut broker = Broker::new("mqtt-auth", "", Some(&certs));
    let pw = broker.dir.join("passwd");
    let st = Command::new("mosquitto_passwd")
        .args(["-b", "-c"])
        .arg(&pw)
        .args(["edge", "s3cret"])
        .status()
        .unwrap();
    assert!(st.success());
    let mut conf = std::fs::read_to_string(&broker.conf).unwrap();
    conf.push_str(&format!(
        "allow_anonymous false\npassword_file {}\n",
        pw.display()
    ));
    std::fs::write(&broker.conf, conf).unwrap();
    broker.start();
    let port = broker.port;
    let tls_port = broker.tls_port.unwrap();

    let cases: Vec<(String, String, &str)> = vec![
        (
            format!("mqtt://edge:wrong-pw@127.0.0.1:{port}/a"),
            String::new(),
            // Mosquitto answers "not authorised" to a wrong password.
            "refused the user name, password or client certificate",
        ),
        (
            format!("mqtts://127.0.0.1:{tls_port}/a"),
            format!(
                "sync-username=edge sync-password=s3cret sync-ca-file={}/other.pem",
                certs.display()
            ),
            "TLS failed",
        ),
        (
            "mqtt://no-such-host.invalid:1883/a".to_string(),
            String::new(),
            "cannot resolve the host name",
        ),
    ];
    for (i, (url, extra, want)) in cases.iter().enumerate() {
        let (warnings, gap, events, took) = short_run(url, extra, &format!("mqtt-bad-{i}"));
        eprintln!("{url}: {warnings:?}, gap {gap:?}, {took:?}");
        assert!(
            warnings.iter().any(|w| w.contains(want)),
            "{url}: no warning with {want:?} in {warnings:?}"
        );
        assert!(
            warnings
                .iter()
                .all(|w| !w.contains("wrong-pw") && !w.contains("s3cret")),
            "a password in a warning: {warnings:?}"
        );
        assert!(gap < Duration::from_millis(500), "{url}: a gap of {gap:?}");
        // start, 2 windows × 2 labels, stop: kept, none synced.
        assert_eq!(events.len(), 6, "{events:?}");
        assert!(events.iter().all(|e| !e.2), "{url}: {events:?}");
    }

    // The right password (from the properties) and the right CA deliver.
    let sub = {
        let mut s = Command::new("mosquitto_sub");
        s.args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-u",
            "edge",
            "-P",
            "s3cret",
        ]);
        s.args(["-t", "ok/#", "-v", "-q", "1"]);
        s.stdout(Stdio::piped()).stderr(Stdio::null());
        s.spawn().unwrap()
    };
    std::thread::sleep(Duration::from_millis(500));
    let (warnings, _, events, _) = short_run(
        &format!("mqtts://127.0.0.1:{tls_port}/ok"),
        &format!(
            "sync-username=edge sync-password=s3cret sync-ca-file={}/ca.pem",
            certs.display()
        ),
        "mqtt-good",
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    let t = Instant::now();
    let mut sub = sub;
    let out = sub.stdout.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let l2 = lines.clone();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            l2.lock().unwrap().push(l);
        }
    });
    while lines.lock().unwrap().len() < events.len() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{:?}",
            lines.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = sub.kill();
    let _ = sub.wait();
    let keys: BTreeSet<String> = lines
        .lock()
        .unwrap()
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l.split_once(' ').unwrap().1).unwrap();
            v["key"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(keys, events.iter().map(|e| e.1.clone()).collect());
}

#[test]
fn live_detections_drop_under_a_stalled_broker_and_report_it() {
    let mut broker = Broker::new("mqtt-live", "allow_anonymous true\n", None);
    broker.start();
    let sub = Sub::new(&broker, "lv");
    let jsonl = temp_dir("mqtt-live-json").join("out.jsonl");
    let p = live(
        &format!(
            "edgemqtt name=m url={} stream-id=cam qos=1 queue-size=4 ! edgejson location={}",
            broker.url("lv"),
            jsonl.display()
        ),
        None,
    );
    let t0 = Instant::now();
    while sub.count(|t, _| t == "lv/cam/detections") < 10 {
        assert!(t0.elapsed() < WAIT, "no detections");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(2));
    let stalled = Instant::now();
    broker.signal(libc::SIGSTOP);
    std::thread::sleep(Duration::from_secs(3));
    let resumed = Instant::now();
    broker.signal(libc::SIGCONT);
    std::thread::sleep(Duration::from_secs(2));
    let before = p.rate(t0, stalled);
    let during = p.rate(stalled, resumed);
    let gap = p.max_gap();
    let m = p.pipeline.by_name("m").unwrap();
    let warnings = p.finish(true);
    let dropped = m.property::<u64>("dropped");
    eprintln!(
        "rate {before:.2}/s before, {during:.2}/s while stalled, gap {gap:?}, {dropped} dropped"
    );
    assert!(dropped > 0, "nothing dropped while the broker was stalled");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("dropping live messages")),
        "{warnings:?}"
    );
    assert!(
        (during / before - 1.0).abs() < 0.05,
        "rate {before:.2}/s before, {during:.2}/s while stalled"
    );
    assert!(gap < Duration::from_millis(500), "a gap of {gap:?}");
    // Each message is edgejson's line for that frame, byte for byte.
    let lines: Vec<String> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let got: Vec<String> = sub
        .all()
        .into_iter()
        .filter(|(t, _)| t == "lv/cam/detections")
        .map(|(_, p)| p)
        .collect();
    assert!(got.len() + dropped as usize <= lines.len());
    assert!(got.len() >= 10);
    for g in &got {
        let v: Value = serde_json::from_str(g).unwrap();
        let f = v["frame"].as_u64().unwrap() as usize;
        assert_eq!(g, &lines[f], "frame {f}");
        assert_eq!(v["objects"].as_array().unwrap().len(), 2);
    }
    let status = retained(&broker, "lv/cam/status");
    assert_eq!(status["state"], "stopped", "{status}");
    assert_eq!(status["reason"], "end of stream");
    assert_eq!(status["dropped"], dropped, "{status}");
    assert_eq!(status["frames"], lines.len(), "{status}");
}

#[test]
fn last_will_marks_a_killed_pipeline_offline() {
    let mut broker = Broker::new("mqtt-will", "allow_anonymous true\n", None);
    broker.start();
    let desc: Vec<String> = format!(
        "videotestsrc is-live=true ! video/x-raw,width=64,height=64,framerate=30/1 ! \
         edgemqtt url={} stream-id=cam ! fakesink",
        broker.url("will")
    )
    .split_whitespace()
    .map(String::from)
    .collect();
    let mut child = plugin_env(&mut Command::new("gst-launch-1.0"))
        .args(desc)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    loop {
        let out = Command::new("mosquitto_sub")
            .args(["-h", "127.0.0.1", "-p", &broker.port.to_string()])
            .args([
                "-t",
                "will/cam/status",
                "-C",
                "1",
                "-W",
                "1",
                "--retained-only",
            ])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).contains("\"running\"") {
            break;
        }
        assert!(t.elapsed() < WAIT, "no running status");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let t = Instant::now();
    loop {
        let s = retained(&broker, "will/cam/status");
        if s["state"] == "offline" {
            assert_eq!(s["stream_id"], "cam");
            break;
        }
        assert_eq!(s["state"], "running");
        assert!(t.elapsed() < Duration::from_secs(30), "no last will");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn edgeai_run_publishes_its_stats_snapshot() {
    let mut broker = Broker::new("mqtt-run", "allow_anonymous true\n", None);
    broker.start();
    let sub = Sub::new(&broker, "er");
    let out = Command::new(env!("CARGO_BIN_EXE_edgeai-run"))
        .args(["--stats-interval", "500ms", "--stats-mqtt", &broker.url("er")])
        .arg("videotestsrc is-live=true num-buffers=45 ! video/x-raw,framerate=30/1 ! fakesink sync=true")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_millis(300));
    let stats: Vec<Value> = sub
        .all()
        .iter()
        .filter(|(t, _)| t == "er/stats")
        .map(|(_, p)| serde_json::from_str(p).unwrap())
        .collect();
    assert!(!stats.is_empty(), "{:?}", sub.all());
    // The same JSON as GET /stats: the snapshot's fields.
    let want: Value =
        serde_json::from_str(&gstedgeai::runner::stats::Snapshot::default().to_json()).unwrap();
    let keys = |v: &Value| {
        v.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(keys(&stats[0]), keys(&want));
    assert_eq!(stats[0]["state"], "running");
    let status = retained(&broker, "er/status");
    assert_eq!(status["state"], "stopped", "{status}");
    assert_eq!(status["exit_status"], 0);
}
