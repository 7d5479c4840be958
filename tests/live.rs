// SPDX-License-Identifier: MPL-2.0
//! `edgedetect mode=live` and shared model instances: order and count kept
//! with a live source and a model slower than the camera, inferred flags
//! consistent with the detections, EOS and flush with a frame in flight,
//! state changes in PLAYING, one instance shared by several elements started
//! and stopped in any order, a conflicting setting under one id, the latency
//! query.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use gst::prelude::*;

/// The slow YOLOv8n-sized model (about 40 ms per inference on one thread here).
fn dense_model() -> String {
    test_models_dir()
        .join("yolov8_dense.onnx")
        .to_str()
        .unwrap()
        .to_string()
}

const WAIT: gst::ClockTime = gst::ClockTime::from_seconds(120);

/// What the sink saw: (pts, inferred, objects, has inference latency), and
/// the order of buffers and EOS.
#[derive(Default)]
struct Seen {
    frames: Vec<(gst::ClockTime, Option<bool>, usize, bool)>,
    eos_after: Option<usize>,
}

fn watch(pad: &gst::Pad) -> Arc<Mutex<Seen>> {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s = seen.clone();
    pad.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
        move |_, info| {
            // A failed assertion elsewhere must not turn into an abort here.
            let mut s = s.lock().unwrap_or_else(|e| e.into_inner());
            match &info.data {
                Some(gst::PadProbeData::Buffer(b)) => {
                    let fi = gstedgeai::meta::frame_info(b);
                    let n = b
                        .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
                        .count();
                    s.frames.push((
                        b.pts().unwrap(),
                        fi.inferred,
                        n,
                        fi.inference_latency_ms.is_some(),
                    ));
                }
                Some(gst::PadProbeData::Event(e)) if e.type_() == gst::EventType::Eos => {
                    s.eos_after = Some(s.frames.len());
                }
                _ => {}
            }
            gst::PadProbeReturn::Ok
        },
    );
    seen
}

fn wait_eos_or_error(pipeline: &gst::Pipeline) {
    let bus = pipeline.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(WAIT, &[gst::MessageType::Eos, gst::MessageType::Error])
        .expect("no EOS within the timeout");
    if let gst::MessageView::Error(e) = msg.view() {
        panic!("{} ({:?})", e.error(), e.debug());
    }
}

/// A live 30 fps source into a model slower than the camera: every frame
/// comes out, in order, once; inferred frames carry their inference time,
/// the others no objects; the model is kept busy (more than a few frames
/// inferred, but not all); EOS comes after the last frame; the pipeline's
/// latency includes what edgedetect reports. With the default `prefetch`
/// (the next frame pre-processed while the model runs) and without.
#[test]
fn live_mode_keeps_every_frame_in_order() {
    init();
    let det = gst::ElementFactory::make("edgedetect").build().unwrap();
    assert!(
        det.property::<bool>("prefetch"),
        "prefetch is on by default"
    );
    live_mode_keeps_every_frame_in_order_with(true);
}

#[test]
fn live_mode_without_prefetch_keeps_every_frame_in_order() {
    live_mode_keeps_every_frame_in_order_with(false);
}

fn live_mode_keeps_every_frame_in_order_with(prefetch: bool) {
    init();
    let n = 60;
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc is-live=true num-buffers={n} pattern=ball ! \
         video/x-raw,format=RGB,width=320,height=240,framerate=30/1 ! \
         edgedetect name=det mode=live threads=1 conf-threshold=0.01 prefetch={prefetch} model={} ! \
         fakesink name=sink sync=true",
        dense_model()
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let det = pipeline.by_name("det").unwrap();
    assert_eq!(det.property::<bool>("prefetch"), prefetch);
    let seen = watch(&det.static_pad("src").unwrap());
    pipeline.set_state(gst::State::Playing).unwrap();
    wait_eos_or_error(&pipeline);

    let mut q = gst::query::Latency::new();
    assert!(pipeline.query(&mut q));
    let (live, min, _) = q.result();
    let ours = det.property::<f64>("live-latency");
    let mean = det.property::<f64>("mean-latency");
    pipeline.set_state(gst::State::Null).unwrap();

    let s = seen.lock().unwrap();
    assert_eq!(s.frames.len(), n, "every frame comes out once");
    assert_eq!(s.eos_after, Some(n), "EOS after the last frame");
    let first = s.frames[0].0.nseconds();
    for (i, f) in s.frames.iter().enumerate() {
        // videotestsrc stamps frame i at start + i/30 s: order and identity kept.
        assert_eq!(
            f.0.nseconds() - first,
            (i as u64 * 1_000_000_000) / 30,
            "frame {i} out of order"
        );
        match f.1 {
            Some(true) => assert!(f.3, "inferred frame {i} without its inference time"),
            Some(false) => assert_eq!(f.2, 0, "frame {i} not inferred but has objects"),
            None => panic!("frame {i} without the inferred flag"),
        }
    }
    let inferred = s.frames.iter().filter(|f| f.1 == Some(true)).count();
    assert_eq!(det.property::<u64>("frames-inferred"), inferred as u64);
    assert_eq!(det.property::<u64>("frames-skipped"), (n - inferred) as u64);
    assert_eq!(
        s.frames[0].1,
        Some(true),
        "the model is free for the first frame"
    );
    assert!(inferred >= 2, "the model ran on {inferred} frame(s) only");
    assert!(live);
    assert!(ours > 0.0, "live mode reports its latency");
    assert!(
        min.nseconds() as f64 >= ours * 1e6 - 1.0,
        "pipeline latency {min} < ours {ours} ms"
    );
    // Bounded: at most 2 x mean inference + one frame (mean-latency is the
    // per-frame pre + inference + post time, a lower bound of the measured one).
    assert!(
        ours <= 2.0 * mean * 3.0 + 33.4,
        "reported {ours} ms for a mean inference of {mean} ms"
    );
}

fn harness(props: &[(&str, &str)]) -> gst_check::Harness {
    let el = gst::ElementFactory::make("edgedetect").build().unwrap();
    for (k, v) in props {
        el.set_property_from_str(k, v);
    }
    let mut h = gst_check::Harness::with_element(&el, Some("sink"), Some("src"));
    h.set_src_caps_str("video/x-raw,format=RGB,width=64,height=48,framerate=30/1");
    h
}

fn frame(i: u64) -> gst::Buffer {
    let mut b = gst::Buffer::with_size(64 * 48 * 3).unwrap();
    b.get_mut()
        .unwrap()
        .set_pts(gst::ClockTime::from_mseconds(33 * i));
    b
}

/// EOS with a frame in flight: the frame is finished, then EOS goes on. A
/// flush drops what is held; the next frame goes to the model again.
#[test]
fn eos_and_flush_with_a_frame_in_flight() {
    init();
    let model = dense_model();
    let mut h = harness(&[("model", &model), ("mode", "live"), ("threads", "1")]);
    let seen = watch(&h.element().unwrap().static_pad("src").unwrap());
    // Frame 0 goes to the model, 1 and 2 wait behind it.
    for i in 0..3 {
        h.push(frame(i)).unwrap();
    }
    // Flush: what is held is dropped, the answer for frame 0 ignored.
    assert!(h.push_event(gst::event::FlushStart::new()));
    assert!(h.push_event(gst::event::FlushStop::new(true)));
    h.push_event(gst::event::Segment::new(&gst::FormattedSegment::<
        gst::ClockTime,
    >::new()));
    h.push(frame(10)).unwrap();
    h.push(frame(11)).unwrap();
    assert!(h.push_event(gst::event::Eos::new()));
    let a = h.pull().expect("frame 10");
    let b = h.pull().expect("frame 11");
    assert_eq!(a.pts(), Some(gst::ClockTime::from_mseconds(330)));
    assert_eq!(b.pts(), Some(gst::ClockTime::from_mseconds(363)));
    // The source pad's task pushes EOS after frame 11; wait until it has.
    loop {
        let ev = h.pull_event().expect("EOS after frame 11");
        if ev.type_() == gst::EventType::Eos {
            break;
        }
    }
    let s = seen.lock().unwrap();
    // Frames flushed while held never came out; EOS came after frame 11.
    let pts: Vec<u64> = s.frames.iter().map(|f| f.0.mseconds()).collect();
    assert!(
        pts == [330, 363] || pts.ends_with(&[330, 363]) && pts.iter().all(|&p| p != 66),
        "{pts:?}"
    );
    assert_eq!(s.eos_after, Some(s.frames.len()));
    // After the flush the model takes frames again: 10 goes, or 11 if it
    // replaced 10 while the worker still finished the flushed frame 0.
    let inferred = [&a, &b].map(|x| gstedgeai::meta::frame_info(x).inferred);
    assert!(inferred.contains(&Some(true)), "{inferred:?}");
}

/// sync mode: today's behaviour, every frame waits for its inference.
#[test]
fn sync_mode_infers_every_frame() {
    init();
    let model = dense_model();
    let mut h = harness(&[("model", &model), ("mode", "sync"), ("threads", "1")]);
    for i in 0..3 {
        h.push(frame(i)).unwrap();
    }
    for _ in 0..3 {
        let b = h.pull().unwrap();
        assert_eq!(gstedgeai::meta::frame_info(&b).inferred, Some(true));
    }
    assert_eq!(h.element().unwrap().property::<f64>("live-latency"), 0.0);
}

/// State changes in PLAYING with frames in flight: to READY and back, then
/// to NULL, without hanging; frames flow again after the restart.
#[test]
fn state_changes_while_playing() {
    init();
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc is-live=true ! video/x-raw,format=RGB,width=320,height=240,framerate=30/1 ! \
         edgedetect name=det threads=1 model={} ! fakesink name=sink sync=true",
        dense_model()
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let det = pipeline.by_name("det").unwrap();
    let seen = watch(&det.static_pad("src").unwrap());
    for _ in 0..2 {
        pipeline.set_state(gst::State::Playing).unwrap();
        let (r, ..) = pipeline.state(gst::ClockTime::from_seconds(60));
        r.unwrap();
        std::thread::sleep(Duration::from_millis(700));
        let before = seen.lock().unwrap().frames.len();
        assert!(before > 0, "no frame came out");
        pipeline.set_state(gst::State::Ready).unwrap();
        seen.lock().unwrap().frames.clear();
    }
    pipeline.set_state(gst::State::Playing).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    pipeline.set_state(gst::State::Null).unwrap();
}

/// One instance shared by two elements started and stopped in any order; a
/// third asking for other settings under the id fails, naming the holder.
#[test]
fn shared_instance_any_order_and_conflict() {
    init();
    let model = dense_model();
    let id = "live-test-shared";
    let mut a = harness(&[
        ("model", &model),
        ("mode", "live"),
        ("threads", "1"),
        ("model-instance-id", id),
        ("name", "det-a"),
    ]);
    let mut b = harness(&[
        ("model", &model),
        ("mode", "sync"),
        ("threads", "1"),
        ("model-instance-id", id),
    ]);
    a.push(frame(0)).unwrap();
    b.push(frame(0)).unwrap();
    assert_eq!(
        gstedgeai::meta::frame_info(&a.pull().unwrap()).inferred,
        Some(true)
    );
    assert_eq!(
        gstedgeai::meta::frame_info(&b.pull().unwrap()).inferred,
        Some(true)
    );
    let stats = |h: &gst_check::Harness| {
        h.element()
            .unwrap()
            .property::<Option<gst::Structure>>("instance-stats")
            .unwrap()
    };
    // The worker counts its inference just after handing the frame back.
    let mut sa = stats(&a);
    for _ in 0..100 {
        if sa.get::<u64>("inferences").unwrap() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        sa = stats(&a);
    }
    assert_eq!(sa.get::<u32>("streams").unwrap(), 2);
    // Both elements' inferences, plus the warm-up runs of neither (they are not counted).
    assert_eq!(sa.get::<u64>("inferences").unwrap(), 2);
    assert_eq!(
        stats(&b).get::<u64>("inferences").unwrap(),
        2,
        "one instance, read from either element"
    );

    // A conflicting setting under the same id fails and names det-a.
    let pipeline = gst::Pipeline::new();
    let c = gst::ElementFactory::make("edgedetect")
        .property("model", &model)
        .property("threads", 2u32)
        .property("model-instance-id", id)
        .build()
        .unwrap();
    let src = gst::ElementFactory::make("fakesrc").build().unwrap();
    let sink = gst::ElementFactory::make("fakesink").build().unwrap();
    pipeline.add_many([&src, &c, &sink]).unwrap();
    assert!(pipeline.set_state(gst::State::Paused).is_err());
    let bus = pipeline.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(gst::ClockTime::from_seconds(1), &[gst::MessageType::Error])
        .expect("an error message");
    let gst::MessageView::Error(e) = msg.view() else {
        unreachable!()
    };
    let text = e.error().to_string();
    assert!(
        text.contains("det-a") && text.contains("threads=1"),
        "{text}"
    );
    pipeline.set_state(gst::State::Null).unwrap();

    // The first user stops first: the other keeps the instance.
    drop(a);
    b.push(frame(1)).unwrap();
    assert_eq!(
        gstedgeai::meta::frame_info(&b.pull().unwrap()).inferred,
        Some(true)
    );
    assert_eq!(stats(&b).get::<u32>("streams").unwrap(), 1);
    drop(b);
    // Freed with its last user: other settings may now take the id.
    let mut d = harness(&[
        ("model", &model),
        ("threads", "2"),
        ("model-instance-id", id),
    ]);
    d.push(frame(0)).unwrap();
    assert!(d.pull().is_ok());
}

/// Batched inference: one call on four frames (the colour-blob detector with
/// a dynamic batch dimension) gives each frame the same detections as one
/// call per frame, and those are the squares drawn into it (ground truth).
#[test]
fn batched_inference_matches_single_calls_per_frame() {
    use gstedgeai::frame::{FrameView, PixelLayout, Plane, YuvConversion};
    use gstedgeai::runtime::{Detector, DetectorConfig, PostParams, Provider, finish};

    let model = test_model("yolov8_blobs_batch.onnx");
    let dir = test_models_dir();
    assert!(model.exists(), "{} missing", model.display());
    let mut d = Detector::load(&DetectorConfig {
        model,
        threads: 1,
        provider: Provider::Cpu,
        family: None,
    })
    .expect("load the batch model");
    assert_eq!(d.batch(), None, "the batch dimension is dynamic");

    // 160x120 RGB frames on grey, squares (class, x, y, side): 0 red, 1 green, 2 blue.
    let (w, h) = (160usize, 120usize);
    let scenes: [&[(usize, usize, usize, usize)]; 4] = [
        &[(0, 20, 30, 40)],
        &[(1, 90, 50, 36)],
        &[(2, 10, 10, 44)],
        &[(0, 100, 20, 40), (2, 20, 60, 40)],
    ];
    let frames: Vec<Vec<u8>> = scenes
        .iter()
        .map(|squares| {
            let mut px = vec![128u8; w * h * 3];
            for &(c, x0, y0, side) in squares.iter() {
                for y in y0..y0 + side {
                    for x in x0..x0 + side {
                        let p = &mut px[(y * w + x) * 3..(y * w + x) * 3 + 3];
                        p.copy_from_slice(&[0, 0, 0]);
                        p[c] = 255;
                    }
                }
            }
            px
        })
        .collect();
    let post = PostParams {
        class_thresholds: vec![0.25; 3],
        default_threshold: 0.25,
        keep_classes: None,
        iou_threshold: 0.45,
        agnostic: false,
        max_detections: 100,
    };
    let mut prep = d.input_prep();
    let inputs: Vec<_> = frames
        .iter()
        .map(|px| {
            let view = FrameView {
                layout: PixelLayout::Rgb,
                width: w,
                height: h,
                planes: vec![Plane {
                    data: px,
                    stride: w * 3,
                }],
                yuv: YuvConversion::default(),
            };
            prep.prepare(&view).expect("pre-process")
        })
        .collect();
    let family = d.family();
    let finish_one = |c, i: &gstedgeai::runtime::Input| {
        finish(
            family,
            c,
            &i.letterbox,
            i.frame_width,
            i.frame_height,
            &post,
        )
    };
    let single: Vec<_> = inputs
        .iter()
        .map(|i| {
            let mut c = d.infer_batch(&[i.tensor.as_slice()], &[&post]).unwrap();
            finish_one(c.remove(0), i)
        })
        .collect();
    let tensors: Vec<&[f32]> = inputs.iter().map(|i| i.tensor.as_slice()).collect();
    let batched: Vec<_> = d
        .infer_batch(&tensors, &[&post; 4])
        .unwrap()
        .into_iter()
        .zip(&inputs)
        .map(|(c, i)| finish_one(c, i))
        .collect();
    for (k, ((s, b), squares)) in single.iter().zip(&batched).zip(scenes).enumerate() {
        assert_eq!(s.len(), b.len(), "frame {k}: {s:?} vs {b:?}");
        for (x, y) in s.iter().zip(b) {
            assert_eq!(x.class_id, y.class_id, "frame {k}");
            for (p, q) in [(x.x1, y.x1), (x.y1, y.y1), (x.x2, y.x2), (x.y2, y.y2)] {
                assert!((p - q).abs() < 1e-3, "frame {k}: {x:?} vs {y:?}");
            }
            assert!(
                (x.score - y.score).abs() < 1e-4,
                "frame {k}: {x:?} vs {y:?}"
            );
        }
        // Each square drawn is found at its place; nothing of another colour.
        assert!(
            s.iter()
                .all(|o| squares.iter().any(|&(c, ..)| c == o.class_id)),
            "frame {k}: {s:?}"
        );
        for &(c, x0, y0, side) in squares {
            let truth = [x0 as f64, y0 as f64, (x0 + side) as f64, (y0 + side) as f64];
            let best = s
                .iter()
                .filter(|o| o.class_id == c)
                .map(|o| {
                    iou(
                        &truth,
                        &[o.x1 as f64, o.y1 as f64, o.x2 as f64, o.y2 as f64],
                    )
                })
                .fold(0.0, f64::max);
            // The hand-set network is coarse (cells of 8 px): 0.6 is its accuracy here.
            assert!(
                best > 0.6,
                "frame {k}: square {c} found at IoU {best}: {s:?}"
            );
        }
    }
    // A model with a fixed batch of 1 says so instead of failing in ONNX Runtime.
    let mut one = Detector::load(&DetectorConfig {
        model: dir.join("yolov8_blobs.onnx"),
        threads: 1,
        provider: Provider::Cpu,
        family: None,
    })
    .unwrap();
    assert_eq!(one.batch(), Some(1));
    let e = one.infer_batch(&tensors[..2], &[&post; 2]).unwrap_err();
    assert!(e.contains("exactly 1 frames, not 2"), "{e}");
}

/// 160x120 RGB frame on grey with the colour-blob model's squares (class,
/// x, y, side): 0 red, 1 green, 2 blue.
fn blob_frame(i: u64, squares: &[(usize, usize, usize, usize)]) -> gst::Buffer {
    let (w, h) = (160usize, 120usize);
    let mut px = vec![128u8; w * h * 3];
    for &(c, x0, y0, side) in squares {
        for y in y0..y0 + side {
            for x in x0..x0 + side {
                let p = &mut px[(y * w + x) * 3..(y * w + x) * 3 + 3];
                p.copy_from_slice(&[0, 0, 0]);
                p[c] = 255;
            }
        }
    }
    let mut b = gst::Buffer::from_mut_slice(px);
    b.get_mut()
        .unwrap()
        .set_pts(gst::ClockTime::from_mseconds(33 * i));
    b
}

const BLOB_SCENES: [&[(usize, usize, usize, usize)]; 4] = [
    &[(0, 20, 30, 40)],
    &[(1, 90, 50, 36)],
    &[(2, 10, 10, 44)],
    &[(0, 100, 20, 40), (2, 20, 60, 40)],
];

fn blob_harness(props: &[(&str, &str)]) -> gst_check::Harness {
    let el = gst::ElementFactory::make("edgedetect").build().unwrap();
    el.set_property_from_str(
        "model",
        test_model("yolov8_blobs_batch.onnx").to_str().unwrap(),
    );
    el.set_property_from_str("threads", "1");
    for (k, v) in props {
        el.set_property_from_str(k, v);
    }
    let mut h = gst_check::Harness::with_element(&el, Some("sink"), Some("src"));
    h.set_src_caps_str("video/x-raw,format=RGB,width=160,height=120,framerate=30/1");
    h
}

/// The objects on a buffer: (label, x, y, w, h), sorted.
fn objects(b: &gst::BufferRef) -> Vec<(String, u32, u32, u32, u32)> {
    let mut v: Vec<_> = b
        .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
        .map(|m| {
            let (x, y, w, h) = m.rect();
            (m.roi_type().to_string(), x, y, w, h)
        })
        .collect();
    v.sort();
    v
}

fn instance_stats(h: &gst_check::Harness) -> gst::Structure {
    h.element()
        .unwrap()
        .property::<Option<gst::Structure>>("instance-stats")
        .expect("instance-stats while started")
}

/// Element-level batching: four streams under one id with batch-size=4 (and
/// a long batch-timeout, so that the batch waits for all four) run in one
/// model call, and each stream gets the detections sync mode finds on its
/// own frame; those are the squares drawn (two frames checked by hand).
#[test]
fn batched_streams_get_their_own_detections() {
    init();
    let model = test_model("yolov8_blobs_batch.onnx");
    assert!(model.exists(), "{} missing", model.display());
    let id = "live-test-batch4";
    let mut streams: Vec<_> = (0..4)
        .map(|_| {
            blob_harness(&[
                ("mode", "live"),
                ("model-instance-id", id),
                ("batch-size", "4"),
                ("batch-timeout", "10000"),
            ])
        })
        .collect();
    for (k, h) in streams.iter_mut().enumerate() {
        h.push(blob_frame(k as u64, BLOB_SCENES[k])).unwrap();
    }
    let got: Vec<_> = streams
        .iter_mut()
        .map(|h| {
            let b = h.pull().expect("the stream's frame");
            assert_eq!(gstedgeai::meta::frame_info(&b).inferred, Some(true));
            objects(&b)
        })
        .collect();
    // One call for the four frames.
    let mut st = instance_stats(&streams[0]);
    for _ in 0..100 {
        if st.get::<u64>("inferences").unwrap() == 4 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        st = instance_stats(&streams[0]);
    }
    assert_eq!(st.get::<u64>("inferences").unwrap(), 4, "{st}");
    assert_eq!(st.get::<u64>("batches").unwrap(), 1, "{st}");
    assert_eq!(st.get::<f64>("mean-batch-size").unwrap(), 4.0);

    // The same frames one by one in sync mode, without the instance.
    let mut sync = blob_harness(&[("mode", "sync")]);
    for (k, g) in got.iter().enumerate() {
        sync.push(blob_frame(k as u64, BLOB_SCENES[k])).unwrap();
        let b = sync.pull().unwrap();
        let want = objects(&b);
        assert_eq!(g.len(), want.len(), "stream {k}: {g:?} vs {want:?}");
        for (x, y) in g.iter().zip(&want) {
            assert_eq!(x.0, y.0, "stream {k}");
            for (p, q) in [(x.1, y.1), (x.2, y.2), (x.3, y.3), (x.4, y.4)] {
                assert!(p.abs_diff(q) <= 1, "stream {k}: {g:?} vs {want:?}");
            }
        }
    }
    // Ground truth: each square drawn is found where it was drawn.
    for (k, squares) in BLOB_SCENES.iter().enumerate() {
        for &(c, x0, y0, side) in squares.iter() {
            let label = ["red", "green", "blue"][c];
            let truth = [x0 as f64, y0 as f64, (x0 + side) as f64, (y0 + side) as f64];
            let best = got[k]
                .iter()
                .filter(|o| o.0 == label)
                .map(|o| {
                    let (x, y, w, h) = (o.1 as f64, o.2 as f64, o.3 as f64, o.4 as f64);
                    iou(&truth, &[x, y, x + w, y + h])
                })
                .fold(0.0, f64::max);
            // The hand-set network is coarse (cells of 8 px).
            assert!(
                best > 0.6,
                "stream {k}: {label} square at IoU {best}: {:?}",
                got[k]
            );
        }
    }
}

/// One stream pushing, another registered under the id sending nothing: the
/// batch goes out partial when batch-timeout expires, the frame is not
/// stuck. EOS right behind the frame in the gathering batch waits for it;
/// a flush while a frame waits in a batch drops it, and frames flow again.
#[test]
fn batch_timeout_partial_batch_eos_and_flush() {
    init();
    let id = "live-test-batch-timeout";
    let props = [
        ("mode", "live"),
        ("model-instance-id", id),
        ("batch-size", "2"),
        ("batch-timeout", "300"),
    ];
    let mut a = blob_harness(&props);
    let idle = blob_harness(&props);
    let seen = watch(&a.element().unwrap().static_pad("src").unwrap());
    let t0 = std::time::Instant::now();
    a.push(blob_frame(0, BLOB_SCENES[0])).unwrap();
    assert!(a.push_event(gst::event::Eos::new()));
    let b = a.pull().expect("frame 0 after the timeout");
    // It waited for the other stream (the timeout is 300 ms), then went alone.
    assert!(t0.elapsed() >= Duration::from_millis(300));
    assert_eq!(gstedgeai::meta::frame_info(&b).inferred, Some(true));
    assert!(!objects(&b).is_empty());
    loop {
        let ev = a.pull_event().expect("EOS after frame 0");
        if ev.type_() == gst::EventType::Eos {
            break;
        }
    }
    assert_eq!(seen.lock().unwrap().eos_after, Some(1));
    let st = instance_stats(&idle);
    assert_eq!(st.get::<u32>("streams").unwrap(), 2);
    assert_eq!(st.get::<u64>("batches").unwrap(), 1, "{st}");

    // Flush while frame 1 waits in a batch being gathered: it never comes out.
    assert!(a.push_event(gst::event::FlushStart::new()));
    assert!(a.push_event(gst::event::FlushStop::new(true)));
    a.push_event(gst::event::Segment::new(&gst::FormattedSegment::<
        gst::ClockTime,
    >::new()));
    seen.lock().unwrap().frames.clear();
    a.push(blob_frame(1, BLOB_SCENES[1])).unwrap();
    assert!(a.push_event(gst::event::FlushStart::new()));
    assert!(a.push_event(gst::event::FlushStop::new(true)));
    a.push_event(gst::event::Segment::new(&gst::FormattedSegment::<
        gst::ClockTime,
    >::new()));
    a.push(blob_frame(10, BLOB_SCENES[2])).unwrap();
    a.push(blob_frame(11, BLOB_SCENES[3])).unwrap();
    assert!(a.push_event(gst::event::Eos::new()));
    let f10 = a.pull().expect("frame 10");
    let f11 = a.pull().expect("frame 11");
    assert_eq!(f10.pts(), Some(gst::ClockTime::from_mseconds(330)));
    assert_eq!(f11.pts(), Some(gst::ClockTime::from_mseconds(363)));
    let inferred = [&f10, &f11].map(|x| gstedgeai::meta::frame_info(x).inferred);
    assert!(inferred.contains(&Some(true)), "{inferred:?}");
    let s = seen.lock().unwrap();
    let pts: Vec<u64> = s.frames.iter().map(|f| f.0.mseconds()).collect();
    assert_eq!(pts, [330, 363], "frame 1 was flushed");
}

/// batch-size errors: elements under one id asking for other batch settings
/// fail naming the holder and its value; a model with a fixed batch of 1
/// cannot take batch-size=2.
#[test]
fn batch_size_mismatch_and_model_errors() {
    init();
    let id = "live-test-batch-mismatch";
    let _a = blob_harness(&[
        ("mode", "live"),
        ("model-instance-id", id),
        ("batch-size", "2"),
        ("name", "det-batch2"),
    ]);
    let start_error = |props: &[(&str, &str)]| -> String {
        let pipeline = gst::Pipeline::new();
        let el = gst::ElementFactory::make("edgedetect")
            .name("det-other")
            .build()
            .unwrap();
        el.set_property_from_str("threads", "1");
        for (k, v) in props {
            el.set_property_from_str(k, v);
        }
        let src = gst::ElementFactory::make("fakesrc").build().unwrap();
        let sink = gst::ElementFactory::make("fakesink").build().unwrap();
        pipeline.add_many([&src, &el, &sink]).unwrap();
        assert!(pipeline.set_state(gst::State::Paused).is_err());
        let msg = pipeline
            .bus()
            .unwrap()
            .timed_pop_filtered(gst::ClockTime::from_seconds(5), &[gst::MessageType::Error])
            .expect("an error message");
        pipeline.set_state(gst::State::Null).unwrap();
        let gst::MessageView::Error(e) = msg.view() else {
            unreachable!()
        };
        e.error().to_string()
    };
    let model = test_model("yolov8_blobs_batch.onnx");
    let text = start_error(&[
        ("model", model.to_str().unwrap()),
        ("model-instance-id", id),
        ("batch-size", "4"),
    ]);
    assert!(
        text.contains("det-batch2") && text.contains("batch-size=2") && text.contains("det-other"),
        "{text}"
    );
    let fixed = test_model("yolov8_blobs.onnx");
    let text = start_error(&[("model", fixed.to_str().unwrap()), ("batch-size", "2")]);
    assert!(
        text.contains("det-other") && text.contains("batch-size=2") && text.contains("exactly 1"),
        "{text}"
    );
}
