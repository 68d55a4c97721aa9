"""``insert_rows`` (COPY on PostgreSQL) stores exactly what ``insert()`` stores, and fails the same way."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
import sqlalchemy.exc
from sqlalchemy import Table, insert, select

from cloud_api.context import HubContext
from cloud_api.db.bulk import insert_rows
from cloud_api.db.models import Notification, ViolationEventRow
from tests.hub.helpers import World


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


def _event_row(world: World, case_id: int, **overrides: Any) -> dict[str, Any]:
    # a non-UTC offset: the UTC column type must convert it on both paths
    occurred = datetime(2026, 5, 6, 12, 30, tzinfo=timezone(timedelta(hours=8)))
    row: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "case_id": case_id,
        "device_id": world.device,
        "school_id": world.school_a,
        "camera_id": "cam-1",
        "violation_class": "no_mask",
        "severity": 3,
        "rule": "no_mask-rule",
        "track_id": 7,
        "score": 0.875,
        "duration_s": 2.5,
        "occurred_at": occurred,
        "sent_at": occurred,
        "received_at": occurred,
        "timezone": "Asia/Shanghai",
        "place": {"school_id": world.school_a, "room_id": "厨房", "quote": 'a "b" \\ c\td\ne'},
        "boxes": [{"label": "face", "xyxy": [0.1, 0.2, 0.3, 0.4]}],
        "model": None,
        "key_id": "k1",
    }
    row.update(overrides)
    return row


def _case_id(world: World) -> int:
    payload, _ = world.event()
    outcome = world.hub.ingest_service().handle(world.topic(), payload, datetime.now(UTC))
    assert outcome.case_id is not None
    return outcome.case_id


def test_rows_read_back_equal_to_plain_insert(hub: HubContext, world: World) -> None:
    case_id = _case_id(world)
    bulk = [_event_row(world, case_id, track_id=i) for i in range(3)]
    plain = [_event_row(world, case_id, track_id=10 + i) for i in range(3)]
    with hub.db.session() as s:
        insert_rows(s.connection(), _table(ViolationEventRow), bulk)
        s.connection().execute(insert(_table(ViolationEventRow)), plain)
    with hub.db.session() as s:
        stored = {r.event_id: r for r in s.scalars(select(ViolationEventRow))}
    for sent_bulk, sent_plain in zip(bulk, plain, strict=True):
        a, b = stored[sent_bulk["event_id"]], stored[sent_plain["event_id"]]
        assert a.occurred_at == sent_bulk["occurred_at"] and a.occurred_at.tzinfo == UTC == b.occurred_at.tzinfo
        assert a.place == b.place == sent_bulk["place"]  # JSON with quotes, tabs and newlines survives COPY
        assert a.boxes == b.boxes and a.model is None and b.model is None
        assert (a.score, a.duration_s, a.track_id) == (0.875, 2.5, sent_bulk["track_id"])


def test_python_defaults_are_applied(hub: HubContext, world: World) -> None:
    case_id = _case_id(world)
    before = datetime.now(UTC)
    rows = [{"kind": "probe", "case_id": case_id, "school_id": world.school_a, "recipients_roles": ["school_head"]}]
    with hub.db.session() as s:
        insert_rows(s.connection(), _table(Notification), rows)
    with hub.db.session() as s:
        stored = s.scalars(select(Notification).where(Notification.kind == "probe")).one()
    assert stored.created_at >= before - timedelta(seconds=1)  # created_at's default=utcnow
    assert stored.delivered_at is None and stored.recipients_roles == ["school_head"]


def test_constraint_violation_is_the_usual_integrity_error_and_writes_nothing(hub: HubContext, world: World) -> None:
    case_id = _case_id(world)
    row = _event_row(world, case_id)
    duplicate = {**_event_row(world, case_id), "event_id": row["event_id"]}
    with pytest.raises(sqlalchemy.exc.IntegrityError), hub.db.session() as s:
        insert_rows(s.connection(), _table(ViolationEventRow), [row, duplicate])
    with hub.db.session() as s:
        assert s.scalar(select(ViolationEventRow).where(ViolationEventRow.event_id == row["event_id"])) is None


def test_unknown_column_is_refused(hub: HubContext) -> None:
    with pytest.raises(ValueError, match="no columns"), hub.db.session() as s:
        insert_rows(s.connection(), _table(Notification), [{"kind": "x", "colour": "red"}])


def test_nothing_to_insert_is_a_no_op(hub: HubContext) -> None:
    with hub.db.session() as s:
        insert_rows(s.connection(), _table(Notification), [])
