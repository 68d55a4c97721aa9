"""Ingest decisions on a real database (SQLite and PostgreSQL), without the broker."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from cloud_api.context import HubContext
from cloud_api.db.models import (
    Camera,
    CameraStatsLatest,
    Case,
    CaseTransition,
    Device,
    DeviceStatsLatest,
    DeviceStatusLog,
    Evidence,
    Notification,
    Quarantine,
    SecurityAlert,
    ViolationEventRow,
)
from cloud_api.services import devices as device_service
from tests.hub.helpers import World, b64_public, event_payload, new_key, now, stats_payload, status_payload


def count(hub: HubContext, model: type, *where: object) -> int:
    with hub.db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0  # type: ignore[arg-type]


def test_valid_event_opens_one_case_with_evidence_and_audit(hub: HubContext, world: World) -> None:
    payload, event = world.event()
    outcome = hub.ingest_service().handle(world.topic(), payload)
    assert outcome.outcome == "accepted" and outcome.case_id is not None
    with hub.db.session() as s:
        case = s.get(Case, outcome.case_id)
        assert case is not None
        assert (case.state, case.violation_class, case.school_id, case.event_count) == (
            "notified",
            "no_mask",
            world.school_a,
            1,
        )
        assert case.deadline_at == event.occurred_at + timedelta(hours=72)  # taxonomy default for no_mask
        evidence = s.scalars(select(Evidence).where(Evidence.case_id == case.id)).one()
        assert hub.storage.get(evidence.storage_key)[:2] == b"\xff\xd8"
        assert evidence.sha256 == event.attachments[0].sha256
        actions = [t.action for t in s.scalars(select(CaseTransition).where(CaseTransition.case_id == case.id))]
        assert actions == ["open", "notify"]
        assert s.scalar(select(func.count()).select_from(Notification).where(Notification.case_id == case.id)) == 1
        camera = s.get(Camera, world.camera)
        assert camera is not None and camera.auto_registered and camera.room_id == f"{world.school_a}-cooking"


def test_replay_is_a_duplicate_not_a_second_case(hub: HubContext, world: World) -> None:
    payload, _ = world.event()
    service = hub.ingest_service()
    first = service.handle(world.topic(), payload)
    second = service.handle(world.topic(), payload)
    assert (first.outcome, second.outcome) == ("accepted", "duplicate")
    assert second.case_id == first.case_id
    assert count(hub, Case) == 1 and count(hub, ViolationEventRow) == 1


def test_repeat_of_same_track_attaches_while_open_other_track_opens_new(hub: HubContext, world: World) -> None:
    service = hub.ingest_service()
    t0 = now()
    a = service.handle(world.topic(), world.event(track_id=3, occurred_at=t0)[0])
    b = service.handle(world.topic(), world.event(track_id=3, occurred_at=t0 + timedelta(seconds=30))[0])
    c = service.handle(world.topic(), world.event(track_id=4, occurred_at=t0)[0])
    d = service.handle(world.topic(), world.event(track_id=3, violation_class="smoking", severity=2)[0])
    assert a.case_id == b.case_id
    assert len({a.case_id, c.case_id, d.case_id}) == 3
    with hub.db.session() as s:
        case = s.get(Case, a.case_id)
        assert case is not None and case.event_count == 2
        assert case.last_seen_at == t0 + timedelta(seconds=30)
        assert s.scalar(select(func.count()).select_from(Evidence).where(Evidence.case_id == a.case_id)) == 2


def test_bad_signature_is_quarantined_with_alert_and_no_case(hub: HubContext, world: World) -> None:
    payload, _ = world.event(tamper=True)
    outcome = hub.ingest_service().handle(world.topic(), payload)
    assert (outcome.outcome, outcome.reason) == ("rejected", "bad_signature")
    assert count(hub, Case) == 0
    assert count(hub, Quarantine, Quarantine.reason == "bad_signature") == 1
    assert count(hub, SecurityAlert, SecurityAlert.kind == "bad_signature") == 1


def test_signed_with_another_key_or_unsigned_is_refused(hub: HubContext, world: World) -> None:
    service = hub.ingest_service()
    other, _ = event_payload(new_key(), school_id=world.school_a, device_id=world.device, camera_id=world.camera)
    unsigned, _ = event_payload(None, school_id=world.school_a, device_id=world.device, camera_id=world.camera)
    assert service.handle(world.topic(), other).reason == "unknown_key"
    assert service.handle(world.topic(), unsigned).reason == "unsigned"
    assert count(hub, Case) == 0 and count(hub, SecurityAlert) == 2


def test_unknown_device_is_rejected_and_quarantined(hub: HubContext, world: World) -> None:
    payload, _ = event_payload(new_key(), school_id=world.school_a, device_id="ghost", camera_id="cam-x")
    outcome = hub.ingest_service().handle(world.topic(device="ghost"), payload)
    assert (outcome.outcome, outcome.reason) == ("rejected", "unknown_device")
    with hub.db.session() as s:
        row = s.scalars(select(Quarantine)).one()
        assert row.device_id == "ghost" and row.payload_key is not None
        assert hub.storage.get(row.payload_key) == payload  # nothing lost: the payload is kept
    assert count(hub, Case) == 0


def test_malformed_payloads_are_quarantined_with_their_reason(hub: HubContext, world: World) -> None:
    service = hub.ingest_service()
    good, _ = world.event()
    cases = {
        b"garbage-garbage-garbage": "bad_magic",
        good[:20]: "truncated",
        good[:-10]: "attachment_mismatch",
    }
    for payload, reason in cases.items():
        assert service.handle(world.topic(), payload).reason == reason
    assert service.handle("not/our/topic", good).reason == "bad_topic"
    assert service.handle(world.topic(school=world.school_b), good).reason == "topic_mismatch"
    assert service.handle(world.topic("status"), good).reason == "wrong_channel"
    assert count(hub, Quarantine) == 6 and count(hub, Case) == 0


def test_device_of_other_school_cannot_report_foreign_camera(hub: HubContext, world: World) -> None:
    service = hub.ingest_service()
    assert service.handle(world.topic(), world.event()[0]).outcome == "accepted"
    key_b = new_key()
    with hub.db.session() as s:
        device_b = s.get(Device, "dev-b")
        assert device_b is not None
        device_service.rotate_key(s, device_b, b64_public(key_b))
    foreign, _ = event_payload(key_b, school_id=world.school_b, device_id="dev-b", camera_id=world.camera)
    outcome = service.handle(world.topic(school=world.school_b, device="dev-b"), foreign)
    assert (outcome.outcome, outcome.reason) == ("rejected", "place_mismatch")


def test_key_rotation_accepts_old_key_only_before_retirement(hub: HubContext, world: World) -> None:
    service = hub.ingest_service()
    before_rotation, _ = world.event(occurred_at=now() - timedelta(minutes=5))
    new = new_key()
    with hub.db.session() as s:
        device = s.get(Device, world.device)
        assert device is not None
        device_service.rotate_key(s, device, b64_public(new))
    assert service.handle(world.topic(), before_rotation).outcome == "accepted"  # drained from the outbox
    after, _ = world.event()
    assert service.handle(world.topic(), after).reason == "retired_key"
    fresh, _ = event_payload(new, school_id=world.school_a, device_id=world.device, camera_id=world.camera)
    assert service.handle(world.topic(), fresh).outcome == "accepted"


def test_status_records_history_auto_registers_cameras_and_online_rate(hub: HubContext, world: World) -> None:
    service = hub.ingest_service()
    t0 = now() - timedelta(hours=2)
    topic = world.topic("status")
    cams = {"cam-new-1": "online", "cam-new-2": "obstructed"}
    first = status_payload(world.key, school_id=world.school_a, device_id=world.device, cameras=cams, sent_at=t0)
    assert service.handle(topic, first).outcome == "accepted"
    # the retained copy arrives again after a reconnect: ignored, no duplicate history
    assert service.handle(topic, first).reason == "stale_status"
    t1 = t0 + timedelta(hours=1)
    offline = status_payload(world.key, school_id=world.school_a, device_id=world.device, state="offline", sent_at=t1)
    assert service.handle(topic, offline).outcome == "accepted"
    stale = status_payload(world.key, school_id=world.school_a, device_id=world.device, sent_at=t0 - timedelta(1))
    assert service.handle(topic, stale).reason == "stale_status"
    assert count(hub, DeviceStatusLog, DeviceStatusLog.device_id == world.device) == 2
    with hub.db.session() as s:
        cam = s.get(Camera, "cam-new-1")
        assert cam is not None and cam.auto_registered and cam.state == "offline" and cam.school_id == world.school_a
        rate = device_service.online_rate(s, world.school_a, t0, t0 + timedelta(hours=2))
    assert rate["devices_count"] == 1
    assert abs(float(rate["devices_online_rate"] or 0) - 0.5) < 1e-6  # online 1 h of 2
    assert abs(float(rate["cameras_online_rate"] or 0) - 0.25) < 1e-6  # one camera online 1 h, other never


def test_status_announcing_a_foreign_key_raises_an_alert(hub: HubContext, world: World) -> None:
    payload = status_payload(
        world.key, school_id=world.school_a, device_id=world.device, public_key=b64_public(new_key())
    )
    assert hub.ingest_service().handle(world.topic("status"), payload).outcome == "accepted"
    assert count(hub, SecurityAlert, SecurityAlert.kind == "key_mismatch") == 1


def test_stats_keep_latest_per_device_and_camera(hub: HubContext, world: World) -> None:
    service = hub.ingest_service()
    service.handle(world.topic(), world.event()[0])  # registers the camera
    payload = stats_payload(world.key, school_id=world.school_a, device_id=world.device, camera_id=world.camera)
    assert service.handle(world.topic("stats"), payload).outcome == "accepted"
    assert service.handle(world.topic("stats"), payload).outcome == "accepted"
    with hub.db.session() as s:
        row = s.get(DeviceStatsLatest, world.device)
        cam = s.get(CameraStatsLatest, world.camera)
        assert row is not None and row.outbox_depth == 2
        assert cam is not None and cam.dropped_frames == 3


def test_trust_on_first_use_is_off_by_default_and_works_when_enabled(hub: HubContext, world: World) -> None:
    key = new_key()
    payload = status_payload(key, school_id=world.school_a, device_id="newbie")
    topic = world.topic("status", device="newbie")
    assert hub.ingest_service().handle(topic, payload).reason == "unknown_device"
    config = hub.config.model_copy(update={"ingest": hub.config.ingest.model_copy(update={"trust_on_first_use": True})})
    hub.config = config
    assert (
        hub.ingest_service().handle(topic, status_payload(key, school_id=world.school_a, device_id="newbie")).outcome
        == "accepted"
    )
    with hub.db.session() as s:
        device = s.get(Device, "newbie")
        assert device is not None and device.trusted_on_first_use


def test_last_will_signed_at_connect_still_takes_the_device_offline(hub: HubContext, world: World) -> None:
    """The edge builds its offline will before it publishes 'online', so the will is 'older' but must win."""
    service = hub.ingest_service()
    topic = world.topic("status")
    t_connect = now() - timedelta(minutes=10)
    will = status_payload(
        world.key, school_id=world.school_a, device_id=world.device, state="offline", sent_at=t_connect
    )
    online = status_payload(
        world.key,
        school_id=world.school_a,
        device_id=world.device,
        sent_at=t_connect + timedelta(seconds=1),
        cameras={world.camera: "online"},
    )
    assert service.handle(topic, online).outcome == "accepted"
    fired_at = now()
    assert service.handle(topic, will, received_at=fired_at).outcome == "accepted"
    assert service.handle(topic, will).reason == "stale_status"  # the retained will replayed on reconnect
    with hub.db.session() as s:
        device = s.get(Device, world.device)
        camera = s.get(Camera, world.camera)
        assert device is not None and device.state == "offline" and device.state_at == fired_at
        assert camera is not None and camera.state == "offline"
        log = [(r.state, r.at) for r in s.scalars(select(DeviceStatusLog).order_by(DeviceStatusLog.id))]
    assert log == [("online", t_connect + timedelta(seconds=1)), ("offline", fired_at)]
