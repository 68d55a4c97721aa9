"""Daily rollup of closure counters per school and local day, refreshed incrementally.

Why: rankings and closure rates over months of a city's cases scan millions of rows; the rollup holds one row
per (school, local day) so those queries read thousands. Closure counters change when a case closes long
after its first day, so a refresh recomputes every (school, day) touched by cases whose ``updated_at`` moved
since the last refresh (with an overlap, so a slow transaction committing late is not missed).

Overdue ("open, in an owing state, deadline before now") depends on "now". Each row keeps it exact as of the
last refresh's ``now`` (the cutoff, ``RollupState.refreshed_at``): while a case stays as it is, it can only
become overdue, never stop being so, so a refresh also recounts the pairs holding open cases whose deadline
passed since the previous cutoff. A query then adds the live difference (see :func:`rollup_counts`): cases
whose deadline lies between the cutoff and its "now", and, for the few (school, day) pairs changed since the
refresh's watermark, a live count in place of the stored one.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    Date,
    Float,
    Integer,
    MetaData,
    String,
    and_,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from cloud_api.analytics.periods import DEFAULT_ZONE, Period
from cloud_api.analytics.scope import Scope
from cloud_api.analytics.sqlfuncs import local_date, local_day_start, seconds_between
from cloud_api.analytics.stats import Counts, counted_cases
from cloud_api.db.base import NAMING, UTCDateTime
from cloud_api.db.models import Case, School
from cloud_api.services.workflow import OWING_STATES

ROLLUP_ZONE = DEFAULT_ZONE
OVERLAP = timedelta(minutes=5)
FRESH_FOR = timedelta(minutes=15)
_STATE_KEY = "school_day"


class AnalyticsBase(DeclarativeBase):
    """Own metadata, so the core's model-vs-migration checks of ``Base.metadata`` never see these tables.

    Alembic's ``target_metadata`` should list both (see migration 0020); create them in tests with
    :func:`create_analytics_tables`.
    """

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime()}  # noqa: RUF012


def create_analytics_tables(engine: Engine) -> None:
    """For databases built with ``create_all`` instead of migrations (tests, demos)."""
    AnalyticsBase.metadata.create_all(engine)


class _Counters:
    """The counters both rollup tables keep (columns follow the keys of the subclass)."""

    total: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    closed_on_time: Mapped[int] = mapped_column(Integer, default=0)
    close_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    overdue: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))  # as of the refresh cutoff


class SchoolDayRollup(_Counters, AnalyticsBase):
    """Counters of cases first seen on ``day`` (local, Asia/Shanghai) at ``school_id``."""

    __tablename__ = "analytics_school_day"
    school_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)


class SchoolMonthRollup(_Counters, AnalyticsBase):
    """The same counters summed per local calendar month (``month`` is its first day), for long ranges."""

    __tablename__ = "analytics_school_month"
    school_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True, index=True)


class RollupState(AnalyticsBase):
    """How far the rollup has read ``cases.updated_at``; ``refreshed_at`` is also the cutoff of the stored overdue
    counters (they count cases overdue at that instant)."""

    __tablename__ = "analytics_rollup_state"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    watermark: Mapped[datetime]
    refreshed_at: Mapped[datetime]


# Migration 0020 also adds three indexes on the core ``cases`` table, deliberately not declared on the ORM
# model (it belongs to the hub core): (school_id, first_seen_at) to recompute one school's day, (updated_at) to
# find changed cases, and a partial (school_id, first_seen_at) INCLUDE (deadline_at, state) WHERE closed_at IS
# NULL so overdue counts are index-only scans of the open cases. Migration 0030 adds the overdue counters; the
# core's own index on ``cases.deadline_at`` finds the open cases whose deadline passed between two refreshes.
_COUNTERS = ("total", "closed", "closed_on_time", "close_seconds", "overdue")
_ATTEMPTS = 3  # reads of the rollup before falling back to a live overdue count (see rollup_counts)


def _owing() -> Any:
    return and_(Case.closed_at.is_(None), Case.state.in_(sorted(s.value for s in OWING_STATES)))


def _aggregate(where: Any, now: datetime) -> Any:
    day = local_date(Case.first_seen_at, ROLLUP_ZONE)
    is_closed = Case.closed_at.is_not(None)
    on_time = and_(is_closed, Case.closed_at <= Case.deadline_at)
    overdue = and_(_owing(), Case.deadline_at < now)
    return (
        select(
            Case.school_id,
            day.label("day"),
            func.count().label("total"),
            func.coalesce(func.sum(case((is_closed, 1), else_=0)), 0).label("closed"),
            func.coalesce(func.sum(case((on_time, 1), else_=0)), 0).label("closed_on_time"),
            func.coalesce(func.sum(seconds_between(Case.first_seen_at, Case.closed_at)), 0.0).label("close_seconds"),
            func.coalesce(func.sum(case((overdue, 1), else_=0)), 0).label("overdue"),
        )
        .where(counted_cases(), where)
        .group_by(Case.school_id, day)
    )


def _insert_days(session: Session, where: Any, now: datetime) -> None:
    session.execute(insert(SchoolDayRollup).from_select(["school_id", "day", *_COUNTERS], _aggregate(where, now)))


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _insert_month(session: Session, month: date, schools: list[str] | None) -> None:
    """(Re)build one month's rows from the daily rows (all schools, or the given ones)."""
    conds = [SchoolDayRollup.day >= month, SchoolDayRollup.day < _next_month(month)]
    if schools is not None:
        session.execute(
            delete(SchoolMonthRollup).where(SchoolMonthRollup.month == month, SchoolMonthRollup.school_id.in_(schools))
        )
        conds.append(SchoolDayRollup.school_id.in_(schools))
    sums = [func.sum(getattr(SchoolDayRollup, c)) for c in _COUNTERS]
    query = select(SchoolDayRollup.school_id, literal(month, Date), *sums).where(*conds)
    session.execute(
        insert(SchoolMonthRollup).from_select(
            ["school_id", "month", *_COUNTERS], query.group_by(SchoolDayRollup.school_id)
        )
    )


def rebuild_rollup(session: Session, now: datetime) -> int:
    """Recompute everything (first run, or after bulk imports that bypass ``updated_at``); returns day rows."""
    session.execute(delete(SchoolMonthRollup))
    session.execute(delete(SchoolDayRollup))
    _insert_days(session, true(), now)
    first, last = session.execute(select(func.min(SchoolDayRollup.day), func.max(SchoolDayRollup.day))).one()
    if first is not None:
        month = _as_date(first).replace(day=1)
        while month <= _as_date(last):
            _insert_month(session, month, None)
            month = _next_month(month)
    _set_state(session, now - OVERLAP, now)
    return int(session.execute(select(func.count()).select_from(SchoolDayRollup)).scalar_one())


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def refresh_rollup(session: Session, now: datetime, chunk: int = 200) -> int:
    """Recompute the (school, day) pairs touched since the last refresh, and those holding open cases whose
    deadline passed since the last cutoff (their overdue counter grows), then their months; returns the pairs.

    Set-based: one DELETE and one INSERT … SELECT per ``chunk`` pairs (OR of index ranges), one per month.
    """
    state = session.get(RollupState, _STATE_KEY)
    if state is None:
        rebuild_rollup(session, now)
        return -1
    day = local_date(Case.first_seen_at, ROLLUP_ZONE)
    touched = session.execute(select(Case.school_id, day).where(Case.updated_at > state.watermark).distinct()).all()
    lo, hi = sorted((state.refreshed_at, now))  # a clock set back shrinks the counters: recount those too
    due = session.execute(
        select(Case.school_id, day).where(_owing(), Case.deadline_at >= lo, Case.deadline_at < hi).distinct()
    ).all()
    keys = sorted({(school, _as_date(d)) for school, d in [*touched, *due]})
    for i in range(0, len(keys), chunk):
        part = keys[i : i + chunk]
        session.execute(delete(SchoolDayRollup).where(tuple_(SchoolDayRollup.school_id, SchoolDayRollup.day).in_(part)))
        ranges = []
        for school, d in part:
            p = Period.day(d, ROLLUP_ZONE)
            ranges.append(and_(Case.school_id == school, Case.first_seen_at >= p.start, Case.first_seen_at < p.end))
        _insert_days(session, or_(*ranges), now)
    months: dict[date, set[str]] = {}
    for school, d in keys:
        months.setdefault(d.replace(day=1), set()).add(school)
    for month, schools in sorted(months.items()):
        _insert_month(session, month, sorted(schools))
    _set_state(session, now - OVERLAP, now)
    return len(keys)


def _set_state(session: Session, watermark: datetime, now: datetime) -> None:
    state = session.get(RollupState, _STATE_KEY)
    if state is None:
        session.add(RollupState(name=_STATE_KEY, watermark=watermark, refreshed_at=now))
    else:
        state.watermark, state.refreshed_at = watermark, now
    session.flush()


def split_period(period: Period) -> tuple[list[tuple[date, date]], tuple[date, date] | None]:
    """(day ranges, month range): whole calendar months inside the period come from the monthly table."""
    first_full = period.first if period.first.day == 1 else _next_month(period.first)
    last_full = first_full
    while _next_month(last_full) - timedelta(days=1) <= period.last:
        last_full = _next_month(last_full)
    if last_full == first_full:  # no whole month inside
        return [(period.first, period.last)], None
    days = []
    if period.first < first_full:
        days.append((period.first, first_full - timedelta(days=1)))
    if last_full <= period.last:
        days.append((last_full, period.last))
    months_last = date(last_full.year - (last_full.month == 1), (last_full.month - 2) % 12 + 1, 1)
    return days, (first_full, months_last)


def rollup_is_fresh(session: Session, now: datetime) -> bool:
    state = session.get(RollupState, _STATE_KEY)
    return state is not None and now - state.refreshed_at <= FRESH_FOR


def _key_query(group_by: str, scope: Scope, table: Any, *columns: Any) -> Any:
    """``SELECT key, columns FROM table`` (+ schools when the key or the scope needs them)."""
    key = table.school_id if group_by == "school" else School.district_id
    query = select(key, *columns).select_from(table)
    if group_by == "district" or scope.district_id:
        query = query.join(School, School.id == table.school_id)
    return query, key


def _count_owing(session: Session, group_by: str, period: Period, scope: Scope, *conds: Any) -> dict[str, int]:
    """Open cases in an owing state, first seen in the period and scope, meeting ``conds``, counted per key."""
    query, key = _key_query(group_by, scope, Case, func.count())
    rows = session.execute(
        query.where(
            _owing(), Case.first_seen_at >= period.start, Case.first_seen_at < period.end, scope.case_filter(), *conds
        ).group_by(key)
    ).all()
    return {str(k): int(n) for k, n in rows}


def _live_overdue(session: Session, group_by: str, period: Period, scope: Scope, now: datetime) -> dict[str, int]:
    """Everything live, from the partial index of open cases (when there is no usable refresh)."""
    return _count_owing(session, group_by, period, scope, Case.deadline_at < now)


def _touched_pairs(period: Period, scope: Scope, watermark: datetime) -> Any:
    """(school, local day, its UTC bounds) in period and scope with cases changed since ``watermark``: their
    stored counters may be stale (the closure counters wait for the next refresh, overdue is recounted live)."""
    seen = Case.first_seen_at
    query = select(
        Case.school_id.label("school_id"),
        local_date(seen, ROLLUP_ZONE).label("day"),
        local_day_start(seen, ROLLUP_ZONE).label("lo"),
        local_day_start(seen, ROLLUP_ZONE, 1).label("hi"),
    ).select_from(Case)
    if scope.district_id:
        query = query.join(School, School.id == Case.school_id)
    conds = [Case.updated_at > watermark, seen >= period.start, seen < period.end, scope.case_filter()]
    return query.where(*conds).distinct().cte("touched")


def _overdue_corrections(
    session: Session, group_by: str, period: Period, scope: Scope, now: datetime, watermark: datetime, cutoff: datetime
) -> dict[str, int]:
    """What to add per key to the stored overdue counters (exact at ``cutoff``) to get overdue at ``now``.

    One statement, three parts: over the (school, day) pairs changed since the watermark, + a live count of
    their cases overdue at the cutoff − their stored counters; and ± the open cases whose deadline lies
    between the cutoff and ``now`` (+ when now is later, − when earlier).
    """
    touched = _touched_pairs(period, scope, watermark)
    district = group_by == "district"

    def keyed(*columns: Any) -> Any:
        key = School.district_id if district else touched.c.school_id
        query = select(key.label("key"), *columns).select_from(touched)
        return query.join(School, School.id == touched.c.school_id) if district else query

    live = (
        keyed(func.count().label("n"))
        .join(
            Case,
            and_(
                Case.school_id == touched.c.school_id,
                Case.first_seen_at >= touched.c.lo,
                Case.first_seen_at < touched.c.hi,
            ),
        )
        .where(_owing(), Case.deadline_at < cutoff)
        .group_by("key")
    )
    stored = (
        keyed((-func.sum(SchoolDayRollup.overdue)).label("n"))
        .join(
            SchoolDayRollup,
            and_(SchoolDayRollup.school_id == touched.c.school_id, SchoolDayRollup.day == touched.c.day),
        )
        .group_by("key")
    )
    parts = [live, stored]
    lo, hi = sorted((cutoff, now))
    if lo < hi:
        query, key = _key_query(group_by, scope, Case, (func.count() * (1 if now > cutoff else -1)).label("n"))
        between = query.where(
            _owing(),
            Case.deadline_at >= lo,
            Case.deadline_at < hi,
            Case.first_seen_at >= period.start,
            Case.first_seen_at < period.end,
            scope.case_filter(),
        ).group_by(key)
        parts.append(between)
    out: dict[str, int] = {}
    for k, n in session.execute(union_all(*parts)).all():
        out[str(k)] = out.get(str(k), 0) + int(n or 0)
    return out


def _state_mark(session: Session) -> tuple[datetime, datetime] | None:
    """(watermark, cutoff) of the last refresh, read from the database (not the session's identity map)."""
    row = session.execute(
        select(RollupState.watermark, RollupState.refreshed_at).where(RollupState.name == _STATE_KEY)
    ).first()
    return None if row is None else (row[0], row[1])


def _sum_rollup(
    session: Session, table: Any, column: Any, ranges: list[tuple[date, date]], group_by: str, scope: Scope
) -> list[Any]:
    conds: list[Any] = [or_(*[and_(column >= lo, column <= hi) for lo, hi in ranges])]
    if scope.district_id:
        conds.append(School.district_id == scope.district_id)
    if scope.school_id:
        conds.append(table.school_id == scope.school_id)
    query, key = _key_query(group_by, scope, table, *[func.sum(getattr(table, c)) for c in _COUNTERS])
    return list(session.execute(query.where(*conds).group_by(key)).all())


def _stored_counts(session: Session, group_by: str, period: Period, scope: Scope) -> dict[str, Counts]:
    day_ranges, month_range = split_period(period)
    rows = _sum_rollup(session, SchoolDayRollup, SchoolDayRollup.day, day_ranges, group_by, scope) if day_ranges else []
    if month_range is not None:
        rows += _sum_rollup(session, SchoolMonthRollup, SchoolMonthRollup.month, [month_range], group_by, scope)
    out: dict[str, Counts] = {}
    for k, t, c, o, secs, od in rows:  # the order of _COUNTERS
        key = str(k)
        cur = out.get(key)
        if cur is None:
            out[key] = Counts(
                total=int(t or 0),
                closed=int(c or 0),
                closed_on_time=int(o or 0),
                overdue=int(od or 0),
                close_seconds=float(secs or 0),
            )
        else:
            cur.total += int(t or 0)
            cur.closed += int(c or 0)
            cur.closed_on_time += int(o or 0)
            cur.overdue += int(od or 0)
            cur.close_seconds += float(secs or 0)
    return out


def rollup_counts(
    session: Session, group_by: Literal["school", "district"], period: Period, scope: Scope, now: datetime
) -> dict[str, Counts]:
    """Same result as ``stats.counts_by`` for school/district: whole months from the monthly table, the
    remaining days from the daily table.

    Overdue is the stored counter (exact at the last refresh's cutoff) plus live corrections: cases whose
    deadline fell between the cutoff and ``now``, and a live recount of the (school, day) pairs with cases changed
    since the refresh's watermark. The refresh state is read again afterwards; if a refresh committed meanwhile
    (rows and state could be from different refreshes) the whole read is repeated, and after that overdue is
    counted live.
    """
    if period.zone != ROLLUP_ZONE:
        raise ValueError(f"the rollup is kept in {ROLLUP_ZONE}; query {period.zone} from cases instead")
    out: dict[str, Counts] = {}
    for _ in range(_ATTEMPTS):
        mark = _state_mark(session)
        out = _stored_counts(session, group_by, period, scope)
        if mark is None:
            break  # never refreshed (or migrated since): stored overdue counters are not valid
        corrections = _overdue_corrections(session, group_by, period, scope, now, *mark)
        if _state_mark(session) != mark:
            continue  # a refresh committed in between
        for k, n in corrections.items():
            out.setdefault(k, Counts()).overdue += n
        return out
    for c in out.values():
        c.overdue = 0
    for k, n in _live_overdue(session, group_by, period, scope, now).items():
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
