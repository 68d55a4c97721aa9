"""Daily rollup of closure counters per school and local day, refreshed incrementally.

Why: rankings and closure rates over months of a city's cases scan millions of rows; the rollup holds one row
per (school, local day) so those queries read thousands. Closure counters change when a case closes long
after its first day, so a refresh recomputes every (school, day) touched by cases whose ``updated_at`` moved
since the last refresh (with an overlap, so a slow transaction committing late is not missed). Overdue counts
depend on "now" and always come live from ``cases`` (a partial index on open cases keeps that cheap).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Date, Float, Index, Integer, String, and_, case, delete, func, insert, select, true, tuple_
from sqlalchemy.orm import Mapped, Session, mapped_column

from cloud_api.analytics.periods import DEFAULT_ZONE, Period
from cloud_api.analytics.scope import Scope
from cloud_api.analytics.sqlfuncs import local_date, seconds_between
from cloud_api.analytics.stats import Counts, counted_cases
from cloud_api.db.base import Base
from cloud_api.db.models import Case, School
from cloud_api.services.workflow import OWING_STATES

ROLLUP_ZONE = DEFAULT_ZONE
OVERLAP = timedelta(minutes=5)
FRESH_FOR = timedelta(minutes=15)
_STATE_KEY = "school_day"


class SchoolDayRollup(Base):
    """Counters of cases first seen on ``day`` (local, Asia/Shanghai) at ``school_id``."""

    __tablename__ = "analytics_school_day"
    school_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    closed_on_time: Mapped[int] = mapped_column(Integer, default=0)
    close_seconds: Mapped[float] = mapped_column(Float, default=0.0)


class RollupState(Base):
    """How far the rollup has read ``cases.updated_at``."""

    __tablename__ = "analytics_rollup_state"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    watermark: Mapped[datetime]
    refreshed_at: Mapped[datetime]


# Indexes the analytics need on the core ``cases`` table (created by migration 0020):
# recompute one school's day, find rows changed since the watermark, count open cases live.
CASE_INDEXES = (
    Index("ix_cases_school_id_first_seen_at", Case.school_id, Case.first_seen_at),
    Index("ix_cases_updated_at", Case.updated_at),
    Index(
        "ix_cases_open_first_seen_at",
        Case.first_seen_at,
        postgresql_where=Case.closed_at.is_(None),
        sqlite_where=Case.closed_at.is_(None),
    ),
)


def _aggregate(where: Any) -> Any:
    day = local_date(Case.first_seen_at, ROLLUP_ZONE)
    is_closed = Case.closed_at.is_not(None)
    on_time = and_(is_closed, Case.closed_at <= Case.deadline_at)
    return (
        select(
            Case.school_id,
            day.label("day"),
            func.count().label("total"),
            func.coalesce(func.sum(case((is_closed, 1), else_=0)), 0).label("closed"),
            func.coalesce(func.sum(case((on_time, 1), else_=0)), 0).label("closed_on_time"),
            func.coalesce(func.sum(seconds_between(Case.first_seen_at, Case.closed_at)), 0.0).label("close_seconds"),
        )
        .where(counted_cases(), where)
        .group_by(Case.school_id, day)
    )


def _insert_from(session: Session, where: Any) -> int:
    cols = ["school_id", "day", "total", "closed", "closed_on_time", "close_seconds"]
    result = session.execute(insert(SchoolDayRollup).from_select(cols, _aggregate(where)))
    return int(getattr(result, "rowcount", 0) or 0)


def rebuild_rollup(session: Session, now: datetime) -> int:
    """Recompute everything (first run, or after bulk imports that bypass ``updated_at``); returns rows."""
    session.execute(delete(SchoolDayRollup))
    rows = _insert_from(session, true())
    _set_state(session, now - OVERLAP, now)
    return rows


def refresh_rollup(session: Session, now: datetime) -> int:
    """Recompute the (school, day) pairs touched since the last refresh; returns how many pairs."""
    state = session.get(RollupState, _STATE_KEY)
    if state is None:
        rebuild_rollup(session, now)
        return -1
    since = state.watermark
    day = local_date(Case.first_seen_at, ROLLUP_ZONE)
    touched = session.execute(select(Case.school_id, day).where(Case.updated_at > since).distinct()).all()
    keys = [(school, d if isinstance(d, date) else date.fromisoformat(str(d))) for school, d in touched]
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        session.execute(
            delete(SchoolDayRollup).where(tuple_(SchoolDayRollup.school_id, SchoolDayRollup.day).in_(chunk))
        )
        for school, d in chunk:
            period = Period.day(d, ROLLUP_ZONE)
            _insert_from(
                session,
                and_(Case.school_id == school, Case.first_seen_at >= period.start, Case.first_seen_at < period.end),
            )
    _set_state(session, now - OVERLAP, now)
    return len(keys)


def _set_state(session: Session, watermark: datetime, now: datetime) -> None:
    state = session.get(RollupState, _STATE_KEY)
    if state is None:
        session.add(RollupState(name=_STATE_KEY, watermark=watermark, refreshed_at=now))
    else:
        state.watermark, state.refreshed_at = watermark, now
    session.flush()


def rollup_is_fresh(session: Session, now: datetime) -> bool:
    state = session.get(RollupState, _STATE_KEY)
    return state is not None and now - state.refreshed_at <= FRESH_FOR


def _live_overdue(session: Session, key: Any, period: Period, scope: Scope, now: datetime) -> dict[str, int]:
    rows = session.execute(
        select(key, func.count())
        .select_from(Case)
        .join(School, School.id == Case.school_id)
        .where(
            Case.closed_at.is_(None),
            Case.first_seen_at >= period.start,
            Case.first_seen_at < period.end,
            Case.state.in_([s.value for s in OWING_STATES]),
            Case.deadline_at < now,
            scope.case_filter(),
        )
        .group_by(key)
    ).all()
    return {str(k): int(n) for k, n in rows}


def rollup_counts(
    session: Session, group_by: Literal["school", "district"], period: Period, scope: Scope, now: datetime
) -> dict[str, Counts]:
    """Same result as ``stats.counts_by`` for school/district, read from the rollup plus live overdue counts."""
    if period.zone != ROLLUP_ZONE:
        raise ValueError(f"the rollup is kept in {ROLLUP_ZONE}; query {period.zone} from cases instead")
    key = SchoolDayRollup.school_id if group_by == "school" else School.district_id
    conds = [SchoolDayRollup.day >= period.first, SchoolDayRollup.day <= period.last]
    if scope.district_id:
        conds.append(School.district_id == scope.district_id)
    if scope.school_id:
        conds.append(SchoolDayRollup.school_id == scope.school_id)
    rows = session.execute(
        select(
            key.label("key"),
            func.sum(SchoolDayRollup.total),
            func.sum(SchoolDayRollup.closed),
            func.sum(SchoolDayRollup.closed_on_time),
            func.sum(SchoolDayRollup.close_seconds),
        )
        .join(School, School.id == SchoolDayRollup.school_id)
        .where(*conds)
        .group_by(key)
    ).all()
    overdue = _live_overdue(session, Case.school_id if group_by == "school" else School.district_id, period, scope, now)
    out = {
        str(k): Counts(total=int(t), closed=int(c), closed_on_time=int(o), close_seconds=float(s or 0))
        for k, t, c, o, s in rows
    }
    for k, n in overdue.items():
        out.setdefault(k, Counts()).overdue = n
    return out


def rollup_daily(session: Session, period: Period, scope: Scope, now: datetime) -> dict[date, Counts]:
    """Per-day counters for trends, from the rollup (overdue per day is not kept: reported as 0)."""
    if period.zone != ROLLUP_ZONE:
        raise ValueError(f"the rollup is kept in {ROLLUP_ZONE}; query {period.zone} from cases instead")
    conds = [SchoolDayRollup.day >= period.first, SchoolDayRollup.day <= period.last]
    if scope.district_id:
        conds.append(School.district_id == scope.district_id)
    if scope.school_id:
        conds.append(SchoolDayRollup.school_id == scope.school_id)
    rows = session.execute(
        select(
            SchoolDayRollup.day,
            func.sum(SchoolDayRollup.total),
            func.sum(SchoolDayRollup.closed),
            func.sum(SchoolDayRollup.closed_on_time),
            func.sum(SchoolDayRollup.close_seconds),
        )
        .join(School, School.id == SchoolDayRollup.school_id)
        .where(*conds)
        .group_by(SchoolDayRollup.day)
    ).all()
    return {
        (d if isinstance(d, date) else date.fromisoformat(str(d))): Counts(
            total=int(t), closed=int(c), closed_on_time=int(o), close_seconds=float(s or 0)
        )
        for d, t, c, o, s in rows
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m cloud_api.analytics.rollup URL [--rebuild]``: refresh once (for cron or after imports)."""
    import argparse

    from cloud_api.db import Database
    from cloud_api.db.base import utcnow

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("url", help="SQLAlchemy database URL")
    parser.add_argument("--rebuild", action="store_true", help="recompute every row instead of the changed ones")
    args = parser.parse_args(argv)
    db = Database(args.url)
    try:
        with db.session() as session:
            n = rebuild_rollup(session, utcnow()) if args.rebuild else refresh_rollup(session, utcnow())
    finally:
        db.dispose()
    print(f"rollup {'rebuilt' if args.rebuild else 'refreshed'}: {n} rows/pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
