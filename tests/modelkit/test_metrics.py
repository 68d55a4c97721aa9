"""mAP50 / PR / confusion code on hand-made cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from mingchu.modelkit.metrics import DetectionEval, average_precision, box_iou, match_predictions

GT = np.array([[0, 0, 10, 10], [20, 20, 40, 40], [50, 0, 60, 10]], np.float32)
GT_CLS = np.array([0, 1, 0])


def _ev(preds: list[tuple[list[float], float, int]]) -> DetectionEval:
    ev = DetectionEval(("a", "b"))
    xyxy = np.array([p[0] for p in preds], np.float32).reshape(-1, 4)
    ev.add(xyxy, np.array([p[1] for p in preds]), np.array([p[2] for p in preds], np.int64), GT, GT_CLS)
    return ev


def test_iou() -> None:
    iou = box_iou(np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]]))
    np.testing.assert_allclose(iou, [[1.0, 1 / 3, 0.0]])


def test_perfect_predictions_score_one() -> None:
    ev = _ev([(list(b), 0.9, int(c)) for b, c in zip(GT, GT_CLS, strict=True)])
    assert ev.map50() == pytest.approx(1.0)
    assert ev.confusion[0, 0] == 2 and ev.confusion[1, 1] == 1 and ev.confusion.sum() == 3


def test_no_predictions_score_zero() -> None:
    ev = _ev([])
    assert ev.map50() == 0.0
    assert ev.confusion[0, 2] == 2 and ev.confusion[1, 2] == 1  # all missed → background column


def test_wrong_class_and_duplicates_are_false_positives() -> None:
    ev = _ev([([0, 0, 10, 10], 0.9, 1), ([20, 20, 40, 40], 0.8, 1), ([20, 20, 40, 40], 0.7, 1)])
    per = ev.per_class()
    assert per["a"].ap50 == 0.0
    # class b: TP at 0.8, FP at 0.9 (wrong place) and 0.7 (duplicate) → precision 1/2 at recall 1
    assert per["b"].ap50 == pytest.approx(0.5)
    assert ev.map50() == pytest.approx(0.25)
    assert ev.confusion[0, 1] == 1  # an "a" object mistaken for "b"


def test_half_recall_and_low_iou() -> None:
    ev = _ev([([0, 0, 10, 10], 0.9, 0), ([52, 0, 70, 10], 0.8, 0), ([20, 20, 40, 40], 0.5, 1)])
    per = ev.per_class()
    assert per["a"].ap50 == pytest.approx(0.5)  # second box IoU 8/18 < 0.5 → FP, recall stops at 1/2
    assert per["b"].ap50 == pytest.approx(1.0)


def test_ranking_matters() -> None:
    tp = np.array([False, True, True])
    ap_fp_first, _, _ = average_precision(tp, np.array([0.9, 0.8, 0.7]), 2)
    ap_fp_last, _, _ = average_precision(tp, np.array([0.1, 0.8, 0.7]), 2)
    assert ap_fp_last == pytest.approx(1.0) and ap_fp_first == pytest.approx(2 / 3)
    assert np.isnan(average_precision(np.zeros(0, bool), np.zeros(0), 0)[0])


def test_match_uses_each_ground_truth_once() -> None:
    tp = match_predictions(
        np.array([[0, 0, 10, 10], [0, 0, 10, 10]]),
        np.array([0.5, 0.9]),
        np.array([0, 0]),
        np.array([[0, 0, 10, 10]]),
        np.array([0]),
    )
    assert tp.tolist() == [False, True]
