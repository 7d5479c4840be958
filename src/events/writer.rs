// SPDX-License-Identifier: MPL-2.0
//! The database writer thread: takes events from the streaming thread over
//! an unbounded channel (sending never blocks) and commits them in one
//! transaction every `commit_interval` (or sooner when many are waiting,
//! or on request). Live tracks are upserted at each commit; snapshots are
//! JPEG-encoded here, off the streaming thread.
//!
//! A failed commit (disk full, read-only, busy) keeps everything in memory,
//! is reported once, and is retried at the next interval; when a commit
//! succeeds again the failure is recorded as an `error` system event.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::book::Event;
use super::snapshot::{RgbImage, encode_jpeg};
use super::store::{Store, SystemRecord, TrackRecord};

/// Events waiting past this many trigger a commit before the interval.
const MAX_PENDING: usize = 1000;
/// Retention runs at most this often.
const RETENTION_EVERY: Duration = Duration::from_secs(60);

/// Wall clock in ms since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// What the streaming side sends.
#[derive(Debug)]
pub enum Msg {
    Event(Event),
    /// The crop of a track's best detection so far.
    Snapshot {
        key: u64,
        image: RgbImage,
    },
    /// Commit now; the sender, if any, is told when done (whatever the result).
    Flush(Option<Sender<()>>),
}

/// What the writer has to tell the element.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    /// A commit failed (reported once per failure streak).
    WriteFailed(String),
    /// Commits succeed again.
    WriteRecovered,
    /// Retention deleted rows (some of them not yet synced).
    Retention { deleted: u64, deleted_unsynced: u64 },
    /// Events that could not be written when the writer stopped.
    Lost { events: usize, error: String },
    /// A commit succeeded.
    Committed,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriterConfig {
    pub commit_interval: Duration,
    pub snapshot_quality: u8,
    pub max_age_ms: Option<i64>,
    pub max_bytes: Option<u64>,
}

pub type Reporter = Arc<dyn Fn(Report) + Send + Sync>;

#[derive(Debug, Default)]
struct Alive {
    row_id: Option<i64>,
    track: Option<TrackRecord>,
    dirty: bool,
    image: Option<RgbImage>,
    jpeg: Option<Vec<u8>>,
    jpeg_dirty: bool,
}

enum Pending {
    Track(u64),
    Other(Event),
}

struct Writer {
    store: Store,
    cfg: WriterConfig,
    report: Reporter,
    alive: HashMap<u64, Alive>,
    finals: Vec<Pending>,
    failing: Option<(Instant, String)>,
    last_retention: Option<Instant>,
}

impl Writer {
    fn take(&mut self, msg: Msg) -> Option<Option<Sender<()>>> {
        match msg {
            Msg::Event(Event::Alive { key, track }) => {
                let a = self.alive.entry(key).or_default();
                a.track = Some(track);
                a.dirty = true;
            }
            Msg::Event(Event::Ended { key, track }) => {
                let a = self.alive.entry(key).or_default();
                a.track = Some(track);
                a.dirty = true;
                self.finals.push(Pending::Track(key));
            }
            Msg::Event(e) => self.finals.push(Pending::Other(e)),
            Msg::Snapshot { key, image } => {
                let a = self.alive.entry(key).or_default();
                a.image = Some(image);
            }
            Msg::Flush(ack) => return Some(ack),
        }
        None
    }

    fn pending(&self) -> usize {
        self.finals.len() + self.alive.values().filter(|a| a.dirty).count()
    }

    /// Commits everything pending in one transaction.
    fn commit(&mut self) -> Result<(), String> {
        for a in self.alive.values_mut() {
            if let Some(img) = a.image.take() {
                // A crop that cannot be encoded (never seen) leaves the
                // previous snapshot; the track itself is still written.
                if let Ok(j) = encode_jpeg(&img, self.cfg.snapshot_quality) {
                    a.jpeg = Some(j);
                    a.jpeg_dirty = true;
                }
            }
        }
        if self.pending() == 0 && self.failing.is_none() {
            return Ok(());
        }
        let recovered = self.failing.as_ref().map(|(since, e)| SystemRecord {
            time: now_ms(),
            kind: "error".into(),
            message: Some(format!(
                "database writes failed for {:.1} s (nothing was lost): {e}",
                since.elapsed().as_secs_f64()
            )),
            ..Default::default()
        });
        let ended: std::collections::HashSet<u64> = self
            .finals
            .iter()
            .filter_map(|p| match p {
                Pending::Track(k) => Some(*k),
                Pending::Other(_) => None,
            })
            .collect();
        let alive = &self.alive;
        let finals = &self.finals;
        let result = self.store.write(|b| {
            let mut ids = Vec::new();
            if let Some(r) = &recovered {
                b.insert_system(r)?;
            }
            // Live tracks first (no seq), then the final events in order.
            for (key, a) in alive.iter() {
                if a.dirty
                    && !ended.contains(key)
                    && let Some(t) = &a.track
                {
                    let snap = a.jpeg.as_deref().filter(|_| a.jpeg_dirty);
                    ids.push((*key, b.upsert_track(a.row_id, t, snap)?));
                }
            }
            for p in finals {
                match p {
                    Pending::Track(key) => {
                        if let Some(a) = alive.get(key)
                            && let Some(t) = &a.track
                        {
                            let snap = a.jpeg.as_deref().filter(|_| a.jpeg_dirty);
                            ids.push((*key, b.upsert_track(a.row_id, t, snap)?));
                        }
                    }
                    Pending::Other(Event::Count(c)) => {
                        b.insert_count(c)?;
                    }
                    Pending::Other(Event::System(s)) => {
                        b.insert_system(s)?;
                    }
                    Pending::Other(Event::ZoneEvent(e)) => {
                        b.insert_zone_event(e)?;
                    }
                    Pending::Other(Event::ZoneCount(c)) => {
                        b.insert_zone_count(c)?;
                    }
                    Pending::Other(_) => {}
                }
            }
            Ok(ids)
        });
        match result {
            Ok(ids) => {
                for (key, id) in ids {
                    if let Some(a) = self.alive.get_mut(&key) {
                        a.row_id = Some(id);
                        a.dirty = false;
                        a.jpeg_dirty = false;
                    }
                }
                for key in ended {
                    self.alive.remove(&key);
                }
                self.finals.clear();
                if self.failing.take().is_some() {
                    (self.report)(Report::WriteRecovered);
                }
                (self.report)(Report::Committed);
                Ok(())
            }
            Err(e) => Err(e.message),
        }
    }

    fn commit_and_report(&mut self) {
        if let Err(e) = self.commit() {
            if self.failing.is_none() {
                (self.report)(Report::WriteFailed(e.clone()));
                self.failing = Some((Instant::now(), e));
            }
        } else {
            self.retention(false);
        }
    }

    fn retention(&mut self, force: bool) {
        if self.cfg.max_age_ms.is_none() && self.cfg.max_bytes.is_none() {
            return;
        }
        if !force
            && self
                .last_retention
                .is_some_and(|t| t.elapsed() < RETENTION_EVERY)
        {
            return;
        }
        self.last_retention = Some(Instant::now());
        match self
            .store
            .apply_retention(now_ms(), self.cfg.max_age_ms, self.cfg.max_bytes)
        {
            Ok(r) if r.deleted > 0 => (self.report)(Report::Retention {
                deleted: r.deleted,
                deleted_unsynced: r.deleted_unsynced,
            }),
            Ok(_) => {}
            Err(e) => {
                if self.failing.is_none() {
                    (self.report)(Report::WriteFailed(e.message.clone()));
                    self.failing = Some((Instant::now(), e.message));
                }
            }
        }
    }

    fn run(mut self, rx: Receiver<Msg>) {
        self.retention(true);
        let mut last_commit = Instant::now();
        loop {
            let wait = self
                .cfg
                .commit_interval
                .saturating_sub(last_commit.elapsed());
            let mut ack = None;
            let mut flush = false;
            match rx.recv_timeout(wait) {
                Ok(msg) => {
                    if let Some(a) = self.take(msg) {
                        ack = a;
                        flush = true;
                    }
                    // Drain what is already there without waiting.
                    while !flush && let Ok(msg) = rx.try_recv() {
                        if let Some(a) = self.take(msg) {
                            ack = a;
                            flush = true;
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if flush
                || self.pending() >= MAX_PENDING
                || last_commit.elapsed() >= self.cfg.commit_interval
            {
                self.commit_and_report();
                last_commit = Instant::now();
            }
            if let Some(ack) = ack {
                let _ = ack.send(());
            }
        }
        // The element stopped: last commit.
        if let Err(e) = self.commit() {
            (self.report)(Report::Lost {
                events: self.pending(),
                error: e,
            });
        }
    }
}

/// Starts the writer thread on `store`; it ends (after a last commit) when
/// every sender is dropped.
pub fn spawn(
    store: Store,
    cfg: WriterConfig,
    report: Reporter,
) -> std::io::Result<(Sender<Msg>, JoinHandle<()>)> {
    let (tx, rx) = channel();
    let writer = Writer {
        store,
        cfg,
        report,
        alive: HashMap::new(),
        finals: Vec::new(),
        failing: None,
        last_retention: None,
    };
    let handle = std::thread::Builder::new()
        .name("edgeevents-writer".into())
        .spawn(move || writer.run(rx))?;
    Ok((tx, handle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::book::{Book, BookConfig, Frame, Observation};
    use crate::events::store::{EndReason, Synchronous};
    use std::sync::Mutex;

    fn temp_db(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("edgeevents-writer-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("events.db")
    }

    fn frame(i: u64, ids: &[u64]) -> Frame {
        Frame {
            wall_ms: i as i64,
            running_time: Some(i * 1_000_000),
            clock_ns: i * 1_000_000,
            analysed: true,
            objects: ids
                .iter()
                .map(|&id| Observation {
                    label: "person".into(),
                    class_id: 0,
                    confidence: 0.5 + i as f64 / 100.0,
                    bbox: [0.0, 0.0, 1.0, 1.0],
                    track_id: Some(id),
                    fresh: true,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn live_tracks_are_upserted_and_ended_tracks_final() {
        let path = temp_db("live");
        let mut store = Store::open(&path, "s", Synchronous::Normal).unwrap();
        store.begin_run().unwrap();
        let reports = Arc::new(Mutex::new(Vec::new()));
        let r2 = reports.clone();
        let (tx, handle) = spawn(
            store,
            WriterConfig {
                commit_interval: Duration::from_secs(3600),
                snapshot_quality: 80,
                max_age_ms: None,
                max_bytes: None,
            },
            Arc::new(move |r| r2.lock().unwrap().push(r)),
        )
        .unwrap();
        let mut book = Book::new(BookConfig {
            count_interval_ns: 0,
            track_timeout_ns: 0,
        });
        for i in 0..5 {
            let (events, best) = book.observe(&frame(i, &[1, 2]));
            for e in events {
                tx.send(Msg::Event(e)).unwrap();
            }
            for (key, _) in best {
                tx.send(Msg::Snapshot {
                    key,
                    image: RgbImage {
                        width: 2,
                        height: 2,
                        data: vec![i as u8 * 50; 12],
                    },
                })
                .unwrap();
            }
        }
        let (ack_tx, ack_rx) = channel();
        tx.send(Msg::Flush(Some(ack_tx))).unwrap();
        ack_rx.recv().unwrap();
        let check = Store::open(&path, "s", Synchronous::Normal).unwrap();
        let rows: Vec<(i64, i64, String, Option<i64>)> = check
            .connection()
            .prepare("SELECT track_id, frames, state, seq FROM tracks ORDER BY track_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (1, 5, "alive".to_string(), None),
                (2, 5, "alive".to_string(), None)
            ]
        );
        for e in book.finish(EndReason::Eos) {
            tx.send(Msg::Event(e)).unwrap();
        }
        drop(tx);
        handle.join().unwrap();
        let rows: Vec<(i64, String, i64, i64)> = check
            .connection()
            .prepare("SELECT track_id, state, seq, length(snapshot) FROM tracks ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].0, rows[0].1.as_str(), rows[0].2), (1, "ended", 1));
        assert_eq!((rows[1].0, rows[1].2), (2, 2));
        assert!(rows[0].3 > 100, "a JPEG");
        let r = reports.lock().unwrap();
        assert!(r.iter().all(|r| *r == Report::Committed), "{r:?}");
    }
}
