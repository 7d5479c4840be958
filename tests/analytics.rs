// SPDX-License-Identifier: MPL-2.0
//! GStreamer's analytics metadata (feature `v1_24`) against real upstream
//! code: `objectdetectionoverlay` draws our boxes, GStreamer's own API reads
//! back what `edgejson` reports, and objects written the upstream way
//! (analytics meta only) are tracked by `edgetrack` and counted by
//! `edgeevents`. Needs GStreamer 1.24+ with gst-plugins-bad: run by
//! scripts/test-gst126.sh inside a Debian 13 root.
#![cfg(feature = "v1_24")]

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use gst::prelude::*;
use gst_analytics::{
    AnalyticsMetaRefExt, AnalyticsODMtd, AnalyticsRelationMeta, AnalyticsRelationMetaODExt,
    AnalyticsTrackingMtd, RelTypes,
};
use serde_json::Value;

// `identity eos-after=N` passes N - 1 buffers, then EOS.

/// Runs a pipeline to EOS; `setup` gets it before it starts (to add probes).
fn run(desc: &str, setup: impl FnOnce(&gst::Bin)) {
    common::init();
    let pipeline = gst::parse::launch(desc)
        .unwrap_or_else(|e| panic!("parse {desc}: {e}"))
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    setup(pipeline.upcast_ref());
    let bus = pipeline.bus().expect("bus");
    pipeline.set_state(gst::State::Playing).expect("playing");
    let result = loop {
        match bus.timed_pop_filtered(
            gst::ClockTime::from_seconds(120),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        ) {
            None => break Err("timeout".to_string()),
            Some(msg) => match msg.view() {
                gst::MessageView::Eos(_) => break Ok(()),
                gst::MessageView::Error(e) => {
                    break Err(format!("{} ({:?})", e.error(), e.debug()));
                }
                _ => {}
            },
        }
    };
    pipeline.set_state(gst::State::Null).expect("null");
    result.unwrap_or_else(|e| panic!("{desc}: {e}"));
}

/// An object as read through GStreamer's analytics API.
#[derive(Debug, Clone)]
struct Od {
    label: String,
    x: i32,
    y: i32,
    w: i32,
    h: i32,
    confidence: f32,
    track: Option<(u64, gst::ClockTime, gst::ClockTime, bool)>,
}

/// Reads the buffer's relation meta with gstreamer-analytics only (not our meta.rs).
fn read_relation_meta(buf: &gst::BufferRef) -> Vec<Od> {
    let Some(rmeta) = buf.meta::<AnalyticsRelationMeta>() else {
        return Vec::new();
    };
    rmeta
        .iter::<AnalyticsODMtd>()
        .map(|od| {
            let loc = od.location().expect("OD location");
            let track = rmeta
                .iter_direct_related::<AnalyticsTrackingMtd>(od.id(), RelTypes::RELATE_TO)
                .next()
                .map(|t| t.info());
            Od {
                label: od.obj_type().expect("label quark").as_str().to_string(),
                x: loc.x,
                y: loc.y,
                w: loc.w,
                h: loc.h,
                confidence: loc.loc_conf_lvl,
                track,
            }
        })
        .collect()
}

/// What an appsink callback collects.
type Shared<T> = Arc<Mutex<Vec<T>>>;

fn roi_count(buf: &gst::BufferRef) -> usize {
    buf.iter_meta::<gst_video::VideoRegionOfInterestMeta>()
        .count()
}

fn json_by_pts(path: &Path) -> HashMap<u64, Value> {
    common::read_jsonl(path)
        .into_iter()
        .map(|v| (v["pts"].as_u64().expect("pts"), v))
        .collect()
}

struct Frame {
    pts: u64,
    width: usize,
    height: usize,
    stride: usize,
    plain: Vec<u8>,
    ods: Vec<Od>,
}

/// edgedetect on vtest.avi → objectdetectionoverlay: the overlay draws our
/// boxes, and the relation meta read back through GStreamer's API says what
/// edgejson says (labels, boxes, confidences, track ids).
#[test]
fn upstream_overlay_draws_our_boxes_and_reads_our_objects() {
    let dir = common::temp_dir("analytics-overlay");
    let json = dir.join("objects.jsonl");
    let desc = format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=BGRA \
         ! identity eos-after=26 ! edgedetect model={} labels={} conf-threshold=0.3 \
         ! edgetrack ! edgejson location={} name=json \
         ! objectdetectionoverlay name=overlay ! appsink name=drawn sync=false",
        common::shared("media/vtest.avi").display(),
        common::yolox_model().display(),
        common::coco_names().display(),
        json.display()
    );
    let frames: Arc<Mutex<Vec<Frame>>> = Arc::default();
    let drawn: Arc<Mutex<HashMap<u64, Vec<u8>>>> = Arc::default();
    run(&desc, |bin| {
        let frames = frames.clone();
        bin.by_name("overlay")
            .expect("overlay")
            .static_pad("sink")
            .expect("sink pad")
            .add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
                let Some(buf) = info.buffer() else {
                    return gst::PadProbeReturn::Ok;
                };
                let caps = pad.current_caps().expect("caps");
                let vinfo = gst_video::VideoInfo::from_caps(&caps).expect("video info");
                let map = buf.map_readable().expect("map");
                frames.lock().unwrap().push(Frame {
                    pts: buf.pts().expect("pts").nseconds(),
                    width: vinfo.width() as usize,
                    height: vinfo.height() as usize,
                    stride: vinfo.stride()[0] as usize,
                    plain: map.to_vec(),
                    ods: read_relation_meta(buf),
                });
                gst::PadProbeReturn::Ok
            });
        let sink = bin
            .by_name("drawn")
            .expect("appsink")
            .downcast::<gst_app::AppSink>()
            .expect("appsink");
        let drawn = drawn.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |s| {
                    let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let buf = sample.buffer().expect("buffer");
                    let map = buf.map_readable().expect("map");
                    drawn
                        .lock()
                        .unwrap()
                        .insert(buf.pts().expect("pts").nseconds(), map.to_vec());
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
    });

    let json = json_by_pts(&json);
    let frames = frames.lock().unwrap();
    let drawn = drawn.lock().unwrap();
    assert_eq!(frames.len(), 25, "25 frames through the overlay");
    let mut total_objects = 0;
    let mut tracked_objects = 0;
    for f in frames.iter() {
        let j = &json[&f.pts];
        let objs = j["objects"].as_array().expect("objects");
        // Same objects, in the same order, read through GStreamer's API.
        assert_eq!(f.ods.len(), objs.len(), "frame {}: object count", f.pts);
        for (od, o) in f.ods.iter().zip(objs) {
            assert_eq!(od.label, o["label"].as_str().unwrap());
            let b = common::as_box(&o["box"]);
            let got = [od.x, od.y, od.x + od.w, od.y + od.h].map(f64::from);
            for k in 0..4 {
                let want = b[k].clamp(0.0, if k % 2 == 0 { f.width } else { f.height } as f64);
                assert!(
                    (got[k] - want).abs() <= 1.0,
                    "box {got:?} vs edgejson {b:?}"
                );
            }
            let conf = o["confidence"].as_f64().unwrap();
            assert!(
                (f64::from(od.confidence) - conf).abs() < 1e-4,
                "{od:?} vs {o}"
            );
            match (od.track, o.get("track_id").and_then(Value::as_u64)) {
                (Some((id, first, last, lost)), Some(want)) => {
                    assert_eq!(id, want);
                    assert!(
                        first <= last && last.nseconds() == f.pts,
                        "{od:?} at {}",
                        f.pts
                    );
                    assert_eq!(lost, o["state"] == "predicted");
                    tracked_objects += 1;
                }
                (None, None) => {}
                (a, b) => panic!("track mismatch: relation meta {a:?}, edgejson {b:?}"),
            }
        }
        total_objects += objs.len();

        // The overlay drew each box: most points of each box's outline
        // changed colour, and nothing changed far from every box.
        let after = &drawn[&f.pts];
        let changed = |x: usize, y: usize| {
            let i = y * f.stride + x * 4;
            (0..3).any(|c| (i32::from(f.plain[i + c]) - i32::from(after[i + c])).abs() > 40)
        };
        let near_changed = |x: f64, y: f64| {
            let (cx, cy) = (x.round() as i64, y.round() as i64);
            (-2..=2).any(|dy| {
                (-2..=2).any(|dx| {
                    let (px, py) = (cx + dx, cy + dy);
                    px >= 0
                        && py >= 0
                        && (px as usize) < f.width
                        && (py as usize) < f.height
                        && changed(px as usize, py as usize)
                })
            })
        };
        let boxes: Vec<Vec<f64>> = objs.iter().map(|o| common::as_box(&o["box"])).collect();
        for b in &boxes {
            let (x1, y1) = (b[0].max(0.0), b[1].max(0.0));
            let (x2, y2) = (
                b[2].min(f.width as f64 - 1.0),
                b[3].min(f.height as f64 - 1.0),
            );
            if x2 - x1 < 8.0 || y2 - y1 < 8.0 {
                continue;
            }
            let mut points = Vec::new();
            let mut t = 0.0;
            while t <= 1.0 {
                points.push((x1 + t * (x2 - x1), y1));
                points.push((x1 + t * (x2 - x1), y2));
                points.push((x1, y1 + t * (y2 - y1)));
                points.push((x2, y1 + t * (y2 - y1)));
                t += 0.05;
            }
            let hit = points.iter().filter(|&&(x, y)| near_changed(x, y)).count();
            assert!(
                hit * 10 >= points.len() * 9,
                "frame {}: box {b:?} outline drawn at {hit}/{} points",
                f.pts,
                points.len()
            );
        }
        // Each box's outline, and its label: text that starts at the box's
        // left edge and may run past its right edge.
        let margin = 40.0;
        let text_width = 300.0;
        let mut stray = 0;
        let mut stray_box = [usize::MAX, usize::MAX, 0, 0];
        for y in 0..f.height {
            for x in 0..f.width {
                if changed(x, y)
                    && !boxes.iter().any(|b| {
                        (x as f64) >= b[0] - margin
                            && (x as f64) <= b[2].max(b[0] + text_width) + margin
                            && (y as f64) >= b[1] - margin
                            && (y as f64) <= b[3] + margin
                    })
                {
                    stray += 1;
                    stray_box = [
                        stray_box[0].min(x),
                        stray_box[1].min(y),
                        stray_box[2].max(x),
                        stray_box[3].max(y),
                    ];
                }
            }
        }
        assert_eq!(
            stray, 0,
            "frame {}: pixels changed away from every box, within {stray_box:?}; boxes {boxes:?}",
            f.pts
        );
    }
    assert!(
        total_objects >= 25,
        "vtest.avi has people on every frame: {total_objects}"
    );
    assert!(tracked_objects > 0, "edgetrack tracked some of them");
}

const W: i32 = 320;
const H: i32 = 240;

/// The boxes an upstream-style producer writes on frame `i`: (label, x, y, w, h, confidence).
fn producer_boxes(i: i32) -> [(&'static str, i32, i32, i32, i32, f32); 2] {
    [
        ("person", 20 + 3 * i, 50, 40, 80, 0.9),
        ("car", 220 - 2 * i, 150, 60, 40, 0.8),
    ]
}

/// Objects written the upstream way (analytics relation meta only, by a pad
/// probe, as the onnx plugin's decoders do) are tracked by edgetrack, which
/// relates a tracking Mtd to each, reported by edgejson and counted by
/// edgeevents.
#[test]
fn analytics_only_producer_is_tracked_and_counted() {
    let dir = common::temp_dir("analytics-producer");
    let json = dir.join("objects.jsonl");
    let db = dir.join("events.db");
    let desc = format!(
        "videotestsrc num-buffers=30 pattern=black ! video/x-raw,format=RGB,width={W},height={H},framerate=10/1 \
         ! identity name=producer ! edgetrack ! edgeoverlay ! edgejson location={} \
         ! edgeevents location={} count-interval=1 ! appsink name=out sync=false",
        json.display(),
        db.display()
    );
    let seen: Shared<(u64, Vec<Od>, usize)> = Arc::default();
    // Per frame: whether edgeoverlay drew on the black frame along the
    // person's top edge.
    let drawn: Shared<bool> = Arc::default();
    run(&desc, |bin| {
        let count = Arc::new(Mutex::new(0));
        bin.by_name("producer")
            .expect("identity")
            .static_pad("src")
            .expect("src pad")
            .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                let Some(buf) = info.buffer_mut() else {
                    return gst::PadProbeReturn::Ok;
                };
                let mut n = count.lock().unwrap();
                let buf = buf.make_mut();
                let mut rmeta = AnalyticsRelationMeta::add(buf);
                for (label, x, y, w, h, c) in producer_boxes(*n) {
                    rmeta
                        .add_od_mtd(glib::Quark::from_str(label), x, y, w, h, c)
                        .expect("add OD");
                }
                *n += 1;
                gst::PadProbeReturn::Ok
            });
        let sink = bin
            .by_name("out")
            .expect("appsink")
            .downcast::<gst_app::AppSink>()
            .expect("appsink");
        let seen = seen.clone();
        let drawn = drawn.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |s| {
                    let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let buf = sample.buffer().expect("buffer");
                    seen.lock().unwrap().push((
                        buf.pts().expect("pts").nseconds(),
                        read_relation_meta(buf),
                        roi_count(buf),
                    ));
                    let i = drawn.lock().unwrap().len() as i32;
                    let (_, x, y, w, _, _) = producer_boxes(i)[0];
                    let map = buf.map_readable().expect("map");
                    let stride = (W as usize * 3).next_multiple_of(4);
                    let on_edge = (y - 2..=y + 2).any(|yy| {
                        (x + 4..x + w - 4).any(|xx| {
                            let o = yy as usize * stride + xx as usize * 3;
                            map[o..o + 3].iter().any(|&v| v > 0)
                        })
                    });
                    drawn.lock().unwrap().push(on_edge);
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
    });

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 30);
    let mut ids: HashMap<&str, u64> = HashMap::new();
    for (i, (pts, ods, rois)) in seen.iter().enumerate() {
        // Both kinds after edgetrack (meta-output=both): the producer's two
        // OD Mtds, now with tracking, and a ROI meta for each.
        assert_eq!(ods.len(), 2, "frame {i}");
        assert_eq!(*rois, 2, "frame {i}: ROI metas added by edgetrack");
        for (od, want) in ods.iter().zip(producer_boxes(i as i32)) {
            assert_eq!(
                (od.label.as_str(), od.x, od.y, od.w, od.h),
                (want.0, want.1, want.2, want.3, want.4)
            );
            let (id, first, last, lost) = od
                .track
                .unwrap_or_else(|| panic!("frame {i}: {od:?} not tracked"));
            // Stable identity per object; first seen at frame 0, last seen now.
            assert_eq!(
                *ids.entry(want.0).or_insert(id),
                id,
                "{} changed id",
                want.0
            );
            assert_eq!(first, gst::ClockTime::ZERO);
            assert_eq!(last.nseconds(), *pts);
            assert!(!lost);
        }
    }
    assert_ne!(ids["person"], ids["car"]);
    // edgeoverlay drew the upstream producer's objects.
    assert_eq!(*drawn.lock().unwrap(), vec![true; 30]);

    // edgejson reports them with the same ids.
    let lines = common::read_jsonl(&json);
    assert_eq!(lines.len(), 30);
    for (i, l) in lines.iter().enumerate() {
        let objs = l["objects"].as_array().unwrap();
        assert_eq!(objs.len(), 2, "line {i}: {l}");
        for (o, want) in objs.iter().zip(producer_boxes(i as i32)) {
            assert_eq!(o["label"], want.0);
            assert_eq!(o["track_id"].as_u64(), Some(ids[want.0]));
            let b = common::as_box(&o["box"]);
            let exp = [want.1, want.2, want.1 + want.3, want.2 + want.4].map(f64::from);
            assert_eq!(b, exp.to_vec());
            assert!((o["confidence"].as_f64().unwrap() - f64::from(want.5)).abs() < 1e-6);
        }
    }

    // edgeevents counted both tracks, with their labels and frame counts.
    let c = rusqlite_open(&db);
    let mut stmt = c
        .prepare("SELECT track_id, label, frames FROM tracks ORDER BY label")
        .unwrap();
    let rows: Vec<(i64, String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        rows,
        vec![
            (ids["car"] as i64, "car".to_string(), 30),
            (ids["person"] as i64, "person".to_string(), 30)
        ]
    );
}

fn rusqlite_open(p: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(p, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open events database")
}

/// `meta-output=analytics` on edgetrack: the producer's objects get tracking
/// Mtds and no ROI metas; `roi`: ROI metas with tracking and no tracking Mtd.
#[test]
fn edgetrack_meta_output_selects_the_kinds() {
    for (output, want_rois, want_tracking_mtd) in
        [("analytics", 0, true), ("roi", 2, false), ("both", 2, true)]
    {
        let desc = format!(
            "videotestsrc num-buffers=3 pattern=black ! video/x-raw,format=RGB,width={W},height={H},framerate=10/1 \
             ! identity name=producer ! edgetrack meta-output={output} ! appsink name=out sync=false"
        );
        let seen: Shared<(Vec<Od>, usize)> = Arc::default();
        run(&desc, |bin| {
            bin.by_name("producer")
                .unwrap()
                .static_pad("src")
                .unwrap()
                .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                    if let Some(buf) = info.buffer_mut() {
                        let mut rmeta = AnalyticsRelationMeta::add(buf.make_mut());
                        for (label, x, y, w, h, c) in producer_boxes(0) {
                            rmeta
                                .add_od_mtd(glib::Quark::from_str(label), x, y, w, h, c)
                                .unwrap();
                        }
                    }
                    gst::PadProbeReturn::Ok
                });
            let sink = bin
                .by_name("out")
                .unwrap()
                .downcast::<gst_app::AppSink>()
                .unwrap();
            let seen = seen.clone();
            sink.set_callbacks(
                gst_app::AppSinkCallbacks::builder()
                    .new_sample(move |s| {
                        let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                        let buf = sample.buffer().unwrap();
                        seen.lock()
                            .unwrap()
                            .push((read_relation_meta(buf), roi_count(buf)));
                        Ok(gst::FlowSuccess::Ok)
                    })
                    .build(),
            );
        });
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3, "{output}");
        for (ods, rois) in seen.iter() {
            assert_eq!(ods.len(), 2, "{output}");
            assert_eq!(*rois, want_rois, "{output}");
            assert!(
                ods.iter().all(|o| o.track.is_some() == want_tracking_mtd),
                "{output}: {ods:?}"
            );
        }
    }
}

/// edgedetect's meta-output: `roi` writes no relation meta, `analytics` no ROI meta.
#[test]
fn edgedetect_meta_output_selects_the_kinds() {
    for (output, want_rois, want_ods) in [("roi", true, false), ("analytics", false, true)] {
        let desc = format!(
            "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=RGB \
             ! identity eos-after=4 ! edgedetect model={} labels={} meta-output={output} \
             ! appsink name=out sync=false",
            common::shared("media/vtest.avi").display(),
            common::yolox_model().display(),
            common::coco_names().display(),
        );
        let seen: Arc<Mutex<Vec<(usize, usize)>>> = Arc::default();
        run(&desc, |bin| {
            let sink = bin
                .by_name("out")
                .unwrap()
                .downcast::<gst_app::AppSink>()
                .unwrap();
            let seen = seen.clone();
            sink.set_callbacks(
                gst_app::AppSinkCallbacks::builder()
                    .new_sample(move |s| {
                        let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                        let buf = sample.buffer().unwrap();
                        seen.lock()
                            .unwrap()
                            .push((read_relation_meta(buf).len(), roi_count(buf)));
                        Ok(gst::FlowSuccess::Ok)
                    })
                    .build(),
            );
        });
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        assert!(
            seen.iter().any(|&(ods, rois)| ods + rois > 0),
            "{output}: no objects"
        );
        for &(ods, rois) in seen.iter() {
            assert_eq!(ods > 0, want_ods && ods + rois > 0, "{output}");
            assert_eq!(rois > 0, want_rois && ods + rois > 0, "{output}");
        }
    }
}

/// The same read back in Python through PyGObject's GstAnalytics-1.0
/// typelib (gir1.2-gst-plugins-bad-1.0): labels, boxes, confidences and
/// track ids equal what edgejson wrote.
#[test]
fn pygobject_reads_the_relation_meta_as_edgejson_does() {
    common::init();
    let dir = common::temp_dir("analytics-python");
    let json = dir.join("objects.jsonl");
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(common::repo_dir().join("tests/python/analytics_readback.py"))
        .arg(common::shared("media/vtest.avi"))
        .arg(common::yolox_model())
        .arg(common::coco_names())
        .arg(&json)
        .arg("11");
    let out = common::gst_child_env(&mut cmd, "registry-python.bin")
        .output()
        .expect("run python3 (python3-gi installed?)");
    assert!(
        out.status.success(),
        "python readback failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(rows.len(), 10);
    let json = json_by_pts(&json);
    let mut n = 0;
    for r in &rows {
        let j = &json[&r["pts"].as_u64().unwrap()];
        let (w, h) = (j["width"].as_f64().unwrap(), j["height"].as_f64().unwrap());
        let py = r["objects"].as_array().unwrap();
        let objs = j["objects"].as_array().unwrap();
        assert_eq!(py.len(), objs.len(), "{r} vs {j}");
        for (p, o) in py.iter().zip(objs) {
            assert_eq!(p[0], o["label"]);
            let b = common::as_box(&o["box"]);
            let (x, y) = (p[1].as_f64().unwrap(), p[2].as_f64().unwrap());
            let got = [x, y, x + p[3].as_f64().unwrap(), y + p[4].as_f64().unwrap()];
            for k in 0..4 {
                let want = b[k].clamp(0.0, if k % 2 == 0 { w } else { h });
                assert!((got[k] - want).abs() <= 1.0, "{p} vs {o}");
            }
            assert!((p[5].as_f64().unwrap() - o["confidence"].as_f64().unwrap()).abs() < 1e-4);
            assert_eq!(
                p[6].as_u64(),
                o.get("track_id").and_then(Value::as_u64),
                "{p} vs {o}"
            );
            n += 1;
        }
    }
    assert!(n >= 10, "people on every frame of vtest.avi: {n} objects");
}
