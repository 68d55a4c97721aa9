"""Analytics API: closure tables, rankings, trends, camera online rate, case lists and their CSV/XLSX exports.

Thin layer over :mod:`cloud_api.analytics`: it turns the caller into a :class:`Scope`, the query string into a
:class:`Period`, and library errors into the hub's error shape. Periods are local (Asia/Shanghai) dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from cloud_api.analytics import (
    CasePage,
    GroupStats,
    Period,
    PeriodError,
    SchoolOnline,
    SchoolRank,
    Scope,
    ScopeDenied,
    TrendPoint,
    camera_online_rates,
    closure_table,
    list_cases,
    overall,
    rank_schools,
    trend,
)
from cloud_api.analytics.cases import CaseRow
from cloud_api.analytics.periods import DEFAULT_ZONE, local_today
from cloud_api.analytics.rankings import SortKey
from cloud_api.analytics.rollup import ROLLUP_ZONE, rollup_counts, rollup_is_fresh
from cloud_api.analytics.stats import Counts, GroupBy
from cloud_api.api.deps import CurrentUser, SessionDep
from cloud_api.db.base import utcnow
from cloud_api.errors import ERROR_RESPONSES, ApiError
from cloud_api.reports.export import cases_export, rankings_export

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"], responses=ERROR_RESPONSES)

DEFAULT_DAYS = 30
EXPORT_MAX_ROWS = 100_000


@dataclass(frozen=True)
class AnalyticsQuery:
    """What every analytics request resolves to."""

    period: Period
    scope: Scope
    now: datetime


def scope_of(user: CurrentUser, district_id: str | None = None, school_id: str | None = None) -> Scope:
    """403 for roles without analytics (parents) and for filters outside the caller's scope."""
    try:
        return Scope.for_user(user).narrow(district_id=district_id, school_id=school_id)
    except ScopeDenied as exc:
        raise ApiError(403, str(exc)) from exc


def analytics_query(
    user: CurrentUser,
    first: Annotated[date | None, Query(description="first local date (default: 29 days before `last`)")] = None,
    last: Annotated[date | None, Query(description="last local date, inclusive (default: today)")] = None,
    district_id: Annotated[str | None, Query(max_length=64, description="narrow to a district")] = None,
    school_id: Annotated[str | None, Query(max_length=64, description="narrow to a school")] = None,
) -> AnalyticsQuery:
    scope = scope_of(user, district_id, school_id)
    now = utcnow()
    last = last or local_today(now, DEFAULT_ZONE)
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    try:
        period = Period(first, last, DEFAULT_ZONE)
    except PeriodError as exc:
        raise ApiError(422, str(exc)) from exc
    return AnalyticsQuery(period=period, scope=scope, now=now)


QueryDep = Annotated[AnalyticsQuery, Depends(analytics_query)]


class RankingPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[SchoolRank]


def rollup_or_none(session: Session, group_by: str, q: AnalyticsQuery) -> dict[str, Counts] | None:
    """Counters from the daily rollup when it is fresh and can answer; otherwise None (scan cases)."""
    if group_by not in ("school", "district") or q.period.zone != ROLLUP_ZONE:
        return None
    if not rollup_is_fresh(session, q.now):
        return None
    return rollup_counts(session, group_by, q.period, q.scope, q.now)  # type: ignore[arg-type]


def download(body: bytes, content_type: str, filename: str) -> Response:
    return Response(
        content=body,
        media_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _stem(name: str, q: AnalyticsQuery) -> str:
    return f"mingchu-{name}-{q.period.first.isoformat()}_{q.period.last.isoformat()}"


@router.get("/summary", response_model=GroupStats, summary="Closure, on-time rate, open and overdue in scope")
def summary(q: QueryDep, session: SessionDep) -> GroupStats:
    by_district = rollup_or_none(session, "district", q)
    if by_district is None:
        return overall(session, q.period, q.scope, q.now)
    total = Counts()
    for c in by_district.values():
        total.add(c)
    return GroupStats.build("all", "全部", total)


@router.get("/closure", response_model=list[GroupStats], summary="Closure statistics and shares per group")
def closure(
    q: QueryDep,
    session: SessionDep,
    group_by: Annotated[GroupBy, Query(description="school, district, class or category")] = "school",
) -> list[GroupStats]:
    return closure_table(session, group_by, q.period, q.scope, q.now, rollup_or_none(session, group_by, q))


def _rankings(q: AnalyticsQuery, session: SessionDep, sort: SortKey, order: Literal["asc", "desc"]) -> list[SchoolRank]:
    counts = rollup_or_none(session, "school", q)
    return rank_schools(session, q.period, q.scope, q.now, sort=sort, descending=order == "desc", counts=counts)


@router.get("/rankings", response_model=RankingPage, summary="Schools ranked (count, rate per camera-day, …)")
def rankings(
    q: QueryDep,
    session: SessionDep,
    sort: SortKey = "count",
    order: Literal["asc", "desc"] = "desc",
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> RankingPage:
    rows = _rankings(q, session, sort, order)
    return RankingPage(total=len(rows), offset=offset, limit=limit, items=rows[offset : offset + limit])


@router.get("/rankings/export", summary="Rankings as CSV (UTF-8 with BOM) or XLSX", response_class=Response)
def rankings_download(
    q: QueryDep,
    session: SessionDep,
    format: Literal["csv", "xlsx"] = "csv",
    sort: SortKey = "count",
    order: Literal["asc", "desc"] = "desc",
) -> Response:
    body, content_type = rankings_export(_rankings(q, session, sort, order), format)
    return download(body, content_type, f"{_stem('rankings', q)}.{format}")


@router.get("/trend", response_model=list[TrendPoint], summary="Cases per local day, week or month")
def trend_points(q: QueryDep, session: SessionDep, bucket: Literal["day", "week", "month"] = "day") -> list[TrendPoint]:
    return trend(session, q.period, q.scope, q.now, bucket)


@router.get("/camera-online", response_model=list[SchoolOnline], summary="Camera online rate per school")
def camera_online(q: QueryDep, session: SessionDep) -> list[SchoolOnline]:
    return camera_online_rates(session, q.period, q.scope, q.now)


@router.get("/cases", response_model=CasePage, summary="Cases first seen in the period, newest first")
def cases(
    q: QueryDep,
    session: SessionDep,
    overdue: bool = False,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> CasePage:
    return list_cases(session, q.period, q.scope, q.now, offset=offset, limit=limit, only_overdue=overdue)


@router.get("/cases/export", summary="Case list as CSV (UTF-8 with BOM) or XLSX", response_class=Response)
def cases_download(
    q: QueryDep,
    session: SessionDep,
    format: Literal["csv", "xlsx"] = "csv",
    overdue: bool = False,
) -> Response:
    rows: list[CaseRow] = []
    while len(rows) < EXPORT_MAX_ROWS:
        page = list_cases(session, q.period, q.scope, q.now, offset=len(rows), limit=1000, only_overdue=overdue)
        rows.extend(page.items)
        if len(rows) >= page.total or not page.items:
            break
    else:
        raise ApiError(413, f"more than {EXPORT_MAX_ROWS} cases; export a shorter period")
    body, content_type = cases_export(rows, format)
    return download(body, content_type, f"{_stem('cases', q)}.{format}")
