"""GFL decoding on synthetic head outputs (pure logic: exact expected boxes)."""

from __future__ import annotations

import numpy as np
import pytest

from edge_agent.detect.nanodet import MAX_CANDIDATES, NanoDetDetector


def _blank_outputs(detector: NanoDetDetector) -> list[np.ndarray]:
    shapes = [o.shape for o in detector.session.get_outputs()]
    return [np.full(s, -30.0 if s[2] == 44 else 0.0, np.float32) for s in shapes]


def _level(detector: NanoDetDetector, stride: int):
    return next(lv for lv in detector._levels if lv.stride == stride)


@pytest.mark.parametrize(("stride", "cell", "bins"), [(8, (10, 20), (2, 3, 4, 5)), (32, (6, 3), (0, 10, 1, 7))])
def test_one_hot_distribution_gives_exact_box(nanodet: NanoDetDetector, stride, cell, bins) -> None:
    """Peaked distributions at bins (l, t, r, b) → box centre ± bin*stride, centre at (i+0.5)*stride."""
    outputs = _blank_outputs(nanodet)
    level = _level(nanodet, stride)
    grid_w = 416 // stride
    anchor = cell[1] * grid_w + cell[0]
    outputs[level.score_index][0, anchor, 16] = 0.9  # class 16 = dog
    dist = outputs[level.box_index][0, anchor].reshape(4, 11)
    for side, b in enumerate(bins):
        dist[side, b] = 30.0
    xyxy, scores, classes = nanodet.decode(outputs)
    assert classes.tolist() == [16] and scores.tolist() == pytest.approx([0.9])
    cx, cy = (cell[0] + 0.5) * stride, (cell[1] + 0.5) * stride
    left, top, right, bottom = (v * stride for v in bins)
    assert xyxy[0] == pytest.approx([cx - left, cy - top, cx + right, cy + bottom], abs=1e-3)


def test_uniform_distribution_gives_mean_distance(nanodet: NanoDetDetector) -> None:
    outputs = _blank_outputs(nanodet)
    level = _level(nanodet, 16)
    outputs[level.score_index][0, 0, 0] = 0.8
    outputs[level.box_index][0, 0] = 0.0  # uniform over 0..10 → expected 5 bins
    xyxy, _, _ = nanodet.decode(outputs)
    assert xyxy[0] == pytest.approx([8 - 80, 8 - 80, 8 + 80, 8 + 80], abs=1e-3)


def test_below_threshold_gives_nothing_and_candidates_are_capped(nanodet: NanoDetDetector) -> None:
    outputs = _blank_outputs(nanodet)
    xyxy, scores, classes = nanodet.decode(outputs)
    assert len(xyxy) == len(scores) == len(classes) == 0
    for lv in nanodet._levels:
        outputs[lv.score_index][:] = 0.5  # every anchor and class above the 0.3 threshold
    xyxy, scores, _ = nanodet.decode(outputs)
    assert len(scores) == MAX_CANDIDATES and xyxy.shape == (MAX_CANDIDATES, 4)
