"""Exact numbers on the hand-computed world of seed.py (March 2026, Asia/Shanghai), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy.orm import Session

from cloud_api.analytics import (
    Period,
    PeriodError,
    Scope,
    ScopeDenied,
    camera_online_rates,
    closure_table,
    list_cases,
    overall,
    percent,
    rank_schools,
    trend,
)
from tests.analytics.seed import NOW

MARCH = Period.month(2026, 3)
ALL = Scope.everything()


def test_overall_rates(session: Session) -> None:
    row = overall(session, MARCH, ALL, NOW)
    # cases 1,3,4,5,6,7 (2 is February local, 9 is April local, 8 is a false positive)
    assert (row.total, row.closed, row.open, row.overdue) == (6, 4, 2, 1)
    assert row.closure_rate_pct == "66.67%"
    assert row.on_time_rate_pct == "75.00%"  # 1, 5, 7 on time; 3 late
    assert row.mean_close_hours == pytest.approx((10 + 48 + 20 + 2) / 4)


def test_per_school_and_district(session: Session) -> None:
    schools = {r.key: r for r in closure_table(session, "school", MARCH, ALL, NOW)}
    assert {k: (r.total, r.closed, r.overdue) for k, r in schools.items()} == {
        "s1": (3, 2, 1),
        "s2": (2, 1, 0),
        "s3": (1, 1, 0),
    }
    assert schools["s1"].on_time_rate_pct == "50.00%"
    assert schools["s1"].name == "第一中学"
    districts = {r.key: r for r in closure_table(session, "district", MARCH, ALL, NOW)}
    assert districts["d1"].closure_rate_pct == "60.00%"
    assert districts["d1"].name == "东城区"
    assert districts["d2"].total == 1


def test_category_shares(session: Session) -> None:
    rows = closure_table(session, "category", MARCH, ALL, NOW)
    shares = {r.name: r.share_pct for r in rows}
    assert shares == {"从业人员个人卫生": "33.33%", "行为规范": "33.33%", "有害生物": "16.67%", "环境卫生": "16.67%"}
    classes = {r.key: r.total for r in closure_table(session, "class", MARCH, ALL, NOW)}
    assert classes == {
        "no_mask": 1,
        "smoking": 1,
        "pest_intrusion": 1,
        "bin_lid_open": 1,
        "no_uniform": 1,
        "phone_use": 1,
    }


def test_percent_two_decimals_half_up() -> None:
    assert percent(1682, 10000) == "16.82%"
    assert percent(1, 8) == "12.50%"
    assert percent(1, 0) == "-"


@pytest.mark.parametrize(
    ("sort", "descending", "order"),
    [
        ("count", True, ["s1", "s2", "s3"]),
        ("rate_per_camera_day", True, ["s2", "s1", "s3"]),
        ("closure_rate", True, ["s3", "s1", "s2"]),
        ("closure_rate", False, ["s2", "s1", "s3"]),
        ("overdue", True, ["s1", "s2", "s3"]),
    ],
)
def test_rankings(session: Session, sort: str, descending: bool, order: list[str]) -> None:
    rows = rank_schools(session, MARCH, ALL, NOW, sort=sort, descending=descending)  # type: ignore[arg-type]
    assert [r.school_id for r in rows] == order
    assert [r.rank for r in rows] == [1, 2, 3]
    s1 = next(r for r in rows if r.school_id == "s1")
    assert s1.cameras == 2
    assert s1.rate_per_camera_day == pytest.approx(3 / (2 * 31), abs=1e-6)


def test_ranking_rejects_unknown_sort(session: Session) -> None:
    with pytest.raises(ValueError, match="unknown sort"):
        rank_schools(session, MARCH, ALL, NOW, sort="bogus")  # type: ignore[arg-type]


def test_daily_trend_across_local_midnight(session: Session) -> None:
    points = trend(session, MARCH, ALL, NOW, "day")
    assert len(points) == 31
    by_day = {p.bucket: p.total for p in points if p.total}
    # case 1 is 16:30 UTC on Feb 28 but 00:30 on Mar 1 in Shanghai; case 6 is 15:00 UTC = 23:00 local Mar 31
    assert by_day == {"2026-03-01": 1, "2026-03-02": 2, "2026-03-10": 1, "2026-03-15": 1, "2026-03-31": 1}


def test_weekly_and_monthly_trend(session: Session) -> None:
    weeks = trend(session, MARCH, ALL, NOW, "week")
    # 2026-03-01 is a Sunday, so it belongs to the week starting Monday 02-23
    assert [(p.start.isoformat(), p.total) for p in weeks] == [
        ("2026-02-23", 1),
        ("2026-03-02", 2),
        ("2026-03-09", 2),
        ("2026-03-16", 0),
        ("2026-03-23", 0),
        ("2026-03-30", 1),
    ]
    months = trend(session, Period(date(2026, 2, 1), date(2026, 4, 30)), ALL, NOW, "month")
    assert [(p.bucket, p.total) for p in months] == [("2026-02", 1), ("2026-03", 6), ("2026-04", 1)]


def test_trend_rejects_unknown_bucket(session: Session) -> None:
    with pytest.raises(PeriodError):
        trend(session, MARCH, ALL, NOW, "year")  # type: ignore[arg-type]


def test_scope_regulator_and_school_head(session: Session) -> None:
    regulator = Scope.for_user(SimpleNamespace(role="regulator", district_id="d1", school_id=None))
    assert overall(session, MARCH, regulator, NOW).total == 5
    assert [r.school_id for r in rank_schools(session, MARCH, regulator, NOW)] == ["s1", "s2"]
    head = Scope.for_user(SimpleNamespace(role="school_head", district_id=None, school_id="s2"))
    assert overall(session, MARCH, head, NOW).total == 2
    assert {r.school_id for r in list_cases(session, MARCH, head, NOW).items} == {"s2"}
    with pytest.raises(ScopeDenied):
        head.narrow(school_id="s1")
    with pytest.raises(ScopeDenied):
        regulator.narrow(district_id="d2")
    assert overall(session, MARCH, regulator.narrow(school_id="s2"), NOW).total == 2


@pytest.mark.parametrize(
    "user",
    [
        SimpleNamespace(role="parent", district_id=None, school_id="s1"),
        SimpleNamespace(role="regulator", district_id=None, school_id=None),
        SimpleNamespace(role="school_head", district_id="d1", school_id=None),
        SimpleNamespace(role="nobody", district_id=None, school_id=None),
    ],
)
def test_scope_denied(user: SimpleNamespace) -> None:
    with pytest.raises(ScopeDenied):
        Scope.for_user(user)


def test_case_list_pagination_and_overdue(session: Session) -> None:
    page = list_cases(session, MARCH, ALL, NOW, offset=0, limit=4)
    assert page.total == 6
    assert [c.id for c in page.items] == [6, 7, 5, 4]  # newest first
    rest = list_cases(session, MARCH, ALL, NOW, offset=4, limit=4)
    assert [c.id for c in rest.items] == [3, 1]
    overdue = {c.id for c in page.items + rest.items if c.overdue}
    assert overdue == {4}
    first = next(c for c in rest.items if c.id == 1)
    assert first.first_seen_local == "2026-03-01 00:30"
    assert first.class_name == "未戴口罩"
    with pytest.raises(ValueError):
        list_cases(session, MARCH, ALL, NOW, offset=-1)


def test_camera_online_rates(session: Session) -> None:
    rows = {r.school_id: r for r in camera_online_rates(session, Period.day(date(2026, 3, 15)), ALL, NOW)}
    assert rows["s1"].online_rate_pct == "87.50%"  # (18 h + 24 h) / 48 h
    assert rows["s2"].online_rate_pct == "0.00%"  # no history: not vouched for
    assert rows["s3"].online_rate_pct == "50.00%"


def test_bad_periods() -> None:
    with pytest.raises(PeriodError):
        Period(date(2026, 3, 2), date(2026, 3, 1))
    with pytest.raises(PeriodError):
        Period(date(2000, 1, 1), date(2026, 1, 1))
    with pytest.raises(Exception, match="Nowhere"):
        Period.day(date(2026, 1, 1), zone="Nowhere/City")
    p = Period.day(date(2026, 3, 1))
    assert p.start.isoformat() == "2026-02-28T16:00:00+00:00"
    assert Period.week(date(2026, 3, 4)).first == date(2026, 3, 2)
    assert Period.month(2026, 12).last == date(2026, 12, 31)
