"""What every rule shares: the observation it reads, the violation it emits, episode debouncing.

An *episode* is one continuous stretch of a condition for one key (a track in a zone, or a
zone). It raises once after ``min_duration_s``; it is re-raised only after ``realarm_s`` while it
goes on; a new episode of the same key stays quiet until ``cooldown_s`` after the last event.
So one person without a hat for a minute is one event, not sixty.
"""

from __future__ import annotations

import abc
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from edge_agent.config import RuleSettings
from edge_agent.detections import Detections
from edge_agent.frame import Frame
from edge_agent.zones import Schedule, Zone
from mingchu.contract.messages import RoomType
from mingchu.taxonomy import ViolationClassInfo


@dataclass(frozen=True)
class Quality:
    """Cheap picture statistics for obstruction checks (on a small grey copy)."""

    mean_luma: float
    std_luma: float
    sharpness: float  # variance of the Laplacian


@dataclass(frozen=True)
class Observation:
    """One processed frame: the frame, its tracked detections and its picture quality."""

    frame: Frame
    detections: Detections
    quality: Quality | None = None


@dataclass(frozen=True)
class Violation:
    """A raised violation, before it becomes a signed ``ViolationEvent``."""

    class_id: str
    severity: int
    rule: str
    camera_id: str
    zone_id: str | None
    room_type: RoomType
    track_id: int | None
    score: float
    duration_s: float
    detections: Detections
    frame: Frame | None
    occurred_at: datetime
    detail: str = ""


@dataclass(frozen=True)
class RuleContext:
    """Everything a rule instance needs to know about its camera and class."""

    camera_id: str
    room_type: RoomType
    zones: tuple[Zone, ...]
    schedule: Schedule | None
    info: ViolationClassInfo
    settings: RuleSettings

    def zones_applying(self) -> tuple[Zone, ...]:
        allowed = self.settings.room_types
        return tuple(z for z in self.zones if allowed is None or z.room_type in allowed)


@dataclass
class _Episode:
    started: float
    last_seen: float
    fired_at: float | None = None


@dataclass
class EpisodeTracker:
    """Debounces a condition per key into events (see module doc). Owned by one rule instance."""

    min_duration_s: float
    grace_s: float
    cooldown_s: float
    realarm_s: float
    _episodes: dict[Hashable, _Episode] = field(default_factory=dict)
    _last_fired: dict[Hashable, float] = field(default_factory=dict)

    def update(self, active: set[Hashable], now: float) -> list[tuple[Hashable, float]]:
        """Record which keys hold at ``now`` (monotonic s); return (key, duration) of those that fire."""
        for key in active:
            ep = self._episodes.get(key)
            if ep is None or now - ep.last_seen > self.grace_s:
                self._episodes[key] = _Episode(started=now, last_seen=now)
            else:
                ep.last_seen = now
        fired: list[tuple[Hashable, float]] = []
        for key, ep in list(self._episodes.items()):
            if now - ep.last_seen > self.grace_s:
                del self._episodes[key]
                continue
            if key not in active:
                continue
            duration = now - ep.started
            if duration < self.min_duration_s:
                continue
            if ep.fired_at is None:
                last = self._last_fired.get(key)
                if last is not None and now - last < self.cooldown_s:
                    continue
            elif self.realarm_s <= 0 or now - ep.fired_at < self.realarm_s:
                continue
            ep.fired_at = now
            self._last_fired[key] = now
            fired.append((key, duration))
        return fired


class Rule(abc.ABC):
    """One violation class on one camera. Subclasses decide what is 'active' per key."""

    type: str = ""

    def __init__(self, context: RuleContext) -> None:
        self.ctx = context
        s = context.settings
        self.episodes = EpisodeTracker(self.min_duration(), s.grace_s, s.cooldown_s, s.realarm_s)

    def min_duration(self) -> float:
        return self.ctx.settings.min_duration_s

    @property
    def name(self) -> str:
        return f"{self.type}:{self.ctx.info.id}"

    @abc.abstractmethod
    def observe(self, obs: Observation) -> list[Violation]:
        """Update state with one processed frame; return violations raised now."""

    def idle(self, now_monotonic: float, now: datetime) -> list[Violation]:
        """Called when no frame has arrived for a while; only health rules care."""
        return []

    def _violation(
        self,
        obs: Observation,
        zone: Zone | None,
        track_id: int | None,
        duration: float,
        detections: Detections,
        detail: str = "",
    ) -> Violation:
        score = float(detections.scores.max()) if len(detections) else 1.0
        return Violation(
            class_id=self.ctx.info.id,
            severity=self.ctx.info.severity,
            rule=self.name,
            camera_id=self.ctx.camera_id,
            zone_id=zone.id if zone else None,
            room_type=zone.room_type if zone else self.ctx.room_type,
            track_id=track_id,
            score=min(max(score, 0.0), 1.0),
            duration_s=round(max(duration, 0.0), 3),
            detections=detections,
            frame=obs.frame,
            occurred_at=obs.frame.captured_at,
            detail=detail,
        )


def large_enough(detections: Detections, frame: Frame, min_area: float) -> Detections:
    """Drop boxes smaller than ``min_area`` of the frame (far-away noise)."""
    if min_area <= 0 or len(detections) == 0:
        return detections
    return detections[detections.areas >= min_area * frame.width * frame.height]


def best_track(detections: Detections) -> int | None:
    """Track id of the highest-scoring box that has one (new tracks are unconfirmed, id -1)."""
    tracked = detections.track_ids >= 0
    if not tracked.any():
        return None
    scores = np.where(tracked, detections.scores, -1.0)
    return int(detections.track_ids[int(scores.argmax())])


def containment(parts: Detections, people: Detections) -> npt.NDArray[np.float32]:
    """Matrix [part, person]: fraction of each part box lying inside each person box."""
    if len(parts) == 0 or len(people) == 0:
        return np.zeros((len(parts), len(people)), dtype=np.float32)
    a, b = parts.xyxy[:, None, :], people.xyxy[None, :, :]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    out: npt.NDArray[np.float32] = (iw * ih / np.maximum(parts.areas[:, None], 1e-6)).astype(np.float32)
    return out
