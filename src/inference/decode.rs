//! Decoding of raw YOLO outputs into candidate detections (before NMS).
//!
//! Supported layouts (batch dimension 1; a rank-2 shape without the batch
//! dimension is accepted too):
//!
//! | family | shape | rows |
//! | --- | --- | --- |
//! | [`ModelFamily::Yolox`] | `[1, N, 5+C]`, `N` = grid cells for strides 8/16/32 | `tx, ty, tw, th, obj, cls...` (grid-relative) |
//! | [`ModelFamily::Yolov5`] | `[1, N, 5+C]` (`N` = 3 x grid cells, not checked) | `cx, cy, w, h, obj, cls...` (input pixels) |
//! | [`ModelFamily::Yolov8`] | `[1, 4+C, N]` or `[1, N, 4+C]` | `cx, cy, w, h, cls...` (input pixels) |
//! | [`ModelFamily::End2End`] | `[1, K, 6]` | `x1, y1, x2, y2, score, class_id` |
//!
//! Scores: YOLOX and YOLOv5 use `obj * cls[best]` with `best = argmax(cls)`
//! (first index on ties); YOLOv8 uses `max(cls)`. A candidate is kept when its
//! score is `>=` the threshold of its best class and, with `keep_classes`, when
//! that best class is kept (the best class is chosen among all classes first,
//! as Ultralytics' `classes=` filter does). Rows whose objectness (YOLOX/v5)
//! is below the lowest relevant threshold are skipped early, which assumes
//! class scores are probabilities (<= 1), as in all these exports. NaN scores
//! never pass.

use std::fmt;

/// Detection strides of the YOLO heads handled here.
pub const STRIDES: [usize; 3] = [8, 16, 32];

/// Number of grid cells over strides 8, 16 and 32 for an input size
/// (`sum (h / s) * (w / s)`, integer division), e.g. 3549 for 416x416 and
/// 8400 for 640x640.
pub fn grid_count(input_width: usize, input_height: usize) -> usize {
    STRIDES
        .iter()
        .map(|&s| (input_width / s) * (input_height / s))
        .sum()
}

/// One detected box, corners in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
    pub score: f32,
    pub class_id: usize,
}

impl Detection {
    /// Area, 0 for degenerate (inverted) boxes.
    pub fn area(&self) -> f32 {
        (self.x2 - self.x1).max(0.0) * (self.y2 - self.y1).max(0.0)
    }

    /// Intersection over union; 0 when the union is empty.
    pub fn iou(&self, o: &Detection) -> f32 {
        let iw = (self.x2.min(o.x2) - self.x1.max(o.x1)).max(0.0);
        let ih = (self.y2.min(o.y2) - self.y1.max(o.y1)).max(0.0);
        let inter = iw * ih;
        let union = self.area() + o.area() - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }

    pub fn width(&self) -> f32 {
        self.x2 - self.x1
    }

    pub fn height(&self) -> f32 {
        self.y2 - self.y1
    }

    /// The box with both corners clamped to `0..=width` x `0..=height`.
    pub fn clipped(&self, width: f32, height: f32) -> Detection {
        Detection {
            x1: self.x1.clamp(0.0, width),
            y1: self.y1.clamp(0.0, height),
            x2: self.x2.clamp(0.0, width),
            y2: self.y2.clamp(0.0, height),
            ..*self
        }
    }

    fn from_center(cx: f32, cy: f32, w: f32, h: f32, score: f32, class_id: usize) -> Self {
        Detection {
            x1: cx - w * 0.5,
            y1: cy - h * 0.5,
            x2: cx + w * 0.5,
            y2: cy + h * 0.5,
            score,
            class_id,
        }
    }
}

/// Output layout / decoding rule of a detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFamily {
    /// Megvii YOLOX: grid-relative boxes, objectness.
    Yolox,
    /// Ultralytics YOLOv5: pixel boxes, objectness, 3 anchors per cell.
    Yolov5,
    /// Ultralytics YOLOv8 / YOLO11: pixel boxes, no objectness, anchor-free.
    Yolov8,
    /// NMS-free end-to-end heads (YOLOv10, YOLO26): final boxes.
    End2End,
}

impl ModelFamily {
    /// Short human name.
    pub fn name(self) -> &'static str {
        match self {
            ModelFamily::Yolox => "YOLOX",
            ModelFamily::Yolov5 => "YOLOv5",
            ModelFamily::Yolov8 => "YOLOv8/YOLO11",
            ModelFamily::End2End => "end-to-end (YOLOv10/YOLO26)",
        }
    }

    /// Whether the output still needs NMS.
    pub fn needs_nms(self) -> bool {
        self != ModelFamily::End2End
    }
}

impl fmt::Display for ModelFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Decoding parameters.
#[derive(Debug, Clone, Copy)]
pub struct DecodeParams<'a> {
    pub input_width: usize,
    pub input_height: usize,
    /// minimum score per class id; classes beyond the slice's len use `default_threshold`
    pub class_thresholds: &'a [f32],
    pub default_threshold: f32,
    /// if Some, only keep these class ids
    ///
    /// Class ids beyond the slice's len are not kept.
    pub keep_classes: Option<&'a [bool]>,
}

impl DecodeParams<'_> {
    /// Score threshold of a class.
    pub fn threshold(&self, class_id: usize) -> f32 {
        self.class_thresholds
            .get(class_id)
            .copied()
            .unwrap_or(self.default_threshold)
    }

    /// Whether a class passes `keep_classes`.
    pub fn keeps(&self, class_id: usize) -> bool {
        self.keep_classes
            .is_none_or(|k| k.get(class_id).copied().unwrap_or(false))
    }

    /// Lowest threshold over the kept classes among `0..num_classes`, `None`
    /// when no class is kept.
    fn min_threshold(&self, num_classes: usize) -> Option<f32> {
        (0..num_classes)
            .filter(|&c| self.keeps(c))
            .map(|c| self.threshold(c))
            .fold(None, |m: Option<f32>, t| {
                Some(m.map_or(t, |m| if t < m { t } else { m }))
            })
    }

    /// Whether `score` passes for `class_id`.
    #[inline]
    fn accepts(&self, class_id: usize, score: f32) -> bool {
        score >= self.threshold(class_id) && self.keeps(class_id)
    }
}

/// Output data that does not fit the family's layout.
#[derive(Debug, Clone, PartialEq)]
pub enum DecodeError {
    /// `output.len()` is not the product of `shape`.
    LengthMismatch {
        shape: Vec<usize>,
        expected: usize,
        actual: usize,
    },
    /// The shape does not match the family's layout.
    BadShape {
        family: ModelFamily,
        shape: Vec<usize>,
        expected: String,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::LengthMismatch {
                shape,
                expected,
                actual,
            } => write!(
                f,
                "output has {actual} values but its shape {shape:?} needs {expected}"
            ),
            DecodeError::BadShape {
                family,
                shape,
                expected,
            } => write!(
                f,
                "{family} output shape {shape:?} is not supported: expected {expected}"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// `(rows, cols)` of a `[1, rows, cols]` or `[rows, cols]` shape.
fn dims2(shape: &[usize]) -> Option<(usize, usize)> {
    match *shape {
        [1, a, b] | [a, b] => Some((a, b)),
        _ => None,
    }
}

/// YOLOv8 orientation: `(channels_first, anchors, classes)`.
///
/// Rule for `[1, A, B]`: if an input grid size is known and `B` equals it
/// (with `A >= 5`), the layout is channels-first `[1, 4+C, N]`; if `A` equals
/// it (with `B >= 5`), it is `[1, N, 4+C]`. Otherwise the smaller dimension
/// is `4+C` (there are normally far more anchors than classes); a tie is read
/// as channels-first, the default Ultralytics export.
fn yolov8_layout(a: usize, b: usize, grid: Option<usize>) -> Option<(bool, usize, usize)> {
    let channels_first = match grid {
        Some(g) if b == g && a >= 5 => true,
        Some(g) if a == g && b >= 5 => false,
        _ => a <= b,
    };
    let (n, ch) = if channels_first { (b, a) } else { (a, b) };
    (ch >= 5).then_some((channels_first, n, ch - 4))
}

/// Number of classes the output encodes, or `None` if the shape does not fit
/// the family (or, for [`ModelFamily::End2End`], the shape does not tell).
/// For YOLOv8 this uses the orientation rule without an input size (the
/// smaller dimension is `4+C`); see [`num_classes_for_input`].
pub fn num_classes(family: ModelFamily, shape: &[usize]) -> Option<usize> {
    num_classes_impl(family, shape, None)
}

/// Like [`num_classes`], resolving the YOLOv8 orientation with the input
/// size exactly as [`decode`] does.
pub fn num_classes_for_input(
    family: ModelFamily,
    shape: &[usize],
    input_width: usize,
    input_height: usize,
) -> Option<usize> {
    num_classes_impl(family, shape, Some(grid_count(input_width, input_height)))
}

fn num_classes_impl(family: ModelFamily, shape: &[usize], grid: Option<usize>) -> Option<usize> {
    let (a, b) = dims2(shape)?;
    match family {
        ModelFamily::Yolox | ModelFamily::Yolov5 => (b >= 6).then(|| b - 5),
        ModelFamily::Yolov8 => yolov8_layout(a, b, grid).map(|(_, _, c)| c),
        ModelFamily::End2End => None,
    }
}

/// `output` is the flat f32 data of the model's first output with `shape` (e.g. [1,3549,85]).
/// Returns candidate detections in NETWORK INPUT pixel coordinates (x1,y1,x2,y2), before NMS.
pub fn decode(
    family: ModelFamily,
    output: &[f32],
    shape: &[usize],
    params: &DecodeParams,
) -> Result<Vec<Detection>, DecodeError> {
    let expected_len = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .unwrap_or(usize::MAX);
    if expected_len != output.len() {
        return Err(DecodeError::LengthMismatch {
            shape: shape.to_vec(),
            expected: expected_len,
            actual: output.len(),
        });
    }
    let bad = |expected: String| DecodeError::BadShape {
        family,
        shape: shape.to_vec(),
        expected,
    };
    let grid = grid_count(params.input_width, params.input_height);
    match family {
        ModelFamily::Yolox => {
            let expected = || {
                format!(
                    "[1, {grid}, 5+C] (grid cells of a {}x{} input at strides 8/16/32, C >= 1)",
                    params.input_width, params.input_height
                )
            };
            match dims2(shape) {
                Some((n, cols)) if n == grid && cols >= 6 => Ok(decode_yolox(output, cols, params)),
                _ => Err(bad(expected())),
            }
        }
        ModelFamily::Yolov5 => match dims2(shape) {
            Some((_, cols)) if cols >= 6 => Ok(decode_yolov5(output, cols, params)),
            _ => Err(bad(format!(
                "[1, N, 5+C] with C >= 1 (N = {} for a {}x{} input)",
                3 * grid,
                params.input_width,
                params.input_height
            ))),
        },
        ModelFamily::Yolov8 => {
            match dims2(shape).and_then(|(a, b)| yolov8_layout(a, b, Some(grid))) {
                Some((true, n, nc)) => Ok(decode_yolov8_cf(output, n, nc, params)),
                Some((false, _, nc)) => Ok(decode_yolov8_rows(output, nc, params)),
                None => Err(bad(format!(
                    "[1, 4+C, N] or [1, N, 4+C] with C >= 1 (N = {grid} for a {}x{} input)",
                    params.input_width, params.input_height
                ))),
            }
        }
        ModelFamily::End2End => match dims2(shape) {
            Some((_, 6)) => Ok(decode_end2end(output, params)),
            _ => Err(bad(
                "[1, K, 6] (x1, y1, x2, y2, score, class_id per row)".to_string()
            )),
        },
    }
}

/// Index and value of the largest finite-or-not score (first on ties, NaN
/// ignored); `(0, NaN)` if every value is NaN.
#[inline]
fn argmax(scores: &[f32]) -> (usize, f32) {
    let mut best = (0, f32::NAN);
    for (i, &s) in scores.iter().enumerate() {
        if s > best.1 || (best.1.is_nan() && !s.is_nan()) {
            best = (i, s);
        }
    }
    best
}

fn decode_yolox(output: &[f32], cols: usize, p: &DecodeParams) -> Vec<Detection> {
    let nc = cols - 5;
    let Some(min_thr) = p.min_threshold(nc) else {
        return Vec::new();
    };
    let mut dets = Vec::new();
    let mut rows = output.chunks_exact(cols);
    for s in STRIDES {
        let (gw, gh) = (p.input_width / s, p.input_height / s);
        let sf = s as f32;
        for gy in 0..gh {
            for (gx, row) in (0..gw).zip(rows.by_ref()) {
                let obj = row[4];
                if !(obj >= min_thr) {
                    continue;
                }
                let (best, cls) = argmax(&row[5..]);
                let score = obj * cls;
                if !p.accepts(best, score) {
                    continue;
                }
                let cx = (row[0] + gx as f32) * sf;
                let cy = (row[1] + gy as f32) * sf;
                let w = row[2].exp() * sf;
                let h = row[3].exp() * sf;
                dets.push(Detection::from_center(cx, cy, w, h, score, best));
            }
        }
    }
    dets
}

fn decode_yolov5(output: &[f32], cols: usize, p: &DecodeParams) -> Vec<Detection> {
    let Some(min_thr) = p.min_threshold(cols - 5) else {
        return Vec::new();
    };
    let mut dets = Vec::new();
    for row in output.chunks_exact(cols) {
        let obj = row[4];
        if !(obj >= min_thr) {
            continue;
        }
        let (best, cls) = argmax(&row[5..]);
        let score = obj * cls;
        if p.accepts(best, score) {
            dets.push(Detection::from_center(
                row[0], row[1], row[2], row[3], score, best,
            ));
        }
    }
    dets
}

/// `[1, N, 4+C]`.
fn decode_yolov8_rows(output: &[f32], nc: usize, p: &DecodeParams) -> Vec<Detection> {
    let Some(min_thr) = p.min_threshold(nc) else {
        return Vec::new();
    };
    let mut dets = Vec::new();
    for row in output.chunks_exact(nc + 4) {
        let (best, score) = argmax(&row[4..]);
        if score >= min_thr && p.accepts(best, score) {
            dets.push(Detection::from_center(
                row[0], row[1], row[2], row[3], score, best,
            ));
        }
    }
    dets
}

/// `[1, 4+C, N]`: best class per anchor computed class-row by class-row so
/// memory is read sequentially.
fn decode_yolov8_cf(output: &[f32], n: usize, nc: usize, p: &DecodeParams) -> Vec<Detection> {
    let Some(min_thr) = p.min_threshold(nc) else {
        return Vec::new();
    };
    if n == 0 {
        return Vec::new();
    }
    let mut best_score = vec![f32::NEG_INFINITY; n];
    let mut best_class = vec![0u32; n];
    let mut chans = output.chunks_exact(n);
    let (Some(cx), Some(cy), Some(bw), Some(bh)) =
        (chans.next(), chans.next(), chans.next(), chans.next())
    else {
        return Vec::new();
    };
    for (c, scores) in chans.enumerate() {
        let c = c as u32;
        for ((bs, bc), &s) in best_score.iter_mut().zip(best_class.iter_mut()).zip(scores) {
            if s > *bs {
                *bs = s;
                *bc = c;
            }
        }
    }
    let mut dets = Vec::new();
    for (i, (&score, &class)) in best_score.iter().zip(&best_class).enumerate() {
        let class = class as usize;
        if score >= min_thr && p.accepts(class, score) {
            dets.push(Detection::from_center(
                cx[i], cy[i], bw[i], bh[i], score, class,
            ));
        }
    }
    dets
}

fn decode_end2end(output: &[f32], p: &DecodeParams) -> Vec<Detection> {
    let mut dets = Vec::new();
    for row in output.chunks_exact(6) {
        let (score, cls) = (row[4], row[5]);
        // Class ids are stored as floats; reject negative / non-finite ones.
        if !(cls >= 0.0 && cls < 1.0e9) {
            continue;
        }
        let class_id = cls.round() as usize;
        if p.accepts(class_id, score) {
            dets.push(Detection {
                x1: row[0],
                y1: row[1],
                x2: row[2],
                y2: row[3],
                score,
                class_id,
            });
        }
    }
    dets
}
