"""Parents' authorised live view: camera opt-in, invites (one-time code + QR), grants, authorisation.

Privacy is enforced here, server-side: a camera whose area or room type is in
``forbidden_area_types`` (washrooms, changing rooms…) can never be made viewable nor watched.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_api.db.base import utcnow
from cloud_api.db.models.org import Camera, Room
from cloud_api.db.models.people import CameraLiveSetting, ParentGrant, ParentInvite
from cloud_api.db.models.users import Role, User
from cloud_api.errors import ApiError
from cloud_api.people import accounts
from cloud_api.people.config import ParentsConfig
from cloud_api.people.principal import Principal, can_oversee_school
from cloud_api.services.security import hash_password

INVITE_PREFIX = "MCI-"
INVITE_CANCELLED = "this invite was cancelled by the school; ask the school head for a new one"


def _forbidden_type(
    session: Session, camera: Camera, setting: CameraLiveSetting | None, cfg: ParentsConfig
) -> str | None:
    """The privacy type that bars this camera, if any (its own area type or its room's type)."""
    forbidden = {t.lower() for t in cfg.forbidden_area_types}
    if setting is not None and setting.area_type.lower() in forbidden:
        return setting.area_type
    room = session.get(Room, camera.room_id) if camera.room_id else None
    if room is not None and room.room_type.lower() in forbidden:
        return room.room_type
    return None


def set_camera_setting(
    session: Session,
    principal: Principal,
    camera_id: str,
    cfg: ParentsConfig,
    *,
    parent_viewable: bool,
    area_type: str,
    max_viewers: int | None,
) -> CameraLiveSetting:
    """School head (own school) or admin marks a camera viewable for parents or not."""
    camera = session.get(Camera, camera_id)
    if camera is None or not (
        principal.role == Role.ADMIN or (principal.role == Role.SCHOOL_HEAD and principal.school_id == camera.school_id)
    ):
        raise HTTPException(404, "camera not found")
    setting = session.get(CameraLiveSetting, camera_id) or CameraLiveSetting(camera_id=camera_id)
    setting.area_type = area_type
    barred = _forbidden_type(session, camera, setting, cfg)
    if parent_viewable and barred:
        raise HTTPException(422, f"cameras filming a {barred!r} area can never be shown to parents")
    setting.parent_viewable, setting.max_viewers = parent_viewable, max_viewers
    setting.updated_by, setting.updated_at = principal.user_id, utcnow()
    session.add(setting)
    session.flush()
    return setting


def viewable_camera_ids(session: Session, school_id: str, cfg: ParentsConfig) -> list[str]:
    rows = session.execute(
        select(Camera, CameraLiveSetting)
        .join(CameraLiveSetting, CameraLiveSetting.camera_id == Camera.id)
        .where(Camera.school_id == school_id, CameraLiveSetting.parent_viewable.is_(True))
        .order_by(Camera.id)
    ).all()
    return [cam.id for cam, setting in rows if _forbidden_type(session, cam, setting, cfg) is None]


def create_invite(
    session: Session,
    principal: Principal,
    school_id: str,
    cfg: ParentsConfig,
    *,
    camera_ids: list[str] | None,
    grant_days: int | None,
    label: str,
) -> tuple[ParentInvite, str]:
    """A one-time code (returned once, stored hashed) for the school head's own school."""
    if principal.role != Role.SCHOOL_HEAD or principal.school_id != school_id:
        raise HTTPException(404, "school not found")
    if camera_ids is not None:
        allowed = set(viewable_camera_ids(session, school_id, cfg))
        bad = sorted(set(camera_ids) - allowed)
        if bad:
            raise HTTPException(422, f"cameras not viewable for parents in this school: {', '.join(bad)}")
    code = INVITE_PREFIX + secrets.token_urlsafe(12)
    invite = ParentInvite(
        code_sha256=accounts.sha256_hex(code),
        school_id=school_id,
        label=label,
        camera_ids=camera_ids,
        grant_days=grant_days or cfg.default_grant_days,
        created_by=principal.user_id,
        expires_at=utcnow() + timedelta(hours=cfg.invite_ttl_hours),
    )
    session.add(invite)
    session.flush()
    return invite, code


def invite_link(cfg: ParentsConfig, code: str) -> str:
    return f"{cfg.public_base_url.rstrip('/')}/web/join?code={code}"


def qr_svg(data: str) -> str:
    """The invite link as an SVG QR code (segno, pure Python)."""
    import segno

    out = io.BytesIO()
    segno.make(data, error="m").save(out, kind="svg", scale=6, border=2)
    return out.getvalue().decode()


def redeem_invite(
    session: Session, code: str, username: str, password: str, display_name: str, now: datetime | None = None
) -> tuple[User, ParentGrant]:
    """Create the parent's account and grant from a valid unused code; a cancelled code is a 410
    (``invite_cancelled``, so the parent learns to ask again), any other bad code a 400."""
    now = now or utcnow()
    invite = session.scalars(select(ParentInvite).where(ParentInvite.code_sha256 == accounts.sha256_hex(code))).first()
    if invite is not None and invite.used_at is None and invite.revoked_at is not None:
        raise ApiError(410, INVITE_CANCELLED, code="invite_cancelled")
    if invite is None or invite.used_at is not None or invite.revoked_at is not None or invite.expires_at <= now:
        raise HTTPException(400, "invite code is unknown, used, revoked or expired")
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise HTTPException(409, "username is taken")
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=Role.PARENT.value,
        school_id=invite.school_id,
        district_id=None,
    )
    session.add(user)
    session.flush()
    grant = ParentGrant(
        user_id=user.id,
        school_id=invite.school_id,
        camera_ids=invite.camera_ids,
        invite_id=invite.id,
        created_by=invite.created_by,
        starts_at=now,
        expires_at=now + timedelta(days=invite.grant_days),
    )
    invite.used_at, invite.used_by = now, user.id
    session.add(grant)
    session.flush()
    return user, grant


def cancel_invite(session: Session, principal: Principal, invite_id: int, now: datetime | None = None) -> ParentInvite:
    """Cancel an unused invite so its code can no longer be redeemed (school head of its school, admin).

    Another school's invite answers 404 like an unknown id; a redeemed one is a 409 (revoke the grant
    instead); cancelling twice keeps the first time.
    """
    invite = session.get(ParentInvite, invite_id)
    allowed = invite is not None and (
        principal.role == Role.ADMIN
        or (principal.role == Role.SCHOOL_HEAD and principal.school_id == invite.school_id)
    )
    if invite is None or not allowed:
        raise HTTPException(404, "invite not found")
    if invite.used_at is not None:
        raise HTTPException(409, "invite was already redeemed; revoke the parent's grant instead")
    if invite.revoked_at is None:
        invite.revoked_at = now or utcnow()
        session.flush()
    return invite


def pending_invites(session: Session, school_id: str, now: datetime) -> list[ParentInvite]:
    """A school's invites that can still be redeemed (not used, not cancelled, not expired), oldest first."""
    return list(
        session.scalars(
            select(ParentInvite)
            .where(
                ParentInvite.school_id == school_id,
                ParentInvite.used_at.is_(None),
                ParentInvite.revoked_at.is_(None),
                ParentInvite.expires_at > now,
            )
            .order_by(ParentInvite.id)
        )
    )


def revoke_grant(session: Session, principal: Principal, grant_id: int) -> ParentGrant:
    grant = session.get(ParentGrant, grant_id)
    if grant is None or principal.role != Role.SCHOOL_HEAD or principal.school_id != grant.school_id:
        raise HTTPException(404, "grant not found")
    if grant.revoked_at is None:
        grant.revoked_at, grant.revoked_by = utcnow(), principal.user_id
    return grant


def active_grant(session: Session, user_id: int, camera_id: str, now: datetime) -> ParentGrant | None:
    grants = session.scalars(
        select(ParentGrant).where(
            ParentGrant.user_id == user_id,
            ParentGrant.revoked_at.is_(None),
            ParentGrant.starts_at <= now,
            ParentGrant.expires_at > now,
        )
    ).all()
    for grant in grants:
        if grant.camera_ids is None or camera_id in grant.camera_ids:
            return grant
    return None


@dataclass(frozen=True)
class LiveAuthorization:
    """Permission to watch one camera until ``until`` (grant end for parents)."""

    camera_id: str
    school_id: str
    device_id: str
    grant_id: int | None
    until: datetime | None
    max_viewers: int | None  # for parents; staff are not counted against it


def authorize_live(
    session: Session, principal: Principal, camera_id: str, cfg: ParentsConfig, now: datetime | None = None
) -> LiveAuthorization:
    """Raise 404 for a camera the caller may not watch (no hint whether it exists)."""
    now = now or utcnow()
    camera = session.get(Camera, camera_id)
    if camera is None:
        raise HTTPException(404, "camera not found")
    setting = session.get(CameraLiveSetting, camera_id)
    if _forbidden_type(session, camera, setting, cfg) is not None:
        raise HTTPException(404, "camera not found")
    grant_id, until, limit = None, None, None
    if principal.role == Role.PARENT:
        grant = active_grant(session, principal.user_id, camera_id, now)
        if grant is None or grant.school_id != camera.school_id or setting is None or not setting.parent_viewable:
            raise HTTPException(404, "camera not found")
        grant_id, until = grant.id, grant.expires_at
        limit = setting.max_viewers or cfg.max_viewers_per_camera
    elif not can_oversee_school(session, principal, camera.school_id):
        raise HTTPException(404, "camera not found")
    if camera.device_id is None:
        raise HTTPException(409, "camera has no edge device assigned")
    return LiveAuthorization(camera.id, camera.school_id, camera.device_id, grant_id, until, limit)
