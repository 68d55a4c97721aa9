"""Read models of the school head's parents page: cameras with their live setting, active grants, the audit.

Which cameras parents may actually watch is always asked of :func:`parents.viewable_camera_ids` (the rule the
live socket enforces), never re-derived here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_api.db.models import Camera, Room, User
from cloud_api.db.models.people import CameraLiveSetting, LiveViewAudit, ParentGrant
from cloud_api.people.config import ParentsConfig
from cloud_api.people.parents import pending_invites as _pending_invites
from cloud_api.people.parents import viewable_camera_ids
from cloud_api.people.principal import Principal
from cloud_api.web.auth import WebUser

# Area types a head can pick; the configured forbidden ones are added so a mistake is refused, not hidden.
AREA_TYPES: tuple[str, ...] = ("kitchen", "cooking", "prep", "washing", "storage", "dining")


@dataclass(frozen=True)
class CameraRow:
    id: str
    name: str
    room_name: str
    area_type: str
    marked: bool  # the school's choice
    visible: bool  # what parents really get (the people service's rule)


@dataclass(frozen=True)
class GrantRow:
    id: int
    parent_name: str
    username: str
    camera_names: list[str] | None  # None: every camera open to parents
    starts_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class InviteRow:
    id: int
    label: str
    camera_names: list[str] | None  # None: every camera open to parents
    grant_days: int
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class AuditRow:
    username: str
    role: str
    camera_name: str
    started_at: datetime
    ended_at: datetime | None
    seconds: int | None
    end_reason: str


def principal_of(user: WebUser) -> Principal:
    """The people services take a :class:`Principal`; a web session is a cookie session of the same user."""
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        school_id=user.school_id,
        district_id=user.district_id,
        session_id=user.session_id,
        via="cookie",
    )


def area_choices(cfg: ParentsConfig) -> tuple[str, ...]:
    return AREA_TYPES + tuple(t for t in cfg.forbidden_area_types if t not in AREA_TYPES)


def camera_names(session: Session, school_id: str) -> dict[str, str]:
    rows = session.execute(select(Camera.id, Camera.name).where(Camera.school_id == school_id))
    return {cid: name or cid for cid, name in rows.all()}


def list_cameras(session: Session, school_id: str, cfg: ParentsConfig) -> list[CameraRow]:
    visible = set(viewable_camera_ids(session, school_id, cfg))
    rows = session.execute(
        select(Camera, CameraLiveSetting, Room)
        .outerjoin(CameraLiveSetting, CameraLiveSetting.camera_id == Camera.id)
        .outerjoin(Room, Room.id == Camera.room_id)
        .where(Camera.school_id == school_id)
        .order_by(Camera.id)
    ).all()
    return [
        CameraRow(
            id=cam.id,
            name=cam.name or cam.id,
            room_name=room.name if room else "",
            area_type=setting.area_type if setting else "kitchen",
            marked=bool(setting and setting.parent_viewable),
            visible=cam.id in visible,
        )
        for cam, setting, room in rows
    ]


def active_grants(session: Session, school_id: str, now: datetime) -> list[GrantRow]:
    names = camera_names(session, school_id)
    rows = session.execute(
        select(ParentGrant, User)
        .join(User, User.id == ParentGrant.user_id)
        .where(ParentGrant.school_id == school_id, ParentGrant.revoked_at.is_(None), ParentGrant.expires_at > now)
        .order_by(ParentGrant.expires_at)
    ).all()
    return [
        GrantRow(
            id=g.id,
            parent_name=u.display_name or u.username,
            username=u.username,
            camera_names=None if g.camera_ids is None else [names.get(str(c), str(c)) for c in g.camera_ids],
            starts_at=g.starts_at,
            expires_at=g.expires_at,
        )
        for g, u in rows
    ]


def pending_invites(session: Session, school_id: str, now: datetime) -> list[InviteRow]:
    """Invites a parent could still redeem (the ones a head may want to cancel)."""
    names = camera_names(session, school_id)
    return [
        InviteRow(
            id=i.id,
            label=i.label,
            camera_names=None if i.camera_ids is None else [names.get(str(c), str(c)) for c in i.camera_ids],
            grant_days=i.grant_days,
            created_at=i.created_at,
            expires_at=i.expires_at,
        )
        for i in _pending_invites(session, school_id, now)
    ]


def live_audit(session: Session, school_id: str, limit: int = 50) -> list[AuditRow]:
    names = camera_names(session, school_id)
    rows = session.scalars(
        select(LiveViewAudit).where(LiveViewAudit.school_id == school_id).order_by(LiveViewAudit.id.desc()).limit(limit)
    )
    return [
        AuditRow(
            username=r.username,
            role=r.role,
            camera_name=names.get(r.camera_id, r.camera_id),
            started_at=r.started_at,
            ended_at=r.ended_at,
            seconds=None if r.ended_at is None else max(0, int((r.ended_at - r.started_at).total_seconds())),
            end_reason=r.end_reason,
        )
        for r in rows
    ]
