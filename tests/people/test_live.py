"""Live view and 直通负责人 over the real Mosquitto broker with a fake edge answering commands."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from cloud_api.context import HubContext
from cloud_api.db.base import utcnow
from cloud_api.db.models import Case, Evidence, Notification
from cloud_api.db.models.people import LiveViewAudit, ParentGrant, PushDelivery
from cloud_api.people.app import PeopleServices
from tests.people.conftest import MQTT_HOST, MQTT_PORT, PeopleWorld, login, make_client, people_config
from tests.people.servers import http_recorder
from tests.support.fake_edge import FakeEdge

pytestmark = [pytest.mark.mqtt]
LIVE = {"edge_lease_s": 2.0, "renew_before_s": 1.0, "viewer_lease_s": 1.5, "tick_s": 0.1, "fps": 8.0}


@pytest.fixture
def edge(world: PeopleWorld) -> Iterator[FakeEdge]:
    with FakeEdge(world.school_a, world.device, world.key, MQTT_HOST, MQTT_PORT) as fake:
        yield fake


@pytest.fixture
def live(sqlite_hub: HubContext, world: PeopleWorld, tmp_path: Path) -> Iterator[tuple[TestClient, PeopleServices]]:
    client, services = make_client(sqlite_hub, people_config(tmp_path, live=LIVE), live=True)
    with client:
        yield client, services


def _wait(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _read_frame(ws: Any) -> tuple[dict[str, Any], bytes]:
    meta = ws.receive_json()
    assert meta["type"] == "frame", meta
    data = ws.receive_bytes()
    assert len(data) == meta["size"] and data[:2] == b"\xff\xd8"
    return meta, data


def test_stream_starts_renews_and_stops_when_the_lease_lapses(
    live: tuple[TestClient, PeopleServices], world: PeopleWorld, edge: FakeEdge, sqlite_hub: HubContext
) -> None:
    client, services = live
    headers = login(client, world.usernames["parent_a"])
    with client.websocket_connect(f"/api/v1/live/{world.cam}/ws", headers=headers) as ws:
        seqs = []
        started = time.monotonic()
        while time.monotonic() - started < 3.0:  # longer than the 2 s edge lease: must be renewed
            meta, _ = _read_frame(ws)
            seqs.append(meta["seq"])
            ws.send_text("ping")
        assert edge.names().count("live_start") >= 2, edge.names()
        assert seqs == sorted(seqs) and len(seqs) >= 10
        # stop renewing the viewer lease: the hub drops the viewer, tells the edge to stop
        end = None
        while end is None:
            msg = ws.receive()
            if msg.get("text") and '"end"' in msg["text"]:
                end = msg["text"]
        assert "lease_lapsed" in end
    _wait(lambda: "live_stop" in edge.names(), timeout=3)
    _wait(lambda: edge.live_cameras() == [], timeout=3)
    sent = edge.frames_sent
    time.sleep(0.6)
    assert edge.frames_sent == sent, "frames kept flowing after live_stop"
    assert services.relay is not None and services.relay.viewer_count((world.school_a, world.device, world.cam)) == 0
    with sqlite_hub.db.session() as s:
        audit = s.scalars(select(LiveViewAudit)).one()
        assert audit.user_id == world.users["parent_a"] and audit.camera_id == world.cam
        assert audit.ended_at is not None and audit.end_reason == "lease_lapsed" and audit.frames >= 10
        assert audit.grant_id == world.grant_a


def test_second_viewer_shares_the_stream_and_last_one_out_stops_it(
    live: tuple[TestClient, PeopleServices], world: PeopleWorld, edge: FakeEdge
) -> None:
    client, _ = live
    parent, head = login(client, world.usernames["parent_a"]), login(client, world.usernames["head_a"])
    url = f"/api/v1/live/{world.cam}/ws"
    with client.websocket_connect(url, headers=parent) as ws1:
        _read_frame(ws1)
        with client.websocket_connect(url, headers=head) as ws2:
            _read_frame(ws2)
            ws2.send_text("bye")
        _read_frame(ws1)
        assert "live_stop" not in edge.names()
        ws1.send_text("bye")
    _wait(lambda: "live_stop" in edge.names(), timeout=3)
    assert edge.names().count("live_start") == 1


def test_viewer_limit_per_camera(sqlite_hub: HubContext, world: PeopleWorld, edge: FakeEdge, tmp_path: Path) -> None:
    cfg = people_config(tmp_path, live=LIVE, parents={"max_viewers_per_camera": 1})
    client, _ = make_client(sqlite_hub, cfg, live=True)
    with client:
        parent = login(client, world.usernames["parent_a"])
        url = f"/api/v1/live/{world.cam}/ws"
        with client.websocket_connect(url, headers=parent) as ws1:
            _read_frame(ws1)
            with pytest.raises(WebSocketDisconnect) as exc, client.websocket_connect(url, headers=parent) as ws2:
                ws2.receive_json()
            assert exc.value.code == 4429
            # staff are not counted against the parents' limit
            with client.websocket_connect(url, headers=login(client, world.usernames["head_a"])) as ws3:
                _read_frame(ws3)


@pytest.mark.parametrize(
    ("who", "camera", "code"),
    [
        (None, "cam", 4401),
        ("parent_b", "cam", 4404),  # other school
        ("parent_a", "cam_private", 4404),  # not marked viewable
        ("parent_a", "cam_wash", 4404),  # washroom: never
        ("head_a", "cam_wash", 4404),
        ("head_b", "cam", 4404),
        ("regulator_other", "cam", 4404),
        ("parent_a", "no-such-cam", 4404),
    ],
)
def test_live_refusals(
    live: tuple[TestClient, PeopleServices], world: PeopleWorld, who: str | None, camera: str, code: int
) -> None:
    client, services = live
    headers = login(client, world.usernames[who]) if who else {}
    cam = getattr(world, camera, camera)
    with (
        pytest.raises(WebSocketDisconnect) as exc,
        client.websocket_connect(f"/api/v1/live/{cam}/ws", headers=headers) as ws,
    ):
        ws.receive_json()
    assert exc.value.code == code
    assert services.relay is not None and services.relay.commands_sent == []  # nothing was asked of the edge


def test_cross_site_cookie_socket_is_refused(live: tuple[TestClient, PeopleServices], world: PeopleWorld) -> None:
    client, _ = live
    from tests.people.conftest import PASSWORD

    client.post(
        "/api/v1/auth/login", json={"username": world.usernames["parent_a"], "password": PASSWORD, "mode": "cookie"}
    )
    with (
        pytest.raises(WebSocketDisconnect) as exc,
        client.websocket_connect(f"/api/v1/live/{world.cam}/ws", headers={"Origin": "https://evil.example"}) as ws,
    ):
        ws.receive_json()
    assert exc.value.code == 4403


def test_revoked_and_expired_grants(
    live: tuple[TestClient, PeopleServices], world: PeopleWorld, edge: FakeEdge, sqlite_hub: HubContext
) -> None:
    client, _ = live
    parent, head = login(client, world.usernames["parent_a"]), login(client, world.usernames["head_a"])
    with client.websocket_connect(f"/api/v1/live/{world.cam}/ws", headers=parent) as ws:
        _read_frame(ws)
        assert client.delete(f"/api/v1/people/grants/{world.grant_a}", headers=head).status_code == 200
        end = None
        deadline = time.monotonic() + 5
        while end is None and time.monotonic() < deadline:
            msg = ws.receive()
            ws.send_text("ping")
            if msg.get("text") and '"end"' in msg["text"]:
                end = msg["text"]
        assert end is not None and "grant_ended" in end
    with (
        pytest.raises(WebSocketDisconnect) as exc,
        client.websocket_connect(f"/api/v1/live/{world.cam}/ws", headers=parent) as ws,
    ):
        ws.receive_json()
    assert exc.value.code == 4404
    assert client.post(f"/api/v1/live/{world.cam}/report", json={"comment": "x"}, headers=parent).status_code == 404
    # an expired grant is as good as none
    with sqlite_hub.db.session() as s:
        grant = s.get(ParentGrant, world.grant_b)
        assert grant is not None
        grant.expires_at = utcnow() - timedelta(seconds=1)
    other = login(client, world.usernames["parent_b"])
    assert client.get("/api/v1/people/live-cameras", headers=other).json() == []
    with (
        pytest.raises(WebSocketDisconnect) as exc,
        client.websocket_connect(f"/api/v1/live/{world.cam_b}/ws", headers=other) as ws,
    ):
        ws.receive_json()
    assert exc.value.code == 4404


def test_parent_report_reaches_the_school_head_with_a_full_res_screenshot(
    sqlite_hub: HubContext, world: PeopleWorld, edge: FakeEdge, tmp_path: Path
) -> None:
    with http_recorder() as rec:
        channels = [{"type": "webhook", "name": "hook", "url": f"{rec.url}/hook"}, {"type": "realtime"}]
        cfg = people_config(tmp_path, live=LIVE, push={"channels": channels})
        client, _services = make_client(sqlite_hub, cfg, live=True)
        with client:
            head, parent = login(client, world.usernames["head_a"]), login(client, world.usernames["parent_a"])
            client.put("/api/v1/notifications/preferences", json={"channels": ["hook"]}, headers=head)
            r = client.post(f"/api/v1/live/{world.cam}/report", json={"comment": "师傅没戴口罩"}, headers=parent)
            assert r.status_code == 201, r.text
            created = r.json()
            assert created["screenshot_source"] == "snapshot"
            got = rec.wait_for(1)
            _services.push.wait_idle()
            mine = client.get("/api/v1/people/reports", headers=parent).json()
            one = client.get(f"/api/v1/people/reports/{created['report_id']}", headers=parent)
            other_parent = client.get(
                f"/api/v1/people/reports/{created['report_id']}", headers=login(client, world.usernames["parent_b"])
            )
    assert "snapshot" in edge.names()
    alert = got[0].json()["alert"]
    assert alert["case_id"] == created["case_id"] and alert["text"] == "师傅没戴口罩"
    assert [m["case_id"] for m in mine] == [created["case_id"]] and mine[0]["state"] == "notified"
    assert one.status_code == 200 and other_parent.status_code == 404
    with sqlite_hub.db.session() as s:
        case = s.get(Case, created["case_id"])
        assert case is not None and case.kind == "parent_report" and case.reporter_user_id == world.users["parent_a"]
        evidence = s.scalars(select(Evidence).where(Evidence.case_id == case.id)).one()
        assert (evidence.name, evidence.width, evidence.height) == ("snapshot", 1280, 720)
        assert sqlite_hub.storage.get(evidence.storage_key)[:2] == b"\xff\xd8"
        assert s.scalars(select(Notification).where(Notification.case_id == case.id)).first() is not None
        delivered = s.scalars(select(PushDelivery).where(PushDelivery.case_id == case.id)).all()
        assert [(d.user_id, d.status) for d in delivered if d.channel == "hook"] == [
            (world.users["head_a"], "delivered")
        ]


def test_report_falls_back_to_the_latest_live_frame(
    sqlite_hub: HubContext, world: PeopleWorld, edge: FakeEdge, tmp_path: Path
) -> None:
    edge.answer_snapshots = False
    cfg = people_config(tmp_path, live={**LIVE, "snapshot_timeout_s": 0.5, "connect_wait_s": 0.2})
    client, _ = make_client(sqlite_hub, cfg, live=True)
    with client:
        parent = login(client, world.usernames["parent_a"])
        with client.websocket_connect(f"/api/v1/live/{world.cam}/ws", headers=parent) as ws:
            _read_frame(ws)
            r = client.post(f"/api/v1/live/{world.cam}/report", json={"comment": "看不清"}, headers=parent)
            ws.send_text("bye")
    assert r.status_code == 201 and r.json()["screenshot_source"] == "live_frame"
    with sqlite_hub.db.session() as s:
        evidence = s.scalars(select(Evidence).where(Evidence.case_id == r.json()["case_id"])).one()
        assert evidence.name == "live_frame" and evidence.width == LIVE_WIDTH


LIVE_WIDTH = 640


def test_report_bad_input_loses_nothing(
    live: tuple[TestClient, PeopleServices], world: PeopleWorld, sqlite_hub: HubContext
) -> None:
    client, _ = live
    parent = login(client, world.usernames["parent_a"])
    url = f"/api/v1/live/{world.cam}/report"
    for body in ({}, {"comment": ""}, {"comment": "x" * 1001}, {"comment": "ok", "extra": 1}):
        assert client.post(url, json=body, headers=parent).status_code == 422, body
    assert client.post("/api/v1/live/bad%20id/report", json={"comment": "x"}, headers=parent).status_code == 422
    assert client.post(url, json={"comment": "x"}, headers=login(client, world.usernames["head_a"])).status_code == 403
    with sqlite_hub.db.session() as s:
        assert s.scalars(select(Case)).all() == []


def test_relay_ignores_bad_payloads_and_spoofed_topics(
    live: tuple[TestClient, PeopleServices], world: PeopleWorld, edge: FakeEdge
) -> None:
    """Garbage, wrong-kind and topic/ids-mismatched messages on live topics reach no viewer and break nothing."""
    import paho.mqtt.client as mqtt

    from mingchu.contract import LiveFrame, encode
    from mingchu.contract.envelope import attachment_ref

    client, _ = live
    headers = login(client, world.usernames["head_a"])
    intruder = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="intruder-x", protocol=mqtt.MQTTv5)
    intruder.connect(MQTT_HOST, MQTT_PORT)
    intruder.loop_start()
    try:
        with client.websocket_connect(f"/api/v1/live/{world.cam}/ws", headers=headers) as ws:
            _read_frame(ws)
            ws.send_text("ping")  # renew the 1.5 s viewer lease, as a player does (a slow box lapsed it here)
            topic = f"mingchu/v1/{world.school_a}/{world.device}/live/{world.cam}"
            jpeg = b"\xff\xd8spoof"
            spoof = LiveFrame(
                school_id=world.school_b,  # ids differ from the topic
                device_id=world.device,
                sent_at=utcnow(),
                camera_id=world.cam,
                seq=999_999,
                captured_at=utcnow(),
                attachments=(attachment_ref("frame", jpeg, 1, 1),),
            )
            for payload in (b"", b"MCH1\x00\x00\x00\x05{bad}", b"not an envelope", encode(spoof, {"frame": jpeg})):
                intruder.publish(topic, payload, qos=0).wait_for_publish(5)
            for _ in range(5):
                meta, data = _read_frame(ws)
                ws.send_text("ping")
                assert meta["seq"] != 999_999 and data != jpeg
            ws.send_text("bye")
    finally:
        intruder.loop_stop()
        intruder.disconnect()


def test_snapshot_signed_by_an_unknown_key_is_not_evidence(
    live: tuple[TestClient, PeopleServices], world: PeopleWorld, sqlite_hub: HubContext
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    client, _ = live
    parent = login(client, world.usernames["parent_a"])
    with FakeEdge(world.school_a, world.device, Ed25519PrivateKey.generate(), MQTT_HOST, MQTT_PORT) as impostor:
        r = client.post(f"/api/v1/live/{world.cam}/report", json={"comment": "图像可疑"}, headers=parent)
    assert "snapshot" in impostor.names()
    assert r.status_code == 201 and r.json()["screenshot_source"] == "none"
    with sqlite_hub.db.session() as s:
        assert s.scalars(select(Evidence).where(Evidence.case_id == r.json()["case_id"])).all() == []
        assert s.get(Case, r.json()["case_id"]) is not None  # the parent's words are kept all the same


def test_broker_down_does_not_stop_the_api(sqlite_hub: HubContext, world: PeopleWorld, tmp_path: Path) -> None:
    """No broker: the app still starts; live answers 'try again' (1013) and a report keeps the words."""
    from cloud_api.people.app import build_services
    from tests.people.servers import free_port

    hub_cfg = sqlite_hub.config.model_copy(
        update={"mqtt": sqlite_hub.config.mqtt.model_copy(update={"host": "127.0.0.1", "port": free_port()})}
    )
    from cloud_api.app import create_app

    services = build_services(
        sqlite_hub.db,
        hub_cfg,
        people_config(tmp_path, live={**LIVE, "snapshot_timeout_s": 0.5, "connect_wait_s": 0.2}),
        storage=sqlite_hub.storage,
        notifier=sqlite_hub.notifier,
        taxonomy=sqlite_hub.taxonomy,
    )
    app = create_app(hub=sqlite_hub, people=services)
    with TestClient(app) as c:
        parent = login(c, world.usernames["parent_a"])
        with (
            pytest.raises(WebSocketDisconnect) as exc,
            c.websocket_connect(f"/api/v1/live/{world.cam}/ws", headers=parent) as ws,
        ):
            ws.receive_json()
        assert exc.value.code == 1013
        r = c.post(f"/api/v1/live/{world.cam}/report", json={"comment": "没有画面"}, headers=parent)
        assert r.status_code == 201 and r.json()["screenshot_source"] == "none"


def test_viewer_that_vanishes_without_bye_frees_the_stream_at_once(
    live: tuple[TestClient, PeopleServices], world: PeopleWorld, edge: FakeEdge, sqlite_hub: HubContext
) -> None:
    client, _ = live
    parent = login(client, world.usernames["parent_a"])
    with client.websocket_connect(f"/api/v1/live/{world.cam}/ws", headers=parent) as ws:
        _read_frame(ws)
    started = time.monotonic()
    _wait(lambda: "live_stop" in edge.names(), timeout=3)
    assert time.monotonic() - started < LIVE["viewer_lease_s"]  # not merely the lease running out
    _wait(lambda: _audit_reason(sqlite_hub) is not None, timeout=3)
    assert _audit_reason(sqlite_hub) == "client_gone"


def _audit_reason(hub: HubContext) -> str | None:
    with hub.db.session() as s:
        row = s.scalars(select(LiveViewAudit)).first()
        return row.end_reason if row is not None and row.ended_at is not None else None
