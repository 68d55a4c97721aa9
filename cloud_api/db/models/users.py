"""API users with a role and a scope (district for regulators, school for school staff and parents)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud_api.db.base import Base, utcnow


class Role(StrEnum):
    ADMIN = "admin"
    REGULATOR = "regulator"
    SCHOOL_HEAD = "school_head"
    CANTEEN_MANAGER = "canteen_manager"
    PARENT = "parent"


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32))
    district_id: Mapped[str | None] = mapped_column(ForeignKey("districts.id", ondelete="RESTRICT"), index=True)
    school_id: Mapped[str | None] = mapped_column(ForeignKey("schools.id", ondelete="RESTRICT"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
