"""Row-level scoping applied IN the queries: a school head sees their school, a regulator their district."""

from __future__ import annotations

from typing import TypeVarTuple

from sqlalchemy import Select, false, select
from sqlalchemy.orm import InstrumentedAttribute

from cloud_api.db.models import Case, School, User
from cloud_api.db.models.users import Role

Ts = TypeVarTuple("Ts")


def school_filter(stmt: Select[*Ts], school_col: InstrumentedAttribute[str], user: User) -> Select[*Ts]:
    """Restrict any query with a school id column to what ``user`` may see."""
    if user.role == Role.ADMIN:
        return stmt
    if user.role == Role.REGULATOR:
        if user.district_id is None:
            return stmt.where(false())
        return stmt.where(school_col.in_(select(School.id).where(School.district_id == user.district_id)))
    if user.school_id is None:
        return stmt.where(false())
    return stmt.where(school_col == user.school_id)


def case_filter(stmt: Select[*Ts], user: User) -> Select[*Ts]:
    """Cases: school scope, and parents see only the reports they filed themselves."""
    stmt = school_filter(stmt, Case.school_id, user)
    if user.role == Role.PARENT:
        stmt = stmt.where(Case.reporter_user_id == user.id)
    return stmt
