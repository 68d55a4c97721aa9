"""Devices and cameras page: online state, stats (fps, lag, outbox depth) from the latest reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from cloud_api.db.models import Camera, CameraStatsLatest, Device, DeviceStatsLatest, Room, School
from cloud_api.web.auth import WebUser


def school_scope(user: WebUser) -> ColumnElement[bool]:
    if user.role == "admin":
        return true()
    if user.role == "regulator" and user.district_id:
        return School.district_id == user.district_id
    if user.role in ("school_head", "canteen_manager") and user.school_id:
        return School.id == user.school_id
    return false()


@dataclass(frozen=True)
class CameraView:
    id: str
    name: str
    room_name: str
    state: str
    state_at: datetime | None
    decode_fps: float | None
    detect_fps: float | None
    lag_s: float | None


@dataclass(frozen=True)
class DeviceView:
    id: str
    name: str
    school_name: str
    state: str
    state_at: datetime | None
    agent_version: str
    outbox_depth: int | None
    uptime_s: float | None
    stats_at: datetime | None
    cameras: list[CameraView]


def list_devices(session: Session, user: WebUser) -> list[DeviceView]:
    rows = session.execute(
        select(Device, School.name, DeviceStatsLatest)
        .join(School, School.id == Device.school_id)
        .outerjoin(DeviceStatsLatest, DeviceStatsLatest.device_id == Device.id)
        .where(school_scope(user))
        .order_by(School.name, Device.id)
    ).all()
    ids = [d.id for d, _, _ in rows]
    cams: dict[str, list[CameraView]] = {i: [] for i in ids}
    if ids:
        for cam, room, stats in session.execute(
            select(Camera, Room.name, CameraStatsLatest)
            .outerjoin(Room, Room.id == Camera.room_id)
            .outerjoin(CameraStatsLatest, CameraStatsLatest.camera_id == Camera.id)
            .where(Camera.device_id.in_(ids))
            .order_by(Camera.id)
        ).all():
            cams[str(cam.device_id)].append(
                CameraView(
                    cam.id,
                    cam.name or cam.id,
                    room or "",
                    cam.state,
                    cam.state_at,
                    stats.decode_fps if stats else None,
                    stats.detect_fps if stats else None,
                    stats.lag_s if stats else None,
                )
            )
    return [
        DeviceView(
            d.id,
            d.name or d.id,
            school,
            d.state,
            d.state_at,
            d.agent_version,
            st.outbox_depth if st else None,
            st.uptime_s if st else None,
            st.received_at if st else None,
            cams[d.id],
        )
        for d, school, st in rows
    ]
