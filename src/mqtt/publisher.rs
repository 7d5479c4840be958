// SPDX-License-Identifier: MPL-2.0
//! A publisher that never blocks its caller: messages go into a bounded
//! queue that a background thread (the `rumqttc` event loop) drains; when
//! the queue is full (the broker is slow, unreachable or reconnecting) the
//! message is dropped and counted. A retained status topic says `running`
//! on every connection, a last will (retained too) says `offline` when the
//! connection dies without a goodbye, and [`Publisher::stop`] publishes the
//! final status before disconnecting cleanly.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rumqttc::{Client, Event, LastWill, Outgoing, Packet, QoS};

use super::{BrokerConfig, describe};

/// What the publisher tells its owner (from its own thread).
#[derive(Debug, Clone, PartialEq)]
pub enum PublisherReport {
    /// Connected (again): the status topic says `running`.
    Connected,
    /// The first failure of a streak (connection refused, lost, TLS...).
    Failing(String),
}

pub type PublisherReporter = Arc<dyn Fn(PublisherReport) + Send + Sync>;

/// Longest wait between two connection attempts.
const MAX_RETRY: Duration = Duration::from_secs(30);

struct Shared {
    stop: AtomicBool,
    published: AtomicU64,
    dropped: AtomicU64,
    /// The JSON the status topic gets on each connection.
    running_status: Mutex<String>,
    last_error: Mutex<Option<String>>,
}

pub struct Publisher {
    client: Client,
    status_topic: String,
    shared: Arc<Shared>,
    handle: Option<JoinHandle<()>>,
    done: Receiver<()>,
}

/// `{"state": ..., ...extra}` as a string.
pub fn status_json(state: &str, extra: serde_json::Value) -> String {
    let mut v = serde_json::json!({ "state": state });
    if let (Some(m), serde_json::Value::Object(e)) = (v.as_object_mut(), extra) {
        m.extend(e);
    }
    v.to_string()
}

impl Publisher {
    /// Starts the connection thread. `queue` is how many messages may wait
    /// for the network before new ones are dropped. `will` is the payload
    /// the broker publishes (retained) on `status_topic` when the
    /// connection dies; `running` the one published on each connection.
    pub fn start(
        cfg: &BrokerConfig,
        status_topic: String,
        running: String,
        will: String,
        queue: usize,
        report: PublisherReporter,
    ) -> Result<Publisher, String> {
        let mut opts = cfg.options(Some(LastWill::new(
            status_topic.clone(),
            will,
            QoS::AtLeastOnce,
            true,
        )))?;
        // QoS 1 and 2 messages waiting for their acknowledgement count
        // against the queue too: a broker that stops acknowledging makes
        // new messages drop instead of piling up.
        opts.set_inflight(u16::try_from(queue.max(1)).unwrap_or(u16::MAX));
        // +2: room for the status messages.
        let (client, mut connection) = Client::new(opts, queue.max(1) + 2);
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            published: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            running_status: Mutex::new(running),
            last_error: Mutex::new(None),
        });
        let (done_tx, done) = channel::<()>();
        let s = shared.clone();
        let c = client.clone();
        let topic = status_topic.clone();
        let handle = std::thread::Builder::new()
            .name("mqtt-publisher".into())
            .spawn(move || {
                let _done = done_tx;
                let mut failures = 0u32;
                loop {
                    match connection.recv_timeout(Duration::from_millis(200)) {
                        Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                            failures = 0;
                            let mut status = s
                                .running_status
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .clone();
                            let last = s
                                .last_error
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .clone();
                            if let (Some(e), Ok(serde_json::Value::Object(mut m))) =
                                (last, serde_json::from_str(&status))
                            {
                                m.insert("last_error".into(), e.into());
                                status = serde_json::Value::Object(m).to_string();
                            }
                            let _ = c.try_publish(&topic, QoS::AtLeastOnce, true, status);
                            report(PublisherReport::Connected);
                        }
                        Ok(Ok(Event::Outgoing(Outgoing::Publish(_)))) => {
                            s.published.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(Ok(Event::Outgoing(Outgoing::Disconnect))) => return,
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => {
                            let msg = describe(&e);
                            *s.last_error.lock().unwrap_or_else(|e| e.into_inner()) =
                                Some(msg.clone());
                            if failures == 0 {
                                report(PublisherReport::Failing(msg));
                            }
                            failures = failures.saturating_add(1);
                            // 0.5 s, 1 s, 2 s ... 30 s between attempts;
                            // the queue fills meanwhile and drops count.
                            let wait = Duration::from_millis(500)
                                .saturating_mul(1 << failures.min(7).saturating_sub(1))
                                .min(MAX_RETRY);
                            let until = Instant::now() + wait;
                            while Instant::now() < until {
                                if s.stop.load(Ordering::Relaxed) {
                                    return;
                                }
                                std::thread::sleep(Duration::from_millis(50));
                            }
                        }
                        Err(rumqttc::RecvTimeoutError::Timeout) => {}
                        Err(rumqttc::RecvTimeoutError::Disconnected) => return,
                    }
                    if s.stop.load(Ordering::Relaxed) {
                        return;
                    }
                }
            })
            .map_err(|e| format!("cannot start the MQTT thread: {e}"))?;
        Ok(Publisher {
            client,
            status_topic,
            shared,
            handle: Some(handle),
            done,
        })
    }

    /// Queues one message; `false` (and counted as dropped) when the queue
    /// is full. Never blocks.
    pub fn try_publish(&self, topic: &str, qos: QoS, retain: bool, payload: Vec<u8>) -> bool {
        if self.client.try_publish(topic, qos, retain, payload).is_ok() {
            true
        } else {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            false
        }
    }

    /// Messages handed to the network so far.
    pub fn published(&self) -> u64 {
        self.shared.published.load(Ordering::Relaxed)
    }

    /// Messages dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// The latest connection error, if any.
    pub fn last_error(&self) -> Option<String> {
        self.shared
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// What the status topic gets on the next (re)connection.
    pub fn set_running_status(&self, status: String) {
        *self
            .shared
            .running_status
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = status;
    }

    /// Publishes `final_status` (retained) and disconnects cleanly, waiting
    /// at most `wait`; a broker that cannot be reached by then gets nothing
    /// and keeps the last will.
    pub fn stop(mut self, final_status: String, wait: Duration) {
        let _ = self
            .client
            .try_publish(&self.status_topic, QoS::AtLeastOnce, true, final_status);
        let _ = self.client.try_disconnect();
        let finished = matches!(
            self.done.recv_timeout(wait),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) | Ok(())
        );
        self.shared.stop.store(true, Ordering::Relaxed);
        if finished && let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}
