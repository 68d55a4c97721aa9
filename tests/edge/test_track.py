"""ByteTracker on synthetic trajectories (pure logic): stable ids through walking, crossing, occlusion."""

from __future__ import annotations

import numpy as np
import pytest

from edge_agent.detections import Detections
from edge_agent.track import ByteTracker, TrackState, greedy_match, iou_matrix, make_tracker


def person(x: float, y: float, w: float = 60, h: float = 160) -> list[float]:
    return [x, y, x + w, y + h]


def frame(boxes: list[list[float]], scores: list[float] | None = None, labels: list[str] | None = None) -> Detections:
    n = len(boxes)
    return Detections.from_lists(boxes, scores or [0.85] * n, labels or ["person"] * n)


def test_one_person_walking_300_frames_keeps_one_id() -> None:
    rng = np.random.default_rng(0)
    tracker = ByteTracker()
    seen: list[int] = []
    for k in range(300):
        jitter = rng.normal(0, 1.5, 4)
        score = float(rng.uniform(0.55, 0.95))
        out = tracker.update(frame([list(np.add(person(20 + 4 * k, 200), jitter))], [score]), now=k * 0.2)
        seen.append(int(out.track_ids[0]))
    assert seen[0] == -1  # unconfirmed on its first sighting (min_hits=2)
    assert set(seen[1:]) == {seen[1]} and seen[1] > 0


def test_two_people_crossing_keep_distinct_ids() -> None:
    tracker = ByteTracker()
    ids_a, ids_b = [], []
    for k in range(120):
        a = person(50 + 8 * k, 200)  # walks right
        b = person(1000 - 8 * k, 204)  # walks left, a little lower in the picture
        overlap = abs((50 + 8 * k) - (1000 - 8 * k)) < 60
        # the person behind is half hidden while they cross: low confidence, ByteTrack's second stage
        out = tracker.update(frame([b, a], [0.3 if overlap else 0.8, 0.9]))
        ids_b.append(int(out.track_ids[0]))
        ids_a.append(int(out.track_ids[1]))
    a_ids, b_ids = set(ids_a[1:]), set(ids_b[1:])
    assert len(a_ids) == 1 and len(b_ids) == 1, (a_ids, b_ids)
    assert a_ids != b_ids and -1 not in a_ids | b_ids


def test_short_occlusion_keeps_the_id_and_a_new_object_gets_a_new_one() -> None:
    tracker = ByteTracker(max_lost_frames=10)
    ids = []
    for k in range(40):
        hidden = 20 <= k < 26  # behind the steamer for 6 frames
        boxes = [] if hidden else [person(100 + 3 * k, 100)]
        if k >= 30:
            boxes.append(person(600, 300))  # somebody new walks in
        out = tracker.update(frame(boxes))
        ids.append([int(i) for i in out.track_ids])
    first = ids[5][0]
    assert all(row[0] == first for row in ids[1:20])
    assert all(row == [] for row in ids[20:26])
    assert all(row[0] == first for row in ids[26:40])  # predicted forward through the gap
    newcomer = {row[1] for row in ids[31:40]}
    assert len(newcomer) == 1 and newcomer.isdisjoint({first, -1})


def test_lost_track_expires_after_the_buffer() -> None:
    tracker = ByteTracker(max_lost_frames=100, max_lost_s=2.0)
    for k in range(5):
        out = tracker.update(frame([person(100, 100)]), now=k * 0.2)
    old = int(out.track_ids[0])
    tracker.update(frame([]), now=1.0)
    assert [t.state for t in tracker.tracks] == [TrackState.LOST]
    tracker.update(frame([]), now=4.0)  # 3.2 s unseen > max_lost_s
    assert tracker.tracks == []
    tracker.update(frame([person(100, 100)]), now=4.2)
    out = tracker.update(frame([person(100, 100)]), now=4.4)
    assert int(out.track_ids[0]) not in {old, -1}


def test_a_rodent_never_continues_a_person_track() -> None:
    tracker = ByteTracker()
    for _ in range(5):
        out = tracker.update(frame([person(100, 100)]))
    person_id = int(out.track_ids[0])
    for _ in range(3):
        out = tracker.update(frame([person(100, 100)], labels=["rodent"]))
    assert int(out.track_ids[0]) not in {person_id, -1}
    assert {t.label for t in tracker.tracks} == {"person", "rodent"}


def test_label_group_keeps_a_head_id_while_the_hat_class_flickers() -> None:
    grouped, plain = ByteTracker(label_groups=[("head_hat", "head_nohat")]), ByteTracker()
    got: dict[str, list[int]] = {"grouped": [], "plain": []}
    for k in range(20):
        label = "head_nohat" if k % 3 == 0 else "head_hat"
        dets = frame([[200 + k, 100, 240 + k, 140]], labels=[label])
        got["grouped"].append(int(grouped.update(dets).track_ids[0]))
        got["plain"].append(int(plain.update(dets).track_ids[0]))
    assert len(set(got["grouped"][1:])) == 1 and -1 not in got["grouped"][1:]
    assert grouped.tracks[0].label == "head_hat"  # the newest label (k=19)
    # without the group the "no hat" sightings never join the head's track: the rule would lose them
    assert all(got["plain"][k] == -1 for k in range(3, 20, 3))


@pytest.mark.parametrize("groups", [[("head_hat",)], [("a", "b"), ("b", "c")], ["ab"]])
def test_bad_label_groups(groups: list) -> None:
    with pytest.raises(ValueError, match="label"):
        ByteTracker(label_groups=groups)


def test_single_frame_false_positive_never_gets_an_id() -> None:
    tracker = ByteTracker(min_hits=3)
    tracker.update(frame([person(10, 10)]))
    for _ in range(5):
        out = tracker.update(frame([person(400, 300)]))
    assert tracker.update(frame([])).track_ids.size == 0
    assert len(tracker.tracks) == 1 and int(out.track_ids[0]) == tracker.tracks[0].track_id


def test_input_is_not_mutated_and_order_is_kept() -> None:
    tracker = ByteTracker(min_hits=1)
    dets = frame([person(0, 0), person(300, 0)], [0.9, 0.05], ["person", "cat"])
    out = tracker.update(dets)
    assert out is not dets and list(dets.track_ids) == [-1, -1]
    assert out.labels == dets.labels and np.array_equal(out.xyxy, dets.xyxy)
    assert out.track_ids[0] > 0 and out.track_ids[1] == -1  # below low_threshold: ignored


def test_non_finite_detections_are_rejected_and_tracks_survive() -> None:
    tracker = ByteTracker(min_hits=1)
    tracker.update(frame([person(0, 0)]))
    with pytest.raises(ValueError, match="NaN"):
        tracker.update(frame([[float("nan"), 0, 10, 10]]))
    with pytest.raises(ValueError, match="NaN"):
        tracker.update(frame([person(0, 0)], [float("inf")]))
    assert len(tracker.tracks) == 1 and tracker.tracks[0].state is TrackState.TRACKED


def test_empty_input() -> None:
    out = ByteTracker().update(Detections.empty())
    assert len(out) == 0 and out.track_ids.shape == (0,)


def test_helpers() -> None:
    a = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32)
    b = np.array([[5, 0, 15, 10]], np.float32)
    assert np.allclose(iou_matrix(a, b), [[50 / 150], [0]])
    assert greedy_match(np.array([[0.9, 0.8], [0.85, 0.1]], np.float32), 0.2) == [(0, 0)]
    assert greedy_match(np.zeros((0, 3), np.float32), 0.2) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"high_threshold": 0.2, "low_threshold": 0.5},
        {"match_iou": 0},
        {"min_hits": 0},
        {"max_lost_frames": -1},
        {"max_lost_s": -1.0},
        {"velocity_smoothing": 0},
    ],
)
def test_bad_parameters(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        ByteTracker(**kwargs)


def test_registry() -> None:
    assert isinstance(make_tracker("bytetrack", min_hits=1), ByteTracker)
    with pytest.raises(ValueError, match="unknown tracker type"):
        make_tracker("sort")
