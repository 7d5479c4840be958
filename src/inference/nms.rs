//! Greedy non-maximum suppression.

use super::decode::Detection;

/// Greedy NMS, sorted by score desc; class-aware unless agnostic; keeps at most max_det. Stable for equal scores (keeps input order).
///
/// A box is suppressed when its IoU with an already kept box (of the same
/// class unless `agnostic`) is strictly greater than `iou_threshold`, as
/// torchvision's `nms` does. Boxes with a NaN score are dropped.
pub fn nms(
    mut dets: Vec<Detection>,
    iou_threshold: f32,
    agnostic: bool,
    max_det: usize,
) -> Vec<Detection> {
    dets.retain(|d| !d.score.is_nan());
    // `sort_by` is stable: equal scores keep their input order.
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::with_capacity(max_det.min(dets.len()));
    for d in dets {
        if kept.len() >= max_det {
            break;
        }
        let suppressed = kept
            .iter()
            .any(|k| (agnostic || k.class_id == d.class_id) && k.iou(&d) > iou_threshold);
        if !suppressed {
            kept.push(d);
        }
    }
    kept
}
