"""Camera online rate per school from the camera status history the ingest worker records.

A camera's time is "online" from a log entry with state ``online`` until its next entry; time before a
camera's first known state counts as not online (we cannot vouch for it).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud_api.analytics.periods import Period
from cloud_api.analytics.scope import Scope
from cloud_api.analytics.stats import percent, ratio
from cloud_api.db.models import Camera, CameraStatusLog, School

ONLINE = "online"


class SchoolOnline(BaseModel):
    model_config = ConfigDict(frozen=True)

    school_id: str
    school_name: str
    cameras: int
    online_rate: float | None
    online_rate_pct: str


def _online_seconds(states: list[tuple[datetime, str]], start: datetime, end: datetime) -> float:
    """Seconds within [start, end) spent online, given (at, state) sorted by time (first may precede start)."""
    total = 0.0
    for i, (at, state) in enumerate(states):
        nxt = states[i + 1][0] if i + 1 < len(states) else end
        lo, hi = max(at, start), min(nxt, end)
        if state == ONLINE and hi > lo:
            total += (hi - lo).total_seconds()
    return total


def camera_online_rates(session: Session, period: Period, scope: Scope, now: datetime) -> list[SchoolOnline]:
    """Online share of camera-time per school over the period (clipped at ``now`` for the current day)."""
    start, end = period.start, min(period.end, now)
    cameras = session.execute(
        select(Camera.id, Camera.school_id).join(School, School.id == Camera.school_id).where(scope.school_filter())
    ).all()
    schools = dict(session.execute(select(School.id, School.name).where(scope.school_filter())).all())
    ids = [c.id for c in cameras]
    history: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    if ids and end > start:
        last_before = (
            select(CameraStatusLog.camera_id, func.max(CameraStatusLog.at).label("at"))
            .where(CameraStatusLog.camera_id.in_(ids), CameraStatusLog.at < start)
            .group_by(CameraStatusLog.camera_id)
            .subquery()
        )
        seed = session.execute(
            select(CameraStatusLog.camera_id, CameraStatusLog.at, CameraStatusLog.state).join(
                last_before,
                (last_before.c.camera_id == CameraStatusLog.camera_id) & (last_before.c.at == CameraStatusLog.at),
            )
        ).all()
        inside = session.execute(
            select(CameraStatusLog.camera_id, CameraStatusLog.at, CameraStatusLog.state)
            .where(CameraStatusLog.camera_id.in_(ids), CameraStatusLog.at >= start, CameraStatusLog.at < end)
            .order_by(CameraStatusLog.at, CameraStatusLog.id)
        ).all()
        for camera_id, at, state in [*seed, *inside]:
            history[camera_id].append((at, state))
    online: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for camera_id, school_id in cameras:
        count[school_id] += 1
        states = sorted(history.get(camera_id, []), key=lambda s: s[0])
        online[school_id] += _online_seconds(states, start, end)
    span = max((end - start).total_seconds(), 0.0)
    rows = []
    for school_id, name in sorted(schools.items()):
        possible = span * count[school_id]
        rows.append(
            SchoolOnline(
                school_id=school_id,
                school_name=name,
                cameras=count[school_id],
                online_rate=ratio(online[school_id], possible),
                online_rate_pct=percent(online[school_id], possible),
            )
        )
    return rows
