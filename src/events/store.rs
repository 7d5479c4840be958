// SPDX-License-Identifier: MPL-2.0
//! The SQLite event store: schema, writes, retention, and the queries of the
//! upstream sync. No GStreamer here.
//!
//! # Durability
//!
//! The database is in WAL mode. Every write is one `BEGIN IMMEDIATE`
//! transaction; SQLite's journal makes each one atomic, so a crash or a
//! SIGKILL at any moment leaves the database as of the last commit, never
//! half-written. With [`Synchronous::Full`] (the default) each commit is
//! also flushed to the storage device (`fsync` of the WAL), so it survives a
//! power cut; with [`Synchronous::Normal`] it survives a crash of the
//! process, and a power cut may roll back the last commits (never corrupt).
//!
//! # Rows, sequence numbers and keys
//!
//! Five tables hold events: `tracks`, `counts`, `system_events`,
//! `zone_events` and `zone_counts` (the last two since schema 2). A row
//! becomes *final* when it will not change any more (counts and system
//! events at once, tracks when they end); it then gets, in the same
//! transaction,
//!
//! - `seq`: its stream's next sequence number (1, 2, 3... per `stream_id`,
//!   across all the tables, in commit order);
//! - `gseq`: the database's next global sequence number (the sync order);
//! - `key`: `<database_id>:<stream_id>:<seq>`, unique in the world (the
//!   database id is 128 random bits drawn when the file is created): the
//!   idempotency key a receiver de-duplicates on.
//!
//! Only final rows are synced and only final rows are removed by retention.
//! A track that is still alive has `state = 'alive'` and no `seq`; it is
//! updated in place at every commit, so a crash keeps it as of the last
//! commit. The next run of the same stream closes such rows with
//! `state = 'interrupted'` ([`Store::begin_run`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use serde_json::{Value, json};

/// Version of the schema below, stored in `meta.schema_version`.
/// Version 2 added `zone_events` and `zone_counts`; a version 1 database is
/// migrated when opened (the tables are added, nothing else changes).
pub const SCHEMA_VERSION: i64 = 2;

/// How long a writer waits for another connection's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value
);
CREATE TABLE IF NOT EXISTS streams (
    stream_id TEXT PRIMARY KEY,
    runs      INTEGER NOT NULL DEFAULT 0,
    next_seq  INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS tracks (
    id              INTEGER PRIMARY KEY,
    stream_id       TEXT    NOT NULL,
    run             INTEGER NOT NULL,
    track_id        INTEGER NOT NULL,
    label           TEXT    NOT NULL,
    class_id        INTEGER NOT NULL,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    first_seen_rt   INTEGER,
    last_seen_rt    INTEGER,
    frames          INTEGER NOT NULL,
    best_confidence REAL    NOT NULL,
    best_x1         REAL    NOT NULL,
    best_y1         REAL    NOT NULL,
    best_x2         REAL    NOT NULL,
    best_y2         REAL    NOT NULL,
    best_seen       INTEGER NOT NULL,
    best_seen_rt    INTEGER,
    snapshot        BLOB,
    state           TEXT    NOT NULL,
    end_reason      TEXT,
    seq             INTEGER,
    gseq            INTEGER UNIQUE,
    key             TEXT    UNIQUE,
    synced          INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS counts (
    id          INTEGER PRIMARY KEY,
    stream_id   TEXT    NOT NULL,
    run         INTEGER NOT NULL,
    label       TEXT    NOT NULL,
    start_time  INTEGER NOT NULL,
    end_time    INTEGER NOT NULL,
    start_rt    INTEGER,
    end_rt      INTEGER,
    frames      INTEGER NOT NULL,
    max_count   INTEGER NOT NULL,
    mean_count  REAL    NOT NULL,
    tracks      INTEGER,
    seq         INTEGER NOT NULL,
    gseq        INTEGER NOT NULL UNIQUE,
    key         TEXT    NOT NULL UNIQUE,
    synced      INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS system_events (
    id           INTEGER PRIMARY KEY,
    stream_id    TEXT    NOT NULL,
    run          INTEGER NOT NULL,
    time         INTEGER NOT NULL,
    running_time INTEGER,
    kind         TEXT    NOT NULL,
    message      TEXT,
    level        TEXT,
    temperature  REAL,
    factor       REAL,
    seq          INTEGER NOT NULL,
    gseq         INTEGER NOT NULL UNIQUE,
    key          TEXT    NOT NULL UNIQUE,
    synced       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS zone_events (
    id           INTEGER PRIMARY KEY,
    stream_id    TEXT    NOT NULL,
    run          INTEGER NOT NULL,
    time         INTEGER NOT NULL,
    running_time INTEGER,
    zone         TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    track_id     INTEGER,
    label        TEXT,
    direction    TEXT,
    dwell        REAL,
    occupancy    INTEGER,
    seq          INTEGER NOT NULL,
    gseq         INTEGER NOT NULL UNIQUE,
    key          TEXT    NOT NULL UNIQUE,
    synced       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS zone_counts (
    id             INTEGER PRIMARY KEY,
    stream_id      TEXT    NOT NULL,
    run            INTEGER NOT NULL,
    zone           TEXT    NOT NULL,
    zone_kind      TEXT    NOT NULL,
    start_time     INTEGER NOT NULL,
    end_time       INTEGER NOT NULL,
    start_rt       INTEGER,
    end_rt         INTEGER,
    crossed_in     INTEGER NOT NULL,
    crossed_out    INTEGER NOT NULL,
    entered        INTEGER NOT NULL,
    exited         INTEGER NOT NULL,
    occupancy      INTEGER NOT NULL,
    max_occupancy  INTEGER NOT NULL,
    total_in       INTEGER NOT NULL,
    total_out      INTEGER NOT NULL,
    total_entered  INTEGER NOT NULL,
    total_exited   INTEGER NOT NULL,
    labels         TEXT    NOT NULL,
    seq            INTEGER NOT NULL,
    gseq           INTEGER NOT NULL UNIQUE,
    key            TEXT    NOT NULL UNIQUE,
    synced         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tracks_unsynced ON tracks (stream_id, gseq)
    WHERE synced = 0 AND gseq IS NOT NULL;
CREATE INDEX IF NOT EXISTS counts_unsynced ON counts (stream_id, gseq) WHERE synced = 0;
CREATE INDEX IF NOT EXISTS system_events_unsynced ON system_events (stream_id, gseq)
    WHERE synced = 0;
CREATE INDEX IF NOT EXISTS tracks_alive ON tracks (stream_id) WHERE state = 'alive';
CREATE INDEX IF NOT EXISTS tracks_last_seen ON tracks (last_seen);
CREATE INDEX IF NOT EXISTS counts_end_time ON counts (end_time);
CREATE INDEX IF NOT EXISTS system_events_time ON system_events (time);
CREATE INDEX IF NOT EXISTS zone_events_unsynced ON zone_events (stream_id, gseq) WHERE synced = 0;
CREATE INDEX IF NOT EXISTS zone_counts_unsynced ON zone_counts (stream_id, gseq) WHERE synced = 0;
CREATE INDEX IF NOT EXISTS zone_events_time ON zone_events (time);
CREATE INDEX IF NOT EXISTS zone_counts_end_time ON zone_counts (end_time);
"#;

/// `PRAGMA synchronous` of the event database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// Durable across a crash or SIGKILL of the process; a power cut may
    /// roll back the last commits (the database stays consistent).
    Normal,
    /// Also durable across a power cut: the WAL is flushed at every commit.
    #[default]
    Full,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// A store error, with a message that says what happened and what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreError {
    pub message: String,
    /// The disk (or the file size limit) is full.
    pub full: bool,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

fn store_error(path: &Path, doing: &str, e: rusqlite::Error) -> StoreError {
    let code = e.sqlite_error_code();
    let hint = match code {
        Some(ErrorCode::DiskFull) => {
            "the disk is full (or a file size limit was reached): free space, or lower retention-size"
        }
        Some(ErrorCode::ReadOnly) | Some(ErrorCode::PermissionDenied) => {
            "the database or its folder is read-only: choose a writable location"
        }
        Some(ErrorCode::CannotOpen) => {
            "the file cannot be opened or created: check that its folder exists and is writable"
        }
        Some(ErrorCode::SystemIoFailure) => {
            "an I/O error: the disk may be full, read-only, failing, or a file size limit was reached"
        }
        Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => {
            "another connection held the database for too long"
        }
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
            "the file is not an SQLite database or is damaged: move it away or choose another location"
        }
        _ => "see the message above",
    };
    StoreError {
        message: format!(
            "cannot {doing} event database {}: {e}; {hint}",
            path.display()
        ),
        full: matches!(
            code,
            Some(ErrorCode::DiskFull) | Some(ErrorCode::SystemIoFailure)
        ),
    }
}

/// Why a track ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// Not seen for `track-timeout`.
    Timeout,
    /// End of stream.
    Eos,
    /// The element stopped before the end of the stream.
    Stop,
    /// The process died with the track alive; closed by the next run.
    Interrupted,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Timeout => "timeout",
            EndReason::Eos => "eos",
            EndReason::Stop => "stop",
            EndReason::Interrupted => "interrupted",
        }
    }
}

/// One track. Wall-clock times are milliseconds since the Unix epoch (UTC),
/// running times nanoseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackRecord {
    pub track_id: u64,
    /// Label of the best detection.
    pub label: String,
    pub class_id: i32,
    pub first_seen: i64,
    pub last_seen: i64,
    pub first_seen_rt: Option<u64>,
    pub last_seen_rt: Option<u64>,
    /// Frames with a fresh detection of this track (predicted boxes not counted).
    pub frames: u64,
    pub best_confidence: f64,
    /// `[x1, y1, x2, y2]` in frame pixels.
    pub best_box: [f64; 4],
    pub best_seen: i64,
    pub best_seen_rt: Option<u64>,
    /// `None` while the track is alive.
    pub end: Option<EndReason>,
}

/// Objects of one label over one `count-interval` window.
#[derive(Debug, Clone, PartialEq)]
pub struct CountRecord {
    pub label: String,
    /// Wall clock of the first and the last frame of the window.
    pub start_time: i64,
    pub end_time: i64,
    pub start_rt: Option<u64>,
    pub end_rt: Option<u64>,
    /// Frames with fresh detections in the window.
    pub frames: u64,
    /// Most objects of this label on one frame.
    pub max_count: u64,
    /// Objects of this label per frame, on average over `frames`.
    pub mean_count: f64,
    /// Distinct track ids of this label; `None` when no object had one.
    pub tracks: Option<u64>,
}

/// A system event: `start`, `stop`, `thermal`, `error`, `recovered`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SystemRecord {
    pub time: i64,
    pub running_time: Option<u64>,
    pub kind: String,
    pub message: Option<String>,
    pub level: Option<String>,
    pub temperature: Option<f64>,
    pub factor: Option<f64>,
}

/// The event tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Tracks,
    Counts,
    SystemEvents,
    ZoneEvents,
    ZoneCounts,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Tracks => "tracks",
            Table::Counts => "counts",
            Table::SystemEvents => "system_events",
            Table::ZoneEvents => "zone_events",
            Table::ZoneCounts => "zone_counts",
        }
    }
}

/// One event of one zone (`edgezones`): a line crossing, a polygon's
/// enter / exit / overcrowded / cleared / loitering.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZoneEventRecord {
    /// Wall clock of the frame that carried the event.
    pub time: i64,
    /// Running time of the event, as `edgezones` stamped it.
    pub running_time: Option<u64>,
    pub zone: String,
    /// `crossing`, `enter`, `exit`, `overcrowded`, `cleared`, `loitering`.
    pub kind: String,
    /// `None` for `overcrowded` / `cleared`.
    pub track_id: Option<u64>,
    /// `None` for `overcrowded` / `cleared`.
    pub label: Option<String>,
    /// `in` / `out` for crossings.
    pub direction: Option<String>,
    /// `exit` and `loitering`: seconds inside.
    pub dwell: Option<f64>,
    /// Polygons: occupancy after the event.
    pub occupancy: Option<u32>,
}

/// Per-label counters of a zone over a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ZoneLabelCounts {
    #[serde(rename = "in")]
    pub crossed_in: u64,
    #[serde(rename = "out")]
    pub crossed_out: u64,
    /// At the end of the window.
    pub occupancy: u32,
}

/// One zone's counters over one `count-interval` window: what happened in
/// the window (`crossed_in`...`exited`, `max_occupancy`), the occupancy at
/// its end, and the element's running totals at its end.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZoneCountRecord {
    pub zone: String,
    /// `line` or `polygon`.
    pub zone_kind: String,
    pub start_time: i64,
    pub end_time: i64,
    pub start_rt: Option<u64>,
    pub end_rt: Option<u64>,
    pub crossed_in: u64,
    pub crossed_out: u64,
    pub entered: u64,
    pub exited: u64,
    pub occupancy: u32,
    pub max_occupancy: u32,
    pub total_in: u64,
    pub total_out: u64,
    pub total_entered: u64,
    pub total_exited: u64,
    /// Per label: crossings in the window, occupancy at its end.
    pub labels: std::collections::BTreeMap<String, ZoneLabelCounts>,
}

/// A final row waiting to be synced, as its JSON event.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub table: Table,
    pub id: i64,
    pub gseq: i64,
    pub seq: i64,
    pub event: Value,
}

/// What one retention pass removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retained {
    pub deleted: u64,
    /// Of which not yet synced (lost to the receiver).
    pub deleted_unsynced: u64,
}

/// One connection to the event database, for one stream.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    stream_id: String,
    database_id: String,
    run: i64,
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn opt_i64(v: Option<u64>) -> Option<i64> {
    v.map(to_i64)
}

impl Store {
    /// Opens (creating if needed) the database at `path` for `stream_id`.
    pub fn open(path: &Path, stream_id: &str, sync: Synchronous) -> Result<Store, StoreError> {
        let err = |doing: &str, e| store_error(path, doing, e);
        let conn = Connection::open(path).map_err(|e| err("open", e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| err("configure", e))?;
        // Takes effect only while the file is empty (before the first table).
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
            .map_err(|e| err("configure", e))?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(|e| err("open", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError {
                message: format!(
                    "cannot put event database {} in WAL mode (got {mode}): choose a location on a local file system",
                    path.display()
                ),
                full: false,
            });
        }
        conn.pragma_update(None, "synchronous", sync.pragma())
            .map_err(|e| err("configure", e))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            stream_id: stream_id.to_string(),
            database_id: String::new(),
            run: 0,
        };
        store.create_schema()?;
        Ok(store)
    }

    fn err(&self, doing: &str, e: rusqlite::Error) -> StoreError {
        store_error(&self.path, doing, e)
    }

    fn create_schema(&mut self) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| store_error(&self.path, "write to", e))?;
        let result: rusqlite::Result<(Option<i64>, String)> = (|| {
            tx.execute_batch(SCHEMA)?;
            tx.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?1)",
                [SCHEMA_VERSION],
            )?;
            tx.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('database_id', lower(hex(randomblob(16))))",
                [],
            )?;
            tx.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('next_gseq', 1)",
                [],
            )?;
            let mut version = tx
                .query_row(
                    "SELECT value FROM meta WHERE key = 'schema_version'",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .optional()?;
            // Version 1 -> 2: the zone tables, created above by the schema's
            // `IF NOT EXISTS`; the older tables are unchanged.
            if version == Some(1) {
                tx.execute(
                    "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
                    [SCHEMA_VERSION],
                )?;
                version = Some(SCHEMA_VERSION);
            }
            let id = tx.query_row(
                "SELECT value FROM meta WHERE key = 'database_id'",
                [],
                |r| r.get::<_, String>(0),
            )?;
            Ok((version, id))
        })();
        let (version, id) =
            result.map_err(|e| store_error(&self.path, "create the schema of", e))?;
        if version != Some(SCHEMA_VERSION) {
            return Err(StoreError {
                message: format!(
                    "event database {} has schema version {version:?}, this element writes version {SCHEMA_VERSION}: choose another location",
                    self.path.display()
                ),
                full: false,
            });
        }
        tx.commit()
            .map_err(|e| store_error(&self.path, "write to", e))?;
        self.database_id = id;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn stream_id(&self) -> &str {
        &self.stream_id
    }

    /// 32 hex digits drawn when the database was created.
    pub fn database_id(&self) -> &str {
        &self.database_id
    }

    /// The run number of this stream set by [`Store::begin_run`] (0 before).
    pub fn run(&self) -> i64 {
        self.run
    }

    /// Starts a new run of the stream: counts it, and closes the tracks a
    /// previous run left alive (the process died) as `interrupted`. Returns
    /// the run number and how many tracks were closed.
    pub fn begin_run(&mut self) -> Result<(i64, u64), StoreError> {
        let stream = self.stream_id.clone();
        let db = self.database_id.clone();
        let (run, recovered) = self.write_raw(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO streams (stream_id) VALUES (?1)",
                [&stream],
            )?;
            let run: i64 = tx.query_row(
                "UPDATE streams SET runs = runs + 1 WHERE stream_id = ?1 RETURNING runs",
                [&stream],
                |r| r.get(0),
            )?;
            let ids: Vec<i64> = {
                let mut st = tx.prepare(
                    "SELECT id FROM tracks WHERE stream_id = ?1 AND state = 'alive' ORDER BY id",
                )?;
                st.query_map([&stream], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?
            };
            for id in &ids {
                let (seq, gseq) = next_seqs(tx, &stream)?;
                tx.execute(
                    "UPDATE tracks SET state = 'interrupted', end_reason = 'interrupted', seq = ?2,
                         gseq = ?3, key = ?4 WHERE id = ?1",
                    params![id, seq, gseq, event_key(&db, &stream, seq)],
                )?;
            }
            Ok((run, ids.len() as u64))
        })?;
        self.run = run;
        Ok((run, recovered))
    }

    fn write_raw<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| store_error(&self.path, "write to", e))?;
        let value = f(&tx).map_err(|e| store_error(&self.path, "write to", e))?;
        tx.commit()
            .map_err(|e| store_error(&self.path, "write to", e))?;
        Ok(value)
    }

    /// Runs `f` in one write transaction: all of its writes are committed
    /// together, or (on error) none.
    pub fn write<T>(
        &mut self,
        f: impl FnOnce(&Batch<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let stream = self.stream_id.clone();
        let db = self.database_id.clone();
        let run = self.run;
        self.write_raw(|tx| {
            let batch = Batch {
                tx,
                stream_id: &stream,
                database_id: &db,
                run,
            };
            f(&batch)
        })
    }

    /// Up to `limit` final rows of this stream not yet synced, in commit
    /// order, read in one transaction (a consistent snapshot).
    pub fn unsynced(&mut self, limit: usize) -> Result<Vec<Outgoing>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let stream = self.stream_id.clone();
        let db = self.database_id.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(|e| store_error(&self.path, "read", e))?;
        let read = (|| -> rusqlite::Result<Vec<Outgoing>> {
            let mut rows = Vec::new();
            rows.extend(read_tracks(&tx, &stream, &db, limit)?);
            rows.extend(read_counts(&tx, &stream, &db, limit)?);
            rows.extend(read_system(&tx, &stream, &db, limit)?);
            rows.extend(read_zone_events(&tx, &stream, &db, limit)?);
            rows.extend(read_zone_counts(&tx, &stream, &db, limit)?);
            rows.sort_by_key(|r| r.gseq);
            rows.truncate(limit as usize);
            Ok(rows)
        })();
        let rows = read.map_err(|e| store_error(&self.path, "read", e))?;
        tx.commit()
            .map_err(|e| store_error(&self.path, "read", e))?;
        Ok(rows)
    }

    /// Marks rows as delivered.
    pub fn mark_synced(&mut self, rows: &[(Table, i64)]) -> Result<(), StoreError> {
        self.write_raw(|tx| {
            for (table, id) in rows {
                tx.execute(
                    &format!("UPDATE {} SET synced = 1 WHERE id = ?1", table.name()),
                    [id],
                )?;
            }
            Ok(())
        })
    }

    /// Final rows of this stream not yet synced.
    pub fn unsynced_count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row(
                "SELECT (SELECT count(*) FROM tracks WHERE stream_id = ?1 AND synced = 0 AND gseq IS NOT NULL)
                      + (SELECT count(*) FROM counts WHERE stream_id = ?1 AND synced = 0)
                      + (SELECT count(*) FROM system_events WHERE stream_id = ?1 AND synced = 0)
                      + (SELECT count(*) FROM zone_events WHERE stream_id = ?1 AND synced = 0)
                      + (SELECT count(*) FROM zone_counts WHERE stream_id = ?1 AND synced = 0)",
                [&self.stream_id],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as u64)
            .map_err(|e| self.err("read", e))
    }

    /// Bytes the database's pages hold (free pages and the WAL not counted).
    pub fn used_bytes(&self) -> Result<u64, StoreError> {
        let q = |name: &str| -> Result<i64, StoreError> {
            self.conn
                .pragma_query_value(None, name, |r| r.get(0))
                .map_err(|e| self.err("read", e))
        };
        let pages = q("page_count")? - q("freelist_count")?;
        Ok((pages.max(0) as u64) * (q("page_size")?.max(0) as u64))
    }

    /// Deletes final rows of every stream, oldest first: those older than
    /// `max_age_ms` (by their last time), then more until the database holds
    /// at most `max_bytes`. Alive tracks are never deleted.
    pub fn apply_retention(
        &mut self,
        now_ms: i64,
        max_age_ms: Option<i64>,
        max_bytes: Option<u64>,
    ) -> Result<Retained, StoreError> {
        let mut out = Retained::default();
        if let Some(age) = max_age_ms {
            let cutoff = now_ms.saturating_sub(age);
            let r = self.write_raw(|tx| {
                let mut r = Retained::default();
                for (table, time) in [
                    ("tracks", "last_seen"),
                    ("counts", "end_time"),
                    ("system_events", "time"),
                    ("zone_events", "time"),
                    ("zone_counts", "end_time"),
                ] {
                    let cond = format!("{time} < ?1 AND gseq IS NOT NULL");
                    r.deleted_unsynced += tx.query_row(
                        &format!("SELECT count(*) FROM {table} WHERE {cond} AND synced = 0"),
                        [cutoff],
                        |row| row.get::<_, i64>(0),
                    )? as u64;
                    r.deleted +=
                        tx.execute(&format!("DELETE FROM {table} WHERE {cond}"), [cutoff])? as u64;
                }
                Ok(r)
            })?;
            out.deleted += r.deleted;
            out.deleted_unsynced += r.deleted_unsynced;
        }
        if let Some(limit) = max_bytes {
            loop {
                let used = self.used_bytes()?;
                if used <= limit {
                    break;
                }
                // Delete about as many rows as the excess holds, by the
                // average row size (pages of indices included).
                let rows: i64 = self
                    .conn
                    .query_row(
                        "SELECT (SELECT count(*) FROM tracks) + (SELECT count(*) FROM counts)
                              + (SELECT count(*) FROM system_events)
                              + (SELECT count(*) FROM zone_events)
                              + (SELECT count(*) FROM zone_counts)",
                        [],
                        |r| r.get(0),
                    )
                    .map_err(|e| self.err("read", e))?;
                let avg = used / (rows.max(1) as u64);
                let n = (used - limit).div_ceil(avg.max(1)).clamp(1, 10_000) as i64;
                let r = self.write_raw(|tx| {
                    let victims: Vec<(String, i64, bool)> = {
                        let mut st = tx.prepare(
                            "SELECT t, id, synced FROM (
                                 SELECT 'tracks' AS t, id, last_seen AS ts, gseq, synced FROM tracks
                                     WHERE gseq IS NOT NULL
                                 UNION ALL SELECT 'counts', id, end_time, gseq, synced FROM counts
                                 UNION ALL SELECT 'system_events', id, time, gseq, synced FROM system_events
                                 UNION ALL SELECT 'zone_events', id, time, gseq, synced FROM zone_events
                                 UNION ALL SELECT 'zone_counts', id, end_time, gseq, synced FROM zone_counts)
                             ORDER BY ts, gseq LIMIT ?1",
                        )?;
                        st.query_map([n], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? != 0)))?
                            .collect::<rusqlite::Result<_>>()?
                    };
                    let mut r = Retained::default();
                    for (table, id, synced) in &victims {
                        tx.execute(&format!("DELETE FROM {table} WHERE id = ?1"), [id])?;
                        r.deleted += 1;
                        if !synced {
                            r.deleted_unsynced += 1;
                        }
                    }
                    Ok(r)
                })?;
                out.deleted += r.deleted;
                out.deleted_unsynced += r.deleted_unsynced;
                if r.deleted == 0 {
                    break;
                }
            }
        }
        if out.deleted > 0 {
            // Give the freed pages back to the file system.
            // (one page per step: run the statement to its end).
            let vacuum = (|| -> rusqlite::Result<()> {
                let mut st = self.conn.prepare("PRAGMA incremental_vacuum")?;
                let mut rows = st.query([])?;
                while rows.next()?.is_some() {}
                Ok(())
            })();
            vacuum.map_err(|e| self.err("vacuum", e))?;
        }
        Ok(out)
    }

    /// The underlying connection (for tests and tools).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

fn event_key(database_id: &str, stream_id: &str, seq: i64) -> String {
    format!("{database_id}:{stream_id}:{seq}")
}

/// Allocates the stream's next `seq` and the database's next `gseq`.
fn next_seqs(tx: &rusqlite::Transaction<'_>, stream: &str) -> rusqlite::Result<(i64, i64)> {
    tx.execute(
        "INSERT OR IGNORE INTO streams (stream_id) VALUES (?1)",
        [stream],
    )?;
    let seq = tx.query_row(
        "UPDATE streams SET next_seq = next_seq + 1 WHERE stream_id = ?1 RETURNING next_seq - 1",
        [stream],
        |r| r.get(0),
    )?;
    let gseq = tx.query_row(
        "UPDATE meta SET value = value + 1 WHERE key = 'next_gseq' RETURNING value - 1",
        [],
        |r| r.get(0),
    )?;
    Ok((seq, gseq))
}

/// The writes of one transaction (see [`Store::write`]).
pub struct Batch<'a> {
    tx: &'a rusqlite::Transaction<'a>,
    stream_id: &'a str,
    database_id: &'a str,
    run: i64,
}

impl Batch<'_> {
    /// Inserts (`row_id == None`) or updates a track; a track with an end
    /// reason becomes final (gets its seq and key). `snapshot`: `Some` sets
    /// the JPEG, `None` keeps the stored one. Returns the row id.
    pub fn upsert_track(
        &self,
        row_id: Option<i64>,
        t: &TrackRecord,
        snapshot: Option<&[u8]>,
    ) -> rusqlite::Result<i64> {
        let state = t.end.map_or("alive", |_| "ended");
        let id = match row_id {
            Some(id) => {
                self.tx.execute(
                    "UPDATE tracks SET label = ?2, class_id = ?3, last_seen = ?4, last_seen_rt = ?5,
                         frames = ?6, best_confidence = ?7, best_x1 = ?8, best_y1 = ?9,
                         best_x2 = ?10, best_y2 = ?11, best_seen = ?12, best_seen_rt = ?13,
                         state = ?14, snapshot = coalesce(?15, snapshot), end_reason = ?16
                     WHERE id = ?1",
                    params![
                        id,
                        t.label,
                        t.class_id,
                        t.last_seen,
                        opt_i64(t.last_seen_rt),
                        to_i64(t.frames),
                        t.best_confidence,
                        t.best_box[0],
                        t.best_box[1],
                        t.best_box[2],
                        t.best_box[3],
                        t.best_seen,
                        opt_i64(t.best_seen_rt),
                        state,
                        snapshot,
                        t.end.map(EndReason::as_str),
                    ],
                )?;
                id
            }
            None => {
                self.tx.execute(
                    "INSERT INTO tracks (stream_id, run, track_id, label, class_id, first_seen,
                         last_seen, first_seen_rt, last_seen_rt, frames, best_confidence, best_x1,
                         best_y1, best_x2, best_y2, best_seen, best_seen_rt, snapshot, state,
                         end_reason)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                         ?16, ?17, ?18, ?19, ?20)",
                    params![
                        self.stream_id,
                        self.run,
                        to_i64(t.track_id),
                        t.label,
                        t.class_id,
                        t.first_seen,
                        t.last_seen,
                        opt_i64(t.first_seen_rt),
                        opt_i64(t.last_seen_rt),
                        to_i64(t.frames),
                        t.best_confidence,
                        t.best_box[0],
                        t.best_box[1],
                        t.best_box[2],
                        t.best_box[3],
                        t.best_seen,
                        opt_i64(t.best_seen_rt),
                        snapshot,
                        state,
                        t.end.map(EndReason::as_str),
                    ],
                )?;
                self.tx.last_insert_rowid()
            }
        };
        if t.end.is_some() {
            let (seq, gseq) = next_seqs(self.tx, self.stream_id)?;
            self.tx.execute(
                "UPDATE tracks SET seq = ?2, gseq = ?3, key = ?4 WHERE id = ?1",
                params![
                    id,
                    seq,
                    gseq,
                    event_key(self.database_id, self.stream_id, seq)
                ],
            )?;
        }
        Ok(id)
    }

    pub fn insert_count(&self, c: &CountRecord) -> rusqlite::Result<i64> {
        let (seq, gseq) = next_seqs(self.tx, self.stream_id)?;
        self.tx.execute(
            "INSERT INTO counts (stream_id, run, label, start_time, end_time, start_rt, end_rt,
                 frames, max_count, mean_count, tracks, seq, gseq, key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                self.stream_id,
                self.run,
                c.label,
                c.start_time,
                c.end_time,
                opt_i64(c.start_rt),
                opt_i64(c.end_rt),
                to_i64(c.frames),
                to_i64(c.max_count),
                c.mean_count,
                opt_i64(c.tracks),
                seq,
                gseq,
                event_key(self.database_id, self.stream_id, seq),
            ],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    pub fn insert_system(&self, e: &SystemRecord) -> rusqlite::Result<i64> {
        let (seq, gseq) = next_seqs(self.tx, self.stream_id)?;
        self.tx.execute(
            "INSERT INTO system_events (stream_id, run, time, running_time, kind, message, level,
                 temperature, factor, seq, gseq, key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                self.stream_id,
                self.run,
                e.time,
                opt_i64(e.running_time),
                e.kind,
                e.message,
                e.level,
                e.temperature,
                e.factor,
                seq,
                gseq,
                event_key(self.database_id, self.stream_id, seq),
            ],
        )?;
        Ok(self.tx.last_insert_rowid())
    }
}

impl Batch<'_> {
    pub fn insert_zone_event(&self, e: &ZoneEventRecord) -> rusqlite::Result<i64> {
        let (seq, gseq) = next_seqs(self.tx, self.stream_id)?;
        self.tx.execute(
            "INSERT INTO zone_events (stream_id, run, time, running_time, zone, kind, track_id,
                 label, direction, dwell, occupancy, seq, gseq, key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                self.stream_id,
                self.run,
                e.time,
                opt_i64(e.running_time),
                e.zone,
                e.kind,
                opt_i64(e.track_id),
                e.label,
                e.direction,
                e.dwell,
                e.occupancy,
                seq,
                gseq,
                event_key(self.database_id, self.stream_id, seq),
            ],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    pub fn insert_zone_count(&self, c: &ZoneCountRecord) -> rusqlite::Result<i64> {
        let (seq, gseq) = next_seqs(self.tx, self.stream_id)?;
        // A map of small structs always serializes.
        let labels = serde_json::to_string(&c.labels).unwrap_or_else(|_| "{}".into());
        self.tx.execute(
            "INSERT INTO zone_counts (stream_id, run, zone, zone_kind, start_time, end_time,
                 start_rt, end_rt, crossed_in, crossed_out, entered, exited, occupancy,
                 max_occupancy, total_in, total_out, total_entered, total_exited, labels, seq,
                 gseq, key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?19, ?20, ?21, ?22)",
            params![
                self.stream_id,
                self.run,
                c.zone,
                c.zone_kind,
                c.start_time,
                c.end_time,
                opt_i64(c.start_rt),
                opt_i64(c.end_rt),
                to_i64(c.crossed_in),
                to_i64(c.crossed_out),
                to_i64(c.entered),
                to_i64(c.exited),
                c.occupancy,
                c.max_occupancy,
                to_i64(c.total_in),
                to_i64(c.total_out),
                to_i64(c.total_entered),
                to_i64(c.total_exited),
                labels,
                seq,
                gseq,
                event_key(self.database_id, self.stream_id, seq),
            ],
        )?;
        Ok(self.tx.last_insert_rowid())
    }
}

/// Up to `limit` rows of `table` of this stream not yet synced, in commit
/// order, as outgoing events of type `kind`. Every table starts with the
/// columns `id, gseq, seq, key, run` (indices 0–4), which give the common
/// fields; `columns` follow from index 5 and `fields` turns them into the
/// rest of the event (a JSON object).
#[allow(clippy::too_many_arguments)]
fn read_unsynced(
    tx: &rusqlite::Transaction<'_>,
    table: Table,
    kind: &str,
    columns: &str,
    stream: &str,
    db: &str,
    limit: i64,
    fields: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<Value>,
) -> rusqlite::Result<Vec<Outgoing>> {
    // A track row gets its `gseq` when it becomes final (ended or
    // interrupted); alive tracks are not sent.
    let final_only = if table == Table::Tracks {
        " AND gseq IS NOT NULL"
    } else {
        ""
    };
    let mut st = tx.prepare(&format!(
        "SELECT id, gseq, seq, key, run, {columns} FROM {} \
         WHERE stream_id = ?1 AND synced = 0{final_only} ORDER BY gseq LIMIT ?2",
        table.name()
    ))?;
    let rows = st.query_map(params![stream, limit], |r| {
        let mut event = json!({
            "key": r.get::<_, String>(3)?,
            "database_id": db,
            "stream_id": stream,
            "seq": r.get::<_, i64>(2)?,
            "type": kind,
            "run": r.get::<_, i64>(4)?,
        });
        if let (Value::Object(common), Value::Object(rest)) = (&mut event, fields(r)?) {
            common.extend(rest);
        }
        Ok(Outgoing {
            table,
            id: r.get(0)?,
            gseq: r.get(1)?,
            seq: r.get(2)?,
            event,
        })
    })?;
    rows.collect()
}

fn read_zone_events(
    tx: &rusqlite::Transaction<'_>,
    stream: &str,
    db: &str,
    limit: i64,
) -> rusqlite::Result<Vec<Outgoing>> {
    read_unsynced(
        tx,
        Table::ZoneEvents,
        "zone_event",
        "time, running_time, zone, kind, track_id, label, direction, dwell, occupancy",
        stream,
        db,
        limit,
        |r| {
            Ok(json!({
                "time": r.get::<_, i64>(5)?,
                "running_time": r.get::<_, Option<i64>>(6)?,
                "zone": r.get::<_, String>(7)?,
                "kind": r.get::<_, String>(8)?,
                "track_id": r.get::<_, Option<i64>>(9)?,
                "label": r.get::<_, Option<String>>(10)?,
                "direction": r.get::<_, Option<String>>(11)?,
                "dwell": r.get::<_, Option<f64>>(12)?,
                "occupancy": r.get::<_, Option<i64>>(13)?,
            }))
        },
    )
}

fn read_zone_counts(
    tx: &rusqlite::Transaction<'_>,
    stream: &str,
    db: &str,
    limit: i64,
) -> rusqlite::Result<Vec<Outgoing>> {
    read_unsynced(
        tx,
        Table::ZoneCounts,
        "zone_count",
        "zone, zone_kind, start_time, end_time, start_rt, end_rt, crossed_in, crossed_out, \
         entered, exited, occupancy, max_occupancy, total_in, total_out, total_entered, \
         total_exited, labels",
        stream,
        db,
        limit,
        |r| {
            let labels: Value =
                serde_json::from_str(&r.get::<_, String>(21)?).unwrap_or_else(|_| json!({}));
            Ok(json!({
                "zone": r.get::<_, String>(5)?,
                "zone_kind": r.get::<_, String>(6)?,
                "start_time": r.get::<_, i64>(7)?,
                "end_time": r.get::<_, i64>(8)?,
                "start_rt": r.get::<_, Option<i64>>(9)?,
                "end_rt": r.get::<_, Option<i64>>(10)?,
                "in": r.get::<_, i64>(11)?,
                "out": r.get::<_, i64>(12)?,
                "entered": r.get::<_, i64>(13)?,
                "exited": r.get::<_, i64>(14)?,
                "occupancy": r.get::<_, i64>(15)?,
                "max_occupancy": r.get::<_, i64>(16)?,
                "total_in": r.get::<_, i64>(17)?,
                "total_out": r.get::<_, i64>(18)?,
                "total_entered": r.get::<_, i64>(19)?,
                "total_exited": r.get::<_, i64>(20)?,
                "labels": labels,
            }))
        },
    )
}

fn read_tracks(
    tx: &rusqlite::Transaction<'_>,
    stream: &str,
    db: &str,
    limit: i64,
) -> rusqlite::Result<Vec<Outgoing>> {
    use base64::Engine as _;
    read_unsynced(
        tx,
        Table::Tracks,
        "track",
        "track_id, label, class_id, first_seen, last_seen, first_seen_rt, last_seen_rt, frames, \
         best_confidence, best_x1, best_y1, best_x2, best_y2, best_seen, best_seen_rt, state, \
         snapshot, end_reason",
        stream,
        db,
        limit,
        |r| {
            let snapshot: Option<Vec<u8>> = r.get(21)?;
            let mut fields = json!({
                "track_id": r.get::<_, i64>(5)?,
                "label": r.get::<_, String>(6)?,
                "class_id": r.get::<_, i64>(7)?,
                "first_seen": r.get::<_, i64>(8)?,
                "last_seen": r.get::<_, i64>(9)?,
                "first_seen_rt": r.get::<_, Option<i64>>(10)?,
                "last_seen_rt": r.get::<_, Option<i64>>(11)?,
                "frames": r.get::<_, i64>(12)?,
                "best_confidence": r.get::<_, f64>(13)?,
                "best_box": [
                    r.get::<_, f64>(14)?,
                    r.get::<_, f64>(15)?,
                    r.get::<_, f64>(16)?,
                    r.get::<_, f64>(17)?
                ],
                "best_seen": r.get::<_, i64>(18)?,
                "best_seen_rt": r.get::<_, Option<i64>>(19)?,
                "state": r.get::<_, String>(20)?,
                "end_reason": r.get::<_, Option<String>>(22)?,
            });
            if let Some(jpeg) = snapshot {
                fields["snapshot_jpeg"] =
                    Value::String(base64::engine::general_purpose::STANDARD.encode(jpeg));
            }
            Ok(fields)
        },
    )
}

fn read_counts(
    tx: &rusqlite::Transaction<'_>,
    stream: &str,
    db: &str,
    limit: i64,
) -> rusqlite::Result<Vec<Outgoing>> {
    read_unsynced(
        tx,
        Table::Counts,
        "count",
        "label, start_time, end_time, start_rt, end_rt, frames, max_count, mean_count, tracks",
        stream,
        db,
        limit,
        |r| {
            Ok(json!({
                "label": r.get::<_, String>(5)?,
                "start_time": r.get::<_, i64>(6)?,
                "end_time": r.get::<_, i64>(7)?,
                "start_rt": r.get::<_, Option<i64>>(8)?,
                "end_rt": r.get::<_, Option<i64>>(9)?,
                "frames": r.get::<_, i64>(10)?,
                "max_count": r.get::<_, i64>(11)?,
                "mean_count": r.get::<_, f64>(12)?,
                "tracks": r.get::<_, Option<i64>>(13)?,
            }))
        },
    )
}

fn read_system(
    tx: &rusqlite::Transaction<'_>,
    stream: &str,
    db: &str,
    limit: i64,
) -> rusqlite::Result<Vec<Outgoing>> {
    read_unsynced(
        tx,
        Table::SystemEvents,
        "system",
        "time, running_time, kind, message, level, temperature, factor",
        stream,
        db,
        limit,
        |r| {
            Ok(json!({
                "time": r.get::<_, i64>(5)?,
                "running_time": r.get::<_, Option<i64>>(6)?,
                "kind": r.get::<_, String>(7)?,
                "message": r.get::<_, Option<String>>(8)?,
                "level": r.get::<_, Option<String>>(9)?,
                "temperature": r.get::<_, Option<f64>>(10)?,
                "factor": r.get::<_, Option<f64>>(11)?,
            }))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("edgeevents-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("events.db")
    }

    pub(crate) fn track(id: u64, end: Option<EndReason>, t: i64) -> TrackRecord {
        TrackRecord {
            track_id: id,
            label: "person".into(),
            class_id: 0,
            first_seen: t,
            last_seen: t + 1000,
            first_seen_rt: Some(0),
            last_seen_rt: Some(1_000_000_000),
            frames: 10,
            best_confidence: 0.9,
            best_box: [1.0, 2.0, 3.0, 4.0],
            best_seen: t + 500,
            best_seen_rt: Some(500_000_000),
            end,
        }
    }

    fn system(kind: &str, t: i64) -> SystemRecord {
        SystemRecord {
            time: t,
            kind: kind.into(),
            ..Default::default()
        }
    }

    fn count(label: &str, t: i64) -> CountRecord {
        CountRecord {
            label: label.into(),
            start_time: t,
            end_time: t + 999,
            start_rt: Some(0),
            end_rt: Some(1_000_000_000),
            frames: 10,
            max_count: 2,
            mean_count: 1.5,
            tracks: None,
        }
    }

    #[test]
    fn schema_wal_and_keys() {
        let path = temp_db("schema");
        let mut s = Store::open(&path, "cam1", Synchronous::Full).unwrap();
        let mode: String = s
            .connection()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = s
            .connection()
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "FULL");
        assert_eq!(s.database_id().len(), 32);
        assert_eq!(s.begin_run().unwrap(), (1, 0));
        s.write(|b| {
            b.insert_system(&system("start", 1))?;
            b.upsert_track(None, &track(7, None, 10), None)?;
            b.insert_count(&count("person", 20))?;
            Ok(())
        })
        .unwrap();
        // The alive track is not final: seq 1 and 2 went to the others.
        let rows = s.unsynced(100).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(rows[0].event["type"], "system");
        assert_eq!(rows[1].event["type"], "count");
        assert_eq!(rows[1].event["key"], format!("{}:cam1:2", s.database_id()));
        // Reopening keeps the id and the numbering.
        let id = s.database_id().to_string();
        drop(s);
        let mut s = Store::open(&path, "cam1", Synchronous::Normal).unwrap();
        assert_eq!(s.database_id(), id);
        // The alive track of run 1 is closed as interrupted by run 2.
        assert_eq!(s.begin_run().unwrap(), (2, 1));
        let rows = s.unsynced(100).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2].event["type"], "track");
        assert_eq!(rows[2].event["state"], "interrupted");
        assert_eq!(rows[2].event["end_reason"], "interrupted");
        assert_eq!(rows[2].event["track_id"], 7);
        assert_eq!(rows[2].seq, 3);
        assert_eq!(rows[2].event["best_box"], json!([1.0, 2.0, 3.0, 4.0]));
    }

    #[test]
    fn upsert_then_end_and_sync_marks() {
        let path = temp_db("upsert");
        let mut s = Store::open(&path, "a", Synchronous::Full).unwrap();
        s.begin_run().unwrap();
        let mut t = track(3, None, 100);
        let id = s
            .write(|b| b.upsert_track(None, &t, Some(b"jpeg1")))
            .unwrap();
        t.frames = 20;
        t.last_seen = 5000;
        t.end = Some(EndReason::Eos);
        s.write(|b| b.upsert_track(Some(id), &t, None)).unwrap();
        let (frames, last, snap, state): (i64, i64, Vec<u8>, String) = s
            .connection()
            .query_row(
                "SELECT frames, last_seen, snapshot, state FROM tracks WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(
            (frames, last, snap.as_slice(), state.as_str()),
            (20, 5000, &b"jpeg1"[..], "ended")
        );
        let rows = s.unsynced(10).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].event["snapshot_jpeg"], "anBlZzE=");
        assert_eq!(rows[0].event["end_reason"], "eos");
        assert_eq!(s.unsynced_count().unwrap(), 1);
        s.mark_synced(&[(rows[0].table, rows[0].id)]).unwrap();
        assert_eq!(s.unsynced_count().unwrap(), 0);
        assert!(s.unsynced(10).unwrap().is_empty());
    }

    #[test]
    fn streams_number_independently_and_batches_are_limited_in_order() {
        let path = temp_db("streams");
        let mut a = Store::open(&path, "a", Synchronous::Full).unwrap();
        let mut b = Store::open(&path, "b", Synchronous::Full).unwrap();
        a.begin_run().unwrap();
        b.begin_run().unwrap();
        for i in 0..5 {
            a.write(|w| w.insert_system(&system("x", i))).unwrap();
            b.write(|w| w.insert_count(&count("car", i))).unwrap();
        }
        let ra = a.unsynced(3).unwrap();
        assert_eq!(ra.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        let rb = b.unsynced(100).unwrap();
        assert_eq!(
            rb.iter().map(|r| r.seq).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
        assert!(rb.iter().all(|r| r.event["stream_id"] == "b"));
        // Global order interleaves the streams.
        let g: Vec<i64> = ra.iter().map(|r| r.gseq).collect();
        assert_eq!(g, vec![1, 3, 5]);
    }

    #[test]
    fn retention_by_age_and_size_deletes_oldest_first() {
        let path = temp_db("retention");
        let mut s = Store::open(&path, "a", Synchronous::Normal).unwrap();
        s.begin_run().unwrap();
        // The schema alone takes a page per table and index.
        let empty = s.used_bytes().unwrap();
        // 400 system events with a 1 KiB message each, times 0..400 s.
        let msg = "x".repeat(1024);
        s.write(|b| {
            for i in 0..400i64 {
                b.insert_system(&SystemRecord {
                    time: i * 1000,
                    kind: "test".into(),
                    message: Some(msg.clone()),
                    ..Default::default()
                })?;
            }
            // An alive track older than everything: never deleted.
            b.upsert_track(None, &track(1, None, -1_000_000), None)?;
            Ok(())
        })
        .unwrap();
        // Age: keep the last 100 s at now = 400 s: times 300..399 stay.
        let r = s.apply_retention(400_000, Some(100_000), None).unwrap();
        assert_eq!(r.deleted, 300);
        assert_eq!(r.deleted_unsynced, 300);
        let (n, min): (i64, i64) = s
            .connection()
            .query_row("SELECT count(*), min(time) FROM system_events", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((n, min), (100, 300_000));
        // Size: 100 KiB of messages; 40 KiB more than the empty schema
        // keeps the newest ~35.
        let before = s.used_bytes().unwrap();
        assert!(before > empty + 100 * 1024, "{before}");
        let limit = empty + 40 * 1024;
        let r = s.apply_retention(400_000, None, Some(limit)).unwrap();
        assert!(r.deleted > 0);
        assert!(s.used_bytes().unwrap() <= limit);
        let (n, min, max): (i64, i64, i64) = s
            .connection()
            .query_row(
                "SELECT count(*), min(time), max(time) FROM system_events",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(max, 399_000, "the newest stays");
        assert_eq!(
            min,
            399_000 - (n - 1) * 1000,
            "a contiguous newest range stays"
        );
        assert!((20..=40).contains(&n), "{n}");
        let alive: i64 = s
            .connection()
            .query_row(
                "SELECT count(*) FROM tracks WHERE state = 'alive'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(alive, 1);
        // The file shrank (incremental vacuum).
        let pages: i64 = s
            .connection()
            .pragma_query_value(None, "freelist_count", |r| r.get(0))
            .unwrap();
        assert_eq!(pages, 0);
    }

    #[test]
    fn unopenable_location_says_what_to_do() {
        let e = match Store::open(
            Path::new("/proc/edgeevents-no-such-dir/events.db"),
            "a",
            Synchronous::Full,
        ) {
            Err(e) => e,
            Ok(_) => panic!("opened a database under /proc"),
        };
        assert!(
            e.message.contains("/proc/edgeevents-no-such-dir/events.db"),
            "{e}"
        );
        assert!(e.message.contains("writable"), "{e}");
    }

    #[test]
    fn not_a_database_is_refused() {
        let path = temp_db("garbage");
        std::fs::write(&path, vec![b'z'; 8192]).unwrap();
        let e = match Store::open(&path, "a", Synchronous::Full) {
            Err(e) => e,
            Ok(_) => panic!("opened garbage"),
        };
        assert!(e.message.contains("not an SQLite database"), "{e}");
    }

    fn zone_event(kind: &str, t: i64) -> ZoneEventRecord {
        ZoneEventRecord {
            time: t,
            running_time: Some(2_000_000_000),
            zone: "door".into(),
            kind: kind.into(),
            track_id: Some(4),
            label: Some("person".into()),
            direction: Some("in".into()),
            ..Default::default()
        }
    }

    #[test]
    fn schema_1_is_migrated_and_zone_rows_sync() {
        let path = temp_db("migrate");
        // A database as schema 1 left it: without the zone tables, version 1,
        // with a final row.
        {
            let mut s = Store::open(&path, "cam1", Synchronous::Full).unwrap();
            s.begin_run().unwrap();
            s.write(|b| b.insert_system(&system("start", 1))).unwrap();
            s.connection()
                .execute_batch(
                    "DROP TABLE zone_events; DROP TABLE zone_counts;
                     UPDATE meta SET value = 1 WHERE key = 'schema_version';",
                )
                .unwrap();
        }
        let mut s = Store::open(&path, "cam1", Synchronous::Full).unwrap();
        let version: i64 = s
            .connection()
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(version, 2);
        assert_eq!(s.begin_run().unwrap(), (2, 0));
        let mut labels = std::collections::BTreeMap::new();
        labels.insert(
            "person".to_string(),
            ZoneLabelCounts {
                crossed_in: 2,
                crossed_out: 1,
                occupancy: 0,
            },
        );
        s.write(|b| {
            b.insert_zone_event(&zone_event("crossing", 10))?;
            b.insert_zone_event(&ZoneEventRecord {
                time: 11,
                running_time: None,
                zone: "queue".into(),
                kind: "overcrowded".into(),
                occupancy: Some(6),
                ..Default::default()
            })?;
            b.insert_zone_count(&ZoneCountRecord {
                zone: "door".into(),
                zone_kind: "line".into(),
                start_time: 5,
                end_time: 12,
                start_rt: Some(0),
                end_rt: Some(1_000_000_000),
                crossed_in: 2,
                crossed_out: 1,
                total_in: 7,
                total_out: 3,
                labels,
                ..Default::default()
            })?;
            Ok(())
        })
        .unwrap();
        assert_eq!(s.unsynced_count().unwrap(), 4);
        let rows = s.unsynced(100).unwrap();
        // The schema-1 row first, then the zone rows in commit order.
        assert_eq!(
            rows.iter().map(|r| r.seq).collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );
        assert_eq!(rows[0].event["type"], "system");
        let e = &rows[1].event;
        assert_eq!(e["type"], "zone_event");
        assert_eq!(e["key"], format!("{}:cam1:2", s.database_id()));
        assert_eq!(
            (
                &e["zone"],
                &e["kind"],
                &e["track_id"],
                &e["label"],
                &e["direction"]
            ),
            (
                &json!("door"),
                &json!("crossing"),
                &json!(4),
                &json!("person"),
                &json!("in")
            )
        );
        assert_eq!(e["running_time"], 2_000_000_000i64);
        assert_eq!(e["run"], 2);
        let e = &rows[2].event;
        assert_eq!(e["kind"], "overcrowded");
        assert_eq!(e["occupancy"], 6);
        assert!(e["track_id"].is_null() && e["label"].is_null() && e["running_time"].is_null());
        let e = &rows[3].event;
        assert_eq!(e["type"], "zone_count");
        assert_eq!((&e["in"], &e["out"]), (&json!(2), &json!(1)));
        assert_eq!((&e["total_in"], &e["total_out"]), (&json!(7), &json!(3)));
        assert_eq!(
            e["labels"],
            json!({"person": {"in": 2, "out": 1, "occupancy": 0}})
        );
        assert_eq!(e["end_rt"], 1_000_000_000i64);
        s.mark_synced(&[
            (Table::ZoneEvents, rows[1].id),
            (Table::ZoneCounts, rows[3].id),
        ])
        .unwrap();
        assert_eq!(s.unsynced_count().unwrap(), 2);
        // Retention removes zone rows too, by their time.
        let r = s.apply_retention(100, Some(50), None).unwrap();
        assert_eq!(r.deleted, 4);
        assert_eq!(r.deleted_unsynced, 2);
    }

    #[test]
    fn newer_schema_is_refused() {
        let path = temp_db("newer");
        {
            let s = Store::open(&path, "a", Synchronous::Full).unwrap();
            s.connection()
                .execute("UPDATE meta SET value = 3 WHERE key = 'schema_version'", [])
                .unwrap();
        }
        let e = match Store::open(&path, "a", Synchronous::Full) {
            Err(e) => e,
            Ok(_) => panic!("opened a newer schema"),
        };
        assert!(e.message.contains("schema version Some(3)"), "{e}");
    }
}
