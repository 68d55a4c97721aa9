"""Organisation tree: district → school → canteen → room → camera. Ids are the contract's slugs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud_api.db.base import Base, utcnow

Slug = String(64)


class District(Base):
    __tablename__ = "districts"
    id: Mapped[str] = mapped_column(Slug, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class School(Base):
    __tablename__ = "schools"
    id: Mapped[str] = mapped_column(Slug, primary_key=True)
    district_id: Mapped[str] = mapped_column(ForeignKey("districts.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Canteen(Base):
    __tablename__ = "canteens"
    id: Mapped[str] = mapped_column(Slug, primary_key=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    auto_registered: Mapped[bool] = mapped_column(default=False)


class Room(Base):
    __tablename__ = "rooms"
    id: Mapped[str] = mapped_column(Slug, primary_key=True)
    canteen_id: Mapped[str] = mapped_column(ForeignKey("canteens.id", ondelete="RESTRICT"), index=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    room_type: Mapped[str] = mapped_column(String(16), default="other")
    auto_registered: Mapped[bool] = mapped_column(default=False)


class Camera(Base):
    """A camera; ``room_id`` is null while an auto-registered camera awaits placement."""

    __tablename__ = "cameras"
    id: Mapped[str] = mapped_column(Slug, primary_key=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"), index=True)
    room_id: Mapped[str | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"), index=True)
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    state: Mapped[str] = mapped_column(String(16), default="unknown")
    state_at: Mapped[datetime | None] = mapped_column(default=None)
    auto_registered: Mapped[bool] = mapped_column(default=False)
