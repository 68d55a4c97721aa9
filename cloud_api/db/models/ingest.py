"""What ingest refused: quarantined payloads and security alerts (never cases)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloud_api.db.base import Base, utcnow


class Quarantine(Base):
    """A refused message; the payload itself is kept in storage under ``payload_key``."""

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    topic: Mapped[str] = mapped_column(String(256))
    school_id: Mapped[str | None] = mapped_column(String(64), index=True)
    device_id: Mapped[str | None] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    payload_size: Mapped[int] = mapped_column(default=0)
    payload_sha256: Mapped[str] = mapped_column(String(64), default="")
    payload_key: Mapped[str | None] = mapped_column(String(256), default=None)


class SecurityAlert(Base):
    """Something that may be an attack (bad signature, key mismatch); shown to admins."""

    __tablename__ = "security_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    school_id: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    quarantine_id: Mapped[int | None] = mapped_column(default=None)
