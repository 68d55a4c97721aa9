"""The batched event path decides exactly like the one-by-one path, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from cloud_api.context import HubContext
from cloud_api.db.base import utcnow
from cloud_api.db.models import (
    Camera,
    Case,
    CaseTransition,
    Evidence,
    Notification,
    Quarantine,
    SecurityAlert,
    ViolationEventRow,
)
from cloud_api.ingest.batch import EventBatch, Item, KeyCache
from cloud_api.services.ingest import Outcome
from mingchu.contract.signing import key_id, public_key_bytes
from tests.hub.helpers import World, event_payload, new_key, status_payload


def scenario(w: World, t0: datetime) -> list[list[tuple[str, bytes]]]:
    """Two batches covering every decision an event can get; ids derive from the world so runs are comparable."""
    with w.hub.db.session() as s:
        s.add(Camera(id=f"cam-b{w.school_b}", school_id=w.school_b, name="b"))
    first, _ = w.event(track_id=1, severity=3, occurred_at=t0)
    repeat, _ = w.event(track_id=1, severity=2, occurred_at=t0 + timedelta(seconds=20))
    other_camera, _ = w.event(track_id=2, camera_id=f"cam-new{w.school_a}", occurred_at=t0 + timedelta(seconds=1))
    suffix = w.school_a.removeprefix("sa")
    dev_b, ghost = f"dev-b{suffix}", f"ghost{suffix}"
    batch1 = [
        (w.topic(), first),
        (w.topic(), repeat),  # attaches to the case opened just before, in the same batch
        (w.topic(), first),  # replay inside the batch
        (w.topic(), other_camera),  # camera auto-registered
        (w.topic(), w.event(tamper=True)[0]),
        (w.topic(), b"\x00garbage"),
        (w.topic(), status_payload(w.key, school_id=w.school_a, device_id=w.device)),
        (w.topic(device=dev_b), w.event()[0]),  # payload names dev-a: topic mismatch
        (
            w.topic(school=w.school_b, device=dev_b),
            event_payload(w.key, school_id=w.school_b, device_id=dev_b, camera_id="cb")[0],
        ),  # dev-b's key is another one
        (w.topic(), event_payload(None, school_id=w.school_a, device_id=w.device, camera_id=w.camera)[0]),
        (w.topic(), b""),
        (
            w.topic(device=ghost),
            event_payload(new_key(), school_id=w.school_a, device_id=ghost, camera_id="cg")[0],
        ),
        (w.topic(), w.event(camera_id=f"cam-b{w.school_b}")[0]),  # another school's camera
        (
            w.topic(school=w.school_b),
            event_payload(w.key, school_id=w.school_b, device_id=w.device, camera_id=w.camera)[0],
        ),  # school A's device claims school B
    ]
    batch2 = [
        (w.topic(), first),  # replay of a committed event
        (w.topic(), w.event(track_id=1, severity=3, occurred_at=t0 + timedelta(seconds=40))[0]),
        (w.topic(), w.event(track_id=9, violation_class="smoking", severity=1, occurred_at=t0)[0]),
    ]
    return [batch1, batch2]


def _one_by_one(hub: HubContext) -> Callable[[list[tuple[str, bytes]]], list[Outcome]]:
    service = hub.ingest_service()
    return lambda batch: [service.handle(t, p) for t, p in batch]


def _batched(hub: HubContext) -> Callable[[list[tuple[str, bytes]]], list[Outcome]]:
    batcher = EventBatch(hub.ingest_service(), KeyCache(limit=2))
    return lambda batch: batcher.handle([Item(t, p, utcnow()) for t, p in batch])


def summary(hub: HubContext, w: World, outcomes: list[Outcome]) -> dict[str, Any]:
    """What the run left behind, with this world's ids and database ids replaced by stable labels."""
    suffix = w.school_a.removeprefix("sa")
    kid = key_id(public_key_bytes(w.key.public_key()))
    with hub.db.session() as s:
        case_rows = list(
            s.scalars(
                select(Case)
                .where(Case.school_id.in_([w.school_a, w.school_b]))
                .order_by(Case.first_seen_at, Case.open_key)
            )
        )
        label = {c.id: n for n, c in enumerate(case_rows)}

        def norm(value: object) -> str:
            return str(value).replace(suffix, "")

        cases = [
            (
                norm(c.open_key),
                c.state,
                c.event_count,
                c.severity,
                c.first_seen_at,
                c.last_seen_at,
                c.deadline_at,
                norm(c.room_id),
            )
            for c in case_rows
        ]
        transitions = sorted(
            (label[t.case_id], t.action, t.from_state, t.to_state, t.actor_name, t.actor_role, t.reason[:6])
            for t in s.scalars(select(CaseTransition).where(CaseTransition.case_id.in_(label)))
        )
        notifications = sorted(
            (label[n.case_id], n.kind, tuple(n.recipients_roles))
            for n in s.scalars(select(Notification).where(Notification.case_id.in_(label)))
            if n.case_id is not None
        )
        events = sorted(
            (label[e.case_id], e.severity, e.track_id, norm(e.camera_id), e.key_id == kid)
            for e in s.scalars(select(ViolationEventRow).where(ViolationEventRow.case_id.in_(label)))
        )
        evidence = sorted(
            (label[e.case_id], e.name, e.size, e.sha256, hub.storage.exists(e.storage_key))
            for e in s.scalars(select(Evidence).where(Evidence.case_id.in_(label)))
        )
        devices = {w.device, f"dev-b{suffix}", f"ghost{suffix}"}
        quarantine = sorted(
            (q.reason, norm(q.device_id))
            for q in s.scalars(
                select(Quarantine).where(
                    (Quarantine.device_id.in_(devices)) | Quarantine.topic.contains(f"/{w.school_a}/")
                )
            )
        )
        alerts = sorted(
            (a.kind, norm(a.device_id))
            for a in s.scalars(select(SecurityAlert).where(SecurityAlert.device_id.in_(devices)))
        )
        cameras = sorted(
            (norm(c.id), c.auto_registered, norm(c.room_id))
            for c in s.scalars(select(Camera).where(Camera.school_id == w.school_a))
        )
    return {
        "outcomes": [(o.outcome, o.reason, label.get(o.case_id) if o.case_id else None) for o in outcomes],
        "cases": cases,
        "transitions": transitions,
        "notifications": notifications,
        "events": events,
        "evidence": evidence,
        "quarantine": quarantine,
        "alerts": alerts,
        "cameras": cameras,
    }


def _world(hub: HubContext) -> World:
    return World(hub, suffix=f"-{uuid.uuid4().hex[:6]}")


def test_batch_decides_like_one_by_one(hub: HubContext) -> None:
    results = []
    t0 = utcnow().replace(microsecond=0) - timedelta(minutes=5)
    for make in (_one_by_one, _batched):
        w = _world(hub)
        run = make(hub)
        outcomes: list[Outcome] = []
        for batch in scenario(w, t0):
            outcomes += run(batch)
        results.append(summary(hub, w, outcomes))
    single, batched = results
    # the scenario must exercise what it claims (otherwise equality proves little)
    decisions = {(o, r) for o, r, _ in single["outcomes"]}
    assert {("accepted", "event"), ("duplicate", "event_id"), ("ignored", "empty")} <= decisions
    assert {r for o, r, _ in single["outcomes"] if o == "rejected"} == {
        "bad_signature",
        "bad_magic",
        "wrong_channel",
        "topic_mismatch",
        "unknown_key",
        "unsigned",
        "unknown_device",
        "place_mismatch",
        "school_mismatch",
    }
    assert [c[2] for c in single["cases"]] == [3, 1, 1]  # first + repeat + later repeat; other camera; smoking
    for part in single:
        assert batched[part] == single[part], part


def test_outcomes_keep_message_order_and_case_ids(hub: HubContext) -> None:
    w = _world(hub)
    run = _batched(hub)
    a, _ = w.event(track_id=1)
    b, _ = w.event(track_id=2)
    outcomes = run([(w.topic(), a), (w.topic(), b"junk"), (w.topic(), b), (w.topic(), a)])
    assert [o.outcome for o in outcomes] == ["accepted", "rejected", "accepted", "duplicate"]
    assert outcomes[0].case_id is not None and outcomes[0].case_id != outcomes[2].case_id
    assert outcomes[3].case_id == outcomes[0].case_id


@pytest.mark.parametrize("writers", [0, 2])
def test_failed_batch_rolls_back_everything(hub: HubContext, writers: int) -> None:
    """A storage failure mid-batch leaves no case and no event row behind; the retry files everything once."""
    w = _world(hub)
    batcher = EventBatch(hub.ingest_service(), writers=writers)
    puts = 0
    real_put = hub.storage.put

    def failing_put(key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        nonlocal puts
        puts += 1
        if puts == 3:
            raise OSError("disk full (simulated)")
        real_put(key, data, content_type)

    hub.storage.put = failing_put  # type: ignore[method-assign]
    items = [Item(w.topic(), w.event(track_id=i)[0], utcnow()) for i in range(4)]
    items.append(Item(w.topic(), b"junk", utcnow()))
    with pytest.raises(OSError):
        batcher.handle(items)
    hub.storage.put = real_put  # type: ignore[method-assign]
    with hub.db.session() as s:
        assert s.scalars(select(Case).where(Case.school_id == w.school_a)).first() is None
        assert s.scalars(select(ViolationEventRow).where(ViolationEventRow.school_id == w.school_a)).first() is None
    # the retry goes through and files every event once
    outcomes = batcher.handle(items)
    batcher.close()
    assert [o.outcome for o in outcomes] == ["accepted"] * 4 + ["rejected"]
    with hub.db.session() as s:
        rows = list(s.scalars(select(ViolationEventRow).where(ViolationEventRow.school_id == w.school_a)))
        assert len(rows) == 4
        stored = list(s.scalars(select(Evidence).where(Evidence.event_row_id.in_([r.id for r in rows]))))
        assert len(stored) == 4 and all(hub.storage.exists(e.storage_key) for e in stored)


def test_key_cache_is_bounded_and_reused() -> None:
    cache = KeyCache(limit=2)
    texts = [base64.b64encode(public_key_bytes(new_key().public_key())).decode() for _ in range(3)]
    first = cache.get(texts[0])
    assert cache.get(texts[0]) is first
    cache.get(texts[1])
    cache.get(texts[2])  # over the limit: starts afresh rather than growing
    assert len(cache._keys) <= 2
    with pytest.raises(ValueError):
        cache.get(base64.b64encode(b"short").decode())
