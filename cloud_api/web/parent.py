"""The parent's page: the school's public figures, the cameras the grant covers, and the parent's own reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_api.analytics.scope import Scope
from cloud_api.analytics.stats import GroupStats, overall
from cloud_api.db.models import Camera, School
from cloud_api.db.models.people import ParentGrant
from cloud_api.people.config import ParentsConfig
from cloud_api.people.parents import viewable_camera_ids
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


def parent_view(session: Session, user: WebUser, now: datetime, parents: ParentsConfig) -> ParentView:
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
        # the same rule the live socket enforces: marked viewable and never a washroom or changing room
        allowed = viewable_camera_ids(session, grant.school_id, parents)
        if grant.camera_ids is not None:
            allowed = [c for c in allowed if c in {str(x) for x in grant.camera_ids}]
        rows = session.execute(select(Camera.id, Camera.name).where(Camera.id.in_(allowed)).order_by(Camera.id))
        cameras = [LiveCamera(cid, name or cid) for cid, name in rows.all()]
    stats = overall(session, window(now), Scope(school_id=school.id), now) if school else None
    return ParentView(
        school_id=school.id if school else None,
        school_name=school.name if school else "",
        school_stats=stats,
        grant_expires_at=grant.expires_at if grant else None,
        cameras=cameras,
        reports=reads.list_cases(session, user, limit=20),
    )
