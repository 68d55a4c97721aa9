"""The one data type that flows from the detector through tracking to the rules.

Parallel numpy arrays (as in supervision's ``Detections``) keep per-frame work vectorised;
stages return new objects instead of mutating their input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Detections:
    """Boxes in pixel ``xyxy`` of the frame they were found in.

    ``labels`` are the model's class names (``"person"``, ``"head_hat"`` …), so rules never
    depend on a model's class index order. ``track_ids`` is -1 until the tracker assigns one.
    """

    xyxy: FloatArray
    scores: FloatArray
    labels: tuple[str, ...]
    track_ids: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.xyxy.shape != (n, 4) or self.scores.shape != (n,):
            raise ValueError(
                f"Detections arrays disagree: xyxy {self.xyxy.shape}, scores {self.scores.shape}, {n} labels"
            )
        if self.track_ids.shape != (n,):
            object.__setattr__(self, "track_ids", np.full(n, -1, dtype=np.int64))

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), ())

    @classmethod
    def from_lists(
        cls,
        boxes: Sequence[Sequence[float]],
        scores: Sequence[float],
        labels: Sequence[str],
        track_ids: Sequence[int] | None = None,
    ) -> Detections:
        ids = np.asarray(track_ids, np.int64) if track_ids is not None else np.full(len(labels), -1, np.int64)
        return cls(
            np.asarray(boxes, np.float32).reshape(-1, 4),
            np.asarray(scores, np.float32).reshape(-1),
            tuple(labels),
            ids,
        )

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: npt.NDArray[np.bool_] | npt.NDArray[np.int64] | slice) -> Detections:
        idx = np.arange(len(self))[index]
        return Detections(self.xyxy[idx], self.scores[idx], tuple(self.labels[i] for i in idx), self.track_ids[idx])

    def with_label(self, *labels: str) -> Detections:
        wanted = set(labels)
        return self[np.array([lab in wanted for lab in self.labels], dtype=bool)]

    def with_track_ids(self, track_ids: IntArray) -> Detections:
        return replace(self, track_ids=np.asarray(track_ids, np.int64))

    @property
    def areas(self) -> FloatArray:
        wh: FloatArray = np.clip(self.xyxy[:, 2:] - self.xyxy[:, :2], 0, None)
        return (wh[:, 0] * wh[:, 1]).astype(np.float32)

    @property
    def centers(self) -> FloatArray:
        return ((self.xyxy[:, :2] + self.xyxy[:, 2:]) / 2).astype(np.float32)
