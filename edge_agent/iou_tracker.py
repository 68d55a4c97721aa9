"""A minimal greedy IoU tracker, used only until ``edge_agent.track`` (ByteTrack-style) is present.

It gives the rules stable ids for slow-moving people so one person is one event.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge_agent.detections import Detections


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return (inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-6)).astype(np.float32)


@dataclass
class _Track:
    id: int
    label: str
    box: np.ndarray
    missed: int = 0


class IouTracker:
    """Same-label greedy matching by IoU; tracks survive ``max_missed`` frames unseen."""

    def __init__(self, iou_threshold: float = 0.3, max_missed: int = 15) -> None:
        self.iou_threshold, self.max_missed = iou_threshold, max_missed
        self._tracks: list[_Track] = []
        self._next_id = 1

    def update(self, dets: Detections) -> Detections:
        ids = np.full(len(dets), -1, dtype=np.int64)
        boxes = np.array([t.box for t in self._tracks], dtype=np.float32).reshape(-1, 4)
        iou = iou_matrix(boxes, dets.xyxy)
        for t_idx, track in enumerate(self._tracks):
            if iou.shape[1]:
                same = np.array([lab == track.label for lab in dets.labels]) & (ids < 0)
                scores = np.where(same, iou[t_idx], 0.0)
                best = int(scores.argmax())
                if scores[best] >= self.iou_threshold:
                    ids[best] = track.id
                    track.box, track.missed = dets.xyxy[best].copy(), 0
                    continue
            track.missed += 1
        self._tracks = [t for t in self._tracks if t.missed <= self.max_missed]
        for i in np.flatnonzero(ids < 0):
            ids[i] = self._next_id
            self._tracks.append(_Track(self._next_id, dets.labels[i], dets.xyxy[i].copy()))
            self._next_id += 1
        return dets.with_track_ids(ids)
