"""Evidence signing, device keys and the durable outbox (real SQLite files)."""

from __future__ import annotations

import base64
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge_agent.evidence import EvidenceBuilder
from edge_agent.keys import KeyFileError, load_key, load_or_create_key, public_key_b64
from edge_agent.outbox import Outbox, OutboxError
from edge_agent.rules import Violation
from mingchu.contract import ContractError, decode, encode
from mingchu.contract.messages import RoomType, ViolationEvent
from mingchu.contract.signing import verify
from tests.edge.conftest import dets, edge_config, make_frame, textured


def violation(image: np.ndarray | None = None) -> Violation:
    frame = make_frame(3.0, textured(1920, 1080) if image is None else image)
    boxes = dets(("person", (100, 100, 400, 900), 7), ("head_bare", (200, 110, 300, 220), 8))
    return Violation(
        "no_chef_hat",
        3,
        "attribute_absence:no_chef_hat",
        "cam1",
        "all",
        RoomType.PREP,
        7,
        0.9,
        3.2,
        boxes,
        frame,
        frame.captured_at,
    )


@pytest.fixture
def builder(tmp_path: Path) -> EvidenceBuilder:
    cfg = edge_config(tmp_path)
    return EvidenceBuilder(
        cfg.device, cfg.evidence, {c.id: c for c in cfg.cameras}, load_or_create_key(cfg.device.key_file)
    )


def test_event_carries_five_fixes_and_verifies(builder: EvidenceBuilder) -> None:
    result = builder.build(violation())
    env = decode(result.payload)
    event = env.message
    assert isinstance(event, ViolationEvent)
    verify(event, base64.b64decode(public_key_b64(builder.key)))
    assert event.occurred_at.tzinfo is not None and event.timezone == "Asia/Shanghai"  # 定时
    assert (event.place.room_id, event.place.camera_id, event.place.zone_id) == ("r1", "cam1", "all")  # 定位
    assert event.place.room_type == "prep"  # 定景
    assert event.track_id == 7  # 定人
    assert event.violation_class == "no_chef_hat" and event.duration_s == 3.2  # 定事
    assert [b.label for b in event.boxes] == ["person", "head_bare"]
    x1, _y1, _x2, y2 = event.boxes[0].xyxy
    assert (round(x1, 4), round(y2, 4)) == (round(100 / 1920, 4), round(900 / 1080, 4))
    assert {a.name for a in event.attachments} == {"annotated", "clean"}
    for ref in event.attachments:
        assert ref.width == 1280 and ref.height == 720  # downscaled to max_width
        img = cv2.imdecode(np.frombuffer(env.attachments[ref.name], np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == (720, 1280, 3)
    # the annotated picture differs from the clean one (boxes and caption drawn)
    a, c = (cv2.imdecode(np.frombuffer(env.attachments[n], np.uint8), cv2.IMREAD_COLOR) for n in ("annotated", "clean"))
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 1


def test_tampered_image_or_header_fails(builder: EvidenceBuilder) -> None:
    result = builder.build(violation())
    event = result.event
    tampered = dict(result.attachments)
    tampered["clean"] = tampered["clean"][:-10] + b"\x00" * 10
    body = b"".join(tampered[r.name] for r in event.attachments)
    header_and_prefix = result.payload[: len(result.payload) - sum(r.size for r in event.attachments)]
    with pytest.raises(ContractError, match="sha256"):
        decode(header_and_prefix + body)
    assert decode(result.payload).message == event  # the untouched payload decodes
    forged = event.model_copy(update={"track_id": 99})
    with pytest.raises(ContractError, match="signature"):
        verify(forged, base64.b64decode(public_key_b64(builder.key)))
    other = load_or_create_key(Path(str(builder.device.key_file) + ".other"))
    with pytest.raises(ContractError):
        verify(event, base64.b64decode(public_key_b64(other)))


def test_offline_violation_without_frame_has_no_attachments(builder: EvidenceBuilder) -> None:
    v = violation()
    v = Violation(**{**v.__dict__, "frame": None, "detections": dets(), "class_id": "camera_offline", "track_id": None})
    event = decode(builder.build(v).payload).message
    assert isinstance(event, ViolationEvent) and event.attachments == () and event.violation_class == "camera_offline"


def test_key_created_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "key.pem"
    key = load_or_create_key(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert public_key_b64(load_or_create_key(path)) == public_key_b64(key)


def test_bad_key_file_is_an_error_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_text("not a key")
    with pytest.raises(KeyFileError, match=r"key\.pem"):
        load_or_create_key(path)
    assert path.read_text() == "not a key"  # never overwritten
    with pytest.raises(KeyFileError):
        load_key(tmp_path / "missing.pem")


def payload(n: int, size: int = 1000) -> bytes:
    return bytes([n % 256]) * size


def test_outbox_order_ack_and_restart(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    box = Outbox(path, 1 << 20)
    for i in range(5):
        assert box.put(f"e{i}", "t", payload(i))
    assert box.put("e1", "t", payload(1)) and box.depth == 5  # duplicate event id ignored
    items = box.pending()
    assert [i.event_id for i in items] == ["e0", "e1", "e2", "e3", "e4"]
    box.ack(items[0].seq)
    box.ack(items[2].seq)
    box.close()
    again = Outbox(path, 1 << 20)  # "restart"
    assert [i.event_id for i in again.pending()] == ["e1", "e3", "e4"]
    assert again.depth == 3 and again.bytes == 3000
    assert [i.event_id for i in again.pending(after_seq=items[1].seq, limit=1)] == ["e3"]


def test_outbox_refuses_when_full_and_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    box = Outbox(tmp_path / "o.sqlite3", 4500, warn_fraction=0.5)
    assert all(box.put(f"e{i}", "t", payload(i)) for i in range(4))
    assert box.near_full
    assert not box.put("e4", "t", payload(4))
    assert box.refused == 1 and box.depth == 4
    assert "refusing event e4" in caplog.text and "near full" in caplog.text
    assert not box.put("huge", "t", payload(0, 10_000))  # bigger than the whole box


def test_outbox_evicts_oldest_when_configured(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    box = Outbox(tmp_path / "o.sqlite3", 3500, when_full="evict_oldest")
    for i in range(5):
        assert box.put(f"e{i}", "t", payload(i))
    assert [i.event_id for i in box.pending()] == ["e2", "e3", "e4"]
    assert box.evicted == 2 and "evicted oldest event e0" in caplog.text


def test_outbox_bad_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutboxError, match="cannot open outbox"):
        Outbox(blocker / "o.sqlite3", 1 << 20)
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(OutboxError):
        Outbox(garbage, 1 << 20)


def test_encoded_event_round_trips(builder: EvidenceBuilder) -> None:
    result = builder.build(violation(), sent_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert encode(result.event, result.attachments) == result.payload
