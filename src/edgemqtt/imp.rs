// SPDX-License-Identifier: MPL-2.0

use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use rumqttc::QoS;
use serde_json::json;

use crate::edgejson::frame_line;
use crate::mqtt::publisher::{Publisher, PublisherReport, status_json};
use crate::mqtt::{BrokerConfig, BrokerUrl, redact};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "edgemqtt",
        gst::DebugColorFlags::empty(),
        Some("Edge AI live MQTT publisher"),
    )
});

const DEFAULT_STREAM_ID: &str = "default";
const DEFAULT_QOS: u32 = 0;
const DEFAULT_EVERY_N: u32 = 1;
const DEFAULT_INTERVAL_MS: u32 = 0;
const DEFAULT_QUEUE_SIZE: u32 = 16;
/// How long stop() waits for the final status to reach the broker.
const STOP_WAIT: Duration = Duration::from_secs(2);
/// At most one "dropping" warning this often.
const WARN_EVERY: Duration = Duration::from_secs(10);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, Clone)]
struct Settings {
    url: Option<String>,
    stream_id: String,
    username: Option<String>,
    password: Option<String>,
    client_id: Option<String>,
    ca_file: Option<String>,
    cert_file: Option<String>,
    key_file: Option<String>,
    qos: u32,
    every_n: u32,
    interval_ms: u32,
    queue_size: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            url: None,
            stream_id: DEFAULT_STREAM_ID.into(),
            username: None,
            password: None,
            client_id: None,
            ca_file: None,
            cert_file: None,
            key_file: None,
            qos: DEFAULT_QOS,
            every_n: DEFAULT_EVERY_N,
            interval_ms: DEFAULT_INTERVAL_MS,
            queue_size: DEFAULT_QUEUE_SIZE,
        }
    }
}

struct State {
    publisher: Publisher,
    topic: String,
    stream_id: String,
    endpoint: String,
    qos: QoS,
    frame: u64,
    width: u32,
    height: u32,
    segment: gst::FormattedSegment<gst::ClockTime>,
    /// Running time (ns) or wall clock of the last message.
    last_sent: Option<u64>,
    started: Instant,
    dropping: bool,
    last_warning: Option<Instant>,
    eos: bool,
}

#[derive(Default)]
pub struct EdgeMqtt {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    /// Counters of the last run, for the read-only properties after stop.
    last_counts: Mutex<(u64, u64)>,
}

#[glib::object_subclass]
impl ObjectSubclass for EdgeMqtt {
    const NAME: &'static str = "GstEdgeMqtt";
    type Type = super::EdgeMqtt;
    type ParentType = gst_base::BaseTransform;
}

fn string(v: &glib::Value) -> Option<String> {
    v.get::<Option<String>>()
        .ok()
        .flatten()
        .filter(|s| !s.is_empty())
}

impl ObjectImpl for EdgeMqtt {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("url")
                    .nick("Broker URL")
                    .blurb("mqtt(s)://[user[:password]@]host[:port]/PREFIX; messages go to PREFIX/STREAM/detections and PREFIX/STREAM/status")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("stream-id")
                    .nick("Stream id")
                    .blurb("Name of this camera / pipeline: the topic level after the prefix")
                    .default_value(Some(DEFAULT_STREAM_ID))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("username")
                    .nick("User name")
                    .blurb("MQTT user name (overrides the one in url)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("password")
                    .nick("Password")
                    .blurb("MQTT password (overrides the one in url); write-only, never logged")
                    .write_only()
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("client-id")
                    .nick("Client id")
                    .blurb("MQTT client id (unset: edgemqtt-STREAM-PID)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("ca-file")
                    .nick("CA file")
                    .blurb("PEM certificate authorities for mqtts:// (unset: the system's trusted certificates)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("cert-file")
                    .nick("Client certificate")
                    .blurb("PEM client certificate for mqtts:// (with key-file)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("key-file")
                    .nick("Client key")
                    .blurb("PEM private key of cert-file")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("qos")
                    .nick("QoS")
                    .blurb("MQTT QoS of the detections (0: at most once; 1, 2 hold the message in the queue until acknowledged)")
                    .maximum(2)
                    .default_value(DEFAULT_QOS)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("every-n-frames")
                    .nick("Every N frames")
                    .blurb("Publish one frame out of N")
                    .minimum(1)
                    .default_value(DEFAULT_EVERY_N)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("interval")
                    .nick("Interval")
                    .blurb("At least this many ms of running time between two messages (0: no limit)")
                    .maximum(86_400_000)
                    .default_value(DEFAULT_INTERVAL_MS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("queue-size")
                    .nick("Queue size")
                    .blurb("Messages that may wait for the network; past that new ones are dropped")
                    .minimum(1)
                    .maximum(100_000)
                    .default_value(DEFAULT_QUEUE_SIZE)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt64::builder("published")
                    .nick("Published")
                    .blurb("Messages handed to the network since the element started")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt64::builder("dropped")
                    .nick("Dropped")
                    .blurb("Messages dropped because the broker did not keep up or was unreachable")
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = lock(&self.settings);
        match pspec.name() {
            "url" => s.url = string(value),
            "stream-id" => s.stream_id = string(value).unwrap_or_else(|| DEFAULT_STREAM_ID.into()),
            "username" => s.username = string(value),
            "password" => s.password = string(value),
            "client-id" => s.client_id = string(value),
            "ca-file" => s.ca_file = string(value),
            "cert-file" => s.cert_file = string(value),
            "key-file" => s.key_file = string(value),
            "qos" => s.qos = value.get().unwrap_or(DEFAULT_QOS),
            "every-n-frames" => s.every_n = value.get().unwrap_or(DEFAULT_EVERY_N),
            "interval" => s.interval_ms = value.get().unwrap_or(DEFAULT_INTERVAL_MS),
            "queue-size" => s.queue_size = value.get().unwrap_or(DEFAULT_QUEUE_SIZE),
            other => gst::warning!(CAT, imp = self, "unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let counts = || match lock(&self.state).as_ref() {
            Some(st) => (st.publisher.published(), st.publisher.dropped()),
            None => *lock(&self.last_counts),
        };
        let s = lock(&self.settings);
        match pspec.name() {
            "url" => s.url.to_value(),
            "stream-id" => s.stream_id.to_value(),
            "username" => s.username.to_value(),
            "client-id" => s.client_id.to_value(),
            "ca-file" => s.ca_file.to_value(),
            "cert-file" => s.cert_file.to_value(),
            "key-file" => s.key_file.to_value(),
            "qos" => s.qos.to_value(),
            "every-n-frames" => s.every_n.to_value(),
            "interval" => s.interval_ms.to_value(),
            "queue-size" => s.queue_size.to_value(),
            "published" => {
                drop(s);
                counts().0.to_value()
            }
            "dropped" => {
                drop(s);
                counts().1.to_value()
            }
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl GstObjectImpl for EdgeMqtt {}

impl ElementImpl for EdgeMqtt {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Edge AI live MQTT publisher",
                "Filter/Analyzer/Video",
                "Publishes each frame's detected and tracked objects as JSON to an MQTT broker, never blocking the pipeline",
                "gst-plugin-edgeai developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        // Pixels are never read: any raw video, in any memory.
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(|| crate::video::filter_pad_templates(&crate::video::any_video_caps()));
        PAD_TEMPLATES.as_ref()
    }
}

fn qos_of(q: u32) -> QoS {
    match q {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

impl BaseTransformImpl for EdgeMqtt {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = true;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = true;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let s = lock(&self.settings).clone();
        let settings_err = |e: String| gst::error_msg!(gst::ResourceError::Settings, ("{}", e));
        let url = s.url.clone().ok_or_else(|| {
            settings_err("no url: set url=mqtt://host[:port]/PREFIX (or mqtts:// for TLS)".into())
        })?;
        let broker = BrokerUrl::parse(&url).map_err(settings_err)?;
        let client_id = s
            .client_id
            .clone()
            .unwrap_or_else(|| format!("edgemqtt-{}-{}", s.stream_id, std::process::id()));
        let mut cfg = BrokerConfig::new(broker, client_id.clone());
        cfg.username = s.username.clone();
        cfg.password = s.password.clone();
        cfg.ca_file = s.ca_file.clone().map(Into::into);
        cfg.cert_file = s.cert_file.clone().map(Into::into);
        cfg.key_file = s.key_file.clone().map(Into::into);
        let status_topic = cfg.url.topic(&[&s.stream_id, "status"]);
        let topic = cfg.url.topic(&[&s.stream_id, "detections"]);
        let endpoint = cfg.endpoint();
        let running = status_json(
            "running",
            json!({ "stream_id": s.stream_id, "client_id": client_id,
                    "since": crate::events::writer::now_ms() }),
        );
        let will = status_json(
            "offline",
            json!({ "stream_id": s.stream_id,
                    "reason": "the connection was lost without a goodbye (crash, power cut or network loss)" }),
        );
        let weak = self.obj().downgrade();
        let ep = endpoint.clone();
        let publisher = Publisher::start(
            &cfg,
            status_topic,
            running,
            will,
            s.queue_size as usize,
            Arc::new(move |r| {
                let Some(obj) = weak.upgrade() else { return };
                match r {
                    PublisherReport::Connected => {
                        gst::info!(CAT, obj = obj, "connected to {ep}");
                    }
                    PublisherReport::Failing(e) => {
                        gst::element_warning!(
                            obj,
                            gst::ResourceError::Write,
                            (
                                "cannot publish to {}: {}; retrying, live messages are dropped meanwhile and the pipeline goes on",
                                ep,
                                e
                            )
                        );
                    }
                }
            }),
        )
        .map_err(|e| settings_err(format!("url {}: {e}", redact(&url))))?;
        gst::info!(CAT, imp = self, "publishing {topic} to {endpoint}");
        *lock(&self.state) = Some(State {
            publisher,
            topic,
            stream_id: s.stream_id,
            endpoint,
            qos: qos_of(s.qos),
            frame: 0,
            width: 0,
            height: 0,
            segment: gst::FormattedSegment::new(),
            last_sent: None,
            started: Instant::now(),
            dropping: false,
            last_warning: None,
            eos: false,
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        let Some(state) = lock(&self.state).take() else {
            return Ok(());
        };
        let (published, dropped) = (state.publisher.published(), state.publisher.dropped());
        *lock(&self.last_counts) = (published, dropped);
        let reason = if state.eos {
            "end of stream"
        } else {
            "stopped before the end of the stream"
        };
        let mut extra = json!({ "stream_id": state.stream_id, "reason": reason,
                                "frames": state.frame, "published": published,
                                "dropped": dropped, "time": crate::events::writer::now_ms() });
        if let Some(e) = state.publisher.last_error() {
            extra["last_error"] = e.into();
        }
        gst::info!(
            CAT,
            imp = self,
            "stopping: {} frames, {published} messages published, {dropped} dropped",
            state.frame
        );
        state
            .publisher
            .stop(status_json("stopped", extra), STOP_WAIT);
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let s = incaps
            .structure(0)
            .ok_or_else(|| gst::loggable_error!(CAT, "empty caps"))?;
        if let Some(state) = lock(&self.state).as_mut() {
            state.width = s.get::<i32>("width").unwrap_or(0).max(0) as u32;
            state.height = s.get::<i32>("height").unwrap_or(0).max(0) as u32;
        }
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::Segment(e) => {
                if let (Some(state), Ok(seg)) = (
                    lock(&self.state).as_mut(),
                    e.segment().clone().downcast::<gst::ClockTime>(),
                ) {
                    state.segment = seg;
                }
            }
            gst::EventView::Eos(_) => {
                if let Some(state) = lock(&self.state).as_mut() {
                    state.eos = true;
                }
            }
            gst::EventView::FlushStop(_) => {
                if let Some(state) = lock(&self.state).as_mut() {
                    state.last_sent = None;
                }
            }
            _ => {}
        }
        self.parent_sink_event(event)
    }

    fn transform_ip_passthrough(
        &self,
        buf: &gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let (every_n, interval_ms) = {
            let s = lock(&self.settings);
            (u64::from(s.every_n.max(1)), u64::from(s.interval_ms))
        };
        let mut warn = None;
        {
            let mut guard = lock(&self.state);
            let Some(state) = guard.as_mut() else {
                return Err(gst::FlowError::Flushing);
            };
            let frame = state.frame;
            state.frame += 1;
            if frame % every_n != 0 {
                return Ok(gst::FlowSuccess::Ok);
            }
            // Running time when the buffer has one, else the wall clock.
            let now = state
                .segment
                .to_running_time(buf.pts())
                .map(|t| t.nseconds())
                .unwrap_or_else(|| state.started.elapsed().as_nanos() as u64);
            if interval_ms > 0
                && let Some(last) = state.last_sent
                && now.saturating_sub(last) < interval_ms * 1_000_000
                && now >= last
            {
                return Ok(gst::FlowSuccess::Ok);
            }
            state.last_sent = Some(now);
            let line = match frame_line(frame, buf, state.width, state.height) {
                Ok(l) => l,
                Err(e) => {
                    gst::debug!(CAT, imp = self, "cannot serialise frame {frame}: {e}");
                    return Ok(gst::FlowSuccess::Ok);
                }
            };
            let sent =
                state
                    .publisher
                    .try_publish(&state.topic, state.qos, false, line.into_bytes());
            if sent {
                state.dropping = false;
            } else if !state.dropping {
                state.dropping = true;
                if state.last_warning.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
                    state.last_warning = Some(Instant::now());
                    warn = Some((state.endpoint.clone(), state.publisher.dropped()));
                }
            }
        }
        if let Some((endpoint, dropped)) = warn {
            // Posted without the state lock held.
            gst::element_imp_warning!(
                self,
                gst::ResourceError::Write,
                (
                    "the broker at {} does not keep up or is unreachable: dropping live messages ({} dropped so far); the pipeline goes on",
                    endpoint,
                    dropped
                )
            );
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
