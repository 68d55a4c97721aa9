"""People: server-side sessions, login throttling, parent invites/grants, live-view audit, push.

Sessions live in the database (not only in a signed token) so logout and revocation take effect at
once and on every hub process. Secrets (session tokens, invite codes) are stored as SHA-256 only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloud_api.db.base import Base, utcnow


class AuthSession(Base):
    """A login: ``web`` (cookie + CSRF token) or ``api`` (bearer token)."""

    __tablename__ = "auth_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8), doc="web | api")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(256), default="")


class LoginThrottle(Base):
    """Failed logins per key (``user:<name>`` or ``ip:<addr>``) and the lock they caused."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class CameraLiveSetting(Base):
    """Whether parents may watch a camera; absent row means not viewable (opt-in)."""

    __tablename__ = "camera_live_settings"
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True)
    parent_viewable: Mapped[bool] = mapped_column(default=False)
    area_type: Mapped[str] = mapped_column(String(32), default="kitchen", doc="privacy class of what it films")
    max_viewers: Mapped[int | None] = mapped_column(default=None, doc="null: config default")
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ParentInvite(Base):
    """A one-time code a school head hands to a parent; redeeming it creates a user and a grant."""

    __tablename__ = "parent_invites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(128), default="")
    camera_ids: Mapped[list[Any] | None] = mapped_column(default=None, doc="null: every viewable camera")
    grant_days: Mapped[int] = mapped_column(default=30)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class ParentGrant(Base):
    """Time-limited, revocable right of one parent to watch some of one school's cameras live."""

    __tablename__ = "parent_grants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    camera_ids: Mapped[list[Any] | None] = mapped_column(default=None, doc="null: every viewable camera")
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("parent_invites.id", ondelete="SET NULL"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    starts_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)


class LiveViewAudit(Base):
    """Every live view: who watched which camera from when to when."""

    __tablename__ = "live_view_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    camera_id: Mapped[str] = mapped_column(String(64), index=True)
    grant_id: Mapped[int | None] = mapped_column(default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    end_reason: Mapped[str] = mapped_column(String(32), default="")
    frames: Mapped[int] = mapped_column(default=0)
    bytes_sent: Mapped[int] = mapped_column(default=0)


class ParentReport(Base):
    """直通负责人: a parent's report on a camera, backed by a ``parent_report`` case."""

    __tablename__ = "parent_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    school_id: Mapped[str] = mapped_column(String(64), index=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    screenshot_source: Mapped[str] = mapped_column(String(16), doc="snapshot | live_frame | none")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PushPreference(Base):
    """Which channels a user wants, for which severities, and when to stay quiet."""

    __tablename__ = "push_preferences"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    channels: Mapped[list[Any]] = mapped_column(doc="channel names from config")
    severities: Mapped[list[Any]] = mapped_column(doc="grades 1–3 to receive")
    quiet_start: Mapped[str | None] = mapped_column(String(5), default=None, doc="HH:MM local")
    quiet_end: Mapped[str | None] = mapped_column(String(5), default=None)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebPushSubscription(Base):
    """A browser's PushSubscription (endpoint and keys)."""

    __tablename__ = "webpush_subscriptions"
    __table_args__ = (UniqueConstraint("endpoint"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1024))
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PushDelivery(Base):
    """One alert to one channel target, with its attempts; the delivery log admins read."""

    __tablename__ = "push_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifications.id", ondelete="SET NULL"), index=True, default=None
    )
    alert_kind: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(index=True, default=None)
    school_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(64))
    channel_type: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(1024), doc="where it went (URL, endpoint, user)")
    payload: Mapped[dict[str, Any] | None] = mapped_column(default=None, doc="the alert, so retries survive restarts")
    status: Mapped[str] = mapped_column(String(16), index=True, doc="pending | delivered | failed | skipped")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
