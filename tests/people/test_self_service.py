"""Account self-service on SQLite and PostgreSQL: a user changes their own password (other sessions end,
a wrong current password counts against the login lockout), and a school head cancels an invite sent
by mistake (the code stops working and the redeemer is told it was cancelled)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cloud_api.context import HubContext
from cloud_api.db.models.people import AuthSession, LoginThrottle, ParentInvite
from cloud_api.db.models.users import User
from tests.people.conftest import PASSWORD, PeopleWorld, login, make_client, people_config

NEW = "a-brand-new-password-7"
URL = "/api/v1/auth/password"


@dataclass
class Fx:
    client: TestClient
    world: PeopleWorld
    hub: HubContext


@pytest.fixture
def fx(any_hub: HubContext, tmp_path: Path) -> Iterator[Fx]:
    world = PeopleWorld(any_hub)
    client, _ = make_client(any_hub, people_config(tmp_path, lockout={"max_failures": 3, "lock_s": 60}))
    with client:
        yield Fx(client, world, any_hub)


def error_of(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return dict(body["error"])


def password_hash(hub: HubContext, user_id: int) -> str:
    with hub.db.session() as s:
        user = s.get(User, user_id)
        assert user is not None
        return user.password_hash


def login_status(c: TestClient, username: str, password: str) -> int:
    return c.post("/api/v1/auth/login", json={"username": username, "password": password}).status_code


# -- password change --------------------------------------------------------------------------------------
def test_change_password_ends_other_sessions_and_keeps_this_one(fx: Fx) -> None:
    c, name = fx.client, fx.world.usernames["head_a"]
    here, other_api = login(c, name), login(c, name)
    other_web = c.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD, "mode": "cookie"})
    assert other_web.status_code == 200
    c.cookies.clear()
    someone_else = login(c, fx.world.usernames["head_b"])

    r = c.post(URL, json={"current_password": PASSWORD, "new_password": NEW}, headers=here)
    assert r.status_code == 200, r.text
    assert r.json() == {"other_sessions_ended": 2}
    assert c.get("/api/v1/auth/session", headers=here).status_code == 200  # this session stays
    assert c.get("/api/v1/auth/session", headers=other_api).status_code == 401
    assert c.get("/api/v1/auth/session", headers=someone_else).status_code == 200  # other users untouched
    with fx.hub.db.session() as s:
        live = s.scalars(
            select(AuthSession).where(AuthSession.user_id == fx.world.users["head_a"], AuthSession.revoked_at.is_(None))
        ).all()
        assert len(live) == 1
    assert login_status(c, name, PASSWORD) == 401
    assert login_status(c, name, NEW) == 200


def test_every_role_may_change_their_own_password(fx: Fx) -> None:
    for who in ("admin", "regulator", "manager_a", "parent_a"):
        headers = login(fx.client, fx.world.usernames[who])
        r = fx.client.post(URL, json={"current_password": PASSWORD, "new_password": NEW}, headers=headers)
        assert r.status_code == 200, (who, r.text)
        assert login_status(fx.client, fx.world.usernames[who], NEW) == 200, who


def test_wrong_current_password_is_403_and_counts_against_the_lockout(fx: Fx) -> None:
    c, name, uid = fx.client, fx.world.usernames["manager_a"], fx.world.users["manager_a"]
    headers = login(c, name)
    before = password_hash(fx.hub, uid)
    err = error_of(
        c.post(URL, json={"current_password": "not-it", "new_password": NEW}, headers=headers), 403, "forbidden"
    )
    assert "current password" in err["message"]
    with fx.hub.db.session() as s:
        row = s.get(LoginThrottle, f"user:{name}")
        assert row is not None and row.failures == 1
    error_of(
        c.post(URL, json={"current_password": "still-not", "new_password": NEW}, headers=headers), 403, "forbidden"
    )
    # the third failure is an ordinary wrong login: the username is now locked, even for the right password
    assert login_status(c, name, "wrong-again") == 401
    assert login_status(c, name, PASSWORD) == 429
    locked = c.post(URL, json={"current_password": PASSWORD, "new_password": NEW}, headers=headers)
    error_of(locked, 429, "error")
    assert int(locked.headers["Retry-After"]) > 0
    assert password_hash(fx.hub, uid) == before
    assert c.get("/api/v1/auth/session", headers=headers).status_code == 200  # a refusal ends no session


def test_weak_or_malformed_new_password_changes_nothing(fx: Fx) -> None:
    c, uid = fx.client, fx.world.users["parent_a"]
    headers = login(c, fx.world.usernames["parent_a"])
    other = login(c, fx.world.usernames["parent_a"])
    before = password_hash(fx.hub, uid)
    err = error_of(
        c.post(URL, json={"current_password": PASSWORD, "new_password": "short"}, headers=headers),
        422,
        "validation_error",
    )
    assert "new_password" in err["message"]
    for body in (
        {"current_password": PASSWORD, "new_password": "x" * 257},
        {"current_password": PASSWORD, "new_password": "123456789"},  # one short of the join rule (10)
        {"current_password": "", "new_password": NEW},
        {"new_password": NEW},
        {"current_password": PASSWORD, "new_password": NEW, "extra": 1},
    ):
        error_of(c.post(URL, json=body, headers=headers), 422, "validation_error")
    err = error_of(
        c.post(URL, json={"current_password": PASSWORD, "new_password": PASSWORD}, headers=headers),
        422,
        "validation_error",
    )
    assert "differ" in err["message"]
    assert password_hash(fx.hub, uid) == before
    assert c.get("/api/v1/auth/session", headers=other).status_code == 200
    # exactly the minimum length is accepted
    ok = c.post(URL, json={"current_password": PASSWORD, "new_password": "0123456789"}, headers=headers)
    assert ok.status_code == 200, ok.text


def test_change_password_needs_a_session_and_csrf_with_a_cookie(fx: Fx) -> None:
    c, name = fx.client, fx.world.usernames["head_a"]
    body = {"current_password": PASSWORD, "new_password": NEW}
    error_of(c.post(URL, json=body), 401, "unauthorized")
    r = c.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD, "mode": "cookie"})
    csrf = r.json()["csrf_token"]
    error_of(c.post(URL, json=body), 403, "forbidden")  # cookie without the CSRF header
    assert login_status(c, name, NEW) == 401
    assert c.post(URL, json=body, headers={"X-CSRF-Token": csrf}).json() == {"other_sessions_ended": 0}
    assert login_status(c, name, NEW) == 200


# -- cancelling an invite ---------------------------------------------------------------------------------
def new_invite(c: TestClient, world: PeopleWorld, head: str = "head_a") -> dict[str, Any]:
    school = world.school_a if head == "head_a" else world.school_b
    r = c.post(
        "/api/v1/people/invites",
        json={"school_id": school, "label": "by mistake"},
        headers=login(c, world.usernames[head]),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def redeem(c: TestClient, code: str, username: str) -> Any:
    return c.post(
        "/api/v1/people/invites/redeem", json={"code": code, "username": username, "password": "long-enough-pw"}
    )


def test_head_cancels_an_invite_and_its_code_stops_working(fx: Fx) -> None:
    c, w = fx.client, fx.world
    invite = new_invite(c, w)
    head = login(c, w.usernames["head_a"])
    r = c.delete(f"/api/v1/people/invites/{invite['id']}", headers=head)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["id"] == invite["id"] and out["school_id"] == w.school_a and out["revoked_at"] and out["used_at"] is None
    users = _count(fx.hub, User)
    err = error_of(redeem(c, invite["code"], "late.parent"), 410, "invite_cancelled")
    assert "cancelled" in err["message"]
    assert _count(fx.hub, User) == users
    # cancelling again is harmless and keeps the first time
    again = c.delete(f"/api/v1/people/invites/{invite['id']}", headers=head)
    assert again.status_code == 200 and again.json()["revoked_at"] == out["revoked_at"]
    # a real (cancelled) code is not a guess: it does not use up the address's budget of bad codes
    codes = [redeem(c, invite["code"], "late.parent").status_code for _ in range(3)]
    assert codes == [410, 410, 410]
    other = new_invite(c, w)
    assert redeem(c, other["code"], "on.time.parent").status_code == 201


def test_only_the_school_head_or_an_admin_cancels(fx: Fx) -> None:
    c, w = fx.client, fx.world
    invite = new_invite(c, w)
    url = f"/api/v1/people/invites/{invite['id']}"
    for who in ("head_b", "manager_a", "parent_a", "regulator"):
        err = error_of(c.delete(url, headers=login(c, w.usernames[who])), 404, "not_found")
        assert "invite" in err["message"], who
    error_of(c.delete(url), 401, "unauthorized")
    with fx.hub.db.session() as s:
        row = s.get(ParentInvite, invite["id"])
        assert row is not None and row.revoked_at is None
    assert c.delete(url, headers=login(c, w.usernames["admin"])).status_code == 200
    error_of(redeem(c, invite["code"], "x.parent"), 410, "invite_cancelled")


def test_cancel_refuses_redeemed_unknown_and_malformed_ids(fx: Fx) -> None:
    c, w = fx.client, fx.world
    head = login(c, w.usernames["head_a"])
    invite = new_invite(c, w)
    assert redeem(c, invite["code"], "quick.parent").status_code == 201
    err = error_of(c.delete(f"/api/v1/people/invites/{invite['id']}", headers=head), 409, "conflict")
    assert "redeemed" in err["message"]
    with fx.hub.db.session() as s:
        row = s.get(ParentInvite, invite["id"])
        assert row is not None and row.revoked_at is None and row.used_at is not None
    error_of(c.delete("/api/v1/people/invites/999999", headers=head), 404, "not_found")
    error_of(c.delete("/api/v1/people/invites/abc", headers=head), 422, "validation_error")
    # another school's invite looks exactly like an unknown one
    theirs = new_invite(c, w, head="head_b")
    mine_view = c.delete(f"/api/v1/people/invites/{theirs['id']}", headers=head)
    assert (
        mine_view.status_code == 404
        and mine_view.json() == c.delete("/api/v1/people/invites/999999", headers=head).json()
    )
    assert redeem(c, theirs["code"], "b.parent").status_code == 201


def _count(hub: HubContext, model: Any) -> int:
    with hub.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)
