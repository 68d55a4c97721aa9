"""The daily rollup gives the same numbers as the raw case queries, and refreshes incrementally."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from cloud_api.analytics import Period, Scope, rank_schools
from cloud_api.analytics.rollup import (
    AnalyticsBase,
    SchoolDayRollup,
    rebuild_rollup,
    refresh_rollup,
    rollup_counts,
    rollup_daily,
    rollup_is_fresh,
    split_period,
)
from cloud_api.analytics.stats import counts_by
from cloud_api.analytics.trends import daily_counts
from cloud_api.db import Database
from cloud_api.db.models import Case
from tests.analytics.seed import NOW

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
