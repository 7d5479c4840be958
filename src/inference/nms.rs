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

#[cfg(test)]
mod tests {
    use super::*;

    fn det(x1: f32, y1: f32, x2: f32, y2: f32, score: f32, class_id: usize) -> Detection {
        Detection {
            x1,
            y1,
            x2,
            y2,
            score,
            class_id,
        }
    }

    #[test]
    fn suppresses_overlapping_same_class() {
        let a = det(0.0, 0.0, 10.0, 10.0, 0.8, 0);
        // IoU with a: 90 / 110 = 0.818.
        let b = det(1.0, 0.0, 11.0, 10.0, 0.9, 0);
        // IoU with b: 0 (disjoint).
        let c = det(50.0, 50.0, 60.0, 60.0, 0.3, 0);
        let kept = nms(vec![a, b, c], 0.45, false, 100);
        assert_eq!(kept, vec![b, c]);
    }

    #[test]
    fn iou_threshold_is_strict() {
        // Half overlap: IoU exactly 1/3.
        let a = det(0.0, 0.0, 10.0, 10.0, 0.9, 0);
        let b = det(5.0, 0.0, 15.0, 10.0, 0.8, 0);
        assert_eq!(nms(vec![a, b], 0.5, false, 10).len(), 2);
        assert_eq!(nms(vec![a, b], 0.3, false, 10), vec![a]);
        let iou = a.iou(&b);
        assert_eq!(nms(vec![a, b], iou, false, 10).len(), 2);
    }

    #[test]
    fn class_aware_unless_agnostic() {
        let a = det(0.0, 0.0, 10.0, 10.0, 0.9, 0);
        let b = det(0.0, 0.0, 10.0, 10.0, 0.8, 1);
        let c = det(0.5, 0.5, 10.0, 10.0, 0.7, 1);
        assert_eq!(nms(vec![a, b, c], 0.5, false, 10), vec![a, b]);
        assert_eq!(nms(vec![a, b, c], 0.5, true, 10), vec![a]);
    }

    #[test]
    fn sorted_max_det_and_stable() {
        let boxes: Vec<Detection> = (0..10)
            .map(|i| {
                let x = i as f32 * 20.0;
                det(x, 0.0, x + 10.0, 10.0, [0.5, 0.9][i % 2], i)
            })
            .collect();
        let kept = nms(boxes.clone(), 0.5, false, 3);
        // Highest scores first, ties in input order.
        assert_eq!(kept, vec![boxes[1], boxes[3], boxes[5]]);
        let all = nms(boxes.clone(), 0.5, false, 100);
        let order: Vec<usize> = all.iter().map(|d| d.class_id).collect();
        assert_eq!(order, vec![1, 3, 5, 7, 9, 0, 2, 4, 6, 8]);
        assert!(nms(boxes, 0.5, false, 0).is_empty());
        assert!(nms(Vec::new(), 0.5, false, 10).is_empty());
    }

    #[test]
    fn equal_scores_keep_the_first() {
        let a = det(0.0, 0.0, 10.0, 10.0, 0.5, 0);
        let b = det(0.0, 0.0, 10.0, 10.1, 0.5, 0);
        assert_eq!(nms(vec![a, b], 0.5, false, 10), vec![a]);
        assert_eq!(nms(vec![b, a], 0.5, false, 10), vec![b]);
    }

    #[test]
    fn nan_scores_are_dropped() {
        let a = det(0.0, 0.0, 10.0, 10.0, f32::NAN, 0);
        let b = det(20.0, 0.0, 30.0, 10.0, 0.1, 0);
        assert_eq!(nms(vec![a, b], 0.5, false, 10), vec![b]);
    }
}
