// SPDX-License-Identifier: MPL-2.0
//! `edgeoverlay` on every format: each output byte is compared with an
//! expected frame the test builds on its own (border pixels in the object's
//! colour, chroma of the 2×2 blocks they touch, everything else, stride
//! padding included, untouched), for default and padded strides (VideoMeta),
//! odd sizes, boxes at and beyond the edges, NaN boxes, dashed predicted
//! boxes, labels (widths from the font's advance), the statistics panel, the
//! YUV colours against `videoconvert`, and a real pipeline through a `tee`.

mod common;

use common::*;
use gst::prelude::*;
use gst_video::VideoFormat as F;
use gst_video::VideoRegionOfInterestMeta;
use gstedgeai::meta::{self, Object, Tracking};

/// Padding bytes (between rows, between planes, after the last plane).
const SENTINEL: u8 = 0xA5;

const FORMATS: [F; 8] = [
    F::Rgb,
    F::Bgr,
    F::Rgba,
    F::Bgra,
    F::Rgbx,
    F::Bgrx,
    F::Nv12,
    F::I420,
];

/// Labels off: only the box outlines are drawn.
const NO_LABELS: &[(&str, &str)] = &[
    ("show-labels", "false"),
    ("show-confidence", "false"),
    ("show-track-id", "false"),
];

/// Palette colours (docs/edgeoverlay.md) and their BT.601 limited-range YUV,
/// worked by hand: Y = 16 + 219 (0.299 R + 0.587 G + 0.114 B) / 255,
/// U = 128 + 224 (B' − Y') / 1.772, V = 128 + 224 (R' − Y') / 1.402
/// (red: Y 120.01, U 99.69, V 211.89; amber: 182.31, 32.01, 166.44; cyan:
/// 148.45, 160.61, 31.37).
const RED: ([u8; 3], [u8; 3]) = ([255, 64, 64], [120, 100, 212]); // class 0
const AMBER: ([u8; 3], [u8; 3]) = ([255, 200, 0], [182, 32, 166]); // track 3, 19
const CYAN: ([u8; 3], [u8; 3]) = ([0, 220, 220], [148, 161, 31]); // track 5

/// Where the planes of a frame are in its buffer.
#[derive(Debug, Clone)]
struct Layout {
    format: F,
    w: usize,
    h: usize,
    offsets: Vec<usize>,
    strides: Vec<usize>,
    size: usize,
    /// Custom strides: the buffer carries a VideoMeta.
    custom: bool,
}

impl Layout {
    fn is_yuv(&self) -> bool {
        matches!(self.format, F::Nv12 | F::I420)
    }

    /// (rows, bytes per row) of each plane.
    fn planes(format: F, w: usize, h: usize) -> Vec<(usize, usize)> {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        match format {
            F::Rgb | F::Bgr => vec![(h, 3 * w)],
            F::Nv12 => vec![(h, w), (ch, 2 * cw)],
            F::I420 => vec![(h, w), (ch, cw), (ch, cw)],
            _ => vec![(h, 4 * w)],
        }
    }

    /// GStreamer's default layout for the caps.
    fn default(format: F, w: usize, h: usize) -> Layout {
        init();
        let info = gst_video::VideoInfo::builder(format, w as u32, h as u32)
            .build()
            .unwrap();
        let n = info.n_planes() as usize;
        Layout {
            format,
            w,
            h,
            offsets: info.offset()[..n].to_vec(),
            strides: info.stride()[..n].iter().map(|&s| s as usize).collect(),
            size: info.size(),
            custom: false,
        }
    }

    /// Strides 11 bytes past a row, 5 bytes between planes, 9 after.
    fn padded(format: F, w: usize, h: usize) -> Layout {
        let mut offsets = Vec::new();
        let mut strides = Vec::new();
        let mut at = 3;
        for (rows, row_bytes) in Self::planes(format, w, h) {
            offsets.push(at);
            strides.push(row_bytes + 11);
            at += rows * (row_bytes + 11) + 5;
        }
        Layout {
            format,
            w,
            h,
            offsets,
            strides,
            size: at + 9,
            custom: true,
        }
    }

    fn caps(&self) -> String {
        format!(
            "video/x-raw,format={},width={},height={},framerate=30/1{}",
            self.format.to_str(),
            self.w,
            self.h,
            if self.is_yuv() {
                ",colorimetry=bt601"
            } else {
                ""
            }
        )
    }

    /// A frame of one colour (packed: every byte `packed`; YUV: Y, U, V),
    /// padding set to [`SENTINEL`].
    fn filled(&self, packed: u8, yuv: [u8; 3]) -> Vec<u8> {
        let mut data = vec![SENTINEL; self.size];
        for (p, (rows, row_bytes)) in Self::planes(self.format, self.w, self.h)
            .into_iter()
            .enumerate()
        {
            let value = match (self.format, p) {
                (F::Nv12, 1) => None,
                (F::Nv12 | F::I420, 0) => Some(yuv[0]),
                (F::I420, 1) => Some(yuv[1]),
                (F::I420, 2) => Some(yuv[2]),
                _ => Some(packed),
            };
            for r in 0..rows {
                let row = &mut data[self.offsets[p] + r * self.strides[p]..][..row_bytes];
                match value {
                    Some(v) => row.fill(v),
                    None => {
                        for uv in row.chunks_exact_mut(2) {
                            uv.copy_from_slice(&yuv[1..]);
                        }
                    }
                }
            }
        }
        data
    }

    fn black(&self) -> Vec<u8> {
        self.filled(0, [16, 128, 128])
    }

    /// Deterministic noise everywhere, padding included.
    fn noise(&self) -> Vec<u8> {
        let mut x: u32 = 0x1234_5678;
        (0..self.size)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 24) as u8
            })
            .collect()
    }

    fn buffer(&self, data: &[u8]) -> gst::Buffer {
        let mut buf = gst::Buffer::from_mut_slice(data.to_vec());
        {
            let b = buf.get_mut().unwrap();
            b.set_pts(gst::ClockTime::ZERO);
            if self.custom {
                let strides: Vec<i32> = self.strides.iter().map(|&s| s as i32).collect();
                gst_video::VideoMeta::add_full(
                    b,
                    gst_video::VideoFrameFlags::empty(),
                    self.format,
                    self.w as u32,
                    self.h as u32,
                    &self.offsets,
                    &strides,
                )
                .unwrap();
            }
        }
        buf
    }

    /// Packed formats: bytes per pixel, offsets of R, G, B, alpha.
    fn packed(&self) -> (usize, [usize; 3], Option<usize>) {
        match self.format {
            F::Rgb => (3, [0, 1, 2], None),
            F::Bgr => (3, [2, 1, 0], None),
            F::Rgba => (4, [0, 1, 2], Some(3)),
            F::Bgra => (4, [2, 1, 0], Some(3)),
            F::Rgbx => (4, [0, 1, 2], None),
            F::Bgrx => (4, [2, 1, 0], None),
            _ => unreachable!(),
        }
    }

    /// Writes `color` (RGB, YUV) where `drawn(x, y)` into `data`: packed
    /// pixels get R, G, B (and alpha 255); YUV pixels get Y, and every 2×2
    /// chroma block with a drawn pixel gets U, V.
    fn paint(&self, data: &mut [u8], drawn: impl Fn(i64, i64) -> bool, color: ([u8; 3], [u8; 3])) {
        let (rgb, yuv) = color;
        if !self.is_yuv() {
            let (bpp, rgb_at, alpha) = self.packed();
            for y in 0..self.h {
                for x in 0..self.w {
                    if drawn(x as i64, y as i64) {
                        let px = &mut data[self.offsets[0] + y * self.strides[0] + x * bpp..];
                        for c in 0..3 {
                            px[rgb_at[c]] = rgb[c];
                        }
                        if let Some(a) = alpha {
                            px[a] = 255;
                        }
                    }
                }
            }
            return;
        }
        for y in 0..self.h {
            for x in 0..self.w {
                if drawn(x as i64, y as i64) {
                    data[self.offsets[0] + y * self.strides[0] + x] = yuv[0];
                }
            }
        }
        for cy in 0..self.h.div_ceil(2) {
            for cx in 0..self.w.div_ceil(2) {
                let touched = (2 * cy..(2 * cy + 2).min(self.h))
                    .any(|y| (2 * cx..(2 * cx + 2).min(self.w)).any(|x| drawn(x as i64, y as i64)));
                if !touched {
                    continue;
                }
                if self.format == F::Nv12 {
                    let at = self.offsets[1] + cy * self.strides[1] + 2 * cx;
                    data[at] = yuv[1];
                    data[at + 1] = yuv[2];
                } else {
                    data[self.offsets[1] + cy * self.strides[1] + cx] = yuv[1];
                    data[self.offsets[2] + cy * self.strides[2] + cx] = yuv[2];
                }
            }
        }
    }

    /// Names the byte at `i`: plane, x, y, or padding.
    fn describe(&self, i: usize) -> String {
        for (p, (rows, row_bytes)) in Self::planes(self.format, self.w, self.h)
            .into_iter()
            .enumerate()
        {
            let start = self.offsets[p];
            if i >= start && i < start + rows * self.strides[p] {
                let (r, c) = ((i - start) / self.strides[p], (i - start) % self.strides[p]);
                return if c < row_bytes {
                    format!("plane {p} row {r} byte {c}")
                } else {
                    format!("plane {p} row {r} padding byte {c}")
                };
            }
        }
        format!("padding byte {i}")
    }

    fn assert_same(&self, got: &[u8], expected: &[u8], what: &str) {
        assert_eq!(got.len(), expected.len(), "{what}: buffer size");
        let diffs: Vec<usize> = (0..got.len()).filter(|&i| got[i] != expected[i]).collect();
        if let Some(&i) = diffs.first() {
            panic!(
                "{what} ({:?} {}x{}{}): {} bytes differ; first at {}: got {}, expected {}",
                self.format,
                self.w,
                self.h,
                if self.custom { ", padded" } else { "" },
                diffs.len(),
                self.describe(i),
                got[i],
                expected[i]
            );
        }
    }
}

/// Pixels of the border of box `[x0, x1) × [y0, y1)`, `lw` thick inside it.
fn border(b: [i64; 4], lw: i64) -> impl Fn(i64, i64) -> bool {
    move |x, y| {
        let inside = x >= b[0] && x < b[2] && y >= b[1] && y < b[3];
        let inner = x >= b[0] + lw && x < b[2] - lw && y >= b[1] + lw && y < b[3] - lw;
        inside && !inner
    }
}

/// Runs one buffer through `edgeoverlay` with `props`; `decorate` adds
/// metadata. Returns the output bytes.
fn overlay(
    layout: &Layout,
    data: &[u8],
    props: &[(&str, &str)],
    decorate: impl FnOnce(&mut gst::BufferRef),
) -> Vec<u8> {
    init();
    let mut h = gst_check::Harness::new("edgeoverlay");
    {
        let el = h.element().expect("element");
        for (name, value) in props {
            el.set_property_from_str(name, value);
        }
    }
    h.set_src_caps_str(&layout.caps());
    let mut buf = layout.buffer(data);
    decorate(buf.get_mut().unwrap());
    let out = h.push_and_pull(buf).expect("push and pull");
    let map = out.map_readable().expect("readable");
    map.as_slice().to_vec()
}

fn object(class_id: i32, bbox: [f64; 4]) -> Object {
    Object::new("person", class_id, 0.9, bbox)
}

fn tracked(track_id: u64, tracked: bool, class_id: i32, bbox: [f64; 4]) -> Object {
    let mut o = object(class_id, bbox);
    o.track_id = Some(track_id);
    o.tracking = Some(Tracking {
        track_id,
        age: 4,
        tracked,
        vx: 0.0,
        vy: 0.0,
        first_seen: None,
        last_seen: None,
    });
    o
}

/// A ROI meta whose `detection` structure holds `bbox` (pixels) unclamped,
/// as a foreign producer might write it.
fn add_raw_roi(buf: &mut gst::BufferRef, bbox: [f64; 4], w: usize, h: usize) {
    let mut meta = VideoRegionOfInterestMeta::add(buf, "person", (0, 0, 0, 0));
    meta.add_param(
        gst::Structure::builder("detection")
            .field("x_min", bbox[0] / w as f64)
            .field("y_min", bbox[1] / h as f64)
            .field("x_max", bbox[2] / w as f64)
            .field("y_max", bbox[3] / h as f64)
            .field("confidence", 0.9f64)
            .field("label_id", 0i32)
            .field("label", "person")
            .build(),
    );
}

#[test]
fn box_border_lands_on_the_expected_pixels_in_every_format() {
    // (width, height, box): an odd start column/row, and an odd-sized frame
    // with the box reaching its last (odd) column and row.
    let cases: [(usize, usize, [i64; 4]); 2] = [(64, 48, [7, 5, 40, 30]), (33, 25, [5, 3, 33, 25])];
    for format in FORMATS {
        for (w, h, b) in cases {
            for layout in [Layout::default(format, w, h), Layout::padded(format, w, h)] {
                let input = layout.black();
                let bbox = b.map(|v| v as f64);
                let got = overlay(&layout, &input, NO_LABELS, |buf| {
                    meta::add_object(buf, &object(0, bbox), w as u32, h as u32);
                });
                let mut expected = input.clone();
                layout.paint(&mut expected, border(b, 2), RED);
                layout.assert_same(&got, &expected, "one box, line-width 2");
            }
        }
    }
}

#[test]
fn line_width_is_honoured() {
    for format in [F::I420, F::Bgrx] {
        let layout = Layout::padded(format, 64, 48);
        let input = layout.black();
        let mut props = NO_LABELS.to_vec();
        props.push(("line-width", "5"));
        let got = overlay(&layout, &input, &props, |buf| {
            meta::add_object(buf, &object(0, [10.0, 9.0, 50.0, 40.0]), 64, 48);
        });
        let mut expected = input.clone();
        layout.paint(&mut expected, border([10, 9, 50, 40], 5), RED);
        layout.assert_same(&got, &expected, "line-width 5");
    }
}

#[test]
fn frames_without_objects_pass_byte_identical() {
    for format in FORMATS {
        for layout in [
            Layout::default(format, 33, 25),
            Layout::padded(format, 33, 25),
        ] {
            let input = layout.noise();
            let got = overlay(&layout, &input, &[], |_| {});
            layout.assert_same(&got, &input, "no metadata");
            // A frame meta (a detector that skipped the frame) but no objects.
            let got = overlay(&layout, &input, &[], |buf| {
                meta::update_frame_info(buf, |f| f.inferred = Some(false)).unwrap();
            });
            layout.assert_same(&got, &input, "frame meta, no objects");
            // Only unusable boxes.
            let got = overlay(&layout, &input, &[], |buf| {
                add_raw_roi(buf, [f64::NAN, 2.0, 20.0, 20.0], 33, 25);
                add_raw_roi(buf, [2.0, 2.0, f64::INFINITY, 20.0], 33, 25);
                add_raw_roi(buf, [40.0, 2.0, 60.0, 20.0], 33, 25);
                add_raw_roi(buf, [-30.0, -30.0, -2.0, -1.0], 33, 25);
                add_raw_roi(buf, [10.0, 10.0, 10.2, 20.0], 33, 25);
            });
            layout.assert_same(&got, &input, "NaN, infinite, outside and empty boxes");
        }
    }
}

#[test]
fn nothing_is_drawn_outside_the_frame() {
    let (w, h) = (64usize, 48usize);
    let boxes: [[f64; 4]; 7] = [
        [-10.0, -10.0, 20.0, 15.0],   // over the top-left corner
        [50.0, 40.0, 80.0, 60.0],     // over the bottom-right corner
        [0.0, 0.0, 64.0, 48.0],       // the whole frame
        [100.0, 100.0, 120.0, 120.0], // wholly outside
        [-30.0, 5.0, -5.0, 20.0],     // wholly outside, left
        [f64::NAN, 5.0, 20.0, 20.0],  // not a number
        [30.0, -1e12, 1e12, 1e12],    // huge
    ];
    for format in FORMATS {
        let layout = Layout::padded(format, w, h);
        let input = layout.black();
        let got = overlay(&layout, &input, NO_LABELS, |buf| {
            for b in boxes {
                add_raw_roi(buf, b, w, h);
            }
        });
        let mut expected = input.clone();
        let drawn = |x, y| {
            border([-10, -10, 20, 15], 2)(x, y)
                || border([50, 40, 80, 60], 2)(x, y)
                || border([0, 0, 64, 48], 2)(x, y)
                || border([30, -1 << 30, 1 << 30, 1 << 30], 2)(x, y)
        };
        layout.paint(&mut expected, drawn, RED);
        layout.assert_same(&got, &expected, "boxes at and beyond the edges");

        // With labels: they are moved into the frame; padding stays intact
        // and every drawn byte is inside the frame's rows.
        let got = overlay(&layout, &input, &[], |buf| {
            for b in boxes {
                add_raw_roi(buf, b, w, h);
            }
        });
        let mut padding_only = got.clone();
        let mut expected_padding = input.clone();
        // Blank out the pixel bytes of both; what is left must match.
        for (p, (rows, row_bytes)) in Layout::planes(format, w, h).into_iter().enumerate() {
            for r in 0..rows {
                let at = layout.offsets[p] + r * layout.strides[p];
                padding_only[at..at + row_bytes].fill(0);
                expected_padding[at..at + row_bytes].fill(0);
            }
        }
        if matches!(format, F::Rgbx | F::Bgrx) {
            // The x byte is never written either.
            for y in 0..h {
                for x in 0..w {
                    let at = layout.offsets[0] + y * layout.strides[0] + 4 * x + 3;
                    assert_eq!(got[at], 0, "{format:?}: x byte of ({x},{y}) written");
                }
            }
        }
        layout.assert_same(&padding_only, &expected_padding, "padding with labels on");
        assert_ne!(got, input, "{format:?}: labels drew nothing");
    }
}

#[test]
fn predicted_boxes_are_dashed_and_colours_follow_track_ids() {
    let (w, h) = (96usize, 64usize);
    for format in [F::Rgb, F::Nv12] {
        let layout = Layout::padded(format, w, h);
        let input = layout.black();
        let got = overlay(&layout, &input, NO_LABELS, |buf| {
            // Track 3 (class 0): amber, not the class's red.
            meta::add_object(buf, &tracked(3, true, 0, [4.0, 20.0, 30.0, 50.0]), 96, 64);
            // Track 19 = 3 + 16: the same amber, whatever the class.
            meta::add_object(buf, &tracked(19, true, 2, [34.0, 2.0, 44.0, 12.0]), 96, 64);
            // Track 5, predicted: cyan, dashed 8 on / 6 off from each corner.
            meta::add_object(buf, &tracked(5, false, 0, [50.0, 14.0, 90.0, 60.0]), 96, 64);
        });
        let mut expected = input.clone();
        layout.paint(&mut expected, border([4, 20, 30, 50], 2), AMBER);
        layout.paint(&mut expected, border([34, 2, 44, 12], 2), AMBER);
        let dashed = |x: i64, y: i64| {
            let (x0, y0, x1, y1) = (50, 14, 90, 60);
            let on = |pos: i64| pos % 14 < 8;
            let in_box = x >= x0 && x < x1 && y >= y0 && y < y1;
            let horizontal = (y < y0 + 2 || y >= y1 - 2) && on(x - x0);
            let vertical = (x < x0 + 2 || x >= x1 - 2) && on(y - y0);
            in_box && (horizontal || vertical)
        };
        layout.paint(&mut expected, dashed, CYAN);
        layout.assert_same(&got, &expected, "tracked and predicted boxes");
    }
}

/// Columns with any changed pixel in rows `[y0, y1)` (RGB, black input).
fn changed_columns(got: &[u8], layout: &Layout, y0: usize, y1: usize) -> Vec<usize> {
    (0..layout.w)
        .filter(|&x| {
            (y0..y1).any(|y| {
                let at = layout.offsets[0] + y * layout.strides[0] + 3 * x;
                got[at..at + 3] != [0, 0, 0]
            })
        })
        .collect()
}

#[test]
fn labels_sit_on_top_of_the_box_with_the_asked_parts() {
    let (w, h) = (160usize, 120usize);
    let layout = Layout::default(F::Rgb, w, h);
    let input = layout.black();
    let bbox = [20.0, 60.0, 100.0, 110.0];
    let run = |props: &[(&str, &str)]| {
        overlay(&layout, &input, props, |buf| {
            meta::add_object(buf, &tracked(7, true, 0, bbox), w as u32, h as u32);
        })
    };
    // font-size 14: line 14 px, padding 14 / 8 = 1 px on each side: the
    // label is rows 44..60. DejaVu Sans Mono advances 1233/2384 of the size,
    // 7.24 px: "person 0.90 #7" (14 characters) is ceil(101.4) + 2 = 104 px
    // wide, "person" ceil(43.4) + 2 = 46 px, "#7" ceil(14.5) + 2 = 17 px.
    let full = run(&[]);
    let pink = [255u8, 64, 200]; // track 7
    let mut text_pixels = 0;
    for y in 44..60 {
        for x in 20..124 {
            let at = layout.offsets[0] + y * layout.strides[0] + 3 * x;
            let px = &full[at..at + 3];
            if px != pink {
                // White text blended on pink: each channel between the two.
                assert!(
                    px[0] == 255 && px[1] >= 64 && px[2] >= 200,
                    "({x},{y}) {px:?}"
                );
                text_pixels += 1;
            }
        }
    }
    assert!(text_pixels > 150, "{text_pixels} text pixels");
    assert_eq!(
        changed_columns(&full, &layout, 44, 60),
        (20..124).collect::<Vec<_>>()
    );
    assert_eq!(changed_columns(&full, &layout, 0, 44), Vec::<usize>::new());
    // Nothing but the border below the label.
    let mut expected = input.clone();
    layout.paint(
        &mut expected,
        border([20, 60, 100, 110], 2),
        ([255, 64, 200], [0, 0, 0]),
    );
    let mut below = full.clone();
    below[..layout.offsets[0] + 60 * layout.strides[0]].fill(0);
    layout.assert_same(&below, &expected, "below the label");

    let name_only = run(&[("show-confidence", "false"), ("show-track-id", "false")]);
    assert_eq!(
        changed_columns(&name_only, &layout, 44, 60),
        (20..66).collect::<Vec<_>>()
    );
    let id_only = run(&[("show-labels", "false"), ("show-confidence", "false")]);
    assert_eq!(
        changed_columns(&id_only, &layout, 44, 60),
        (20..37).collect::<Vec<_>>()
    );
    let none = run(NO_LABELS);
    assert_eq!(changed_columns(&none, &layout, 0, 60), Vec::<usize>::new());
    // A bigger font: a taller label (font-size 28: 28 + 2 * 3 = 34 rows).
    let big = run(&[("font-size", "28")]);
    assert!(!changed_columns(&big, &layout, 26, 27).is_empty());
    assert!(changed_columns(&big, &layout, 0, 26).is_empty());
}

/// Rows and columns changed from a grey frame (RGB).
fn changed_extent(got: &[u8], input: &[u8], layout: &Layout) -> (usize, usize) {
    let (mut max_x, mut max_y) = (0, 0);
    for y in 0..layout.h {
        for x in 0..layout.w {
            let at = layout.offsets[0] + y * layout.strides[0] + 3 * x;
            if got[at..at + 3] != input[at..at + 3] {
                max_x = max_x.max(x + 1);
                max_y = max_y.max(y + 1);
            }
        }
    }
    (max_x, max_y)
}

#[test]
fn statistics_panel_in_the_top_left_corner() {
    let layout = Layout::default(F::Rgb, 200, 100);
    let input = layout.filled(128, [0, 0, 0]);
    let stats = [("show-stats", "true")];
    // Panel: text lines of 14 px, 2 px padding; width from the longest line.
    // No frame meta: one line, "overlay   -- fps" (16 characters):
    // ceil(16 * 7.24) + 4 = 120 px wide, 14 + 4 = 18 px high.
    let got = overlay(&layout, &input, &stats, |_| {});
    assert_eq!(changed_extent(&got, &input, &layout), (120, 18));
    // The panel darkens the grey: 128 * (255 - 160) / 255 = 47.7 -> 48.
    assert_eq!(&got[..3], &[48, 48, 48]);
    // A detector ran (latency 12 ms) and thermalgate is upstream: three
    // lines; the longest, "inference --/s 12.0 ms" (22 characters):
    // ceil(22 * 7.24) + 4 = 164 px wide, 3 * 14 + 4 = 46 px high.
    let got = overlay(&layout, &input, &stats, |buf| {
        meta::update_frame_info(buf, |f| {
            f.inferred = Some(true);
            f.inference_latency_ms = Some(12.0);
            f.temperature = Some(61.5);
            f.throttle_factor = Some(0.8);
        })
        .unwrap();
    });
    assert_eq!(changed_extent(&got, &input, &layout), (164, 46));
    // thermalgate only: "61.5 °C throttle 0.80" (21 characters): 157 px, two lines.
    let got = overlay(&layout, &input, &stats, |buf| {
        meta::update_frame_info(buf, |f| {
            f.temperature = Some(61.5);
            f.throttle_factor = Some(0.8);
        })
        .unwrap();
    });
    assert_eq!(changed_extent(&got, &input, &layout), (157, 32));
    // Off: untouched.
    let got = overlay(&layout, &input, &[], |buf| {
        meta::update_frame_info(buf, |f| f.temperature = Some(61.5)).unwrap();
    });
    layout.assert_same(&got, &input, "show-stats=false");
}

#[test]
fn yuv_colours_agree_with_videoconvert() {
    init();
    // videoconvert turns a frame of each colour into I420 (BT.601, limited
    // range); the overlay's border pixels must carry the same Y, U, V (±1:
    // videoconvert works in fixed point).
    for (rgb, yuv) in [RED, AMBER, CYAN] {
        let mut h = gst_check::Harness::new("videoconvert");
        h.element().unwrap().set_property_from_str("dither", "none");
        h.set_caps_str(
            "video/x-raw,format=RGB,width=2,height=2,framerate=30/1",
            "video/x-raw,format=I420,width=2,height=2,framerate=30/1,colorimetry=bt601",
        );
        // RGB 2x2: stride 8 (6 rounded up to 4).
        let mut data = vec![0u8; 16];
        for row in 0..2 {
            for x in 0..2 {
                data[row * 8 + 3 * x..row * 8 + 3 * x + 3].copy_from_slice(&rgb);
            }
        }
        let out = h.push_and_pull(gst::Buffer::from_mut_slice(data)).unwrap();
        let map = out.map_readable().unwrap();
        let s = map.as_slice();
        // I420 2x2: Y at 0..4 (stride 4, 2 rows = 8 bytes), U at 8, V at 12.
        let (cy, cu, cv) = (s[0], s[8], s[12]);
        for (got, want) in [(cy, yuv[0]), (cu, yuv[1]), (cv, yuv[2])] {
            assert!(
                (i32::from(got) - i32::from(want)).abs() <= 1,
                "{rgb:?}: videoconvert gives {:?}, we expect {yuv:?}",
                [cy, cu, cv]
            );
        }
    }
}

#[test]
fn properties() {
    init();
    let el = gst::ElementFactory::make("edgeoverlay").build().unwrap();
    assert_eq!(el.property::<u32>("line-width"), 2);
    assert_eq!(el.property::<u32>("font-size"), 14);
    assert!(el.property::<bool>("show-labels"));
    assert!(el.property::<bool>("show-confidence"));
    assert!(el.property::<bool>("show-track-id"));
    assert!(!el.property::<bool>("show-stats"));
    assert!(el.property::<bool>("draw-zones"));
    el.set_property("line-width", 7u32);
    el.set_property("font-size", 30u32);
    el.set_property("show-stats", true);
    assert_eq!(el.property::<u32>("line-width"), 7);
    assert_eq!(el.property::<u32>("font-size"), 30);
    assert!(el.property::<bool>("show-stats"));
    let pspec = el.find_property("line-width").unwrap();
    let pspec = pspec.downcast_ref::<gst::glib::ParamSpecUInt>().unwrap();
    assert_eq!((pspec.minimum(), pspec.maximum()), (1, 64));
    let pspec = el.find_property("font-size").unwrap();
    let pspec = pspec.downcast_ref::<gst::glib::ParamSpecUInt>().unwrap();
    assert_eq!((pspec.minimum(), pspec.maximum()), (6, 256));
    for name in [
        "line-width",
        "font-size",
        "show-labels",
        "show-confidence",
        "show-track-id",
        "show-stats",
        "draw-zones",
    ] {
        let flags = el.find_property(name).unwrap().flags();
        assert!(flags.contains(gst::PARAM_FLAG_MUTABLE_PLAYING), "{name}");
    }
}

#[test]
fn draws_detections_on_a_copy_when_the_buffer_is_shared() {
    // edgedetect on three frames of vtest.avi, then a tee: one branch keeps
    // the frames, the other draws on them. The kept frames must stay
    // untouched (the overlay writes into its own copy), and the overlay
    // draws near the detected objects only.
    init();
    let video = shared("media/vtest.avi");
    let desc = format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=I420 ! \
         identity eos-after=3 ! edgedetect model={} labels={} threads=2 ! tee name=t \
         t. ! queue ! appsink name=raw sync=false \
         t. ! queue ! edgeoverlay ! appsink name=drawn sync=false",
        video.display(),
        yolox_model().display(),
        coco_names().display()
    );
    let pipeline = gst::parse::launch(&desc)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let sink = |name: &str| {
        pipeline
            .by_name(name)
            .unwrap()
            .downcast::<gst_app::AppSink>()
            .unwrap()
    };
    let (raw, drawn) = (sink("raw"), sink("drawn"));
    pipeline.set_state(gst::State::Playing).unwrap();
    let timeout = gst::ClockTime::from_seconds(60);
    let mut frames = 0;
    while let Some(d) = drawn.try_pull_sample(timeout) {
        let r = raw.try_pull_sample(timeout).expect("raw frame");
        let info = gst_video::VideoInfo::from_caps(d.caps().unwrap()).unwrap();
        let (w, h) = (info.width() as usize, info.height() as usize);
        let (db, rb) = (d.buffer().unwrap(), r.buffer().unwrap());
        let objects = meta::objects(db, w as u32, h as u32);
        assert!(
            !objects.is_empty(),
            "no detections on vtest.avi frame {frames}"
        );
        let dm = db.map_readable().unwrap();
        let rm = rb.map_readable().unwrap();
        let stride = info.stride()[0] as usize;
        let mut changed = 0;
        for y in 0..h {
            for x in 0..w {
                if dm[y * stride + x] == rm[y * stride + x] {
                    continue;
                }
                changed += 1;
                // Within a box, or in a label band above (or inside the
                // top of) a box: 18 rows high, up to 200 px wide.
                let near = objects.iter().any(|o| {
                    let (x0, y0) = (o.x1.round() as i64, o.y1.round() as i64);
                    let (x1, y1) = (o.x2.round() as i64, o.y2.round() as i64);
                    let (xi, yi) = (x as i64, y as i64);
                    let in_box = xi >= x0 && xi < x1 && yi >= y0 && yi < y1;
                    let lx0 = x0.min(w as i64 - 200).max(0);
                    let in_label =
                        xi >= lx0 && xi < x0.max(0) + 200 && yi >= y0 - 18 && yi < y0 + 18;
                    in_box || in_label
                });
                assert!(
                    near,
                    "frame {frames}: pixel ({x},{y}) drawn far from every object"
                );
            }
        }
        assert!(changed > 100, "frame {frames}: {changed} luma pixels drawn");
        frames += 1;
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert_eq!(frames, 3);
}

/// The pixels of rectangle `x0..x1, y0..y1` (RGB), as "is `bg`" flags.
fn pattern(got: &[u8], layout: &Layout, r: [usize; 4], bg: [u8; 3]) -> Vec<bool> {
    let mut out = Vec::new();
    for y in r[1]..r[3] {
        for x in r[0]..r[2] {
            let at = layout.offsets[0] + y * layout.strides[0] + 3 * x;
            out.push(got[at..at + 3] == bg);
        }
    }
    out
}

/// A label at the frame's right and bottom edges, or above its top, is
/// moved inside the frame whole: the same text pixels as the label of a box
/// in the middle, and the label rectangle's every column inside the frame.
#[test]
fn labels_at_the_frame_edges_are_kept_whole_inside_the_frame() {
    let (w, h) = (160usize, 120usize);
    let layout = Layout::default(F::Rgb, w, h);
    let input = layout.black();
    let pink = [255u8, 64, 200]; // track 7
    let run = |bbox: [f64; 4]| {
        overlay(&layout, &input, &[], |buf| {
            meta::add_object(buf, &tracked(7, true, 0, bbox), w as u32, h as u32);
        })
    };
    // Label "person 0.90 #7": 104 x 16 px (see the test above).
    let middle = run([20.0, 60.0, 100.0, 110.0]);
    let reference = pattern(&middle, &layout, [20, 44, 124, 60], pink);
    // Box in the bottom-right corner: label at x = 160 - 104 = 56, on top
    // of the box (rows 84..100).
    let corner = run([130.0, 100.0, 160.0, 120.0]);
    assert_eq!(
        pattern(&corner, &layout, [56, 84, 160, 100], pink),
        reference
    );
    assert_eq!(
        changed_columns(&corner, &layout, 84, 100),
        (56..160).collect::<Vec<_>>()
    );
    // Box reaching above and left of the frame: label inside its top edge,
    // at the frame's corner.
    let top = run([-20.0, -10.0, 50.0, 40.0]);
    assert_eq!(pattern(&top, &layout, [0, 0, 104, 16], pink), reference);
}

/// Overlapping labels: the most confident object's label is drawn last, on
/// top, whatever the order of the metadata.
#[test]
fn the_most_confident_label_is_drawn_on_top() {
    let (w, h) = (160usize, 120usize);
    let layout = Layout::default(F::Rgb, w, h);
    let input = layout.black();
    let pink = [255u8, 64, 200]; // track 7
    let amber = AMBER.0; // track 3
    let with_conf = |track: u64, conf: f64, bbox: [f64; 4]| {
        let mut o = tracked(track, true, 0, bbox);
        o.confidence = conf;
        o
    };
    // Labels: track 3 at rows 44..60, columns 20..124; track 7 at rows
    // 46..62, columns 30..134. The overlap is rows 46..60, columns 30..124.
    let run = |c3: f64, c7: f64| {
        overlay(&layout, &input, &[], |buf| {
            let (w, h) = (w as u32, h as u32);
            meta::add_object(buf, &with_conf(3, c3, [20.0, 60.0, 100.0, 110.0]), w, h);
            meta::add_object(buf, &with_conf(7, c7, [30.0, 62.0, 110.0, 110.0]), w, h);
        })
    };
    let overlap = [30, 46, 124, 60];
    let count = |got: &[u8], c: [u8; 3]| {
        pattern(got, &layout, overlap, c)
            .iter()
            .filter(|&&b| b)
            .count()
    };
    // Track 3 more confident, first in the metadata: still on top.
    let got = run(0.9, 0.5);
    assert_eq!(count(&got, pink), 0, "track 7's label drawn over track 3's");
    assert!(count(&got, amber) > 500);
    // Track 7 more confident: on top.
    let got = run(0.5, 0.9);
    assert_eq!(
        count(&got, amber),
        0,
        "track 3's label drawn over track 7's"
    );
    assert!(count(&got, pink) > 500);
}

/// A frame's zone counters with geometry, as `edgezones` writes them: a
/// line (first zone: cyan) and a polygon (second zone: yellow).
fn add_zones(buf: &mut gst::BufferRef, line: [[f64; 2]; 2], polygon: &[[f64; 2]]) {
    meta::set_zone_counters(
        buf,
        &[
            meta::ZoneCounter {
                name: "door".into(),
                kind: "line".into(),
                crossed_in: 3,
                crossed_out: 1,
                geometry: Some(meta::ZoneGeometry {
                    points: line.to_vec(),
                    in_side: Some("right".into()),
                    max_occupancy: 0,
                }),
                ..Default::default()
            },
            meta::ZoneCounter {
                name: "pen".into(),
                kind: "polygon".into(),
                geometry: Some(meta::ZoneGeometry {
                    points: polygon.to_vec(),
                    in_side: None,
                    max_occupancy: 4,
                }),
                ..Default::default()
            },
        ],
    )
    .unwrap();
}

#[test]
fn zones_drawn_in_every_format_and_off_with_draw_zones_false() {
    // Cyan (0, 220, 220): YUV 148, 161, 31 (above). Yellow (255, 255, 64)
    // at 64/255 over black: packed (255·64 + 127) / 255 = 64, (64·64 + 127)
    // / 255 = 16; YUV: yellow is Y 216.30, U 44.11, V 141.64 (BT.601
    // limited, by hand as above) -> 216, 44, 142, blended over 16, 128, 128:
    // (216·64 + 16·191 + 127) / 255 = 66, (44·64 + 128·191 + 127) / 255 = 107,
    // (142·64 + 128·191 + 127) / 255 = 132.
    let (w, h) = (96, 72);
    let line = [[4.0, 20.0], [92.0, 20.0]];
    let pen = [[10.0, 30.0], [90.0, 30.0], [90.0, 70.0], [10.0, 70.0]];
    for format in FORMATS {
        for layout in [Layout::default(format, w, h), Layout::padded(format, w, h)] {
            let input = layout.black();
            let off = overlay(&layout, &input, &[("draw-zones", "false")], |buf| {
                add_zones(buf, line, &pen)
            });
            layout.assert_same(&off, &input, "draw-zones=false");
            let got = overlay(&layout, &input, &[], |buf| add_zones(buf, line, &pen));
            // Padding untouched.
            for i in 0..got.len() {
                if !layout.describe(i).contains("byte") || layout.describe(i).contains("padding") {
                    assert_eq!(got[i], input[i], "{format:?}: {}", layout.describe(i));
                }
            }
            let at = |x: usize, y: usize| -> [u8; 3] {
                if layout.is_yuv() {
                    let luma = got[layout.offsets[0] + y * layout.strides[0] + x];
                    let (cx, cy) = (x / 2, y / 2);
                    let (u, v) = if format == F::Nv12 {
                        let i = layout.offsets[1] + cy * layout.strides[1] + 2 * cx;
                        (got[i], got[i + 1])
                    } else {
                        (
                            got[layout.offsets[1] + cy * layout.strides[1] + cx],
                            got[layout.offsets[2] + cy * layout.strides[2] + cx],
                        )
                    };
                    [luma, u, v]
                } else {
                    let (bpp, rgb, _) = layout.packed();
                    let p = &got[layout.offsets[0] + y * layout.strides[0] + x * bpp..];
                    [p[rgb[0]], p[rgb[1]], p[rgb[2]]]
                }
            };
            let (cyan, fill, bg) = if layout.is_yuv() {
                (CYAN.1, [66, 107, 132], [16, 128, 128])
            } else {
                (CYAN.0, [64, 64, 16], [0, 0, 0])
            };
            // The line: rows 19 and 20 (2 px centred on y = 20), x 3..=92.
            for x in [3, 10, 30, 60, 92] {
                for y in [19, 20] {
                    assert_eq!(at(x, y), cyan, "{format:?} line ({x},{y})");
                }
            }
            // Its arrow points down (in = right of left-to-right) from x = 48.
            assert_eq!(at(48, 30), cyan, "{format:?} arrow");
            // Luma / red just off the line, away from the arrow and the label.
            assert_eq!(at(48, 18)[0], bg[0], "{format:?} above the line");
            assert_eq!(at(30, 21)[0], bg[0], "{format:?} below the line");
            // The polygon's fill, away from its outline and its label (top-left).
            for (x, y) in [(70, 50), (80, 64), (60, 58)] {
                assert_eq!(at(x, y), fill, "{format:?} fill ({x},{y})");
            }
            // Outside everything.
            assert_eq!(at(2, 60), bg, "{format:?} outside");
        }
    }
}
