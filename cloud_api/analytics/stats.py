"""Closure statistics of cases opened in a period, grouped by school, district, class or category.

Counts are additive (:class:`Counts`), so categories are summed from classes and rollups from days;
rates are derived last. A case counts as closed once ``closed_at`` is set; false positives are not
violations and are left out of every count.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from cloud_api.analytics.periods import Period
from cloud_api.analytics.scope import Scope
from cloud_api.analytics.sqlfuncs import seconds_between
from cloud_api.db.models import Case, District, School
from cloud_api.services.workflow import OWING_STATES, State
from mingchu.taxonomy import Taxonomy, default_taxonomy

GroupBy = Literal["school", "district", "class", "category"]
GROUP_BYS: tuple[GroupBy, ...] = ("school", "district", "class", "category")


def percent(numerator: float, denominator: float) -> str:
    """``"16.82%"``: two decimals, half-up (what regulators expect on paper); ``"-"`` when undefined."""
    if denominator == 0:
        return "-"
    value = (Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{value}%"


def ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


@dataclass
class Counts:
    """Additive counters; every rate is derived from these."""

    total: int = 0
    closed: int = 0
    closed_on_time: int = 0
    overdue: int = 0
    close_seconds: float = 0.0

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def open(self) -> int:
        return self.total - self.closed


class GroupStats(BaseModel):
    """One row of a closure table (a school, district, class or category)."""

    model_config = ConfigDict(frozen=True)

    key: str
    name: str
    total: int
    closed: int
    open: int
    overdue: int
    closed_on_time: int
    closure_rate: float | None
    closure_rate_pct: str
    on_time_rate: float | None
    on_time_rate_pct: str
    mean_close_hours: float | None
    share: float | None = None
    share_pct: str = "-"

    @classmethod
    def build(cls, key: str, name: str, c: Counts, grand_total: int | None = None) -> GroupStats:
        return cls(
            key=key,
            name=name,
            total=c.total,
            closed=c.closed,
            open=c.open,
            overdue=c.overdue,
            closed_on_time=c.closed_on_time,
            closure_rate=ratio(c.closed, c.total),
            closure_rate_pct=percent(c.closed, c.total),
            on_time_rate=ratio(c.closed_on_time, c.closed),
            on_time_rate_pct=percent(c.closed_on_time, c.closed),
            mean_close_hours=None if c.closed == 0 else round(c.close_seconds / c.closed / 3600, 4),
            share=None if grand_total is None else ratio(c.total, grand_total),
            share_pct="-" if grand_total is None else percent(c.total, grand_total),
        )


def counted_cases() -> Any:
    """Cases that are real violations (false positives excluded)."""
    return Case.state != State.FALSE_POSITIVE.value


def counter_columns(now: datetime) -> list[Any]:
    """Aggregate columns producing :class:`Counts` fields, in order."""
    is_closed = Case.closed_at.is_not(None)
    return [
        func.count().label("total"),
        func.coalesce(func.sum(case((is_closed, 1), else_=0)), 0).label("closed"),
        func.coalesce(func.sum(case((and_(is_closed, Case.closed_at <= Case.deadline_at), 1), else_=0)), 0).label(
            "closed_on_time"
        ),
        func.coalesce(
            func.sum(
                case(
                    (
                        and_(
                            Case.closed_at.is_(None),
                            Case.state.in_([s.value for s in OWING_STATES]),
                            Case.deadline_at < now,
                        ),
                        1,
                    ),
                    else_=0,
                )
            ),
            0,
        ).label("overdue"),
        func.coalesce(func.sum(seconds_between(Case.first_seen_at, Case.closed_at)), 0).label("close_seconds"),
    ]


def counts_of(row: Any) -> Counts:
    return Counts(
        total=int(row.total),
        closed=int(row.closed),
        closed_on_time=int(row.closed_on_time),
        overdue=int(row.overdue),
        close_seconds=float(row.close_seconds or 0),
    )


def cases_in(period: Period, scope: Scope) -> Any:
    """WHERE clause: cases first seen inside the period, inside the scope, not false positives."""
    return and_(
        Case.first_seen_at >= period.start,
        Case.first_seen_at < period.end,
        counted_cases(),
        scope.case_filter(),
    )


def _grouped(key: Any, period: Period, scope: Scope, now: datetime) -> Select[Any]:
    return (
        select(key.label("key"), *counter_columns(now))
        .select_from(Case)
        .join(School, School.id == Case.school_id)
        .where(cases_in(period, scope))
        .group_by(key)
    )


def counts_by(session: Session, group_by: GroupBy, period: Period, scope: Scope, now: datetime) -> dict[str, Counts]:
    """Raw counters per group key (classes are grouped into categories in Python via the taxonomy)."""
    column = {"school": Case.school_id, "district": School.district_id}.get(group_by, Case.violation_class)
    rows = session.execute(_grouped(column, period, scope, now)).all()
    by_key = {str(r.key): counts_of(r) for r in rows}
    if group_by != "category":
        return by_key
    taxonomy = default_taxonomy()
    merged: dict[str, Counts] = {}
    for class_id, c in by_key.items():
        merged.setdefault(category_of(taxonomy, class_id), Counts()).add(c)
    return merged


def category_of(taxonomy: Taxonomy, class_id: str) -> str:
    try:
        return taxonomy.get(class_id).category
    except KeyError:
        return "other"


def names_for(session: Session, group_by: GroupBy, keys: list[str]) -> dict[str, str]:
    """Display names, Chinese first."""
    taxonomy = default_taxonomy()
    if group_by == "school":
        return dict(session.execute(select(School.id, School.name).where(School.id.in_(keys))).all())
    if group_by == "district":
        return dict(session.execute(select(District.id, District.name).where(District.id.in_(keys))).all())
    if group_by == "class":
        names = {}
        for k in keys:
            try:
                names[k] = taxonomy.get(k).name_zh
            except KeyError:
                names[k] = k
        return names
    cats: dict[str, str] = {k: v.name_zh for k, v in taxonomy.categories.items()}
    return {k: cats.get(k, "其他") for k in keys}


def closure_table(
    session: Session,
    group_by: GroupBy,
    period: Period,
    scope: Scope,
    now: datetime,
    counts: dict[str, Counts] | None = None,
) -> list[GroupStats]:
    """Closure statistics per group with each group's share of all cases, largest first.

    ``counts`` lets a caller pass counters read from the daily rollup instead of scanning cases.
    """
    if group_by not in GROUP_BYS:
        raise ValueError(f"unknown grouping {group_by!r} (one of {', '.join(GROUP_BYS)})")
    by_key = counts if counts is not None else counts_by(session, group_by, period, scope, now)
    grand = sum(c.total for c in by_key.values())
    names = names_for(session, group_by, list(by_key))
    rows = [GroupStats.build(k, names.get(k, k), c, grand) for k, c in by_key.items()]
    return sorted(rows, key=lambda r: (-r.total, r.key))


def overall(session: Session, period: Period, scope: Scope, now: datetime) -> GroupStats:
    """One row for everything in scope."""
    row = session.execute(
        select(*counter_columns(now))
        .select_from(Case)
        .join(School, School.id == Case.school_id)
        .where(cases_in(period, scope))
    ).one()
    return GroupStats.build("all", "全部", counts_of(row))
