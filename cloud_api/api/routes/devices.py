"""Devices: admin provisioning and key rotation; scoped reads; online rate per school."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from fastapi import APIRouter
from sqlalchemy import select

from cloud_api.api.deps import AdminUser, CurrentUser, SessionDep
from cloud_api.api.schemas import DeviceIn, DeviceOut, KeyIn, KeyOut, OnlineRateOut
from cloud_api.db.base import utcnow
from cloud_api.db.models import Device, DeviceKey, School
from cloud_api.errors import ERROR_RESPONSES, ApiError, not_found
from cloud_api.services import devices as device_service
from cloud_api.services.scoping import school_filter

T = TypeVar("T")
router = APIRouter(prefix="/api/v1", tags=["devices"], responses=ERROR_RESPONSES)
_STATUS = {"bad_key": 422, "not_found": 422, "conflict": 409}


def _out(session: SessionDep, device: Device) -> DeviceOut:
    keys = session.scalars(select(DeviceKey).where(DeviceKey.device_id == device.id).order_by(DeviceKey.id))
    out = DeviceOut.model_validate(device)
    out.keys = [KeyOut.model_validate(k) for k in keys]
    return out


def _call(fn: Callable[..., T], *args: Any) -> T:
    try:
        return fn(*args)
    except device_service.DeviceError as exc:
        raise ApiError(_STATUS.get(exc.code, 422), str(exc)) from exc


@router.get("/devices", response_model=list[DeviceOut], summary="Devices in scope")
def list_devices(session: SessionDep, user: CurrentUser) -> list[DeviceOut]:
    rows = session.scalars(school_filter(select(Device).order_by(Device.id), Device.school_id, user))
    return [_out(session, d) for d in rows]


@router.get("/devices/{device_id}", response_model=DeviceOut, summary="One device with its key history")
def get_device(device_id: str, session: SessionDep, user: CurrentUser) -> DeviceOut:
    device = session.scalar(school_filter(select(Device).where(Device.id == device_id), Device.school_id, user))
    if device is None:
        raise not_found("device")
    return _out(session, device)


@router.post("/devices", response_model=DeviceOut, status_code=201, summary="Provision a device with its public key")
def provision_device(body: DeviceIn, session: SessionDep, _: AdminUser) -> DeviceOut:
    device = _call(device_service.provision, session, body.id, body.school_id, body.public_key, body.name)
    return _out(session, device)


@router.post("/devices/{device_id}/keys", response_model=KeyOut, status_code=201, summary="Rotate the signing key")
def rotate_key(device_id: str, body: KeyIn, session: SessionDep, _: AdminUser) -> DeviceKey:
    device = session.get(Device, device_id)
    if device is None:
        raise not_found("device")
    return _call(device_service.rotate_key, session, device, body.public_key)


@router.get("/schools/{school_id}/online-rate", response_model=OnlineRateOut, summary="Share of time online")
def school_online_rate(
    school_id: str,
    session: SessionDep,
    user: CurrentUser,
    since: datetime | None = None,
    until: datetime | None = None,
) -> OnlineRateOut:
    if session.scalar(school_filter(select(School.id).where(School.id == school_id), School.id, user)) is None:
        raise not_found("school")
    until = until or utcnow()
    since = since or until - timedelta(days=1)
    if since.tzinfo is None or until.tzinfo is None:
        raise ApiError(422, "since/until need a timezone (e.g. 2026-01-01T00:00:00+08:00)")
    if since >= until:
        raise ApiError(422, "since must be before until")
    rates = device_service.online_rate(session, school_id, since, until)
    return OnlineRateOut(school_id=school_id, since=since, until=until, **rates)  # type: ignore[arg-type]
