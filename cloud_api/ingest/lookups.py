"""What an event batch looks up once (devices, keys, known events, cameras, open cases) and parsed keys."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from nacl.signing import VerifyKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_api.db.models import Camera, Case, Device, DeviceKey, ViolationEventRow
from cloud_api.services import cases as case_service
from mingchu.contract import Envelope, ViolationEvent
from mingchu.contract.signing import verifier

_KEY_CACHE_MAX = 4096


class KeyCache:
    """Parsed Ed25519 public keys by their base64 text. Immutable content, so caching cannot go stale."""

    def __init__(self, limit: int = _KEY_CACHE_MAX) -> None:
        self.limit = limit
        self._keys: dict[str, VerifyKey] = {}

    def get(self, public_key_b64: str) -> VerifyKey:
        key = self._keys.get(public_key_b64)
        if key is None:
            if len(self._keys) >= self.limit:
                self._keys.clear()
            key = verifier(base64.b64decode(public_key_b64))
            self._keys[public_key_b64] = key
        return key


@dataclass
class NewCase:
    """A case first seen in this batch: column values until inserted, then its id."""

    values: dict[str, Any]
    reason: str
    case_id: int | None = None

    def require(self) -> int:
        if self.case_id is None:
            raise RuntimeError(f"case {self.values['open_key']} has no id: it was not inserted")
        return self.case_id


@dataclass
class Prefetch:
    """Everything the batch looks up, each with one query."""

    devices: dict[str, Device]
    keys: dict[tuple[str, str], DeviceKey]
    case_of_event: dict[UUID, int]
    cameras: dict[str, Camera]
    open_cases: dict[str, Case]
    new_cases: dict[str, NewCase]

    @classmethod
    def load(cls, session: Session, envelopes: Sequence[Envelope]) -> Prefetch:
        events = [e.message for e in envelopes if isinstance(e.message, ViolationEvent)]
        device_ids = {e.device_id for e in events}
        devices = {d.id: d for d in session.scalars(select(Device).where(Device.id.in_(device_ids)))} if events else {}
        keys = (
            {
                (k.device_id, k.key_id): k
                for k in session.scalars(select(DeviceKey).where(DeviceKey.device_id.in_(devices)))
            }
            if devices
            else {}
        )
        case_of_event: dict[UUID, int] = {}
        cameras: dict[str, Camera] = {}
        open_cases: dict[str, Case] = {}
        if events:
            ids = [e.event_id for e in events]
            case_of_event = {
                eid: cid
                for eid, cid in session.execute(
                    select(ViolationEventRow.event_id, ViolationEventRow.case_id).where(
                        ViolationEventRow.event_id.in_(ids)
                    )
                )
            }
            camera_ids = {e.place.camera_id for e in events}
            cameras = {c.id: c for c in session.scalars(select(Camera).where(Camera.id.in_(camera_ids)))}
            open_keys = {case_service.open_key(e.place.camera_id, e.track_id, e.violation_class.value) for e in events}
            open_cases = {
                c.open_key: c for c in session.scalars(select(Case).where(Case.open_key.in_(open_keys))) if c.open_key
            }
        return cls(devices, keys, case_of_event, cameras, open_cases, {})


__all__ = ["KeyCache", "NewCase", "Prefetch"]
