// SPDX-License-Identifier: MPL-2.0
//! The MQTT transport of the sync thread ([`super::sync`]): each event of a
//! batch is one QoS 1 message on `PREFIX/STREAM/KIND` (`tracks`, `counts`,
//! `system`, or the row's own kind for tables added later), its payload the
//! event's JSON (the same object as in an HTTP batch, with its `key`). The
//! batch counts as delivered only when the broker acknowledged every
//! message (one PUBACK each); then the sync loop marks the rows synced.
//!
//! Any failure (connection refused or lost, TLS, time-out) drops the
//! connection; the next attempt opens a fresh one (clean session), so the
//! client never replays messages of its own: a batch that failed is sent
//! again whole by the sync loop, in `seq` order, after every earlier batch
//! was acknowledged. Messages already delivered come again with the same
//! `key` (at-least-once).
//!
//! The sync thread drives the connection itself (`recv_timeout`): no extra
//! thread, and nothing runs between batches. A connection idle for longer
//! than half the keep-alive is closed and reopened rather than trusted.

use std::time::{Duration, Instant};

use rumqttc::{Client, Connection, Event, Packet, QoS, RecvTimeoutError};

use super::store::Outgoing;
use super::sync::{PostError, REQUEST_TIMEOUT, Transport};
use crate::mqtt::{BrokerConfig, describe};

pub struct MqttTransport {
    cfg: BrokerConfig,
    batch_size: usize,
    conn: Option<(Client, Connection)>,
    last_used: Instant,
}

/// The topic level of an event: the plural of its `type` for the tables
/// of schema 2, the type itself for anything else.
pub fn kind_topic(event_type: &str) -> &str {
    match event_type {
        "track" => "tracks",
        "count" => "counts",
        "system" => "system",
        "zone_event" => "zone_events",
        "zone_count" => "zone_counts",
        "" => "events",
        other => other,
    }
}

fn net(e: impl Into<String>) -> PostError {
    PostError::Network(e.into())
}

impl MqttTransport {
    /// Checks the options (and reads the certificate files) now; connects
    /// at the first batch.
    pub fn new(cfg: BrokerConfig, batch_size: usize) -> Result<MqttTransport, String> {
        cfg.options(None)?;
        Ok(MqttTransport {
            cfg,
            batch_size: batch_size.max(1),
            conn: None,
            last_used: Instant::now(),
        })
    }

    fn connect(&mut self) -> Result<(), PostError> {
        let opts = self.cfg.options(None).map_err(net)?;
        let (client, mut connection) = Client::new(opts, self.batch_size + 8);
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(net(format!(
                    "no CONNACK from {} within {}s",
                    self.cfg.endpoint(),
                    REQUEST_TIMEOUT.as_secs()
                )));
            }
            match connection.recv_timeout(left) {
                Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => break,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    return Err(net(format!("{}: {}", self.cfg.endpoint(), describe(&e))));
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(net("the MQTT client closed"));
                }
            }
        }
        self.conn = Some((client, connection));
        Ok(())
    }

    fn publish_all(&mut self, stream_id: &str, rows: &[Outgoing]) -> Result<(), PostError> {
        let endpoint = self.cfg.endpoint();
        let Some((client, connection)) = self.conn.as_mut() else {
            return Err(net("not connected"));
        };
        let mut queued = 0usize;
        let mut acked = 0usize;
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        while acked < rows.len() {
            // Queue what the channel takes; the event loop sends it as the
            // in-flight window (100 by default) frees up.
            while queued < rows.len() {
                let r = &rows[queued];
                let kind = kind_topic(r.event["type"].as_str().unwrap_or(""));
                let topic = self.cfg.url.topic(&[stream_id, kind]);
                let payload = r.event.to_string();
                if client
                    .try_publish(topic, QoS::AtLeastOnce, false, payload)
                    .is_err()
                {
                    break;
                }
                queued += 1;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(net(format!(
                    "{endpoint}: {acked} of {} messages acknowledged within {}s",
                    rows.len(),
                    REQUEST_TIMEOUT.as_secs()
                )));
            }
            match connection.recv_timeout(left.min(Duration::from_secs(1))) {
                Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(net(format!("{endpoint}: {}", describe(&e)))),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Err(net("the MQTT client closed")),
            }
        }
        Ok(())
    }
}

impl Transport for MqttTransport {
    fn send(
        &mut self,
        _database_id: &str,
        stream_id: &str,
        rows: &[Outgoing],
    ) -> Result<(), PostError> {
        if rows.is_empty() {
            return Ok(());
        }
        if self.last_used.elapsed() > self.cfg.keep_alive / 2 {
            // The broker may have dropped an idle connection: start afresh
            // rather than fail once on a dead one.
            self.conn = None;
        }
        if self.conn.is_none() {
            self.connect()?;
        }
        let result = self.publish_all(stream_id, rows);
        self.last_used = Instant::now();
        if result.is_err() {
            self.conn = None;
        }
        result
    }
}

impl Drop for MqttTransport {
    fn drop(&mut self) {
        if let Some((client, mut connection)) = self.conn.take() {
            // A clean goodbye, at most briefly.
            if client.try_disconnect().is_ok() {
                let until = Instant::now() + Duration::from_millis(500);
                while Instant::now() < until {
                    match connection.recv_timeout(Duration::from_millis(100)) {
                        Ok(Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect))) | Ok(Err(_)) => {
                            break;
                        }
                        Err(RecvTimeoutError::Disconnected) => break,
                        _ => {}
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics() {
        assert_eq!(kind_topic("track"), "tracks");
        assert_eq!(kind_topic("count"), "counts");
        assert_eq!(kind_topic("system"), "system");
        assert_eq!(kind_topic("zone"), "zone");
        assert_eq!(kind_topic("zone_event"), "zone_events");
        assert_eq!(kind_topic("zone_count"), "zone_counts");
    }

    #[test]
    fn no_broker_is_a_network_error_naming_the_endpoint() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let url =
            crate::mqtt::BrokerUrl::parse(&format!("mqtt://u:secret@127.0.0.1:{port}/p")).unwrap();
        let mut t = MqttTransport::new(BrokerConfig::new(url, "t".into()), 10).unwrap();
        let row = Outgoing {
            table: super::super::store::Table::Counts,
            id: 1,
            gseq: 1,
            seq: 1,
            event: serde_json::json!({"type": "count", "key": "k"}),
        };
        let e = t.send("db", "s", &[row]).unwrap_err().to_string();
        assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
        assert!(e.contains("connection refused"), "{e}");
        assert!(!e.contains("secret"), "{e}");
    }
}
