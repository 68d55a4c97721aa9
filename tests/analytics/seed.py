"""A small hand-computable world: 2 districts, 3 schools, 4 cameras, 9 cases around March 2026 (Asia/Shanghai).

Expected numbers for March 2026 (see test_analytics.py) are worked out by hand from this table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from cloud_api.db.models import Camera, CameraStatusLog, Case, District, School

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 4, 10, 0, 0, tzinfo=UTC)


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH).astimezone(UTC)


def utc(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


# (id, school, class, severity, first seen, deadline hours, state, closed after hours or None)
CASES = [
    (1, "s1", "no_mask", 3, local(2026, 3, 1, 0, 30), 72, "closed", 10),  # local Mar 1, UTC Feb 28
    (2, "s1", "no_chef_hat", 3, local(2026, 2, 28, 23, 30), 72, "closed", 1),  # February: outside
    (3, "s1", "smoking", 2, local(2026, 3, 2, 10), 24, "closed", 48),  # closed late
    (4, "s1", "pest_intrusion", 1, local(2026, 3, 2, 23, 59), 4, "rectifying", None),  # overdue
    (5, "s2", "bin_lid_open", 2, local(2026, 3, 10, 8), 24, "closed", 20),
    (6, "s2", "no_uniform", 3, local(2026, 3, 31, 23), 72, "submitted", None),  # past deadline, not owing
    (7, "s3", "phone_use", 3, local(2026, 3, 15, 12), 72, "closed", 2),
    (8, "s3", "no_mask", 3, local(2026, 3, 15, 13), 72, "false_positive", 5),  # not a violation
    (9, "s3", "camera_offline", 2, local(2026, 4, 1, 0, 10), 24, "closed", 1),  # April: outside
]


def seed(session: Session) -> None:
    session.add_all([District(id="d1", name="东城区"), District(id="d2", name="西城区")])
    session.flush()
    session.add_all(
        [
            School(id="s1", district_id="d1", name="第一中学"),
            School(id="s2", district_id="d1", name="第二小学"),
            School(id="s3", district_id="d2", name="第三中学"),
        ]
    )
    session.flush()
    session.add_all(
        [
            Camera(id="cam1a", school_id="s1", name="后厨1"),
            Camera(id="cam1b", school_id="s1", name="后厨2"),
            Camera(id="cam2", school_id="s2", name="后厨"),
            Camera(id="cam3", school_id="s3", name="后厨"),
        ]
    )
    session.flush()
    for cid, school, cls, sev, first, hours, state, closed_after in CASES:
        closed = None if closed_after is None else first + timedelta(hours=closed_after)
        session.add(
            Case(
                id=cid,
                school_id=school,
                camera_id=None,
                violation_class=cls,
                severity=sev,
                state=state,
                first_seen_at=first,
                last_seen_at=first,
                deadline_at=first + timedelta(hours=hours),
                closed_at=closed,
                created_at=first,
                updated_at=closed or first,
            )
        )
    # Online history for 2026-03-15 local (= 03-14 16:00 .. 03-15 16:00 UTC):
    # cam1a online from 22:00 UTC (18 h), cam1b online all day (24 h), cam2 no history (0 h),
    # cam3 online until 04:00 UTC (12 h).
    session.add_all(
        [
            CameraStatusLog(camera_id="cam1a", state="offline", at=utc(2026, 3, 1, 0)),
            CameraStatusLog(camera_id="cam1a", state="online", at=utc(2026, 3, 14, 22)),
            CameraStatusLog(camera_id="cam1b", state="offline", at=utc(2026, 2, 1, 0)),
            CameraStatusLog(camera_id="cam1b", state="online", at=utc(2026, 2, 2, 0)),
            CameraStatusLog(camera_id="cam3", state="online", at=utc(2026, 3, 10, 0)),
            CameraStatusLog(camera_id="cam3", state="offline", at=utc(2026, 3, 15, 4)),
            CameraStatusLog(camera_id="cam3", state="online", at=utc(2026, 3, 16, 0)),
        ]
    )
