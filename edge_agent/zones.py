"""Which detections are in which zone, and whether a moment is inside staffed hours.

Zones are normalised polygons so one config works for the main and the sub stream. People are
placed by the bottom-centre of their box (their feet), small objects by their centre.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from edge_agent.config import WEEKDAYS, CameraConfig, ScheduleConfig, ZoneConfig, parse_range
from edge_agent.detections import Detections
from mingchu.contract.messages import RoomType

WHOLE_FRAME = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))


def points_in_polygon(points: npt.NDArray[np.float32], polygon: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Even-odd ray casting, vectorised over points; points on the frame edge count as inside."""
    if len(points) == 0:
        return np.zeros(0, dtype=bool)
    x, y = points[:, 0][:, None], points[:, 1][:, None]
    x1, y1 = polygon[:, 0][None, :], polygon[:, 1][None, :]
    x2, y2 = np.roll(polygon[:, 0], -1)[None, :], np.roll(polygon[:, 1], -1)[None, :]
    crosses = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    inside = np.logical_and(crosses, x < x_at).sum(axis=1) % 2 == 1
    # the closed frame border (x or y == 1.0) would otherwise fall outside a whole-frame polygon
    on_edge = np.zeros(len(points), dtype=bool)
    for (ax, ay), (bx, by) in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        cross = (bx - ax) * (points[:, 1] - ay) - (by - ay) * (points[:, 0] - ax)
        within = (
            (np.minimum(ax, bx) - 1e-6 <= points[:, 0])
            & (points[:, 0] <= np.maximum(ax, bx) + 1e-6)
            & (np.minimum(ay, by) - 1e-6 <= points[:, 1])
            & (points[:, 1] <= np.maximum(ay, by) + 1e-6)
        )
        on_edge |= within & (np.abs(cross) < 1e-6)
    return np.asarray(inside | on_edge, dtype=bool)


@dataclass(frozen=True)
class Zone:
    """One polygon in normalised coordinates with its room type."""

    id: str
    room_type: RoomType
    polygon: npt.NDArray[np.float32]
    anchor: str = "bottom_center"

    def contains(
        self, detections: Detections, width: int, height: int, anchor: str | None = None
    ) -> npt.NDArray[np.bool_]:
        """Mask over ``detections``: is the anchor point of each box inside this zone?"""
        if len(detections) == 0:
            return np.zeros(0, dtype=bool)
        xyxy = detections.xyxy
        how = anchor or self.anchor
        if how == "bottom_center":
            pts = np.stack([(xyxy[:, 0] + xyxy[:, 2]) / 2, xyxy[:, 3]], axis=1)
        else:
            pts = detections.centers
        norm = pts / np.array([max(width, 1), max(height, 1)], dtype=np.float32)
        return points_in_polygon(norm.astype(np.float32), self.polygon)


def build_zones(camera: CameraConfig) -> tuple[Zone, ...]:
    """The camera's zones, or one whole-frame zone ``all`` of the camera's room type."""
    configs = camera.zones or (ZoneConfig(id="all", polygon=WHOLE_FRAME),)
    return tuple(
        Zone(z.id, z.room_type or camera.room_type, np.asarray(z.polygon, dtype=np.float32), z.anchor) for z in configs
    )


class Schedule:
    """Staffed hours in local time; ranges whose end ≤ start continue into the next day."""

    def __init__(self, config: ScheduleConfig, timezone: str) -> None:
        self.tz = ZoneInfo(timezone)
        self._ranges: dict[int, list[tuple[int, int]]] = {
            day: [parse_range(r) for r in getattr(config, name)] for day, name in enumerate(WEEKDAYS)
        }

    def is_staffed(self, when: datetime) -> bool:
        """True if ``when`` (aware) falls inside any range, counting overnight spill from yesterday."""
        if when.tzinfo is None:
            raise ValueError("Schedule.is_staffed needs an aware datetime")
        local = when.astimezone(self.tz)
        minute = local.hour * 60 + local.minute
        today = local.weekday()
        for start, end in self._ranges[today]:
            if (start < end and start <= minute < end) or (end <= start and minute >= start):
                return True
        yesterday = (local - timedelta(days=1)).weekday()
        return any(end <= start and minute < end for start, end in self._ranges[yesterday])
