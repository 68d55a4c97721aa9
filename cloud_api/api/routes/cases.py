"""Cases: list/filter/paginate, detail with evidence and audit timeline, transitions, rectification, images."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from sqlalchemy import Select, func, select

from cloud_api.api.deps import CurrentUser, HubDep, SessionDep
from cloud_api.api.schemas import (
    CaseDetail,
    CaseOut,
    EscalationOut,
    EventOut,
    EvidenceOut,
    Page,
    PhotoOut,
    RectificationOut,
    ReviewIn,
    TransitionIn,
    TransitionOut,
)
from cloud_api.db.base import utcnow
from cloud_api.db.models import (
    Case,
    CaseTransition,
    Escalation,
    Evidence,
    Rectification,
    RectificationPhoto,
    User,
    ViolationEventRow,
)
from cloud_api.errors import ERROR_RESPONSES, ApiError, not_found
from cloud_api.services import cases as case_service
from cloud_api.services import rectification as rect_service
from cloud_api.services import workflow
from cloud_api.services.cases import Actor
from cloud_api.services.images import ImageRejected
from cloud_api.services.scoping import case_filter
from cloud_api.storage import StorageError

router = APIRouter(prefix="/api/v1", tags=["cases"], responses=ERROR_RESPONSES)


def actor_of(user: User) -> Actor:
    return Actor(name=user.display_name or user.username, role=user.role, user_id=user.id)


def scoped_case(session: SessionDep, case_id: int, user: User) -> Case:
    case = session.scalar(case_filter(select(Case).where(Case.id == case_id), user))
    if case is None:
        raise not_found("case")  # out of scope is indistinguishable from missing
    return case


def _filtered(
    user: User,
    school_id: str | None,
    violation_class: str | None,
    state: str | None,
    severity: int | None,
    overdue: bool | None,
    since: datetime | None,
    until: datetime | None,
    kind: str | None,
) -> Select[Case]:
    stmt = case_filter(select(Case), user)
    now = utcnow()
    if school_id:
        stmt = stmt.where(Case.school_id == school_id)
    if violation_class:
        stmt = stmt.where(Case.violation_class == violation_class)
    if state:
        stmt = stmt.where(Case.state.in_(state.split(",")))
    if severity:
        stmt = stmt.where(Case.severity == severity)
    if kind:
        stmt = stmt.where(Case.kind == kind)
    owing = Case.state.in_([s.value for s in workflow.OWING_STATES])
    if overdue is True:
        stmt = stmt.where(owing, Case.deadline_at <= now)
    elif overdue is False:
        stmt = stmt.where(~(owing & (Case.deadline_at <= now)))
    if since:
        stmt = stmt.where(Case.first_seen_at >= since)
    if until:
        stmt = stmt.where(Case.first_seen_at < until)
    return stmt


def _case_out(case: Case) -> CaseOut:
    out = CaseOut.model_validate(case)
    out.overdue = case_service.is_overdue(case, utcnow())
    return out


@router.get("/cases", response_model=Page[CaseOut], summary="Cases in scope, newest first")
def list_cases(
    session: SessionDep,
    user: CurrentUser,
    school_id: str | None = None,
    violation_class: Annotated[str | None, Query(alias="class")] = None,
    state: Annotated[str | None, Query(description="one state or a comma-separated list")] = None,
    severity: Annotated[int | None, Query(ge=1, le=3)] = None,
    overdue: bool | None = None,
    since: Annotated[datetime | None, Query(description="first seen at or after (ISO 8601 with zone)")] = None,
    until: Annotated[datetime | None, Query(description="first seen before")] = None,
    kind: Literal["violation", "parent_report"] | None = None,
    skip: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[CaseOut]:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ApiError(422, f"{name} needs a timezone (e.g. 2026-01-01T00:00:00+08:00)")
    if state:
        unknown = set(state.split(",")) - {s.value for s in workflow.State}
        if unknown:
            raise ApiError(422, f"unknown state(s): {', '.join(sorted(unknown))}")
    stmt = _filtered(user, school_id, violation_class, state, severity, overdue, since, until, kind)
    count = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Case.first_seen_at.desc(), Case.id.desc()).offset(skip).limit(limit))
    return Page[CaseOut](data=[_case_out(c) for c in rows], count=count)


def _evidence_out(e: Evidence) -> EvidenceOut:
    return EvidenceOut(
        id=e.id,
        name=e.name,
        url=f"/api/v1/evidence/{e.id}",
        sha256=e.sha256,
        width=e.width,
        height=e.height,
        content_type=e.content_type,
    )


@router.get("/cases/{case_id}", response_model=CaseDetail, summary="Case with events, evidence, timeline")
def get_case(case_id: int, session: SessionDep, user: CurrentUser) -> CaseDetail:
    case = scoped_case(session, case_id, user)
    evidence = list(session.scalars(select(Evidence).where(Evidence.case_id == case.id).order_by(Evidence.id)))
    by_event: dict[int | None, list[EvidenceOut]] = {}
    for e in evidence:
        by_event.setdefault(e.event_row_id, []).append(_evidence_out(e))
    events = [
        EventOut(
            event_id=str(r.event_id),
            occurred_at=r.occurred_at,
            received_at=r.received_at,
            score=r.score,
            duration_s=r.duration_s,
            rule=r.rule,
            boxes=r.boxes,
            evidence=by_event.get(r.id, []),
        )
        for r in session.scalars(
            select(ViolationEventRow).where(ViolationEventRow.case_id == case.id).order_by(ViolationEventRow.id)
        )
    ]
    timeline = session.scalars(
        select(CaseTransition).where(CaseTransition.case_id == case.id).order_by(CaseTransition.id)
    )
    rects = [
        _rect_out(session, r)
        for r in session.scalars(
            select(Rectification).where(Rectification.case_id == case.id).order_by(Rectification.id)
        )
    ]
    allowed = [t.action for t in workflow.TRANSITIONS if t.source == case.state and user.role in t.roles]
    base = _case_out(case).model_dump()
    return CaseDetail(
        **base,
        comment=case.comment,
        reporter_name=case.reporter_name,
        events=events,
        evidence=by_event.get(None, []) + [e for evs in events for e in evs.evidence],
        timeline=[TransitionOut.model_validate(t) for t in timeline],
        rectifications=rects,
        escalations=[
            EscalationOut.model_validate(e)
            for e in session.scalars(select(Escalation).where(Escalation.case_id == case.id).order_by(Escalation.id))
        ],
        allowed_actions=allowed,
    )


@router.post(
    "/cases/{case_id}/transitions", response_model=CaseOut, summary="Move a case (409 if illegal, 403 if role)"
)
def transition_case(case_id: int, body: TransitionIn, hub: HubDep, session: SessionDep, user: CurrentUser) -> CaseOut:
    case = scoped_case(session, case_id, user)
    case_service.transition(session, case, body.action, actor_of(user), body.reason, hub.notifier)
    session.flush()
    return _case_out(case)


@router.post(
    "/cases/{case_id}/rectification",
    response_model=RectificationOut,
    status_code=201,
    summary="Submit rectification: text + 1–5 photos (multipart)",
)
async def submit_rectification(
    case_id: int,
    hub: HubDep,
    session: SessionDep,
    user: CurrentUser,
    text: Annotated[str, Form(min_length=1, max_length=5000)],
    photos: Annotated[list[UploadFile], File(description="1–5 images (JPEG, PNG or WebP)")],
) -> RectificationOut:
    case = scoped_case(session, case_id, user)
    limits = hub.config.rectification
    files = []
    for upload in photos[: limits.max_photos + 1]:
        files.append((upload.filename or "photo", await upload.read(limits.max_photo_bytes + 1)))
    try:
        cleaned = rect_service.prepare_photos(files, limits)
        rect = rect_service.submit(session, case, actor_of(user), text, cleaned, hub.storage, hub.notifier)
    except ImageRejected as exc:
        raise ApiError(400, str(exc), code="bad_image") from exc
    except StorageError as exc:
        raise ApiError(503, "evidence storage is unavailable; try again") from exc
    session.flush()
    return _rect_out(session, rect)


def _rect_out(session: SessionDep, r: Rectification) -> RectificationOut:
    photos = session.scalars(select(RectificationPhoto).where(RectificationPhoto.rectification_id == r.id))
    return RectificationOut(
        id=r.id,
        text=r.text,
        submitted_at=r.submitted_at,
        status=r.status,
        review_reason=r.review_reason,
        reviewed_at=r.reviewed_at,
        photos=[
            PhotoOut(
                id=p.id,
                url=f"/api/v1/rectification-photos/{p.id}",
                thumbnail_url=f"/api/v1/rectification-photos/{p.id}?thumbnail=true",
                width=p.width,
                height=p.height,
                content_type=p.content_type,
            )
            for p in photos
        ],
    )


@router.post(
    "/cases/{case_id}/rectification/review", response_model=RectificationOut, summary="Approve or reject (with reason)"
)
def review_rectification(
    case_id: int, body: ReviewIn, hub: HubDep, session: SessionDep, user: CurrentUser
) -> RectificationOut:
    case = scoped_case(session, case_id, user)
    rect = rect_service.latest(session, case.id)
    if rect is None:
        raise ApiError(409, "no rectification has been submitted for this case", code="illegal_transition")
    rect_service.review(session, case, rect, actor_of(user), body.decision == "approve", body.reason, hub.notifier)
    session.flush()
    return _rect_out(session, rect)


def _blob(hub: HubDep, key: str, content_type: str) -> Response:
    try:
        data = hub.storage.get(key)
    except KeyError as exc:
        raise ApiError(404, "image file is missing from storage") from exc
    except StorageError as exc:
        raise ApiError(503, "evidence storage is unavailable") from exc
    return Response(data, media_type=content_type, headers={"Cache-Control": "private, max-age=3600"})


_IMAGE: dict[int | str, dict[str, Any]] = {200: {"content": {"image/jpeg": {}}, "description": "the image"}}


@router.get("/evidence/{evidence_id}", response_class=Response, responses=_IMAGE, summary="Evidence image (scoped)")
def get_evidence(evidence_id: int, hub: HubDep, session: SessionDep, user: CurrentUser) -> Response:
    row = session.scalar(
        case_filter(select(Evidence).join(Case, Case.id == Evidence.case_id).where(Evidence.id == evidence_id), user)
    )
    if row is None:
        raise not_found("evidence")
    return _blob(hub, row.storage_key, row.content_type)


@router.get(
    "/rectification-photos/{photo_id}", response_class=Response, responses=_IMAGE, summary="Rectification photo"
)
def get_photo(photo_id: int, hub: HubDep, session: SessionDep, user: CurrentUser, thumbnail: bool = False) -> Response:
    stmt = (
        select(RectificationPhoto)
        .join(Rectification, Rectification.id == RectificationPhoto.rectification_id)
        .join(Case, Case.id == Rectification.case_id)
        .where(RectificationPhoto.id == photo_id)
    )
    row = session.scalar(case_filter(stmt, user))
    if row is None:
        raise not_found("photo")
    if thumbnail:
        return _blob(hub, row.thumbnail_key, "image/jpeg")
    return _blob(hub, row.storage_key, row.content_type)
