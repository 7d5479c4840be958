//! Letterbox preprocessing: converts a raw video frame into the NCHW `f32`
//! tensor that YOLO-style detectors take.
//!
//! # Geometry
//!
//! The frame is resized with its aspect ratio kept, `r = min(dst_h / h, dst_w / w)`,
//! and placed on a canvas of `dst_width x dst_height` filled with `pad_value`.
//! Two conventions exist and are selected by [`LetterboxSpec::placement`]:
//!
//! * [`Placement::TopLeft`] (YOLOX): the resized size is `(int(w * r), int(h * r))`
//!   (truncated, as Python's `int()`), placed at the top-left corner.
//! * [`Placement::Center`] (Ultralytics YOLOv5/v8/11/26): the resized size is
//!   `(round(w * r), round(h * r))` (Python's round-half-to-even), centred with
//!   `left = round(dw / 2 - 0.1)`, `top = round(dh / 2 - 0.1)` where `dw`/`dh` is
//!   the total horizontal/vertical padding.
//!
//! The returned [`Letterbox`] maps network-input coordinates back to the frame.
//!
//! # Resampling
//!
//! Bilinear interpolation reproducing OpenCV's 8-bit
//! `cv2.resize(..., INTER_LINEAR)` bit for bit (checked against OpenCV 5.0 on
//! random images of many sizes, up- and downscaling): sample positions
//! `src = (dst + 0.5) * (src_len / dst_len) - 0.5` (columns clamped to the
//! edge pixels, rows clamp their indices but keep their weights), 11-bit
//! weights, an exact horizontal pass kept as `sum >> 4`, then OpenCV's
//! vertical rounding `(((h0 * b0) >> 16) + ((h1 * b1) >> 16) + 2) >> 2`. The
//! resulting 0..=255 integer is multiplied by [`LetterboxSpec::scale`].
//!
//! Performance: the tables are computed once per frame size
//! ([`Preprocessor`] caches them), each source row is resampled
//! horizontally at most once, and only the padding is filled with
//! `pad_value`. The horizontal pass gathers its source bytes with
//! table-driven byte permutes where the CPU has them (AVX-512 VBMI, or
//! AVX2 for planes, on x86-64; NEON `tbl` on aarch64; tables built once per
//! plan, see `preprocess_gather.rs`). Everything else, and the horizontal pass on
//! other CPUs, runs portable Rust that the compiler vectorises: SSE2, AVX2
//! or AVX-512 on x86-64 (picked at run time with the `multiversion`
//! crate), NEON on aarch64; the NV12/I420 horizontal fallbacks on x86-64
//! keep SSE2 intrinsics (faster there). Each kernel has a scalar reference
//! it must equal exactly (tested; on aarch64 under qemu by
//! `scripts/test-aarch64.sh`); see the comment above `BLOCK`. The YUV
//! conversion stays in f32 (no integer fixed-point form equals it for every
//! 8-bit Y, U, V: `fixed_point_conversion_is_not_exact` in `frame/color.rs`)
//! and, where the target has a rounding instruction, rounds with it before
//! clamping (the same value as [`crate::frame::YuvToRgb::finish`], bit for
//! bit; `yuv_rows_match_reference`).
//!
//! # YUV input
//!
//! NV12 and I420 are not converted to RGB before resizing: Y, U and V are each
//! resampled as above at the destination sample point (chroma with centred
//! siting, i.e. chroma sample `i` sits at luma position `2i + 0.5`), then
//! converted to RGB, clamped to 0..=255 and rounded. This is cheaper than
//! convert-then-resize (videoconvert + resize) and differs from it only
//! slightly: mostly rounding, plus where the RGB clamp cuts into a blend of
//! saturated and unsaturated neighbours. The matrix and range are those of
//! [`FrameView::yuv`] (the caps' colorimetry, see `crate::video::frame_view`),
//! with the coefficient table of [`crate::frame::YuvToRgb`].

use std::fmt;

use multiversion::multiversion;
#[allow(unused_imports)]
use multiversion::target::target_cfg;

use super::decode::Detection;
use crate::frame::{FrameError, FrameView, PixelLayout, YuvToRgb};
#[path = "preprocess_gather.rs"]
mod gather;
use gather::{GatherTable, Kind};

/// Where the resized frame goes on the canvas (also selects the size
/// rounding rule, see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// YOLOX: top-left, resized size truncated.
    TopLeft,
    /// Ultralytics: centred, resized size rounded.
    Center,
}

/// Channel order of the output tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelOrder {
    Rgb,
    Bgr,
}

/// What the network expects as input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LetterboxSpec {
    pub dst_width: usize,
    pub dst_height: usize,
    pub placement: Placement,
    pub channel_order: ChannelOrder,
    /// padding value in 0..255 pixel units (114 for YOLOX and Ultralytics)
    pub pad_value: f32,
    /// multiplier applied to 0..255 pixel values (1.0 for YOLOX, 1/255 for Ultralytics)
    pub scale: f32,
}

impl LetterboxSpec {
    /// YOLOX: BGR, 0..255, top-left, pad 114.
    pub fn yolox(w: usize, h: usize) -> Self {
        LetterboxSpec {
            dst_width: w,
            dst_height: h,
            placement: Placement::TopLeft,
            channel_order: ChannelOrder::Bgr,
            pad_value: 114.0,
            scale: 1.0,
        }
    }

    /// Ultralytics (YOLOv5/v8/11/26, YOLOv10): RGB, 0..1, centred, pad 114.
    pub fn ultralytics(w: usize, h: usize) -> Self {
        LetterboxSpec {
            dst_width: w,
            dst_height: h,
            placement: Placement::Center,
            channel_order: ChannelOrder::Rgb,
            pad_value: 114.0,
            scale: 1.0 / 255.0,
        }
    }

    /// Number of `f32` values the output tensor holds (`3 * dst_h * dst_w`).
    pub fn tensor_len(&self) -> usize {
        self.dst_width
            .saturating_mul(self.dst_height)
            .saturating_mul(3)
    }
}

/// Maps network-input pixels back to frame pixels: frame = (net - pad) / ratio
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    pub ratio: f32,
    pub pad_x: f32,
    pub pad_y: f32,
}

impl Letterbox {
    /// Network-input coordinates to frame coordinates.
    pub fn to_frame(&self, x: f32, y: f32) -> (f32, f32) {
        ((x - self.pad_x) / self.ratio, (y - self.pad_y) / self.ratio)
    }

    /// Maps a detection from network-input pixels to frame pixels, clipped to
    /// a `frame_width x frame_height` frame.
    pub fn detection_to_frame(
        &self,
        d: &Detection,
        frame_width: usize,
        frame_height: usize,
    ) -> Detection {
        let (x1, y1) = self.to_frame(d.x1, d.y1);
        let (x2, y2) = self.to_frame(d.x2, d.y2);
        Detection {
            x1,
            y1,
            x2,
            y2,
            ..*d
        }
        .clipped(frame_width as f32, frame_height as f32)
    }

    /// Frame coordinates to network-input coordinates (inverse of [`Self::to_frame`]).
    pub fn to_net(&self, x: f32, y: f32) -> (f32, f32) {
        (x * self.ratio + self.pad_x, y * self.ratio + self.pad_y)
    }
}

/// Full letterbox geometry for one frame size and spec.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LetterboxGeometry {
    /// Size of the resized frame inside the canvas.
    pub new_width: usize,
    pub new_height: usize,
    /// Canvas offset of the resized frame.
    pub left: usize,
    pub top: usize,
    pub letterbox: Letterbox,
}

/// Computes where a `src_w x src_h` frame lands on the canvas of `spec`.
pub fn letterbox_geometry(
    src_w: usize,
    src_h: usize,
    spec: &LetterboxSpec,
) -> Result<LetterboxGeometry, PreprocessError> {
    if src_w == 0 || src_h == 0 {
        return Err(PreprocessError::ZeroSize {
            what: "frame",
            width: src_w,
            height: src_h,
        });
    }
    if spec.dst_width == 0 || spec.dst_height == 0 {
        return Err(PreprocessError::ZeroSize {
            what: "network input",
            width: spec.dst_width,
            height: spec.dst_height,
        });
    }
    let (dw, dh) = (spec.dst_width as f64, spec.dst_height as f64);
    let (sw, sh) = (src_w as f64, src_h as f64);
    let r = (dh / sh).min(dw / sw);
    let size = |s: f64, dst: usize| -> usize {
        let v = match spec.placement {
            Placement::TopLeft => (s * r).trunc(),
            Placement::Center => (s * r).round_ties_even(),
        };
        // `as` saturates; keep at least one pixel and never exceed the canvas.
        (v as usize).clamp(1, dst)
    };
    let new_width = size(sw, spec.dst_width);
    let new_height = size(sh, spec.dst_height);
    let (left, top) = match spec.placement {
        Placement::TopLeft => (0, 0),
        Placement::Center => {
            let half = |pad: usize| ((pad as f64) / 2.0 - 0.1).round().max(0.0) as usize;
            (
                half(spec.dst_width - new_width),
                half(spec.dst_height - new_height),
            )
        }
    };
    Ok(LetterboxGeometry {
        new_width,
        new_height,
        left,
        top,
        letterbox: Letterbox {
            ratio: r as f32,
            pad_x: left as f32,
            pad_y: top as f32,
        },
    })
}

/// Errors from [`letterbox_into`] / [`Preprocessor::run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreprocessError {
    /// The frame's planes do not match its layout (see [`FrameView::validate`]).
    Frame(FrameError),
    /// The frame (geometry only) or the network input has a zero dimension.
    ZeroSize {
        what: &'static str,
        width: usize,
        height: usize,
    },
    /// The output slice is not `3 * dst_h * dst_w` long.
    OutputSize { expected: usize, actual: usize },
    /// Sizes overflow `usize`.
    TooLarge,
}

impl From<FrameError> for PreprocessError {
    fn from(e: FrameError) -> Self {
        PreprocessError::Frame(e)
    }
}

impl fmt::Display for PreprocessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PreprocessError::Frame(e) => e.fmt(f),
            PreprocessError::ZeroSize {
                what,
                width,
                height,
            } => write!(f, "{what} has a zero dimension ({width}x{height})"),
            PreprocessError::OutputSize { expected, actual } => write!(
                f,
                "output tensor holds {actual} values, expected {expected} (3 x height x width)"
            ),
            PreprocessError::TooLarge => write!(f, "frame dimensions overflow"),
        }
    }
}

impl std::error::Error for PreprocessError {}

/// Fixed-point precision of the interpolation weights (as OpenCV).
const COEF_BITS: u32 = 11;
const COEF_SCALE: f32 = (1 << COEF_BITS) as f32;

/// One output sample along an axis: `i0 * w0 + i1 * w1` (weights in
/// 1/2048 units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tap {
    i0: u32,
    i1: u32,
    w0: u32,
    w1: u32,
    /// `w0 | w1 << 16`, for `pmaddwd` (the SSE2 kernels).
    #[cfg_attr(
        not(all(target_arch = "x86_64", target_feature = "sse2")),
        allow(dead_code)
    )]
    wp: u32,
}

impl Tap {
    fn new(i0: u32, i1: u32, w0: u32, w1: u32) -> Self {
        Tap {
            i0,
            i1,
            w0,
            w1,
            wp: w0 | (w1 << 16),
        }
    }
}

/// Sample positions of OpenCV's `INTER_LINEAR` for `dst` outputs over `src`
/// inputs: `f = (d + 0.5) * scale - 0.5` (computed in f64, then rounded to
/// f32), `s = floor(f)`, weights `round(2048 * (1 - (f - s)))` and
/// `round(2048 * (f - s))`.
///
/// Columns (`clamp_weights`) outside the image use the edge pixel with full
/// weight; rows keep their weights and clamp the indices, as OpenCV does.
/// Indices are multiplied by `mul` (bytes per pixel, or 2 for interleaved
/// chroma).
fn axis_taps(src: usize, dst: usize, scale: f64, mul: usize, clamp_weights: bool) -> Vec<Tap> {
    let last = src.saturating_sub(1) as i64;
    (0..dst)
        .map(|d| {
            let f = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let fl = f.floor();
            let mut s = fl as i64;
            let mut frac = f - fl;
            if clamp_weights {
                if s < 0 {
                    s = 0;
                    frac = 0.0;
                }
                if s >= last {
                    s = last;
                    frac = 0.0;
                }
            }
            let w = |v: f32| (v * COEF_SCALE).round_ties_even().clamp(0.0, COEF_SCALE) as u32;
            let idx = |i: i64| (i.clamp(0, last) as usize * mul) as u32;
            Tap::new(idx(s), idx(s + 1), w(1.0 - frac), w(frac))
        })
        .collect()
}

/// OpenCV's scale factor: `1 / (dst / src)`.
fn cv_scale(src: usize, dst: usize) -> f64 {
    1.0 / (dst as f64 / src as f64)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PlanKey {
    width: usize,
    height: usize,
    layout: PixelLayout,
    dst_width: usize,
    dst_height: usize,
    placement: Placement,
    channel_order: ChannelOrder,
}

/// Cached per-size tables.
#[derive(Debug, Clone)]
struct Plan {
    key: PlanKey,
    geom: LetterboxGeometry,
    /// Luma / packed columns (packed: byte offset of the pixel).
    xs: Vec<Tap>,
    xc: Cols,
    /// Luma / packed rows.
    ys: Vec<Tap>,
    /// Chroma columns (NV12: byte offset of the U sample).
    cxs: Vec<Tap>,
    cxc: Cols,
    /// Chroma rows.
    cys: Vec<Tap>,
    /// Byte-permute gathers of the packed (3 channels, output order) or
    /// luma rows, and of the chroma rows (NV12: U and V), where the CPU
    /// and the geometry allow (see `preprocess_gather.rs`).
    xg: Option<GatherTable>,
    cxg: Option<GatherTable>,
}

impl Plan {
    fn new(key: PlanKey, geom: LetterboxGeometry) -> Self {
        Self::with_kinds(key, geom, Kind::PREFERENCE)
    }

    /// The plan with gather tables for the first of `kinds` that fits.
    fn with_kinds(key: PlanKey, geom: LetterboxGeometry, kinds: &[Kind]) -> Self {
        let bpp = key.layout.packed().map_or(1, |(b, _)| b);
        let sx = cv_scale(key.width, geom.new_width);
        let sy = cv_scale(key.height, geom.new_height);
        let xs = axis_taps(key.width, geom.new_width, sx, bpp, true);
        let ys = axis_taps(key.height, geom.new_height, sy, 1, false);
        let (xg, cxg) = match key.layout.packed() {
            Some((bpp, [r, g, b])) => {
                let offs = match key.channel_order {
                    ChannelOrder::Rgb => [r, g, b],
                    ChannelOrder::Bgr => [b, g, r],
                };
                (GatherTable::among(kinds, &xs, &offs, key.width * bpp), None)
            }
            None => (GatherTable::among(kinds, &xs, &[0], key.width), None),
        };
        let (cxs, cys) = if key.layout.is_yuv() {
            // Chroma sample i sits at luma 2i + 0.5, so the chroma position of
            // luma position L is (L - 0.5) / 2 = (d + 0.5) * (s / 2) - 0.5.
            let cmul = if key.layout == PixelLayout::Nv12 {
                2
            } else {
                1
            };
            (
                axis_taps(key.width.div_ceil(2), geom.new_width, sx / 2.0, cmul, true),
                axis_taps(key.height.div_ceil(2), geom.new_height, sy / 2.0, 1, false),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        let cxg = match key.layout {
            PixelLayout::Nv12 => {
                GatherTable::among(kinds, &cxs, &[0, 1], 2 * key.width.div_ceil(2))
            }
            PixelLayout::I420 => GatherTable::among(kinds, &cxs, &[0], key.width.div_ceil(2)),
            _ => cxg,
        };
        Plan {
            key,
            geom,
            xg,
            cxg,
            xc: Cols::new(&xs),
            cxc: Cols::new(&cxs),
            xs,
            ys,
            cxs,
            cys,
        }
    }
}

/// Two horizontally resampled source rows (each `slot_len` elements), keyed
/// by source row index; consecutive output rows usually share one of them.
#[derive(Debug, Clone, Default)]
struct RowCache<T> {
    buf: Vec<T>,
    slot_len: usize,
    keys: [Option<usize>; 2],
}

impl<T: Copy + Default> RowCache<T> {
    fn reset(&mut self, slot_len: usize) {
        self.slot_len = slot_len;
        self.buf.resize(2 * slot_len, T::default());
        self.keys = [None; 2];
    }

    /// Returns the rows `y0` and `y1`, computing missing ones with `fill`.
    fn fetch(
        &mut self,
        y0: usize,
        y1: usize,
        mut fill: impl FnMut(usize, &mut [T]),
    ) -> (&[T], &[T]) {
        let len = self.slot_len;
        let find = |keys: &[Option<usize>; 2], y| keys.iter().position(|k| *k == Some(y));
        let s0 = match find(&self.keys, y0) {
            Some(s) => s,
            None => {
                let s = usize::from(self.keys[0] == Some(y1));
                fill(y0, &mut self.buf[s * len..(s + 1) * len]);
                self.keys[s] = Some(y0);
                s
            }
        };
        let s1 = match find(&self.keys, y1) {
            Some(s) => s,
            None => {
                let s = 1 - s0;
                fill(y1, &mut self.buf[s * len..(s + 1) * len]);
                self.keys[s] = Some(y1);
                s
            }
        };
        (
            &self.buf[s0 * len..(s0 + 1) * len],
            &self.buf[s1 * len..(s1 + 1) * len],
        )
    }
}

/// Reusable preprocessor: caches the resampling tables for a frame size and
/// the scratch rows, so repeated calls do not allocate.
#[derive(Debug, Clone, Default)]
pub struct Preprocessor {
    plan: Option<Plan>,
    /// Packed: three planar rows (output channel order); YUV: luma rows.
    rows: RowCache<u16>,
    /// Chroma rows: U then V.
    chroma_rows: RowCache<u16>,
    /// YUV: vertically resampled Y, U, V rows.
    yuv_tmp: Vec<f32>,
    /// Tests and benchmarks: the gather kernels allowed (none: portable
    /// kernels only), instead of the CPU's preference.
    #[cfg(test)]
    kinds: Option<&'static [Kind]>,
}

impl Preprocessor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Same as [`letterbox_into`], reusing cached tables and buffers.
    pub fn run(
        &mut self,
        frame: &FrameView,
        spec: &LetterboxSpec,
        out: &mut [f32],
    ) -> Result<Letterbox, PreprocessError> {
        frame.validate()?;
        let expected = spec
            .dst_width
            .checked_mul(spec.dst_height)
            .and_then(|v| v.checked_mul(3))
            .ok_or(PreprocessError::TooLarge)?;
        if out.len() != expected {
            return Err(PreprocessError::OutputSize {
                expected,
                actual: out.len(),
            });
        }
        let key = PlanKey {
            width: frame.width,
            height: frame.height,
            layout: frame.layout,
            dst_width: spec.dst_width,
            dst_height: spec.dst_height,
            placement: spec.placement,
            channel_order: spec.channel_order,
        };
        let plan = match self.plan.take() {
            Some(p) if p.key == key => p,
            _ => {
                let geom = letterbox_geometry(frame.width, frame.height, spec)?;
                #[cfg(test)]
                let plan = Plan::with_kinds(key, geom, self.kinds.unwrap_or(Kind::PREFERENCE));
                #[cfg(not(test))]
                let plan = Plan::new(key, geom);
                plan
            }
        };
        let geom = plan.geom;
        let plane_len = spec.dst_width * spec.dst_height;
        let pad = spec.pad_value * spec.scale;
        for plane in out.chunks_exact_mut(plane_len) {
            fill_padding(plane, spec.dst_width, spec.dst_height, &geom, pad);
        }
        let (p0, rest) = out.split_at_mut(plane_len);
        let (p1, p2) = rest.split_at_mut(plane_len);
        let planes = [p0, p1, p2];
        match frame.layout.packed() {
            Some((bpp, [r, g, b])) => {
                let offs = match spec.channel_order {
                    ChannelOrder::Rgb => [r, g, b],
                    ChannelOrder::Bgr => [b, g, r],
                };
                self.run_packed(frame, spec, &plan, bpp, offs, planes);
            }
            None => {
                // Planes in R, G, B order.
                let [p0, p1, p2] = planes;
                let rgb = match spec.channel_order {
                    ChannelOrder::Rgb => [p0, p1, p2],
                    ChannelOrder::Bgr => [p2, p1, p0],
                };
                self.run_yuv(frame, spec, &plan, rgb);
            }
        }
        self.plan = Some(plan);
        Ok(geom.letterbox)
    }

    fn run_packed(
        &mut self,
        frame: &FrameView,
        spec: &LetterboxSpec,
        plan: &Plan,
        bpp: usize,
        offs: [usize; 3],
        planes: [&mut [f32]; 3],
    ) {
        let Some(plane) = frame.planes.first() else {
            return;
        };
        let row_bytes = frame.width * bpp;
        let g = &plan.geom;
        let nw = g.new_width;
        self.rows.reset(3 * nw);
        let [p0, p1, p2] = planes;
        for (dy, ty) in plan.ys.iter().enumerate() {
            let (h0, h1) = self.rows.fetch(ty.i0 as usize, ty.i1 as usize, |y, dst| {
                let row = plane.row(y, row_bytes);
                if !plan.xg.as_ref().is_some_and(|t| t.run(row, dst)) {
                    hpass_packed(row, &plan.xc, bpp, offs, dst)
                }
            });
            let start = (g.top + dy) * spec.dst_width + g.left;
            let o = start..start + nw;
            let rows = h0.chunks_exact(nw).zip(h1.chunks_exact(nw));
            for ((a, b), p) in rows.zip([&mut p0[o.clone()], &mut p1[o.clone()], &mut p2[o]]) {
                vpass(a, b, ty, spec.scale, p);
            }
        }
    }

    fn run_yuv(
        &mut self,
        frame: &FrameView,
        spec: &LetterboxSpec,
        plan: &Plan,
        rgb: [&mut [f32]; 3],
    ) {
        let nv12 = frame.layout == PixelLayout::Nv12;
        let w = frame.width;
        let cw = w.div_ceil(2);
        let (Some(yp), Some(up)) = (frame.planes.first(), frame.planes.get(1)) else {
            return;
        };
        let vp = frame.planes.get(2).filter(|_| !nv12).unwrap_or(up);
        let g = &plan.geom;
        let nw = g.new_width;
        let conv = YuvToRgb::new(frame.yuv, spec.scale);
        self.rows.reset(nw);
        self.chroma_rows.reset(2 * nw);
        let [pr, pg, pb] = rgb;
        for (dy, (ty, tc)) in plan.ys.iter().zip(&plan.cys).enumerate() {
            let (h0, h1) = self.rows.fetch(ty.i0 as usize, ty.i1 as usize, |y, dst| {
                let row = yp.row(y, w);
                if !plan.xg.as_ref().is_some_and(|t| t.run(row, dst)) {
                    hpass_plane(row, &plan.xs, &plan.xc, dst)
                }
            });
            let (c0, c1) = self
                .chroma_rows
                .fetch(tc.i0 as usize, tc.i1 as usize, |y, dst| {
                    let cxg = plan.cxg.as_ref();
                    if nv12 {
                        let row = up.row(y, 2 * cw);
                        if !cxg.is_some_and(|t| t.run(row, dst)) {
                            let (du, dv) = dst.split_at_mut(nw);
                            hpass_uv(row, &plan.cxs, &plan.cxc, du, dv);
                        }
                    } else {
                        let (su, sv) = (up.row(y, cw), vp.row(y, cw));
                        let (du, dv) = dst.split_at_mut(nw);
                        let done = cxg.is_some_and(|t| t.run(su, du) && t.run(sv, dv));
                        if !done {
                            hpass_u_v(su, sv, &plan.cxs, &plan.cxc, du, dv);
                        }
                    }
                });
            let start = (g.top + dy) * spec.dst_width + g.left;
            let end = start + nw;
            yuv_rows_to_rgb(
                &conv,
                [h0, h1],
                ty,
                [&c0[..nw], &c1[..nw]],
                [&c0[nw..], &c1[nw..]],
                tc,
                &mut self.yuv_tmp,
                [
                    &mut pr[start..end],
                    &mut pg[start..end],
                    &mut pb[start..end],
                ],
            );
        }
    }
}

/// Writes the NCHW float32 planar tensor (len `3 * dst_h * dst_w`) into `out`.
///
/// See the module documentation for the exact geometry and resampling; for
/// repeated calls prefer a long-lived [`Preprocessor`].
pub fn letterbox_into(
    frame: &FrameView,
    spec: &LetterboxSpec,
    out: &mut [f32],
) -> Result<Letterbox, PreprocessError> {
    Preprocessor::new().run(frame, spec, out)
}

/// Column taps as separate arrays (source indices and weights), the layout
/// the vectorised loops read.
#[derive(Debug, Clone, Default)]
struct Cols {
    i0: Vec<u32>,
    i1: Vec<u32>,
    w0: Vec<u32>,
    w1: Vec<u32>,
}

impl Cols {
    fn new(taps: &[Tap]) -> Self {
        Cols {
            i0: taps.iter().map(|t| t.i0).collect(),
            i1: taps.iter().map(|t| t.i1).collect(),
            w0: taps.iter().map(|t| t.w0).collect(),
            w1: taps.iter().map(|t| t.w1).collect(),
        }
    }

    fn len(&self) -> usize {
        self.i0.len()
    }
}

// Vector code: one portable source, vectorised by the compiler.
//
// Every kernel below is written twice: a plain scalar reference
// (`*_scalar`, one output sample at a time, the definition the tests hold
// the fast code to) and a fast `*_body`, split into a short scalar gather
// (the two source pixels of each output sample, one unaligned load each, in
// blocks of `BLOCK` samples kept in L1) and a branch-free integer loop over
// the block that LLVM vectorises. The `multiversion` crate compiles each
// fast kernel three times on x86-64: for the SSE2 baseline, AVX2 and
// AVX-512 (chosen once at run time by CPUID; AVX-512 measured 16 % faster
// than AVX2 on the packed path on an AMD EPYC), and once on other targets
// (NEON on aarch64, where it is part of the baseline). We chose `multiversion` plus
// auto-vectorisable fixed-point loops over explicit SIMD types (`wide`,
// `pulp`) or more `std::arch` intrinsics because the arithmetic is plain
// 32-bit integer maths that the compiler vectorises well at every width,
// the one source serves SSE2, AVX2 and NEON without per-ISA code or
// `unsafe`, and the results are integer-exact by construction (no float
// contraction is involved; Rust never fuses `a * b + c` on its own).
// The gather stays scalar here: NEON has no gather and AVX2's is slow on
// the AMD and Intel cores we target. Where the CPU has byte permutes over a
// wide window (AVX-512 VBMI, NEON `tbl`), `preprocess_gather.rs` replaces
// these horizontal kernels (2.4x faster per frame on packed RGB).

/// Output samples per block of the gather / blend loops.
const BLOCK: usize = 64;

/// `bpp` bytes (at most 4) from `src[i..]` as a little-endian integer;
/// missing bytes read as 0 (never for a validated frame).
#[inline(always)]
fn load_px(src: &[u8], i: usize, bpp: usize) -> u32 {
    let mut p = [0u8; 4];
    for (k, d) in p.iter_mut().enumerate().take(bpp) {
        *d = src.get(i + k).copied().unwrap_or(0);
    }
    u32::from_le_bytes(p)
}

/// Horizontal pass over a packed row: three planar rows of the source bytes
/// at `offs` (output channel order), each sample
/// `(p[x0] * w0 + p[x1] * w1) >> 4` (OpenCV's fixed-point path).
#[multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+avx2", "x86_64+avx2"))]
fn hpass_packed(src: &[u8], xc: &Cols, bpp: usize, offs: [usize; 3], dst: &mut [u16]) {
    hpass_packed_body(src, xc, bpp, offs, dst);
}

#[inline(always)]
fn hpass_packed_body(src: &[u8], xc: &Cols, bpp: usize, offs: [usize; 3], dst: &mut [u16]) {
    let n = xc.len().min(dst.len() / 3);
    let (d0, rest) = dst.split_at_mut(n);
    let (d1, d2) = rest.split_at_mut(n);
    let [s0, s1, s2] = offs.map(|o| 8 * o as u32);
    let (mut p, mut q) = ([0u32; BLOCK], [0u32; BLOCK]);
    let mut start = 0;
    while start < n {
        let end = n.min(start + BLOCK);
        let m = end - start;
        // Gather: one 8-byte load holds the pixel and its right neighbour.
        let taps = xc.i0[start..end].iter().zip(&xc.i1[start..end]);
        for ((&i0, &i1), (p, q)) in taps.zip(p.iter_mut().zip(q.iter_mut())) {
            let (i0, i1) = (i0 as usize, i1 as usize);
            let both = src.get(i0..).and_then(<[u8]>::first_chunk::<8>);
            (*p, *q) = match both {
                Some(b) if i1 == i0 + bpp => {
                    let v = u64::from_le_bytes(*b);
                    (v as u32, (v >> (8 * bpp)) as u32)
                }
                _ => (load_px(src, i0, bpp), load_px(src, i1, bpp)),
            };
        }
        let w = xc.w0[start..end].iter().zip(&xc.w1[start..end]);
        let pq = p[..m].iter().zip(&q[..m]).zip(w);
        let d = d0[start..end]
            .iter_mut()
            .zip(&mut d1[start..end])
            .zip(&mut d2[start..end]);
        for (((&p, &q), (&w0, &w1)), ((a, b), c)) in pq.zip(d) {
            let mix = |s: u32| ((((p >> s) & 255) * w0 + ((q >> s) & 255) * w1) >> 4) as u16;
            *a = mix(s0);
            *b = mix(s1);
            *c = mix(s2);
        }
        start = end;
    }
}

/// Scalar reference of [`hpass_packed`] (tests only).
#[cfg(test)]
fn hpass_packed_scalar(src: &[u8], xs: &[Tap], bpp: usize, offs: [usize; 3], dst: &mut [u16]) {
    let n = xs.len().min(dst.len() / 3);
    let at = |i: u32, c: usize| {
        src.get(i as usize + c)
            .filter(|_| c < bpp)
            .map_or(0, |&v| u32::from(v))
    };
    for (k, t) in xs.iter().take(n).enumerate() {
        for (ch, &o) in offs.iter().enumerate() {
            dst[ch * n + k] = ((at(t.i0, o) * t.w0 + at(t.i1, o) * t.w1) >> 4) as u16;
        }
    }
}

/// Horizontal pass over one 8-bit plane row.
fn hpass_plane(src: &[u8], xs: &[Tap], xc: &Cols, dst: &mut [u16]) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // SAFETY: the function only needs SSE2, which this target always
        // has (checked by the cfg); it does no pointer arithmetic.
        let done = unsafe { sse2::hpass_plane(src, xs, dst) };
        hpass_plane_scalar(src, &xs[done..], &mut dst[done..]);
        let _ = xc;
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        let _ = xs;
        hpass_plane_vec(src, xc, dst);
    }
}

/// Horizontal pass over the U and V rows of I420.
fn hpass_u_v(su: &[u8], sv: &[u8], xs: &[Tap], xc: &Cols, du: &mut [u16], dv: &mut [u16]) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // SAFETY: as in `hpass_plane`.
        let done = unsafe { sse2::hpass_u_v(su, sv, xs, du, dv) };
        hpass_plane_scalar(su, &xs[done..], &mut du[done..]);
        hpass_plane_scalar(sv, &xs[done..], &mut dv[done..]);
        let _ = xc;
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        let _ = xs;
        hpass_plane_vec(su, xc, du);
        hpass_plane_vec(sv, xc, dv);
    }
}

/// Portable [`hpass_plane`] (the x86-64 build uses the SSE2 kernel, which
/// is faster there; tested on x86-64 too).
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
#[multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+avx2", "x86_64+avx2"))]
fn hpass_plane_vec(src: &[u8], xc: &Cols, dst: &mut [u16]) {
    hpass_plane_body(src, xc, dst);
}

#[inline(always)]
fn hpass_plane_body(src: &[u8], xc: &Cols, dst: &mut [u16]) {
    let n = xc.len().min(dst.len());
    let mut pq = [0u32; BLOCK];
    let at = |i: usize| u32::from(src.get(i).copied().unwrap_or(0));
    let mut start = 0;
    while start < n {
        let end = n.min(start + BLOCK);
        let m = end - start;
        let taps = xc.i0[start..end].iter().zip(&xc.i1[start..end]);
        for ((&i0, &i1), pq) in taps.zip(pq.iter_mut()) {
            let (i0, i1) = (i0 as usize, i1 as usize);
            *pq = match src.get(i0..).and_then(<[u8]>::first_chunk::<2>) {
                Some(&[a, b]) if i1 == i0 + 1 => u32::from(a) | u32::from(b) << 16,
                _ => at(i0) | at(i1) << 16,
            };
        }
        let w = xc.w0[start..end].iter().zip(&xc.w1[start..end]);
        for ((&v, (&w0, &w1)), d) in pq[..m].iter().zip(w).zip(&mut dst[start..end]) {
            *d = (((v & 0xffff) * w0 + (v >> 16) * w1) >> 4) as u16;
        }
        start = end;
    }
}

/// Scalar reference of [`hpass_plane`] (and the tail of the SSE2 kernel).
#[cfg_attr(
    not(all(target_arch = "x86_64", target_feature = "sse2")),
    allow(dead_code)
)]
fn hpass_plane_scalar(src: &[u8], xs: &[Tap], dst: &mut [u16]) {
    let at = |i: u32| src.get(i as usize).copied().map_or(0, u32::from);
    for (t, d) in xs.iter().zip(dst) {
        *d = ((at(t.i0) * t.w0 + at(t.i1) * t.w1) >> 4) as u16;
    }
}

/// Horizontal pass over an interleaved NV12 UV row (`xs` index the U bytes).
fn hpass_uv(src: &[u8], xs: &[Tap], xc: &Cols, du: &mut [u16], dv: &mut [u16]) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // SAFETY: as in `hpass_plane`.
        let done = unsafe { sse2::hpass_uv(src, xs, du, dv) };
        hpass_uv_scalar(src, &xs[done..], &mut du[done..], &mut dv[done..]);
        let _ = xc;
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        let _ = xs;
        hpass_uv_vec(src, xc, du, dv);
    }
}

/// Portable [`hpass_uv`] (see [`hpass_plane_vec`]).
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
#[multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+avx2", "x86_64+avx2"))]
fn hpass_uv_vec(src: &[u8], xc: &Cols, du: &mut [u16], dv: &mut [u16]) {
    hpass_uv_body(src, xc, du, dv);
}

#[inline(always)]
fn hpass_uv_body(src: &[u8], xc: &Cols, du: &mut [u16], dv: &mut [u16]) {
    let n = xc.len().min(du.len()).min(dv.len());
    let mut quad = [0u32; BLOCK];
    let mut start = 0;
    while start < n {
        let end = n.min(start + BLOCK);
        let m = end - start;
        let taps = xc.i0[start..end].iter().zip(&xc.i1[start..end]);
        // u0 v0 u1 v1 of each output sample.
        for ((&i0, &i1), quad) in taps.zip(quad.iter_mut()) {
            let (i0, i1) = (i0 as usize, i1 as usize);
            *quad = match src.get(i0..).and_then(<[u8]>::first_chunk::<4>) {
                Some(b) if i1 == i0 + 2 => u32::from_le_bytes(*b),
                _ => load_px(src, i0, 2) | load_px(src, i1, 2) << 16,
            };
        }
        let w = xc.w0[start..end].iter().zip(&xc.w1[start..end]);
        let d = du[start..end].iter_mut().zip(&mut dv[start..end]);
        for ((&v, (&w0, &w1)), (u, vv)) in quad[..m].iter().zip(w).zip(d) {
            *u = (((v & 255) * w0 + ((v >> 16) & 255) * w1) >> 4) as u16;
            *vv = ((((v >> 8) & 255) * w0 + (v >> 24) * w1) >> 4) as u16;
        }
        start = end;
    }
}

/// Scalar reference of [`hpass_uv`] (and the tail of the SSE2 kernel).
#[cfg_attr(
    not(all(target_arch = "x86_64", target_feature = "sse2")),
    allow(dead_code)
)]
fn hpass_uv_scalar(src: &[u8], xs: &[Tap], du: &mut [u16], dv: &mut [u16]) {
    let at = |i: u32, c: usize| src.get(i as usize + c).copied().map_or(0, u32::from);
    for ((t, u), v) in xs.iter().zip(du).zip(dv) {
        *u = ((at(t.i0, 0) * t.w0 + at(t.i1, 0) * t.w1) >> 4) as u16;
        *v = ((at(t.i0, 1) * t.w0 + at(t.i1, 1) * t.w1) >> 4) as u16;
    }
}

/// SSE2 kernels for the plane and chroma horizontal passes on x86-64
/// (SSE2 is part of the x86-64 baseline, so no runtime detection is
/// needed). They keep the gathered bytes in registers, which beats the
/// portable block kernels here (210 against 290-430 ns per 416-sample row);
/// other targets use the portable kernels. Each handles a prefix of
/// the taps, stopping where a load would leave the row (the last pixel or
/// two), and returns how many it did; the scalar code does the rest.
/// Results are identical to the scalar code (tested). They rely on the
/// column taps' invariant `i1 == i0 + step`, or `i1 == i0` with `w1 == 0`.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use super::Tap;
    use std::arch::x86_64::*;

    /// Stores the low four 16-bit lanes of `v`.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn store4(dst: &mut [u16], v: __m128i) {
        let x = _mm_cvtsi128_si64(v) as u64;
        if let Some(d) = dst.first_chunk_mut::<4>() {
            *d = [
                x as u16,
                (x >> 16) as u16,
                (x >> 32) as u16,
                (x >> 48) as u16,
            ];
        }
    }

    /// Four output samples per step from pairs of neighbouring bytes.
    #[target_feature(enable = "sse2")]
    pub(super) fn hpass_plane(src: &[u8], xs: &[Tap], dst: &mut [u16]) -> usize {
        let zero = _mm_setzero_si128();
        let mut done = 0;
        let pair = |t: &Tap| -> Option<i64> {
            let i = t.i0 as usize;
            let b: [u8; 2] = src.get(i..i.checked_add(2)?)?.try_into().ok()?;
            Some(i64::from(u16::from_le_bytes(b)))
        };
        let n = xs.len().min(dst.len());
        while done + 4 <= n {
            let t = &xs[done..done + 4];
            let (Some(a), Some(b), Some(c), Some(e)) =
                (pair(&t[0]), pair(&t[1]), pair(&t[2]), pair(&t[3]))
            else {
                break;
            };
            let v = _mm_cvtsi64_si128(a | (b << 16) | (c << 32) | (e << 48));
            let pq = _mm_unpacklo_epi8(v, zero);
            let wv = _mm_set_epi32(
                t[3].wp as i32,
                t[2].wp as i32,
                t[1].wp as i32,
                t[0].wp as i32,
            );
            let sum = _mm_srli_epi32::<4>(_mm_madd_epi16(pq, wv));
            store4(&mut dst[done..done + 4], _mm_packs_epi32(sum, sum));
            done += 4;
        }
        done
    }

    /// Interleaved NV12 chroma, two output samples (U and V each) per
    /// `pmaddwd`, four per step.
    #[target_feature(enable = "sse2")]
    pub(super) fn hpass_uv(src: &[u8], xs: &[Tap], du: &mut [u16], dv: &mut [u16]) -> usize {
        let zero = _mm_setzero_si128();
        let mut done = 0;
        // u0 v0 u1 v1 of one output sample.
        let quad = |t: &Tap| -> Option<i64> {
            let i = t.i0 as usize;
            let b: [u8; 4] = src.get(i..i.checked_add(4)?)?.try_into().ok()?;
            Some(i64::from(u32::from_le_bytes(b)))
        };
        let two = |x: i64, y: i64, tx: &Tap, ty: &Tap| {
            // u0 v0 u1 v1 (x) | u0 v0 u1 v1 (y) -> u0 u1 v0 v1 | ...
            let v = _mm_unpacklo_epi8(_mm_cvtsi64_si128(x | (y << 32)), zero);
            let v = _mm_shufflehi_epi16::<0b11_01_10_00>(_mm_shufflelo_epi16::<0b11_01_10_00>(v));
            let w = _mm_set_epi32(ty.wp as i32, ty.wp as i32, tx.wp as i32, tx.wp as i32);
            // Ux Vx Uy Vy
            _mm_srli_epi32::<4>(_mm_madd_epi16(v, w))
        };
        let n = xs.len().min(du.len()).min(dv.len());
        while done + 4 <= n {
            let t = &xs[done..done + 4];
            let (Some(a), Some(b), Some(c), Some(d)) =
                (quad(&t[0]), quad(&t[1]), quad(&t[2]), quad(&t[3]))
            else {
                break;
            };
            // Ua Va Ub Vb Uc Vc Ud Vd
            let s = _mm_packs_epi32(two(a, b, &t[0], &t[1]), two(c, d, &t[2], &t[3]));
            // Ua Ub Uc Ud Va Vb Vc Vd
            let s = _mm_shufflelo_epi16::<0b11_01_10_00>(s);
            let s = _mm_shufflehi_epi16::<0b11_01_10_00>(s);
            let s = _mm_shuffle_epi32::<0b11_01_10_00>(s);
            store4(&mut du[done..done + 4], s);
            store4(&mut dv[done..done + 4], _mm_unpackhi_epi64(s, s));
            done += 4;
        }
        done
    }

    /// I420 chroma: the U and V rows resampled together, as `hpass_uv`.
    #[target_feature(enable = "sse2")]
    pub(super) fn hpass_u_v(
        su: &[u8],
        sv: &[u8],
        xs: &[Tap],
        du: &mut [u16],
        dv: &mut [u16],
    ) -> usize {
        let zero = _mm_setzero_si128();
        let mut done = 0;
        let pair = |src: &[u8], t: &Tap| -> Option<i64> {
            let i = t.i0 as usize;
            let b: [u8; 2] = src.get(i..i.checked_add(2)?)?.try_into().ok()?;
            Some(i64::from(u16::from_le_bytes(b)))
        };
        // u0 u1 v0 v1 of one output sample.
        let quad = |t: &Tap| Some(pair(su, t)? | (pair(sv, t)? << 16));
        let two = |x: i64, y: i64, tx: &Tap, ty: &Tap| {
            let v = _mm_unpacklo_epi8(_mm_cvtsi64_si128(x | (y << 32)), zero);
            let w = _mm_set_epi32(ty.wp as i32, ty.wp as i32, tx.wp as i32, tx.wp as i32);
            // Ux Vx Uy Vy
            _mm_srli_epi32::<4>(_mm_madd_epi16(v, w))
        };
        let n = xs.len().min(du.len()).min(dv.len());
        while done + 4 <= n {
            let t = &xs[done..done + 4];
            let (Some(a), Some(b), Some(c), Some(d)) =
                (quad(&t[0]), quad(&t[1]), quad(&t[2]), quad(&t[3]))
            else {
                break;
            };
            let s = _mm_packs_epi32(two(a, b, &t[0], &t[1]), two(c, d, &t[2], &t[3]));
            let s = _mm_shufflelo_epi16::<0b11_01_10_00>(s);
            let s = _mm_shufflehi_epi16::<0b11_01_10_00>(s);
            let s = _mm_shuffle_epi32::<0b11_01_10_00>(s);
            store4(&mut du[done..done + 4], s);
            store4(&mut dv[done..done + 4], _mm_unpackhi_epi64(s, s));
            done += 4;
        }
        done
    }
}

/// Vertical pass: blends two horizontally resampled rows with OpenCV's
/// rounding (`((h0 * b0) >> 16) + ((h1 * b1) >> 16) + 2) >> 2`, at most
/// 255) and writes `value * scale`.
#[multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+avx2", "x86_64+avx2"))]
fn vpass(h0: &[u16], h1: &[u16], t: &Tap, scale: f32, out: &mut [f32]) {
    vpass_body(h0, h1, t, scale, out);
}

#[inline(always)]
fn vpass_body(h0: &[u16], h1: &[u16], t: &Tap, scale: f32, out: &mut [f32]) {
    // Weights are at most 2048; as u16 the products map to `pmulhuw`.
    let (b0, b1) = (u32::from(t.w0 as u16), u32::from(t.w1 as u16));
    for ((o, &a), &b) in out.iter_mut().zip(h0).zip(h1) {
        let v = (((u32::from(a) * b0) >> 16) + ((u32::from(b) * b1) >> 16) + 2) >> 2;
        // At most (32640 * 2049 >> 16 + 2) >> 2 = 255: no clamp needed.
        *o = v as u16 as i32 as f32 * scale;
    }
}

/// Vertical pass of the Y, U and V rows (`y: [row0, row1]` etc.), then
/// conversion to scaled R, G, B rows; each RGB value is clamped to
/// 0..=255 and rounded to the nearest integer first. `tmp` is scratch.
/// (Two simple loops vectorize better than one fused loop: a fused
/// portable loop and a fused AVX-512 kernel both measured slower, see
/// docs/benchmarks.md.)
#[allow(clippy::too_many_arguments)]
#[multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+avx2", "x86_64+avx2"))]
fn yuv_rows_to_rgb(
    k: &YuvToRgb,
    y: [&[u16]; 2],
    ty: &Tap,
    u: [&[u16]; 2],
    v: [&[u16]; 2],
    tc: &Tap,
    tmp: &mut Vec<f32>,
    out: [&mut [f32]; 3],
) {
    // A rounding instruction where the target has one (`vroundps` /
    // `vrndscaleps` in the AVX2 and AVX-512 clones, `frintx` on aarch64;
    // LLVM uses the current rounding mode, which Rust assumes is the
    // default, nearest-even); the SSE2 baseline would call a library
    // function per sample for `round_ties_even`, so it keeps `finish`'s
    // magic-number rounding. `scripts/test-aarch64.sh` checks the `frint`.
    #[target_cfg(any(
        target_feature = "sse4.1",
        target_feature = "avx2",
        target_arch = "aarch64"
    ))]
    const ROUND_INSN: bool = true;
    #[target_cfg(not(any(
        target_feature = "sse4.1",
        target_feature = "avx2",
        target_arch = "aarch64"
    )))]
    const ROUND_INSN: bool = false;
    yuv_rows_to_rgb_body::<ROUND_INSN>(k, y, ty, u, v, tc, tmp, out);
}

/// The body of [`yuv_rows_to_rgb`]; `ROUND_INSN`: round with
/// `round_ties_even` (one instruction) before clamping, instead of
/// [`YuvToRgb::finish`] (clamp, then add and subtract a magic number).
/// The same value bit for bit: rounding is monotonic and 0 and 255 are
/// integers, so clamping the rounded value equals rounding the clamped
/// one; `if v > 0.0` turns a rounded -0.0 (from -0.5..0) into +0.0, as
/// `finish`'s clamp does; and NaN (never produced here) gives 0 in both.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn yuv_rows_to_rgb_body<const ROUND_INSN: bool>(
    k: &YuvToRgb,
    y: [&[u16]; 2],
    ty: &Tap,
    u: [&[u16]; 2],
    v: [&[u16]; 2],
    tc: &Tap,
    tmp: &mut Vec<f32>,
    out: [&mut [f32]; 3],
) {
    let [r, g, b] = out;
    let n = r.len().min(g.len()).min(b.len());
    tmp.resize(3 * n, 0.0);
    let (ys, rest) = tmp.split_at_mut(n);
    let (us, vs) = rest.split_at_mut(n);
    vpass_body(y[0], y[1], ty, 1.0, ys);
    vpass_body(u[0], u[1], tc, 1.0, us);
    vpass_body(v[0], v[1], tc, 1.0, vs);
    let fin = |v: f32| {
        if ROUND_INSN {
            let v = v.round_ties_even();
            let v = if v > 0.0 { v } else { 0.0 };
            let v = if v < 255.0 { v } else { 255.0 };
            v * k.scale
        } else {
            k.finish(v)
        }
    };
    let it = ys.iter().zip(us.iter()).zip(vs.iter()).zip(r).zip(g).zip(b);
    for (((((&y, &u), &v), r), g), b) in it {
        let y = y * k.y;
        *r = fin(y + k.rv * v + k.r0);
        *g = fin(y + k.gu * u + k.gv * v + k.g0);
        *b = fin(y + k.bu * u + k.b0);
    }
}

/// Fills everything outside the resized area of one output plane.
fn fill_padding(plane: &mut [f32], w: usize, h: usize, g: &LetterboxGeometry, v: f32) {
    let top = g.top.min(h);
    let bottom = (g.top + g.new_height).min(h);
    plane[..top * w].fill(v);
    plane[bottom * w..h * w].fill(v);
    let right = (g.left + g.new_width).min(w);
    if g.left > 0 || right < w {
        for r in plane[top * w..bottom * w].chunks_exact_mut(w) {
            r[..g.left.min(w)].fill(v);
            r[right..].fill(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Plane, YuvConversion, YuvMatrix};

    /// Deterministic pseudo-random bytes.
    fn noise(len: usize, seed: u32) -> Vec<u8> {
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s >> 24) as u8
            })
            .collect()
    }

    const EPS: f32 = 1e-4;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() <= EPS * b.abs().max(1.0)
    }

    /// Packed frame bytes in `layout` with row padding and alpha / x bytes
    /// filled with garbage that must never reach the output.
    fn packed_bytes(
        layout: PixelLayout,
        w: usize,
        h: usize,
        stride: usize,
        rgb: &dyn Fn(usize, usize) -> [u8; 3],
    ) -> Vec<u8> {
        let (bpp, [ro, go, bo]) = layout.packed().expect("packed layout");
        let mut data = vec![0xAB; stride * h];
        for y in 0..h {
            for x in 0..w {
                let [r, g, b] = rgb(x, y);
                let p = &mut data[y * stride + x * bpp..][..bpp];
                if bpp == 4 {
                    p[3] = 0x77;
                }
                p[ro] = r;
                p[go] = g;
                p[bo] = b;
            }
        }
        data
    }

    fn packed_frame(
        layout: PixelLayout,
        w: usize,
        h: usize,
        stride: usize,
        data: &[u8],
    ) -> FrameView<'_> {
        FrameView {
            yuv: YuvConversion::default(),
            layout,
            width: w,
            height: h,
            planes: vec![Plane { data, stride }],
        }
    }

    fn run(frame: &FrameView, spec: &LetterboxSpec) -> (Vec<f32>, Letterbox) {
        let mut out = vec![f32::NAN; spec.tensor_len()];
        let lb = letterbox_into(frame, spec, &mut out).expect("letterbox");
        (out, lb)
    }

    /// Value of channel `c` at (x, y) in an NCHW tensor.
    fn at(out: &[f32], spec: &LetterboxSpec, c: usize, x: usize, y: usize) -> f32 {
        out[(c * spec.dst_height + y) * spec.dst_width + x]
    }

    fn geom(w: usize, h: usize, spec: &LetterboxSpec) -> LetterboxGeometry {
        letterbox_geometry(w, h, spec).expect("geometry")
    }

    #[test]
    fn geometry_768x576_to_416() {
        let g = geom(768, 576, &LetterboxSpec::yolox(416, 416));
        assert_eq!((g.new_width, g.new_height, g.left, g.top), (416, 312, 0, 0));
        assert!(close(g.letterbox.ratio, 416.0 / 768.0));
        assert!(close(g.letterbox.ratio, 0.541_666_7));
        assert_eq!((g.letterbox.pad_x, g.letterbox.pad_y), (0.0, 0.0));

        let g = geom(768, 576, &LetterboxSpec::ultralytics(416, 416));
        assert_eq!(
            (g.new_width, g.new_height, g.left, g.top),
            (416, 312, 0, 52)
        );
        assert!(close(g.letterbox.ratio, 0.541_666_7));
        assert_eq!((g.letterbox.pad_x, g.letterbox.pad_y), (0.0, 52.0));
    }

    #[test]
    fn geometry_other_sizes() {
        // 1920x1080 -> 640: r = 1/3, 640x360, Ultralytics pads 140 on top.
        let g = geom(1920, 1080, &LetterboxSpec::ultralytics(640, 640));
        assert_eq!(
            (g.new_width, g.new_height, g.left, g.top),
            (640, 360, 0, 140)
        );
        let g = geom(1920, 1080, &LetterboxSpec::yolox(640, 640));
        assert_eq!((g.new_width, g.new_height, g.left, g.top), (640, 360, 0, 0));
        // Portrait: 480x640 -> 416: r = 0.65, 312x416, left = 52.
        let g = geom(480, 640, &LetterboxSpec::ultralytics(416, 416));
        assert_eq!(
            (g.new_width, g.new_height, g.left, g.top),
            (312, 416, 52, 0)
        );
        // Odd padding: 100x33 -> 64: r = 0.64, h = 21.12 -> 21, dh = 43:
        // top = round(21.5 - 0.1) = 21 (bottom gets 22).
        let g = geom(100, 33, &LetterboxSpec::ultralytics(64, 64));
        assert_eq!((g.new_width, g.new_height, g.left, g.top), (64, 21, 0, 21));
        // Truncation vs round-half-even: 4x7 -> 2x10, r = 0.5, h*r = 3.5.
        let g = geom(4, 7, &LetterboxSpec::yolox(2, 10));
        assert_eq!((g.new_width, g.new_height), (2, 3));
        let g = geom(4, 7, &LetterboxSpec::ultralytics(2, 10));
        assert_eq!((g.new_width, g.new_height, g.top), (2, 4, 3));
        // 4x5 -> r = 0.5, h*r = 2.5 rounds to even: 2.
        let g = geom(4, 5, &LetterboxSpec::ultralytics(2, 10));
        assert_eq!((g.new_width, g.new_height, g.top), (2, 2, 4));
        // Upscaling: 320x240 -> 416: r = 1.3, 416x312.
        let g = geom(320, 240, &LetterboxSpec::yolox(416, 416));
        assert_eq!((g.new_width, g.new_height), (416, 312));
        assert!(close(g.letterbox.ratio, 1.3));
        // Extreme aspect: never a zero-sized image.
        let g = geom(10_000, 1, &LetterboxSpec::yolox(416, 416));
        assert_eq!((g.new_width, g.new_height), (416, 1));
    }

    #[test]
    fn to_frame_round_trips() {
        let g = geom(768, 576, &LetterboxSpec::ultralytics(416, 416));
        let lb = g.letterbox;
        let (x, y) = lb.to_frame(0.0, 52.0);
        assert!(close(x, 0.0) && close(y, 0.0), "{x} {y}");
        let (x, y) = lb.to_frame(416.0, 364.0);
        assert!(close(x, 768.0) && close(y, 576.0), "{x} {y}");
        let (x, y) = lb.to_frame(208.0, 208.0);
        assert!(close(x, 384.0) && close(y, 288.0), "{x} {y}");
        for (fx, fy) in [(0.0, 0.0), (12.5, 400.25), (767.0, 575.0)] {
            let (nx, ny) = lb.to_net(fx, fy);
            let (bx, by) = lb.to_frame(nx, ny);
            assert!(close(bx, fx) && close(by, fy), "{fx},{fy} -> {bx},{by}");
        }
        let yx = geom(768, 576, &LetterboxSpec::yolox(416, 416)).letterbox;
        let (x, y) = yx.to_frame(416.0, 312.0);
        assert!(close(x, 768.0) && close(y, 576.0), "{x} {y}");
    }

    #[test]
    fn detection_to_frame_maps_and_clips() {
        let lb = Letterbox {
            ratio: 0.5,
            pad_x: 0.0,
            pad_y: 10.0,
        };
        let d = Detection {
            x1: -4.0,
            y1: 20.0,
            x2: 50.0,
            y2: 500.0,
            score: 0.9,
            class_id: 3,
        };
        let f = lb.detection_to_frame(&d, 100, 200);
        assert_eq!(
            f,
            Detection {
                x1: 0.0,
                y1: 20.0,
                x2: 100.0,
                y2: 200.0,
                score: 0.9,
                class_id: 3
            }
        );
    }

    /// 4x4 gray -> 2x2: exact 2x downscale averages 2x2 blocks.
    #[test]
    fn bilinear_downscale_by_two() {
        let vals = |x: usize, y: usize| (10 * x + 40 * y) as u8;
        let data = packed_bytes(PixelLayout::Rgb, 4, 4, 12, &|x, y| [vals(x, y); 3]);
        let frame = packed_frame(PixelLayout::Rgb, 4, 4, 12, &data);
        let spec = LetterboxSpec::yolox(2, 2);
        let (out, lb) = run(&frame, &spec);
        assert_eq!(lb.ratio, 0.5);
        // (0+10+40+50)/4 = 25, (20+30+60+70)/4 = 45, ...
        for c in 0..3 {
            assert_eq!(at(&out, &spec, c, 0, 0), 25.0);
            assert_eq!(at(&out, &spec, c, 1, 0), 45.0);
            assert_eq!(at(&out, &spec, c, 0, 1), 105.0);
            assert_eq!(at(&out, &spec, c, 1, 1), 125.0);
        }
    }

    /// A half-way value rounds up (0.5 -> 1), as cv2 does.
    #[test]
    fn bilinear_rounds_to_nearest() {
        let data = packed_bytes(PixelLayout::Bgr, 4, 2, 12, &|x, _| [(x % 2) as u8; 3]);
        let frame = packed_frame(PixelLayout::Bgr, 4, 2, 12, &data);
        let spec = LetterboxSpec::yolox(2, 2);
        let (out, _) = run(&frame, &spec);
        // r = 0.5 -> 2x1 image, each output averages 0,1,0,1 = 0.5 -> 1.
        assert_eq!(at(&out, &spec, 0, 0, 0), 1.0);
        assert_eq!(at(&out, &spec, 2, 1, 0), 1.0);
        assert_eq!(at(&out, &spec, 0, 0, 1), 114.0);
    }

    /// 2x2 -> 4x4 upscale: weights 1, .75/.25, .25/.75, 1 (edges clamp).
    #[test]
    fn bilinear_upscale() {
        let px = [[0u8, 100], [200, 40]];
        let data = packed_bytes(PixelLayout::Rgb, 2, 2, 6, &|x, y| [px[y][x]; 3]);
        let frame = packed_frame(PixelLayout::Rgb, 2, 2, 6, &data);
        let spec = LetterboxSpec::yolox(4, 4);
        let (out, _) = run(&frame, &spec);
        let expected = [
            [0.0, 25.0, 75.0, 100.0],
            // .75 * row0 + .25 * row1 = 50, 58.75, 76.25, 85
            [50.0, 59.0, 76.0, 85.0],
            // .25 * row0 + .75 * row1 = 150, 126.25, 78.75, 55
            [150.0, 126.0, 79.0, 55.0],
            [200.0, 160.0, 80.0, 40.0],
        ];
        for (y, row) in expected.iter().enumerate() {
            for (x, &v) in row.iter().enumerate() {
                assert_eq!(at(&out, &spec, 1, x, y), v, "({x},{y})");
            }
        }
    }

    fn pattern(x: usize, y: usize) -> [u8; 3] {
        let v = |c: usize| ((x * 37 + y * 91 + c * 53) % 256) as u8;
        [v(0), v(1), v(2)]
    }

    /// Output of OpenCV's `cv2.resize(src, (5, 4), INTER_LINEAR)` on a 9x7
    /// `pattern` image, per channel.
    const CV2_9X7_TO_5X4: [[u8; 20]; 3] = [
        [
            49, 115, 182, 153, 59, 176, 19, 85, 152, 187, 111, 178, 21, 87, 122, 110, 81, 148, 86,
            121,
        ],
        [
            102, 169, 139, 78, 112, 139, 72, 138, 179, 105, 164, 186, 74, 114, 175, 125, 134, 201,
            107, 116,
        ],
        [
            155, 125, 192, 99, 165, 58, 125, 159, 226, 69, 217, 60, 95, 161, 228, 120, 187, 94, 84,
            131,
        ],
    ];

    #[test]
    fn matches_opencv_downscale() {
        let data = packed_bytes(PixelLayout::Rgb, 9, 7, 27, &pattern);
        let frame = packed_frame(PixelLayout::Rgb, 9, 7, 27, &data);
        // r = 5/9: 5 x round(3.89) = 5x4, no padding.
        let spec = LetterboxSpec::ultralytics(5, 4);
        let (out, _) = run(&frame, &spec);
        for (c, plane) in CV2_9X7_TO_5X4.iter().enumerate() {
            for (i, &v) in plane.iter().enumerate() {
                assert_eq!(out[c * 20 + i], f32::from(v) * spec.scale, "c{c} i{i}");
            }
        }
    }

    #[test]
    fn matches_opencv_upscale() {
        // cv2.resize(pattern 9x7, (13, 10)): first row and a middle row of channel 0.
        let data = packed_bytes(PixelLayout::Rgb, 9, 7, 27, &pattern);
        let frame = packed_frame(PixelLayout::Rgb, 9, 7, 27, &data);
        let spec = LetterboxSpec {
            scale: 1.0,
            ..LetterboxSpec::ultralytics(13, 10)
        };
        let (out, _) = run(&frame, &spec);
        let row0: [u8; 13] = [0, 20, 45, 71, 97, 122, 148, 174, 199, 205, 54, 20, 40];
        let row5: [u8; 13] = [49, 69, 94, 120, 145, 144, 107, 133, 158, 171, 82, 69, 89];
        for x in 0..13 {
            assert_eq!(at(&out, &spec, 0, x, 0), f32::from(row0[x]), "x{x}");
            assert_eq!(at(&out, &spec, 0, x, 5), f32::from(row5[x]), "x{x}");
        }
        let ch2_last: [u8; 8] = [184, 32, 57, 83, 109, 134, 160, 180];
        for (i, &v) in ch2_last.iter().enumerate() {
            assert_eq!(at(&out, &spec, 2, 5 + i, 9), f32::from(v));
        }
    }

    #[test]
    fn padding_is_pad_value_times_scale() {
        let data = packed_bytes(PixelLayout::Bgr, 8, 4, 24, &|_, _| [10, 20, 30]);
        let frame = packed_frame(PixelLayout::Bgr, 8, 4, 24, &data);
        // Ultralytics: 8x4 -> 8x8 centred, rows 2..6 hold the image.
        let spec = LetterboxSpec::ultralytics(8, 8);
        let (out, lb) = run(&frame, &spec);
        assert_eq!(lb.pad_y, 2.0);
        let pad = 114.0 / 255.0;
        for c in 0..3 {
            for y in 0..8 {
                for x in 0..8 {
                    let v = at(&out, &spec, c, x, y);
                    if (2..6).contains(&y) {
                        let want = [10.0, 20.0, 30.0][c] / 255.0;
                        assert!(close(v, want), "c{c} ({x},{y}) = {v}");
                    } else {
                        assert!(close(v, pad), "c{c} ({x},{y}) = {v}");
                    }
                }
            }
        }
        // Portrait, Ultralytics: columns 2..6 hold the image.
        let data = packed_bytes(PixelLayout::Rgbx, 4, 8, 20, &|_, _| [10, 20, 30]);
        let frame = packed_frame(PixelLayout::Rgbx, 4, 8, 20, &data);
        let spec = LetterboxSpec::ultralytics(8, 8);
        let (out, lb) = run(&frame, &spec);
        assert_eq!((lb.pad_x, lb.pad_y), (2.0, 0.0));
        for y in 0..8 {
            for x in 0..8 {
                let want = if (2..6).contains(&x) {
                    10.0 / 255.0
                } else {
                    pad
                };
                assert!(close(at(&out, &spec, 0, x, y), want), "({x},{y})");
            }
        }
        // YOLOX: top-left, right columns padded with 114, unscaled.
        let data = packed_bytes(PixelLayout::Bgr, 4, 8, 12, &|_, _| [10, 20, 30]);
        let frame = packed_frame(PixelLayout::Bgr, 4, 8, 12, &data);
        let spec = LetterboxSpec::yolox(8, 8);
        let (out, _) = run(&frame, &spec);
        for y in 0..8 {
            for x in 0..8 {
                let want = if x < 4 { 30.0 } else { 114.0 };
                assert_eq!(at(&out, &spec, 0, x, y), want, "({x},{y})");
            }
        }
    }

    #[test]
    fn channel_order() {
        let data = packed_bytes(PixelLayout::Rgb, 4, 4, 12, &|_, _| [255, 0, 0]);
        let frame = packed_frame(PixelLayout::Rgb, 4, 4, 12, &data);
        let spec = LetterboxSpec::yolox(4, 4);
        let (out, _) = run(&frame, &spec);
        // YOLOX wants BGR: red lands in channel 2.
        assert_eq!(at(&out, &spec, 2, 1, 1), 255.0);
        assert_eq!(at(&out, &spec, 1, 1, 1), 0.0);
        assert_eq!(at(&out, &spec, 0, 1, 1), 0.0);
        let spec = LetterboxSpec::ultralytics(4, 4);
        let (out, _) = run(&frame, &spec);
        assert_eq!(at(&out, &spec, 0, 2, 3), 1.0);
        assert_eq!(at(&out, &spec, 1, 2, 3), 0.0);
        assert_eq!(at(&out, &spec, 2, 2, 3), 0.0);
    }

    /// Every packed layout, with padded strides and garbage in padding and
    /// alpha bytes, gives the same tensor; identity geometry (5x3 into 5x5
    /// top-left) so values are the source pixels.
    #[test]
    fn all_packed_layouts_with_padded_strides() {
        let rgb = |x: usize, y: usize| {
            [
                (x * 50 + 1) as u8,
                (y * 60 + 2) as u8,
                (x * 10 + y * 5 + 3) as u8,
            ]
        };
        let spec = LetterboxSpec::yolox(5, 5);
        for layout in PixelLayout::ALL.into_iter().filter(|l| !l.is_yuv()) {
            let bpp = layout.packed().expect("packed").0;
            for stride in [5 * bpp, 5 * bpp + 3, 5 * bpp + 16] {
                let data = packed_bytes(layout, 5, 3, stride, &rgb);
                let frame = packed_frame(layout, 5, 3, stride, &data);
                let (out, _) = run(&frame, &spec);
                for y in 0..5 {
                    for x in 0..5 {
                        let [r, g, b] = if y < 3 {
                            rgb(x, y).map(f32::from)
                        } else {
                            [114.0; 3]
                        };
                        // BGR order for YOLOX.
                        let got = [0, 1, 2].map(|c| at(&out, &spec, c, x, y));
                        assert_eq!(got, [b, g, r], "{layout:?} stride {stride} ({x},{y})");
                    }
                }
            }
        }
    }

    /// A shorter last row (no trailing stride padding) is accepted.
    #[test]
    fn last_row_may_be_short() {
        let data = packed_bytes(PixelLayout::Rgb, 3, 2, 16, &|x, _| [x as u8; 3]);
        let frame = packed_frame(PixelLayout::Rgb, 3, 2, 16, &data[..16 + 9]);
        let spec = LetterboxSpec::yolox(3, 3);
        let (out, _) = run(&frame, &spec);
        assert_eq!(at(&out, &spec, 0, 2, 1), 2.0);
    }

    fn i420_bytes(
        w: usize,
        h: usize,
        y: &dyn Fn(usize, usize) -> u8,
        u: &dyn Fn(usize, usize) -> u8,
        v: &dyn Fn(usize, usize) -> u8,
    ) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let plane = |pw: usize, ph: usize, f: &dyn Fn(usize, usize) -> u8| {
            // Stride padded by 3 garbage bytes.
            let stride = pw + 3;
            let mut d = vec![0xEE; stride * ph];
            for yy in 0..ph {
                for xx in 0..pw {
                    d[yy * stride + xx] = f(xx, yy);
                }
            }
            d
        };
        (plane(w, h, y), plane(cw, ch, u), plane(cw, ch, v))
    }

    fn i420_frame<'a>(w: usize, h: usize, p: &'a (Vec<u8>, Vec<u8>, Vec<u8>)) -> FrameView<'a> {
        let cw = w.div_ceil(2);
        FrameView {
            yuv: YuvConversion::default(),
            layout: PixelLayout::I420,
            width: w,
            height: h,
            planes: vec![
                Plane {
                    data: &p.0,
                    stride: w + 3,
                },
                Plane {
                    data: &p.1,
                    stride: cw + 3,
                },
                Plane {
                    data: &p.2,
                    stride: cw + 3,
                },
            ],
        }
    }

    /// NV12 bytes (Y plane, UV plane) for the same content as `i420_bytes`.
    fn nv12_from_i420(w: usize, h: usize, p: &(Vec<u8>, Vec<u8>, Vec<u8>)) -> (Vec<u8>, Vec<u8>) {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let stride = 2 * cw + 5;
        let mut uv = vec![0x11; stride * ch];
        for y in 0..ch {
            for x in 0..cw {
                uv[y * stride + 2 * x] = p.1[y * (cw + 3) + x];
                uv[y * stride + 2 * x + 1] = p.2[y * (cw + 3) + x];
            }
        }
        (p.0.clone(), uv)
    }

    fn nv12_frame<'a>(w: usize, h: usize, p: &'a (Vec<u8>, Vec<u8>)) -> FrameView<'a> {
        FrameView {
            yuv: YuvConversion::default(),
            layout: PixelLayout::Nv12,
            width: w,
            height: h,
            planes: vec![
                Plane {
                    data: &p.0,
                    stride: w + 3,
                },
                Plane {
                    data: &p.1,
                    stride: 2 * w.div_ceil(2) + 5,
                },
            ],
        }
    }

    #[test]
    fn yuv_white_black_and_red() {
        for (yv, uv, vv, want) in [
            (235u8, 128u8, 128u8, [255.0f32, 255.0, 255.0]),
            (16, 128, 128, [0.0, 0.0, 0.0]),
            // Y 126 -> (126 - 16) * 255 / 219 = 128.08 -> 128 gray.
            (126, 128, 128, [128.0, 128.0, 128.0]),
            // BT.601 red: R = 75.68 + 178.76 = 254.4, G = -0.48, B = -0.97.
            (81, 90, 240, [254.0, 0.0, 0.0]),
        ] {
            for (w, h) in [(4, 4), (5, 3), (7, 7), (1, 1)] {
                let p = i420_bytes(w, h, &|_, _| yv, &|_, _| uv, &|_, _| vv);
                let n = nv12_from_i420(w, h, &p);
                let spec = LetterboxSpec::ultralytics(8, 8);
                for frame in [i420_frame(w, h, &p), nv12_frame(w, h, &n)] {
                    let (out, _) = run(&frame, &spec);
                    let g = geom(w, h, &spec);
                    for y in g.top..g.top + g.new_height {
                        for x in g.left..g.left + g.new_width {
                            let got = [0, 1, 2].map(|c| at(&out, &spec, c, x, y) * 255.0);
                            for c in 0..3 {
                                assert!(
                                    (got[c] - want[c]).abs() < 1e-3,
                                    "{:?} {w}x{h} Y{yv} U{uv} V{vv} ({x},{y}): {got:?}",
                                    frame.layout
                                );
                            }
                        }
                    }
                    // Padding untouched by the YUV path.
                    assert!(
                        close(at(&out, &spec, 1, 0, 0), 114.0 / 255.0) || g.top == 0 && g.left == 0
                    );
                }
            }
        }
    }

    /// Identity geometry, luma varies per pixel (odd size), neutral chroma:
    /// gray = round((Y - 16) * 255 / 219).
    #[test]
    fn yuv_luma_per_pixel_odd_size() {
        let (w, h) = (5, 3);
        let yf = |x: usize, y: usize| (16 + x * 40 + y * 13) as u8;
        let p = i420_bytes(w, h, &yf, &|_, _| 128, &|_, _| 128);
        let n = nv12_from_i420(w, h, &p);
        let spec = LetterboxSpec::yolox(5, 5);
        for frame in [i420_frame(w, h, &p), nv12_frame(w, h, &n)] {
            let (out, _) = run(&frame, &spec);
            for y in 0..3 {
                for x in 0..5 {
                    let want = ((f64::from(yf(x, y)) - 16.0) * 255.0 / 219.0)
                        .clamp(0.0, 255.0)
                        .round() as f32;
                    for c in 0..3 {
                        assert_eq!(at(&out, &spec, c, x, y), want, "({x},{y})");
                    }
                }
            }
            assert_eq!(at(&out, &spec, 0, 4, 4), 114.0);
        }
    }

    /// Chroma is sited between luma pairs: at identity scale luma column x
    /// samples chroma position x / 2 - 0.25 (clamped at the edges).
    #[test]
    fn yuv_chroma_siting_and_nv12_matches_i420() {
        let (w, h) = (4, 2);
        // Chroma columns: V = 128 (neutral) then 240 (red).
        let p = i420_bytes(w, h, &|_, _| 126, &|_, _| 128, &|x, _| {
            if x == 0 { 128 } else { 240 }
        });
        let n = nv12_from_i420(w, h, &p);
        let spec = LetterboxSpec::yolox(4, 4);
        let (a, _) = run(&i420_frame(w, h, &p), &spec);
        let (b, _) = run(&nv12_frame(w, h, &n), &spec);
        assert_eq!(a, b);
        let r = |x| at(&a, &spec, 2, x, 0);
        // Column 0: neutral gray 128; column 3: V = 240:
        // R = 128.08 + 1.596 * 112 = 306.8 -> 255, G = 128.08 - 0.813 * 112 = 37.0.
        assert_eq!(r(0), 128.0);
        assert_eq!(r(3), 255.0);
        assert_eq!(at(&a, &spec, 1, 3, 0), 37.0);
        // Column 1: V = 128 + 0.25 * 112 = 156 -> R = 128.08 + 1.596 * 28 = 172.8.
        assert_eq!(r(1), 173.0);
        // Column 2: V = 128 + 0.75 * 112 = 212 -> R = 128.08 + 1.596 * 84 = 262 -> 255.
        assert_eq!(r(2), 255.0);
        // Non-uniform chroma, odd size, real resize: NV12 == I420.
        let (w, h) = (9, 7);
        let p = i420_bytes(
            w,
            h,
            &|x, y| pattern(x, y)[0],
            &|x, y| pattern(x, y)[1],
            &|x, y| pattern(x, y)[2],
        );
        let n = nv12_from_i420(w, h, &p);
        let spec = LetterboxSpec::ultralytics(6, 6);
        let (a, _) = run(&i420_frame(w, h, &p), &spec);
        let (b, _) = run(&nv12_frame(w, h, &n), &spec);
        assert_eq!(a, b);
    }

    #[test]
    fn yuv_bt709_full_range() {
        let p = i420_bytes(2, 2, &|_, _| 100, &|_, _| 128, &|_, _| 200);
        let mut frame = i420_frame(2, 2, &p);
        frame.yuv = YuvConversion {
            matrix: YuvMatrix::Bt709,
            full_range: true,
        };
        let spec = LetterboxSpec::yolox(2, 2);
        let mut out = vec![0.0; spec.tensor_len()];
        let mut pre = Preprocessor::new();
        pre.run(&frame, &spec, &mut out).expect("run");
        // Full-range BT.709: R = Y + 1.5748 * (V - 128) = 100 + 113.4 = 213.4.
        assert_eq!(at(&out, &spec, 2, 0, 0), 213.0);
        // G = Y - 0.4681 * 72 = 66.3
        assert_eq!(at(&out, &spec, 1, 1, 1), 66.0);
        assert_eq!(at(&out, &spec, 0, 1, 0), 100.0);
    }

    #[test]
    fn preprocessor_reuse_matches_fresh_calls() {
        let a = packed_bytes(PixelLayout::Bgr, 9, 7, 30, &pattern);
        let b = packed_bytes(PixelLayout::Bgrx, 7, 9, 40, &|x, y| pattern(y, x));
        let fa = packed_frame(PixelLayout::Bgr, 9, 7, 30, &a);
        let fb = packed_frame(PixelLayout::Bgrx, 7, 9, 40, &b);
        let mut pre = Preprocessor::new();
        for spec in [
            LetterboxSpec::yolox(6, 6),
            LetterboxSpec::ultralytics(6, 6),
            LetterboxSpec::yolox(11, 5),
        ] {
            for f in [&fa, &fb, &fa] {
                let mut out = vec![0.0; spec.tensor_len()];
                pre.run(f, &spec, &mut out).expect("run");
                assert_eq!(out, run(f, &spec).0);
            }
        }
    }

    #[test]
    fn errors() {
        let data = [0u8; 64];
        let spec = LetterboxSpec::yolox(4, 4);
        let mut out = vec![0.0; spec.tensor_len()];
        fn frame(layout: PixelLayout, w: usize, h: usize, planes: Vec<Plane<'_>>) -> FrameView<'_> {
            FrameView {
                yuv: YuvConversion::default(),
                layout,
                width: w,
                height: h,
                planes,
            }
        }
        let p = |len: usize, stride| Plane {
            data: &data[..len],
            stride,
        };

        let e = letterbox_into(
            &frame(PixelLayout::I420, 4, 4, vec![p(16, 4), p(4, 2)]),
            &spec,
            &mut out,
        )
        .unwrap_err();
        assert_eq!(
            e,
            PreprocessError::Frame(FrameError::WrongPlaneCount {
                layout: PixelLayout::I420,
                expected: 3,
                actual: 2
            })
        );
        assert!(e.to_string().contains("3 plane"), "{e}");

        let e = letterbox_into(
            &frame(PixelLayout::Rgb, 4, 4, vec![p(64, 11)]),
            &spec,
            &mut out,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                PreprocessError::Frame(FrameError::StrideTooSmall {
                    stride: 11,
                    row_bytes: 12,
                    ..
                })
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("11"), "{e}");

        // 4 rows of stride 14: needs 3 * 14 + 12 = 54 bytes.
        let e = letterbox_into(
            &frame(PixelLayout::Rgb, 4, 4, vec![p(53, 14)]),
            &spec,
            &mut out,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                PreprocessError::Frame(FrameError::PlaneTooShort {
                    plane: 0,
                    len: 53,
                    needed: 54,
                    ..
                })
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("53"), "{e}");
        assert!(
            letterbox_into(
                &frame(PixelLayout::Rgb, 4, 4, vec![p(54, 14)]),
                &spec,
                &mut out
            )
            .is_ok()
        );

        // NV12 4x4: UV plane holds 2 rows of 4 bytes.
        let e = letterbox_into(
            &frame(PixelLayout::Nv12, 4, 4, vec![p(16, 4), p(7, 4)]),
            &spec,
            &mut out,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                PreprocessError::Frame(FrameError::PlaneTooShort {
                    plane: 1,
                    needed: 8,
                    ..
                })
            ),
            "{e:?}"
        );
        // I420 5x3: chroma 3x2.
        let e = letterbox_into(
            &frame(PixelLayout::I420, 5, 3, vec![p(15, 5), p(6, 3), p(5, 3)]),
            &spec,
            &mut out,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                PreprocessError::Frame(FrameError::PlaneTooShort {
                    plane: 2,
                    needed: 6,
                    ..
                })
            ),
            "{e:?}"
        );

        let e = letterbox_into(
            &frame(PixelLayout::Rgb, 0, 4, vec![p(64, 12)]),
            &spec,
            &mut out,
        )
        .unwrap_err();
        assert!(
            matches!(e, PreprocessError::Frame(FrameError::ZeroSize { .. })),
            "{e:?}"
        );
        let zero = LetterboxSpec::yolox(0, 4);
        let e = letterbox_into(
            &frame(PixelLayout::Rgb, 4, 4, vec![p(64, 12)]),
            &zero,
            &mut [],
        )
        .unwrap_err();
        assert!(matches!(e, PreprocessError::ZeroSize { .. }), "{e:?}");

        let mut short = vec![0.0; 47];
        let e = letterbox_into(
            &frame(PixelLayout::Rgb, 4, 4, vec![p(64, 12)]),
            &spec,
            &mut short,
        )
        .unwrap_err();
        assert_eq!(
            e,
            PreprocessError::OutputSize {
                expected: 48,
                actual: 47
            }
        );
        assert!(e.to_string().contains("48"), "{e}");
        let _: &dyn std::error::Error = &e;
    }

    /// The kernels' AVX2 clones, for testing them on a CPU where the
    /// dispatcher picks AVX-512.
    macro_rules! avx2_clone {
        ($name:ident, $body:ident, ($($a:ident: $t:ty),*)) => {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2")]
            #[allow(clippy::too_many_arguments)]
            fn $name($($a: $t),*) {
                $body($($a),*)
            }
            // Never called (`if_avx2` runs nothing here); keeps the tests'
            // source the same on every target.
            #[cfg(not(target_arch = "x86_64"))]
            #[allow(clippy::too_many_arguments)]
            unsafe fn $name($($a: $t),*) {
                $body($($a),*)
            }
        };
    }
    avx2_clone!(hpass_packed_avx2, hpass_packed_body, (src: &[u8], xc: &Cols, bpp: usize, offs: [usize; 3], dst: &mut [u16]));
    avx2_clone!(hpass_plane_avx2, hpass_plane_body, (src: &[u8], xc: &Cols, dst: &mut [u16]));
    avx2_clone!(hpass_uv_avx2, hpass_uv_body, (src: &[u8], xc: &Cols, du: &mut [u16], dv: &mut [u16]));
    avx2_clone!(vpass_avx2, vpass_body, (h0: &[u16], h1: &[u16], t: &Tap, scale: f32, out: &mut [f32]));
    avx2_clone!(yuv_rows_avx2, yuv_rows_body_round, (k: &YuvToRgb, y: [&[u16]; 2], ty: &Tap, u: [&[u16]; 2], v: [&[u16]; 2], tc: &Tap, tmp: &mut Vec<f32>, out: [&mut [f32]; 3]));

    /// `yuv_rows_to_rgb_body` with the rounding instruction, as the AVX2
    /// and AVX-512 clones use it.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn yuv_rows_body_round(
        k: &YuvToRgb,
        y: [&[u16]; 2],
        ty: &Tap,
        u: [&[u16]; 2],
        v: [&[u16]; 2],
        tc: &Tap,
        tmp: &mut Vec<f32>,
        out: [&mut [f32]; 3],
    ) {
        yuv_rows_to_rgb_body::<true>(k, y, ty, u, v, tc, tmp, out)
    }

    /// Runs `f` if the CPU has AVX2.
    fn if_avx2(f: impl FnOnce()) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            f();
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = f;
    }

    /// The vector kernels, as dispatched (AVX-512 or AVX2 where the CPU has
    /// it), as AVX2 clones and as compiled for the baseline (SSE2 on x86-64,
    /// NEON on aarch64), give exactly the scalar references, including the
    /// row ends where the gather falls back to byte loads.
    #[test]
    fn vector_kernels_match_scalar() {
        let mut sizes = vec![
            (768, 416),
            (9, 5),
            (5, 9),
            (3, 3),
            (1, 4),
            (2, 1),
            (17, 16),
            (640, 641),
            (1920, 416),
            (333, 1000),
        ];
        let mut r = noise(40, 99).into_iter();
        while let (Some(a), Some(b)) = (r.next(), r.next()) {
            sizes.push((usize::from(a) * 3 + 1, usize::from(b) * 2 + 1));
        }
        for (sw, dw) in sizes {
            let src = noise(sw * 4 + 16, sw as u32);
            let scale = cv_scale(sw, dw);
            for bpp in [3usize, 4] {
                let xs = axis_taps(sw, dw, scale, bpp, true);
                let xc = Cols::new(&xs);
                for offs in [[0, 1, 2], [2, 1, 0]] {
                    // The exact row, and the row with bytes after it (a
                    // padded stride): the results must not depend on them.
                    for row in [&src[..sw * bpp], &src[..sw * bpp + 16]] {
                        let mut fast = vec![0u16; 3 * dw];
                        let mut base = vec![0u16; 3 * dw];
                        let mut slow = vec![0u16; 3 * dw];
                        hpass_packed(row, &xc, bpp, offs, &mut fast);
                        hpass_packed_body(row, &xc, bpp, offs, &mut base);
                        hpass_packed_scalar(row, &xs, bpp, offs, &mut slow);
                        assert_eq!(fast, slow, "{sw}->{dw} bpp {bpp} {offs:?}");
                        assert_eq!(base, slow, "{sw}->{dw} bpp {bpp} {offs:?}");
                        if_avx2(|| {
                            // SAFETY: the CPU has AVX2 (checked by `if_avx2`).
                            unsafe { hpass_packed_avx2(row, &xc, bpp, offs, &mut base) };
                            assert_eq!(base, slow, "AVX2 {sw}->{dw} bpp {bpp} {offs:?}");
                        });
                    }
                }
            }
            let xs = axis_taps(sw, dw, scale, 1, true);
            let xc = Cols::new(&xs);
            let mut pl = [(); 4].map(|_| vec![0u16; dw]);
            let [used, vec, base, slow] = &mut pl;
            hpass_plane(&src[..sw], &xs, &xc, used);
            hpass_plane_vec(&src[..sw], &xc, vec);
            hpass_plane_body(&src[..sw], &xc, base);
            hpass_plane_scalar(&src[..sw], &xs, slow);
            if_avx2(|| {
                // SAFETY: the CPU has AVX2 (checked by `if_avx2`).
                unsafe { hpass_plane_avx2(&src[..sw], &xc, &mut pl[2]) };
                assert_eq!(pl[2], pl[3], "plane AVX2 {sw}->{dw}");
            });
            for k in 0..3 {
                assert_eq!(pl[k], pl[3], "plane {sw}->{dw} variant {k}");
            }
            // I420 chroma: U and V rows together.
            let mut uv = [(); 2].map(|_| (vec![0u16; dw], vec![0u16; dw]));
            let [(fu, fv), (su, sv)] = &mut uv;
            hpass_u_v(&src[..sw], &src[sw..2 * sw], &xs, &xc, fu, fv);
            hpass_plane_scalar(&src[..sw], &xs, su);
            hpass_plane_scalar(&src[sw..2 * sw], &xs, sv);
            assert_eq!(uv[0], uv[1], "u_v {sw}->{dw}");
            // NV12 chroma: `sw` UV pairs.
            let cxs = axis_taps(sw, dw, scale, 2, true);
            let cxc = Cols::new(&cxs);
            let mut uv = [(); 4].map(|_| (vec![0u16; dw], vec![0u16; dw]));
            let [(fu, fv), (vu, vv), (bu, bv), (su, sv)] = &mut uv;
            hpass_uv(&src[..2 * sw], &cxs, &cxc, fu, fv);
            hpass_uv_vec(&src[..2 * sw], &cxc, vu, vv);
            hpass_uv_body(&src[..2 * sw], &cxc, bu, bv);
            hpass_uv_scalar(&src[..2 * sw], &cxs, su, sv);
            if_avx2(|| {
                let (bu, bv) = &mut uv[2];
                // SAFETY: the CPU has AVX2 (checked by `if_avx2`).
                unsafe { hpass_uv_avx2(&src[..2 * sw], &cxc, bu, bv) };
                assert_eq!(uv[2], uv[3], "uv AVX2 {sw}->{dw}");
            });
            for k in 0..3 {
                assert_eq!(uv[k], uv[3], "uv {sw}->{dw} variant {k}");
            }
            // Vertical pass, every weight pair the taps hold.
            let h0: Vec<u16> = noise(2 * dw, 5)
                .iter()
                .map(|&b| u16::from(b) << 7)
                .collect();
            let h1: Vec<u16> = noise(2 * dw, 6)
                .iter()
                .map(|&b| u16::from(b) << 7)
                .collect();
            for t in axis_taps(sw, dw, scale, 1, false).iter().take(8) {
                let (mut fast, mut base) = (vec![0f32; 2 * dw], vec![0f32; 2 * dw]);
                vpass(&h0, &h1, t, 1.0 / 255.0, &mut fast);
                vpass_body(&h0, &h1, t, 1.0 / 255.0, &mut base);
                let slow: Vec<f32> = h0
                    .iter()
                    .zip(&h1)
                    .map(|(&a, &b)| {
                        let (a, b) = (u32::from(a), u32::from(b));
                        let v = (((a * t.w0) >> 16) + ((b * t.w1) >> 16) + 2) >> 2;
                        v as f32 * (1.0 / 255.0)
                    })
                    .collect();
                assert_eq!(fast, slow, "vpass {t:?}");
                assert_eq!(base, slow, "vpass {t:?}");
                if_avx2(|| {
                    // SAFETY: the CPU has AVX2 (checked by `if_avx2`).
                    unsafe { vpass_avx2(&h0, &h1, t, 1.0 / 255.0, &mut base) };
                    assert_eq!(base, slow, "vpass AVX2 {t:?}");
                });
            }
        }
    }

    /// The YUV kernel (vertical pass of Y, U, V and conversion), as
    /// dispatched, as the AVX2 clone and as compiled for the baseline (with
    /// either rounding), gives
    /// exactly the per-sample reference (`vpass` blend, then
    /// [`YuvToRgb::rgb`] and [`YuvToRgb::finish`]) for every matrix and
    /// range, rows of random horizontal values (including 0 and the largest,
    /// 255 << 7) and many row weights, with a length that leaves a vector
    /// remainder.
    #[test]
    fn yuv_rows_match_reference() {
        fn split(o: &mut [f32]) -> [&mut [f32]; 3] {
            let n = o.len() / 3;
            let (r, rest) = o.split_at_mut(n);
            let (g, b) = rest.split_at_mut(n);
            [r, g, b]
        }
        let n = 421;
        let row = |seed| -> Vec<u16> {
            let mut r: Vec<u16> = noise(2 * n, seed)
                .chunks_exact(2)
                .map(|p| u16::from_le_bytes([p[0], p[1]]) % (255 * 128 + 1))
                .collect();
            r[0] = 0;
            r[1] = 255 << 7;
            r
        };
        let (y0, y1, u0, u1, v0, v1) = (row(11), row(12), row(13), row(14), row(15), row(16));
        let blend = |a: u16, b: u16, t: &Tap| {
            let (a, b) = (u32::from(a), u32::from(b));
            ((((a * t.w0) >> 16) + ((b * t.w1) >> 16) + 2) >> 2) as f32
        };
        let taps = axis_taps(576, 416, cv_scale(576, 416), 1, false);
        let ctaps = axis_taps(288, 416, cv_scale(576, 416) / 2.0, 1, false);
        for matrix in YuvMatrix::ALL {
            for full_range in [false, true] {
                let k = YuvToRgb::new(YuvConversion { matrix, full_range }, 1.0 / 255.0);
                for (ty, tc) in taps.iter().zip(&ctaps).step_by(7) {
                    let mut want = vec![0f32; 3 * n];
                    for i in 0..n {
                        let rgb = k.rgb(
                            blend(y0[i], y1[i], ty),
                            blend(u0[i], u1[i], tc),
                            blend(v0[i], v1[i], tc),
                        );
                        for c in 0..3 {
                            want[c * n + i] = k.finish(rgb[c]);
                        }
                    }
                    let check = |f: &dyn Fn(&mut [f32]), what: &str| {
                        let mut got = vec![-1f32; 3 * n];
                        f(&mut got);
                        let bad = got
                            .iter()
                            .zip(&want)
                            .position(|(a, b)| a.to_bits() != b.to_bits());
                        assert_eq!(
                            bad, None,
                            "{what} {matrix:?} full {full_range} {ty:?} {tc:?}"
                        );
                    };
                    let (y, u, v) = ([&y0[..], &y1], [&u0[..], &u1], [&v0[..], &v1]);
                    check(
                        &|o| yuv_rows_to_rgb(&k, y, ty, u, v, tc, &mut Vec::<f32>::new(), split(o)),
                        "dispatched",
                    );
                    check(
                        &|o| {
                            yuv_rows_to_rgb_body::<false>(
                                &k,
                                y,
                                ty,
                                u,
                                v,
                                tc,
                                &mut Vec::new(),
                                split(o),
                            )
                        },
                        "baseline, magic-number rounding",
                    );
                    check(
                        &|o| {
                            yuv_rows_to_rgb_body::<true>(
                                &k,
                                y,
                                ty,
                                u,
                                v,
                                tc,
                                &mut Vec::new(),
                                split(o),
                            )
                        },
                        "baseline, round_ties_even",
                    );
                    if_avx2(|| {
                        check(
                            // SAFETY: the CPU has AVX2 (checked by `if_avx2`).
                            &|o| unsafe {
                                yuv_rows_avx2(&k, y, ty, u, v, tc, &mut Vec::<f32>::new(), split(o))
                            },
                            "AVX2",
                        )
                    });
                }
            }
        }
    }

    /// The byte-permute gathers (AVX-512 VBMI / NEON `tbl`) give exactly the
    /// scalar references for packed rows (3 and 4 bytes, both channel
    /// orders, every offset set a layout has), planes and NV12 chroma, over
    /// random sizes, odd widths and rows with bytes after them; and the
    /// tables exist for the 768 -> 416 geometry wherever the CPU has the
    /// instructions (so that this test cannot pass by never running them).
    #[test]
    fn gather_tables_match_scalar() {
        let mut sizes = vec![
            (768, 416),
            (640, 416),
            (1280, 640),
            (416, 416),
            (130, 64),
            (31, 17),
        ];
        let mut r = noise(60, 7).into_iter();
        while let (Some(a), Some(b)) = (r.next(), r.next()) {
            let sw = usize::from(a) * 5 + 13;
            sizes.push((sw, sw * 2 / (2 + usize::from(b) % 4) + 1));
        }
        let kinds = [Kind::Vbmi, Kind::Avx2, Kind::Neon].into_iter();
        for kind in kinds.filter(|k| k.supported()) {
            let (mut built, mut ran) = (0, 0);
            for &(sw, dw) in &sizes {
                let src = noise(sw * 4 + 40, sw as u32 + 3);
                let scale = cv_scale(sw, dw);
                for (bpp, offs) in [
                    (3, [0, 1, 2]),
                    (3, [2, 1, 0]),
                    (4, [0, 1, 2]),
                    (4, [2, 1, 0]),
                    (4, [1, 2, 3]),
                    (4, [3, 2, 1]),
                ] {
                    let xs = axis_taps(sw, dw, scale, bpp, true);
                    let Some(t) = GatherTable::with_kind(kind, &xs, &offs, sw * bpp) else {
                        continue;
                    };
                    built += 1;
                    for row in [&src[..sw * bpp], &src[..sw * bpp + 40]] {
                        let mut fast = vec![0u16; 3 * dw];
                        let mut slow = vec![0u16; 3 * dw];
                        assert!(t.run(row, &mut fast));
                        let r4 = [row, &[0u8; 4][..]].concat();
                        // The scalar reference reads bytes at offsets < bpp
                        // only; shifted offsets (x first) through a shifted row.
                        let shift = offs.iter().min().copied().unwrap_or(0);
                        let o = offs.map(|o| o - shift);
                        hpass_packed_scalar(&r4[shift..], &xs, bpp, o, &mut slow);
                        assert_eq!(fast, slow, "{kind:?} packed {sw}->{dw} bpp {bpp} {offs:?}");
                        ran += 1;
                    }
                }
                let xs = axis_taps(sw, dw, scale, 1, true);
                if let Some(t) = GatherTable::with_kind(kind, &xs, &[0], sw) {
                    built += 1;
                    let (mut fast, mut slow) = (vec![0u16; dw], vec![0u16; dw]);
                    assert!(t.run(&src[..sw], &mut fast));
                    hpass_plane_scalar(&src[..sw], &xs, &mut slow);
                    assert_eq!(fast, slow, "{kind:?} plane {sw}->{dw}");
                    // Too short a row or output: refused, nothing written.
                    assert!(!t.run(&src[..sw - 1], &mut fast));
                    assert!(!t.run(&src[..sw], &mut fast[..dw - 1]));
                    ran += 1;
                }
                let cxs = axis_taps(sw, dw, scale, 2, true);
                if let Some(t) = GatherTable::with_kind(kind, &cxs, &[0, 1], 2 * sw) {
                    built += 1;
                    let (mut fast, mut su, mut sv) = (vec![0u16; 2 * dw], vec![0; dw], vec![0; dw]);
                    assert!(t.run(&src[..2 * sw], &mut fast));
                    hpass_uv_scalar(&src[..2 * sw], &cxs, &mut su, &mut sv);
                    assert_eq!(fast, [su, sv].concat(), "{kind:?} uv {sw}->{dw}");
                    ran += 1;
                }
            }
            assert!(
                built > 20 && ran > 20,
                "{kind:?}: {built} tables, {ran} rows"
            );
        }
        // Where the CPU has a kernel, the 768 -> 416 plans use it: the
        // luma plane always (every kernel), packed RGB and chroma with the
        // wide windows (VBMI, NEON).
        let g = geom(768, 576, &LetterboxSpec::yolox(416, 416));
        for layout in [
            PixelLayout::Bgr,
            PixelLayout::Rgbx,
            PixelLayout::Nv12,
            PixelLayout::I420,
        ] {
            let key = PlanKey {
                width: 768,
                height: 576,
                layout,
                dst_width: 416,
                dst_height: 416,
                placement: Placement::TopLeft,
                channel_order: ChannelOrder::Bgr,
            };
            let plan = Plan::new(key, g);
            let wide = Kind::Vbmi.supported() || Kind::Neon.supported();
            let xg = plan.xg.as_ref().map(GatherTable::kind);
            let cxg = plan.cxg.as_ref().map(GatherTable::kind);
            if wide {
                assert!(xg.is_some(), "{layout:?}");
                assert_eq!(cxg.is_some(), layout.is_yuv(), "{layout:?}");
            } else if Kind::Avx2.supported() && layout.is_yuv() {
                assert_eq!(xg, Some(Kind::Avx2), "{layout:?}");
            } else if !gather::cpu_supported() {
                assert!(xg.is_none() && cxg.is_none());
            }
        }
    }

    /// Straightforward per-sample letterbox (no row cache, no vector code),
    /// the reference the whole [`Preprocessor`] must equal bit for bit.
    fn reference_letterbox(frame: &FrameView, spec: &LetterboxSpec) -> Vec<f32> {
        let g = geom(frame.width, frame.height, spec);
        let (dw, nw, nh) = (spec.dst_width, g.new_width, g.new_height);
        let plane_len = dw * spec.dst_height;
        let mut out = vec![spec.pad_value * spec.scale; spec.tensor_len()];
        let sx = cv_scale(frame.width, nw);
        let sy = cv_scale(frame.height, nh);
        let ys = axis_taps(frame.height, nh, sy, 1, false);
        // Horizontal sample of plane `p` at row `y`, byte offset `o`.
        let h = |p: &Plane, y: u32, t: &Tap, o: usize| {
            let row = &p.data[y as usize * p.stride..];
            let at = |i: u32| u32::from(row[i as usize + o]);
            (at(t.i0) * t.w0 + at(t.i1) * t.w1) >> 4
        };
        let blend = |h0: u32, h1: u32, t: &Tap| {
            ((((h0 * t.w0) >> 16) + ((h1 * t.w1) >> 16) + 2) >> 2) as f32
        };
        let mut put = |c: usize, dx: usize, dy: usize, v: f32| {
            out[c * plane_len + (g.top + dy) * dw + g.left + dx] = v;
        };
        if let Some((bpp, [r, gg, b])) = frame.layout.packed() {
            let offs = match spec.channel_order {
                ChannelOrder::Rgb => [r, gg, b],
                ChannelOrder::Bgr => [b, gg, r],
            };
            let xs = axis_taps(frame.width, nw, sx, bpp, true);
            let p = &frame.planes[0];
            for (dy, ty) in ys.iter().enumerate() {
                for (dx, tx) in xs.iter().enumerate() {
                    for (c, &o) in offs.iter().enumerate() {
                        let v = blend(h(p, ty.i0, tx, o), h(p, ty.i1, tx, o), ty);
                        put(c, dx, dy, v * spec.scale);
                    }
                }
            }
        } else {
            let nv12 = frame.layout == PixelLayout::Nv12;
            let (cw, ch) = (frame.width.div_ceil(2), frame.height.div_ceil(2));
            let xs = axis_taps(frame.width, nw, sx, 1, true);
            let cxs = axis_taps(cw, nw, sx / 2.0, if nv12 { 2 } else { 1 }, true);
            let cys = axis_taps(ch, nh, sy / 2.0, 1, false);
            let [yp, up] = [&frame.planes[0], &frame.planes[1]];
            let (vp, vo) = if nv12 {
                (&frame.planes[1], 1)
            } else {
                (&frame.planes[2], 0)
            };
            let k = YuvToRgb::new(frame.yuv, spec.scale);
            for (dy, (ty, tc)) in ys.iter().zip(&cys).enumerate() {
                for (dx, (tx, tcx)) in xs.iter().zip(&cxs).enumerate() {
                    let yv = blend(h(yp, ty.i0, tx, 0), h(yp, ty.i1, tx, 0), ty);
                    let uv = blend(h(up, tc.i0, tcx, 0), h(up, tc.i1, tcx, 0), tc);
                    let vv = blend(h(vp, tc.i0, tcx, vo), h(vp, tc.i1, tcx, vo), tc);
                    let y = yv * k.y;
                    let rgb = [
                        k.finish(y + k.rv * vv + k.r0),
                        k.finish(y + k.gu * uv + k.gv * vv + k.g0),
                        k.finish(y + k.bu * uv + k.b0),
                    ];
                    let order = match spec.channel_order {
                        ChannelOrder::Rgb => [0, 1, 2],
                        ChannelOrder::Bgr => [2, 1, 0],
                    };
                    for (c, &i) in order.iter().enumerate() {
                        put(c, dx, dy, rgb[i]);
                    }
                }
            }
        }
        out
    }

    /// Every advertised format, random content, odd and even sizes, up- and
    /// downscaling, strides with padding: the [`Preprocessor`] (vector
    /// kernels, row cache) equals the per-sample reference exactly.
    #[test]
    fn every_format_matches_reference() {
        let sizes: [(usize, usize); 11] = [
            (1, 1),
            (2, 3),
            (5, 3),
            (7, 7),
            (9, 7),
            (33, 17),
            (64, 48),
            (131, 77),
            (77, 131),
            (320, 240),
            (768, 576),
        ];
        let specs = [
            LetterboxSpec::yolox(64, 64),
            LetterboxSpec::ultralytics(64, 64),
            LetterboxSpec::yolox(41, 37),
            LetterboxSpec::ultralytics(416, 416),
        ];
        let layouts = PixelLayout::ALL;
        let mut pre = Preprocessor::new();
        for (n, &(w, h)) in sizes.iter().enumerate() {
            for layout in layouts {
                let pad = [0, 3, 16][n % 3];
                let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
                // (row bytes, rows) of each plane.
                let dims: Vec<(usize, usize)> = match layout {
                    PixelLayout::Nv12 => vec![(w, h), (2 * cw, ch)],
                    PixelLayout::I420 => vec![(w, h), (cw, ch), (cw, ch)],
                    _ => vec![(w * layout.packed().expect("packed").0, h)],
                };
                let data: Vec<Vec<u8>> = dims
                    .iter()
                    .enumerate()
                    .map(|(i, &(rb, rows))| noise((rb + pad) * rows, (n * 31 + i) as u32 + 1))
                    .collect();
                let planes = data
                    .iter()
                    .zip(&dims)
                    .map(|(d, &(rb, _))| Plane {
                        data: d,
                        stride: rb + pad,
                    })
                    .collect();
                let frame = FrameView {
                    yuv: YuvConversion {
                        matrix: YuvMatrix::Bt709,
                        full_range: n % 2 == 0,
                    },
                    layout,
                    width: w,
                    height: h,
                    planes,
                };
                for spec in &specs {
                    let mut out = vec![f32::NAN; spec.tensor_len()];
                    pre.run(&frame, spec, &mut out).expect("run");
                    let want = reference_letterbox(&frame, spec);
                    let bad = out.iter().zip(&want).position(|(a, b)| a != b);
                    assert_eq!(bad, None, "{layout:?} {w}x{h} pad {pad} {spec:?}");
                }
            }
        }
    }

    /// Nanoseconds per call: the best of 50 short batches, which is robust
    /// against other load on a shared machine.
    pub(crate) fn bench_ns(iters: usize, f: &mut dyn FnMut()) -> u128 {
        f();
        let per_batch = iters.div_ceil(50).max(1);
        (0..50)
            .map(|_| {
                let t = std::time::Instant::now();
                for _ in 0..per_batch {
                    f();
                }
                t.elapsed().as_nanos() / per_batch as u128
            })
            .min()
            .unwrap_or(0)
    }

    /// Per-kernel costs for 768x576 -> 416x312 (one frame's worth of rows):
    /// the dispatched kernels (AVX2 here), the baseline build (SSE2) and
    /// the scalar references.
    #[test]
    #[ignore = "timing; run with --release -- --ignored --nocapture"]
    fn bench_kernels() {
        let (sw, dw) = (768, 416);
        let src = noise(sw * 4, 7);
        let xs3 = axis_taps(sw, dw, cv_scale(sw, dw), 3, true);
        let xc3 = Cols::new(&xs3);
        let xs1 = axis_taps(sw, dw, cv_scale(sw, dw), 1, true);
        let xc1 = Cols::new(&xs1);
        let mut h = vec![0u16; 3 * dw];
        let mut out = vec![0f32; 3 * dw];
        let n = 3000;
        let row = &src[..sw * 3];
        let offs = [2, 1, 0];
        use std::hint::black_box as bb;
        let hp = bench_ns(n, &mut || hpass_packed(bb(row), &xc3, 3, offs, &mut h));
        let hb = bench_ns(n, &mut || hpass_packed_body(bb(row), &xc3, 3, offs, &mut h));
        let hs = bench_ns(n, &mut || {
            hpass_packed_scalar(bb(row), &xs3, 3, offs, &mut h)
        });
        let t = Tap::new(0, 1, 700, 1348);
        let h2 = h.clone();
        let vp = bench_ns(n, &mut || {
            vpass(bb(&h[..dw]), &h2[..dw], &t, 1.0 / 255.0, &mut out[..dw])
        });
        let vb = bench_ns(n, &mut || {
            vpass_body(bb(&h[..dw]), &h2[..dw], &t, 1.0 / 255.0, &mut out[..dw])
        });
        let pl = bench_ns(n, &mut || {
            hpass_plane(bb(&src[..sw]), &xs1, &xc1, &mut h[..dw])
        });
        let plv = bench_ns(n, &mut || {
            hpass_plane_vec(bb(&src[..sw]), &xc1, &mut h[..dw])
        });
        let pls = bench_ns(n, &mut || {
            hpass_plane_scalar(bb(&src[..sw]), &xs1, &mut h[..dw])
        });
        println!(
            "per 416-px row: hpass_packed {hp} ns (baseline {hb}, scalar {hs}), vpass (1 channel) {vp} ns (baseline {vb}), hpass_plane {pl} ns (portable {plv}, scalar {pls})"
        );
        let g3 = GatherTable::among(Kind::PREFERENCE, &xs3, &offs, sw * 3);
        let g1 = GatherTable::among(Kind::PREFERENCE, &xs1, &[0], sw);
        let gp = bench_ns(n, &mut || {
            g3.as_ref().map(|t| t.run(bb(row), &mut h));
        });
        let gl = bench_ns(n, &mut || {
            g1.as_ref().map(|t| t.run(bb(&src[..sw]), &mut h[..dw]));
        });
        let k = YuvToRgb::new(Default::default(), 1.0);
        let mut tmp = Vec::new();
        let (r, rest) = out.split_at_mut(dw);
        let (gg, b) = rest.split_at_mut(dw);
        let (y, c) = (&h[..dw], &h2[..dw]);
        // As dispatched (rounding instruction) against the same clones with
        // the magic-number rounding (the code before), alternately.
        let (mut yuv, mut magic) = (u128::MAX, u128::MAX);
        for _ in 0..5 {
            yuv = yuv.min(bench_ns(n, &mut || {
                yuv_rows_to_rgb(&k, [bb(y), y], &t, [c, c], [y, c], &t, &mut tmp, [r, gg, b])
            }));
            magic = magic.min(bench_ns(n, &mut || {
                yuv_rows_magic(&k, [bb(y), y], &t, [c, c], [y, c], &t, &mut tmp, [r, gg, b])
            }));
        }
        println!(
            "gathers (present: {}, {}): packed {gp} ns, plane {gl} ns; yuv_rows_to_rgb {yuv} ns (magic-number rounding {magic} ns)",
            g3.is_some(),
            g1.is_some()
        );
    }

    /// [`yuv_rows_to_rgb`] with the magic-number rounding in every clone
    /// (the kernel before the rounding instruction), for `bench_kernels`.
    #[allow(clippy::too_many_arguments)]
    #[multiversion(targets("x86_64+avx512f+avx512bw+avx512vl+avx2", "x86_64+avx2"))]
    fn yuv_rows_magic(
        k: &YuvToRgb,
        y: [&[u16]; 2],
        ty: &Tap,
        u: [&[u16]; 2],
        v: [&[u16]; 2],
        tc: &Tap,
        tmp: &mut Vec<f32>,
        out: [&mut [f32]; 3],
    ) {
        yuv_rows_to_rgb_body::<false>(k, y, ty, u, v, tc, tmp, out);
    }

    /// The microbenchmark of issue 13: 768x576 -> 416x416 (YOLOX spec) per
    /// format, the `Preprocessor` as dispatched on this CPU ("new") against
    /// the portable kernels alone ("portable", i.e. without the
    /// byte-permute gathers), timed alternately call by call; the minimum
    /// and the median of `PREPROCESS_BENCH_CALLS` (default 300) single calls
    /// each. Run with
    /// `cargo test --release --lib -- --ignored --nocapture bench_preprocess`
    /// (or, much faster to build, in `tools/preprocess-kernels`).
    #[test]
    #[ignore = "timing; run with --release -- --ignored --nocapture"]
    fn bench_preprocess() {
        let (w, h) = (768, 576);
        let calls: usize = std::env::var("PREPROCESS_BENCH_CALLS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300);
        let packed = noise(w * h * 4, 1);
        let yuv = noise(w * h * 3 / 2, 2);
        let (y, chroma) = yuv.split_at(w * h);
        let (u, v) = chroma.split_at(w * h / 4);
        let packed_view = |layout: PixelLayout| {
            let bpp = layout.packed().map_or(1, |(b, _)| b);
            FrameView {
                yuv: YuvConversion::default(),
                layout,
                width: w,
                height: h,
                planes: vec![Plane {
                    data: &packed[..w * h * bpp],
                    stride: w * bpp,
                }],
            }
        };
        let mut frames: Vec<(&str, FrameView)> = [
            ("BGR", PixelLayout::Bgr),
            ("RGB", PixelLayout::Rgb),
            ("BGRx", PixelLayout::Bgrx),
            ("RGBA", PixelLayout::Rgba),
        ]
        .into_iter()
        .map(|(n, l)| (n, packed_view(l)))
        .collect();
        let yuv_view = |layout, planes| FrameView {
            yuv: YuvConversion::default(),
            layout,
            width: w,
            height: h,
            planes,
        };
        let yp = Plane { data: y, stride: w };
        frames.push((
            "NV12",
            yuv_view(
                PixelLayout::Nv12,
                vec![
                    yp,
                    Plane {
                        data: chroma,
                        stride: w,
                    },
                ],
            ),
        ));
        frames.push((
            "I420",
            yuv_view(
                PixelLayout::I420,
                vec![
                    yp,
                    Plane {
                        data: u,
                        stride: w / 2,
                    },
                    Plane {
                        data: v,
                        stride: w / 2,
                    },
                ],
            ),
        ));
        let spec = LetterboxSpec::yolox(416, 416);
        let mut a = vec![0f32; spec.tensor_len()];
        let (mut b, mut c) = (a.clone(), a.clone());
        let stats = |mut t: Vec<u128>| {
            t.sort_unstable();
            (t[0] as f64 / 1e3, t[t.len() / 2] as f64 / 1e3)
        };
        println!("768x576 -> 416x416 yolox, {calls} alternating single calls, min / median (us)");
        for (name, frame) in &frames {
            let mut new = Preprocessor::new();
            let mut old = Preprocessor {
                kinds: Some(&[]),
                ..Preprocessor::new()
            };
            let mut avx2 = Preprocessor {
                kinds: Some(&[Kind::Avx2]),
                ..Preprocessor::new()
            };
            let (mut tn, mut to, mut ta) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..calls {
                let t = std::time::Instant::now();
                new.run(frame, &spec, &mut a).expect("preprocess");
                tn.push(t.elapsed().as_nanos());
                let t = std::time::Instant::now();
                old.run(frame, &spec, &mut b).expect("preprocess");
                to.push(t.elapsed().as_nanos());
                if Kind::Avx2.supported() {
                    let t = std::time::Instant::now();
                    avx2.run(frame, &spec, &mut c).expect("preprocess");
                    ta.push(t.elapsed().as_nanos());
                }
            }
            assert_eq!(a, b, "{name}");
            if !ta.is_empty() {
                assert_eq!(a, c, "{name}");
                let (amin, amed) = stats(ta);
                println!(
                    "{name:5} AVX2 gathers only (no VBMI) {amin:7.1} / {amed:7.1}   /portable (min) {:.2}",
                    amin / stats(to.clone()).0
                );
            }
            let gather = new.plan.as_ref().map(|p| {
                let kind = |t: &Option<GatherTable>| t.as_ref().map(GatherTable::kind);
                (kind(&p.xg), kind(&p.cxg))
            });
            let ((nmin, nmed), (omin, omed)) = (stats(tn), stats(to));
            println!(
                "{name:5} new {nmin:7.1} / {nmed:7.1}   portable {omin:7.1} / {omed:7.1}   new/portable (min) {:.2}   gathers: {gather:?}",
                nmin / omin
            );
        }
    }
}
