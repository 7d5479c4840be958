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
    (ch >= 5).then(|| (channels_first, n, ch - 4))
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

/// `output` is the flat f32 data of the model's first output with `shape` (e.g. `[1,3549,85]`).
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
                if obj.is_nan() || obj < min_thr {
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
        if obj.is_nan() || obj < min_thr {
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
        // Branch-free over equal-length slices so it vectorizes.
        let (bs, bc) = (&mut best_score[..n], &mut best_class[..n]);
        let scores = &scores[..n];
        for i in 0..n {
            let mask = u32::from(scores[i] > bs[i]).wrapping_neg();
            bc[i] ^= (bc[i] ^ c) & mask;
            bs[i] =
                f32::from_bits(bs[i].to_bits() ^ ((bs[i].to_bits() ^ scores[i].to_bits()) & mask));
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
        if !(0.0..1.0e9).contains(&cls) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn params(w: usize, h: usize, thr: f32) -> DecodeParams<'static> {
        DecodeParams {
            input_width: w,
            input_height: h,
            class_thresholds: &[],
            default_threshold: thr,
            keep_classes: None,
        }
    }

    fn assert_det(d: &Detection, x1: f32, y1: f32, x2: f32, y2: f32, score: f32, class_id: usize) {
        let ok = |a: f32, b: f32| (a - b).abs() <= 1e-4 * b.abs().max(1.0);
        assert!(
            ok(d.x1, x1)
                && ok(d.y1, y1)
                && ok(d.x2, x2)
                && ok(d.y2, y2)
                && ok(d.score, score)
                && d.class_id == class_id,
            "{d:?} != ({x1}, {y1}, {x2}, {y2}, {score}, {class_id})"
        );
    }

    #[test]
    fn grid_counts() {
        assert_eq!(grid_count(416, 416), 52 * 52 + 26 * 26 + 13 * 13);
        assert_eq!(grid_count(416, 416), 3549);
        assert_eq!(grid_count(640, 640), 8400);
        assert_eq!(grid_count(640, 384), 80 * 48 + 40 * 24 + 20 * 12);
    }

    #[test]
    fn iou_and_area() {
        let d = |x1, y1, x2, y2| Detection {
            x1,
            y1,
            x2,
            y2,
            score: 1.0,
            class_id: 0,
        };
        let a = d(0.0, 0.0, 10.0, 10.0);
        assert_eq!(a.area(), 100.0);
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&d(20.0, 20.0, 30.0, 30.0)), 0.0);
        // Touching edges: no overlap.
        assert_eq!(a.iou(&d(10.0, 0.0, 20.0, 10.0)), 0.0);
        // Half overlap: inter 50, union 150.
        assert!((a.iou(&d(5.0, 0.0, 15.0, 10.0)) - 1.0 / 3.0).abs() < 1e-6);
        // Contained quarter: inter 25, union 100.
        assert_eq!(a.iou(&d(0.0, 0.0, 5.0, 5.0)), 0.25);
        // Degenerate boxes.
        let z = d(3.0, 3.0, 3.0, 3.0);
        assert_eq!(z.area(), 0.0);
        assert_eq!(z.iou(&z), 0.0);
        assert_eq!(d(5.0, 5.0, 0.0, 0.0).area(), 0.0);
        assert_eq!((a.width(), a.height()), (10.0, 10.0));
        assert_eq!(
            d(-5.0, 2.0, 50.0, 8.0).clipped(20.0, 5.0),
            d(0.0, 2.0, 20.0, 5.0)
        );
    }

    /// YOLOX output for a 64x64 input (grid 8x8 + 4x4 + 2x2 = 84 rows) with
    /// `nc` classes, all rows background.
    fn yolox_output(nc: usize) -> (Vec<f32>, Vec<usize>) {
        let n = grid_count(64, 64);
        assert_eq!(n, 84);
        (vec![0.0; n * (5 + nc)], vec![1, n, 5 + nc])
    }

    fn set_row(out: &mut [f32], cols: usize, row: usize, vals: &[f32]) {
        out[row * cols..row * cols + vals.len()].copy_from_slice(vals);
    }

    #[test]
    fn yolox_decodes_grid_boxes() {
        let (mut out, shape) = yolox_output(3);
        let cols = 8;
        // Stride 8, cell (gx 2, gy 1) = row 1 * 8 + 2 = 10:
        // cx = (0.5 + 2) * 8 = 20, cy = (0.25 + 1) * 8 = 10, w = h = e^0 * 8 = 8.
        set_row(
            &mut out,
            cols,
            10,
            &[0.5, 0.25, 0.0, 0.0, 0.9, 0.1, 0.8, 0.3],
        );
        // Stride 16 grid starts at row 64; cell (1, 2) = 64 + 2 * 4 + 1 = 73:
        // cx = (0 + 1) * 16 = 16, cy = (0 + 2) * 16 = 32, w = e^ln2 * 16 = 32, h = 16.
        set_row(
            &mut out,
            cols,
            73,
            &[0.0, 0.0, 2f32.ln(), 0.0, 0.5, 0.6, 0.0, 0.0],
        );
        // Stride 32 grid starts at row 80; cell (1, 1) = 83, score 0.2 * 0.9 = 0.18.
        set_row(
            &mut out,
            cols,
            83,
            &[0.5, 0.5, 0.0, 0.0, 0.2, 0.0, 0.0, 0.9],
        );
        let dets = decode(ModelFamily::Yolox, &out, &shape, &params(64, 64, 0.25)).expect("decode");
        assert_eq!(dets.len(), 2);
        assert_det(&dets[0], 16.0, 6.0, 24.0, 14.0, 0.72, 1);
        assert_det(&dets[1], 0.0, 24.0, 32.0, 40.0, 0.3, 0);
        // Lower threshold: the stride-32 box appears: cx = cy = 1.5 * 32 = 48, 32x32.
        let dets = decode(ModelFamily::Yolox, &out, &shape, &params(64, 64, 0.1)).expect("decode");
        assert_eq!(dets.len(), 3);
        assert_det(&dets[2], 32.0, 32.0, 64.0, 64.0, 0.18, 2);
        assert_eq!(num_classes(ModelFamily::Yolox, &shape), Some(3));
    }

    #[test]
    fn yolox_best_class_only_and_per_class_thresholds() {
        let (mut out, shape) = yolox_output(3);
        // Best class 1 (0.8) scores 0.72; class 2 (0.7 -> 0.63) is not
        // considered even though it passes.
        set_row(&mut out, 8, 0, &[0.0, 0.0, 0.0, 0.0, 0.9, 0.0, 0.8, 0.7]);
        set_row(&mut out, 8, 1, &[0.0, 0.0, 0.0, 0.0, 0.9, 0.5, 0.0, 0.0]);
        let thresholds = [0.4, 0.75];
        let p = DecodeParams {
            class_thresholds: &thresholds,
            ..params(64, 64, 0.3)
        };
        // Class 1 needs 0.75 > 0.72: dropped; class 0 (0.45 >= 0.4) kept.
        let dets = decode(ModelFamily::Yolox, &out, &shape, &p).expect("decode");
        assert_eq!(dets.len(), 1);
        assert_eq!(dets[0].class_id, 0);
        assert!((dets[0].score - 0.45).abs() < 1e-6);
        // keep_classes: only class 1 -> the 0.72 box with default thresholds.
        let keep = [false, true];
        let p = DecodeParams {
            keep_classes: Some(&keep),
            ..params(64, 64, 0.3)
        };
        let dets = decode(ModelFamily::Yolox, &out, &shape, &p).expect("decode");
        assert_eq!(dets.len(), 1);
        assert_eq!(dets[0].class_id, 1);
        // No kept class at all.
        let none = [false; 3];
        let p = DecodeParams {
            keep_classes: Some(&none),
            ..params(64, 64, 0.0)
        };
        assert!(
            decode(ModelFamily::Yolox, &out, &shape, &p)
                .expect("decode")
                .is_empty()
        );
        // Score exactly at the threshold is kept.
        let dets = decode(ModelFamily::Yolox, &out, &shape, &params(64, 64, 0.45)).expect("decode");
        assert_eq!(dets.len(), 2);
    }

    #[test]
    fn yolox_wrong_shapes() {
        let out = vec![0.0; 3548 * 85];
        let e = decode(
            ModelFamily::Yolox,
            &out,
            &[1, 3548, 85],
            &params(416, 416, 0.3),
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("[1, 3548, 85]") && msg.contains("3549"),
            "{msg}"
        );
        let e = decode(
            ModelFamily::Yolox,
            &out,
            &[1, 3549, 85],
            &params(416, 416, 0.3),
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                DecodeError::LengthMismatch {
                    expected: 301_665,
                    actual: 301_580,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("301580"), "{e}");
        let e = decode(
            ModelFamily::Yolox,
            &[0.0; 10],
            &[2, 1, 5],
            &params(416, 416, 0.3),
        )
        .unwrap_err();
        assert!(e.to_string().contains("[2, 1, 5]"), "{e}");
        // 5 columns = no class.
        let e = decode(
            ModelFamily::Yolox,
            &vec![0.0; 84 * 5],
            &[1, 84, 5],
            &params(64, 64, 0.3),
        )
        .unwrap_err();
        assert!(e.to_string().contains("5+C"), "{e}");
        // Rank 2 without batch is accepted.
        let (out, _) = yolox_output(2);
        assert!(decode(ModelFamily::Yolox, &out, &[84, 7], &params(64, 64, 0.3)).is_ok());
    }

    #[test]
    fn yolov5_decodes_pixel_boxes() {
        let cols = 5 + 4;
        let mut out = vec![0.0; 6 * cols];
        // cx 100, cy 50, w 40, h 20, obj 0.8, best class 3 (0.9) -> 0.72.
        set_row(
            &mut out,
            cols,
            1,
            &[100.0, 50.0, 40.0, 20.0, 0.8, 0.1, 0.2, 0.3, 0.9],
        );
        // Low objectness: skipped even with a high class score.
        set_row(
            &mut out,
            cols,
            2,
            &[10.0, 10.0, 4.0, 4.0, 0.1, 1.0, 0.0, 0.0, 0.0],
        );
        // obj 0.5 * 0.8 = 0.4, class 0.
        set_row(
            &mut out,
            cols,
            4,
            &[200.0, 300.0, 10.0, 30.0, 0.5, 0.8, 0.1, 0.0, 0.0],
        );
        let shape = [1, 6, cols];
        let dets =
            decode(ModelFamily::Yolov5, &out, &shape, &params(640, 640, 0.25)).expect("decode");
        assert_eq!(dets.len(), 2);
        assert_det(&dets[0], 80.0, 40.0, 120.0, 60.0, 0.72, 3);
        assert_det(&dets[1], 195.0, 285.0, 205.0, 315.0, 0.4, 0);
        let thr = [0.5];
        let p = DecodeParams {
            class_thresholds: &thr,
            ..params(640, 640, 0.25)
        };
        let dets = decode(ModelFamily::Yolov5, &out, &shape, &p).expect("decode");
        assert_eq!(dets.len(), 1);
        assert_eq!(dets[0].class_id, 3);
        assert_eq!(num_classes(ModelFamily::Yolov5, &shape), Some(4));
        let e = decode(
            ModelFamily::Yolov5,
            &out[..6 * 5],
            &[1, 6, 5],
            &params(640, 640, 0.25),
        )
        .unwrap_err();
        assert!(e.to_string().contains("[1, 6, 5]"), "{e}");
    }

    /// YOLOv8 channels-first `[1, 4+C, N]` with N = 84 (64x64 input), 2 classes.
    fn yolov8_boxes() -> Vec<[f32; 6]> {
        let mut rows = vec![[0.0f32; 6]; 84];
        rows[3] = [32.0, 16.0, 10.0, 8.0, 0.3, 0.7];
        rows[40] = [50.0, 50.0, 20.0, 20.0, 0.95, 0.2];
        rows[83] = [5.0, 5.0, 2.0, 2.0, 0.1, 0.2];
        rows
    }

    #[test]
    fn yolov8_channels_first_and_transposed() {
        let rows = yolov8_boxes();
        let n = rows.len();
        let mut cf = vec![0.0; 6 * n];
        for (i, r) in rows.iter().enumerate() {
            for (c, v) in r.iter().enumerate() {
                cf[c * n + i] = *v;
            }
        }
        let rm: Vec<f32> = rows.iter().flatten().copied().collect();
        for (data, shape) in [(&cf, [1, 6, n]), (&rm, [1, n, 6])] {
            let dets =
                decode(ModelFamily::Yolov8, data, &shape, &params(64, 64, 0.25)).expect("decode");
            assert_eq!(dets.len(), 2, "{shape:?}");
            assert_det(&dets[0], 27.0, 12.0, 37.0, 20.0, 0.7, 1);
            assert_det(&dets[1], 40.0, 40.0, 60.0, 60.0, 0.95, 0);
            assert_eq!(
                num_classes_for_input(ModelFamily::Yolov8, &shape, 64, 64),
                Some(2)
            );
            let keep = [false, true];
            let p = DecodeParams {
                keep_classes: Some(&keep),
                ..params(64, 64, 0.25)
            };
            let dets = decode(ModelFamily::Yolov8, data, &shape, &p).expect("decode");
            assert_eq!(dets.len(), 1);
            assert_eq!(dets[0].class_id, 1);
            let thr = [0.99, 0.5];
            let p = DecodeParams {
                class_thresholds: &thr,
                ..params(64, 64, 0.25)
            };
            let dets = decode(ModelFamily::Yolov8, data, &shape, &p).expect("decode");
            assert_eq!(dets.len(), 1);
            assert_eq!(dets[0].class_id, 1);
        }
    }

    #[test]
    fn yolov8_orientation_rule() {
        // 640x640: N = 8400.
        assert_eq!(
            num_classes_for_input(ModelFamily::Yolov8, &[1, 84, 8400], 640, 640),
            Some(80)
        );
        assert_eq!(
            num_classes_for_input(ModelFamily::Yolov8, &[1, 8400, 84], 640, 640),
            Some(80)
        );
        assert_eq!(num_classes(ModelFamily::Yolov8, &[1, 84, 8400]), Some(80));
        assert_eq!(num_classes(ModelFamily::Yolov8, &[1, 8400, 84]), Some(80));
        // Unknown grid: the smaller dimension is 4+C.
        assert_eq!(
            num_classes_for_input(ModelFamily::Yolov8, &[1, 6, 100], 640, 640),
            Some(2)
        );
        assert_eq!(
            num_classes_for_input(ModelFamily::Yolov8, &[1, 100, 6], 640, 640),
            Some(2)
        );
        // Grid match wins over the size rule: 64x64 has 84 cells, so
        // [1, 84, 300] is 300 - 4 classes over 84 anchors.
        assert_eq!(
            num_classes_for_input(ModelFamily::Yolov8, &[1, 84, 300], 64, 64),
            Some(296)
        );
        assert_eq!(num_classes(ModelFamily::Yolov8, &[1, 4, 100]), None);
        assert_eq!(num_classes(ModelFamily::End2End, &[1, 300, 6]), None);
        let e = decode(
            ModelFamily::Yolov8,
            &[0.0; 12],
            &[1, 4, 3],
            &params(64, 64, 0.3),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("[1, 4, 3]") && e.to_string().contains("4+C"),
            "{e}"
        );
    }

    #[test]
    fn end2end_rows() {
        let rows: [[f32; 6]; 4] = [
            [10.0, 20.0, 30.0, 40.0, 0.9, 2.0],
            [1.0, 2.0, 3.0, 4.0, 0.1, 0.0],
            [5.0, 6.0, 7.0, 8.0, 0.6, 1.0],
            // Invalid class id: skipped.
            [0.0, 0.0, 1.0, 1.0, 0.99, -1.0],
        ];
        let data: Vec<f32> = rows.iter().flatten().copied().collect();
        let shape = [1, 4, 6];
        let dets =
            decode(ModelFamily::End2End, &data, &shape, &params(640, 640, 0.5)).expect("decode");
        assert_eq!(dets.len(), 2);
        assert_det(&dets[0], 10.0, 20.0, 30.0, 40.0, 0.9, 2);
        assert_det(&dets[1], 5.0, 6.0, 7.0, 8.0, 0.6, 1);
        let keep = [true, false, false];
        let p = DecodeParams {
            keep_classes: Some(&keep),
            ..params(640, 640, 0.05)
        };
        let dets = decode(ModelFamily::End2End, &data, &shape, &p).expect("decode");
        assert_eq!(dets.len(), 1);
        assert_det(&dets[0], 1.0, 2.0, 3.0, 4.0, 0.1, 0);
        let e = decode(
            ModelFamily::End2End,
            &[0.0; 14],
            &[1, 2, 7],
            &params(640, 640, 0.5),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("[1, 2, 7]") && e.to_string().contains("[1, K, 6]"),
            "{e}"
        );
    }

    #[test]
    fn nan_scores_never_pass() {
        let (mut out, shape) = yolox_output(2);
        set_row(&mut out, 7, 0, &[0.0, 0.0, 0.0, 0.0, f32::NAN, 1.0, 1.0]);
        set_row(&mut out, 7, 1, &[0.0, 0.0, 0.0, 0.0, 1.0, f32::NAN, 0.6]);
        let dets = decode(ModelFamily::Yolox, &out, &shape, &params(64, 64, 0.5)).expect("decode");
        assert_eq!(dets.len(), 1);
        assert_eq!(dets[0].class_id, 1);
    }

    #[test]
    #[ignore = "timing; run with --release -- --ignored --nocapture"]
    fn bench_decode() {
        // YOLOX 416: 3549 x 85 with mostly background, like a real frame.
        let n = grid_count(416, 416);
        let mut out = vec![0.0f32; n * 85];
        let mut s = 12345u32;
        for (i, row) in out.chunks_exact_mut(85).enumerate() {
            for v in row.iter_mut() {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                *v = (s >> 8) as f32 / (1 << 24) as f32;
            }
            row[4] *= if i % 50 == 0 { 1.0 } else { 0.05 };
        }
        let p = params(416, 416, 0.3);
        // Best of 50 batches: robust against other load on the machine.
        let best = |iters: usize, f: &mut dyn FnMut() -> usize| {
            let mut count = 0;
            let ns = (0..50)
                .map(|_| {
                    let t = std::time::Instant::now();
                    for _ in 0..iters {
                        count = f();
                    }
                    t.elapsed().as_nanos() / iters as u128
                })
                .min()
                .unwrap_or(0);
            (ns, count)
        };
        let (ns, count) = best(40, &mut || {
            decode(ModelFamily::Yolox, &out, &[1, n, 85], &p)
                .expect("decode")
                .len()
        });
        println!("decode YOLOX 1x{n}x85: {ns} ns/frame ({count} candidates)");
        let dets = decode(ModelFamily::Yolox, &out, &[1, n, 85], &p).expect("decode");
        let (ns, kept) = best(40, &mut || {
            crate::inference::nms::nms(dets.clone(), 0.45, false, 300).len()
        });
        println!("nms of those {count}: {ns} ns/frame ({kept} kept)");
        // YOLOv8 640: [1, 84, 8400].
        let n8 = grid_count(640, 640);
        let out8: Vec<f32> = (0..84 * n8)
            .map(|i| ((i * 7919) % 1000) as f32 / 3000.0)
            .collect();
        let p8 = params(640, 640, 0.25);
        let (ns, count) = best(10, &mut || {
            decode(ModelFamily::Yolov8, &out8, &[1, 84, n8], &p8)
                .expect("decode")
                .len()
        });
        println!("decode YOLOv8 1x84x{n8}: {ns} ns/frame ({count} candidates)");
    }
}
