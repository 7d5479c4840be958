// SPDX-License-Identifier: MPL-2.0

use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;

use super::Synchronous;
use crate::events::book::{Book, BookConfig, Event, Frame, Observation, ZoneTotals};
use crate::events::snapshot::crop_rgb;
use crate::events::store::{
    self, EndReason, Store, SystemRecord, ZoneEventRecord, ZoneLabelCounts,
};
use crate::events::sync::{HttpTransport, SyncConfig, SyncReport, Syncer, Transport, validate_url};
use crate::events::sync_mqtt::MqttTransport;
use crate::events::writer::{self, Msg, Report, WriterConfig, now_ms};
use crate::meta;
use crate::mqtt::{BrokerConfig, BrokerUrl, is_mqtt_url, redact};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "edgeevents",
        gst::DebugColorFlags::empty(),
        Some("Edge AI event recorder"),
    )
});

const DEFAULT_LOCATION: &str = "edgeevents.db";
const DEFAULT_STREAM_ID: &str = "default";
const DEFAULT_SNAPSHOTS: bool = false;
const DEFAULT_SNAPSHOT_SIZE: u32 = 128;
const DEFAULT_SNAPSHOT_QUALITY: u32 = 80;
const DEFAULT_COUNT_INTERVAL_S: u32 = 60;
const DEFAULT_TRACK_TIMEOUT_MS: u32 = 5000;
const DEFAULT_RETENTION_AGE_S: u64 = 30 * 24 * 3600;
const DEFAULT_RETENTION_SIZE_MIB: u32 = 512;
const DEFAULT_BATCH_SIZE: u32 = 100;
const DEFAULT_SYNC_INTERVAL_MS: u32 = 5000;
const DEFAULT_SYNCHRONOUS: Synchronous = Synchronous::Full;
/// Longest wait between two sync attempts while the network is down.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long `stop()` lets the sync thread try to send the last rows.
const SYNC_STOP_WAIT: Duration = Duration::from_secs(2);

/// What the writer calls after each commit (pokes the sync thread).
type Poke = Arc<Mutex<Option<Box<dyn Fn() + Send>>>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, Clone)]
struct Settings {
    location: String,
    stream_id: String,
    snapshots: bool,
    snapshot_size: u32,
    snapshot_quality: u32,
    count_interval_s: u32,
    track_timeout_ms: u32,
    retention_age_s: u64,
    retention_size_mib: u32,
    sync_url: Option<String>,
    batch_size: u32,
    sync_interval_ms: u32,
    synchronous: Synchronous,
    /// MQTT only (`mqtt://`, `mqtts://` sync-url).
    sync_username: Option<String>,
    sync_password: Option<String>,
    sync_client_id: Option<String>,
    sync_ca_file: Option<String>,
    sync_cert_file: Option<String>,
    sync_key_file: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            location: DEFAULT_LOCATION.into(),
            stream_id: DEFAULT_STREAM_ID.into(),
            snapshots: DEFAULT_SNAPSHOTS,
            snapshot_size: DEFAULT_SNAPSHOT_SIZE,
            snapshot_quality: DEFAULT_SNAPSHOT_QUALITY,
            count_interval_s: DEFAULT_COUNT_INTERVAL_S,
            track_timeout_ms: DEFAULT_TRACK_TIMEOUT_MS,
            retention_age_s: DEFAULT_RETENTION_AGE_S,
            retention_size_mib: DEFAULT_RETENTION_SIZE_MIB,
            sync_url: None,
            batch_size: DEFAULT_BATCH_SIZE,
            sync_interval_ms: DEFAULT_SYNC_INTERVAL_MS,
            synchronous: DEFAULT_SYNCHRONOUS,
            sync_username: None,
            sync_password: None,
            sync_client_id: None,
            sync_ca_file: None,
            sync_cert_file: None,
            sync_key_file: None,
        }
    }
}

/// The pixels of the negotiated caps, when snapshots can read them.
struct Pixels {
    info: gst_video::VideoInfo,
}

struct State {
    book: Book,
    tx: Sender<Msg>,
    writer: Option<JoinHandle<()>>,
    syncer: Option<Syncer>,
    segment: gst::FormattedSegment<gst::ClockTime>,
    width: u32,
    height: u32,
    pixels: Option<Pixels>,
    snapshots: bool,
    snapshot_size: u32,
    started: Instant,
    frames: u64,
    eos: bool,
}

#[derive(Default)]
pub struct EdgeEvents {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

impl EdgeEvents {
    /// Crops the best detections of `best` out of `buf` and sends them.
    fn send_snapshots(
        &self,
        state: &State,
        buf: &gst::BufferRef,
        objects: &[meta::Object],
        best: &[(u64, usize)],
    ) {
        let Some(px) = &state.pixels else { return };
        let frame = match gst_video::VideoFrameRef::from_buffer_ref_readable(buf, &px.info) {
            Ok(f) => f,
            Err(e) => {
                gst::debug!(CAT, imp = self, "cannot map the frame for a snapshot: {e}");
                return;
            }
        };
        let view = match crate::video::frame_view(&frame) {
            Ok(v) => v,
            Err(e) => {
                gst::debug!(CAT, imp = self, "cannot read the frame for a snapshot: {e}");
                return;
            }
        };
        for &(key, i) in best {
            let Some(o) = objects.get(i) else { continue };
            gst::trace!(
                CAT,
                imp = self,
                "snapshot of track key {key}: box {:?}",
                [o.x1, o.y1, o.x2, o.y2]
            );
            if let Some(image) = crop_rgb(&view, [o.x1, o.y1, o.x2, o.y2], state.snapshot_size) {
                let _ = state.tx.send(Msg::Snapshot { key, image });
            }
        }
    }

    fn send(state: &State, events: Vec<Event>) {
        for e in events {
            // The writer only goes away in stop(), after the state.
            let _ = state.tx.send(Msg::Event(e));
        }
    }

    fn stop_record(state: &State, reason: &str) -> SystemRecord {
        SystemRecord {
            time: now_ms(),
            running_time: state.book.last_running_time(),
            kind: "stop".into(),
            message: Some(format!("{reason} after {} frames", state.frames)),
            ..Default::default()
        }
    }
}

/// Posts the writer's and the sync thread's news on the element.
/// A frame's zone event as a `zone_events` row.
fn zone_event_record(e: meta::FrameZoneEvent, wall_ms: i64) -> ZoneEventRecord {
    let some = |s: String| (!s.is_empty()).then_some(s);
    ZoneEventRecord {
        time: wall_ms,
        running_time: Some(e.running_time),
        zone: e.zone,
        kind: e.kind,
        track_id: e.track_id,
        label: some(e.label),
        direction: some(e.direction),
        dwell: e.dwell,
        occupancy: e.occupancy,
    }
}

/// A frame's zone counters as the book takes them.
fn zone_totals(c: meta::ZoneCounter) -> ZoneTotals {
    ZoneTotals {
        labels: c
            .labels
            .into_iter()
            .map(|l| {
                let counts = ZoneLabelCounts {
                    crossed_in: l.crossed_in,
                    crossed_out: l.crossed_out,
                    occupancy: l.occupancy,
                };
                (l.label, counts)
            })
            .collect(),
        name: c.name,
        kind: c.kind,
        crossed_in: c.crossed_in,
        crossed_out: c.crossed_out,
        occupancy: c.occupancy,
        entered: c.entered,
        exited: c.exited,
    }
}

fn writer_reporter(
    element: glib::WeakRef<super::EdgeEvents>,
    location: String,
    poke: Poke,
) -> writer::Reporter {
    Arc::new(move |report| {
        let Some(obj) = element.upgrade() else { return };
        match report {
            Report::Committed => {
                if let Some(p) = lock(&poke).as_ref() {
                    p();
                }
            }
            Report::WriteFailed(e) => {
                gst::element_error!(
                    obj,
                    gst::ResourceError::Write,
                    ("{}", e),
                    ["events are kept in memory and the write is retried every sync-interval"]
                );
            }
            Report::WriteRecovered => {
                gst::info!(CAT, obj = obj, "writes to {location} succeed again");
            }
            Report::Retention {
                deleted,
                deleted_unsynced,
            } => {
                if deleted_unsynced > 0 {
                    gst::element_warning!(
                        obj,
                        gst::ResourceError::Write,
                        (
                            "retention removed {} events from {} that were never synced (the sync-url was unreachable for longer than the retention allows); raise retention-age or retention-size to keep more",
                            deleted_unsynced,
                            location
                        )
                    );
                }
                gst::info!(CAT, obj = obj, "retention removed {deleted} events");
            }
            Report::Lost { events, error } => {
                gst::element_error!(
                    obj,
                    gst::ResourceError::Write,
                    (
                        "{} events could not be written when the element stopped: {}",
                        events,
                        error
                    )
                );
            }
        }
    })
}

fn sync_reporter(
    element: glib::WeakRef<super::EdgeEvents>,
    url: String,
) -> crate::events::sync::SyncReporter {
    Arc::new(move |report| {
        let Some(obj) = element.upgrade() else { return };
        match report {
            SyncReport::Failing(e) => {
                gst::element_warning!(
                    obj,
                    gst::ResourceError::Write,
                    (
                        "cannot sync events to {}: {}; retrying with exponential backoff, the events stay in the database until the server accepts them",
                        url,
                        e
                    )
                );
            }
            SyncReport::Recovered { failures } => {
                gst::info!(
                    CAT,
                    obj = obj,
                    "sync to {url} works again after {failures} failed attempts"
                );
            }
            SyncReport::Sent { rows } => {
                gst::debug!(CAT, obj = obj, "synced {rows} events to {url}");
            }
        }
    })
}

/// The sync transport `url` names, with the MQTT settings.
fn transport(s: &Settings, url: &str, database_id: &str) -> Result<Box<dyn Transport>, String> {
    let mqtt_only = [
        ("sync-username", s.sync_username.is_some()),
        ("sync-password", s.sync_password.is_some()),
        ("sync-client-id", s.sync_client_id.is_some()),
        ("sync-ca-file", s.sync_ca_file.is_some()),
        ("sync-cert-file", s.sync_cert_file.is_some()),
        ("sync-key-file", s.sync_key_file.is_some()),
    ];
    if !is_mqtt_url(url) {
        if let Some((name, _)) = mqtt_only.iter().find(|(_, set)| *set) {
            return Err(format!(
                "{name} applies to mqtt:// and mqtts:// sync URLs only, not to {}",
                redact(url)
            ));
        }
        return Ok(Box::new(HttpTransport::new(url.to_string())));
    }
    let broker = BrokerUrl::parse(url)?;
    let client_id = s.sync_client_id.clone().unwrap_or_else(|| {
        format!(
            "edgeevents-{}-{}",
            s.stream_id,
            database_id.get(..8).unwrap_or(database_id)
        )
    });
    let mut cfg = BrokerConfig::new(broker, client_id);
    cfg.username = s.sync_username.clone();
    cfg.password = s.sync_password.clone();
    cfg.ca_file = s.sync_ca_file.clone().map(Into::into);
    cfg.cert_file = s.sync_cert_file.clone().map(Into::into);
    cfg.key_file = s.sync_key_file.clone().map(Into::into);
    let t = MqttTransport::new(cfg, s.batch_size as usize)
        .map_err(|e| format!("sync-url {}: {e}", redact(url)))?;
    Ok(Box::new(t))
}

#[glib::object_subclass]
impl ObjectSubclass for EdgeEvents {
    const NAME: &'static str = "GstEdgeEvents";
    type Type = super::EdgeEvents;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for EdgeEvents {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("location")
                    .nick("Location")
                    .blurb("SQLite database file (created if missing; its folder must exist and be writable)")
                    .default_value(Some(DEFAULT_LOCATION))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("stream-id")
                    .nick("Stream id")
                    .blurb("Name of this camera / pipeline in the database; pipelines sharing a database need different ids")
                    .default_value(Some(DEFAULT_STREAM_ID))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("snapshots")
                    .nick("Snapshots")
                    .blurb("Keep a small JPEG of each track's best detection (raw RGB/BGR/RGBA/BGRA/RGBx/BGRx/NV12/I420 in system memory)")
                    .default_value(DEFAULT_SNAPSHOTS)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("snapshot-size")
                    .nick("Snapshot size")
                    .blurb("Longer side of a snapshot in pixels (crops are reduced to it, never enlarged)")
                    .minimum(8)
                    .maximum(4096)
                    .default_value(DEFAULT_SNAPSHOT_SIZE)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("snapshot-quality")
                    .nick("Snapshot quality")
                    .blurb("JPEG quality of the snapshots")
                    .minimum(1)
                    .maximum(100)
                    .default_value(DEFAULT_SNAPSHOT_QUALITY)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("count-interval")
                    .nick("Count interval")
                    .blurb("Seconds of running time per row of counts per label (0: no counts)")
                    .maximum(86_400)
                    .default_value(DEFAULT_COUNT_INTERVAL_S)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("track-timeout")
                    .nick("Track timeout")
                    .blurb("A track ends when its id has not been seen for this many ms of running time (0: only at EOS or stop); keep it above the tracker's lost-track age")
                    .maximum(86_400_000)
                    .default_value(DEFAULT_TRACK_TIMEOUT_MS)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt64::builder("retention-age")
                    .nick("Retention age")
                    .blurb("Delete events older than this many seconds (0: keep forever)")
                    .default_value(DEFAULT_RETENTION_AGE_S)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("retention-size")
                    .nick("Retention size")
                    .blurb("Delete the oldest events while the database holds more than this many MiB (0: no limit)")
                    .default_value(DEFAULT_RETENTION_SIZE_MIB)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("sync-url")
                    .nick("Sync URL")
                    .blurb("Where the events go: an http(s):// endpoint (JSON batches, POST) or an mqtt(s)://[user[:password]@]host[:port]/PREFIX broker (one QoS 1 message per event on PREFIX/STREAM/KIND); unset: no sync")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("batch-size")
                    .nick("Batch size")
                    .blurb("Most events in one sync request")
                    .minimum(1)
                    .maximum(10_000)
                    .default_value(DEFAULT_BATCH_SIZE)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("sync-interval")
                    .nick("Sync interval")
                    .blurb("Milliseconds between two commits to the database (events are durable within it) and two sync attempts; the first retry delay")
                    .minimum(100)
                    .maximum(3_600_000)
                    .default_value(DEFAULT_SYNC_INTERVAL_MS)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("sync-username")
                    .nick("Sync user name")
                    .blurb("MQTT user name (overrides the one in sync-url)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("sync-password")
                    .nick("Sync password")
                    .blurb("MQTT password (overrides the one in sync-url); write-only, never logged")
                    .write_only()
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("sync-client-id")
                    .nick("Sync client id")
                    .blurb("MQTT client id (unset: edgeevents-STREAM-DATABASE, the first 8 hex digits of the database id); cloud brokers often tie their policies to it")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("sync-ca-file")
                    .nick("Sync CA file")
                    .blurb("PEM file of the certificate authorities that sign the broker's certificate (mqtts://; unset: the system's trusted certificates)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("sync-cert-file")
                    .nick("Sync client certificate")
                    .blurb("PEM client certificate for mqtts:// (with sync-key-file), e.g. for AWS IoT Core")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("sync-key-file")
                    .nick("Sync client key")
                    .blurb("PEM private key of sync-cert-file")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("synchronous", DEFAULT_SYNCHRONOUS)
                    .nick("Synchronous")
                    .blurb("SQLite synchronous mode: full survives power cuts, normal only crashes")
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = lock(&self.settings);
        let string = |v: &glib::Value| v.get::<Option<String>>().ok().flatten();
        match pspec.name() {
            "location" => {
                s.location = string(value)
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| DEFAULT_LOCATION.into())
            }
            "stream-id" => {
                s.stream_id = string(value)
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| DEFAULT_STREAM_ID.into())
            }
            "snapshots" => s.snapshots = value.get().unwrap_or(DEFAULT_SNAPSHOTS),
            "snapshot-size" => s.snapshot_size = value.get().unwrap_or(DEFAULT_SNAPSHOT_SIZE),
            "snapshot-quality" => {
                s.snapshot_quality = value.get().unwrap_or(DEFAULT_SNAPSHOT_QUALITY)
            }
            "count-interval" => {
                s.count_interval_s = value.get().unwrap_or(DEFAULT_COUNT_INTERVAL_S)
            }
            "track-timeout" => s.track_timeout_ms = value.get().unwrap_or(DEFAULT_TRACK_TIMEOUT_MS),
            "retention-age" => s.retention_age_s = value.get().unwrap_or(DEFAULT_RETENTION_AGE_S),
            "retention-size" => {
                s.retention_size_mib = value.get().unwrap_or(DEFAULT_RETENTION_SIZE_MIB)
            }
            "sync-url" => s.sync_url = string(value).filter(|v| !v.is_empty()),
            "batch-size" => s.batch_size = value.get().unwrap_or(DEFAULT_BATCH_SIZE),
            "sync-interval" => s.sync_interval_ms = value.get().unwrap_or(DEFAULT_SYNC_INTERVAL_MS),
            "synchronous" => s.synchronous = value.get().unwrap_or(DEFAULT_SYNCHRONOUS),
            "sync-username" => s.sync_username = string(value).filter(|v| !v.is_empty()),
            "sync-password" => s.sync_password = string(value).filter(|v| !v.is_empty()),
            "sync-client-id" => s.sync_client_id = string(value).filter(|v| !v.is_empty()),
            "sync-ca-file" => s.sync_ca_file = string(value).filter(|v| !v.is_empty()),
            "sync-cert-file" => s.sync_cert_file = string(value).filter(|v| !v.is_empty()),
            "sync-key-file" => s.sync_key_file = string(value).filter(|v| !v.is_empty()),
            other => gst::warning!(CAT, imp = self, "unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = lock(&self.settings);
        match pspec.name() {
            "location" => s.location.to_value(),
            "stream-id" => s.stream_id.to_value(),
            "snapshots" => s.snapshots.to_value(),
            "snapshot-size" => s.snapshot_size.to_value(),
            "snapshot-quality" => s.snapshot_quality.to_value(),
            "count-interval" => s.count_interval_s.to_value(),
            "track-timeout" => s.track_timeout_ms.to_value(),
            "retention-age" => s.retention_age_s.to_value(),
            "retention-size" => s.retention_size_mib.to_value(),
            "sync-url" => s.sync_url.to_value(),
            "batch-size" => s.batch_size.to_value(),
            "sync-interval" => s.sync_interval_ms.to_value(),
            "synchronous" => s.synchronous.to_value(),
            "sync-username" => s.sync_username.to_value(),
            "sync-client-id" => s.sync_client_id.to_value(),
            "sync-ca-file" => s.sync_ca_file.to_value(),
            "sync-cert-file" => s.sync_cert_file.to_value(),
            "sync-key-file" => s.sync_key_file.to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl GstObjectImpl for EdgeEvents {}

impl ElementImpl for EdgeEvents {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Edge AI event recorder",
                "Filter/Analyzer/Video",
                "Records tracks, counts per label and system events in an SQLite database and syncs them upstream",
                "gst-plugin-edgeai developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        // Any raw video in any memory: only snapshots read pixels, and
        // only in the formats of crate::video::supported_video_caps().
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(|| crate::video::filter_pad_templates(&crate::video::any_video_caps()));
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for EdgeEvents {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = true;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = true;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let s = lock(&self.settings).clone();
        if let Some(url) = &s.sync_url {
            validate_url(url)
                .map_err(|e| gst::error_msg!(gst::ResourceError::Settings, ("{}", e)))?;
        }
        let path = PathBuf::from(&s.location);
        let sync = match s.synchronous {
            Synchronous::Normal => store::Synchronous::Normal,
            Synchronous::Full => store::Synchronous::Full,
        };
        let open_err = |e: store::StoreError| {
            gst::error_msg!(gst::ResourceError::OpenWrite, ("{}", e.message))
        };
        let mut db = Store::open(&path, &s.stream_id, sync).map_err(open_err)?;
        let (run, recovered) = db.begin_run().map_err(open_err)?;
        let mut first = vec![SystemRecord {
            time: now_ms(),
            kind: "start".into(),
            message: Some(format!(
                "edgeevents {} started, run {run}",
                env!("CARGO_PKG_VERSION")
            )),
            ..Default::default()
        }];
        if recovered > 0 {
            first.push(SystemRecord {
                time: now_ms(),
                kind: "recovered".into(),
                message: Some(format!(
                    "closed {recovered} tracks left alive by an earlier run that did not stop (crash or power cut) as interrupted"
                )),
                ..Default::default()
            });
        }
        db.write(|b| {
            for r in &first {
                b.insert_system(r)?;
            }
            Ok(())
        })
        .map_err(open_err)?;
        gst::info!(
            CAT,
            imp = self,
            "recording stream {} run {run} in {} (database {})",
            s.stream_id,
            s.location,
            db.database_id()
        );

        let interval = Duration::from_millis(u64::from(s.sync_interval_ms));
        let poke: Poke = Arc::new(Mutex::new(None));
        let syncer = match &s.sync_url {
            Some(url) => {
                let sync_store = Store::open(&path, &s.stream_id, sync).map_err(open_err)?;
                let transport = transport(&s, url, sync_store.database_id())
                    .map_err(|e| gst::error_msg!(gst::ResourceError::Settings, ("{}", e)))?;
                let syncer = Syncer::spawn(
                    sync_store,
                    SyncConfig {
                        batch_size: s.batch_size as usize,
                        interval,
                        max_backoff: MAX_BACKOFF,
                    },
                    transport,
                    sync_reporter(self.obj().downgrade(), redact(url)),
                )
                .map_err(|e| {
                    gst::error_msg!(
                        gst::CoreError::Thread,
                        ("cannot start the sync thread: {}", e)
                    )
                })?;
                let poker = syncer.poker();
                *lock(&poke) = Some(Box::new(move || poker.poke()));
                Some(syncer)
            }
            None => None,
        };
        let (tx, handle) = writer::spawn(
            db,
            WriterConfig {
                commit_interval: interval,
                snapshot_quality: s.snapshot_quality.clamp(1, 100) as u8,
                max_age_ms: (s.retention_age_s > 0).then(|| {
                    i64::try_from(s.retention_age_s.saturating_mul(1000)).unwrap_or(i64::MAX)
                }),
                max_bytes: (s.retention_size_mib > 0)
                    .then(|| u64::from(s.retention_size_mib) * 1024 * 1024),
            },
            writer_reporter(self.obj().downgrade(), s.location.clone(), poke),
        )
        .map_err(|e| {
            gst::error_msg!(
                gst::CoreError::Thread,
                ("cannot start the writer thread: {}", e)
            )
        })?;
        *lock(&self.state) = Some(State {
            book: Book::new(BookConfig {
                count_interval_ns: u64::from(s.count_interval_s) * 1_000_000_000,
                track_timeout_ns: u64::from(s.track_timeout_ms) * 1_000_000,
            }),
            tx,
            writer: Some(handle),
            syncer,
            segment: gst::FormattedSegment::new(),
            width: 0,
            height: 0,
            pixels: None,
            snapshots: s.snapshots,
            snapshot_size: s.snapshot_size,
            started: Instant::now(),
            frames: 0,
            eos: false,
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        let Some(mut state) = lock(&self.state).take() else {
            return Ok(());
        };
        let events = state.book.finish(EndReason::Stop);
        Self::send(&state, events);
        let reason = if state.eos {
            "stopped at the end of the stream"
        } else {
            "stopped before the end of the stream"
        };
        let _ = state
            .tx
            .send(Msg::Event(Event::System(Self::stop_record(&state, reason))));
        // Dropping the sender ends the writer after its last commit.
        let State {
            tx, writer, syncer, ..
        } = state;
        drop(tx);
        if let Some(w) = writer
            && w.join().is_err()
        {
            gst::warning!(CAT, imp = self, "the writer thread panicked");
        }
        if let Some(s) = syncer {
            s.stop(SYNC_STOP_WAIT);
        }
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let info = gst_video::VideoInfo::from_caps(incaps)
            .map_err(|e| gst::loggable_error!(CAT, "cannot read caps {incaps}: {e}"))?;
        let system_memory = incaps
            .features(0)
            .is_none_or(|f| f.contains(gst::CAPS_FEATURE_MEMORY_SYSTEM_MEMORY));
        let layout = crate::video::pixel_layout(info.format()).filter(|_| system_memory);
        let mut warn = None;
        if let Some(state) = lock(&self.state).as_mut() {
            state.width = info.width();
            state.height = info.height();
            gst::debug!(CAT, imp = self, "caps {incaps}, snapshot layout {layout:?}");
            state.pixels = match layout {
                Some(_) if state.snapshots => Some(Pixels { info: info.clone() }),
                None if state.snapshots => {
                    warn = Some(format!("{incaps}"));
                    None
                }
                _ => None,
            };
        }
        if let Some(caps) = warn {
            gst::element_imp_warning!(
                self,
                gst::StreamError::Format,
                (
                    "snapshots=true needs raw RGB, BGR, RGBA, BGRA, RGBx, BGRx, NV12 or I420 in system memory, got {}: tracks are recorded without snapshots (put videoconvert before edgeevents)",
                    caps
                )
            );
        }
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::Segment(e) => {
                if let Some(segment) = e.segment().downcast_ref::<gst::ClockTime>()
                    && let Some(state) = lock(&self.state).as_mut()
                {
                    state.segment = segment.clone();
                }
            }
            gst::EventView::Eos(_) => {
                if let Some(state) = lock(&self.state).as_mut() {
                    let events = state.book.finish(EndReason::Eos);
                    Self::send(state, events);
                    state.eos = true;
                    // Commit now (the writer then pokes the sync thread).
                    let _ = state.tx.send(Msg::Flush(None));
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
        let mut guard = lock(&self.state);
        let Some(state) = guard.as_mut() else {
            return Err(gst::FlowError::Flushing);
        };
        let objects = meta::objects(buf, state.width, state.height);
        let info = meta::frame_info(buf);
        let running_time = state
            .segment
            .to_running_time(buf.pts())
            .map(|t| t.nseconds());
        let clock_ns = running_time.unwrap_or_else(|| {
            u64::try_from(state.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
        });
        // Objects on a frame no detector ran on are not fresh detections:
        // like a tracker's predicted boxes, they only keep tracks alive.
        let analysed = info.inferred != Some(false);
        let wall_ms = now_ms();
        let frame = Frame {
            wall_ms,
            running_time,
            clock_ns,
            duration_ns: buf.duration().map(|d| d.nseconds()),
            analysed,
            objects: objects
                .iter()
                .map(|o| Observation {
                    label: o.label.clone(),
                    class_id: o.class_id,
                    confidence: o.confidence,
                    bbox: [o.x1, o.y1, o.x2, o.y2],
                    track_id: o.track_id,
                    fresh: analysed && o.tracking.as_ref().is_none_or(|t| t.tracked),
                })
                .collect(),
            temperature: info.temperature,
            throttle_factor: info.throttle_factor,
            zone_events: meta::zone_events(buf)
                .into_iter()
                .map(|e| zone_event_record(e, wall_ms))
                .collect(),
            zones: meta::zone_counters(buf)
                .into_iter()
                .map(zone_totals)
                .collect(),
        };
        state.frames += 1;
        let (events, best) = state.book.observe(&frame);
        if !best.is_empty() && state.pixels.is_some() {
            self.send_snapshots(state, buf, &objects, &best);
        }
        Self::send(state, events);
        Ok(gst::FlowSuccess::Ok)
    }
}
