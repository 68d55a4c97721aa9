"""Authorisation matrix: every people/live/notifications endpoint and the core case endpoints × every
role × own/other school. Refusals are 401/403/404 and nothing of another school leaks, not even counts."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cloud_api.context import HubContext
from cloud_api.db.models import Evidence
from cloud_api.db.models.people import LiveViewAudit, ParentReport, PushDelivery
from cloud_api.services.cases import Actor, open_parent_report
from tests.people.conftest import PeopleWorld, login, make_client, people_config
from tests.support.auth import api_token

ROLES = ("admin", "regulator", "regulator_other", "head_a", "manager_a", "head_b", "parent_a", "parent_b")
ANON = "anonymous"


class Fixture:
    def __init__(self, client: TestClient, world: PeopleWorld, hub: HubContext) -> None:
        self.client, self.world, self.hub = client, world, hub
        self.people_headers = {r: login(client, world.usernames[r]) for r in ROLES}
        self.people_headers[ANON] = {}
        # sessions opened directly (no login), as an API client holding a token would have them
        self.core_headers = {r: {"Authorization": f"Bearer {api_token(hub.db, world.users[r])}"} for r in ROLES}
        self.core_headers[ANON] = {}
        with hub.db.session() as s:
            case = open_parent_report(
                s,
                school_id=world.school_a,
                camera_id=world.cam,
                reporter=Actor("parent_a", "parent", world.users["parent_a"]),
                comment="school A report",
                config=hub.config.cases,
                taxonomy=hub.taxonomy,
                notifier=hub.notifier,
            )
            data = b"\xff\xd8fake-jpeg"
            hub.storage.put("parent_reports/matrix/1.jpg", data)
            evidence = Evidence(
                case_id=case.id,
                name="snapshot",
                storage_key="parent_reports/matrix/1.jpg",
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
                width=1,
                height=1,
            )
            report = ParentReport(
                case_id=case.id,
                user_id=world.users["parent_a"],
                school_id=world.school_a,
                camera_id=world.cam,
                screenshot_source="snapshot",
            )
            s.add_all([evidence, report])
            s.add(
                LiveViewAudit(
                    user_id=world.users["parent_a"],
                    username="p",
                    role="parent",
                    school_id=world.school_a,
                    camera_id=world.cam,
                )
            )
            s.add(
                PushDelivery(
                    alert_kind="case_opened",
                    case_id=case.id,
                    school_id=world.school_a,
                    user_id=world.users["head_a"],
                    channel="realtime",
                    channel_type="realtime",
                    target="user:1",
                    status="delivered",
                )
            )
            s.flush()
            self.case_id, self.evidence_id, self.report_id = case.id, evidence.id, report.id


@pytest.fixture
def fx(any_hub: HubContext, tmp_path: Path) -> Iterator[Fixture]:
    """On SQLite and on PostgreSQL (the hub engineer's ``db_url`` parametrisation)."""
    world = PeopleWorld(any_hub)
    client, _ = make_client(any_hub, people_config(tmp_path))
    with client:
        yield Fixture(client, world, any_hub)


# (method, path, json body, expected status per role; roles not named get ``default``)
def _rows(w: PeopleWorld, fx: Fixture) -> list[tuple[str, str, dict | None, dict[str, int], int]]:
    staff_a = {"head_a": 200, "manager_a": 200}
    return [
        ("GET", "/api/v1/auth/session", None, {r: 200 for r in ROLES}, 401),
        (
            "PUT",
            f"/api/v1/people/cameras/{w.cam}/live-setting",
            {"parent_viewable": True},
            {"head_a": 200, "admin": 200, ANON: 401},
            404,
        ),
        (
            "PUT",
            f"/api/v1/people/cameras/{w.cam_b}/live-setting",
            {"parent_viewable": True},
            {"admin": 200, "head_b": 200, ANON: 401},
            404,
        ),
        (
            "GET",
            "/api/v1/people/live-cameras",
            None,
            {**staff_a, "head_b": 200, "parent_a": 200, "parent_b": 200, ANON: 401},
            403,
        ),
        ("POST", "/api/v1/people/invites", {"school_id": w.school_a}, {"head_a": 201, ANON: 401}, 404),
        ("GET", "/api/v1/people/grants", None, {"head_a": 200, "head_b": 200, ANON: 401}, 403),
        ("DELETE", f"/api/v1/people/grants/{w.grant_b}", None, {"head_b": -1, ANON: 401}, 404),
        (
            "GET",
            "/api/v1/people/live-audit",
            None,
            {"admin": 200, "regulator": 200, "regulator_other": 200, "head_a": 200, "head_b": 200, ANON: 401},
            403,
        ),
        ("GET", "/api/v1/people/reports", None, {"parent_a": 200, "parent_b": 200, ANON: 401}, 403),
        ("GET", f"/api/v1/people/reports/{fx.report_id}", None, {"parent_a": 200, ANON: 401}, 404),
        ("POST", f"/api/v1/live/{w.cam}/report", {"comment": "x"}, {"parent_b": 404, "parent_a": -1, ANON: 401}, 403),
        ("GET", "/api/v1/notifications/preferences", None, {ANON: 401}, 200),
        (
            "PUT",
            "/api/v1/notifications/preferences",
            {"channels": ["realtime"]},
            {"parent_a": 403, "parent_b": 403, ANON: 401},
            200,
        ),
        ("GET", "/api/v1/push/vapid-public-key", None, {ANON: 401}, 404),  # web push not configured here
        (
            "POST",
            "/api/v1/push/subscriptions",
            {"endpoint": "https://push.example/x", "keys": {"p256dh": "B" * 87, "auth": "A" * 22}},
            {"parent_a": 403, "parent_b": 403, ANON: 401},
            201,
        ),
        ("DELETE", "/api/v1/push/subscriptions/999", None, {ANON: 401}, 404),
        ("GET", "/api/v1/notifications/deliveries", None, {"parent_a": 403, "parent_b": 403, ANON: 401}, 200),
        ("GET", "/api/v1/events/stream", None, {ANON: 401}, -1),  # streams forever: only the refusal is checked
    ]


def test_people_endpoints_matrix(fx: Fixture) -> None:
    failures = []
    for method, path, body, expected, default in _rows(fx.world, fx):
        for role in (*ROLES, ANON):
            want = expected.get(role, default)
            if want == -1:
                continue
            r = fx.client.request(method, path, json=body, headers=fx.people_headers[role])
            if r.status_code != want:
                failures.append(f"{method} {path} as {role}: {r.status_code} != {want} ({r.text[:80]})")
    assert not failures, "\n".join(failures)


def test_people_lists_leak_nothing_across_schools(fx: Fixture) -> None:
    c, h, w = fx.client, fx.people_headers, fx.world
    assert c.get("/api/v1/people/live-audit", headers=h["head_b"]).json() == []
    assert c.get("/api/v1/people/live-audit", headers=h["regulator_other"]).json() == []
    assert len(c.get("/api/v1/people/live-audit", headers=h["regulator"]).json()) == 1
    assert c.get("/api/v1/notifications/deliveries", headers=h["head_b"]).json() == []
    assert c.get("/api/v1/notifications/deliveries", headers=h["regulator_other"]).json() == []
    mine = c.get("/api/v1/notifications/deliveries", headers=h["manager_a"]).json()
    assert mine and {d["school_id"] for d in mine} == {w.school_a}
    assert c.get("/api/v1/people/reports", headers=h["parent_b"]).json() == []
    assert [r["case_id"] for r in c.get("/api/v1/people/reports", headers=h["parent_a"]).json()] == [fx.case_id]
    assert c.get("/api/v1/people/live-cameras", headers=h["parent_b"]).json() == [w.cam_b]
    assert w.cam_wash not in c.get("/api/v1/people/live-cameras", headers=h["head_a"]).json()
    grants_b = c.get("/api/v1/people/grants", headers=h["head_b"]).json()
    assert {g["school_id"] for g in grants_b} == {w.school_b}


def test_core_case_endpoints_matrix(fx: Fixture) -> None:
    """The core's case endpoints with the core's tokens: other school → 404, parents only their own."""
    c, h = fx.client, fx.core_headers
    seen = {"admin", "regulator", "head_a", "manager_a", "parent_a"}
    failures = []
    for role in (*ROLES, ANON):
        want = 401 if role == ANON else (200 if role in seen else 404)
        for path in (f"/api/v1/cases/{fx.case_id}", f"/api/v1/evidence/{fx.evidence_id}"):
            r = c.get(path, headers=h[role])
            if r.status_code != want:
                failures.append(f"GET {path} as {role}: {r.status_code} != {want}")
        if role == ANON:
            continue
        listing = c.get("/api/v1/cases", headers=h[role]).json()
        ids = [x["id"] for x in listing["data"]]
        if (fx.case_id in ids) != (role in seen) or listing["count"] != len(ids):
            failures.append(f"GET /cases as {role}: ids {ids}, count {listing['count']}")
        other = c.post(
            f"/api/v1/cases/{fx.case_id}/transitions", json={"action": "acknowledge", "reason": ""}, headers=h[role]
        )
        if role not in seen and other.status_code != 404:
            failures.append(f"transition as {role}: {other.status_code} != 404")
        if role in ("parent_a", "regulator") and other.status_code < 400:
            failures.append(f"transition as {role}: {other.status_code} (a parent/regulator acknowledged)")
    assert not failures, "\n".join(failures)


def test_logout_ends_the_session_on_every_endpoint(fx: Fixture) -> None:
    """One session scheme for the whole API: after logout the token opens nothing, not even counts."""
    headers = fx.core_headers["head_a"]
    assert fx.client.get("/api/v1/auth/session", headers=headers).status_code == 200
    assert fx.client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    for path in ("/api/v1/auth/session", "/api/v1/cases", "/api/v1/people/reports", "/api/v1/analytics/summary"):
        assert fx.client.get(path, headers=headers).status_code == 401, path
