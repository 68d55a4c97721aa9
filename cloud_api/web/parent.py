"""The parent's page: the school's public figures, the cameras the grant covers, and the parent's own reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cloud_api.analytics.scope import Scope
from cloud_api.analytics.stats import GroupStats, overall
from cloud_api.db.models import Camera, School
from cloud_api.db.models.people import CameraLiveSetting, ParentGrant
from cloud_api.web import reads
from cloud_api.web.auth import WebUser
from cloud_api.web.overview import window


@dataclass(frozen=True)
class LiveCamera:
    id: str
    name: str


@dataclass(frozen=True)
class ParentView:
    school_id: str | None
    school_name: str
    school_stats: GroupStats | None
    grant_expires_at: datetime | None
    cameras: list[LiveCamera]
    reports: list[reads.CaseRow]


def parent_view(session: Session, user: WebUser, now: datetime) -> ParentView:
    grant = session.scalars(
        select(ParentGrant)
        .where(
            ParentGrant.user_id == user.id,
            ParentGrant.revoked_at.is_(None),
            ParentGrant.starts_at <= now,
            ParentGrant.expires_at > now,
        )
        .order_by(ParentGrant.expires_at.desc())
    ).first()
    school_id = grant.school_id if grant else user.school_id
    school = session.get(School, school_id) if school_id else None
    cameras: list[LiveCamera] = []
    if grant is not None:
        q = (
            select(Camera.id, Camera.name)
            .join(CameraLiveSetting, CameraLiveSetting.camera_id == Camera.id)
            .where(Camera.school_id == grant.school_id, CameraLiveSetting.parent_viewable.is_(True))
            .order_by(Camera.id)
        )
        if grant.camera_ids is not None:
            q = q.where(or_(Camera.id.in_([str(c) for c in grant.camera_ids])))
        cameras = [LiveCamera(cid, name or cid) for cid, name in session.execute(q).all()]
    stats = overall(session, window(now), Scope(school_id=school.id), now) if school else None
    return ParentView(
        school_id=school.id if school else None,
        school_name=school.name if school else "",
        school_stats=stats,
        grant_expires_at=grant.expires_at if grant else None,
        cameras=cameras,
        reports=reads.list_cases(session, user, limit=20),
    )
