"""Cases (one per violation or parent report), their events, evidence, audit log and rectifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from cloud_api.db.base import Base, utcnow


class Case(Base):
    """One violation to be driven to closure.

    ``open_key`` (camera:track:class) is set only while the case is open; its unique constraint makes
    repeats attach to the open case even when two ingest workers race.
    """

    __tablename__ = "cases"
    # For analytics (migration 0020): per-school period scans, incremental rollups, live open/overdue counts.
    __table_args__ = (
        Index("ix_cases_school_id_first_seen_at", "school_id", "first_seen_at"),
        Index("ix_cases_updated_at", "updated_at"),
        Index(
            "ix_cases_open_school_id_first_seen_at",
            "school_id",
            "first_seen_at",
            postgresql_include=["deadline_at", "state"],
            postgresql_where=text("closed_at IS NULL"),
            sqlite_where=text("closed_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), default="violation", doc="violation | parent_report")
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"), index=True)
    canteen_id: Mapped[str | None] = mapped_column(String(64))
    room_id: Mapped[str | None] = mapped_column(String(64))
    camera_id: Mapped[str | None] = mapped_column(String(64), index=True)
    device_id: Mapped[str | None] = mapped_column(String(64))
    track_id: Mapped[int | None] = mapped_column(default=None)
    violation_class: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[int] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    card: Mapped[str] = mapped_column(String(8), default="none", doc="none | yellow | red")
    event_count: Mapped[int] = mapped_column(default=1)
    first_seen_at: Mapped[datetime] = mapped_column(index=True)
    last_seen_at: Mapped[datetime]
    deadline_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    open_key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    reporter_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    reporter_name: Mapped[str] = mapped_column(String(128), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  (optimistic lock against racing transitions)


class ViolationEventRow(Base):
    """One received :class:`ViolationEvent`; ``event_id`` is unique so replays never duplicate."""

    __tablename__ = "violation_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[Any] = mapped_column(Uuid, unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(String(64))
    school_id: Mapped[str] = mapped_column(String(64))
    camera_id: Mapped[str] = mapped_column(String(64))
    violation_class: Mapped[str] = mapped_column(String(32))
    severity: Mapped[int]
    rule: Mapped[str] = mapped_column(String(64))
    track_id: Mapped[int | None]
    score: Mapped[float]
    duration_s: Mapped[float]
    occurred_at: Mapped[datetime]
    sent_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    timezone: Mapped[str] = mapped_column(String(64))
    place: Mapped[dict[str, Any]]
    boxes: Mapped[list[Any]]
    model: Mapped[dict[str, Any] | None]
    key_id: Mapped[str] = mapped_column(String(16))


class Evidence(Base):
    """An image stored for a case: event attachments and parent-report screenshots."""

    __tablename__ = "evidence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    event_row_id: Mapped[int | None] = mapped_column(ForeignKey("violation_events.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(32))
    storage_key: Mapped[str] = mapped_column(String(256))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(64), default="image/jpeg")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseTransition(Base):
    """Append-only audit log (a database trigger refuses UPDATE and DELETE)."""

    __tablename__ = "case_transitions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor_user_id: Mapped[int | None] = mapped_column(default=None)
    actor_name: Mapped[str] = mapped_column(String(128))
    actor_role: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")


class Escalation(Base):
    """A yellow or red card given to an overdue case."""

    __tablename__ = "escalations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    level: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]


class Notification(Base):
    """Outbox for the notifier: the default notifier records here; a push sender marks ``delivered_at``."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[str | None] = mapped_column(String(64), index=True)
    recipients_roles: Mapped[list[Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)


class Rectification(Base):
    __tablename__ = "rectifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending", doc="pending | approved | rejected")
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    review_reason: Mapped[str] = mapped_column(Text, default="")


class RectificationPhoto(Base):
    __tablename__ = "rectification_photos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rectification_id: Mapped[int] = mapped_column(ForeignKey("rectifications.id", ondelete="CASCADE"), index=True)
    storage_key: Mapped[str] = mapped_column(String(256))
    thumbnail_key: Mapped[str] = mapped_column(String(256))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(64))
