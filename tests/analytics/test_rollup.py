"""The daily rollup gives the same numbers as the raw case queries, and refreshes incrementally."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, inspect, literal, select
from sqlalchemy.orm import Session

from cloud_api.analytics import Period, Scope, rank_schools
from cloud_api.analytics.rollup import (
    AnalyticsBase,
    RollupState,
    SchoolDayRollup,
    SchoolMonthRollup,
    rebuild_rollup,
    refresh_rollup,
    rollup_counts,
    rollup_daily,
    rollup_is_fresh,
    split_period,
)
from cloud_api.analytics.sqlfuncs import local_day_start
from cloud_api.analytics.stats import counts_by
from cloud_api.analytics.trends import daily_counts
from cloud_api.db import Database
from cloud_api.db.base import UTCDateTime
from cloud_api.db.models import Case
from tests.analytics.seed import NOW, local

MARCH = Period.month(2026, 3)
SCOPES = [Scope(), Scope(district_id="d1"), Scope(school_id="s3")]


PERIODS = [
    MARCH,  # one whole month: monthly table only
    Period(date(2026, 2, 20), date(2026, 4, 2)),  # days + a month + days
    Period(date(2026, 3, 2), date(2026, 3, 20)),  # days only
    Period(date(2026, 2, 1), date(2026, 4, 30)),  # three months
]


@pytest.mark.parametrize(
    ("first", "last", "days", "months"),
    [
        ("2026-03-01", "2026-03-31", [], ("2026-03-01", "2026-03-01")),
        ("2026-02-20", "2026-04-02", [("2026-02-20", "2026-02-28"), ("2026-04-01", "2026-04-02")], ("2026-03-01",) * 2),
        ("2026-03-05", "2026-03-20", [("2026-03-05", "2026-03-20")], None),
        ("2026-03-31", "2026-05-01", [("2026-03-31", "2026-03-31"), ("2026-05-01", "2026-05-01")], ("2026-04-01",) * 2),
        ("2025-12-01", "2026-01-31", [], ("2025-12-01", "2026-01-01")),
        ("2026-02-02", "2026-03-30", [("2026-02-02", "2026-03-30")], None),
    ],
)
def test_split_period(first: str, last: str, days: list[tuple[str, str]], months: tuple[str, str] | None) -> None:
    got_days, got_months = split_period(Period(date.fromisoformat(first), date.fromisoformat(last)))
    assert [(a.isoformat(), b.isoformat()) for a, b in got_days] == days
    assert (None if got_months is None else tuple(m.isoformat() for m in got_months)) == months


@pytest.mark.parametrize("period", PERIODS, ids=lambda p: f"{p.first}_{p.last}")
@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: f"{s.district_id}-{s.school_id}")
def test_rollup_matches_raw(session: Session, scope: Scope, period: Period) -> None:
    rebuild_rollup(session, NOW)
    for group_by in ("school", "district"):
        raw = counts_by(session, group_by, period, scope, NOW)  # type: ignore[arg-type]
        rolled = rollup_counts(session, group_by, period, scope, NOW)  # type: ignore[arg-type]
        assert {k: (c.total, c.closed, c.closed_on_time, c.overdue) for k, c in rolled.items()} == {
            k: (c.total, c.closed, c.closed_on_time, c.overdue) for k, c in raw.items()
        }
        for k in raw:
            assert rolled[k].close_seconds == pytest.approx(raw[k].close_seconds)
    ranked = rank_schools(session, period, scope, NOW, counts=rollup_counts(session, "school", period, scope, NOW))
    assert ranked == rank_schools(session, period, scope, NOW)
    raw_days = {d: c.total for d, c in daily_counts(session, period, scope, NOW).items()}
    assert {d: c.total for d, c in rollup_daily(session, period, scope, NOW).items()} == raw_days


def test_rollup_rows_use_local_days(session: Session) -> None:
    rebuild_rollup(session, NOW)
    rows = {(r.school_id, r.day): r.total for r in session.scalars(select(SchoolDayRollup))}
    assert rows[("s1", date(2026, 3, 1))] == 1  # 16:30 UTC on Feb 28
    assert rows[("s1", date(2026, 2, 28))] == 1
    assert ("s3", date(2026, 4, 1)) in rows


def test_incremental_refresh_picks_up_closures(session: Session) -> None:
    assert refresh_rollup(session, NOW) == -1  # first run rebuilds
    assert rollup_is_fresh(session, NOW)
    assert not rollup_is_fresh(session, NOW + timedelta(hours=1))
    later = NOW + timedelta(hours=1)
    case = session.get(Case, 4)
    assert case is not None
    case.closed_at = later
    case.state = "closed"
    case.updated_at = later
    session.flush()
    before = rollup_counts(session, "school", MARCH, Scope(), later)["s1"]
    assert (before.closed, before.overdue) == (2, 0)  # overdue is live; closure waits for the refresh
    assert refresh_rollup(session, later) == 1  # only (s1, 2026-03-02) recomputed
    after = rollup_counts(session, "school", MARCH, Scope(), later)["s1"]
    assert (after.total, after.closed, after.closed_on_time) == (3, 3, 1)
    # refreshes re-read 5 minutes back (idempotent) so late commits are not missed; then nothing is left
    assert refresh_rollup(session, later + timedelta(minutes=6)) == 1
    assert refresh_rollup(session, later + timedelta(minutes=10)) == 0
    again = rollup_counts(session, "school", MARCH, Scope(), later)["s1"]
    assert (again.total, again.closed) == (3, 3)


def test_rollup_refuses_other_zones(session: Session) -> None:
    with pytest.raises(ValueError, match="Asia/Shanghai"):
        rollup_counts(session, "school", Period.month(2026, 3, zone="Europe/Berlin"), Scope(), NOW)


def test_migration_0020_up_and_down(database: Database) -> None:
    from cloud_api import migrations
    from cloud_api.db import Base

    engine = database.engine
    AnalyticsBase.metadata.drop_all(engine)
    Base.metadata.drop_all(engine)
    migrations.upgrade(engine, "0020")
    insp = inspect(engine)
    assert {"analytics_school_day", "analytics_school_month", "analytics_rollup_state"} <= set(insp.get_table_names())
    assert {"ix_cases_school_id_first_seen_at", "ix_cases_updated_at", "ix_cases_open_school_id_first_seen_at"} <= {
        ix["name"] for ix in insp.get_indexes("cases")
    }
    migrations.downgrade(engine, "0010")
    assert "analytics_school_day" not in inspect(engine).get_table_names()
    migrations.downgrade(engine, "base")


# --- overdue counters kept in the rollup (migration 0030) -------------------------------------------------------

APRIL_PERIODS = [
    MARCH,
    Period(date(2026, 3, 1), date(2026, 4, 30)),  # two whole months
    Period(date(2026, 3, 25), date(2026, 4, 10)),  # days only, across a month end
    Period(date(2026, 4, 9), date(2026, 4, 9)),  # one day
]


def _case(session: Session, cid: int, school: str, first: datetime, deadline: datetime, state: str) -> Case:
    case = Case(
        id=cid,
        school_id=school,
        violation_class="no_mask",
        severity=3,
        state=state,
        first_seen_at=first,
        last_seen_at=first,
        deadline_at=deadline,
        created_at=first,
        updated_at=first,
    )
    session.add(case)
    session.flush()
    return case


def _change(session: Session, cid: int, at: datetime, **values: object) -> None:
    """A transition as the workflow makes it: new values and ``updated_at``."""
    case = session.get(Case, cid)
    assert case is not None
    for name, value in {**values, "updated_at": at}.items():
        setattr(case, name, value)
    session.flush()


def _assert_matches_raw(session: Session, now: datetime, *, closures: bool = True) -> None:
    """Rollup answers equal raw-case answers at ``now`` (overdue always; the rest only right after a refresh)."""
    for period in APRIL_PERIODS:
        for scope in SCOPES:
            for group_by in ("school", "district"):
                raw = counts_by(session, group_by, period, scope, now)  # type: ignore[arg-type]
                rolled = rollup_counts(session, group_by, period, scope, now)  # type: ignore[arg-type]
                where = f"{group_by} {period.first}..{period.last} {scope} at {now}"
                assert {k: c.overdue for k, c in rolled.items() if c.overdue} == {
                    k: c.overdue for k, c in raw.items() if c.overdue
                }, where
                if closures:
                    assert {k: (c.total, c.closed, c.closed_on_time, c.overdue) for k, c in rolled.items()} == {
                        k: (c.total, c.closed, c.closed_on_time, c.overdue) for k, c in raw.items()
                    }, where


def _april_cases(session: Session) -> None:
    """Open cases whose deadlines pass just after NOW (00:00 UTC April 10)."""
    _case(session, 20, "s2", local(2026, 4, 9, 10), NOW + timedelta(minutes=30), "notified")  # A
    _case(session, 21, "s3", local(2026, 4, 9, 11), NOW + timedelta(hours=2), "rectifying")  # B
    _case(session, 22, "s1", local(2026, 4, 8, 9), NOW + timedelta(minutes=10), "submitted")  # C: not owing


def test_rollup_stores_overdue_as_of_the_refresh(session: Session) -> None:
    _april_cases(session)
    rebuild_rollup(session, NOW)
    day = {(r.school_id, r.day): r.overdue for r in session.scalars(select(SchoolDayRollup))}
    assert day[("s1", date(2026, 3, 2))] == 1  # case 4
    assert day[("s2", date(2026, 4, 9))] == 0  # A: deadline not passed yet at the refresh
    month = {(r.school_id, r.month): r.overdue for r in session.scalars(select(SchoolMonthRollup))}
    assert month[("s1", date(2026, 3, 1))] == 1
    assert sum(month.values()) == 1
    # only deadlines passing (nothing changed): the refresh recounts exactly the pairs holding them
    assert refresh_rollup(session, NOW + timedelta(hours=1)) == 1  # (s2, 04-09); C is not owing
    day = {(r.school_id, r.day): r.overdue for r in session.scalars(select(SchoolDayRollup))}
    assert day[("s2", date(2026, 4, 9))] == 1
    assert day[("s3", date(2026, 4, 9))] == 0  # B: two hours
    for hours in (1, 1.5, 3, 48):
        _assert_matches_raw(session, NOW + timedelta(hours=hours))
    # a clock set back: the counters of deadlines "un-passed" are recounted too
    assert refresh_rollup(session, NOW + timedelta(hours=3)) == 1  # (s3, 04-09): B
    assert refresh_rollup(session, NOW + timedelta(minutes=20)) == 2  # A and B no longer overdue
    assert sum(r.overdue for r in session.scalars(select(SchoolDayRollup))) == 1
    for minutes in (20, 45, 200):
        _assert_matches_raw(session, NOW + timedelta(minutes=minutes))


def test_overdue_stays_exact_between_refreshes(session: Session) -> None:
    _april_cases(session)
    rebuild_rollup(session, NOW)
    for now in (NOW, NOW + timedelta(minutes=20), NOW + timedelta(minutes=40), NOW + timedelta(hours=5)):
        _assert_matches_raw(session, now)  # deadlines passed since the cutoff are added live
    t1 = NOW + timedelta(hours=3)
    refresh_rollup(session, t1)
    for now in (NOW + timedelta(hours=1), NOW - timedelta(days=20), t1):
        _assert_matches_raw(session, now)  # a "now" before the cutoff takes back what was counted too early

    # changes after the refresh: their (school, day) pairs are recounted live until the next refresh
    at = t1 + timedelta(minutes=10)
    _change(session, 20, at, state="closed", closed_at=at)  # A closed
    _change(session, 4, at, state="submitted")  # case 4 no longer owing
    _case(session, 23, "s1", local(2026, 4, 10, 6), t1 - timedelta(hours=1), "new").updated_at = at  # D: late
    session.flush()
    for now in (at, t1 + timedelta(minutes=15), t1 + timedelta(hours=2), t1 - timedelta(hours=2)):
        _assert_matches_raw(session, now, closures=False)
    t2 = t1 + timedelta(minutes=20)
    refresh_rollup(session, t2)
    _assert_matches_raw(session, t2)

    at = t2 + timedelta(minutes=10)
    _change(session, 4, at, state="rectifying")  # the fix was rejected: owing (and overdue) again
    _change(session, 21, at, state="false_positive")  # B was not a violation
    _assert_matches_raw(session, t2 + timedelta(minutes=15), closures=False)
    refresh_rollup(session, t2 + timedelta(minutes=20))
    _assert_matches_raw(session, t2 + timedelta(minutes=20))
    _assert_matches_raw(session, t2 + timedelta(days=3))


def test_overdue_without_a_refresh_state_is_counted_live(session: Session) -> None:
    _april_cases(session)
    rebuild_rollup(session, NOW)
    session.execute(delete(RollupState))  # what migration 0030 does: stored counters not valid yet
    _change(session, 4, NOW, state="closed", closed_at=NOW)
    _assert_matches_raw(session, NOW + timedelta(hours=1), closures=False)
    assert rollup_counts(session, "school", MARCH, Scope(), NOW)["s1"].overdue == 0


def test_a_refresh_committing_mid_read_is_not_mixed_in(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    import cloud_api.analytics.rollup as rollup

    _april_cases(session)
    rebuild_rollup(session, NOW)
    real = rollup._overdue_corrections
    calls: list[datetime] = []

    def refresh_meanwhile(*args: Any) -> dict[str, int]:
        out = real(*args)
        calls.append(args[-1])
        if len(calls) == 1:  # rows and corrections read at cutoff NOW; now a refresh moves the cutoff
            refresh_rollup(session, NOW + timedelta(hours=3))
        return out

    monkeypatch.setattr(rollup, "_overdue_corrections", refresh_meanwhile)
    now = NOW + timedelta(hours=1)
    rolled = rollup_counts(session, "school", APRIL_PERIODS[1], Scope(), now)
    assert calls == [NOW, NOW + timedelta(hours=3)]  # read again against the new refresh
    raw = counts_by(session, "school", APRIL_PERIODS[1], Scope(), now)
    assert {k: c.overdue for k, c in rolled.items()} == {k: c.overdue for k, c in raw.items()}


def test_local_day_start(session: Session) -> None:
    first = local(2026, 3, 1, 0, 30)  # 16:30 UTC on Feb 28
    row = session.execute(
        select(
            Case.id,
            Case.first_seen_at >= local_day_start(Case.first_seen_at, "Asia/Shanghai"),
            Case.first_seen_at < local_day_start(Case.first_seen_at, "Asia/Shanghai", 1),
            literal(local(2026, 3, 1, 0), UTCDateTime()) >= local_day_start(Case.first_seen_at, "Asia/Shanghai"),
            literal(local(2026, 2, 28, 23, 59), UTCDateTime()) < local_day_start(Case.first_seen_at, "Asia/Shanghai"),
            literal(local(2026, 3, 2, 0), UTCDateTime()) < local_day_start(Case.first_seen_at, "Asia/Shanghai", 1),
        ).where(Case.first_seen_at == first)
    ).one()
    assert tuple(row) == (1, True, True, True, True, False)


def test_migration_0030_adds_and_removes_overdue(database: Database) -> None:
    from cloud_api import migrations
    from cloud_api.db import Base

    engine = database.engine
    AnalyticsBase.metadata.drop_all(engine)
    Base.metadata.drop_all(engine)
    migrations.upgrade(engine, "0020")
    with engine.begin() as conn:
        conn.execute(
            RollupState.__table__.insert().values(name="school_day", watermark=NOW, refreshed_at=NOW)  # type: ignore[attr-defined]
        )
    migrations.upgrade(engine, "0030")
    insp = inspect(engine)
    for table in ("analytics_school_day", "analytics_school_month"):
        assert "overdue" in {c["name"] for c in insp.get_columns(table)}
    with engine.connect() as conn:  # counters not filled: the next refresh rebuilds, the API scans until then
        assert conn.execute(select(RollupState.name)).all() == []
    migrations.downgrade(engine, "0020")
    assert "overdue" not in {c["name"] for c in inspect(engine).get_columns("analytics_school_day")}
    migrations.downgrade(engine, "base")
