"""Accounts: lockout, revocable sessions (token replay after logout), cookie sessions with CSRF."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from cloud_api.context import HubContext
from cloud_api.db.models.people import AuthSession
from tests.people.conftest import PASSWORD, PeopleWorld, login, make_client, people_config


def test_login_gives_a_bearer_token_stored_only_as_a_hash(
    client: TestClient, world: PeopleWorld, sqlite_hub: HubContext
) -> None:
    headers = login(client, world.usernames["head_a"])
    token = headers["Authorization"].split()[1]
    me = client.get("/api/v1/auth/session", headers=headers)
    assert me.status_code == 200 and me.json()["role"] == "school_head" and me.json()["school_id"] == world.school_a
    with sqlite_hub.db.session() as s:
        rows = s.scalars(select(AuthSession)).all()
        assert len(rows) == 1 and rows[0].token_sha256 != token and token not in rows[0].token_sha256


def test_token_replay_after_logout_is_401(client: TestClient, world: PeopleWorld) -> None:
    headers = login(client, world.usernames["parent_a"])
    assert client.get("/api/v1/people/live-cameras", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    for path in ("/api/v1/people/live-cameras", "/api/v1/auth/session", "/api/v1/people/reports"):
        r = client.get(path, headers=headers)
        assert r.status_code == 401, path
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 401


def test_logout_all_ends_every_session(client: TestClient, world: PeopleWorld) -> None:
    first, second = login(client, world.usernames["head_a"]), login(client, world.usernames["head_a"])
    assert client.post("/api/v1/auth/logout-all", headers=first).json() == {"revoked": 2}
    assert client.get("/api/v1/auth/session", headers=second).status_code == 401


def test_bad_credentials_and_bad_input(client: TestClient, world: PeopleWorld) -> None:
    assert (
        client.post("/api/v1/auth/login", json={"username": world.usernames["head_a"], "password": "nope"}).status_code
        == 401
    )
    assert client.post("/api/v1/auth/login", json={"username": "ghost", "password": "nope"}).status_code == 401
    assert client.post("/api/v1/auth/login", json={"username": "", "password": "x"}).status_code == 422
    assert client.post("/api/v1/auth/login", json={"username": "a", "password": "b", "extra": 1}).status_code == 422
    assert (
        client.post(
            "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )
    for bad in ("Basic abc", "Bearer", "Bearer not-a-session-token", "Bearer mcs_forged"):
        assert client.get("/api/v1/auth/session", headers={"Authorization": bad}).status_code == 401, bad


def test_brute_force_locks_username_even_for_the_right_password(
    sqlite_hub: HubContext, world: PeopleWorld, tmp_path: Path
) -> None:
    test_client, _ = make_client(sqlite_hub, people_config(tmp_path, lockout={"max_failures": 3, "lock_s": 60}))
    with test_client as c:
        user = world.usernames["manager_a"]
        codes = [
            c.post("/api/v1/auth/login", json={"username": user, "password": f"guess{i}"}).status_code for i in range(3)
        ]
        assert codes == [401, 401, 401]
        locked = c.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
        assert locked.status_code == 429
        assert 0 < int(locked.headers["Retry-After"]) <= 61
        # the IP is locked too: another account from the same address is refused while the lock lasts
        assert (
            c.post("/api/v1/auth/login", json={"username": world.usernames["head_a"], "password": PASSWORD}).status_code
            == 429
        )


def test_success_clears_the_username_failures(sqlite_hub: HubContext, world: PeopleWorld, tmp_path: Path) -> None:
    test_client, _ = make_client(sqlite_hub, people_config(tmp_path, lockout={"max_failures": 3, "lock_s": 60}))
    with test_client as c:
        user = world.usernames["manager_a"]
        for _ in range(2):
            c.post("/api/v1/auth/login", json={"username": user, "password": "wrong"})
        login(c, user)
        # the username counter restarted; the IP counter still holds 2, so one more failure locks the IP
        assert c.post("/api/v1/auth/login", json={"username": user, "password": "wrong"}).status_code == 401
        assert c.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD}).status_code == 429


def test_cookie_session_needs_csrf_for_unsafe_methods(client: TestClient, world: PeopleWorld) -> None:
    r = client.post(
        "/api/v1/auth/login", json={"username": world.usernames["head_a"], "password": PASSWORD, "mode": "cookie"}
    )
    assert r.status_code == 200
    set_cookie = r.headers.get_list("set-cookie")
    session_cookie = next(h for h in set_cookie if h.startswith("mc_session="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie and "Secure" not in session_cookie
    assert r.json()["access_token"] is None
    csrf = r.json()["csrf_token"]
    assert client.cookies.get("mc_csrf") == csrf
    # safe method: the cookie alone is enough
    assert client.get("/api/v1/auth/session").status_code == 200
    body = {"parent_viewable": False, "area_type": "kitchen"}
    url = f"/api/v1/people/cameras/{world.cam_private}/live-setting"
    assert client.put(url, json=body).status_code == 403  # no header
    assert client.put(url, json=body, headers={"X-CSRF-Token": "guess"}).status_code == 403  # wrong value
    assert client.put(url, json=body, headers={"X-CSRF-Token": csrf}).status_code == 200
    # logout via cookie also needs the token, then the cookie is dead
    assert client.post("/api/v1/auth/logout").status_code == 403
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get("/api/v1/auth/session").status_code == 401


def test_cookie_is_secure_over_https(sqlite_hub: HubContext, world: PeopleWorld, tmp_path: Path) -> None:
    test_client, _ = make_client(sqlite_hub, people_config(tmp_path))
    with TestClient(test_client.app, base_url="https://hub.example") as c:
        r = c.post(
            "/api/v1/auth/login", json={"username": world.usernames["head_a"], "password": PASSWORD, "mode": "cookie"}
        )
        assert all("Secure" in h for h in r.headers.get_list("set-cookie"))


def test_core_endpoints_refuse_a_replayed_token_after_logout(
    sqlite_hub: HubContext, world: PeopleWorld, tmp_path: Path
) -> None:
    """Core endpoints authenticate with people sessions, so logout is global."""
    test_client, _ = make_client(sqlite_hub, people_config(tmp_path))
    with test_client as c:
        headers = login(c, world.usernames["head_a"])
        assert c.get("/api/v1/cases", headers=headers).status_code == 200
        assert c.post("/api/v1/auth/logout", headers=headers).status_code == 204
        assert c.get("/api/v1/cases", headers=headers).status_code == 401
        assert c.get("/api/v1/cases", headers={"Authorization": "Bearer forged.token"}).status_code == 401
        assert c.get("/api/v1/cases").status_code == 401
