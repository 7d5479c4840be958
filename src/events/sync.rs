// SPDX-License-Identifier: MPL-2.0
//! Batched upstream sync: a background thread sends the stream's final rows
//! not yet synced, oldest first, through a [`Transport`] (HTTP here: JSON
//! batches posted to an endpoint; MQTT in [`super::sync_mqtt`]: one QoS 1
//! message per event), and marks them synced only once the receiver
//! acknowledged all of them (a 2xx answer, every PUBACK). On a failure it
//! waits `interval · 2^(failures-1)` (±10 %, at most
//! `max_backoff`) and sends the same rows again: at-least-once delivery,
//! and every event carries a `key` that stays the same on every attempt, so
//! the receiver de-duplicates on it.
//!
//! The batch (`Content-Type: application/json`, header `Idempotency-Key`:
//! the first and last event keys joined by `..`):
//!
//! ```json
//! {"database_id": "9f2c...", "stream_id": "cam1",
//!  "events": [{"key": "9f2c...:cam1:41", "seq": 41, "type": "track", ...}, ...]}
//! ```

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::store::{Outgoing, Store};

/// Time limit of one HTTP request (connect, send, answer).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq)]
pub struct SyncConfig {
    pub batch_size: usize,
    pub interval: Duration,
    pub max_backoff: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SyncReport {
    /// The first failure of a streak (network down, non-2xx answer, or the
    /// database could not be read).
    Failing(String),
    /// A batch went through after `failures` failed attempts.
    Recovered { failures: u32 },
    /// A batch of `rows` events was delivered.
    Sent { rows: usize },
}

pub type SyncReporter = Arc<dyn Fn(SyncReport) + Send + Sync>;

/// Why a post failed.
#[derive(Debug, Clone, PartialEq)]
pub enum PostError {
    Status(u16),
    Network(String),
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PostError::Status(s) => write!(f, "the server answered HTTP {s}"),
            PostError::Network(e) => write!(f, "{e}"),
        }
    }
}

/// Where the sync thread sends the rows: one attempt per batch.
pub trait Transport: Send {
    /// Delivers `rows` (oldest first); `Ok` only when the receiver
    /// acknowledged every one of them. On `Err` the same rows (and maybe
    /// more) come again later: the receiver may see some twice.
    fn send(
        &mut self,
        database_id: &str,
        stream_id: &str,
        rows: &[Outgoing],
    ) -> Result<(), PostError>;
}

/// JSON batches posted to an HTTP endpoint.
pub struct HttpTransport {
    agent: ureq::Agent,
    url: String,
}

impl HttpTransport {
    pub fn new(url: String) -> HttpTransport {
        HttpTransport {
            agent: agent(),
            url,
        }
    }
}

impl Transport for HttpTransport {
    fn send(
        &mut self,
        database_id: &str,
        stream_id: &str,
        rows: &[Outgoing],
    ) -> Result<(), PostError> {
        let body = batch_body(database_id, stream_id, rows);
        let key = match (rows.first(), rows.last()) {
            (Some(a), Some(b)) => format!(
                "{}..{}",
                a.event["key"].as_str().unwrap_or(""),
                b.event["key"].as_str().unwrap_or("")
            ),
            _ => return Ok(()),
        };
        post(&self.agent, &self.url, &body, &key)
    }
}

/// Checks a `sync-url` before anything starts.
pub fn validate_url(url: &str) -> Result<(), String> {
    if crate::mqtt::is_mqtt_url(url) {
        return crate::mqtt::BrokerUrl::parse(url).map(|_| ());
    }
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("http://") {
        return Ok(());
    }
    if lower.starts_with("https://") {
        return if cfg!(feature = "tls") {
            Ok(())
        } else {
            Err(format!(
                "sync-url {url}: this build has no TLS; use an http:// URL or build the plugin with the `tls` cargo feature"
            ))
        };
    }
    Err(format!(
        "sync-url {}: not an http://, https://, mqtt:// or mqtts:// URL",
        crate::mqtt::redact(url)
    ))
}

/// The JSON body of one batch.
pub fn batch_body(database_id: &str, stream_id: &str, rows: &[Outgoing]) -> String {
    json!({
        "database_id": database_id,
        "stream_id": stream_id,
        "events": rows.iter().map(|r| &r.event).collect::<Vec<_>>(),
    })
    .to_string()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(REQUEST_TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into()
}

/// Posts one body; `Ok` only for a 2xx answer.
pub fn post(agent: &ureq::Agent, url: &str, body: &str, key: &str) -> Result<(), PostError> {
    let response = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("Idempotency-Key", key)
        .send(body)
        .map_err(|e| PostError::Network(format!("cannot post to {url}: {e}")))?;
    let status = response.status().as_u16();
    // Read the answer so that the connection can be reused.
    let _ = response.into_body().read_to_vec();
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(PostError::Status(status))
    }
}

/// The delay before attempt `failures + 1`.
pub fn backoff(interval: Duration, failures: u32, max: Duration, jitter: f64) -> Duration {
    let exp = 2f64.powi(failures.saturating_sub(1).min(30) as i32);
    let d = interval.as_secs_f64() * exp * jitter;
    Duration::from_secs_f64(d.min(max.as_secs_f64()).max(0.0))
}

fn jitter() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    0.9 + 0.2 * f64::from(nanos % 1000) / 1000.0
}

/// Pause between attempts of the final pass when the receiver fails.
const FINAL_RETRY: Duration = Duration::from_millis(100);

#[derive(Debug, Default)]
struct Control {
    stop: bool,
    final_pass: bool,
    poke: bool,
}

#[derive(Debug, Default)]
struct Shared {
    control: Mutex<Control>,
    wake: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

enum Wake {
    Stop,
    Final,
    Go,
}

impl Shared {
    fn wait(&self, d: Duration, pokes: bool) -> Wake {
        let deadline = Instant::now() + d;
        let mut c = lock(&self.control);
        loop {
            if c.stop {
                return Wake::Stop;
            }
            if c.final_pass {
                return Wake::Final;
            }
            if c.poke {
                c.poke = false;
                if pokes {
                    return Wake::Go;
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Wake::Go;
            }
            c = match self.wake.wait_timeout(c, deadline - now) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }

    fn stopping(&self) -> bool {
        lock(&self.control).stop
    }
}

/// Wakes the sync thread (cheap, never blocks for long).
#[derive(Clone)]
pub struct Poker(Arc<Shared>);

impl Poker {
    pub fn poke(&self) {
        lock(&self.0.control).poke = true;
        self.0.wake.notify_all();
    }
}

/// The sync thread of one run.
pub struct Syncer {
    shared: Arc<Shared>,
    handle: Option<JoinHandle<()>>,
    done: Receiver<()>,
}

impl Syncer {
    /// Starts syncing `store`'s stream.
    pub fn spawn(
        store: Store,
        cfg: SyncConfig,
        transport: Box<dyn Transport>,
        report: SyncReporter,
    ) -> std::io::Result<Syncer> {
        let shared = Arc::new(Shared::default());
        let (done_tx, done) = channel();
        let s2 = shared.clone();
        let handle = std::thread::Builder::new()
            .name("edgeevents-sync".into())
            .spawn(move || run(store, cfg, transport, report, s2, done_tx))?;
        Ok(Syncer {
            shared,
            handle: Some(handle),
            done,
        })
    }

    /// Syncs now, unless backing off after a failure.
    pub fn poke(&self) {
        self.poker().poke();
    }

    /// A handle that pokes this thread (see [`Syncer::poke`]).
    pub fn poker(&self) -> Poker {
        Poker(self.shared.clone())
    }

    /// Makes one last attempt to send what is pending and waits for it at
    /// most `wait`; past that the thread is left to finish its request on
    /// its own (at most [`REQUEST_TIMEOUT`]).
    pub fn stop(mut self, wait: Duration) {
        lock(&self.shared.control).final_pass = true;
        self.shared.wake.notify_all();
        let finished = matches!(
            self.done.recv_timeout(wait),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) | Ok(())
        );
        lock(&self.shared.control).stop = true;
        self.shared.wake.notify_all();
        if finished && let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn run(
    mut store: Store,
    cfg: SyncConfig,
    mut transport: Box<dyn Transport>,
    report: SyncReporter,
    shared: Arc<Shared>,
    _done: Sender<()>,
) {
    let mut failures = 0u32;
    loop {
        let wait = if failures == 0 {
            cfg.interval
        } else {
            backoff(cfg.interval, failures, cfg.max_backoff, jitter())
        };
        let final_pass = match shared.wait(wait, failures == 0) {
            Wake::Stop => return,
            Wake::Final => true,
            Wake::Go => false,
        };
        loop {
            if shared.stopping() {
                return;
            }
            let rows = match store.unsynced(cfg.batch_size.max(1)) {
                Ok(rows) => rows,
                Err(e) => {
                    fail(&report, &mut failures, e.message);
                    break;
                }
            };
            if rows.is_empty() {
                break;
            }
            match transport.send(store.database_id(), store.stream_id(), &rows) {
                Ok(()) => {
                    let ids: Vec<_> = rows.iter().map(|r| (r.table, r.id)).collect();
                    if let Err(e) = store.mark_synced(&ids) {
                        // Delivered but not marked: sent again later, the
                        // receiver de-duplicates.
                        fail(&report, &mut failures, e.message);
                        break;
                    }
                    if failures > 0 {
                        report(SyncReport::Recovered { failures });
                        failures = 0;
                    }
                    report(SyncReport::Sent { rows: rows.len() });
                }
                Err(e) => {
                    fail(&report, &mut failures, e.to_string());
                    if final_pass {
                        // Stopping: keep trying within the time stop() allows
                        // (it sets `stop` when that runs out) instead of
                        // leaving the rows for the next run.
                        std::thread::sleep(FINAL_RETRY);
                        continue;
                    }
                    break;
                }
            }
        }
        if final_pass {
            return;
        }
    }
}

fn fail(report: &SyncReporter, failures: &mut u32, message: String) {
    if *failures == 0 {
        report(SyncReport::Failing(message));
    }
    *failures = failures.saturating_add(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let i = Duration::from_millis(500);
        let max = Duration::from_secs(5);
        let got: Vec<u128> = (1..=6)
            .map(|f| backoff(i, f, max, 1.0).as_millis())
            .collect();
        assert_eq!(got, vec![500, 1000, 2000, 4000, 5000, 5000]);
        assert_eq!(backoff(i, 1, max, 0.9).as_millis(), 450);
        assert_eq!(backoff(i, u32::MAX, max, 1.0), max);
    }

    #[test]
    fn urls() {
        assert!(validate_url("http://127.0.0.1:8080/events").is_ok());
        assert!(validate_url("HTTP://host/x").is_ok());
        assert!(
            validate_url("ftp://host/x")
                .unwrap_err()
                .contains("not an http://")
        );
        assert_eq!(
            validate_url("https://host/x").is_ok(),
            cfg!(feature = "tls")
        );
    }

    #[test]
    fn unreachable_server_is_a_network_error() {
        // A port nobody listens on (bound then released) on loopback.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = post(&agent(), &format!("http://127.0.0.1:{port}/"), "{}", "k").unwrap_err();
        assert!(matches!(e, PostError::Network(_)), "{e:?}");
    }
}
