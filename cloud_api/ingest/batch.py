"""Handle a run of event messages in ONE transaction: the per-event cost was round trips and commits, not CPU.

Same decisions, in the same order, as :meth:`IngestService.handle` for each event (topic → decode → device →
school → signature → duplicate → place → case), but lookups are prefetched once per batch (devices, keys,
known event ids, cameras, open cases) and rows are written with one bulk insert per table
(:func:`cloud_api.db.bulk.insert_rows`: COPY on PostgreSQL) — new cases, read back by open_key for their
ids; audit entries; notifications; event rows, read back by event id; evidence. The ORM per-row path cost
more CPU than the database did. Evidence files are written before the commit: keys are per event
id and writes idempotent, so a rolled-back batch leaves at most orphan files that the retry overwrites.

Database and storage errors propagate; the worker retries transient ones and falls back to one-by-one
handling for the rest, so one poison message cannot hold back the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast
from uuid import UUID

from sqlalchemy import Table, select
from sqlalchemy.orm import Session, configure_mappers

from cloud_api.db.base import Base, utcnow
from cloud_api.db.bulk import insert_rows
from cloud_api.db.models import Camera, Case, CaseTransition, Device, DeviceKey, Evidence, ViolationEventRow
from cloud_api.ingest.lookups import KeyCache, NewCase, Prefetch
from cloud_api.services import cases as case_service
from cloud_api.services.ingest import IngestService, Outcome
from cloud_api.services.notifier import RECIPIENTS, CaseRef
from cloud_api.services.workflow import State
from cloud_api.storage import evidence_key
from mingchu.contract import ContractError, Envelope, ViolationEvent, decode, parse_topic
from mingchu.contract.signing import signature_valid

# cases.attach_or_open opens a case as NEW and at once moves it to NOTIFIED (the notify transition)
_OPENED_STATE = State.NOTIFIED


@dataclass(frozen=True)
class Item:
    """One received MQTT message on an ``events`` topic."""

    topic: str
    payload: bytes
    received_at: datetime


@dataclass
class _Refusal:
    reason: str
    detail: str
    school_id: str | None = None
    device_id: str | None = None
    alert: bool = False


class EventBatch:
    """Processes event batches for one :class:`IngestService` (one instance per worker thread)."""

    def __init__(self, service: IngestService, keys: KeyCache | None = None, writers: int = 0) -> None:
        """``writers`` > 0: that many threads store evidence while this thread talks to the database. For
        remote storage (S3 round trips); on local disk it measured no faster and cost CPU, so 0 (inline)."""
        self.service = service
        self.keys = keys or KeyCache()
        configure_mappers()  # once, now, instead of inside the first batch (a visible pause under load)
        self._pool = ThreadPoolExecutor(writers, thread_name_prefix="evidence") if writers > 0 else None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def handle(self, items: Sequence[Item]) -> list[Outcome]:
        """Outcomes in the order of ``items``; all decisions commit together or not at all."""
        decoded: list[Envelope | _Refusal] = [self._decode(item) for item in items]
        envelopes = [d for d in decoded if isinstance(d, Envelope)]
        writes: list[Future[None]] = []
        outcomes: list[Outcome | None] = [None] * len(items)
        with self.service.db.session() as session:
            try:
                self._handle(session, items, decoded, envelopes, writes, outcomes)
            finally:
                done, _ = wait(writes)  # the commit waits for every file (and never races a rollback)
            for f in done:
                f.result()  # a failed write raises here: the transaction rolls back, the worker retries
        assert all(o is not None for o in outcomes)
        return [o for o in outcomes if o is not None]

    def _handle(
        self,
        session: Session,
        items: Sequence[Item],
        decoded: list[Envelope | _Refusal],
        envelopes: list[Envelope],
        writes: list[Future[None]],
        outcomes: list[Outcome | None],
    ) -> None:
        ctx = Prefetch.load(session, envelopes)
        accepted: list[tuple[int, Envelope, Case | NewCase, DeviceKey]] = []
        seen: dict[UUID, Case | NewCase] = {}
        for i, (item, d) in enumerate(zip(items, decoded, strict=True)):
            if isinstance(d, _Refusal):
                outcomes[i] = self._refuse(session, item, d)
                continue
            event = d.message
            assert isinstance(event, ViolationEvent)
            refusal_or_key = self._check(ctx, event)
            if isinstance(refusal_or_key, _Refusal):
                outcomes[i] = self._refuse(session, item, refusal_or_key)
                continue
            if event.event_id in ctx.case_of_event:
                outcomes[i] = Outcome("duplicate", "event_id", case_id=ctx.case_of_event[event.event_id])
                continue
            if event.event_id in seen:  # the case id is known once the batch's cases are inserted
                outcomes[i] = Outcome("duplicate", "event_id")
                accepted.append((i, d, seen[event.event_id], refusal_or_key))
                continue
            device = ctx.devices[event.device_id]
            problem = self._place(session, ctx, device, event)
            if problem:
                outcomes[i] = self._refuse(
                    session, item, _Refusal("place_mismatch", problem, device.school_id, device.id)
                )
                continue
            case = self._attach_or_new(ctx, event)
            seen[event.event_id] = case
            accepted.append((i, d, case, refusal_or_key))
            writes.append(self._submit(self._store, d))
        self._open_new_cases(session, ctx)
        self._insert_events(session, items, accepted, outcomes)

    def _submit(self, fn: Callable[[Envelope], None], envelope: Envelope) -> Future[None]:
        if self._pool is not None:
            return self._pool.submit(fn, envelope)
        done: Future[None] = Future()
        try:
            fn(envelope)
            done.set_result(None)
        except BaseException as exc:
            done.set_exception(exc)
        return done

    def _store(self, envelope: Envelope) -> None:
        event = envelope.message
        assert isinstance(event, ViolationEvent)
        for ref in event.attachments:
            key = evidence_key(event.school_id, event.occurred_at, event.event_id, ref.name)
            self.service.storage.put(key, envelope.attachments[ref.name], ref.content_type)

    # --- per message ------------------------------------------------------------------------------------------

    @staticmethod
    def _decode(item: Item) -> Envelope | _Refusal:
        try:
            info = parse_topic(item.topic)
        except ContractError as exc:
            return _Refusal(exc.reason, str(exc))
        if not item.payload:
            return _Refusal("empty", "empty payload on an events topic", info.school_id, info.device_id)
        try:
            envelope = decode(item.payload)
        except ContractError as exc:
            return _Refusal(exc.reason, str(exc), info.school_id, info.device_id)
        message = envelope.message
        if info.channel != "events" or not isinstance(message, ViolationEvent):
            return _Refusal(
                "wrong_channel", f"{type(message).__name__} on {info.channel}", info.school_id, info.device_id
            )
        if (message.school_id, message.device_id) != (info.school_id, info.device_id):
            return _Refusal(
                "topic_mismatch", "school_id/device_id differ from the topic", info.school_id, info.device_id
            )
        return envelope

    def _check(self, ctx: Prefetch, event: ViolationEvent) -> DeviceKey | _Refusal:
        """Device, school and signature checks, with the same reasons as the one-by-one path."""
        device = ctx.devices.get(event.device_id)
        if device is None:
            return _Refusal(
                "unknown_device", f"device {event.device_id!r} is not provisioned", event.school_id, event.device_id
            )
        if device.school_id != event.school_id:
            return _Refusal(
                "school_mismatch", f"device belongs to {device.school_id}", event.school_id, device.id, alert=True
            )
        sig = event.signature
        if sig is None:
            return _Refusal("unsigned", "message carries no signature", device.school_id, device.id, alert=True)
        key = ctx.keys.get((device.id, sig.key_id))
        if key is None:
            return _Refusal(
                "unknown_key", f"key {sig.key_id} is not registered for {device.id}", device.school_id, device.id, True
            )
        if key.retired_at is not None and event.sent_at >= key.retired_at:
            detail = f"key {key.key_id} was retired at {key.retired_at.isoformat()}"
            return _Refusal("retired_key", detail, device.school_id, device.id, alert=True)
        try:
            valid = signature_valid(self.keys.get(key.public_key), event)
        except ValueError:  # a stored key that is not a key (bad base64 or length)
            valid = False
        if not valid:
            return _Refusal("bad_signature", "signature does not verify", device.school_id, device.id, alert=True)
        return key

    def _refuse(self, session: Session, item: Item, r: _Refusal) -> Outcome:
        if r.reason == "empty":
            return Outcome("ignored", "empty")  # a cleared retained message, as in the one-by-one path
        return self.service._reject(
            session, item.topic, item.payload, r.reason, r.detail, item.received_at, r.school_id, r.device_id,
            alert=r.alert,
        )  # fmt: skip

    def _place(self, session: Session, ctx: Prefetch, device: Device, event: ViolationEvent) -> str | None:
        camera = ctx.cameras.get(event.place.camera_id)
        if camera is not None and camera.school_id == device.school_id and camera.room_id is not None:
            return None
        problem = self.service._ensure_place(session, device, event)  # first sighting: rare, may query
        if problem is None:
            found = session.get(Camera, event.place.camera_id)
            if found is not None:
                ctx.cameras[found.id] = found
        return problem

    def _attach_or_new(self, ctx: Prefetch, event: ViolationEvent) -> Case | NewCase:
        """The open case for camera+track+class (prefetched or opened earlier in this batch), else a new one."""
        key = case_service.open_key(event.place.camera_id, event.track_id, event.violation_class.value)
        case = ctx.open_cases.get(key)
        if case is not None:
            case.event_count += 1
            case.last_seen_at = max(case.last_seen_at, event.occurred_at)
            case.severity = min(case.severity, event.severity)
            return case
        new = ctx.new_cases.get(key)
        if new is not None:
            new.values["event_count"] += 1
            new.values["last_seen_at"] = max(new.values["last_seen_at"], event.occurred_at)
            new.values["severity"] = min(new.values["severity"], event.severity)
            return new
        config, taxonomy = self.service.config.cases, self.service.taxonomy
        hours = case_service.deadline_hours(event.violation_class.value, event.severity, config, taxonomy)
        new = NewCase(
            {
                "kind": "violation",
                "school_id": event.school_id,
                "canteen_id": event.place.canteen_id,
                "room_id": event.place.room_id,
                "camera_id": event.place.camera_id,
                "device_id": event.device_id,
                "track_id": event.track_id,
                "violation_class": event.violation_class.value,
                "severity": event.severity,
                "state": _OPENED_STATE,
                "event_count": 1,
                "first_seen_at": event.occurred_at,
                "last_seen_at": event.occurred_at,
                "deadline_at": event.occurred_at + timedelta(hours=hours),
                "open_key": key,
            },
            reason=f"event {event.event_id}",
        )
        ctx.new_cases[key] = new
        return new

    # --- per batch ----------------------------------------------------------------------------------------------

    def _open_new_cases(self, session: Session, ctx: Prefetch) -> None:
        """Insert the batch's new cases in one go, read their ids back by open_key, log and notify them.

        Same rows as ``cases.attach_or_open`` opening a case (open → new, notify → notified), written
        directly in the final state instead of INSERT then UPDATE per case.
        """
        if not ctx.new_cases:
            return
        news = list(ctx.new_cases.values())
        # COPY returns no ids; one SELECT does. (INSERT … RETURNING over a batch is one multi-VALUES statement
        # too long for psycopg's query cache: parsing it each time cost more than this round trip.)
        connection = session.connection()
        insert_rows(connection, _table(Case), [n.values for n in news])
        found = connection.execute(select(Case.open_key, Case.id).where(Case.open_key.in_(list(ctx.new_cases))))
        for open_key, case_id in found:
            ctx.new_cases[str(open_key)].case_id = case_id
        actor, now = case_service.SYSTEM_ACTOR, utcnow()
        log_rows: list[dict[str, object]] = []
        for new in news:
            for action, source, target, reason in (
                ("open", None, State.NEW, new.reason),
                ("notify", State.NEW, _OPENED_STATE, ""),
            ):
                log_rows.append(
                    {
                        "case_id": new.case_id,
                        "at": now,
                        "action": action,
                        "from_state": source,
                        "to_state": target,
                        "actor_user_id": actor.user_id,
                        "actor_name": actor.name,
                        "actor_role": actor.role,
                        "reason": reason,
                    }
                )
        insert_rows(session.connection(), _table(CaseTransition), log_rows)
        refs = [CaseRef(new.require(), new.values["school_id"]) for new in news]
        self.service.notifier.notify_many(session, "case_opened", refs, RECIPIENTS["case_opened"])

    def _insert_events(
        self,
        session: Session,
        items: Sequence[Item],
        accepted: list[tuple[int, Envelope, Case | NewCase, DeviceKey]],
        outcomes: list[Outcome | None],
    ) -> None:
        """Event rows and evidence rows, each one executemany; files are written before the commit."""
        rows: list[dict[str, object]] = []
        stored: list[tuple[Envelope, int]] = []
        for i, envelope, target, key in accepted:
            event = envelope.message
            assert isinstance(event, ViolationEvent)
            case_id = target.require() if isinstance(target, NewCase) else target.id
            if outcomes[i] is not None:  # a duplicate within the batch: now that the case has its id
                outcomes[i] = Outcome("duplicate", "event_id", case_id=case_id)
                continue
            rows.append(
                {
                    "event_id": event.event_id,
                    "case_id": case_id,
                    "device_id": event.device_id,
                    "school_id": event.school_id,
                    "camera_id": event.place.camera_id,
                    "violation_class": event.violation_class.value,
                    "severity": event.severity,
                    "rule": event.rule,
                    "track_id": event.track_id,
                    "score": event.score,
                    "duration_s": event.duration_s,
                    "occurred_at": event.occurred_at,
                    "sent_at": event.sent_at,
                    "received_at": items[i].received_at,
                    "timezone": event.timezone,
                    "place": event.place.model_dump(mode="json"),
                    "boxes": [b.model_dump(mode="json") for b in event.boxes],
                    "model": event.model.model_dump(mode="json") if event.model else None,
                    "key_id": key.key_id,
                }
            )
            stored.append((envelope, case_id))
            outcomes[i] = Outcome("accepted", "event", case_id=case_id, occurred_at=event.occurred_at)
        if not rows:
            return
        connection = session.connection()
        insert_rows(connection, _table(ViolationEventRow), rows)  # ids read back as for cases (see above)
        found = connection.execute(
            select(ViolationEventRow.event_id, ViolationEventRow.id).where(
                ViolationEventRow.event_id.in_([r["event_id"] for r in rows])
            )
        )
        row_ids: dict[UUID, int] = {event_id: row_id for event_id, row_id in found}
        evidence: list[dict[str, object]] = []
        now = utcnow()
        for envelope, case_id in stored:
            event = envelope.message
            assert isinstance(event, ViolationEvent)
            for ref in event.attachments:
                storage_key = evidence_key(event.school_id, event.occurred_at, event.event_id, ref.name)
                evidence.append(
                    {
                        "case_id": case_id,
                        "event_row_id": row_ids[event.event_id],
                        "name": ref.name,
                        "storage_key": storage_key,
                        "sha256": ref.sha256,
                        "size": ref.size,
                        "width": ref.width,
                        "height": ref.height,
                        "content_type": ref.content_type,
                        "created_at": now,
                    }
                )
        if evidence:
            insert_rows(session.connection(), _table(Evidence), evidence)


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


__all__ = ["EventBatch", "Item", "KeyCache"]
