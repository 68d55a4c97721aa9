"""The unit a camera source emits; everything downstream refers back to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Frame:
    """One decoded picture.

    ``image`` is BGR uint8 (what OpenCV and the detectors expect). ``captured_at`` is UTC-aware
    wall time for evidence; ``monotonic_s`` is for durations and lag, immune to clock jumps.
    ``evidence_image`` is the main-stream picture when detection runs on a sub-stream.
    """

    camera_id: str
    seq: int
    image: npt.NDArray[np.uint8]
    captured_at: datetime
    monotonic_s: float
    evidence_image: npt.NDArray[np.uint8] | None = None

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def best_image(self) -> npt.NDArray[np.uint8]:
        """The highest-resolution picture we have of this instant, for evidence JPEGs."""
        return self.evidence_image if self.evidence_image is not None else self.image
