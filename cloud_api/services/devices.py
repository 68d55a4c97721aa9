"""Devices: provisioning, key rotation, signature checks, status/online history and latest stats."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_api.db.base import utcnow
from cloud_api.db.models import (
    Camera,
    CameraStatsLatest,
    CameraStatusLog,
    Device,
    DeviceKey,
    DeviceStatsLatest,
    DeviceStatusLog,
    School,
)
from mingchu.contract import ContractError, DeviceStats, DeviceStatus, Message
from mingchu.contract.signing import key_id, verify


class DeviceError(ValueError):
    """Bad provisioning input; ``code`` maps to an HTTP status in the API."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def parse_public_key(text: str) -> bytes:
    """Base64 of a raw 32-byte Ed25519 key, as the edge prints and publishes it."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DeviceError("bad_key", "public_key is not valid base64") from exc
    if len(raw) != 32:
        raise DeviceError("bad_key", f"public_key must be 32 raw bytes (Ed25519), got {len(raw)}")
    return raw


def provision(
    session: Session, device_id: str, school_id: str, public_key: str, name: str = "", *, tofu: bool = False
) -> Device:
    raw = parse_public_key(public_key)
    if session.get(School, school_id) is None:
        raise DeviceError("not_found", f"school {school_id!r} does not exist")
    if session.get(Device, device_id) is not None:
        raise DeviceError("conflict", f"device {device_id!r} is already provisioned; rotate its key instead")
    device = Device(id=device_id, school_id=school_id, name=name, trusted_on_first_use=tofu)
    session.add(device)
    session.flush()
    session.add(DeviceKey(device_id=device_id, public_key=base64.b64encode(raw).decode(), key_id=key_id(raw)))
    session.flush()
    return device


def rotate_key(session: Session, device: Device, public_key: str, now: datetime | None = None) -> DeviceKey:
    """Register a new key and retire the active ones at ``now``: events signed before that still verify."""
    now = now or utcnow()
    raw = parse_public_key(public_key)
    kid = key_id(raw)
    keys = active_keys(session, device.id)
    if any(k.key_id == kid for k in keys):
        raise DeviceError("conflict", "this key is already the device's active key")
    if session.scalar(select(DeviceKey).where(DeviceKey.device_id == device.id, DeviceKey.key_id == kid)):
        raise DeviceError("conflict", "this key was used before and retired; generate a new one")
    for k in keys:
        k.retired_at = now
    new = DeviceKey(device_id=device.id, public_key=base64.b64encode(raw).decode(), key_id=kid, created_at=now)
    session.add(new)
    session.flush()
    return new


def active_keys(session: Session, device_id: str) -> list[DeviceKey]:
    return list(
        session.scalars(select(DeviceKey).where(DeviceKey.device_id == device_id, DeviceKey.retired_at.is_(None)))
    )


def verify_message(session: Session, device: Device, message: Message) -> DeviceKey:
    """The key that signed ``message``; a retired key only for messages sent before its retirement."""
    if message.signature is None:
        raise ContractError("unsigned", "message carries no signature")
    key = session.scalar(
        select(DeviceKey).where(DeviceKey.device_id == device.id, DeviceKey.key_id == message.signature.key_id)
    )
    if key is None:
        raise ContractError("unknown_key", f"key {message.signature.key_id} is not registered for {device.id}")
    if key.retired_at is not None and message.sent_at >= key.retired_at:
        raise ContractError("retired_key", f"key {key.key_id} was retired at {key.retired_at.isoformat()}")
    verify(message, base64.b64decode(key.public_key))
    return key


@dataclass(frozen=True)
class StatusResult:
    applied: bool
    key_mismatch: bool = False


def apply_status(
    session: Session, device: Device, status: DeviceStatus, received_at: datetime | None = None
) -> StatusResult:
    """Update device/camera state and append history on change; stale (older) statuses are ignored.

    Exception: the last will. The edge signs its ``offline`` will when it connects, so it carries an
    older ``sent_at`` than the ``online`` status that follows; when the broker fires it, it is applied
    at the time it arrived.
    """
    mismatch = False
    if status.public_key:
        try:
            announced = key_id(parse_public_key(status.public_key))
            mismatch = all(k.key_id != announced for k in active_keys(session, device.id))
        except DeviceError:
            mismatch = True
    at = status.sent_at
    if device.state_at is not None and status.sent_at <= device.state_at:
        if status.state != "offline" or device.state == "offline":
            return StatusResult(applied=False, key_mismatch=mismatch)
        at = max(received_at or utcnow(), device.state_at)
    if status.state != device.state:
        session.add(DeviceStatusLog(device_id=device.id, state=status.state, at=at))
    device.state, device.state_at = status.state, at
    if status.agent_version:
        device.agent_version = status.agent_version
    seen: set[str] = set()
    for cam in status.cameras:
        camera = session.get(Camera, cam.camera_id)
        if camera is None:
            camera = Camera(
                id=cam.camera_id,
                school_id=device.school_id,
                device_id=device.id,
                auto_registered=True,
                name=cam.camera_id,
            )
            session.add(camera)
            session.flush()
        elif camera.school_id != device.school_id:
            continue  # a camera id of another school: never re-home it from a status message
        _set_camera_state(session, camera, cam.state, at)
        seen.add(camera.id)
    if status.state == "offline":
        for camera in session.scalars(select(Camera).where(Camera.device_id == device.id)):
            if camera.id not in seen:
                _set_camera_state(session, camera, "offline", at)
    return StatusResult(applied=True, key_mismatch=mismatch)


def _set_camera_state(session: Session, camera: Camera, state: str, at: datetime) -> None:
    if camera.state != state:
        session.add(CameraStatusLog(camera_id=camera.id, state=state, at=at))
    camera.state, camera.state_at = state, at


def apply_stats(session: Session, device: Device, stats: DeviceStats) -> None:
    """Keep the latest stats per device and camera (history is the metrics system's job)."""
    row = session.get(DeviceStatsLatest, device.id) or DeviceStatsLatest(device_id=device.id)
    row.sent_at, row.received_at = stats.sent_at, utcnow()
    row.uptime_s, row.outbox_depth, row.outbox_bytes = stats.uptime_s, stats.outbox_depth, stats.outbox_bytes
    session.add(row)
    for cam in stats.cameras:
        camera = session.get(Camera, cam.camera_id)
        if camera is None or camera.school_id != device.school_id:
            continue
        crow = session.get(CameraStatsLatest, cam.camera_id) or CameraStatsLatest(camera_id=cam.camera_id)
        crow.device_id, crow.sent_at = device.id, stats.sent_at
        crow.decode_fps, crow.detect_fps, crow.dropped_frames = cam.decode_fps, cam.detect_fps, cam.dropped_frames
        crow.inference_ms, crow.lag_s = cam.inference_ms, cam.lag_s
        session.add(crow)


def _online_fraction(
    changes: list[tuple[datetime, str]], before: str | None, since: datetime, until: datetime
) -> float:
    total = (until - since).total_seconds()
    if total <= 0:
        return 0.0
    state, t, online = before, since, 0.0
    for at, new_state in changes:
        if state == "online":
            online += (at - t).total_seconds()
        state, t = new_state, at
    if state == "online":
        online += (until - t).total_seconds()
    return online / total


def online_rate(session: Session, school_id: str, since: datetime, until: datetime) -> dict[str, float | int | None]:
    """Share of time devices and cameras of a school were online in [since, until), from the history logs."""
    result: dict[str, float | int | None] = {}
    device_ids = list(session.scalars(select(Device.id).where(Device.school_id == school_id)))
    camera_ids = list(session.scalars(select(Camera.id).where(Camera.school_id == school_id)))
    logs: tuple[tuple[str, list[str], Any, Any], ...] = (
        ("devices", device_ids, DeviceStatusLog, DeviceStatusLog.device_id),
        ("cameras", camera_ids, CameraStatusLog, CameraStatusLog.camera_id),
    )
    for label, ids, log, fk in logs:
        fractions = []
        for item_id in ids:
            before = session.scalar(
                select(log.state).where(fk == item_id, log.at < since).order_by(log.at.desc(), log.id.desc()).limit(1)
            )
            rows = session.execute(
                select(log.at, log.state).where(fk == item_id, log.at >= since, log.at < until).order_by(log.at, log.id)
            )
            fractions.append(_online_fraction([(at, state) for at, state in rows], before, since, until))
        result[f"{label}_count"] = len(ids)
        result[f"{label}_online_rate"] = sum(fractions) / len(fractions) if fractions else None
    return result
