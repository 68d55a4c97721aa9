"""Handle one MQTT message end to end in one transaction: verify, dedupe, store evidence, open/attach a case.

Database and storage errors propagate (the worker retries without acking); every other problem is a
decision recorded in the database (quarantine, alert, duplicate), after which the message may be acked.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_api.config import HubConfig
from cloud_api.db.base import utcnow
from cloud_api.db.models import (
    Camera,
    Canteen,
    Device,
    Evidence,
    Quarantine,
    Room,
    School,
    SecurityAlert,
    ViolationEventRow,
)
from cloud_api.db.session import Database
from cloud_api.services import cases as case_service
from cloud_api.services import devices as device_service
from cloud_api.services.notifier import Notifier
from cloud_api.storage import Storage, evidence_key, quarantine_key
from mingchu.contract import ContractError, DeviceStats, DeviceStatus, Envelope, ViolationEvent, decode, parse_topic
from mingchu.taxonomy import Taxonomy

log = logging.getLogger(__name__)

_STATS_QUARANTINE_WINDOW_S = 60
_SECURITY_REASONS = frozenset({"unsigned", "unknown_key", "bad_signature", "retired_key"})
_EXPECTED = {"events": ViolationEvent, "status": DeviceStatus, "stats": DeviceStats}


@dataclass(frozen=True)
class Outcome:
    """``accepted`` | ``duplicate`` | ``rejected`` | ``ignored``; ``reason`` for the metrics label."""

    outcome: str
    reason: str = ""
    case_id: int | None = None
    occurred_at: datetime | None = None


class IngestService:
    def __init__(
        self, db: Database, storage: Storage, config: HubConfig, notifier: Notifier, taxonomy: Taxonomy
    ) -> None:
        self.db, self.storage, self.config, self.notifier, self.taxonomy = db, storage, config, notifier, taxonomy

    def handle(self, topic: str, payload: bytes, received_at: datetime | None = None) -> Outcome:
        received_at = received_at or utcnow()
        try:
            info = parse_topic(topic)
        except ContractError as exc:
            return self.quarantine(topic, payload, exc.reason, str(exc), received_at)
        if info.channel not in _EXPECTED:
            return Outcome("ignored", f"channel_{info.channel}")
        if not payload:
            return Outcome("ignored", "empty")  # a cleared retained message
        try:
            envelope = decode(payload)
        except ContractError as exc:
            return self.quarantine(topic, payload, exc.reason, str(exc), received_at, info.school_id, info.device_id)
        message = envelope.message
        if not isinstance(message, _EXPECTED[info.channel]):
            return self.quarantine(
                topic,
                payload,
                "wrong_channel",
                f"{type(message).__name__} on {info.channel}",
                received_at,
                info.school_id,
                info.device_id,
            )
        if (message.school_id, message.device_id) != (info.school_id, info.device_id):
            return self.quarantine(
                topic,
                payload,
                "topic_mismatch",
                "school_id/device_id differ from the topic",
                received_at,
                info.school_id,
                info.device_id,
            )
        with self.db.session() as session:
            device = session.get(Device, message.device_id)
            if device is None and isinstance(message, DeviceStatus) and self.config.ingest.trust_on_first_use:
                device = self._trust_on_first_use(session, message)
            if device is None:
                if isinstance(message, DeviceStats) and self._recently_quarantined(
                    session, message.device_id, received_at
                ):
                    return Outcome("rejected", "unknown_device")  # counted, not stored again: stats come every few s
                return self._reject(
                    session,
                    topic,
                    payload,
                    "unknown_device",
                    f"device {message.device_id!r} is not provisioned",
                    received_at,
                    message.school_id,
                    message.device_id,
                )
            if device.school_id != message.school_id:
                return self._reject(
                    session,
                    topic,
                    payload,
                    "school_mismatch",
                    f"device belongs to {device.school_id}",
                    received_at,
                    message.school_id,
                    device.id,
                    alert=True,
                )
            if isinstance(message, ViolationEvent):
                return self._event(session, device, envelope, topic, payload, received_at)
            if message.signature is not None or isinstance(message, DeviceStats):
                try:
                    device_service.verify_message(session, device, message)
                except ContractError as exc:
                    return self._reject(
                        session,
                        topic,
                        payload,
                        exc.reason,
                        str(exc),
                        received_at,
                        device.school_id,
                        device.id,
                        alert=True,
                    )
            if isinstance(message, DeviceStatus):
                result = device_service.apply_status(session, device, message, received_at)
                if result.key_mismatch:
                    session.add(
                        SecurityAlert(
                            kind="key_mismatch",
                            school_id=device.school_id,
                            device_id=device.id,
                            detail="status announces a public key that is not the device's active key",
                        )
                    )
                return Outcome(
                    "accepted" if result.applied else "ignored", "status" if result.applied else "stale_status"
                )
            assert isinstance(message, DeviceStats)
            device_service.apply_stats(session, device, message)
            return Outcome("accepted", "stats")

    # --- events -------------------------------------------------------------------------------------------------

    def _event(
        self, session: Session, device: Device, envelope: Envelope, topic: str, payload: bytes, received_at: datetime
    ) -> Outcome:
        event = envelope.message
        assert isinstance(event, ViolationEvent)
        try:
            key = device_service.verify_message(session, device, event)
        except ContractError as exc:
            return self._reject(
                session, topic, payload, exc.reason, str(exc), received_at, device.school_id, device.id, alert=True
            )
        existing = session.scalar(select(ViolationEventRow.case_id).where(ViolationEventRow.event_id == event.event_id))
        if existing is not None:
            return Outcome("duplicate", "event_id", case_id=existing)
        problem = self._ensure_place(session, device, event)
        if problem:
            return self._reject(
                session, topic, payload, "place_mismatch", problem, received_at, device.school_id, device.id
            )
        case, _created = case_service.attach_or_open(session, event, self.config.cases, self.taxonomy, self.notifier)
        row = ViolationEventRow(
            event_id=event.event_id,
            case_id=case.id,
            device_id=device.id,
            school_id=event.school_id,
            camera_id=event.place.camera_id,
            violation_class=event.violation_class.value,
            severity=event.severity,
            rule=event.rule,
            track_id=event.track_id,
            score=event.score,
            duration_s=event.duration_s,
            occurred_at=event.occurred_at,
            sent_at=event.sent_at,
            received_at=received_at,
            timezone=event.timezone,
            place=event.place.model_dump(mode="json"),
            boxes=[b.model_dump(mode="json") for b in event.boxes],
            model=event.model.model_dump(mode="json") if event.model else None,
            key_id=key.key_id,
        )
        session.add(row)
        session.flush()
        for ref in event.attachments:
            storage_key = evidence_key(event.school_id, event.occurred_at, event.event_id, ref.name)
            self.storage.put(storage_key, envelope.attachments[ref.name], ref.content_type)
            session.add(
                Evidence(
                    case_id=case.id,
                    event_row_id=row.id,
                    name=ref.name,
                    storage_key=storage_key,
                    sha256=ref.sha256,
                    size=ref.size,
                    width=ref.width,
                    height=ref.height,
                    content_type=ref.content_type,
                )
            )
        return Outcome("accepted", "event", case_id=case.id, occurred_at=event.occurred_at)

    def _ensure_place(self, session: Session, device: Device, event: ViolationEvent) -> str | None:
        """Auto-register canteen/room/camera named by the event inside the device's school; refuse foreign ones."""
        place = event.place
        known = session.get(Camera, place.camera_id)
        if known is not None and known.school_id == device.school_id and known.room_id is not None:
            return None  # the usual case: one lookup instead of three
        canteen = session.get(Canteen, place.canteen_id)
        if canteen is None:
            session.add(
                Canteen(id=place.canteen_id, school_id=device.school_id, name=place.canteen_id, auto_registered=True)
            )
            session.flush()
        elif canteen.school_id != device.school_id:
            return f"canteen {place.canteen_id!r} belongs to another school"
        room = session.get(Room, place.room_id)
        if room is None:
            session.add(
                Room(
                    id=place.room_id,
                    canteen_id=place.canteen_id,
                    school_id=device.school_id,
                    name=place.room_id,
                    room_type=place.room_type.value,
                    auto_registered=True,
                )
            )
            session.flush()
        elif room.school_id != device.school_id:
            return f"room {place.room_id!r} belongs to another school"
        camera = session.get(Camera, place.camera_id)
        if camera is None:
            session.add(
                Camera(
                    id=place.camera_id,
                    school_id=device.school_id,
                    room_id=place.room_id,
                    device_id=device.id,
                    name=place.camera_name or place.camera_id,
                    auto_registered=True,
                )
            )
            session.flush()
        elif camera.school_id != device.school_id:
            return f"camera {place.camera_id!r} belongs to another school"
        elif camera.room_id is None:
            camera.room_id = place.room_id
        return None

    # --- refusals -----------------------------------------------------------------------------------------------

    def _recently_quarantined(self, session: Session, device_id: str, now: datetime) -> bool:
        """One stored sample per unknown device per window keeps a chatty stranger from filling the disk."""
        since = now - timedelta(seconds=_STATS_QUARANTINE_WINDOW_S)
        return (
            session.scalar(
                select(Quarantine.id)
                .where(
                    Quarantine.device_id == device_id,
                    Quarantine.reason == "unknown_device",
                    Quarantine.received_at >= since,
                )
                .limit(1)
            )
            is not None
        )

    # --- stored refusals ---------------------------------------------------------------------------------------

    def _trust_on_first_use(self, session: Session, status: DeviceStatus) -> Device | None:
        if not status.public_key or session.get(School, status.school_id) is None:
            return None
        try:
            device = device_service.provision(session, status.device_id, status.school_id, status.public_key, tofu=True)
            device_service.verify_message(session, device, status)
        except (device_service.DeviceError, ContractError) as exc:
            log.warning("trust-on-first-use refused for %s: %s", status.device_id, exc)
            session.rollback()
            return None
        log.warning("trusted device %s on first use (school %s)", device.id, device.school_id)
        return device

    def _reject(
        self,
        session: Session,
        topic: str,
        payload: bytes,
        reason: str,
        detail: str,
        received_at: datetime,
        school_id: str | None,
        device_id: str | None,
        *,
        alert: bool = False,
    ) -> Outcome:
        row = self._quarantine_row(topic, payload, reason, detail, received_at, school_id, device_id)
        session.add(row)
        session.flush()
        if alert or reason in _SECURITY_REASONS:
            session.add(
                SecurityAlert(
                    kind=reason, school_id=school_id, device_id=device_id, detail=detail, quarantine_id=row.id
                )
            )
        log.warning("rejected %s (%s): %s", topic, reason, detail)
        return Outcome("rejected", reason)

    def quarantine(
        self,
        topic: str,
        payload: bytes,
        reason: str,
        detail: str,
        received_at: datetime | None = None,
        school_id: str | None = None,
        device_id: str | None = None,
    ) -> Outcome:
        """Record a refused payload in its own transaction."""
        with self.db.session() as session:
            return self._reject(session, topic, payload, reason, detail, received_at or utcnow(), school_id, device_id)

    def _quarantine_row(
        self,
        topic: str,
        payload: bytes,
        reason: str,
        detail: str,
        received_at: datetime,
        school_id: str | None,
        device_id: str | None,
    ) -> Quarantine:
        digest = hashlib.sha256(payload).hexdigest()
        key = None
        if payload:
            key = quarantine_key(received_at, digest)
            self.storage.put(key, payload)
        return Quarantine(
            received_at=received_at,
            topic=topic[:256],
            school_id=school_id,
            device_id=device_id,
            reason=reason,
            detail=detail[:2000],
            payload_size=len(payload),
            payload_sha256=digest,
            payload_key=key,
        )


__all__ = ["IngestService", "Outcome"]
