"""REST API over a real database: auth, scoping, filters, transitions, rectification, escalation, errors."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import ExifTags, Image
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from cloud_api.context import HubContext
from cloud_api.db.models import Case, CaseTransition, Escalation, Notification
from cloud_api.services import cases as case_service
from cloud_api.services.escalation import escalate_overdue
from tests.hub.helpers import PASSWORD, World, jpeg, now


def open_case(hub: HubContext, world: World, **kwargs: object) -> int:
    outcome = hub.ingest_service().handle(world.topic(), world.event(**kwargs)[0])
    assert outcome.outcome == "accepted" and outcome.case_id is not None
    return outcome.case_id


def assert_error(response: object, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


def move(client: TestClient, world: World, case_id: int, who: str, action: str, reason: str = "") -> object:
    return client.post(
        f"/api/v1/cases/{case_id}/transitions", json={"action": action, "reason": reason}, headers=world.auth(who)
    )


def gps_jpeg() -> bytes:
    image = Image.new("RGB", (120, 90), (10, 120, 200))
    exif = image.getexif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (30.0, 15.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (120.0, 9.0, 1.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the fixture really has GPS
    return data


def test_login_me_and_bad_credentials(client: TestClient, world: World) -> None:
    r = client.post("/api/v1/auth/login", json={"username": "head_a", "password": PASSWORD})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    me = client.get("/api/v1/auth/session", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["school_id"] == world.school_a and me.json()["role"] == "school_head"
    assert_error(
        client.post("/api/v1/auth/login", json={"username": "head_a", "password": "nope"}), 401, "unauthorized"
    )
    assert_error(client.get("/api/v1/auth/session"), 401, "unauthorized")
    forged = {"Authorization": "Bearer forged.token"}
    assert_error(client.get("/api/v1/auth/session", headers=forged), 401, "unauthorized")
    assert_error(client.post("/api/v1/auth/login", json={"username": "x"}), 422, "validation_error")


def test_admin_creates_user_with_scope_rules(client: TestClient, world: World) -> None:
    body = {"username": "new-head", "password": "long-enough-pw", "role": "school_head", "school_id": world.school_a}
    r = client.post("/api/v1/users", json=body, headers=world.auth("admin"))
    assert r.status_code == 201 and r.json()["district_id"] == world.district
    login = client.post("/api/v1/auth/login", json={"username": "new-head", "password": "long-enough-pw"})
    assert login.status_code == 200
    assert_error(client.post("/api/v1/users", json=body, headers=world.auth("admin")), 409, "conflict")
    no_school = {**body, "username": "x2", "school_id": None}
    assert_error(client.post("/api/v1/users", json=no_school, headers=world.auth("admin")), 422, "validation_error")
    assert_error(client.post("/api/v1/users", json=body, headers=world.auth("head_a")), 403, "forbidden")


def test_scoping_hides_other_schools_cases_and_evidence(client: TestClient, hub: HubContext, world: World) -> None:
    case_id = open_case(hub, world)
    detail = client.get(f"/api/v1/cases/{case_id}", headers=world.auth("head_a"))
    assert detail.status_code == 200
    evidence_url = detail.json()["evidence"][0]["url"]
    image = client.get(evidence_url, headers=world.auth("head_a"))
    assert (
        image.status_code == 200 and image.headers["content-type"] == "image/jpeg" and image.content[:2] == b"\xff\xd8"
    )
    for outsider in ("head_b", "regulator_other", "parent_a"):
        assert_error(client.get(f"/api/v1/cases/{case_id}", headers=world.auth(outsider)), 404, "not_found")
        assert_error(client.get(evidence_url, headers=world.auth(outsider)), 404, "not_found")
        listing = client.get("/api/v1/cases", headers=world.auth(outsider)).json()
        assert listing == {"data": [], "count": 0}
    assert client.get(f"/api/v1/cases/{case_id}", headers=world.auth("regulator")).status_code == 200
    assert client.get("/api/v1/cases", headers=world.auth("admin")).json()["count"] == 1
    schools = client.get("/api/v1/schools", headers=world.auth("regulator")).json()
    assert sorted(s["id"] for s in schools) == [world.school_a, world.school_b]
    assert_error(client.get(f"/api/v1/schools/{world.school_a}", headers=world.auth("head_b")), 404, "not_found")


def test_pagination_and_filters(client: TestClient, hub: HubContext, world: World) -> None:
    t0 = now() - timedelta(days=2)
    for i in range(5):
        open_case(hub, world, track_id=i, occurred_at=t0 + timedelta(hours=i))
    open_case(hub, world, track_id=1, violation_class="pest_intrusion", severity=1, occurred_at=t0 - timedelta(days=3))
    auth = world.auth("admin")
    page = client.get("/api/v1/cases", params={"limit": 2, "skip": 0}, headers=auth).json()
    assert page["count"] == 6 and len(page["data"]) == 2
    page3 = client.get("/api/v1/cases", params={"limit": 2, "skip": 4}, headers=auth).json()
    assert len(page3["data"]) == 2
    all_ids = [c["id"] for c in client.get("/api/v1/cases", params={"limit": 200}, headers=auth).json()["data"]]
    assert len(set(all_ids)) == 6
    assert client.get("/api/v1/cases", params={"class": "pest_intrusion"}, headers=auth).json()["count"] == 1
    assert client.get("/api/v1/cases", params={"severity": 3}, headers=auth).json()["count"] == 5
    assert client.get("/api/v1/cases", params={"state": "notified,closed"}, headers=auth).json()["count"] == 6
    assert client.get("/api/v1/cases", params={"school_id": world.school_b}, headers=auth).json()["count"] == 0
    # pest_intrusion's 4 h deadline passed long ago; the others have 72 h
    overdue = client.get("/api/v1/cases", params={"overdue": "true"}, headers=auth).json()
    assert overdue["count"] == 1 and overdue["data"][0]["overdue"] is True
    since = (t0 - timedelta(minutes=1)).isoformat()
    until = (t0 + timedelta(hours=2, minutes=1)).isoformat()
    assert client.get("/api/v1/cases", params={"since": since, "until": until}, headers=auth).json()["count"] == 3
    assert_error(client.get("/api/v1/cases", params={"severity": 9}, headers=auth), 422, "validation_error")
    assert_error(client.get("/api/v1/cases", params={"state": "lost"}, headers=auth), 422, "validation_error")
    naive = client.get("/api/v1/cases", params={"since": "2026-01-01T00:00:00"}, headers=auth)
    assert_error(naive, 422, "validation_error")


def test_full_workflow_to_closure_with_audit(client: TestClient, hub: HubContext, world: World) -> None:
    case_id = open_case(hub, world)
    assert_error(move(client, world, case_id, "regulator", "acknowledge"), 403, "forbidden")
    assert_error(move(client, world, case_id, "head_a", "close"), 409, "illegal_transition")
    assert_error(move(client, world, case_id, "head_a", "submit"), 409, "illegal_transition")
    assert move(client, world, case_id, "manager_a", "acknowledge").status_code == 200  # type: ignore[attr-defined]
    assert move(client, world, case_id, "manager_a", "start_rectification").json()["state"] == "rectifying"  # type: ignore[attr-defined]

    bad = client.post(
        f"/api/v1/cases/{case_id}/rectification",
        data={"text": "cleaned"},
        files=[("photos", ("fix.jpg", b"this is a text file, not a photo", "image/jpeg"))],
        headers=world.auth("manager_a"),
    )
    err = assert_error(bad, 400, "bad_image")
    assert "fix.jpg" in str(err["message"]) and "not a readable image" in str(err["message"])
    too_many = [("photos", (f"p{i}.jpg", jpeg(), "image/jpeg")) for i in range(6)]
    r = client.post(
        f"/api/v1/cases/{case_id}/rectification", data={"text": "x"}, files=too_many, headers=world.auth("manager_a")
    )
    assert_error(r, 400, "bad_image")

    r = client.post(
        f"/api/v1/cases/{case_id}/rectification",
        data={"text": "戴上口罩并培训"},
        files=[("photos", ("photo.png", gps_jpeg(), "image/png"))],  # the name lies; the bytes decide
        headers=world.auth("manager_a"),
    )
    assert r.status_code == 201, r.text
    photo = r.json()["photos"][0]
    assert photo["content_type"] == "image/jpeg"
    stored = client.get(photo["url"], headers=world.auth("regulator")).content
    assert not Image.open(io.BytesIO(stored)).getexif()
    assert b"Exif" not in stored and b"PhoneCo" not in stored
    thumb = Image.open(io.BytesIO(client.get(photo["thumbnail_url"], headers=world.auth("regulator")).content))
    assert max(thumb.size) <= hub.config.rectification.thumbnail_px
    assert_error(client.get(photo["url"], headers=world.auth("head_b")), 404, "not_found")

    review = f"/api/v1/cases/{case_id}/rectification/review"
    # the canteen does not approve its own fix; the school head (or regulator) verifies it
    assert_error(client.post(review, json={"decision": "approve"}, headers=world.auth("manager_a")), 403, "forbidden")
    assert_error(client.post(review, json={"decision": "approve"}, headers=world.auth("head_b")), 404, "not_found")
    assert_error(
        client.post(review, json={"decision": "reject"}, headers=world.auth("regulator")), 422, "reason_required"
    )
    r = client.post(
        review, json={"decision": "reject", "reason": "photo does not show the mask"}, headers=world.auth("regulator")
    )
    assert r.json()["status"] == "rejected"
    r = client.post(
        f"/api/v1/cases/{case_id}/rectification",
        data={"text": "again"},
        files=[("photos", ("a.jpg", jpeg(color=(1, 2, 3)), "image/jpeg")), ("photos", ("b.jpg", jpeg(), "image/jpeg"))],
        headers=world.auth("head_a"),
    )
    assert r.status_code == 201 and len(r.json()["photos"]) == 2
    assert client.post(review, json={"decision": "approve"}, headers=world.auth("head_a")).status_code == 200
    closed = move(client, world, case_id, "regulator", "close")
    assert closed.json()["state"] == "closed" and closed.json()["closed_at"]  # type: ignore[attr-defined]

    detail = client.get(f"/api/v1/cases/{case_id}", headers=world.auth("admin")).json()
    steps = [(t["action"], t["from_state"], t["to_state"]) for t in detail["timeline"]]
    assert steps == [
        ("open", None, "new"),
        ("notify", "new", "notified"),
        ("acknowledge", "notified", "acknowledged"),
        ("start_rectification", "acknowledged", "rectifying"),
        ("submit", "rectifying", "submitted"),
        ("reject", "submitted", "rectifying"),
        ("submit", "rectifying", "submitted"),
        ("approve", "submitted", "approved"),
        ("close", "approved", "closed"),
    ]
    assert detail["timeline"][5]["reason"] == "photo does not show the mask"
    assert detail["timeline"][5]["actor_role"] == "regulator"
    assert [r["status"] for r in detail["rectifications"]] == ["rejected", "approved"]
    assert detail["allowed_actions"] == []
    # a new event on the same track after closure opens a new case
    assert open_case(hub, world) != case_id


def test_dispute_then_false_positive_or_upheld(client: TestClient, hub: HubContext, world: World) -> None:
    a, b = open_case(hub, world, track_id=1), open_case(hub, world, track_id=2)
    assert_error(move(client, world, a, "head_a", "dispute"), 422, "reason_required")
    for case_id in (a, b):
        assert move(client, world, case_id, "head_a", "dispute", "it is a hat, not a bare head").status_code == 200  # type: ignore[attr-defined]
    assert move(client, world, a, "regulator", "mark_false_positive", "agreed").json()["state"] == "false_positive"  # type: ignore[attr-defined]
    assert move(client, world, b, "regulator", "uphold", "clearly no mask").json()["state"] == "rectifying"  # type: ignore[attr-defined]


def test_audit_log_is_append_only_in_the_database(hub: HubContext, world: World) -> None:
    open_case(hub, world)
    for statement in ("UPDATE case_transitions SET reason = 'edited'", "DELETE FROM case_transitions"):
        with pytest.raises(DBAPIError, match="append-only"), hub.db.session() as s:
            s.execute(text(statement))
    with hub.db.session() as s:
        assert s.scalar(select(func.count()).select_from(CaseTransition)) == 2


def test_overdue_gets_yellow_then_red_once_each(client: TestClient, hub: HubContext, world: World) -> None:
    case_id = open_case(hub, world, violation_class="pest_intrusion", severity=1)
    with hub.db.session() as s:
        case = s.get(Case, case_id)
        assert case is not None
        deadline = case.deadline_at
    red_after = timedelta(hours=hub.config.cases.red_card_after_hours)
    with hub.db.session() as s:
        assert escalate_overdue(s, deadline - timedelta(minutes=1), hub.config.cases, hub.notifier) == []
        assert [
            e.level for e in escalate_overdue(s, deadline + timedelta(minutes=1), hub.config.cases, hub.notifier)
        ] == ["yellow"]
        assert escalate_overdue(s, deadline + timedelta(minutes=2), hub.config.cases, hub.notifier) == []
        assert [e.level for e in escalate_overdue(s, deadline + red_after, hub.config.cases, hub.notifier)] == ["red"]
        assert escalate_overdue(s, deadline + 2 * red_after, hub.config.cases, hub.notifier) == []
    with hub.db.session() as s:
        assert [e.level for e in s.scalars(select(Escalation).order_by(Escalation.id))] == ["yellow", "red"]
        kinds = [
            n.kind
            for n in s.scalars(select(Notification).where(Notification.case_id == case_id).order_by(Notification.id))
        ]
        assert kinds == ["case_opened", "yellow_card", "red_card"]
    detail = client.get(f"/api/v1/cases/{case_id}", headers=world.auth("head_a")).json()
    assert detail["card"] == "red" and [e["level"] for e in detail["escalations"]] == ["yellow", "red"]
    # a case skipped past both thresholds gets both cards in one run
    late = open_case(
        hub, world, track_id=42, violation_class="pest_intrusion", severity=1, occurred_at=now() - timedelta(days=5)
    )
    r = client.post("/api/v1/escalations/run", headers=world.auth("admin"))
    assert r.json() == {"yellow": 1, "red": 1}
    with hub.db.session() as s:
        assert s.get(Case, late).card == "red"  # type: ignore[union-attr]


def test_interview_list_thresholds_and_scope(client: TestClient, hub: HubContext, world: World) -> None:
    config = hub.config.interview.model_copy(update={"open_cases": 3, "overdue_cases": 2, "repeat_offences": 2})
    hub.config = hub.config.model_copy(update={"interview": config})
    for track in range(3):
        open_case(
            hub,
            world,
            track_id=track,
            violation_class="pest_intrusion",
            severity=1,
            occurred_at=now() - timedelta(days=1),
        )
    entries = client.get("/api/v1/interviews", headers=world.auth("regulator")).json()
    assert [e["school_id"] for e in entries] == [world.school_a]
    entry = entries[0]
    assert (
        entry["open_cases"] == 3 and entry["overdue_cases"] == 3 and entry["repeat_offences"] == {"pest_intrusion": 3}
    )
    assert len(entry["reasons"]) == 3
    assert client.get("/api/v1/interviews", headers=world.auth("regulator_other")).json() == []
    assert_error(client.get("/api/v1/interviews", headers=world.auth("head_a")), 403, "forbidden")


def test_parent_report_case_is_visible_to_its_reporter(client: TestClient, hub: HubContext, world: World) -> None:
    with hub.db.session() as s:
        case = case_service.open_parent_report(
            s,
            school_id=world.school_a,
            camera_id=None,
            reporter=case_service.Actor(name="家长", role="parent", user_id=world.users["parent_a"]),
            comment="厨师没戴帽子",
            config=hub.config.cases,
            taxonomy=hub.taxonomy,
            notifier=hub.notifier,
        )
        case_id = case.id
    mine = client.get("/api/v1/cases", headers=world.auth("parent_a")).json()
    assert [c["id"] for c in mine["data"]] == [case_id]
    assert mine["data"][0]["violation_class"] == "parent_report" and mine["data"][0]["severity"] == 2
    assert client.get(f"/api/v1/cases/{case_id}", headers=world.auth("head_a")).json()["comment"] == "厨师没戴帽子"


def test_one_error_format_everywhere(client: TestClient, world: World) -> None:
    assert_error(client.get("/api/v1/nowhere"), 404, "not_found")
    assert_error(client.get("/api/v1/cases/999999", headers=world.auth("admin")), 404, "not_found")
    assert_error(client.get("/api/v1/cases/abc", headers=world.auth("admin")), 422, "validation_error")
    bad = client.post("/api/v1/cases/1/transitions", json={"action": "close", "extra": 1}, headers=world.auth("admin"))
    err = assert_error(bad, 422, "validation_error")
    assert isinstance(err["details"], list) and err["details"][0]["loc"]


def test_openapi_documents_models_tags_and_errors(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "ErrorResponse" in spec["components"]["schemas"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("tags"), f"{method} {path} has no tag"
            if path.startswith("/api/v1"):
                assert "404" in op["responses"] or "401" in op["responses"], f"{method} {path} lacks error docs"


def test_rectification_photo_limits(client: TestClient, hub: HubContext, world: World) -> None:
    hub.config = hub.config.model_copy(
        update={"rectification": hub.config.rectification.model_copy(update={"max_photo_bytes": 2048})}
    )
    case_id = open_case(hub, world)
    for action in ("acknowledge", "start_rectification"):
        move(client, world, case_id, "head_a", action)
    url = f"/api/v1/cases/{case_id}/rectification"
    big = jpeg(400, 400, quality=95)
    assert len(big) > 2048
    err = assert_error(
        client.post(
            url, data={"text": "x"}, files=[("photos", ("big.jpg", big, "image/jpeg"))], headers=world.auth("head_a")
        ),
        400,
        "bad_image",
    )
    assert "exceeds the limit of 2048" in str(err["message"])
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")
    err = assert_error(
        client.post(
            url,
            data={"text": "x"},
            files=[("photos", ("a.jpg", gif.getvalue(), "image/jpeg"))],
            headers=world.auth("head_a"),
        ),
        400,
        "bad_image",
    )
    assert "GIF is not accepted" in str(err["message"])
    assert_error(client.post(url, data={"text": "x"}, headers=world.auth("head_a")), 422, "validation_error")
    # nothing was stored and the case did not move
    assert client.get(f"/api/v1/cases/{case_id}", headers=world.auth("head_a")).json()["state"] == "rectifying"
    assert not list((Path(str(hub.config.storage.root))).rglob("rectification/*"))
