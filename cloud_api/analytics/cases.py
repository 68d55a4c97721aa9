"""Case lists for tables and exports: one flat, display-ready row per case, newest first."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from cloud_api.analytics.periods import Period
from cloud_api.analytics.scope import Scope
from cloud_api.analytics.stats import cases_in, category_of
from cloud_api.db.models import Case, School
from cloud_api.services.workflow import OWING_STATES
from mingchu.taxonomy import default_taxonomy

MAX_PAGE = 1000


class CaseRow(BaseModel):
    """A case as people read it: local times, Chinese names."""

    model_config = ConfigDict(frozen=True)

    id: int
    school_id: str
    school_name: str
    camera_id: str | None
    violation_class: str
    class_name: str
    category: str
    category_name: str
    severity: int
    state: str
    first_seen_local: str
    deadline_local: str
    closed_local: str | None
    overdue: bool


class CasePage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[CaseRow]


def _local(ts: datetime | None, zone: str) -> str | None:
    return None if ts is None else ts.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def list_cases(
    session: Session,
    period: Period,
    scope: Scope,
    now: datetime,
    *,
    offset: int = 0,
    limit: int = 100,
    only_overdue: bool = False,
) -> CasePage:
    """A page of cases first seen in the period; ``limit`` is capped at :data:`MAX_PAGE`."""
    if offset < 0 or limit < 1:
        raise ValueError("offset must be >= 0 and limit >= 1")
    limit = min(limit, MAX_PAGE)
    where = cases_in(period, scope)
    if only_overdue:
        where = and_(
            where,
            Case.closed_at.is_(None),
            Case.state.in_([s.value for s in OWING_STATES]),
            Case.deadline_at < now,
        )
    total = session.execute(
        select(func.count()).select_from(Case).join(School, School.id == Case.school_id).where(where)
    ).scalar_one()
    rows = session.execute(
        select(Case, School.name)
        .join(School, School.id == Case.school_id)
        .where(where)
        .order_by(Case.first_seen_at.desc(), Case.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    taxonomy = default_taxonomy()
    categories: dict[str, str] = {k: v.name_zh for k, v in taxonomy.categories.items()}
    items = []
    for c, school_name in rows:
        try:
            class_name = taxonomy.get(c.violation_class).name_zh
        except KeyError:
            class_name = c.violation_class
        category = category_of(taxonomy, c.violation_class)
        items.append(
            CaseRow(
                id=c.id,
                school_id=c.school_id,
                school_name=school_name,
                camera_id=c.camera_id,
                violation_class=c.violation_class,
                class_name=class_name,
                category=category,
                category_name=categories.get(category, "其他"),
                severity=c.severity,
                state=c.state,
                first_seen_local=_local(c.first_seen_at, period.zone) or "",
                deadline_local=_local(c.deadline_at, period.zone) or "",
                closed_local=_local(c.closed_at, period.zone),
                overdue=c.closed_at is None and c.state in OWING_STATES and c.deadline_at < now,
            )
        )
    return CasePage(total=int(total), offset=offset, limit=limit, items=items)
