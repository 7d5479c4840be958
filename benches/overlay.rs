// SPDX-License-Identifier: MPL-2.0
//! Overlay benchmark: the cost of drawing 20 boxes with labels on a 768x576
//! frame, per format.
//!
//!     cargo bench --bench overlay [-- --rounds 5 --frames 2000]
//!
//! 1. `draw <format>`: the drawing alone ([`gstedgeai::draw::Painter`]): 20
//!    boxes (5 of them predicted, dashed) with labels such as
//!    `person 0.87 #12`, plus the statistics panel, on the same frame over
//!    and over.
//! 2. `element <format>`: the same 20 objects as ROI metas through
//!    `edgeoverlay` in a `gst_check::Harness` (reading the metadata, mapping
//!    the frame, drawing), minus the same loop through `identity` (buffer
//!    creation, metadata, push and pull), measured in the same round.
//! 3. `zones <format>`: `edgeoverlay` as in 2, the frame also carrying the
//!    zone counters of `edgezones` with their geometry (the example of
//!    docs/edgezones.md: a line across 90 % of the width and a polygon of
//!    40 % × 50 % of the frame, drawn translucent); its difference from 2 is
//!    what drawing the zones adds.
//!
//! Rounds alternate the figures so that the machine's load drifts over all
//! of them alike; the median round is reported. Each figure is given as
//! wall-clock time and as the CPU time of the benchmark thread (from
//! `/proc/thread-self/schedstat`, Linux), which a loaded machine disturbs
//! much less than the wall clock.

use std::time::Instant;

use gst::prelude::*;
use gstedgeai::draw::{BoxSpec, Canvas, Painter, PlaneMut, object_color};
use gstedgeai::frame::{PixelLayout, YuvConversion};
use gstedgeai::meta::{self, Object, Tracking};

mod common;
use common::{arg, median};

const W: usize = 768;
const H: usize = 576;
const N_BOXES: usize = 20;

/// 20 boxes spread over the frame, 60..140 px wide, tracked, 5 predicted.
fn objects() -> Vec<Object> {
    (0..N_BOXES)
        .map(|i| {
            let x = 20.0 + (i % 5) as f64 * 150.0;
            let y = 40.0 + (i / 5) as f64 * 130.0;
            let (bw, bh) = (60.0 + (i % 3) as f64 * 40.0, 90.0 + (i % 4) as f64 * 10.0);
            let mut o = Object::new("person", 0, 0.5 + i as f64 * 0.02, [x, y, x + bw, y + bh]);
            let id = 10 + i as u64;
            o.track_id = Some(id);
            o.tracking = Some(Tracking {
                track_id: id,
                age: 30,
                tracked: i % 4 != 0,
                vx: 0.0,
                vy: 0.0,
                first_seen: None,
                last_seen: None,
            });
            o
        })
        .collect()
}

fn specs() -> Vec<BoxSpec> {
    objects()
        .iter()
        .map(|o| BoxSpec {
            x1: o.x1,
            y1: o.y1,
            x2: o.x2,
            y2: o.y2,
            color: object_color(o.track_id, o.class_id, &o.label),
            predicted: o.tracking.as_ref().is_some_and(|t| !t.tracked),
            label: format!("person {:.2} #{}", o.confidence, o.track_id.unwrap_or(0)),
        })
        .collect()
}

struct Frame {
    layout: PixelLayout,
    /// (offset, stride, rows) of each plane.
    planes: Vec<(usize, usize, usize)>,
    data: Vec<u8>,
}

impl Frame {
    fn new(layout: PixelLayout) -> Frame {
        let planes = match layout {
            PixelLayout::I420 => vec![
                (0, W, H),
                (W * H, W / 2, H / 2),
                (W * H * 5 / 4, W / 2, H / 2),
            ],
            PixelLayout::Nv12 => vec![(0, W, H), (W * H, W, H / 2)],
            PixelLayout::Rgb | PixelLayout::Bgr => vec![(0, 3 * W, H)],
            _ => vec![(0, 4 * W, H)],
        };
        let size = planes.iter().map(|&(_, s, r)| s * r).sum();
        Frame {
            layout,
            planes,
            data: vec![90; size],
        }
    }

    fn canvas(&mut self) -> Canvas<'_> {
        let mut rest: &mut [u8] = &mut self.data;
        let mut planes = Vec::new();
        for &(_, stride, rows) in &self.planes {
            let (head, tail) = rest.split_at_mut(stride * rows);
            planes.push(PlaneMut { data: head, stride });
            rest = tail;
        }
        Canvas::new(self.layout, W, H, planes, YuvConversion::default()).expect("canvas")
    }
}

/// (wall, CPU) ms per frame of drawing the boxes and the panel.
fn bench_draw(layout: PixelLayout, frames: usize, painter: &mut Painter) -> (f64, f64) {
    let specs = specs();
    let lines = vec![
        "overlay   29.9 fps".to_string(),
        "inference 10.0/s 23.4 ms".to_string(),
    ];
    let mut frame = Frame::new(layout);
    timed(frames, |_| {
        let mut canvas = frame.canvas();
        for s in &specs {
            painter.draw_box(&mut canvas, s);
        }
        painter.draw_panel(&mut canvas, &lines);
    })
}

/// (wall, CPU) ms per frame of pushing a buffer with the 20 objects through `factory`.
fn bench_element(factory: &str, format: &str, frames: usize, zones: bool) -> (f64, f64) {
    let mut h = gst_check::Harness::new(factory);
    if factory == "edgeoverlay" {
        h.element().unwrap().set_property("show-stats", true);
    }
    h.set_src_caps_str(&format!(
        "video/x-raw,format={format},width={W},height={H},framerate=30/1"
    ));
    let size = gst_video::VideoInfo::builder(
        gst_video::VideoFormat::from_string(format),
        W as u32,
        H as u32,
    )
    .build()
    .expect("video info")
    .size();
    let objects = objects();
    timed(frames, |i| {
        let mut buf = gst::Buffer::with_size(size).unwrap();
        {
            let b = buf.get_mut().unwrap();
            b.set_pts(gst::ClockTime::from_mseconds(i as u64 * 33));
            for o in &objects {
                meta::add_object(b, o, W as u32, H as u32);
            }
            if zones {
                meta::set_zone_counters(b, &zone_counters()).expect("zone counters");
            }
        }
        let out = h.push_and_pull(buf).expect("push");
        drop(out);
    })
}

/// The zones of the docs/edgezones.md example on a W x H frame.
fn zone_counters() -> Vec<meta::ZoneCounter> {
    let (w, h) = (W as f64, H as f64);
    vec![
        meta::ZoneCounter {
            name: "crossing".into(),
            kind: "line".into(),
            crossed_in: 12,
            crossed_out: 9,
            geometry: Some(meta::ZoneGeometry {
                points: vec![[0.05 * w, 0.6 * h], [0.95 * w, 0.6 * h]],
                in_side: Some("right".into()),
                max_occupancy: 0,
            }),
            ..Default::default()
        },
        meta::ZoneCounter {
            name: "square".into(),
            kind: "polygon".into(),
            occupancy: 3,
            geometry: Some(meta::ZoneGeometry {
                points: vec![
                    [0.3 * w, 0.35 * h],
                    [0.7 * w, 0.35 * h],
                    [0.7 * w, 0.85 * h],
                    [0.3 * w, 0.85 * h],
                ],
                in_side: None,
                max_occupancy: 0,
            }),
            ..Default::default()
        },
    ]
}

/// CPU time of the calling thread in ns (Linux), or `None`.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Runs `f` `frames` times; (wall ms, CPU ms) per frame.
fn timed(frames: usize, mut f: impl FnMut(usize)) -> (f64, f64) {
    let cpu0 = thread_cpu_ns();
    let start = Instant::now();
    for i in 0..frames {
        f(i);
    }
    let wall = start.elapsed().as_secs_f64() * 1e3 / frames as f64;
    let cpu = match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e6 / frames as f64,
        _ => f64::NAN,
    };
    (wall, cpu)
}

fn main() {
    gst::init().expect("gst::init");
    gstedgeai::plugin_register_static().expect("register");
    let rounds = arg("--rounds", 5).max(1);
    let frames = arg("--frames", 2000).max(1);
    let formats = [
        (PixelLayout::I420, "I420"),
        (PixelLayout::Nv12, "NV12"),
        (PixelLayout::Bgrx, "BGRx"),
        (PixelLayout::Rgb, "RGB"),
    ];
    let mut painter = Painter::new(2, 14).expect("painter");
    // Warm the glyph cache and the allocator.
    for (layout, _) in formats {
        bench_draw(layout, 10, &mut painter);
    }
    // Per format: draw, element, identity; each (wall, CPU) per round.
    let mut results = vec![
        [
            (Vec::new(), Vec::new()),
            (Vec::new(), Vec::new()),
            (Vec::new(), Vec::new()),
            (Vec::new(), Vec::new())
        ];
        formats.len()
    ];
    let element_frames = (frames / 4).max(1);
    for _ in 0..rounds {
        for (i, (layout, name)) in formats.iter().enumerate() {
            let figures = [
                bench_draw(*layout, frames, &mut painter),
                bench_element("edgeoverlay", name, element_frames, false),
                bench_element("identity", name, element_frames, false),
                bench_element("edgeoverlay", name, element_frames, true),
            ];
            for (slot, (wall, cpu)) in results[i].iter_mut().zip(figures) {
                slot.0.push(wall);
                slot.1.push(cpu);
            }
        }
    }
    println!(
        "{W}x{H}, {N_BOXES} boxes with labels (5 dashed) + stats panel; median of {rounds} rounds; ms per frame, wall / thread CPU"
    );
    println!(
        "{:<8} {:>15} {:>15} {:>15} {:>17}",
        "format", "draw", "edgeoverlay", "identity", "overlay-identity"
    );
    for (i, (_, name)) in formats.iter().enumerate() {
        let m = results[i].clone().map(|(w, c)| (median(&w), median(&c)));
        let diff = (m[1].0 - m[2].0, m[1].1 - m[2].1);
        let cell = |(w, c): (f64, f64)| format!("{w:.3} / {c:.3}");
        println!(
            "{name:<8} {:>15} {:>15} {:>15} {:>17}",
            cell(m[0]),
            cell(m[1]),
            cell(m[2]),
            cell(diff)
        );
    }
    println!("with zones (a line and a 40 % x 50 % translucent polygon), same rounds:");
    println!(
        "{:<8} {:>15} {:>17} {:>15}",
        "format", "edgeoverlay", "overlay + zones", "zones"
    );
    for (i, (_, name)) in formats.iter().enumerate() {
        let m = results[i].clone().map(|(w, c)| (median(&w), median(&c)));
        let diff = (m[3].0 - m[1].0, m[3].1 - m[1].1);
        let cell = |(w, c): (f64, f64)| format!("{w:.3} / {c:.3}");
        println!(
            "{name:<8} {:>15} {:>17} {:>15}",
            cell(m[1]),
            cell(m[3]),
            cell(diff)
        );
    }
}
