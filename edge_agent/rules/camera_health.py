"""``camera_health``: no frames for ``offline_s`` (offline) or a dark / uniform / blurred picture
for ``obstructed_s`` (obstructed, e.g. a cloth over the lens)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import numpy.typing as npt

from edge_agent.detections import Detections
from edge_agent.motion import frame_quality
from edge_agent.rules.base import EpisodeTracker, Observation, Quality, Rule, RuleContext, Violation


def measure_quality(image: npt.NDArray[np.uint8]) -> Quality:
    """Brightness, contrast and sharpness from the motion module's frame-quality measure."""
    q = frame_quality(image)
    return Quality(q.brightness, q.uniformity_std, q.blur)


class CameraHealthRule(Rule):
    type = "camera_health"

    def __init__(self, context: RuleContext) -> None:
        super().__init__(context)
        s = context.settings
        self.obstruction = EpisodeTracker(s.obstructed_s, s.grace_s, s.cooldown_s, s.realarm_s)
        self.offline_since: float | None = None  # start of the current offline episode
        self.offline_fired_at: float | None = None
        self.last_frame_mono: float | None = None
        self.started_mono: float | None = None
        self.last_observation: Observation | None = None

    def obstructed_reason(self, q: Quality) -> str | None:
        s = self.ctx.settings
        if q.mean_luma < s.dark_luma:
            return f"dark (mean luma {q.mean_luma:.1f} < {s.dark_luma})"
        if q.std_luma < s.uniform_std:
            return f"uniform (luma std {q.std_luma:.1f} < {s.uniform_std})"
        if q.sharpness < s.blur_var:
            return f"blurred (Laplacian var {q.sharpness:.1f} < {s.blur_var})"
        return None

    def observe(self, obs: Observation) -> list[Violation]:
        now = obs.frame.monotonic_s
        self.last_frame_mono = now
        self.last_observation = obs
        self.offline_since = None  # a frame ends any offline episode
        quality = obs.quality or measure_quality(obs.frame.image)
        reason = self.obstructed_reason(quality)
        fired = self.obstruction.update({"obstructed"} if reason else set(), now)
        return [
            self._violation(obs, None, None, duration, Detections.empty(), f"obstructed: {reason}")
            for _key, duration in fired
        ]

    def idle(self, now_monotonic: float, now: datetime) -> list[Violation]:
        """Offline when no frame for ``offline_s`` since the last frame (or since start)."""
        if self.started_mono is None:
            self.started_mono = now_monotonic
        since = self.last_frame_mono if self.last_frame_mono is not None else self.started_mono
        silent = now_monotonic - since
        if silent < self.ctx.settings.offline_s:
            return []
        s = self.ctx.settings
        last_fire = self.offline_fired_at
        if self.offline_since is None:
            self.offline_since = since
            if last_fire is not None and now_monotonic - last_fire < s.cooldown_s:
                return []
        elif last_fire is not None and last_fire >= self.offline_since:
            if s.realarm_s <= 0 or now_monotonic - last_fire < s.realarm_s:
                return []
        elif last_fire is not None and now_monotonic - last_fire < s.cooldown_s:
            return []
        self.offline_fired_at = now_monotonic
        last = self.last_observation
        return [
            Violation(
                class_id=self.ctx.info.id,
                severity=self.ctx.info.severity,
                rule=self.name,
                camera_id=self.ctx.camera_id,
                zone_id=None,
                room_type=self.ctx.room_type,
                track_id=None,
                score=1.0,
                duration_s=round(silent, 3),
                detections=Detections.empty(),
                frame=last.frame if last else None,
                occurred_at=now,
                detail=f"offline: no frame for {silent:.0f} s",
            )
        ]
