"""School rankings for regulators: by case count, rate per camera-day, closure rate or overdue cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud_api.analytics.periods import Period
from cloud_api.analytics.scope import Scope
from cloud_api.analytics.stats import Counts, counts_by, percent, ratio
from cloud_api.db.models import Camera, District, School

SortKey = Literal["count", "rate_per_camera_day", "closure_rate", "overdue"]
SORT_KEYS: tuple[SortKey, ...] = ("count", "rate_per_camera_day", "closure_rate", "overdue")


class SchoolRank(BaseModel):
    """One school's line in a ranking; ``rank`` 1 is the top of the chosen order."""

    model_config = ConfigDict(frozen=True)

    rank: int
    school_id: str
    school_name: str
    district_id: str
    district_name: str
    cameras: int
    total: int
    closed: int
    open: int
    overdue: int
    closure_rate: float | None
    closure_rate_pct: str
    on_time_rate: float | None
    on_time_rate_pct: str
    rate_per_camera_day: float | None


_SORT_FIELDS: dict[str, str] = {
    "count": "total",
    "rate_per_camera_day": "rate_per_camera_day",
    "closure_rate": "closure_rate",
    "overdue": "overdue",
}


def rank_schools(
    session: Session,
    period: Period,
    scope: Scope,
    now: datetime,
    *,
    sort: SortKey = "count",
    descending: bool = True,
    counts: dict[str, Counts] | None = None,
) -> list[SchoolRank]:
    """Every school in scope (also those without cases), ordered; ties break on school id.

    ``counts`` lets a caller pass per-school counters from the daily rollup instead of scanning cases.
    A school with no cases has no closure rate and sorts last either way.
    """
    if sort not in SORT_KEYS:
        raise ValueError(f"unknown sort {sort!r} (one of {', '.join(SORT_KEYS)})")
    per_school = counts if counts is not None else counts_by(session, "school", period, scope, now)
    camera_counts = dict(
        session.execute(
            select(Camera.school_id, func.count())
            .join(School, School.id == Camera.school_id)
            .where(scope.school_filter())
            .group_by(Camera.school_id)
        ).all()
    )
    schools = session.execute(
        select(School.id, School.name, School.district_id, District.name)
        .join(District, District.id == School.district_id)
        .where(scope.school_filter())
    ).all()
    rows: list[dict[str, Any]] = []
    for school_id, school_name, district_id, district_name in schools:
        c = per_school.get(school_id) or Counts()
        cameras = int(camera_counts.get(school_id, 0))
        rows.append(
            {
                "school_id": school_id,
                "school_name": school_name,
                "district_id": district_id,
                "district_name": district_name,
                "cameras": cameras,
                "total": c.total,
                "closed": c.closed,
                "open": c.open,
                "overdue": c.overdue,
                "closure_rate": ratio(c.closed, c.total),
                "closure_rate_pct": percent(c.closed, c.total),
                "on_time_rate": ratio(c.closed_on_time, c.closed),
                "on_time_rate_pct": percent(c.closed_on_time, c.closed),
                "rate_per_camera_day": None if cameras == 0 else round(c.total / (cameras * period.days), 6),
            }
        )
    field = _SORT_FIELDS[sort]
    defined = sorted((r for r in rows if r[field] is not None), key=lambda r: r["school_id"])
    defined.sort(key=lambda r: r[field], reverse=descending)
    undefined = sorted((r for r in rows if r[field] is None), key=lambda r: r["school_id"])
    # validated once, after sorting: building thousands of models twice showed up in the benchmark
    return [SchoolRank(rank=i, **r) for i, r in enumerate(defined + undefined, start=1)]
