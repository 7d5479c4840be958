// SPDX-License-Identifier: MPL-2.0
//! `thermalgate` end to end, with a temperature file the tests rewrite to
//! heat and cool the "device": exact inference and drop counts at a fixed
//! temperature, level messages in order with hysteresis, the critical level
//! never stalling the stream, command / missing / garbage sensors with both
//! fail modes, the power sensor, threshold validation and a prompt stop.
//!
//! Assertions never depend on timing: the temperature is set before start
//! (the first reading is synchronous), or the test waits for the status
//! message of a change before it pushes the next frames.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use gst::prelude::*;
use gstedgeai::meta::{FrameInfo, frame_info};
use gstedgeai::thermalgate::TEMPERATURE_UNKNOWN;

const CAPS: &str = "video/x-raw,format=RGB,width=64,height=48,framerate=30/1";

/// Timestamp of frame `i` at 30 fps, rounded down as videotestsrc does.
fn pts_ns(i: u64) -> u64 {
    i * 1_000_000_000 / 30
}
const WAIT: Duration = Duration::from_secs(10);
const TIMEOUT: Duration = Duration::from_secs(60);

/// Replaces the sensor file atomically, so a poll never sees half a write.
fn write_sensor(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write sensor file");
    std::fs::rename(&tmp, path).expect("rename sensor file");
}

/// A sensor file holding `celsius` in millidegrees, as sysfs writes it.
fn sensor_file(dir: &Path, celsius: f64) -> PathBuf {
    let path = dir.join("temp");
    set_temp(&path, celsius);
    path
}

fn set_temp(path: &Path, celsius: f64) {
    write_sensor(path, &format!("{}\n", (celsius * 1000.0).round() as i64));
}

fn approx(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// One `thermalgate` in a Harness, with its own bus.
struct Gate {
    h: gst_check::Harness,
    bus: gst::Bus,
    frame: u64,
    warnings: Vec<String>,
}

impl Gate {
    /// `sensor` and `props` are set before the element starts, so the first
    /// status message (posted by `start()`) is on the bus.
    fn new(sensor: &str, props: &[(&str, &str)]) -> Gate {
        init();
        let el = gst::ElementFactory::make("thermalgate")
            .property("sensor", sensor)
            .property("poll-interval", 20u32)
            .build()
            .expect("thermalgate");
        for (name, value) in props {
            el.set_property_from_str(name, value);
        }
        let bus = gst::Bus::new();
        el.set_bus(Some(&bus));
        let mut h = gst_check::Harness::with_element(&el, Some("sink"), Some("src"));
        h.set_src_caps_str(CAPS);
        Gate {
            h,
            bus,
            frame: 0,
            warnings: Vec::new(),
        }
    }

    fn element(&self) -> gst::Element {
        self.h.element().expect("harness element")
    }

    /// Pushes `n` frames at 30 fps; returns the buffers that came out.
    fn push(&mut self, n: u64) -> Vec<gst::Buffer> {
        let mut out = Vec::new();
        for _ in 0..n {
            let mut buf = gst::Buffer::with_size(64 * 48 * 3).unwrap();
            {
                let b = buf.get_mut().unwrap();
                b.set_pts(gst::ClockTime::from_nseconds(pts_ns(self.frame)));
                b.set_duration(gst::ClockTime::from_nseconds(
                    pts_ns(self.frame + 1) - pts_ns(self.frame),
                ));
            }
            self.frame += 1;
            assert!(self.h.push(buf).is_ok(), "push failed");
            while let Some(b) = self.h.try_pull() {
                out.push(b);
            }
        }
        out
    }

    /// GAP events received so far: (timestamp, duration).
    fn gaps(&mut self) -> Vec<(u64, Option<u64>)> {
        let mut gaps = Vec::new();
        while let Some(ev) = self.h.try_pull_event() {
            if let gst::EventView::Gap(g) = ev.view() {
                let (ts, dur) = g.get();
                gaps.push((ts.nseconds(), dur.map(gst::ClockTime::nseconds)));
            }
        }
        gaps
    }

    /// The next status message; warnings seen on the way are kept.
    fn next_status(&mut self) -> gst::Structure {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no thermalgate-status message within {WAIT:?}"
            );
            let Some(msg) = self
                .bus
                .timed_pop(gst::ClockTime::from_nseconds(left.as_nanos() as u64))
            else {
                continue;
            };
            match msg.view() {
                gst::MessageView::Element(e) => {
                    if let Some(s) = e.structure().filter(|s| s.name() == "thermalgate-status") {
                        return s.to_owned();
                    }
                }
                gst::MessageView::Warning(w) => self.warnings.push(w.error().to_string()),
                gst::MessageView::Error(e) => panic!("error: {} ({:?})", e.error(), e.debug()),
                _ => {}
            }
        }
    }

    /// Drains the bus: the status messages posted so far (warnings are kept).
    fn drain(&mut self) -> Vec<gst::Structure> {
        let mut statuses = Vec::new();
        while let Some(msg) = self.bus.pop() {
            match msg.view() {
                gst::MessageView::Element(e) => {
                    if let Some(s) = e.structure().filter(|s| s.name() == "thermalgate-status") {
                        statuses.push(s.to_owned());
                    }
                }
                gst::MessageView::Warning(w) => self.warnings.push(w.error().to_string()),
                _ => {}
            }
        }
        statuses
    }
}

/// Waits until the element has read `celsius` (the property follows every
/// poll, also when no message is posted).
fn wait_for_reading(el: &gst::Element, celsius: f64) {
    let deadline = Instant::now() + WAIT;
    while el.property::<f64>("temperature") != celsius {
        assert!(
            Instant::now() < deadline,
            "no reading of {celsius} °C within {WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn level(s: &gst::StructureRef) -> String {
    s.get::<String>("level").expect("level field")
}

fn temperature(s: &gst::StructureRef) -> f64 {
    s.get::<f64>("temperature").expect("temperature field")
}

fn factor(s: &gst::StructureRef) -> f64 {
    s.get::<f64>("factor").expect("factor field")
}

fn infos(bufs: &[gst::Buffer]) -> Vec<FrameInfo> {
    bufs.iter().map(|b| frame_info(b)).collect()
}

fn admitted(infos: &[FrameInfo]) -> usize {
    infos.iter().filter(|f| !f.skip_inference).count()
}

/// 80 °C is the midpoint of the default ramp: factor 0.6, so exactly 180 of
/// 300 frames reach the detector (the Pacer keeps ceil(n·f) frames).
#[test]
fn midpoint_infers_180_of_300_through_edgedetect() {
    let dir = temp_dir("tg-midpoint");
    let sensor = sensor_file(&dir, 80.0);
    let out = dir.join("out.jsonl");
    let desc = format!(
        "videotestsrc num-buffers=300 ! {CAPS} ! thermalgate sensor={} poll-interval=50 ! \
         edgedetect model={} interval=1 threads=2 ! edgejson location={} ! fakesink",
        sensor.display(),
        yolox_model().display(),
        out.display()
    );
    run_pipeline(&desc, TIMEOUT).expect("pipeline");
    let frames = read_jsonl(&out);
    assert_eq!(frames.len(), 300);
    let inferred: Vec<bool> = frames.iter().map(|f| f["inferred"] == true).collect();
    assert_eq!(inferred.iter().filter(|i| **i).count(), 180);
    // Evenly spaced: at 0.6 never two skipped frames in a row.
    assert!(
        inferred.windows(2).all(|w| w[0] || w[1]),
        "uneven: {inferred:?}"
    );

    // At critical no frame is inferred, and every frame still flows.
    set_temp(&sensor, 90.0);
    run_pipeline(&desc, TIMEOUT).expect("pipeline at critical");
    let frames = read_jsonl(&out);
    assert_eq!(frames.len(), 300);
    assert!(frames.iter().all(|f| f["inferred"] == false));
}

/// action=drop at 80 °C: exactly 180 of 300 frames pass with their own
/// timestamps; each of the 120 dropped frames is replaced by a GAP event
/// with its timestamp and duration, so time is covered without holes.
#[test]
fn midpoint_drop_passes_180_of_300_with_gap_events() {
    init();
    let dir = temp_dir("tg-drop");
    let sensor = sensor_file(&dir, 80.0);
    let desc = format!(
        "videotestsrc num-buffers=300 ! {CAPS} ! thermalgate name=gate action=drop sensor={} ! \
         fakesink name=sink sync=false",
        sensor.display()
    );
    let pipeline = gst::parse::launch(&desc)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let sink = pipeline.by_name("sink").unwrap();
    // (pts, duration, is_gap)
    let seen: Arc<Mutex<Vec<(u64, u64, bool)>>> = Arc::default();
    let seen2 = Arc::clone(&seen);
    sink.static_pad("sink").unwrap().add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
        move |_, info| {
            let mut seen = seen2.lock().unwrap();
            match &info.data {
                Some(gst::PadProbeData::Buffer(b)) => {
                    let info = frame_info(b);
                    assert!(approx(info.throttle_factor.unwrap(), 0.6), "{info:?}");
                    assert!(approx(info.temperature.unwrap(), 80.0), "{info:?}");
                    assert!(!info.skip_inference);
                    seen.push((
                        b.pts().unwrap().nseconds(),
                        b.duration().unwrap().nseconds(),
                        false,
                    ));
                }
                Some(gst::PadProbeData::Event(e)) => {
                    if let gst::EventView::Gap(g) = e.view() {
                        let (ts, dur) = g.get();
                        seen.push((ts.nseconds(), dur.unwrap().nseconds(), true));
                    }
                }
                _ => {}
            }
            gst::PadProbeReturn::Ok
        },
    );
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(60),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("EOS");
    assert!(matches!(msg.view(), gst::MessageView::Eos(_)), "{msg:?}");
    pipeline.set_state(gst::State::Null).unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen.iter().filter(|s| !s.2).count(), 180);
    assert_eq!(seen.iter().filter(|s| s.2).count(), 120);
    // Buffers and gaps together tile the stream: frame i at i/30 s, in order.
    assert_eq!(seen.len(), 300);
    for (i, (pts, dur, _)) in seen.iter().enumerate() {
        let expected = pts_ns(i as u64);
        assert_eq!(*pts, expected, "frame {i}");
        assert!(
            *dur > 33_000_000 && *dur < 34_000_000,
            "frame {i}: duration {dur}"
        );
    }
}

/// normal → warning → critical → warning → normal as the file is rewritten,
/// in that order, with one element warning on entering critical; frames keep
/// flowing at critical; inside the hysteresis band the level holds; below
/// warning − hysteresis the full rate is back.
#[test]
fn levels_in_order_with_hysteresis_and_recovery() {
    let dir = temp_dir("tg-levels");
    let sensor = sensor_file(&dir, 70.0);
    let mut g = Gate::new(sensor.to_str().unwrap(), &[]);
    let mut levels = Vec::new();

    let s = g.next_status();
    levels.push(level(&s));
    assert!(
        approx(temperature(&s), 70.0) && approx(factor(&s), 1.0),
        "{s}"
    );
    assert_eq!(
        s.get::<String>("sensor").unwrap(),
        sensor.display().to_string()
    );
    let frames = infos(&g.push(30));
    assert_eq!((frames.len(), admitted(&frames)), (30, 30));
    assert!(
        frames
            .iter()
            .all(|f| f.temperature == Some(70.0) && f.throttle_factor == Some(1.0))
    );

    set_temp(&sensor, 80.0);
    let s = g.next_status();
    levels.push(level(&s));
    assert!(approx(factor(&s), 0.6), "{s}");
    // Running time of the last frame before the reading.
    assert!(
        s.get::<gst::ClockTime>("running-time").unwrap()
            >= gst::ClockTime::from_nseconds(pts_ns(29))
    );
    let frames = infos(&g.push(30));
    assert_eq!((frames.len(), admitted(&frames)), (30, 18));

    set_temp(&sensor, 90.0);
    let s = g.next_status();
    levels.push(level(&s));
    assert_eq!(factor(&s), 0.0);
    let frames = infos(&g.push(30));
    assert_eq!(
        (frames.len(), admitted(&frames)),
        (30, 0),
        "critical: frames flow, none admitted"
    );
    assert!(frames.iter().all(|f| f.throttle_factor == Some(0.0)));
    assert_eq!(g.element().property::<String>("level"), "critical");

    // 84 °C is inside the critical hysteresis band (83..85): still critical.
    set_temp(&sensor, 84.0);
    wait_for_reading(&g.element(), 84.0);
    assert_eq!(g.element().property::<String>("level"), "critical");

    set_temp(&sensor, 80.0);
    let s = g.next_status();
    levels.push(level(&s));
    let frames = infos(&g.push(30));
    let n = admitted(&frames);
    assert!((17..=19).contains(&n), "{n} of 30 admitted at 0.6");

    // 74 °C is inside the warning band (73..75): still warning, factor 1.
    set_temp(&sensor, 74.0);
    wait_for_reading(&g.element(), 74.0);
    assert_eq!(g.element().property::<String>("level"), "warning");
    assert_eq!(g.element().property::<f64>("throttle-factor"), 1.0);

    set_temp(&sensor, 72.0);
    let s = g.next_status();
    levels.push(level(&s));
    let frames = infos(&g.push(30));
    assert_eq!(
        (frames.len(), admitted(&frames)),
        (30, 30),
        "full rate after recovery"
    );

    assert_eq!(
        levels,
        ["normal", "warning", "critical", "warning", "normal"]
    );
    let more = g.drain();
    assert!(more.is_empty(), "unexpected status messages {more:?}");
    assert_eq!(g.warnings.len(), 1, "{:?}", g.warnings);
    assert!(g.warnings[0].contains("critical"), "{:?}", g.warnings);
}

/// action=drop at critical: one frame per second of stream time passes, the
/// others become GAP events; cooling down restores every frame.
#[test]
fn drop_at_critical_passes_one_frame_per_second() {
    let dir = temp_dir("tg-drop-critical");
    let sensor = sensor_file(&dir, 90.0);
    let mut g = Gate::new(sensor.to_str().unwrap(), &[("action", "drop")]);
    assert_eq!(level(&g.next_status()), "critical");
    let out = g.push(90);
    let pts: Vec<u64> = out.iter().map(|b| b.pts().unwrap().nseconds()).collect();
    assert_eq!(pts, [0, pts_ns(30), pts_ns(60)]);
    let gaps = g.gaps();
    assert_eq!(gaps.len(), 87);
    assert_eq!(gaps[0], (pts_ns(1), Some(pts_ns(2) - pts_ns(1))));

    set_temp(&sensor, 60.0);
    assert_eq!(level(&g.next_status()), "normal");
    assert_eq!(g.push(30).len(), 30);
    assert!(g.gaps().is_empty());
}

/// A command sensor, run with `sh -c`, printing what `vcgencmd` prints.
#[test]
fn command_sensor_vcgencmd_style() {
    let dir = temp_dir("tg-cmd");
    let script = dir.join("fake-vcgencmd");
    std::fs::write(&script, "#!/bin/sh\necho \"temp=80.0'C\"\n").unwrap();
    let mut g = Gate::new(&format!("sh {} measure_temp", script.display()), &[]);
    let s = g.next_status();
    assert_eq!(level(&s), "warning");
    assert!(approx(temperature(&s), 80.0), "{s}");
    assert!(
        s.get::<String>("sensor").unwrap().contains("command"),
        "{s}"
    );
    assert!(s.get::<bool>("sensor-ok").unwrap());
    let frames = infos(&g.push(10));
    assert_eq!(admitted(&frames), 6);
}

/// A missing sensor: one warning naming it (not one per poll), fail-mode
/// open → no throttling; when the file appears, the gate recovers.
#[test]
fn missing_sensor_fail_open_warns_once_and_recovers() {
    let dir = temp_dir("tg-missing-open");
    let sensor = dir.join("no-such-temp");
    let mut g = Gate::new(sensor.to_str().unwrap(), &[]);
    let s = g.next_status();
    assert_eq!(level(&s), "normal");
    assert_eq!(factor(&s), 1.0);
    assert_eq!(temperature(&s), TEMPERATURE_UNKNOWN);
    assert!(!s.get::<bool>("sensor-ok").unwrap());
    let frames = infos(&g.push(10));
    assert_eq!(admitted(&frames), 10);
    assert!(
        frames
            .iter()
            .all(|f| f.temperature.is_none() && f.throttle_factor == Some(1.0))
    );
    // About 15 more polls, still one warning.
    std::thread::sleep(Duration::from_millis(300));
    assert!(g.drain().is_empty());
    assert_eq!(g.warnings.len(), 1, "{:?}", g.warnings);
    assert!(
        g.warnings[0].contains(sensor.to_str().unwrap()),
        "{:?}",
        g.warnings
    );
    assert!(g.warnings[0].contains("fail-mode=open"), "{:?}", g.warnings);

    set_temp(&sensor, 80.0);
    let s = g.next_status();
    assert_eq!(level(&s), "warning");
    assert!(s.get::<bool>("sensor-ok").unwrap());
    assert_eq!(g.element().property::<f64>("temperature"), 80.0);
    assert_eq!(admitted(&infos(&g.push(10))), 6);
    assert_eq!(g.warnings.len(), 1, "{:?}", g.warnings);
}

/// fail-mode=closed treats a missing sensor as critical: frames flow,
/// none is admitted.
#[test]
fn missing_sensor_fail_closed_is_critical() {
    let dir = temp_dir("tg-missing-closed");
    let sensor = dir.join("no-such-temp");
    let mut g = Gate::new(sensor.to_str().unwrap(), &[("fail-mode", "closed")]);
    let s = g.next_status();
    assert_eq!(level(&s), "critical");
    assert_eq!(factor(&s), 0.0);
    let frames = infos(&g.push(10));
    assert_eq!((frames.len(), admitted(&frames)), (10, 0));
    assert_eq!(
        g.element().property::<f64>("temperature"),
        TEMPERATURE_UNKNOWN
    );
    assert_eq!(g.element().property::<f64>("throttle-factor"), 0.0);
    g.drain();
    assert_eq!(g.warnings.len(), 1, "{:?}", g.warnings);
    assert!(
        g.warnings[0].contains("fail-mode=closed"),
        "{:?}",
        g.warnings
    );
}

/// A file holding garbage: a warning naming the file, fail-mode applies,
/// and a good value later recovers.
#[test]
fn garbage_sensor_file() {
    let dir = temp_dir("tg-garbage");
    let sensor = dir.join("temp");
    write_sensor(&sensor, "hello\n");
    let mut g = Gate::new(sensor.to_str().unwrap(), &[("fail-mode", "closed")]);
    assert_eq!(level(&g.next_status()), "critical");
    g.drain();
    assert_eq!(g.warnings.len(), 1, "{:?}", g.warnings);
    assert!(
        g.warnings[0].contains(sensor.to_str().unwrap()),
        "{:?}",
        g.warnings
    );
    assert!(g.warnings[0].contains("hello"), "{:?}", g.warnings);

    // An out-of-range value is garbage too: still failing, no new warning.
    write_sensor(&sensor, "999999\n");
    std::thread::sleep(Duration::from_millis(100));
    set_temp(&sensor, 50.0);
    let s = g.next_status();
    assert_eq!(level(&s), "normal");
    assert!(approx(temperature(&s), 50.0));
    assert_eq!(g.warnings.len(), 1, "{:?}", g.warnings);
}

/// The power sensor shows up in every status message, and with
/// report-every-poll each poll posts one, with admitted-fps and
/// fps-per-watt once a poll interval has passed.
#[test]
fn power_sensor_in_status_messages() {
    let dir = temp_dir("tg-power");
    let sensor = sensor_file(&dir, 60.0);
    let power = dir.join("power1_input");
    write_sensor(&power, "5123000\n"); // µW
    let mut g = Gate::new(
        sensor.to_str().unwrap(),
        &[
            ("power-sensor", power.to_str().unwrap()),
            ("report-every-poll", "true"),
        ],
    );
    let first = g.next_status();
    assert!(approx(first.get::<f64>("power").unwrap(), 5.123), "{first}");
    assert!(!first.has_field("admitted-fps"));
    g.push(10);
    // The first poll after the push counts the frames; earlier ones may
    // still be queued on the bus.
    let mut with_fps = None;
    for _ in 0..100 {
        let s = g.next_status();
        assert!(approx(s.get::<f64>("power").unwrap(), 5.123), "{s}");
        assert_eq!(level(&s), "normal");
        assert!(s.has_field("admitted-fps"), "{s}");
        if s.get::<f64>("admitted-fps").unwrap() > 0.0 {
            with_fps = Some(s);
            break;
        }
    }
    let s = with_fps.expect("a status message counting the pushed frames");
    let fps = s.get::<f64>("admitted-fps").unwrap();
    assert!(
        approx(s.get::<f64>("fps-per-watt").unwrap(), fps / 5.123),
        "{s}"
    );
    g.next_status();
    assert!(g.warnings.is_empty(), "{:?}", g.warnings);
}

/// Thresholds: a launch line may set them in any order (checked at start);
/// an invalid combination fails the start with a clear message; while
/// running, an invalid combination keeps the old values.
#[test]
fn threshold_validation() {
    let dir = temp_dir("tg-thresholds");
    let sensor = sensor_file(&dir, 80.0);
    let desc = |extra: &str| {
        format!(
            "videotestsrc num-buffers=3 ! {CAPS} ! thermalgate sensor={} {extra} ! fakesink",
            sensor.display()
        )
    };
    run_pipeline(&desc("warning-temp=90 critical-temp=100"), TIMEOUT).expect("valid thresholds");
    let err = run_pipeline(&desc("warning-temp=90"), TIMEOUT).unwrap_err();
    assert!(
        err.contains("warning-temp") && err.contains("critical-temp"),
        "{err}"
    );

    let mut g = Gate::new(sensor.to_str().unwrap(), &[]);
    assert_eq!(level(&g.next_status()), "warning");
    let el = g.element();
    el.set_property("warning-temp", 90.0f64);
    assert_eq!(
        el.property::<f64>("warning-temp"),
        75.0,
        "invalid combination must keep the old value"
    );
    // Raising both, critical first: applied at once (an early poll).
    el.set_property("critical-temp", 100.0f64);
    el.set_property("warning-temp", 90.0f64);
    assert_eq!(el.property::<f64>("warning-temp"), 90.0);
    let s = g.next_status();
    assert_eq!(level(&s), "normal");
    assert_eq!(g.push(5).len(), 5);
}

/// The polling thread stops at once, not after the poll interval.
#[test]
fn stop_is_prompt_with_a_long_poll_interval() {
    init();
    let dir = temp_dir("tg-stop");
    let sensor = sensor_file(&dir, 42.5);
    let desc = format!(
        "videotestsrc is-live=true ! {CAPS} ! thermalgate name=gate sensor={} poll-interval=600000 ! fakesink",
        sensor.display()
    );
    let pipeline = gst::parse::launch(&desc)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let (res, _, _) = pipeline.state(gst::ClockTime::from_seconds(10));
    assert!(res.is_ok());
    let gate = pipeline.by_name("gate").unwrap();
    assert_eq!(gate.property::<f64>("temperature"), 42.5);
    assert_eq!(gate.property::<String>("level"), "normal");
    let start = Instant::now();
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "stop took {:?}",
        start.elapsed()
    );
}
