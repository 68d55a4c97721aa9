"""Organisation and device endpoints: admin writes, scoped reads, key rotation, online rate, bad input."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cloud_api.context import HubContext
from cloud_api.db.models import Case, Evidence, Quarantine
from cloud_api.services import cases as case_service
from tests.hub.helpers import World, b64_public, event_payload, jpeg, new_key, now, stats_payload, status_payload
from tests.hub.test_api_cases import assert_error


def test_org_crud_by_admin_with_clear_reference_errors(client: TestClient, world: World) -> None:
    admin = world.auth("admin")
    assert (
        client.post(
            "/api/v1/canteens", json={"id": "ct1", "school_id": world.school_a, "name": "主食堂"}, headers=admin
        ).status_code
        == 201
    )
    r = client.post(
        "/api/v1/rooms",
        json={"id": "rm1", "canteen_id": "ct1", "name": "热菜间", "room_type": "cooking"},
        headers=admin,
    )
    assert r.status_code == 201 and r.json()["school_id"] == world.school_a
    r = client.post("/api/v1/cameras", json={"id": "cm1", "school_id": world.school_a, "room_id": "rm1"}, headers=admin)
    assert r.status_code == 201 and r.json()["room_id"] == "rm1"
    err = assert_error(
        client.post("/api/v1/rooms", json={"id": "rm2", "canteen_id": "nope", "name": "x"}, headers=admin),
        422,
        "unknown_reference",
    )
    assert "canteen 'nope' does not exist" in str(err["message"])
    wrong_school = {"id": "cm2", "school_id": world.school_b, "room_id": "rm1"}
    assert_error(client.post("/api/v1/cameras", json=wrong_school, headers=admin), 422, "unknown_reference")
    assert_error(
        client.post("/api/v1/canteens", json={"id": "ct1", "school_id": world.school_a, "name": "dup"}, headers=admin),
        409,
        "conflict",
    )
    assert_error(
        client.post(
            "/api/v1/canteens", json={"id": "bad id!", "school_id": world.school_a, "name": "x"}, headers=admin
        ),
        422,
        "validation_error",
    )
    assert_error(
        client.post(
            "/api/v1/canteens",
            json={"id": "ct9", "school_id": world.school_a, "name": "x"},
            headers=world.auth("head_a"),
        ),
        403,
        "forbidden",
    )
    assert_error(client.delete("/api/v1/canteens/ct1", headers=admin), 409, "conflict")  # still has a room
    assert client.patch("/api/v1/cameras/cm1", json={"name": "灶台"}, headers=admin).json()["name"] == "灶台"
    assert client.delete("/api/v1/cameras/cm1", headers=admin).status_code == 204
    assert client.delete("/api/v1/rooms/rm1", headers=admin).status_code == 204
    assert client.delete("/api/v1/canteens/ct1", headers=admin).status_code == 204
    assert [c["id"] for c in client.get("/api/v1/canteens", headers=world.auth("head_b")).json()] == []
    districts = client.get("/api/v1/districts", headers=world.auth("regulator")).json()
    assert [d["id"] for d in districts] == [world.district]


def test_provision_rotate_and_scope_devices(client: TestClient, hub: HubContext, world: World) -> None:
    admin = world.auth("admin")
    key = new_key()
    body = {"id": "edge-new", "school_id": world.school_b, "public_key": b64_public(key)}
    r = client.post("/api/v1/devices", json=body, headers=admin)
    assert r.status_code == 201 and len(r.json()["keys"]) == 1
    assert_error(client.post("/api/v1/devices", json=body, headers=admin), 409, "conflict")
    for bad in ("not base64 !!", "c2hvcnQ="):
        err = assert_error(
            client.post("/api/v1/devices", json={**body, "id": "e2", "public_key": bad}, headers=admin),
            422,
            "validation_error",
        )
        assert "public_key" in str(err["message"])
    assert_error(
        client.post("/api/v1/devices", json={**body, "id": "e3", "school_id": "nowhere"}, headers=admin),
        422,
        "validation_error",
    )

    newer = new_key()
    rotated = client.post("/api/v1/devices/edge-new/keys", json={"public_key": b64_public(newer)}, headers=admin)
    assert rotated.status_code == 201
    keys = client.get("/api/v1/devices/edge-new", headers=admin).json()["keys"]
    assert keys[0]["retired_at"] is not None and keys[1]["retired_at"] is None
    assert_error(
        client.post("/api/v1/devices/edge-new/keys", json={"public_key": b64_public(key)}, headers=admin),
        409,
        "conflict",
    )
    assert_error(client.get("/api/v1/devices/edge-new", headers=world.auth("head_a")), 404, "not_found")
    assert {d["id"] for d in client.get("/api/v1/devices", headers=world.auth("head_a")).json()} == {world.device}

    # the new key signs; the retired one no longer does
    fresh, _ = event_payload(newer, school_id=world.school_b, device_id="edge-new", camera_id="cam-b-1")
    assert (
        hub.ingest_service().handle(world.topic(school=world.school_b, device="edge-new"), fresh).outcome == "accepted"
    )
    stale, _ = event_payload(key, school_id=world.school_b, device_id="edge-new", camera_id="cam-b-1")
    assert (
        hub.ingest_service().handle(world.topic(school=world.school_b, device="edge-new"), stale).reason
        == "retired_key"
    )


def test_online_rate_endpoint(client: TestClient, hub: HubContext, world: World) -> None:
    t0 = now() - timedelta(hours=4)
    service = hub.ingest_service()
    topic = world.topic("status")
    service.handle(topic, status_payload(world.key, school_id=world.school_a, device_id=world.device, sent_at=t0))
    service.handle(
        topic,
        status_payload(
            world.key,
            school_id=world.school_a,
            device_id=world.device,
            state="offline",
            sent_at=t0 + timedelta(hours=3),
        ),
    )
    params = {"since": t0.isoformat(), "until": (t0 + timedelta(hours=4)).isoformat()}
    r = client.get(f"/api/v1/schools/{world.school_a}/online-rate", params=params, headers=world.auth("regulator"))
    assert r.status_code == 200, r.text
    assert r.json()["devices_count"] == 1 and abs(r.json()["devices_online_rate"] - 0.75) < 1e-6
    assert_error(
        client.get(f"/api/v1/schools/{world.school_a}/online-rate", headers=world.auth("head_b")), 404, "not_found"
    )
    backwards = {"since": params["until"], "until": params["since"]}
    assert_error(
        client.get(f"/api/v1/schools/{world.school_a}/online-rate", params=backwards, headers=world.auth("admin")),
        422,
        "validation_error",
    )


def test_quarantine_and_alerts_are_admin_views(client: TestClient, hub: HubContext, world: World) -> None:
    hub.ingest_service().handle(world.topic(), world.event(tamper=True)[0])
    page = client.get("/api/v1/quarantine", headers=world.auth("admin")).json()
    assert page["count"] == 1 and page["data"][0]["reason"] == "bad_signature"
    assert client.get("/api/v1/alerts", headers=world.auth("admin")).json()[0]["kind"] == "bad_signature"
    assert_error(client.get("/api/v1/quarantine", headers=world.auth("regulator")), 403, "forbidden")


def test_unknown_device_stats_are_counted_but_stored_once_per_window(hub: HubContext, world: World) -> None:
    stranger = new_key()
    service = hub.ingest_service()
    topic = world.topic("stats", device="stranger")
    for _ in range(5):
        payload = stats_payload(stranger, school_id=world.school_a, device_id="stranger", camera_id="c1")
        assert service.handle(topic, payload).reason == "unknown_device"
    with hub.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Quarantine).where(Quarantine.device_id == "stranger")) == 1


def test_parent_report_screenshot_is_cleaned_and_scoped(client: TestClient, hub: HubContext, world: World) -> None:
    with hub.db.session() as s:
        case = case_service.open_parent_report(
            s,
            school_id=world.school_a,
            camera_id=None,
            reporter=case_service.Actor(name="家长", role="parent", user_id=world.users["parent_a"]),
            comment="x",
            config=hub.config.cases,
            taxonomy=hub.taxonomy,
            notifier=hub.notifier,
        )
        case_service.add_image_evidence(s, case, "screenshot", jpeg(), hub.storage, hub.config.rectification)
        case_id = case.id
    detail = client.get(f"/api/v1/cases/{case_id}", headers=world.auth("parent_a")).json()
    assert [e["name"] for e in detail["evidence"]] == ["screenshot"]
    assert client.get(detail["evidence"][0]["url"], headers=world.auth("parent_a")).status_code == 200
    assert_error(client.get(detail["evidence"][0]["url"], headers=world.auth("head_b")), 404, "not_found")
    with hub.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Evidence).where(Evidence.case_id == case_id)) == 1


def test_optimistic_lock_detects_a_concurrent_change(client: TestClient, hub: HubContext, world: World) -> None:
    payload, _ = world.event()
    case_id = hub.ingest_service().handle(world.topic(), payload).case_id
    with hub.db.session() as s1:
        stale = s1.get(Case, case_id)
        assert stale is not None
        assert (
            client.post(
                f"/api/v1/cases/{case_id}/transitions", json={"action": "acknowledge"}, headers=world.auth("head_a")
            ).status_code
            == 200
        )
        stale.card = "yellow"  # based on the old version: the optimistic lock must refuse it
        try:
            s1.flush()
        except Exception as exc:
            assert type(exc).__name__ == "StaleDataError"
            s1.rollback()
        else:
            raise AssertionError("stale write was not detected")


def test_open_key_is_unique_so_racing_workers_cannot_open_two_cases(hub: HubContext, world: World) -> None:
    """A second worker inserting the same open case hits the constraint (and its retry then attaches)."""
    from sqlalchemy.exc import IntegrityError

    _, first = world.event(track_id=5)
    payload, _ = world.event(track_id=5)
    with hub.db.session() as s:
        case, created = case_service.attach_or_open(s, first, hub.config.cases, hub.taxonomy, hub.notifier)
        key = case.open_key
    assert created and key
    racing = Case(
        kind="violation",
        school_id=world.school_a,
        violation_class="no_mask",
        severity=3,
        state="new",
        first_seen_at=now(),
        last_seen_at=now(),
        deadline_at=now(),
        open_key=key,
    )
    try:
        with hub.db.session() as s:
            s.add(racing)
    except IntegrityError:
        pass
    else:
        raise AssertionError("a duplicate open case was accepted")
    assert hub.ingest_service().handle(world.topic(), payload).outcome == "accepted"
    with hub.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 1
        assert s.scalars(select(Case)).one().event_count == 2


def test_database_errors_map_to_the_error_format(hub: HubContext) -> None:
    from sqlalchemy.exc import IntegrityError, OperationalError
    from sqlalchemy.orm.exc import StaleDataError

    from cloud_api.app import create_app

    app = create_app(hub=hub)
    errors = {
        "stale": StaleDataError("x"),
        "dup": IntegrityError("s", {}, Exception()),
        "down": OperationalError("s", {}, Exception()),
    }

    def make(exc: Exception) -> Callable[[], None]:
        def boom() -> None:
            raise exc

        return boom

    for name, exc in errors.items():
        app.add_api_route(f"/boom/{name}", make(exc), methods=["GET"])
    with TestClient(app, raise_server_exceptions=False) as c:
        assert_error(c.get("/boom/stale"), 409, "conflict")
        assert_error(c.get("/boom/dup"), 409, "conflict")
        down = c.get("/boom/down")
        assert_error(down, 503, "unavailable")
        assert down.headers["retry-after"] == "5"
