"""ByteTrack-style multi-object tracker: stable ids for the rules' durations and de-duplication.

Why our own: the kept tracker libraries pull matplotlib/scipy or torch into the edge runtime;
the algorithm itself is small. Association follows ByteTrack: high-score detections first,
then low-score ones (often a partly occluded person) against still-tracked objects, so a
dip in confidence does not break a track. Each track predicts its box with a smoothed
constant velocity, so two people crossing keep their own ids. Tracks only match detections
of the same label: a person box never continues a rodent track. One tracker per camera.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from edge_agent.detections import Detections

Box = npt.NDArray[np.float32]


class TrackState(StrEnum):
    TENTATIVE = "tentative"  # seen fewer than min_hits times; no id shown yet
    TRACKED = "tracked"
    LOST = "lost"  # kept for the track buffer in case the object reappears


@dataclass
class _Track:
    label: str
    box: Box  # last matched xyxy
    velocity: Box  # xyxy change per step
    score: float
    hits: int
    first_seen: float
    last_seen: float
    step_seen: int
    state: TrackState
    track_id: int = -1

    def predicted(self, step: int) -> Box:
        return (self.box + self.velocity * np.float32(step - self.step_seen)).astype(np.float32)


@dataclass(frozen=True)
class TrackInfo:
    """Read-only view of a confirmed track (for 'flame present for N s' style rules and debugging)."""

    track_id: int
    label: str
    xyxy: tuple[float, float, float, float]
    state: TrackState
    hits: int
    first_seen: float
    last_seen: float


def iou_matrix(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Pairwise IoU of xyxy boxes, shape (len(a), len(b))."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    iou: npt.NDArray[np.float32] = (inter / (area_a[:, None] + area_b[None, :] - inter + 1e-9)).astype(np.float32)
    return iou


def greedy_match(scores: npt.NDArray[np.float32], minimum: float) -> list[tuple[int, int]]:
    """Pairs (row, col) taken best-first while the score is >= ``minimum``; each used once."""
    pairs: list[tuple[int, int]] = []
    if scores.size == 0:
        return pairs
    rows, cols = np.nonzero(scores >= minimum)
    order = np.argsort(-scores[rows, cols], kind="stable")
    used_r: set[int] = set()
    used_c: set[int] = set()
    for k in order:
        r, c = int(rows[k]), int(cols[k])
        if r not in used_r and c not in used_c:
            pairs.append((r, c))
            used_r.add(r)
            used_c.add(c)
    return pairs


class Tracker(Protocol):
    def update(self, detections: Detections, now: float | None = None) -> Detections: ...
    def reset(self) -> None: ...


class ByteTracker:
    """Assign stable ``track_ids`` to detections, frame after frame.

    - ``high_threshold``: detections at or above it are matched first and may start tracks.
    - ``low_threshold``: detections below it are ignored entirely.
    - ``new_track_threshold``: minimum score to start a new track.
    - ``match_iou`` / ``low_match_iou`` / ``tentative_match_iou``: minimum IoU (against the
      predicted box) in the first stage, the low-score stage, and for unconfirmed tracks.
    - ``min_hits``: matches needed before a track gets an id (1 = immediately).
    - ``max_lost_frames`` / ``max_lost_s``: how long a lost track waits to be picked up again
      (seconds apply when ``update`` gets ``now``; whichever is exceeded first ends the track).
    - ``velocity_smoothing``: weight of the newest motion in the velocity estimate.
    - ``label_groups``: labels that may continue each other's track, e.g.
      ``[("head_hat", "head_nohat")]`` so a head keeps its id while the hat classifier flickers;
      the track takes the newest label. All other labels only match themselves.
    """

    def __init__(
        self,
        *,
        high_threshold: float = 0.5,
        low_threshold: float = 0.1,
        new_track_threshold: float = 0.6,
        match_iou: float = 0.2,
        low_match_iou: float = 0.5,
        tentative_match_iou: float = 0.3,
        min_hits: int = 2,
        max_lost_frames: int = 30,
        max_lost_s: float | None = None,
        velocity_smoothing: float = 0.5,
        label_groups: Sequence[Sequence[str]] = (),
    ) -> None:
        if not 0 <= low_threshold <= high_threshold <= 1:
            raise ValueError(f"need 0 <= low_threshold <= high_threshold <= 1, got {low_threshold}, {high_threshold}")
        if not 0 <= new_track_threshold <= 1:
            raise ValueError(f"new_track_threshold must be in [0, 1], got {new_track_threshold}")
        for name, value in (
            ("match_iou", match_iou),
            ("low_match_iou", low_match_iou),
            ("tentative_match_iou", tentative_match_iou),
        ):
            if not 0 < value <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {value}")
        if min_hits < 1 or max_lost_frames < 0:
            raise ValueError("min_hits must be >= 1 and max_lost_frames >= 0")
        if max_lost_s is not None and max_lost_s < 0:
            raise ValueError(f"max_lost_s must be >= 0, got {max_lost_s}")
        if not 0 < velocity_smoothing <= 1:
            raise ValueError(f"velocity_smoothing must be in (0, 1], got {velocity_smoothing}")
        self.high_threshold, self.low_threshold = high_threshold, low_threshold
        self.new_track_threshold = new_track_threshold
        self.match_iou, self.low_match_iou, self.tentative_match_iou = match_iou, low_match_iou, tentative_match_iou
        self.min_hits, self.max_lost_frames, self.max_lost_s = min_hits, max_lost_frames, max_lost_s
        self.velocity_smoothing = velocity_smoothing
        self._group: dict[str, str] = {}
        for group in label_groups:
            if isinstance(group, str) or len(group) < 2:
                raise ValueError(f"each label group needs at least two labels, got {group!r}")
            for label in group:
                if label in self._group:
                    raise ValueError(f"label {label!r} is in more than one label group")
                self._group[label] = group[0]
        self._next_id = 1
        self.reset()

    def reset(self) -> None:
        """Forget every track (camera reconnected, scene changed); ids keep counting up."""
        self._tracks: list[_Track] = []
        self._step = 0

    @property
    def tracks(self) -> list[TrackInfo]:
        """Confirmed tracks (tracked or lost), oldest first."""
        return [
            TrackInfo(t.track_id, t.label, tuple(float(v) for v in t.box), t.state, t.hits, t.first_seen, t.last_seen)  # type: ignore[arg-type]
            for t in self._tracks
            if t.state is not TrackState.TENTATIVE
        ]

    # ---- one frame -------------------------------------------------------------------------
    def update(self, detections: Detections, now: float | None = None) -> Detections:
        """Return a copy of ``detections`` with ``track_ids`` set (-1: not yet confirmed or too weak)."""
        if not (np.isfinite(detections.xyxy).all() and np.isfinite(detections.scores).all()):
            raise ValueError("detections contain NaN or infinite boxes/scores; the detector output is broken")
        self._step += 1
        step = self._step
        clock = float(now) if now is not None else float(step)
        n = len(detections)
        ids = np.full(n, -1, np.int64)
        scores = detections.scores
        high = [i for i in range(n) if scores[i] >= self.high_threshold]
        low = [i for i in range(n) if self.low_threshold <= scores[i] < self.high_threshold]

        confirmed = [t for t in self._tracks if t.state is not TrackState.TENTATIVE]
        tentative = [t for t in self._tracks if t.state is TrackState.TENTATIVE]

        # 1) high-score detections against every confirmed track (tracked or lost)
        matched, high_left, tracks_left = self._associate(confirmed, high, detections, step, self.match_iou)
        # 2) low-score detections against tracks that were being tracked until now
        still_tracked = [t for t in tracks_left if t.state is TrackState.TRACKED]
        matched_low, _, _ = self._associate(still_tracked, low, detections, step, self.low_match_iou)
        # 3) unconfirmed tracks get a second look at leftover high-score detections
        matched_tent, high_left, tent_left = self._associate(
            tentative, high_left, detections, step, self.tentative_match_iou
        )

        for track, i in matched + matched_low + matched_tent:
            self._absorb(track, detections, i, step, clock)
            if track.state is TrackState.TRACKED:
                ids[i] = track.track_id

        hit = {id(t) for t, _ in matched + matched_low}
        for track in confirmed:
            if id(track) not in hit:
                track.state = TrackState.LOST
        dead = {id(t) for t in tent_left}  # a tentative track that misses once was probably noise
        for track in confirmed:
            too_many_frames = step - track.step_seen > self.max_lost_frames
            too_long = now is not None and self.max_lost_s is not None and clock - track.last_seen > self.max_lost_s
            if track.state is TrackState.LOST and (too_many_frames or too_long):
                dead.add(id(track))
        self._tracks = [t for t in self._tracks if id(t) not in dead]

        for i in high_left:
            if scores[i] >= self.new_track_threshold:
                track = _Track(
                    detections.labels[i],
                    detections.xyxy[i].astype(np.float32).copy(),
                    np.zeros(4, np.float32),
                    float(scores[i]),
                    1,
                    clock,
                    clock,
                    step,
                    TrackState.TENTATIVE,
                )
                if self.min_hits <= 1:
                    self._confirm(track)
                    ids[i] = track.track_id
                self._tracks.append(track)
        return detections.with_track_ids(ids)

    def _associate(
        self, tracks: list[_Track], det_idx: list[int], detections: Detections, step: int, minimum: float
    ) -> tuple[list[tuple[_Track, int]], list[int], list[_Track]]:
        """Greedy IoU matching of predicted track boxes to detections with the same label."""
        if not tracks or not det_idx:
            return [], list(det_idx), list(tracks)
        predicted = np.stack([t.predicted(step) for t in tracks]).astype(np.float32)
        iou = iou_matrix(predicted, detections.xyxy[det_idx])
        det_keys = [self._group.get(detections.labels[i], detections.labels[i]) for i in det_idx]
        same_label = np.array([[self._group.get(t.label, t.label) == k for k in det_keys] for t in tracks], bool)
        iou[~same_label] = 0.0
        pairs = greedy_match(iou, minimum)
        used_t = {r for r, _ in pairs}
        used_d = {c for _, c in pairs}
        return (
            [(tracks[r], det_idx[c]) for r, c in pairs],
            [i for k, i in enumerate(det_idx) if k not in used_d],
            [t for k, t in enumerate(tracks) if k not in used_t],
        )

    def _absorb(self, track: _Track, detections: Detections, i: int, step: int, clock: float) -> None:
        box = detections.xyxy[i].astype(np.float32)
        gap = max(1, step - track.step_seen)
        motion = (box - track.box) / gap
        a = self.velocity_smoothing
        track.velocity = (a * motion + (1 - a) * track.velocity).astype(np.float32)
        track.box, track.score = box.copy(), float(detections.scores[i])
        track.label = detections.labels[i]
        track.hits += 1
        track.step_seen, track.last_seen = step, clock
        if track.state is TrackState.TENTATIVE:
            if track.hits >= self.min_hits:
                self._confirm(track)
        else:
            track.state = TrackState.TRACKED

    def _confirm(self, track: _Track) -> None:
        track.state = TrackState.TRACKED
        track.track_id = self._next_id
        self._next_id += 1


TRACKERS: dict[str, type[ByteTracker]] = {"bytetrack": ByteTracker}


def make_tracker(kind: str, **params: Any) -> ByteTracker:
    """Build a tracker from a config ``type`` and its plain parameters."""
    try:
        cls = TRACKERS[kind]
    except KeyError:
        raise ValueError(f"unknown tracker type {kind!r}; known: {sorted(TRACKERS)}") from None
    return cls(**params)
