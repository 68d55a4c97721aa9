"""Cheap per-frame gate: skip the detector while nothing moves, and measure picture quality.

Works on a small grayscale (luma) copy of the frame, so it costs ~1–2 ms even for 1080p.
Running-average background + absdiff + threshold; regions that move for harmless reasons
(a TV, steam over a pot) are masked out with normalised polygons. A keep-alive still lets the
detector run every ``keepalive_s`` because an open bin lid or an unattended flame never moves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Polygon = Sequence[tuple[float, float]]
NormBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class MotionResult:
    """``changed_fraction`` is of the unmasked area; ``boxes`` are normalised xyxy (if requested)."""

    moved: bool
    changed_fraction: float
    boxes: tuple[NormBox, ...] = ()


@dataclass(frozen=True)
class FrameQuality:
    """Numbers for the 'camera obstructed / covered / defocused' rule; thresholds belong to the rule.

    ``brightness`` is mean luma 0–255 (black lens cap ≈ 0), ``uniformity_std`` is luma standard
    deviation (spray paint, a cloth or a wall right in front ≈ a few units), ``blur`` is the
    variance of the Laplacian at a fixed 320 px width (defocus or grease on the lens → small).
    """

    brightness: float
    uniformity_std: float
    blur: float


def to_small_gray(image: npt.NDArray[np.uint8], width: int) -> npt.NDArray[np.uint8]:
    """Downscale first (INTER_AREA also averages sensor noise), then take luma."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or image.size == 0:
        raise ValueError(f"expected a non-empty uint8 gray or BGR image, got {image.dtype} {image.shape}")
    if image.ndim == 3 and image.shape[2] != 3:
        raise ValueError(f"expected 3 channels (BGR), got {image.shape[2]}")
    h, w = image.shape[:2]
    target = (width, max(1, round(h * width / w))) if w > width else (w, h)
    small = cv2.resize(image, target, interpolation=cv2.INTER_AREA) if target != (w, h) else image
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    return np.asarray(gray, dtype=np.uint8)


def frame_quality(image: npt.NDArray[np.uint8]) -> FrameQuality:
    """Brightness, uniformity and sharpness of one frame (about 1 ms on 1080p)."""
    gray = to_small_gray(image, 320)
    mean, std = cv2.meanStdDev(gray)
    lap = cv2.Laplacian(gray, cv2.CV_32F)
    return FrameQuality(float(mean[0, 0]), float(std[0, 0]), float(lap.var()))


def _validate_polygons(masks: Sequence[Polygon]) -> list[npt.NDArray[np.float32]]:
    out = []
    for i, polygon in enumerate(masks):
        points = np.asarray(polygon, dtype=np.float32)
        if points.ndim != 2 or points.shape[1] != 2 or len(points) < 3:
            raise ValueError(f"motion mask {i}: need at least 3 (x, y) points, got {polygon!r}")
        if not np.isfinite(points).all() or points.min() < 0 or points.max() > 1:
            raise ValueError(f"motion mask {i}: coordinates must be normalised to [0, 1], got {polygon!r}")
        out.append(points)
    return out


class MotionGate:
    """Decide per frame whether anything moved, and whether the detector should run.

    - ``width``: analysis width in pixels (height follows the aspect ratio).
    - ``threshold``: luma difference (0–255) that counts a pixel as changed.
    - ``min_area_fraction``: share of the unmasked area that must change to count as motion.
    - ``learning_rate``: background running-average weight; higher adapts to lighting faster.
    - ``masks``: polygons in normalised (x, y) coordinates to ignore.
    - ``keepalive_s``: run the detector at least this often even without motion.
    - ``hold_s``: keep detecting this long after the last motion (people pause after moving).
    - ``with_boxes``: also return normalised boxes of changed regions (costs ~0.3 ms).
    """

    def __init__(
        self,
        *,
        width: int = 160,
        threshold: int = 25,
        min_area_fraction: float = 0.003,
        learning_rate: float = 0.05,
        masks: Sequence[Polygon] = (),
        keepalive_s: float = 10.0,
        hold_s: float = 2.0,
        with_boxes: bool = False,
    ) -> None:
        if width < 16:
            raise ValueError(f"width must be >= 16, got {width}")
        if not 0 < threshold < 255:
            raise ValueError(f"threshold must be in 1..254, got {threshold}")
        if not 0 <= min_area_fraction <= 1:
            raise ValueError(f"min_area_fraction must be in [0, 1], got {min_area_fraction}")
        if not 0 < learning_rate <= 1:
            raise ValueError(f"learning_rate must be in (0, 1], got {learning_rate}")
        if keepalive_s <= 0 or hold_s < 0:
            raise ValueError("keepalive_s must be positive and hold_s non-negative")
        self.width, self.threshold, self.min_area_fraction = width, threshold, min_area_fraction
        self.learning_rate, self.keepalive_s, self.hold_s = learning_rate, keepalive_s, hold_s
        self.with_boxes = with_boxes
        self._polygons = _validate_polygons(masks)
        self._background: npt.NDArray[np.float32] | None = None
        self._keep: npt.NDArray[np.uint8] | None = None  # 255 where motion counts
        self._keep_count = 0
        self._last_motion: float | None = None
        self._last_detect: float | None = None

    def reset(self) -> None:
        """Forget the background (after a camera reconnect or a resolution change)."""
        self._background, self._keep = None, None

    def _prepare(self, shape: tuple[int, int]) -> None:
        h, w = shape
        keep = np.full((h, w), 255, np.uint8)
        scale = np.array([w - 1, h - 1], np.float32)
        for points in self._polygons:
            cv2.fillPoly(keep, [np.round(points * scale).astype(np.int32)], 0)
        self._keep, self._keep_count = keep, int(np.count_nonzero(keep))

    def update(self, image: npt.NDArray[np.uint8], now: float | None = None) -> MotionResult:
        """Compare ``image`` with the background, then fold it in. ``now`` (monotonic s) feeds the hold."""
        gray = cv2.GaussianBlur(to_small_gray(image, self.width), (3, 3), 0)
        if self._background is None or self._background.shape != gray.shape:
            self._background = gray.astype(np.float32)
            self._prepare(gray.shape)
            return MotionResult(False, 0.0)
        assert self._keep is not None
        diff = cv2.absdiff(gray, cv2.convertScaleAbs(self._background))
        _, above = cv2.threshold(diff, self.threshold, 255, cv2.THRESH_BINARY)
        changed = np.asarray(cv2.bitwise_and(above, self._keep), dtype=np.uint8)
        fraction = cv2.countNonZero(changed) / self._keep_count if self._keep_count else 0.0
        cv2.accumulateWeighted(gray, self._background, self.learning_rate)
        moved = fraction >= self.min_area_fraction and fraction > 0
        if moved and now is not None:
            self._last_motion = now
        boxes = self._boxes(changed) if (moved and self.with_boxes) else ()
        return MotionResult(moved, float(fraction), boxes)

    def _boxes(self, changed: npt.NDArray[np.uint8]) -> tuple[NormBox, ...]:
        h, w = changed.shape
        joined = cv2.dilate(changed, np.ones((5, 5), np.uint8))
        count, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
        min_area = max(4, self.min_area_fraction * h * w / 4)
        return tuple(
            (x / w, y / h, (x + bw) / w, (y + bh) / h)
            for x, y, bw, bh, area in stats[1:count].tolist()
            if area >= min_area
        )

    def should_detect(self, now: float) -> bool:
        """True within ``hold_s`` of the last motion, or when ``keepalive_s`` passed since the last run.

        Call after :meth:`update` with the same monotonic ``now``; a True answer counts as a run.
        """
        recent_motion = self._last_motion is not None and now - self._last_motion <= self.hold_s
        due = self._last_detect is None or now - self._last_detect >= self.keepalive_s
        if recent_motion or due:
            self._last_detect = now
            return True
        return False
