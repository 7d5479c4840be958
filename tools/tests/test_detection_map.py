"""detection_map against values computed by hand (COCO rules: greedy matching by score,
101-point interpolated precision, classes without reference boxes left out)."""
import numpy as np
import pytest

from detection_map import average_precision, box_iou, evaluate, match_image

A = [0, 0, 10, 10]
B = [20, 20, 30, 30]


def test_iou_by_hand():
    # Overlap 5x10 = 50, union 100 + 100 - 50 = 150.
    assert box_iou([A], [[5, 0, 15, 10]])[0, 0] == pytest.approx(1 / 3)
    assert box_iou([A], [B])[0, 0] == 0.0
    assert box_iou([A], [A])[0, 0] == 1.0
    assert box_iou([[0, 0, 0, 0]], [[0, 0, 0, 0]])[0, 0] == 0.0  # empty union


def test_identical_detections_give_one():
    ref = [[A + [0.9, 0], B + [0.8, 1]], [[0, 0, 50, 40, 0.7, 0]]]
    r = evaluate(ref, ref)
    assert r["map50"] == 1.0 and r["map50_95"] == 1.0


def test_false_positive_ranked_first_halves_precision():
    # One reference box; the higher-scored prediction misses, the lower one hits.
    # Ranked: FP (P=0, R=0), TP (P=1/2, R=1); monotone precision 1/2 at every recall.
    r = evaluate([[A + [0]]], [[B + [0.9, 0], A + [0.5, 0]]])
    assert r["map50"] == pytest.approx(0.5)


def test_false_positive_ranked_last_costs_nothing():
    r = evaluate([[A + [0]]], [[A + [0.9, 0], B + [0.5, 0]]])
    assert r["map50"] == pytest.approx(1.0)


def test_missed_reference_box_caps_recall():
    # Two reference boxes, one found: recall points 0..0.50 (51 of 101) at precision 1.
    r = evaluate([[A + [0], B + [0]]], [[A + [0.9, 0]]])
    assert r["map50"] == pytest.approx(51 / 101)


def test_iou_thresholds():
    # IoU 0.62 (prediction shifted): a hit at 0.50, 0.55 and 0.60, a miss at 0.65..0.95.
    shifted = [0, 0, 10, 6.2]
    assert box_iou([A], [shifted])[0, 0] == pytest.approx(0.62)
    r = evaluate([[A + [0]]], [[shifted + [0.9, 0]]])
    assert r["map50"] == 1.0
    assert r["map50_95"] == pytest.approx(0.3)


def test_class_must_match():
    r = evaluate([[A + [0]]], [[A + [0.9, 1]]])
    # Class 0 found nothing (AP 0); class 1 has no reference box and is left out.
    assert r["map50"] == 0.0 and list(r["per_class"]) == [0]


def test_mean_over_classes():
    # Class 0 perfect, class 1 missed entirely: mean 0.5.
    r = evaluate([[A + [0], B + [1]]], [[A + [0.9, 0]]])
    assert r["map50"] == pytest.approx(0.5)
    assert r["per_class"][0][0] == 1.0 and r["per_class"][1][0] == 0.0


def test_duplicate_prediction_is_false_positive():
    # Both predictions overlap the one box; the second is a FP ranked after the TP.
    tp = match_image(np.array([A]), np.array([A, A]), [0.5])
    assert tp.tolist() == [[True, False]]
    r = evaluate([[A + [0]]], [[A + [0.9, 0], A + [0.8, 0]]])
    assert r["map50"] == 1.0


def test_greedy_matching_takes_best_iou():
    # The prediction overlaps both reference boxes; it takes the one with the higher IoU,
    # so the second prediction (overlapping only that one) is left without a match.
    ref = np.array([[0, 0, 10, 10], [0, 0, 10, 8]], float)
    pred = np.array([[0, 0, 10, 9], [0, 0, 10, 10.5]], float)
    ious = box_iou(pred, ref)
    assert ious[0, 0] == pytest.approx(0.9) and ious[0, 1] == pytest.approx(8 / 9)
    assert ious[1, 0] == pytest.approx(100 / 105)
    # Prediction 0 takes box 0 (0.9 > 0.889); prediction 1 then can only have box 1
    # (IoU 80/105 = 0.762): a hit at 0.5, a miss at 0.8.
    assert match_image(ref, pred, [0.5, 0.8]).tolist() == [[True, True], [True, False]]


def test_ranking_is_across_images():
    # Image 1: TP at 0.9; image 2: FP at 0.8, TP at 0.3 (its reference box).
    # Ranked: TP (P 1, R 1/2), FP (P 2/3... ) -> precision 1 up to recall 0.5, then
    # 2/3 at recall 1 (third prediction): points 0..0.5 -> 1 (51), 0.51..1 -> 2/3 (50).
    refs = [[A + [0]], [A + [0]]]
    preds = [[A + [0.9, 0]], [B + [0.8, 0], A + [0.3, 0]]]
    r = evaluate(refs, preds)
    assert r["map50"] == pytest.approx((51 + 50 * 2 / 3) / 101)


def test_max_dets_per_image_and_class():
    # Only the best-scored prediction counts with max_dets=1: it is a FP, so AP is 0.
    r = evaluate([[A + [0]]], [[B + [0.9, 0], A + [0.5, 0]]], max_dets=1)
    assert r["map50"] == 0.0


def test_no_reference_boxes():
    r = evaluate([[]], [[A + [0.9, 0]]])
    assert r["map50"] is None and r["map50_95"] is None


def test_average_precision_empty_predictions():
    assert average_precision([], [], 3) == 0.0
    assert average_precision([0.5], [True], 0) is None


def test_image_count_must_agree():
    with pytest.raises(ValueError):
        evaluate([[], []], [[]])
