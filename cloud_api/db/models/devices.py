"""Edge devices, their signing keys (with rotation history), online history and latest stats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cloud_api.db.base import Base, utcnow


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    state: Mapped[str] = mapped_column(String(16), default="unknown")
    state_at: Mapped[datetime | None] = mapped_column(default=None)
    agent_version: Mapped[str] = mapped_column(String(32), default="")
    trusted_on_first_use: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeviceKey(Base):
    """An Ed25519 public key; a retired key still verifies messages sent before ``retired_at``."""

    __tablename__ = "device_keys"
    __table_args__ = (UniqueConstraint("device_id", "key_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    public_key: Mapped[str] = mapped_column(String(64), doc="base64 of the raw 32-byte key")
    key_id: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)


class DeviceStatusLog(Base):
    __tablename__ = "device_status_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(index=True)


class CameraStatusLog(Base):
    __tablename__ = "camera_status_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(index=True)


class DeviceStatsLatest(Base):
    __tablename__ = "device_stats_latest"
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    sent_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    uptime_s: Mapped[float]
    outbox_depth: Mapped[int]
    outbox_bytes: Mapped[int]


class CameraStatsLatest(Base):
    __tablename__ = "camera_stats_latest"
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    sent_at: Mapped[datetime]
    decode_fps: Mapped[float]
    detect_fps: Mapped[float]
    dropped_frames: Mapped[int]
    inference_ms: Mapped[float]
    lag_s: Mapped[float]
