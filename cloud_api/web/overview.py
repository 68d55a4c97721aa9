"""The regulator's and school's headline figures, taken from the analytics area (one source of truth)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud_api.analytics.periods import Period, local_today
from cloud_api.analytics.rankings import SchoolRank, rank_schools
from cloud_api.analytics.scope import Scope
from cloud_api.analytics.stats import GroupStats, closure_table, overall
from cloud_api.analytics.trends import TrendPoint, trend
from cloud_api.config import InterviewConfig
from cloud_api.db.models import Camera, School
from cloud_api.services.escalation import InterviewEntry, interview_list
from cloud_api.web.auth import WebUser

WINDOW_DAYS = 30


@dataclass
class _ScopeUser:
    """The mutable shape analytics' ``UserLike`` protocol asks for."""

    role: str
    district_id: str | None
    school_id: str | None


def scope_of(user: WebUser) -> Scope:
    """Parents and unknown roles get no analytics scope (callers check the role first)."""
    return Scope.for_user(_ScopeUser(user.role, user.district_id, user.school_id))


def window(now: datetime, days: int = WINDOW_DAYS) -> Period:
    """The last ``days`` local days including today."""
    today = local_today(now)
    return Period(today - timedelta(days=days - 1), today)


@dataclass(frozen=True)
class CameraOnline:
    online: int
    total: int

    @property
    def rate(self) -> float | None:
        return None if self.total == 0 else self.online / self.total


def cameras_online_now(session: Session, scope: Scope) -> CameraOnline:
    """Cameras whose latest reported state is ``online``, now (the time-weighted rate is in reports)."""
    rows = {
        str(state): int(n)
        for state, n in session.execute(
            select(Camera.state, func.count())
            .join(School, School.id == Camera.school_id)
            .where(scope.school_filter())
            .group_by(Camera.state)
        ).all()
    }
    return CameraOnline(online=int(rows.get("online", 0)), total=int(sum(rows.values())))


@dataclass(frozen=True)
class Overview:
    period: Period
    totals: GroupStats
    categories: list[GroupStats]
    trend: list[TrendPoint]
    ranking: list[SchoolRank]
    cameras: CameraOnline
    interviews: list[InterviewEntry]


def build_overview(session: Session, user: WebUser, now: datetime, interview: InterviewConfig) -> Overview:
    scope = scope_of(user)
    period = window(now)
    return Overview(
        period=period,
        totals=overall(session, period, scope, now),
        categories=closure_table(session, "category", period, scope, now),
        trend=trend(session, period, scope, now),
        ranking=rank_schools(session, period, scope, now, sort="closure_rate", descending=True),
        cameras=cameras_online_now(session, scope),
        interviews=interview_list(session, now, interview, district_id=scope.district_id)
        if user.role in ("regulator", "admin")
        else [],
    )


@dataclass(frozen=True)
class SchoolOverview:
    totals: GroupStats
    cameras: CameraOnline
    categories: list[GroupStats]
    trend: list[TrendPoint]


def school_overview(session: Session, user: WebUser, now: datetime) -> SchoolOverview:
    scope, period = scope_of(user), window(now)
    return SchoolOverview(
        totals=overall(session, period, scope, now),
        cameras=cameras_online_now(session, scope),
        categories=closure_table(session, "category", period, scope, now),
        trend=trend(session, period, scope, now),
    )
