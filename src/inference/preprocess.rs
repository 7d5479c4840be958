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
        Detection { x1, y1, x2, y2, ..*d }.clipped(frame_width as f32, frame_height as f32)
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
const COEF_ONE: u32 = 1 << COEF_BITS;
/// Two passes of COEF_BITS each.
const ACC_SHIFT: u32 = 2 * COEF_BITS;
const ACC_HALF: u32 = 1 << (ACC_SHIFT - 1);

/// One output sample along an axis: blend `i0` and `i1` with weights
/// `w0 + w1 == COEF_ONE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tap {
    i0: u32,
    i1: u32,
    w0: u32,
    w1: u32,
}

/// Sample positions for `dst` outputs over `src` inputs, `src_pos =
/// (d + 0.5) * scale - 0.5` clamped to the valid range (OpenCV's
/// `INTER_LINEAR` rule), with indices multiplied by `mul` (bytes per pixel
/// or samples per interleaved group).
fn axis_taps(src: usize, dst: usize, scale: f64, mul: usize) -> Vec<Tap> {
    let last = src.saturating_sub(1);
    (0..dst)
        .map(|d| {
            let f = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let fl = f.floor();
            let (s, frac) = if !(fl >= 0.0) {
                (0, 0.0)
            } else if fl as usize >= last {
                (last, 0.0)
            } else {
                (fl as usize, f - fl)
            };
            let w1 = ((frac * COEF_ONE as f32).round_ties_even() as u32).min(COEF_ONE);
            let s1 = (s + 1).min(last);
            Tap {
                i0: (s * mul) as u32,
                i1: (s1 * mul) as u32,
                w0: COEF_ONE - w1,
                w1,
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
    /// Chroma columns (index of the U sample in its row buffer).
    cxs: Vec<Tap>,
    /// Chroma rows.
    cys: Vec<Tap>,
}

/// Reusable preprocessor: caches the resampling tables for a frame size and
/// the scratch rows, so repeated calls do no allocation.
#[derive(Debug, Clone, Default)]
pub struct Preprocessor {
    yuv: YuvConversion,
    plan: Option<Plan>,
    row_a: Vec<u32>,
    row_b: Vec<u32>,
    row_c: Vec<u32>,
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
        let plan = self.plan_for(frame, spec)?;
        let geom = plan.geom;
        let plane_len = spec.dst_width * spec.dst_height;
        let pad = spec.pad_value * spec.scale;
        for plane in out.chunks_exact_mut(plane_len) {
            fill_padding(plane, spec.dst_width, spec.dst_height, &geom, pad);
        }
        match frame.layout.packed() {
            Some((bpp, rgb_offsets)) => {
                let offs = match spec.channel_order {
                    ChannelOrder::Rgb => rgb_offsets,
                    ChannelOrder::Bgr => [rgb_offsets[2], rgb_offsets[1], rgb_offsets[0]],
                };
                self.run_packed(frame, spec, bpp, offs, out);
            }
            None => self.run_yuv(frame, spec, out),
        }
        Ok(geom.letterbox)
    }

    fn plan_for(
        &mut self,
        frame: &FrameView,
        spec: &LetterboxSpec,
    ) -> Result<&Plan, PreprocessError> {
        let yuv = frame.layout.is_yuv();
        let bpp = frame.layout.packed().map_or(1, |(b, _)| b);
        let key = PlanKey {
            width: frame.width,
            height: frame.height,
            layout: frame.layout,
            dst_width: spec.dst_width,
            dst_height: spec.dst_height,
            placement: spec.placement,
        };
        let stale = self.plan.as_ref().is_none_or(|p| p.key != key);
        if stale {
            let geom = letterbox_geometry(frame.width, frame.height, spec)?;
            let sx = cv_scale(frame.width, geom.new_width);
            let sy = cv_scale(frame.height, geom.new_height);
            let xs = axis_taps(frame.width, geom.new_width, sx, bpp);
            let ys = axis_taps(frame.height, geom.new_height, sy, 1);
            let (cxs, cys) = if yuv {
                let cw = frame.width.div_ceil(2);
                let ch = frame.height.div_ceil(2);
                // Chroma sample i sits at luma 2i + 0.5: chroma position =
                // (luma position + 0.5) / 2 - 0.5 = (d + 0.5) * s / 2 - 0.5.
                let cmul = if frame.layout == PixelLayout::Nv12 { 2 } else { 1 };
                (
                    axis_taps(cw, geom.new_width, sx / 2.0, cmul),
                    axis_taps(ch, geom.new_height, sy / 2.0, 1),
                )
            } else {
                (Vec::new(), Vec::new())
            };
            self.plan = Some(Plan {
                key,
                geom,
                xs,
                ys,
                cxs,
                cys,
            });
        }
        self.plan.as_ref().ok_or(PreprocessError::TooLarge)
    }

    fn run_packed(
        &mut self,
        frame: &FrameView,
        spec: &LetterboxSpec,
        bpp: usize,
        offs: [usize; 3],
        out: &mut [f32],
    ) {
        let Some(plan) = self.plan.as_ref() else {
            return;
        };
        let Some(plane) = frame.planes.first() else {
            return;
        };
        let row_bytes = frame.width * bpp;
        let tmp = &mut self.row_a;
        tmp.resize(row_bytes, 0);
        let g = &plan.geom;
        let plane_len = spec.dst_width * spec.dst_height;
        let (p0, rest) = out.split_at_mut(plane_len);
        let (p1, p2) = rest.split_at_mut(plane_len);
        for (dy, ty) in plan.ys.iter().enumerate() {
            let r0 = row(plane, ty.i0 as usize, row_bytes);
            let r1 = row(plane, ty.i1 as usize, row_bytes);
            vblend(r0, r1, ty, tmp);
            let start = (g.top + dy) * spec.dst_width + g.left;
            let end = start + g.new_width;
            hpass_packed(
                tmp,
                &plan.xs,
                offs,
                spec.scale,
                &mut p0[start..end],
                &mut p1[start..end],
                &mut p2[start..end],
            );
        }
    }

    fn run_yuv(&mut self, frame: &FrameView, spec: &LetterboxSpec, out: &mut [f32]) {
        let Some(plan) = self.plan.as_ref() else {
            return;
        };
        let nv12 = frame.layout == PixelLayout::Nv12;
        let w = frame.width;
        let cw = w.div_ceil(2);
        let (Some(yp), Some(up)) = (frame.planes.first(), frame.planes.get(1)) else {
            return;
        };
        let vp = if nv12 { None } else { frame.planes.get(2) };
        let crow_bytes = if nv12 { 2 * cw } else { cw };
        self.row_a.resize(w, 0);
        self.row_b.resize(crow_bytes, 0);
        self.row_c.resize(if nv12 { 0 } else { cw }, 0);
        let conv = YuvCoefs::new(self.yuv, spec.scale);
        let g = &plan.geom;
        let plane_len = spec.dst_width * spec.dst_height;
        let (p0, rest) = out.split_at_mut(plane_len);
        let (p1, p2) = rest.split_at_mut(plane_len);
        // Output planes in R, G, B order.
        let (pr, pb) = match spec.channel_order {
            ChannelOrder::Rgb => (p0, p2),
            ChannelOrder::Bgr => (p2, p0),
        };
        let pg = p1;
        for (dy, (ty, tc)) in plan.ys.iter().zip(&plan.cys).enumerate() {
            vblend(
                row(yp, ty.i0 as usize, w),
                row(yp, ty.i1 as usize, w),
                ty,
                &mut self.row_a,
            );
            vblend(
                row(up, tc.i0 as usize, crow_bytes),
                row(up, tc.i1 as usize, crow_bytes),
                tc,
                &mut self.row_b,
            );
            if let Some(vp) = vp {
                vblend(
                    row(vp, tc.i0 as usize, cw),
                    row(vp, tc.i1 as usize, cw),
                    tc,
                    &mut self.row_c,
                );
            }
            let (us, vs, voff) = if nv12 {
                (&self.row_b[..], &self.row_b[..], 1)
            } else {
                (&self.row_b[..], &self.row_c[..], 0)
            };
            let start = (g.top + dy) * spec.dst_width + g.left;
            let end = start + g.new_width;
            hpass_yuv(
                &self.row_a,
                us,
                vs,
                voff,
                &plan.xs,
                &plan.cxs,
                &conv,
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
        _ => [(w.checked_mul(bpp).ok_or(PreprocessError::TooLarge)?, h), (0, 0), (0, 0)],
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
    &plane.data[start..start + row_bytes]
}

/// Vertical pass: `out[i] = r0[i] * w0 + r1[i] * w1` (exact, up to 19 bits).
#[inline]
fn vblend(r0: &[u8], r1: &[u8], t: &Tap, out: &mut [u32]) {
    if t.w1 == 0 {
        for (o, &a) in out.iter_mut().zip(r0) {
            *o = u32::from(a) << COEF_BITS;
        }
    } else {
        let (w0, w1) = (t.w0, t.w1);
        for ((o, &a), &b) in out.iter_mut().zip(r0).zip(r1) {
            *o = u32::from(a) * w0 + u32::from(b) * w1;
        }
    }
}

/// Horizontal pass for packed rows, rounding to the nearest integer and
/// scaling into three output planes.
#[inline]
fn hpass_packed(
    tmp: &[u32],
    xs: &[Tap],
    offs: [usize; 3],
    scale: f32,
    o0: &mut [f32],
    o1: &mut [f32],
    o2: &mut [f32],
) {
    let [c0, c1, c2] = offs;
    let lerp = |i0: usize, i1: usize, t: &Tap| -> f32 {
        let v = (tmp[i0] * t.w0 + tmp[i1] * t.w1 + ACC_HALF) >> ACC_SHIFT;
        v as f32 * scale
    };
    for (((t, a), b), c) in xs.iter().zip(o0).zip(o1).zip(o2) {
        let (i0, i1) = (t.i0 as usize, t.i1 as usize);
        *a = lerp(i0 + c0, i1 + c0, t);
        *b = lerp(i0 + c1, i1 + c1, t);
        *c = lerp(i0 + c2, i1 + c2, t);
    }
}

/// Precomputed YUV -> RGB affine map acting on the fixed-point accumulators.
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
        let acc = f64::from(1u32 << ACC_SHIFT);
        let base = -yoff * ys;
        YuvCoefs {
            y: (ys / acc) as f32,
            rv: (rv / acc) as f32,
            gu: (gu / acc) as f32,
            gv: (gv / acc) as f32,
            bu: (bu / acc) as f32,
            r0: (base - 128.0 * rv) as f32,
            g0: (base - 128.0 * (gu + gv)) as f32,
            b0: (base - 128.0 * bu) as f32,
            scale,
        }
    }

    /// Clamp to 0..=255, round to nearest, scale.
    #[inline]
    fn finish(&self, v: f32) -> f32 {
        ((v.clamp(0.0, 255.0) + 0.5) as u32) as f32 * self.scale
    }
}

/// Horizontal pass for YUV: resample Y, U, V at the output point, convert.
#[allow(clippy::too_many_arguments)]
#[inline]
fn hpass_yuv(
    ys: &[u32],
    us: &[u32],
    vs: &[u32],
    voff: usize,
    xs: &[Tap],
    cxs: &[Tap],
    k: &YuvCoefs,
    or: &mut [f32],
    og: &mut [f32],
    ob: &mut [f32],
) {
    let it = xs.iter().zip(cxs).zip(or).zip(og).zip(ob);
    for ((((t, c), r), g), b) in it {
        let y = ys[t.i0 as usize] * t.w0 + ys[t.i1 as usize] * t.w1;
        let (c0, c1) = (c.i0 as usize, c.i1 as usize);
        let u = us[c0] * c.w0 + us[c1] * c.w1;
        let v = vs[c0 + voff] * c.w0 + vs[c1 + voff] * c.w1;
        let (y, u, v) = (y as f32 * k.y, u as f32, v as f32);
        *r = k.finish(y + k.rv * v + k.r0);
        *g = k.finish(y + k.gu * u + k.gv * v + k.g0);
        *b = k.finish(y + k.bu * u + k.b0);
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
                    planes: vec![Plane { data: &bgr, stride: w * 3 }],
                },
            ),
            (
                "BGRx",
                FrameView {
                    layout: PixelLayout::Bgrx,
                    width: w / 2,
                    height: h,
                    planes: vec![Plane { data: &bgr, stride: w * 3 / 2 * 4 / 2 }],
                },
            ),
            (
                "I420",
                FrameView {
                    layout: PixelLayout::I420,
                    width: w,
                    height: h,
                    planes: vec![
                        Plane { data: &yuv[..w * h], stride: w },
                        Plane { data: &yuv[w * h..w * h * 5 / 4], stride: w / 2 },
                        Plane { data: &yuv[w * h * 5 / 4..], stride: w / 2 },
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
                        Plane { data: &yuv[..w * h], stride: w },
                        Plane { data: &yuv[w * h..], stride: w },
                    ],
                },
            ),
        ];
        for (name, frame) in &frames {
            for (sname, spec) in [("yolox", LetterboxSpec::yolox(416, 416)), ("ultralytics", LetterboxSpec::ultralytics(416, 416))] {
                let mut pre = Preprocessor::new();
                pre.run(frame, &spec, &mut out).expect("preprocess");
                let t = std::time::Instant::now();
                for _ in 0..iters {
                    pre.run(frame, &spec, &mut out).expect("preprocess");
                }
                let ns = t.elapsed().as_nanos() / iters as u128;
                let t = std::time::Instant::now();
                for _ in 0..iters / 10 {
                    letterbox_into(frame, &spec, &mut out).expect("preprocess");
                }
                let ns_cold = t.elapsed().as_nanos() / (iters / 10) as u128;
                println!(
                    "{name} {}x{} -> 416x416 {sname}: {ns} ns/frame (Preprocessor), {ns_cold} ns/frame (letterbox_into)",
                    frame.width, frame.height
                );
            }
        }
    }
}
