"""Parents: camera opt-in with privacy areas refused server-side, invites with a QR code, redeeming,
grants listing and revocation; and the per-user SSE stream over a real uvicorn server."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloud_api.context import HubContext
from cloud_api.db.models.people import CameraLiveSetting, ParentInvite
from cloud_api.services.cases import Actor, open_parent_report
from tests.people.conftest import PASSWORD, PeopleWorld, login, make_client, people_config
from tests.people.servers import serve


def test_camera_setting_refuses_privacy_areas(client: TestClient, world: PeopleWorld, sqlite_hub: HubContext) -> None:
    head = login(client, world.usernames["head_a"])
    url = "/api/v1/people/cameras/{}/live-setting"
    ok = client.put(url.format(world.cam_private), json={"parent_viewable": True, "max_viewers": 3}, headers=head)
    assert ok.status_code == 200 and ok.json()["parent_viewable"] is True
    # the room is a washroom: whatever the school says, never viewable
    r = client.put(url.format(world.cam_wash), json={"parent_viewable": True, "area_type": "kitchen"}, headers=head)
    assert r.status_code == 422 and "washroom" in r.text
    # a camera declared as filming a changing room cannot be made viewable either
    r = client.put(
        url.format(world.cam_private), json={"parent_viewable": True, "area_type": "changing_room"}, headers=head
    )
    assert r.status_code == 422
    with sqlite_hub.db.session() as s:
        assert s.get(CameraLiveSetting, world.cam_wash) is None
        setting = s.get(CameraLiveSetting, world.cam_private)
        assert setting is not None and setting.area_type == "kitchen" and setting.parent_viewable
    # other school's head, a manager, a parent: not found (no hint it exists)
    for who in ("head_b", "manager_a", "parent_a", "regulator"):
        r = client.put(
            url.format(world.cam_private), json={"parent_viewable": False}, headers=login(client, world.usernames[who])
        )
        assert r.status_code == 404, who
    for bad in (
        {"parent_viewable": "maybe"},
        {"parent_viewable": True, "area_type": "Kitchen!"},
        {"parent_viewable": True, "max_viewers": 0},
    ):
        assert client.put(url.format(world.cam_private), json=bad, headers=head).status_code == 422, bad


def test_invite_qr_redeem_and_grant(client: TestClient, world: PeopleWorld, sqlite_hub: HubContext) -> None:
    head = login(client, world.usernames["head_a"])
    r = client.post(
        "/api/v1/people/invites",
        json={"school_id": world.school_a, "camera_ids": [world.cam], "grant_days": 14, "label": "三年级二班"},
        headers=head,
    )
    assert r.status_code == 201, r.text
    invite = r.json()
    assert invite["link"].endswith(invite["code"]) and invite["qr_svg"].lstrip().startswith("<?xml")
    assert "<svg" in invite["qr_svg"] and "<path" in invite["qr_svg"]
    with sqlite_hub.db.session() as s:
        stored = s.scalars(select(ParentInvite)).one()
        assert stored.code_sha256 != invite["code"] and invite["code"] not in stored.code_sha256
    body = {"code": invite["code"], "username": "mum.li", "password": "long-enough-pw", "display_name": "李妈妈"}
    grant = client.post("/api/v1/people/invites/redeem", json=body)
    assert (
        grant.status_code == 201
        and grant.json()["camera_ids"] == [world.cam]
        and grant.json()["school_id"] == world.school_a
    )
    # one-time: the same code again is refused
    assert client.post("/api/v1/people/invites/redeem", json={**body, "username": "dad.li"}).status_code == 400
    mum = login(client, "mum.li", "long-enough-pw")
    assert client.get("/api/v1/people/live-cameras", headers=mum).json() == [world.cam]
    grants = client.get("/api/v1/people/grants", headers=head).json()
    assert grant.json()["id"] in [g["id"] for g in grants]
    theirs = client.get("/api/v1/people/grants", headers=login(client, world.usernames["head_b"])).json()
    assert theirs and all(g["school_id"] == world.school_b for g in theirs)
    assert client.get("/api/v1/people/grants", headers=mum).status_code == 403


def test_invite_bad_input(client: TestClient, world: PeopleWorld) -> None:
    head = login(client, world.usernames["head_a"])
    url = "/api/v1/people/invites"
    assert client.post(url, json={"school_id": world.school_b}, headers=head).status_code == 404  # not their school
    assert (
        client.post(url, json={"school_id": world.school_a, "camera_ids": [world.cam_wash]}, headers=head).status_code
        == 422
    )
    assert (
        client.post(
            url, json={"school_id": world.school_a, "camera_ids": [world.cam_private]}, headers=head
        ).status_code
        == 422
    )
    assert client.post(url, json={"school_id": world.school_a, "grant_days": 0}, headers=head).status_code == 422
    assert client.post(url, json={"school_id": "a/b"}, headers=head).status_code == 422
    for who in ("manager_a", "parent_a", "regulator", "admin"):
        r = client.post(url, json={"school_id": world.school_a}, headers=login(client, world.usernames[who]))
        assert r.status_code == 404, who


def test_redeem_bad_codes_lock_the_address(sqlite_hub: HubContext, world: PeopleWorld, tmp_path: Path) -> None:
    client, _ = make_client(sqlite_hub, people_config(tmp_path, lockout={"max_failures": 3}))
    with client:
        body = {"code": "MCI-guessguessguess", "username": "x.y.z", "password": "long-enough-pw"}
        codes = [client.post("/api/v1/people/invites/redeem", json=body).status_code for _ in range(4)]
        assert codes == [400, 400, 400, 429]
        assert client.post("/api/v1/people/invites/redeem", json={**body, "password": "short"}).status_code == 422


def test_sse_stream_receives_the_new_case_event(sqlite_hub: HubContext, world: PeopleWorld, tmp_path: Path) -> None:
    client, services = make_client(sqlite_hub, people_config(tmp_path))
    events: list[tuple[str, dict[str, Any]]] = []
    connected = threading.Event()
    with serve(client.app) as base:
        head = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": world.usernames["head_a"], "password": PASSWORD}
        )
        other = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": world.usernames["head_b"], "password": PASSWORD}
        )
        other_events: list[str] = []

        def listen(token: str, sink: list[Any]) -> None:
            headers = {"Authorization": f"Bearer {token}"}
            try:
                with httpx.stream("GET", f"{base}/api/v1/events/stream", headers=headers, timeout=10) as r:
                    name = None
                    for line in r.iter_lines():
                        if line.startswith(": connected"):
                            connected.set()
                        elif line.startswith("event: "):
                            name = line[7:]
                        elif line.startswith("data: "):
                            sink.append((name, json.loads(line[6:])))
                            return
            except httpx.HTTPError:
                return  # the server closed a stream that (rightly) never got an event

        t1 = threading.Thread(target=listen, args=(head.json()["access_token"], events), daemon=True)
        t2 = threading.Thread(target=listen, args=(other.json()["access_token"], other_events), daemon=True)
        t1.start()
        t2.start()
        assert connected.wait(5)
        _wait_listeners(services, world.users["head_a"])
        with sqlite_hub.db.session() as s:
            case = open_parent_report(
                s,
                school_id=world.school_a,
                camera_id=world.cam,
                reporter=Actor("p", "parent", world.users["parent_a"]),
                comment="请看一下",
                config=sqlite_hub.config.cases,
                taxonomy=sqlite_hub.taxonomy,
                notifier=services.notifier,
            )
            case_id = case.id
        t1.join(timeout=10)
        assert events and events[0][0] == "case_opened" and events[0][1]["case_id"] == case_id
        time.sleep(0.3)
        assert other_events == []  # school B's head hears nothing about school A
        assert httpx.get(f"{base}/api/v1/events/stream").status_code == 401


def _wait_listeners(services: Any, user_id: int) -> None:
    deadline = time.monotonic() + 5
    while services.broker.listeners(user_id) == 0:
        assert time.monotonic() < deadline, "stream never subscribed"
        time.sleep(0.02)


def test_create_app_wires_people_and_report_rate_limit(sqlite_hub: HubContext, world: PeopleWorld, tmp_path: Path) -> None:
    """``create_app`` wires the people area to the hub's storage; a parent cannot flood the head with reports."""
    from cloud_api.app import create_app

    app = create_app(hub=sqlite_hub, live=False)
    assert app.state.people.storage is sqlite_hub.storage
    with TestClient(app) as c:
        parent = login(c, world.usernames["parent_a"])
        url = f"/api/v1/live/{world.cam}/report"
        codes = [c.post(url, json={"comment": f"第{i}次"}, headers=parent).status_code for i in range(11)]
        assert codes == [201] * 10 + [429]
        assert len(c.get("/api/v1/people/reports", headers=parent).json()) == 10
