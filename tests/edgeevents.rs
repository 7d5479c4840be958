// SPDX-License-Identifier: MPL-2.0
//! `edgeevents` end to end, on real SQLite files: tracks, counts and thermal
//! levels from hand-made metadata with hand-computed expectations;
//! snapshots in every format; the sync to a real HTTP server on loopback
//! that fails first (every event arrives, exactly once after
//! de-duplication, in order per stream, from two streams sharing one
//! database); unwritable locations and a full disk as clear element errors;
//! a `gst-launch-1.0` child killed with SIGKILL mid-run (integrity check,
//! nothing committed lost); and the demo video against `edgejson`.
//!
//! Waits are on conditions (rows in the database, requests at the server),
//! never on fixed sleeps.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use gst::prelude::*;
use gst_video::prelude::*;
use gstedgeai::meta::{self, Object, Tracking};
use rusqlite::Connection;
use serde_json::Value;

const MS: u64 = 1_000_000;
const WAIT: Duration = Duration::from_secs(60);

fn open(path: &Path) -> Connection {
    let c = Connection::open(path).expect("open the event database");
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c
}

fn rows<T: rusqlite::types::FromSql>(c: &Connection, sql: &str) -> Vec<T> {
    c.prepare(sql)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn one<T: rusqlite::types::FromSql>(c: &Connection, sql: &str) -> T {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// One object for a frame: label, confidence, box, and tracking.
#[derive(Clone)]
struct Obj {
    label: &'static str,
    conf: f64,
    bbox: [f64; 4],
    track: Option<(u64, bool)>,
}

fn obj(label: &'static str, conf: f64, bbox: [f64; 4], track: Option<(u64, bool)>) -> Obj {
    Obj {
        label,
        conf,
        bbox,
        track,
    }
}

/// A buffer with ROI metas (tracking as `edgetrack` writes it) and frame info.
fn frame_buffer(
    size: usize,
    i: u64,
    w: u32,
    h: u32,
    objects: &[Obj],
    factor: Option<(f64, f64)>,
) -> gst::Buffer {
    let mut buf = gst::Buffer::with_size(size).unwrap();
    {
        let b = buf.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_nseconds(i * 100 * MS));
        b.set_duration(gst::ClockTime::from_nseconds(100 * MS));
        for o in objects {
            let class_id = if o.label == "person" { 0 } else { 2 };
            let mut m = Object::new(o.label, class_id, o.conf, o.bbox);
            m.tracking = o.track.map(|(id, tracked)| Tracking {
                track_id: id,
                age: 1,
                tracked,
                vx: 0.0,
                vy: 0.0,
                first_seen: None,
                last_seen: None,
            });
            meta::add_object(b, &m, w, h);
        }
        meta::update_frame_info(b, |f| {
            f.inferred = Some(true);
            if let Some((t, k)) = factor {
                f.temperature = Some(t);
                f.throttle_factor = Some(k);
            }
        })
        .unwrap();
    }
    buf
}

fn events_element(props: &[(&str, &str)]) -> gst::Element {
    init();
    let el = gst::ElementFactory::make("edgeevents").build().unwrap();
    for (k, v) in props {
        el.set_property_from_str(k, v);
    }
    el
}

/// The scenario of `tracks_counts_and_thermal_by_hand`, frame `i` of 25 at 10 fps.
fn scenario(i: u64) -> Vec<Obj> {
    let mut v = Vec::new();
    // Track 1, person: fresh on 0..=14 (confidence 0.50 + 0.02 i up to frame 9,
    // then 0.6), predicted on 15 and 16, then gone.
    if i <= 14 {
        let c = if i <= 9 { 0.5 + 0.02 * i as f64 } else { 0.6 };
        let x = 10.0 + i as f64;
        v.push(obj("person", c, [x, 20.0, x + 20.0, 60.0], Some((1, true))));
    } else if i <= 16 {
        v.push(obj(
            "person",
            0.99,
            [30.0, 20.0, 50.0, 60.0],
            Some((1, false)),
        ));
    }
    // Track 2, car: fresh on 5..=22, 0.7 except 0.9 on frame 12.
    if (5..=22).contains(&i) {
        let c = if i == 12 { 0.9 } else { 0.7 };
        v.push(obj(
            "car",
            c,
            [100.0, 50.0, 150.0, 80.0 + i as f64],
            Some((2, true)),
        ));
    }
    // An untracked person on every frame.
    v.push(obj("person", 0.4, [200.0, 10.0, 220.0, 50.0], None));
    v
}

#[test]
fn tracks_counts_and_thermal_by_hand() {
    let dir = temp_dir("events-hand");
    let db = dir.join("events.db");
    let el = events_element(&[
        ("location", db.to_str().unwrap()),
        ("stream-id", "hand"),
        ("count-interval", "1"),
        ("track-timeout", "300"),
        ("sync-interval", "100"),
    ]);
    let mut h = gst_check::Harness::with_element(&el, Some("sink"), Some("src"));
    h.set_src_caps_str("video/x-raw,format=GRAY8,width=320,height=240,framerate=10/1");
    for i in 0..25u64 {
        let factor = if i < 10 { (60.0, 1.0) } else { (80.0, 0.5) };
        let buf = frame_buffer(320 * 240, i, 320, 240, &scenario(i), Some(factor));
        let out = h.push_and_pull(buf).unwrap();
        // Pass-through: metadata untouched.
        assert_eq!(meta::objects(&out, 320, 240).len(), scenario(i).len());
    }
    assert!(h.push_event(gst::event::Eos::new()));
    drop(h);

    let c = open(&db);
    assert_eq!(one::<String>(&c, "PRAGMA integrity_check"), "ok");
    assert_eq!(one::<String>(&c, "PRAGMA journal_mode"), "wal");
    type TrackRow = (
        i64,
        String,
        i64,
        Option<i64>,
        Option<i64>,
        f64,
        [f64; 4],
        Option<i64>,
        String,
        String,
    );
    let tracks: Vec<TrackRow> = c
        .prepare(
            "SELECT track_id, label, frames, first_seen_rt, last_seen_rt, best_confidence,
                    best_x1, best_y1, best_x2, best_y2, best_seen_rt, state, end_reason
             FROM tracks ORDER BY seq",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                [r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?],
                r.get(10)?,
                r.get(11)?,
                r.get(12)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tracks.len(), 2, "{tracks:?}");
    let t1 = &tracks[0];
    assert_eq!((t1.0, t1.1.as_str(), t1.2), (1, "person", 15));
    assert_eq!((t1.3, t1.4), (Some(0), Some(1400 * MS as i64)));
    assert!((t1.5 - 0.68).abs() < 1e-6, "best confidence {}", t1.5);
    // Frame 9's box, through the ROI meta's normalised coordinates.
    for (got, want) in t1.6.iter().zip([19.0, 20.0, 39.0, 60.0]) {
        assert!((got - want).abs() < 1e-6, "{:?}", t1.6);
    }
    assert_eq!(t1.7, Some(900 * MS as i64));
    assert_eq!((t1.8.as_str(), t1.9.as_str()), ("ended", "timeout"));
    let t2 = &tracks[1];
    assert_eq!((t2.0, t2.1.as_str(), t2.2), (2, "car", 18));
    assert_eq!(
        (t2.3, t2.4),
        (Some(500 * MS as i64), Some(2200 * MS as i64))
    );
    assert!((t2.5 - 0.9).abs() < 1e-6);
    assert!((t2.6[3] - 92.0).abs() < 1e-6, "{:?}", t2.6);
    assert_eq!((t2.8.as_str(), t2.9.as_str()), ("ended", "eos"));

    type CountRow = (String, i64, i64, i64, i64, f64, Option<i64>);
    let counts: Vec<CountRow> = c
        .prepare(
            "SELECT label, start_rt, end_rt, frames, max_count, mean_count, tracks
             FROM counts ORDER BY seq",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let s = 1000 * MS as i64;
    assert_eq!(
        counts,
        vec![
            // Window 0: person = track 1 + untracked on 10 frames; car on frames 5..=9.
            ("car".into(), 0, s, 10, 1, 0.5, Some(1)),
            ("person".into(), 0, s, 10, 2, 2.0, Some(1)),
            // Window 1: the predicted frames 15, 16 do not count track 1.
            ("car".into(), s, 2 * s, 10, 1, 1.0, Some(1)),
            ("person".into(), s, 2 * s, 10, 2, 1.5, Some(1)),
            // Window 2 is cut by EOS after frame 24 (ends at 2.5 s); the car
            // is on 3 of its 5 frames.
            ("car".into(), 2 * s, 2500 * MS as i64, 5, 1, 0.6, Some(1)),
            ("person".into(), 2 * s, 2500 * MS as i64, 5, 1, 1.0, None),
        ]
    );

    type SystemRow = (String, Option<String>, Option<f64>, Option<f64>);
    let system: Vec<SystemRow> = c
        .prepare("SELECT kind, level, temperature, factor FROM system_events ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        system,
        vec![
            ("start".into(), None, None, None),
            (
                "thermal".into(),
                Some("normal".into()),
                Some(60.0),
                Some(1.0)
            ),
            (
                "thermal".into(),
                Some("warning".into()),
                Some(80.0),
                Some(0.5)
            ),
            ("stop".into(), None, None, None),
        ]
    );
    // One sequence for the stream, in the order things happened: start,
    // normal (frame 0), warning (frame 10) then window 0 closed by frame 10,
    // window 1 and track 1 (last present at 1.6 s) by frame 20, then EOS:
    // window 2, track 2 (last seen at 2.2 s, within the timeout), stop.
    let order: Vec<String> = rows(
        &c,
        "SELECT kind FROM (SELECT seq, kind FROM system_events
             UNION ALL SELECT seq, 'count:' || label FROM counts
             UNION ALL SELECT seq, 'track:' || track_id FROM tracks) ORDER BY seq",
    );
    assert_eq!(
        order,
        vec![
            "start",
            "thermal",
            "thermal",
            "count:car",
            "count:person",
            "count:car",
            "count:person",
            "track:1",
            "count:car",
            "count:person",
            "track:2",
            "stop"
        ]
    );
    let seqs: Vec<i64> = rows(
        &c,
        "SELECT seq FROM (SELECT seq FROM system_events UNION ALL SELECT seq FROM counts
             UNION ALL SELECT seq FROM tracks) ORDER BY seq",
    );
    assert_eq!(seqs, (1..=12).collect::<Vec<i64>>());
    // Without snapshots=true no pixels are read.
    assert_eq!(one::<i64>(&c, "SELECT count(snapshot) FROM tracks"), 0);
}

/// A `width` x 48 RGB frame: columns below 36 red (200, 30, 40), the rest
/// blue (20, 40, 220); rows padded to GStreamer's default stride (a
/// multiple of 4 bytes), padding bytes 0.
fn two_colour_rgb(width: usize) -> Vec<u8> {
    let stride = (width * 3).div_ceil(4) * 4;
    let mut d = Vec::with_capacity(stride * 48);
    for _y in 0..48 {
        for x in 0..width {
            d.extend_from_slice(if x < 36 {
                &[200, 30, 40]
            } else {
                &[20, 40, 220]
            });
        }
        d.resize(d.len() + stride - width * 3, 0);
    }
    d
}

/// Decodes a JPEG with GStreamer's `jpegdec`: (width, height, RGB bytes).
fn decode_jpeg(jpeg: &[u8]) -> (usize, usize, Vec<u8>) {
    let pipeline = gst::parse::launch(
        "appsrc name=src caps=image/jpeg ! jpegdec ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink",
    )
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let src = pipeline
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    src.push_buffer(gst::Buffer::from_slice(jpeg.to_vec()))
        .unwrap();
    src.end_of_stream().unwrap();
    let sample = sink.pull_sample().expect("decoded snapshot");
    let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(sample.buffer().unwrap(), &info)
        .unwrap();
    let stride = frame.plane_stride()[0] as usize;
    let (w, h) = (info.width() as usize, info.height() as usize);
    let data = frame.plane_data(0).unwrap();
    let mut out = Vec::new();
    for y in 0..h {
        out.extend_from_slice(&data[y * stride..y * stride + w * 3]);
    }
    drop(frame);
    pipeline.set_state(gst::State::Null).unwrap();
    (w, h, out)
}

/// Runs `appsrc (RGB) ! videoconvert ! format ! edgeevents` on one frame with
/// one tracked object added by a pad probe; returns the stored snapshot.
fn snapshot_through(format: &str, width: usize, db: &Path, bbox: [f64; 4]) -> Option<Vec<u8>> {
    init();
    let desc = format!(
        "appsrc name=src format=time caps=video/x-raw,format=RGB,width={width},height=48,framerate=10/1 \
         ! videoconvert ! video/x-raw,format={format} \
         ! edgeevents name=ev location={} snapshots=true snapshot-size=128 track-timeout=0 \
         ! fakesink",
        db.display()
    );
    let pipeline = gst::parse::launch(&desc)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let ev = pipeline.by_name("ev").unwrap();
    let w = width as u32;
    ev.static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(gst::PadProbeData::Buffer(buf)) = info.data.as_mut() {
                let mut o = Object::new("person", 0, 0.9, bbox);
                o.tracking = Some(Tracking {
                    track_id: 4,
                    age: 1,
                    tracked: true,
                    vx: 0.0,
                    vy: 0.0,
                    first_seen: None,
                    last_seen: None,
                });
                meta::add_object(buf.make_mut(), &o, w, 48);
            }
            gst::PadProbeReturn::Ok
        });
    let src = pipeline
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut buf = gst::Buffer::from_slice(two_colour_rgb(width));
    buf.get_mut().unwrap().set_pts(gst::ClockTime::ZERO);
    src.push_buffer(buf).unwrap();
    src.end_of_stream().unwrap();
    let bus = pipeline.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(30),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("EOS");
    assert!(matches!(msg.view(), gst::MessageView::Eos(_)), "{msg:?}");
    pipeline.set_state(gst::State::Null).unwrap();
    let c = open(db);
    c.query_row("SELECT snapshot FROM tracks WHERE track_id = 4", [], |r| {
        r.get(0)
    })
    .unwrap()
}

fn close_rgb(px: &[u8], want: [u8; 3], tol: i32) -> bool {
    px.iter()
        .zip(want)
        .all(|(&a, b)| (i32::from(a) - i32::from(b)).abs() <= tol)
}

#[test]
fn snapshots_in_every_format() {
    let dir = temp_dir("events-snap");
    // Width 70: RGB rows of 210 bytes padded to 212, I420/NV12 luma 70 -> 72.
    for format in ["RGB", "BGR", "RGBA", "BGRA", "RGBx", "BGRx", "NV12", "I420"] {
        let db = dir.join(format!("{format}.db"));
        let jpeg = snapshot_through(format, 70, &db, [20.0, 8.0, 52.0, 40.0])
            .unwrap_or_else(|| panic!("{format}: no snapshot"));
        let (w, h, rgb) = decode_jpeg(&jpeg);
        assert_eq!((w, h), (32, 32), "{format}");
        // Output column c comes from frame column 20 + c: red below 16, blue from 16.
        for y in [4usize, 16, 28] {
            for (x, want) in [
                (3usize, [200u8, 30, 40]),
                (10, [200, 30, 40]),
                (22, [20, 40, 220]),
                (29, [20, 40, 220]),
            ] {
                let px = &rgb[(y * w + x) * 3..][..3];
                assert!(
                    close_rgb(px, want, 14),
                    "{format} ({x},{y}): {px:?} want {want:?}"
                );
            }
        }
    }
    // Larger boxes are reduced to snapshot-size on the longer side.
    let db = dir.join("reduced.db");
    let jpeg = snapshot_through("RGB", 400, &db, [0.0, 0.0, 400.0, 48.0]).unwrap();
    let (w, h, _) = decode_jpeg(&jpeg);
    assert_eq!((w, h), (128, 15));
}

#[test]
fn snapshots_of_an_unreadable_format_warn_and_keep_the_track() {
    let dir = temp_dir("events-gray");
    let db = dir.join("events.db");
    let el = events_element(&[
        ("location", db.to_str().unwrap()),
        ("snapshots", "true"),
        ("count-interval", "0"),
    ]);
    let bus = gst::Bus::new();
    el.set_bus(Some(&bus));
    let mut h = gst_check::Harness::with_element(&el, Some("sink"), Some("src"));
    h.set_src_caps_str("video/x-raw,format=GRAY8,width=64,height=48,framerate=10/1");
    let objs = [obj("person", 0.8, [1.0, 1.0, 30.0, 30.0], Some((9, true)))];
    h.push_and_pull(frame_buffer(64 * 48, 0, 64, 48, &objs, None))
        .unwrap();
    let warning = bus
        .iter_timed_filtered(gst::ClockTime::ZERO, &[gst::MessageType::Warning])
        .next()
        .expect("a warning about snapshots");
    let gst::MessageView::Warning(w) = warning.view() else {
        unreachable!()
    };
    assert!(
        w.error().to_string().contains("snapshots=true needs"),
        "{}",
        w.error()
    );
    drop(h);
    let c = open(&db);
    assert_eq!(
        one::<i64>(&c, "SELECT count(*) FROM tracks WHERE track_id = 9"),
        1
    );
    assert_eq!(one::<i64>(&c, "SELECT count(snapshot) FROM tracks"), 0);
}

fn error_of(el: &gst::Element, bus: &gst::Bus) -> String {
    let msg = bus
        .iter_timed_filtered(gst::ClockTime::from_seconds(5), &[gst::MessageType::Error])
        .next()
        .unwrap_or_else(|| panic!("no error from {}", el.name()));
    let gst::MessageView::Error(e) = msg.view() else {
        unreachable!()
    };
    e.error().to_string()
}

#[test]
fn unwritable_location_and_bad_url_are_clear_errors() {
    init();
    // Under /proc nobody, root included, can create a file.
    let cases = [
        (
            vec![("location", "/proc/edgeevents-test/events.db")],
            "/proc/edgeevents-test/events.db",
        ),
        (
            vec![("location", "/proc/edgeevents-test/events.db")],
            "check that its folder exists and is writable",
        ),
        (
            vec![("sync-url", "ftp://127.0.0.1/x")],
            "not an http://, https://, mqtt:// or mqtts:// URL",
        ),
        (
            vec![("sync-url", "http://127.0.0.1/x"), ("sync-username", "u")],
            "sync-username applies to mqtt:// and mqtts:// sync URLs only",
        ),
        (
            vec![("sync-url", "mqtt://u:secret@127.0.0.1:x/p")],
            "sync URL mqtt://u:***@127.0.0.1:x/p: invalid port",
        ),
    ];
    let dir = temp_dir("events-bad");
    // A folder where the database file should be.
    let folder = dir.join("adir");
    std::fs::create_dir_all(&folder).unwrap();
    let mut all = cases.to_vec();
    all.push((
        vec![("location", folder.to_str().unwrap())],
        "cannot open event database",
    ));
    for (props, want) in all {
        let mut props = props.clone();
        if !props.iter().any(|(k, _)| *k == "location") {
            props.push((
                "location",
                dir.join("ok.db").to_str().unwrap().to_string().leak(),
            ));
        }
        let el = events_element(&props);
        let pipeline = gst::Pipeline::new();
        let src = gst::ElementFactory::make("videotestsrc").build().unwrap();
        let sink = gst::ElementFactory::make("fakesink").build().unwrap();
        pipeline.add_many([&src, &el, &sink]).unwrap();
        gst::Element::link_many([&src, &el, &sink]).unwrap();
        assert!(
            pipeline.set_state(gst::State::Playing).is_err(),
            "{props:?}"
        );
        let text = error_of(&el, &pipeline.bus().unwrap());
        assert!(text.contains(want), "{props:?}: {text}");
        pipeline.set_state(gst::State::Null).unwrap();
    }
}

/// The plugin built beside the test binary and a private registry.
fn plugin_env(cmd: &mut Command) -> &mut Command {
    gst_child_env(cmd, "events-test-registry.bin")
}

/// `gst-launch-1.0` reading constant detections (a generated model that
/// outputs a person and a car on every frame) into `edgeevents`.
fn detect_args(db: &Path, live: bool, buffers: u32) -> Vec<String> {
    let model = test_models_dir().join("yolox_tiny.onnx");
    format!(
        "videotestsrc is-live={live} num-buffers={buffers} ! video/x-raw,width=64,height=64,framerate=30/1 \
         ! edgedetect model={} ! edgeevents location={} stream-id=child count-interval=1 \
         sync-interval=100 ! fakesink",
        model.display(),
        db.display()
    )
    .split_whitespace()
    .map(String::from)
    .collect()
}

/// Makes sure the private registry exists before a child runs under a file
/// size limit (writing it would hit the limit).
fn warm_registry() {
    let out = plugin_env(&mut Command::new("gst-inspect-1.0"))
        .arg("edgeevents")
        .output()
        .expect("gst-inspect-1.0");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sigkill_mid_run_keeps_every_commit_and_a_sound_database() {
    warm_registry();
    let dir = temp_dir("events-kill");
    let db = dir.join("events.db");
    let mut child = plugin_env(&mut Command::new("gst-launch-1.0"))
        .args(detect_args(&db, true, 100_000))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gst-launch-1.0");
    // Wait until at least 3 windows (6 count rows) are committed.
    let start = Instant::now();
    let seen = loop {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("the child ended by itself ({status}): {err}");
        }
        assert!(
            start.elapsed() < WAIT,
            "no counts committed within {WAIT:?}"
        );
        let n = Connection::open(&db)
            .ok()
            .and_then(|c| {
                c.busy_timeout(Duration::from_secs(5)).ok()?;
                c.query_row("SELECT count(*) FROM counts", [], |r| r.get::<_, i64>(0))
                    .ok()
            })
            .unwrap_or(0);
        if n >= 6 {
            break n;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    child.kill().expect("SIGKILL");
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL");

    let c = open(&db);
    assert_eq!(one::<String>(&c, "PRAGMA integrity_check"), "ok");
    let n: i64 = one(&c, "SELECT count(*) FROM counts");
    assert!(
        n >= seen,
        "{n} count rows after the kill, {seen} were committed before"
    );
    // Windows 0, 1, 2... with no gap, two labels each, seq 2.. with no gap.
    let windows: Vec<i64> = rows(
        &c,
        "SELECT DISTINCT start_rt / 1000000000 FROM counts ORDER BY 1",
    );
    assert_eq!(windows, (0..windows.len() as i64).collect::<Vec<_>>());
    assert_eq!(n, 2 * windows.len() as i64);
    let seqs: Vec<i64> = rows(
        &c,
        "SELECT seq FROM (SELECT seq FROM counts UNION ALL SELECT seq FROM system_events) ORDER BY seq",
    );
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    let kinds: Vec<String> = rows(&c, "SELECT kind FROM system_events ORDER BY seq");
    assert_eq!(kinds, vec!["start"], "no stop event after SIGKILL");
    // A new run of the same stream opens the file, adds run 2, and goes on.
    drop(c);
    let out = plugin_env(&mut Command::new("gst-launch-1.0"))
        .args(detect_args(&db, false, 60))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = open(&db);
    assert_eq!(one::<String>(&c, "PRAGMA integrity_check"), "ok");
    assert_eq!(
        one::<i64>(&c, "SELECT runs FROM streams WHERE stream_id = 'child'"),
        2
    );
    let kinds: Vec<String> = rows(
        &c,
        "SELECT kind FROM system_events WHERE run = 2 ORDER BY seq",
    );
    assert_eq!(kinds, vec!["start", "stop"]);
    // 60 frames at 30 fps: windows 0 and 1 of run 2, person and car.
    assert_eq!(
        one::<i64>(&c, "SELECT count(*) FROM counts WHERE run = 2"),
        4
    );
}

#[test]
fn full_disk_is_a_clear_element_error() {
    warm_registry();
    let dir = temp_dir("events-full");
    let db = dir.join("events.db");
    // Create the database first (about 100 KiB of schema pages), so that
    // the child starts and fails later, while recording.
    {
        let s = gstedgeai::events::store::Store::open(
            &db,
            "child",
            gstedgeai::events::store::Synchronous::Full,
        )
        .unwrap();
        drop(s);
    }
    let size = std::fs::metadata(&db).unwrap().len();
    // A file size limit of the database plus 64 KiB: the WAL hits it.
    let limit_kib = size / 1024 + 64;
    let args = detect_args(&db, false, 30_000).join(" ");
    let out = plugin_env(&mut Command::new("bash"))
        .arg("-c")
        .arg(format!(
            "ulimit -f {limit_kib}; trap '' XFSZ; exec timeout 120 gst-launch-1.0 {args}"
        ))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        out.status.code().is_some_and(|c| c != 124),
        "crashed or hung: {text}"
    );
    assert!(text.contains(&db.display().to_string()), "{text}");
    assert!(
        text.contains("disk is full") || text.contains("I/O error"),
        "{text}"
    );
    // What was committed before is intact.
    let c = open(&db);
    assert_eq!(one::<String>(&c, "PRAGMA integrity_check"), "ok");
    assert!(
        one::<i64>(
            &c,
            "SELECT count(*) FROM system_events WHERE kind = 'start'"
        ) == 1
    );
}

/// What the loopback server saw: every accepted request body, in order.
#[derive(Default)]
struct Received {
    requests: usize,
    bodies: Vec<Value>,
}

/// An HTTP server on 127.0.0.1 that answers 503 to the first request
/// (without keeping it), 500 to the second after keeping it (a lost
/// answer: the client must send it again), and 200 afterwards.
fn flaky_server() -> (
    String,
    Arc<Mutex<Received>>,
    Arc<AtomicBool>,
    std::thread::JoinHandle<()>,
) {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = server.server_addr().to_ip().unwrap().port();
    let received = Arc::new(Mutex::new(Received::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let (r2, s2) = (received.clone(), stop.clone());
    let handle = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !s2.load(Ordering::SeqCst) && Instant::now() < deadline {
            let Ok(Some(mut req)) = server.recv_timeout(Duration::from_millis(50)) else {
                continue;
            };
            let mut body = String::new();
            let _ = req.as_reader().read_to_string(&mut body);
            let n = {
                let mut r = r2.lock().unwrap();
                r.requests += 1;
                let n = r.requests;
                if n >= 2 {
                    r.bodies
                        .push(serde_json::from_str(&body).expect("JSON batch"));
                }
                n
            };
            let code = match n {
                1 => 503,
                2 => 500,
                _ => 200,
            };
            let _ = req.respond(tiny_http::Response::from_string("").with_status_code(code));
        }
    });
    (
        format!("http://127.0.0.1:{port}/events"),
        received,
        stop,
        handle,
    )
}

fn push_tracks(h: &mut gst_check::Harness, stream: u64, frames: u64) {
    for i in 0..frames {
        // A new track every 4 frames, each living 6 frames.
        let objs: Vec<Obj> = (0..=i / 4)
            .filter(|k| i < k * 4 + 6)
            .map(|k| {
                obj(
                    "person",
                    0.5 + (i % 5) as f64 / 10.0,
                    [10.0, 10.0, 40.0, 40.0],
                    Some((stream * 1000 + k, true)),
                )
            })
            .collect();
        h.push_and_pull(frame_buffer(64 * 48, i, 64, 48, &objs, None))
            .unwrap();
    }
}

#[test]
fn sync_delivers_every_event_once_in_order_from_two_streams() {
    let (url, received, stop, server) = flaky_server();
    let dir = temp_dir("events-sync");
    let db = dir.join("shared.db");
    let make = |stream: &str| {
        let el = events_element(&[
            ("location", db.to_str().unwrap()),
            ("stream-id", stream),
            ("count-interval", "1"),
            ("track-timeout", "200"),
            ("sync-interval", "100"),
            ("batch-size", "7"),
            ("sync-url", &url),
        ]);
        let mut h = gst_check::Harness::with_element(&el, Some("sink"), Some("src"));
        h.set_src_caps_str("video/x-raw,format=GRAY8,width=64,height=48,framerate=10/1");
        h
    };
    // Two streams in two threads write the same file at the same time.
    let threads: Vec<_> = [("north", 1u64, 80u64), ("south", 2, 60)]
        .into_iter()
        .map(|(name, n, frames)| {
            let mut h = make(name);
            std::thread::spawn(move || {
                push_tracks(&mut h, n, frames);
                assert!(h.push_event(gst::event::Eos::new()));
                h
            })
        })
        .collect();
    let harnesses: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    // Stopping commits the stop events and sends the rest.
    drop(harnesses);

    let c = open(&db);
    assert_eq!(one::<String>(&c, "PRAGMA integrity_check"), "ok");
    let all_keys = |c: &Connection| -> BTreeMap<String, (String, i64)> {
        let mut m = BTreeMap::new();
        for t in ["tracks", "counts", "system_events"] {
            let mut st = c
                .prepare(&format!(
                    "SELECT key, stream_id, seq FROM {t} WHERE key IS NOT NULL"
                ))
                .unwrap();
            for r in st
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
            {
                let (k, s, q) = r.unwrap();
                m.insert(k, (s, q));
            }
        }
        m
    };
    let keys = all_keys(&c);
    // north: 20 tracks, 8 s of counts, start/stop; south: 15 tracks, 6 s.
    assert_eq!(
        one::<i64>(&c, "SELECT count(*) FROM tracks WHERE stream_id = 'north'"),
        20
    );
    assert_eq!(
        one::<i64>(&c, "SELECT count(*) FROM tracks WHERE stream_id = 'south'"),
        15
    );
    // Wait until the server holds every key (the stop events are sent by
    // the final pass of stop(), the rest during the run).
    let start = Instant::now();
    loop {
        let got: BTreeSet<String> = received
            .lock()
            .unwrap()
            .bodies
            .iter()
            .flat_map(|b| b["events"].as_array().unwrap().iter())
            .map(|e| e["key"].as_str().unwrap().to_string())
            .collect();
        if keys.keys().all(|k| got.contains(k)) {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "missing at the server: {:?}",
            keys.keys()
                .filter(|k| !got.contains(*k))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::SeqCst);
    server.join().unwrap();

    let r = received.lock().unwrap();
    let events: Vec<&Value> = r
        .bodies
        .iter()
        .flat_map(|b| {
            let events = b["events"].as_array().unwrap();
            assert!(events.len() <= 7, "batch-size");
            // A batch holds one stream's events.
            assert!(events.iter().all(|e| e["stream_id"] == b["stream_id"]));
            events.iter()
        })
        .collect();
    // The kept-then-500 batch came again: duplicates exist before de-duplication.
    assert!(
        events.len() > keys.len(),
        "{} events, {} keys",
        events.len(),
        keys.len()
    );
    let mut seen = BTreeSet::new();
    let mut per_stream: HashMap<String, Vec<i64>> = HashMap::new();
    for e in &events {
        let key = e["key"].as_str().unwrap().to_string();
        if seen.insert(key.clone()) {
            let (stream, seq) = &keys[&key];
            assert_eq!(e["stream_id"], stream.as_str());
            assert_eq!(e["seq"], *seq);
            per_stream.entry(stream.clone()).or_default().push(*seq);
        }
    }
    assert_eq!(seen.len(), keys.len(), "exactly the database's events");
    for (stream, seqs) in &per_stream {
        assert_eq!(
            seqs,
            &(1..=seqs.len() as i64).collect::<Vec<_>>(),
            "stream {stream}: in order, none missing"
        );
    }
    assert_eq!(per_stream.len(), 2);
    // And the database knows they are delivered.
    for t in ["tracks", "counts", "system_events"] {
        assert_eq!(
            one::<i64>(
                &c,
                &format!("SELECT count(*) FROM {t} WHERE synced = 0 AND key IS NOT NULL")
            ),
            0,
            "{t}"
        );
    }
    // A track event carries what the receiver needs.
    let track = events.iter().find(|e| e["type"] == "track").unwrap();
    for field in [
        "track_id",
        "label",
        "first_seen",
        "last_seen",
        "frames",
        "best_confidence",
        "best_box",
        "end_reason",
    ] {
        assert!(!track[field].is_null(), "{field} in {track}");
    }
}

/// The demo video, detector every other frame: the counts in the database
/// are the ones computed independently from `edgejson`'s output.
#[test]
fn demo_video_counts_match_edgejson() {
    let video = shared("media/vtest.avi");
    let dir = temp_dir("events-vtest");
    let db = dir.join("events.db");
    let jsonl = dir.join("out.jsonl");
    let desc = format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=I420 ! \
         edgedetect model={} labels={} conf-threshold=0.3 threads=2 classes=person interval=2 ! \
         edgeevents location={} count-interval=10 ! edgejson location={} ! fakesink",
        video.display(),
        yolox_model().display(),
        coco_names().display(),
        db.display(),
        jsonl.display()
    );
    run_pipeline(&desc, Duration::from_secs(300)).expect("demo pipeline");
    let frames = read_jsonl(&jsonl);
    assert_eq!(frames.len(), 795);
    // Independent count: 10 s windows by pts, inferred frames only.
    let mut windows: BTreeMap<u64, (u64, u64, u64)> = BTreeMap::new();
    for f in &frames {
        if f["inferred"] != true {
            continue;
        }
        let w = f["pts"].as_u64().unwrap() / 10_000_000_000;
        let n = f["objects"].as_array().unwrap().len() as u64;
        let e = windows.entry(w).or_default();
        e.0 += 1;
        e.1 = e.1.max(n);
        e.2 += n;
    }
    let c = open(&db);
    let got: Vec<(i64, i64, i64, f64)> = c
        .prepare("SELECT start_rt / 10000000000, frames, max_count, mean_count FROM counts WHERE label = 'person' ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let want: Vec<(i64, i64, i64, f64)> = windows
        .iter()
        .filter(|(_, (_, _, sum))| *sum > 0)
        .map(|(w, (frames, max, sum))| {
            (
                *w as i64,
                *frames as i64,
                *max as i64,
                *sum as f64 / *frames as f64,
            )
        })
        .collect();
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((g.0, g.1, g.2), (w.0, w.1, w.2));
        assert!((g.3 - w.3).abs() < 1e-9, "{g:?} vs {w:?}");
    }
    // 795 frames at 10 fps, every other one inferred: 8 windows, 398 frames.
    assert_eq!(want.len(), 8);
    assert_eq!(got.iter().map(|g| g.1).sum::<i64>(), 398);
    // edgedetect alone gives no track ids: no track rows.
    assert_eq!(one::<i64>(&c, "SELECT count(*) FROM tracks"), 0);
}

/// The real chain: every distinct track id `edgejson` printed is one row.
/// Needs `edgetrack`, which lives on another branch until the merge.
#[test]
fn demo_video_tracks_match_edgejson_ids() {
    let video = shared("media/vtest.avi");
    let dir = temp_dir("events-vtest-tracks");
    let db = dir.join("events.db");
    let jsonl = dir.join("out.jsonl");
    let desc = format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=I420 ! \
         edgedetect model={} labels={} conf-threshold=0.3 threads=2 classes=person ! edgetrack ! \
         edgeevents location={} track-timeout=0 snapshots=true ! edgejson location={} ! fakesink",
        video.display(),
        yolox_model().display(),
        coco_names().display(),
        db.display(),
        jsonl.display()
    );
    run_pipeline(&desc, Duration::from_secs(300)).expect("demo pipeline with edgetrack");
    let ids: BTreeSet<u64> = read_jsonl(&jsonl)
        .iter()
        .flat_map(|f| f["objects"].as_array().unwrap().clone())
        .filter_map(|o| o["track_id"].as_u64())
        .collect();
    assert!(ids.len() > 5, "edgetrack gave {} ids", ids.len());
    let c = open(&db);
    assert_eq!(
        one::<i64>(&c, "SELECT count(*) FROM tracks") as usize,
        ids.len()
    );
    let db_ids: BTreeSet<u64> = rows::<i64>(&c, "SELECT track_id FROM tracks")
        .into_iter()
        .map(|i| i as u64)
        .collect();
    assert_eq!(db_ids, ids);
    assert_eq!(
        one::<i64>(&c, "SELECT count(*) FROM tracks WHERE snapshot IS NULL"),
        0,
        "every track has a snapshot"
    );
}
