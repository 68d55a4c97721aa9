"""Supervision views: 约谈 list, ingest quarantine and security alerts, escalation run, health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func, select

from cloud_api.api.deps import AdminUser, HubDep, SessionDep, require_role
from cloud_api.api.schemas import AlertOut, InterviewOut, Page, QuarantineOut
from cloud_api.db.base import utcnow
from cloud_api.db.models import Quarantine, SecurityAlert, User
from cloud_api.errors import ERROR_RESPONSES
from cloud_api.services.escalation import escalate_overdue, interview_list

router = APIRouter(prefix="/api/v1", tags=["supervision"], responses=ERROR_RESPONSES)
Supervisor = Annotated[User, Depends(require_role("admin", "regulator"))]


@router.get("/interviews", response_model=list[InterviewOut], summary="约谈 list: schools past a threshold")
def interviews(hub: HubDep, session: SessionDep, user: Supervisor) -> list[InterviewOut]:
    district = None if user.role == "admin" else (user.district_id or "")
    entries = interview_list(session, utcnow(), hub.config.interview, district_id=district)
    return [InterviewOut(**e.__dict__) for e in entries]


@router.post("/escalations/run", summary="Give due yellow/red cards now (also runs periodically in `serve`)")
def run_escalation(hub: HubDep, session: SessionDep, _: AdminUser) -> dict[str, int]:
    given = escalate_overdue(session, utcnow(), hub.config.cases, hub.notifier)
    return {"yellow": sum(e.level == "yellow" for e in given), "red": sum(e.level == "red" for e in given)}


@router.get("/quarantine", response_model=Page[QuarantineOut], tags=["ingest"], summary="Refused messages (admin)")
def quarantine(
    session: SessionDep,
    _: AdminUser,
    reason: str | None = None,
    skip: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[QuarantineOut]:
    stmt = select(Quarantine)
    if reason:
        stmt = stmt.where(Quarantine.reason == reason)
    count = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Quarantine.id.desc()).offset(skip).limit(limit))
    return Page[QuarantineOut](data=[QuarantineOut.model_validate(r) for r in rows], count=count)


@router.get("/alerts", response_model=list[AlertOut], tags=["ingest"], summary="Security alerts (admin)")
def alerts(session: SessionDep, _: AdminUser) -> list[SecurityAlert]:
    return list(session.scalars(select(SecurityAlert).order_by(SecurityAlert.id.desc()).limit(200)))
