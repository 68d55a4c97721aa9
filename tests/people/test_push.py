"""Push alerts against real local HTTP servers: payload shapes, retries with back-off, routing, quiet
hours, Web Push encryption to a fake push service, and the delivery log."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from cloud_api.context import HubContext
from cloud_api.db.models.people import PushDelivery
from cloud_api.push.alert import Alert
from cloud_api.services.cases import Actor, open_parent_report
from tests.people.conftest import PeopleWorld, login, make_client, people_config
from tests.people.servers import http_recorder


def _channels(url: str, tmp_path: Path) -> list[dict[str, Any]]:
    return [
        {"type": "webhook", "name": "ops-hook", "url": f"{url}/hook"},
        {"type": "wecom", "name": "wecom-a", "url": f"{url}/wecom?key=k1"},
        {"type": "dingtalk", "name": "ding-a", "url": f"{url}/ding?access_token=t1", "secret": "SEC123"},
        {"type": "webpush", "name": "webpush", "key_dir": str(tmp_path / "vapid"), "subject": "mailto:ops@example.org"},
        {"type": "realtime", "name": "realtime"},
    ]


def _open_report(hub: HubContext, world: PeopleWorld, notifier: Any) -> int:
    with hub.db.session() as s:
        case = open_parent_report(
            s,
            school_id=world.school_a,
            camera_id=world.cam,
            reporter=Actor("parent_a", "parent", world.users["parent_a"]),
            comment="地上有老鼠",
            config=hub.config.cases,
            taxonomy=hub.taxonomy,
            notifier=notifier,
        )
        return case.id


def _deliveries(hub: HubContext) -> list[PushDelivery]:
    _LAST[:] = [hub]
    with hub.db.session() as s:
        return list(s.scalars(select(PushDelivery).order_by(PushDelivery.id)))


_LAST: list[HubContext] = []


def _wait(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(
        f"condition not met in time: {[(r.channel, r.user_id, r.status, r.attempts, r.last_error) for r in _deliveries(_LAST[0])] if _LAST else None}"
    )


def test_new_case_reaches_head_on_webhook_wecom_dingtalk(
    sqlite_hub: HubContext, world: PeopleWorld, tmp_path: Path
) -> None:
    with http_recorder() as rec:
        cfg = people_config(tmp_path, push={"channels": _channels(rec.url, tmp_path)})
        client, services = make_client(sqlite_hub, cfg)
        with client:
            head = login(client, world.usernames["head_a"])
            prefs = {"channels": ["ops-hook", "wecom-a", "ding-a"], "severities": [1, 2, 3]}
            assert client.put("/api/v1/notifications/preferences", json=prefs, headers=head).status_code == 200
            case_id = _open_report(sqlite_hub, world, services.notifier)
            got = rec.wait_for(3)
            _wait(lambda: all(r.status != "pending" for r in _deliveries(sqlite_hub)))
        by_path = {urlsplit(r.path).path: r for r in got}
        hook = by_path["/hook"].json()
        assert hook["source"] == "mingchu" and hook["alert"]["case_id"] == case_id
        assert hook["alert"]["school_id"] == world.school_a and hook["alert"]["kind"] == "case_opened"
        wecom = by_path["/wecom"].json()
        assert wecom["msgtype"] == "markdown" and f"#{case_id}" in wecom["markdown"]["content"]
        ding = by_path["/ding"]
        assert ding.json()["msgtype"] == "markdown" and set(ding.json()["markdown"]) == {"title", "text"}
        query = parse_qs(urlsplit(ding.path).query)
        assert query["access_token"] == ["t1"] and query["timestamp"][0].isdigit() and len(query["sign"][0]) > 20
        rows = _deliveries(sqlite_hub)
        mine = [r for r in rows if r.user_id == world.users["head_a"]]
        assert {r.channel for r in mine} == {"ops-hook", "wecom-a", "ding-a"}
        assert all(r.status == "delivered" and r.attempts == 1 for r in mine)
        # the canteen manager has no preferences: default channel (realtime) with no open page → logged as failed
        manager = [r for r in rows if r.user_id == world.users["manager_a"]]
        assert [(r.channel, r.status) for r in manager] == [("realtime", "failed")]
        # grade 2 report: the regulator is not alerted, other schools never
        assert all(r.user_id in (world.users["head_a"], world.users["manager_a"]) for r in rows)


def test_500_then_200_is_retried_and_logged(sqlite_hub: HubContext, world: PeopleWorld, tmp_path: Path) -> None:
    with http_recorder() as rec:
        rec.script = [500, 503]
        cfg = people_config(tmp_path, push={"channels": _channels(rec.url, tmp_path)})
        client, services = make_client(sqlite_hub, cfg)
        with client:
            head = login(client, world.usernames["head_a"])
            client.put("/api/v1/notifications/preferences", json={"channels": ["ops-hook"]}, headers=head)
            case_id = _open_report(sqlite_hub, world, services.notifier)
            got = rec.wait_for(3)
            _wait(lambda: any(r.status == "delivered" for r in _deliveries(sqlite_hub)))
            log = client.get(f"/api/v1/notifications/deliveries?case_id={case_id}", headers=head).json()
    assert len(got) == 3 and all(r.json()["alert"]["case_id"] == case_id for r in got)
    hook = [r for r in log if r["channel"] == "ops-hook"]
    assert len(hook) == 1 and hook[0]["status"] == "delivered" and hook[0]["attempts"] == 3
    assert "HTTP 503" in hook[0]["last_error"]


def test_permanent_failure_is_not_retried_and_attempts_are_capped(
    sqlite_hub: HubContext, world: PeopleWorld, tmp_path: Path
) -> None:
    with http_recorder() as rec:
        rec.script = [400] + [500] * 10
        channels = [
            {"type": "webhook", "name": "a", "url": f"{rec.url}/a"},
            {"type": "webhook", "name": "b", "url": f"{rec.url}/b"},
        ]
        cfg = people_config(tmp_path, push={"channels": channels, "max_attempts": 3})
        client, services = make_client(sqlite_hub, cfg)
        with client:
            head = login(client, world.usernames["head_a"])
            client.put("/api/v1/notifications/preferences", json={"channels": ["a"]}, headers=head)
            services.push.publish(Alert("case_opened", world.school_a, None, 2, "t", "x"))
            _wait(lambda: all(r.status != "pending" for r in _deliveries(sqlite_hub)))
            client.put("/api/v1/notifications/preferences", json={"channels": ["b"]}, headers=head)
            services.push.publish(Alert("case_opened", world.school_a, None, 2, "t", "x"))
            _wait(
                lambda: (
                    len(_deliveries(sqlite_hub)) == 2 and all(r.status != "pending" for r in _deliveries(sqlite_hub))
                )
            )
    rows = {r.channel: r for r in _deliveries(sqlite_hub) if r.user_id == world.users["head_a"]}
    assert rows["a"].status == "failed" and rows["a"].attempts == 1 and "HTTP 400" in rows["a"].last_error
    assert rows["b"].status == "failed" and rows["b"].attempts == 3


def test_routing_regulator_gets_grade1_and_escalations_only(
    sqlite_hub: HubContext, world: PeopleWorld, tmp_path: Path
) -> None:
    client, services = make_client(sqlite_hub, people_config(tmp_path))
    with client:
        services.push.publish(Alert("case_opened", world.school_a, None, 3, "grade 3", ""))
        services.push.publish(Alert("case_opened", world.school_a, None, 1, "grade 1", ""))
        services.push.publish(Alert("yellow_card", world.school_a, None, 3, "card", "", card="yellow"))
        services.push.wait_idle()
    rows = _deliveries(sqlite_hub)
    users_by = {
        t: {r.user_id for r in rows if r.payload and r.payload["title"] == t} for t in ("grade 3", "grade 1", "card")
    }
    a_staff = {world.users["head_a"], world.users["manager_a"]}
    assert users_by["grade 3"] == a_staff
    assert users_by["grade 1"] == a_staff | {world.users["regulator"]}
    assert world.users["regulator"] in users_by["card"] and world.users["regulator_other"] not in users_by["card"]
    assert world.users["head_b"] not in set().union(*users_by.values())


def test_quiet_hours_hold_intrusive_channels_but_not_grade_1(
    sqlite_hub: HubContext, world: PeopleWorld, tmp_path: Path
) -> None:
    with http_recorder() as rec:
        cfg = people_config(tmp_path, push={"channels": _channels(rec.url, tmp_path)})
        client, services = make_client(sqlite_hub, cfg)
        with client:
            head = login(client, world.usernames["head_a"])
            prefs = {"channels": ["ops-hook"], "quiet_start": "00:00", "quiet_end": "23:59", "timezone": "UTC"}
            if time.gmtime().tm_hour == 23 and time.gmtime().tm_min == 59:
                pytest.skip("the one minute outside the quiet window")
            assert client.put("/api/v1/notifications/preferences", json=prefs, headers=head).status_code == 200
            services.push.publish(Alert("case_opened", world.school_a, None, 2, "quiet", ""))
            services.push.publish(Alert("case_opened", world.school_a, None, 1, "loud", ""))
            rec.wait_for(1)
            services.push.wait_idle()
    rows = [r for r in _deliveries(sqlite_hub) if r.user_id == world.users["head_a"]]
    by_title = {r.payload["title"]: r for r in rows if r.payload}
    assert by_title["quiet"].status == "skipped" and by_title["quiet"].last_error == "quiet hours"
    assert by_title["loud"].status == "delivered"
    assert [r.json()["alert"]["title"] for r in rec.requests] == ["loud"]


def test_preferences_bad_input(client: Any, world: PeopleWorld) -> None:
    head = login(client, world.usernames["head_a"])
    url = "/api/v1/notifications/preferences"
    assert client.get(url, headers=head).json()["channels"] == ["realtime"]
    bad = [
        {"channels": ["nope"]},
        {"channels": ["realtime"], "severities": [4]},
        {"channels": ["realtime"], "quiet_start": "25:00", "quiet_end": "07:00"},
        {"channels": ["realtime"], "quiet_start": "22:00"},
        {"channels": ["realtime"], "timezone": "Mars/Olympus"},
        {"channels": ["realtime"], "colour": "red"},
    ]
    for body in bad:
        assert client.put(url, json=body, headers=head).status_code == 422, body
    assert client.get(url, headers=head).json()["channels"] == ["realtime"]  # nothing was half-saved
    parent = login(client, world.usernames["parent_a"])
    assert client.put(url, json={"channels": ["realtime"]}, headers=parent).status_code == 403


def _subscription_keys() -> tuple[ec.EllipticCurvePrivateKey, bytes, dict[str, str]]:
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    auth = os.urandom(16)
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    return private, auth, {"p256dh": b64(public), "auth": b64(auth)}


def test_web_push_is_encrypted_to_the_subscription_and_logged_delivered(
    sqlite_hub: HubContext, world: PeopleWorld, tmp_path: Path
) -> None:
    with http_recorder() as push_service:
        cfg = people_config(tmp_path, push={"channels": _channels(push_service.url, tmp_path)})
        client, services = make_client(sqlite_hub, cfg)
        with client:
            head = login(client, world.usernames["head_a"])
            vapid = client.get("/api/v1/push/vapid-public-key", headers=head).json()["public_key"]
            assert len(base64.urlsafe_b64decode(vapid + "==")) == 65  # uncompressed P-256 point
            assert (tmp_path / "vapid" / "vapid_private.pem").exists()
            private, auth, keys = _subscription_keys()
            endpoint = f"{push_service.url}/push/sub-1"
            r = client.post(
                "/api/v1/push/subscriptions",
                json={"endpoint": endpoint, "keys": keys, "expirationTime": None},
                headers=head,
            )
            assert r.status_code == 201
            for bad in (
                {"endpoint": "ftp://x/y", "keys": keys},
                {"endpoint": endpoint, "keys": {"p256dh": "short", "auth": "x"}},
            ):
                assert client.post("/api/v1/push/subscriptions", json=bad, headers=head).status_code == 422
            client.put("/api/v1/notifications/preferences", json={"channels": ["webpush"]}, headers=head)
            case_id = _open_report(sqlite_hub, world, services.notifier)
            got = push_service.wait_for(1)[0]
            _wait(lambda: any(r.status == "delivered" and r.channel == "webpush" for r in _deliveries(sqlite_hub)))
    assert got.path == "/push/sub-1"
    assert got.headers["content-encoding"] == "aes128gcm"
    assert got.headers["authorization"].startswith("vapid t=") and f"k={vapid}" in got.headers["authorization"]
    plain = http_ece.decrypt(got.body, private_key=private, auth_secret=auth, version="aes128gcm")
    assert f'"case_id": {case_id}' in plain.decode()


def test_gone_subscription_is_forgotten(sqlite_hub: HubContext, world: PeopleWorld, tmp_path: Path) -> None:
    with http_recorder() as push_service:
        push_service.script = [410]
        cfg = people_config(tmp_path, push={"channels": _channels(push_service.url, tmp_path)})
        client, services = make_client(sqlite_hub, cfg)
        with client:
            head = login(client, world.usernames["head_a"])
            _p, _a, keys = _subscription_keys()
            client.post(
                "/api/v1/push/subscriptions",
                json={"endpoint": f"{push_service.url}/push/x", "keys": keys},
                headers=head,
            )
            client.put("/api/v1/notifications/preferences", json={"channels": ["webpush"]}, headers=head)
            services.push.publish(Alert("case_opened", world.school_a, None, 2, "t", ""))
            _wait(lambda: any(r.status == "failed" and r.channel == "webpush" for r in _deliveries(sqlite_hub)))
            assert services.push._subscription_for(f"{push_service.url}/push/x") is None


def test_core_escalation_reaches_the_district_regulator(
    sqlite_hub: HubContext, world: PeopleWorld, tmp_path: Path
) -> None:
    """A yellow card given by the core's escalation job goes through the outbox to the regulator's webhook."""
    from datetime import timedelta

    from cloud_api.db.base import utcnow
    from cloud_api.services.escalation import escalate_overdue

    with http_recorder() as rec:
        cfg = people_config(tmp_path, push={"channels": _channels(rec.url, tmp_path)})
        client, services = make_client(sqlite_hub, cfg)
        with client:
            reg = login(client, world.usernames["regulator"])
            client.put("/api/v1/notifications/preferences", json={"channels": ["ops-hook"]}, headers=reg)
            with sqlite_hub.db.session() as s:
                case = open_parent_report(
                    s,
                    school_id=world.school_a,
                    camera_id=world.cam,
                    reporter=Actor("p", "parent", world.users["parent_a"]),
                    comment="old",
                    config=sqlite_hub.config.cases,
                    taxonomy=sqlite_hub.taxonomy,
                    notifier=services.notifier,
                    now=utcnow() - timedelta(days=30),
                )
                case_id = case.id
            with sqlite_hub.db.session() as s:
                given = escalate_overdue(s, utcnow(), sqlite_hub.config.cases, sqlite_hub.notifier)
            assert given
            got = rec.wait_for(1)
    alerts = [r.json()["alert"] for r in got]
    assert any(a["case_id"] == case_id and a["kind"].endswith("_card") for a in alerts)
    rows = [r for r in _deliveries(sqlite_hub) if r.user_id == world.users["regulator"]]
    assert rows and all(r.alert_kind.endswith("_card") for r in rows)
    assert not [r for r in _deliveries(sqlite_hub) if r.user_id == world.users["regulator_other"]]
