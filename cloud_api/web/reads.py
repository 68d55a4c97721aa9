"""Read models for the pages: plain frozen dataclasses built from the ORM inside one session.

Every query goes through :func:`case_scope_filter`, so a page can only ever show cases the user may see;
a case outside the scope is reported as missing (404), never as "forbidden", to leak nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, select, true
from sqlalchemy.orm import Session

from cloud_api.db.models import (
    Camera,
    Case,
    CaseTransition,
    Evidence,
    Rectification,
    RectificationPhoto,
    Room,
    School,
    ViolationEventRow,
)
from cloud_api.services.workflow import CLOSED_STATES, OWING_STATES, TRANSITIONS
from cloud_api.web.auth import WebUser

STAFF_ROLES = frozenset({"school_head", "canteen_manager"})


def case_scope_filter(user: WebUser) -> ColumnElement[bool]:
    """Condition on ``Case`` joined to ``School``: what this user may see."""
    if user.role == "admin":
        return true()
    if user.role == "regulator" and user.district_id:
        return School.district_id == user.district_id
    if user.role in STAFF_ROLES and user.school_id:
        return Case.school_id == user.school_id
    if user.role == "parent":
        return and_(Case.kind == "parent_report", Case.reporter_user_id == user.id)
    return false()


@dataclass(frozen=True)
class CaseRow:
    id: int
    kind: str
    school_id: str
    school_name: str
    violation_class: str
    severity: int
    state: str
    card: str
    first_seen_at: datetime
    deadline_at: datetime
    closed_at: datetime | None
    event_count: int
    room_name: str
    camera_name: str
    thumb_evidence_id: int | None
    comment: str

    def overdue(self, now: datetime) -> bool:
        return self.state in OWING_STATES and self.deadline_at <= now

    def hours_to_deadline(self, now: datetime) -> float:
        return (self.deadline_at - now).total_seconds() / 3600

    @property
    def is_open(self) -> bool:
        return self.state not in CLOSED_STATES


def _first_evidence(session: Session, case_ids: list[int]) -> dict[int, int]:
    """The picture to show per case: the ``clean`` frame when present (boxes are drawn by the page)."""
    if not case_ids:
        return {}
    best: dict[int, tuple[int, int]] = {}
    rank = {"clean": 0, "annotated": 1, "snapshot": 2, "frame": 3}
    for ev_id, case_id, name in session.execute(
        select(Evidence.id, Evidence.case_id, Evidence.name).where(Evidence.case_id.in_(case_ids)).order_by(Evidence.id)
    ).all():
        r = rank.get(name, 9)
        if case_id not in best or r < best[case_id][0]:
            best[case_id] = (r, ev_id)
    return {k: v[1] for k, v in best.items()}


def list_cases(
    session: Session,
    user: WebUser,
    *,
    open_only: bool | None = None,
    limit: int = 50,
    overdue_at: datetime | None = None,
) -> list[CaseRow]:
    """Cases visible to ``user``; ``open_only`` True/False/None; ``overdue_at`` keeps only cases overdue then."""
    q = (
        select(Case, School.name, Room.name, Camera.name)
        .join(School, School.id == Case.school_id)
        .outerjoin(Room, Room.id == Case.room_id)
        .outerjoin(Camera, Camera.id == Case.camera_id)
        .where(case_scope_filter(user))
    )
    closed = [s.value for s in CLOSED_STATES]
    if open_only is True:
        q = q.where(Case.state.not_in(closed)).order_by(Case.deadline_at, Case.id)
    elif open_only is False:
        q = q.where(Case.state.in_(closed)).order_by(Case.closed_at.desc(), Case.id.desc())
    else:
        q = q.order_by(Case.id.desc())
    if overdue_at is not None:
        q = q.where(Case.state.in_([s.value for s in OWING_STATES]), Case.deadline_at <= overdue_at)
    rows = session.execute(q.limit(limit)).all()
    thumbs = _first_evidence(session, [r[0].id for r in rows])
    return [_row(c, school, room, cam, thumbs.get(c.id)) for c, school, room, cam in rows]


def _row(c: Case, school: str, room: str | None, cam: str | None, thumb: int | None) -> CaseRow:
    return CaseRow(
        id=c.id,
        kind=c.kind,
        school_id=c.school_id,
        school_name=school,
        violation_class=c.violation_class,
        severity=c.severity,
        state=c.state,
        card=c.card,
        first_seen_at=c.first_seen_at,
        deadline_at=c.deadline_at,
        closed_at=c.closed_at,
        event_count=c.event_count,
        room_name=room or (c.room_id or ""),
        camera_name=cam or (c.camera_id or ""),
        thumb_evidence_id=thumb,
        comment=c.comment,
    )


@dataclass(frozen=True)
class EvidenceView:
    id: int
    name: str
    width: int
    height: int


@dataclass(frozen=True)
class EventView:
    """定时/定位/定人/定事/定景 of the latest event."""

    occurred_at: datetime
    timezone: str
    place: dict[str, Any]
    track_id: int | None
    score: float
    duration_s: float
    rule: str
    boxes: list[dict[str, Any]]
    model_name: str


@dataclass(frozen=True)
class StepView:
    at: datetime
    action: str
    from_state: str | None
    to_state: str
    actor_name: str
    actor_role: str
    reason: str


@dataclass(frozen=True)
class PhotoView:
    id: int
    width: int
    height: int


@dataclass(frozen=True)
class RectificationView:
    id: int
    text: str
    status: str
    submitted_at: datetime
    reviewed_at: datetime | None
    review_reason: str
    photos: list[PhotoView]


@dataclass(frozen=True)
class CaseDetail:
    case: CaseRow
    canteen_id: str | None
    evidence: list[EvidenceView]
    event: EventView | None
    steps: list[StepView]
    rectifications: list[RectificationView]


def case_detail(session: Session, user: WebUser, case_id: int) -> CaseDetail | None:
    rows = list_cases_by_id(session, user, case_id)
    if rows is None:
        return None
    c, row = rows
    evidence = [
        EvidenceView(e.id, e.name, e.width, e.height)
        for e in session.scalars(select(Evidence).where(Evidence.case_id == case_id).order_by(Evidence.id))
    ]
    ev = session.scalars(
        select(ViolationEventRow).where(ViolationEventRow.case_id == case_id).order_by(ViolationEventRow.id.desc())
    ).first()
    event = None
    if ev is not None:
        event = EventView(
            ev.occurred_at,
            ev.timezone,
            dict(ev.place),
            ev.track_id,
            ev.score,
            ev.duration_s,
            ev.rule,
            [dict(b) for b in ev.boxes],
            (ev.model or {}).get("name", ""),
        )
    steps = [
        StepView(t.at, t.action, t.from_state, t.to_state, t.actor_name, t.actor_role, t.reason)
        for t in session.scalars(
            select(CaseTransition).where(CaseTransition.case_id == case_id).order_by(CaseTransition.id)
        )
    ]
    rects = []
    for r in session.scalars(select(Rectification).where(Rectification.case_id == case_id).order_by(Rectification.id)):
        photos = [
            PhotoView(p.id, p.width, p.height)
            for p in session.scalars(
                select(RectificationPhoto)
                .where(RectificationPhoto.rectification_id == r.id)
                .order_by(RectificationPhoto.id)
            )
        ]
        rects.append(RectificationView(r.id, r.text, r.status, r.submitted_at, r.reviewed_at, r.review_reason, photos))
    return CaseDetail(row, c.canteen_id, evidence, event, steps, rects)


def list_cases_by_id(session: Session, user: WebUser, case_id: int) -> tuple[Case, CaseRow] | None:
    found = session.execute(
        select(Case, School.name, Room.name, Camera.name)
        .join(School, School.id == Case.school_id)
        .outerjoin(Room, Room.id == Case.room_id)
        .outerjoin(Camera, Camera.id == Case.camera_id)
        .where(Case.id == case_id, case_scope_filter(user))
    ).first()
    if found is None:
        return None
    c, school, room, cam = found
    return c, _row(c, school, room, cam, _first_evidence(session, [c.id]).get(c.id))


def allowed_actions(state: str, role: str) -> list[str]:
    """Buttons to offer: API transitions legal from ``state`` for ``role`` (the service re-checks on submit)."""
    return [t.action for t in TRANSITIONS if t.api and t.source == state and role in t.roles]


def evidence_blob_key(session: Session, user: WebUser, evidence_id: int) -> tuple[str, str] | None:
    """(storage key, content type) of an evidence image the user may see."""
    found = session.execute(
        select(Evidence.storage_key, Evidence.content_type)
        .join(Case, Case.id == Evidence.case_id)
        .join(School, School.id == Case.school_id)
        .where(Evidence.id == evidence_id, case_scope_filter(user))
    ).first()
    return None if found is None else (found[0], found[1])


def photo_blob_key(session: Session, user: WebUser, photo_id: int, thumbnail: bool) -> tuple[str, str] | None:
    found = session.execute(
        select(RectificationPhoto.storage_key, RectificationPhoto.thumbnail_key, RectificationPhoto.content_type)
        .join(Rectification, Rectification.id == RectificationPhoto.rectification_id)
        .join(Case, Case.id == Rectification.case_id)
        .join(School, School.id == Case.school_id)
        .where(RectificationPhoto.id == photo_id, case_scope_filter(user))
    ).first()
    if found is None:
        return None
    return (found[1], "image/jpeg") if thumbnail else (found[0], found[2])
