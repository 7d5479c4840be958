// SPDX-License-Identifier: MPL-2.0
//! The statistics over MQTT: at every stats interval the same JSON as
//! `GET /stats` goes to `PREFIX/stats` (QoS 0, retained, so a dashboard that
//! subscribes later sees the latest at once); `PREFIX/status` (retained)
//! says `running` on each connection, `stopped` with the exit status when
//! the runner ends, and `offline` (the last will) when it dies. Publishing
//! never blocks the main loop: a snapshot that finds the queue full is
//! dropped (the next one replaces it anyway).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gstedgeai::mqtt::publisher::{Publisher, PublisherReport, status_json};
use gstedgeai::mqtt::{BrokerConfig, BrokerUrl, redact};
use gstedgeai::runner::StatsMqtt;
use rumqttc::QoS;
use serde_json::json;

use crate::say;

pub struct StatsPublisher {
    publisher: Mutex<Option<Publisher>>,
    topic: String,
}

impl StatsPublisher {
    pub fn start(cfg: &StatsMqtt) -> Result<StatsPublisher, String> {
        let url = BrokerUrl::parse(&cfg.url)?;
        let mut broker = BrokerConfig::new(url, format!("edgeai-run-{}", std::process::id()));
        broker.ca_file = cfg.ca_file.clone();
        broker.cert_file = cfg.cert_file.clone();
        broker.key_file = cfg.key_file.clone();
        let topic = broker.url.topic(&["stats"]);
        let status = broker.url.topic(&["status"]);
        let endpoint = broker.endpoint();
        let ep = endpoint.clone();
        let publisher = Publisher::start(
            &broker,
            status,
            status_json("running", json!({ "pid": std::process::id() })),
            status_json(
                "offline",
                json!({ "reason": "the connection was lost without a goodbye (crash, power cut or network loss)" }),
            ),
            4,
            Arc::new(move |r| match r {
                PublisherReport::Connected => say!("stats MQTT: connected to {ep}"),
                PublisherReport::Failing(e) => {
                    say!("warning: stats MQTT: cannot publish to {ep}: {e}; retrying")
                }
            }),
        )
        .map_err(|e| format!("stats MQTT {}: {e}", redact(&cfg.url)))?;
        say!("stats MQTT: publishing {topic} to {endpoint}");
        Ok(StatsPublisher {
            publisher: Mutex::new(Some(publisher)),
            topic,
        })
    }

    /// Queues one snapshot; never blocks.
    pub fn publish(&self, json: &str) {
        if let Some(p) = self
            .publisher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            p.try_publish(&self.topic, QoS::AtMostOnce, true, json.as_bytes().to_vec());
        }
    }

    /// The final status, then a clean disconnect (at most 2 s).
    pub fn stop(&self, exit_code: i32) {
        let p = self
            .publisher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(p) = p {
            let dropped = p.dropped();
            p.stop(
                status_json(
                    "stopped",
                    json!({ "exit_status": exit_code, "dropped": dropped }),
                ),
                Duration::from_secs(2),
            );
        }
    }
}
