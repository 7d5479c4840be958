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
//! Bilinear interpolation with the same sample positions as OpenCV's
//! `cv2.resize(..., INTER_LINEAR)`: `src = (dst + 0.5) * (src_len / dst_len) - 0.5`,
//! clamped to the first/last pixel. Weights are 11-bit fixed point like OpenCV's
//! 8-bit path, and the two-tap sums are computed exactly in integers before a
//! single round-to-nearest, so each channel value is the integer OpenCV's
//! reference (non-SIMD) path produces, then multiplied by [`LetterboxSpec::scale`].
//!
//! # YUV input
//!
//! NV12 and I420 are not converted to RGB before resizing: Y, U and V are each
//! resampled bilinearly at the destination sample point (chroma with centred
//! siting, i.e. chroma sample `i` sits at luma position `2i + 0.5`), then
//! converted to RGB, clamped to 0..=255 and rounded. This is cheaper than
//! convert-then-resize and differs from it only by rounding. The default matrix
//! is BT.601 limited range (what `videoconvert` assumes for SD video); use
//! [`Preprocessor::set_yuv_conversion`] to select BT.709 and/or full range.
//! Colorimetry carried in caps is not read by this module.

use std::fmt;

use super::decode::Detection;

/// Memory layout of the incoming frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelLayout {
    /// Packed 8-bit R, G, B (3 bytes per pixel).
    Rgb,
    /// Packed 8-bit B, G, R (3 bytes per pixel).
    Bgr,
    /// Packed R, G, B, A (4 bytes per pixel, alpha ignored).
    Rgba,
    /// Packed B, G, R, A (4 bytes per pixel, alpha ignored).
    Bgra,
    /// Packed R, G, B, x (4 bytes per pixel, padding byte ignored).
    Rgbx,
    /// Packed B, G, R, x (4 bytes per pixel, padding byte ignored).
    Bgrx,
    /// Planar Y + interleaved half-resolution U/V plane (U first).
    Nv12,
    /// Planar Y, U, V; U and V are half resolution (rounded up).
    I420,
}

impl PixelLayout {
    /// Number of planes [`FrameView::planes`] must hold for this layout.
    pub fn plane_count(self) -> usize {
        match self {
            PixelLayout::Nv12 => 2,
            PixelLayout::I420 => 3,
            _ => 1,
        }
    }

    /// Whether the layout is a YUV (planar) format.
    pub fn is_yuv(self) -> bool {
        matches!(self, PixelLayout::Nv12 | PixelLayout::I420)
    }

    /// For packed layouts: bytes per pixel and byte offsets of R, G and B.
    fn packed(self) -> Option<(usize, [usize; 3])> {
        match self {
            PixelLayout::Rgb => Some((3, [0, 1, 2])),
            PixelLayout::Bgr => Some((3, [2, 1, 0])),
            PixelLayout::Rgba | PixelLayout::Rgbx => Some((4, [0, 1, 2])),
            PixelLayout::Bgra | PixelLayout::Bgrx => Some((4, [2, 1, 0])),
            PixelLayout::Nv12 | PixelLayout::I420 => None,
        }
    }
}

/// One plane of a frame: `data` starts at the first byte of the first row and
/// consecutive rows are `stride` bytes apart.
#[derive(Debug, Clone, Copy)]
pub struct Plane<'a> {
    pub data: &'a [u8],
    pub stride: usize,
}

/// A borrowed video frame.
///
/// planes: packed formats use planes[0]; NV12 uses [Y, UV]; I420 uses [Y, U, V]. Strides may exceed width*bpp.
///
/// A plane only needs `stride * (rows - 1) + row_bytes` bytes (the last row
/// may be short of a full stride); bytes between `row_bytes` and `stride` are
/// never read.
#[derive(Debug, Clone)]
pub struct FrameView<'a> {
    pub layout: PixelLayout,
    pub width: usize,
    pub height: usize,
    pub planes: Vec<Plane<'a>>,
}

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
    /// The frame does not carry the number of planes its layout needs.
    WrongPlaneCount {
        layout: PixelLayout,
        expected: usize,
        actual: usize,
    },
    /// A plane's stride is smaller than one row of samples.
    StrideTooSmall {
        plane: usize,
        stride: usize,
        row_bytes: usize,
    },
    /// A plane's data cannot hold `rows` rows of `stride` bytes.
    PlaneTooShort {
        plane: usize,
        len: usize,
        needed: usize,
        stride: usize,
        rows: usize,
    },
    /// Frame or network input has a zero dimension.
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

impl fmt::Display for PreprocessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PreprocessError::WrongPlaneCount {
                layout,
                expected,
                actual,
            } => write!(
                f,
                "{layout:?} frame needs {expected} plane(s), got {actual}"
            ),
            PreprocessError::StrideTooSmall {
                plane,
                stride,
                row_bytes,
            } => write!(
                f,
                "plane {plane}: stride {stride} is smaller than a row of {row_bytes} bytes"
            ),
            PreprocessError::PlaneTooShort {
                plane,
                len,
                needed,
                stride,
                rows,
            } => write!(
                f,
                "plane {plane}: {len} bytes is too short for {rows} rows of stride {stride} (needs {needed})"
            ),
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

/// YUV to RGB matrix coefficients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum YuvMatrix {
    /// ITU-R BT.601 (Kr = 0.299, Kb = 0.114).
    #[default]
    Bt601,
    /// ITU-R BT.709 (Kr = 0.2126, Kb = 0.0722).
    Bt709,
}

/// How YUV frames are turned into RGB. Default: BT.601, limited range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct YuvConversion {
    pub matrix: YuvMatrix,
    /// `false`: Y in 16..=235, U/V in 16..=240 (the usual video range).
    pub full_range: bool,
}

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
            Tap {
                i0: idx(s),
                i1: idx(s + 1),
                w0: w(1.0 - frac),
                w1: w(frac),
            }
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
}

/// Cached per-size tables.
#[derive(Debug, Clone)]
struct Plan {
    key: PlanKey,
    geom: LetterboxGeometry,
    /// Luma / packed columns (packed: byte offset of the pixel).
    xs: Vec<Tap>,
    /// Luma / packed rows.
    ys: Vec<Tap>,
    /// Chroma columns (NV12: byte offset of the U sample).
    cxs: Vec<Tap>,
    /// Chroma rows.
    cys: Vec<Tap>,
}

impl Plan {
    fn new(key: PlanKey, geom: LetterboxGeometry) -> Self {
        let bpp = key.layout.packed().map_or(1, |(b, _)| b);
        let sx = cv_scale(key.width, geom.new_width);
        let sy = cv_scale(key.height, geom.new_height);
        let xs = axis_taps(key.width, geom.new_width, sx, bpp, true);
        let ys = axis_taps(key.height, geom.new_height, sy, 1, false);
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
        Plan {
            key,
            geom,
            xs,
            ys,
            cxs,
            cys,
        }
    }
}

/// Two horizontally resampled source rows (each `slot_len` `u16`s), keyed by
/// source row index; consecutive output rows usually share one of them.
#[derive(Debug, Clone, Default)]
struct RowCache {
    buf: Vec<u16>,
    slot_len: usize,
    keys: [Option<usize>; 2],
}

impl RowCache {
    fn reset(&mut self, slot_len: usize) {
        self.slot_len = slot_len;
        self.buf.resize(2 * slot_len, 0);
        self.keys = [None; 2];
    }

    /// Returns the rows `y0` and `y1`, computing missing ones with `fill`.
    fn fetch(
        &mut self,
        y0: usize,
        y1: usize,
        mut fill: impl FnMut(usize, &mut [u16]),
    ) -> (&[u16], &[u16]) {
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
    yuv: YuvConversion,
    plan: Option<Plan>,
    rows: RowCache,
    chroma_rows: RowCache,
    yuv_tmp: Vec<f32>,
}

impl Preprocessor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Preprocessor with a YUV conversion other than BT.601 limited range.
    pub fn with_yuv_conversion(yuv: YuvConversion) -> Self {
        Preprocessor {
            yuv,
            ..Self::default()
        }
    }

    pub fn set_yuv_conversion(&mut self, yuv: YuvConversion) {
        self.yuv = yuv;
    }

    pub fn yuv_conversion(&self) -> YuvConversion {
        self.yuv
    }

    /// Same as [`letterbox_into`], reusing cached tables and buffers.
    pub fn run(
        &mut self,
        frame: &FrameView,
        spec: &LetterboxSpec,
        out: &mut [f32],
    ) -> Result<Letterbox, PreprocessError> {
        validate(frame)?;
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
        };
        let plan = match self.plan.take() {
            Some(p) if p.key == key => p,
            _ => Plan::new(key, letterbox_geometry(frame.width, frame.height, spec)?),
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
        let hpass: fn(&[u8], &[Tap], &mut [u16]) = match (bpp, offs) {
            (3, [0, 1, 2]) => hpass_packed::<3, 0, 1, 2>,
            (3, _) => hpass_packed::<3, 2, 1, 0>,
            (_, [0, 1, 2]) => hpass_packed::<4, 0, 1, 2>,
            _ => hpass_packed::<4, 2, 1, 0>,
        };
        self.rows.reset(3 * nw);
        let [p0, p1, p2] = planes;
        for (dy, ty) in plan.ys.iter().enumerate() {
            let (h0, h1) = self.rows.fetch(ty.i0 as usize, ty.i1 as usize, |y, dst| {
                hpass(row(plane, y, row_bytes), &plan.xs, dst)
            });
            let start = (g.top + dy) * spec.dst_width + g.left;
            for (c, p) in [p0.as_mut(), p1.as_mut(), p2.as_mut()]
                .into_iter()
                .enumerate()
            {
                let ch = c * nw..(c + 1) * nw;
                vpass(
                    &h0[ch.clone()],
                    &h1[ch],
                    ty,
                    spec.scale,
                    &mut p[start..start + nw],
                );
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
        let conv = YuvCoefs::new(self.yuv, spec.scale);
        self.rows.reset(nw);
        self.chroma_rows.reset(2 * nw);
        self.yuv_tmp.resize(3 * nw, 0.0);
        let (ty_row, rest) = self.yuv_tmp.split_at_mut(nw);
        let (tu_row, tv_row) = rest.split_at_mut(nw);
        let [pr, pg, pb] = rgb;
        for (dy, (ty, tc)) in plan.ys.iter().zip(&plan.cys).enumerate() {
            let (h0, h1) = self.rows.fetch(ty.i0 as usize, ty.i1 as usize, |y, dst| {
                hpass_plane(row(yp, y, w), &plan.xs, dst)
            });
            vpass(h0, h1, ty, 1.0, ty_row);
            let (c0, c1) = self
                .chroma_rows
                .fetch(tc.i0 as usize, tc.i1 as usize, |y, dst| {
                    let (du, dv) = dst.split_at_mut(nw);
                    if nv12 {
                        hpass_uv(row(up, y, 2 * cw), &plan.cxs, du, dv);
                    } else {
                        hpass_plane(row(up, y, cw), &plan.cxs, du);
                        hpass_plane(row(vp, y, cw), &plan.cxs, dv);
                    }
                });
            vpass(&c0[..nw], &c1[..nw], tc, 1.0, tu_row);
            vpass(&c0[nw..], &c1[nw..], tc, 1.0, tv_row);
            let start = (g.top + dy) * spec.dst_width + g.left;
            let end = start + nw;
            conv.convert(
                ty_row,
                tu_row,
                tv_row,
                &mut pr[start..end],
                &mut pg[start..end],
                &mut pb[start..end],
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

/// Checks plane count, strides and lengths so the kernels can slice freely.
fn validate(frame: &FrameView) -> Result<(), PreprocessError> {
    let (w, h) = (frame.width, frame.height);
    if w == 0 || h == 0 {
        return Err(PreprocessError::ZeroSize {
            what: "frame",
            width: w,
            height: h,
        });
    }
    let expected = frame.layout.plane_count();
    if frame.planes.len() != expected {
        return Err(PreprocessError::WrongPlaneCount {
            layout: frame.layout,
            expected,
            actual: frame.planes.len(),
        });
    }
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let bpp = frame.layout.packed().map_or(1, |(b, _)| b);
    let planes: [(usize, usize); 3] = match frame.layout {
        PixelLayout::Nv12 => [(w, h), (2 * cw, ch), (0, 0)],
        PixelLayout::I420 => [(w, h), (cw, ch), (cw, ch)],
        _ => [
            (w.checked_mul(bpp).ok_or(PreprocessError::TooLarge)?, h),
            (0, 0),
            (0, 0),
        ],
    };
    for (i, (p, &(row_bytes, rows))) in frame.planes.iter().zip(&planes).enumerate() {
        if p.stride < row_bytes {
            return Err(PreprocessError::StrideTooSmall {
                plane: i,
                stride: p.stride,
                row_bytes,
            });
        }
        let needed = p
            .stride
            .checked_mul(rows - 1)
            .and_then(|v| v.checked_add(row_bytes))
            .ok_or(PreprocessError::TooLarge)?;
        if p.data.len() < needed {
            return Err(PreprocessError::PlaneTooShort {
                plane: i,
                len: p.data.len(),
                needed,
                stride: p.stride,
                rows,
            });
        }
    }
    Ok(())
}

/// Row `y` of a validated plane.
#[inline]
fn row<'a>(plane: &Plane<'a>, y: usize, row_bytes: usize) -> &'a [u8] {
    let start = y * plane.stride;
    plane.data.get(start..start + row_bytes).unwrap_or_default()
}

/// Horizontal pass over a packed row: writes three planar rows (channel
/// offsets `C0`, `C1`, `C2` within a `BPP`-byte pixel) of
/// `(p[x0] * w0 + p[x1] * w1) >> 4`, like OpenCV's fixed-point path.
fn hpass_packed<const BPP: usize, const C0: usize, const C1: usize, const C2: usize>(
    src: &[u8],
    xs: &[Tap],
    dst: &mut [u16],
) {
    let n = xs.len();
    let (d0, rest) = dst.split_at_mut(n);
    let (d1, d2) = rest.split_at_mut(n);
    let px = |i: u32| -> [u8; BPP] {
        let i = i as usize;
        src.get(i..i + BPP)
            .and_then(|p| p.try_into().ok())
            .unwrap_or([0; BPP])
    };
    for (((t, a), b), c) in xs.iter().zip(d0).zip(d1).zip(d2) {
        let (p, q) = (px(t.i0), px(t.i1));
        let mix = |c: usize| ((u32::from(p[c]) * t.w0 + u32::from(q[c]) * t.w1) >> 4) as u16;
        *a = mix(C0);
        *b = mix(C1);
        *c = mix(C2);
    }
}

/// Horizontal pass over one 8-bit plane row.
fn hpass_plane(src: &[u8], xs: &[Tap], dst: &mut [u16]) {
    let at = |i: u32| src.get(i as usize).copied().map_or(0, u32::from);
    for (t, d) in xs.iter().zip(dst) {
        *d = ((at(t.i0) * t.w0 + at(t.i1) * t.w1) >> 4) as u16;
    }
}

/// Horizontal pass over an interleaved NV12 UV row (`xs` index the U bytes).
fn hpass_uv(src: &[u8], xs: &[Tap], du: &mut [u16], dv: &mut [u16]) {
    let px = |i: u32| -> [u8; 2] {
        let i = i as usize;
        src.get(i..i + 2)
            .and_then(|p| p.try_into().ok())
            .unwrap_or([0; 2])
    };
    for ((t, u), v) in xs.iter().zip(du).zip(dv) {
        let (p, q) = (px(t.i0), px(t.i1));
        *u = ((u32::from(p[0]) * t.w0 + u32::from(q[0]) * t.w1) >> 4) as u16;
        *v = ((u32::from(p[1]) * t.w0 + u32::from(q[1]) * t.w1) >> 4) as u16;
    }
}

/// Vertical pass: blends two horizontally resampled rows with OpenCV's
/// rounding (`((h0 * b0) >> 16) + ((h1 * b1) >> 16) + 2) >> 2`, clamped to
/// 255) and writes `value * scale`.
fn vpass(h0: &[u16], h1: &[u16], t: &Tap, scale: f32, out: &mut [f32]) {
    let (b0, b1) = (t.w0, t.w1);
    for ((o, &a), &b) in out.iter_mut().zip(h0).zip(h1) {
        let v = (((u32::from(a) * b0) >> 16) + ((u32::from(b) * b1) >> 16) + 2) >> 2;
        *o = v.min(255) as i32 as f32 * scale;
    }
}

/// Precomputed YUV -> RGB coefficients.
#[derive(Debug, Clone, Copy)]
struct YuvCoefs {
    y: f32,
    rv: f32,
    gu: f32,
    gv: f32,
    bu: f32,
    r0: f32,
    g0: f32,
    b0: f32,
    scale: f32,
}

impl YuvCoefs {
    fn new(conv: YuvConversion, scale: f32) -> Self {
        let (kr, kb) = match conv.matrix {
            YuvMatrix::Bt601 => (0.299f64, 0.114f64),
            YuvMatrix::Bt709 => (0.2126, 0.0722),
        };
        let kg = 1.0 - kr - kb;
        let (yoff, ys, cs) = if conv.full_range {
            (0.0, 1.0, 1.0)
        } else {
            (16.0, 255.0 / 219.0, 255.0 / 224.0)
        };
        let rv = 2.0 * (1.0 - kr) * cs;
        let gu = -2.0 * (1.0 - kb) * kb / kg * cs;
        let gv = -2.0 * (1.0 - kr) * kr / kg * cs;
        let bu = 2.0 * (1.0 - kb) * cs;
        let base = -yoff * ys;
        YuvCoefs {
            y: ys as f32,
            rv: rv as f32,
            gu: gu as f32,
            gv: gv as f32,
            bu: bu as f32,
            r0: (base - 128.0 * rv) as f32,
            g0: (base - 128.0 * (gu + gv)) as f32,
            b0: (base - 128.0 * bu) as f32,
            scale,
        }
    }

    /// Converts rows of Y, U, V (0..=255) to scaled R, G, B rows, each value
    /// clamped to 0..=255 and rounded to the nearest integer first.
    fn convert(
        &self,
        ys: &[f32],
        us: &[f32],
        vs: &[f32],
        r: &mut [f32],
        g: &mut [f32],
        b: &mut [f32],
    ) {
        /// Adding and removing 1.5 * 2^23 rounds to the nearest integer
        /// (ties to even, as OpenCV's saturate_cast) for |v| < 2^22.
        const MAGIC: f32 = 12_582_912.0;
        let k = *self;
        let fin = |v: f32| {
            let v = if v > 0.0 { v } else { 0.0 };
            let v = if v < 255.0 { v } else { 255.0 };
            ((v + MAGIC) - MAGIC) * k.scale
        };
        let it = ys.iter().zip(us).zip(vs).zip(r).zip(g).zip(b);
        for (((((&y, &u), &v), r), g), b) in it {
            let y = y * k.y;
            *r = fin(y + k.rv * v + k.r0);
            *g = fin(y + k.gu * u + k.gv * v + k.g0);
            *b = fin(y + k.bu * u + k.b0);
        }
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

    #[test]
    #[ignore = "timing; run with --release -- --ignored --nocapture"]
    fn bench_preprocess() {
        let (w, h) = (768, 576);
        let iters = 300;
        let bgr = noise(w * h * 3, 1);
        let yuv = noise(w * h * 3 / 2, 2);
        let spec = LetterboxSpec::yolox(416, 416);
        let mut out = vec![0f32; spec.tensor_len()];
        let frames = [
            (
                "BGR",
                FrameView {
                    layout: PixelLayout::Bgr,
                    width: w,
                    height: h,
                    planes: vec![Plane {
                        data: &bgr,
                        stride: w * 3,
                    }],
                },
            ),
            (
                "BGRx",
                FrameView {
                    layout: PixelLayout::Bgrx,
                    width: w / 2,
                    height: h,
                    planes: vec![Plane {
                        data: &bgr,
                        stride: w * 3 / 2 * 4 / 2,
                    }],
                },
            ),
            (
                "I420",
                FrameView {
                    layout: PixelLayout::I420,
                    width: w,
                    height: h,
                    planes: vec![
                        Plane {
                            data: &yuv[..w * h],
                            stride: w,
                        },
                        Plane {
                            data: &yuv[w * h..w * h * 5 / 4],
                            stride: w / 2,
                        },
                        Plane {
                            data: &yuv[w * h * 5 / 4..],
                            stride: w / 2,
                        },
                    ],
                },
            ),
            (
                "NV12",
                FrameView {
                    layout: PixelLayout::Nv12,
                    width: w,
                    height: h,
                    planes: vec![
                        Plane {
                            data: &yuv[..w * h],
                            stride: w,
                        },
                        Plane {
                            data: &yuv[w * h..],
                            stride: w,
                        },
                    ],
                },
            ),
        ];
        for (name, frame) in &frames {
            for (sname, spec) in [
                ("yolox", LetterboxSpec::yolox(416, 416)),
                ("ultralytics", LetterboxSpec::ultralytics(416, 416)),
            ] {
                let mut pre = Preprocessor::new();
                // Best of several batches: the machine may be shared.
                let best = |f: &mut dyn FnMut()| {
                    (0..10)
                        .map(|_| {
                            let t = std::time::Instant::now();
                            for _ in 0..iters / 10 {
                                f();
                            }
                            t.elapsed().as_nanos() / (iters / 10) as u128
                        })
                        .min()
                        .unwrap_or(0)
                };
                let ns = best(&mut || {
                    pre.run(frame, &spec, &mut out).expect("preprocess");
                });
                let ns_cold = best(&mut || {
                    letterbox_into(frame, &spec, &mut out).expect("preprocess");
                });
                println!(
                    "{name} {}x{} -> 416x416 {sname}: {ns} ns/frame (Preprocessor), {ns_cold} ns/frame (letterbox_into)",
                    frame.width, frame.height
                );
            }
        }
    }
}
