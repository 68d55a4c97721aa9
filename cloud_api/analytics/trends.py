"""Case counts over time, bucketed by local day, week (Monday first) or month; empty buckets are zeros."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_api.analytics.periods import Bucket, Period, PeriodError, bucket_label, bucket_of
from cloud_api.analytics.scope import Scope
from cloud_api.analytics.sqlfuncs import local_date
from cloud_api.analytics.stats import Counts, cases_in, counter_columns, counts_of, percent, ratio
from cloud_api.db.models import Case, School


class TrendPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    bucket: str
    start: date
    total: int
    closed: int
    overdue: int
    closure_rate: float | None
    closure_rate_pct: str


def daily_counts(session: Session, period: Period, scope: Scope, now: datetime) -> dict[date, Counts]:
    """Counters per local calendar day of ``first_seen_at``."""
    day = local_date(Case.first_seen_at, period.zone)
    rows = session.execute(
        select(day.label("key"), *counter_columns(now))
        .select_from(Case)
        .join(School, School.id == Case.school_id)
        .where(cases_in(period, scope))
        .group_by(day)
    ).all()
    out: dict[date, Counts] = {}
    for r in rows:
        key = r.key if isinstance(r.key, date) else date.fromisoformat(str(r.key))
        out[key] = counts_of(r)
    return out


def trend(
    session: Session,
    period: Period,
    scope: Scope,
    now: datetime,
    bucket: Bucket = "day",
    daily: dict[date, Counts] | None = None,
) -> list[TrendPoint]:
    """One point per bucket that overlaps the period, oldest first."""
    if bucket not in ("day", "week", "month"):
        raise PeriodError(f"unknown bucket {bucket!r} (day, week or month)")
    per_day = daily if daily is not None else daily_counts(session, period, scope, now)
    buckets: dict[date, Counts] = {}
    for d in period.dates():
        buckets.setdefault(bucket_of(d, bucket), Counts())
    for d, c in per_day.items():
        buckets.setdefault(bucket_of(d, bucket), Counts()).add(c)
    return [
        TrendPoint(
            bucket=bucket_label(start, bucket),
            start=start,
            total=c.total,
            closed=c.closed,
            overdue=c.overdue,
            closure_rate=ratio(c.closed, c.total),
            closure_rate_pct=percent(c.closed, c.total),
        )
        for start, c in sorted(buckets.items())
    ]
