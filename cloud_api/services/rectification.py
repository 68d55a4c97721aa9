"""Rectification: the school submits text + 1–5 cleaned photos (rectifying → submitted); a reviewer decides."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_api.config import RectificationConfig
from cloud_api.db.base import utcnow
from cloud_api.db.models import Case, Rectification, RectificationPhoto
from cloud_api.services import cases as case_service
from cloud_api.services.cases import Actor
from cloud_api.services.images import CleanImage, ImageRejected, clean_image
from cloud_api.services.notifier import Notifier
from cloud_api.services.workflow import State, TransitionError, check
from cloud_api.storage import Storage, photo_key


def prepare_photos(files: list[tuple[str, bytes]], limits: RectificationConfig) -> list[CleanImage]:
    """Validate everything before storing anything, so a bad photo leaves no partial submission."""
    if not 1 <= len(files) <= limits.max_photos:
        raise ImageRejected(f"a rectification needs 1 to {limits.max_photos} photos, got {len(files)}")
    return [clean_image(name or f"photo {i + 1}", raw, limits) for i, (name, raw) in enumerate(files)]


def submit(
    session: Session,
    case: Case,
    actor: Actor,
    text: str,
    photos: list[CleanImage],
    storage: Storage,
    notifier: Notifier,
) -> Rectification:
    if not text.strip():
        raise TransitionError("reason", "rectification text must not be empty")
    check("submit", case.state, actor.role, text, via_api=False)  # refuse before writing files
    rect = Rectification(case_id=case.id, text=text, submitted_by=actor.user_id)
    session.add(rect)
    session.flush()
    for photo in photos:
        key = photo_key(case.school_id, case.id, photo.sha256, photo.suffix)
        thumb_key = photo_key(case.school_id, case.id, photo.sha256, ".thumb.jpg")
        storage.put(key, photo.data, photo.content_type)
        storage.put(thumb_key, photo.thumbnail, "image/jpeg")
        session.add(
            RectificationPhoto(
                rectification_id=rect.id,
                storage_key=key,
                thumbnail_key=thumb_key,
                sha256=photo.sha256,
                size=len(photo.data),
                width=photo.width,
                height=photo.height,
                content_type=photo.content_type,
            )
        )
    case_service.transition(session, case, "submit", actor, "", notifier, via_api=False)
    return rect


def review(
    session: Session, case: Case, rect: Rectification, actor: Actor, approve: bool, reason: str, notifier: Notifier
) -> None:
    """Approve (submitted → approved) or reject with a reason (→ rectifying); only the latest pending one."""
    if rect.status != "pending":
        raise TransitionError("illegal", f"rectification {rect.id} was already {rect.status}")
    if case.state != State.SUBMITTED:
        raise TransitionError("illegal", f"case is {case.state!r}, not awaiting review")
    case_service.transition(session, case, "approve" if approve else "reject", actor, reason, notifier, via_api=False)
    rect.status = "approved" if approve else "rejected"
    rect.reviewed_by, rect.reviewed_at, rect.review_reason = actor.user_id, utcnow(), reason


def latest(session: Session, case_id: int) -> Rectification | None:
    return session.scalar(
        select(Rectification).where(Rectification.case_id == case_id).order_by(Rectification.id.desc()).limit(1)
    )
