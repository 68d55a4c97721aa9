"""The parents' invitation flow in the web UI: the school head's ``/web/parents`` page (open cameras, invite,
revoke, audit) and the parent's ``/web/join`` page. Page-level checks run on TestClient against the real hub
app (fast); one real-Chromium test walks the whole flow on a phone viewport."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from cloud_api.db.base import utcnow
from cloud_api.db.models import Camera, Room, User
from cloud_api.db.models.people import CameraLiveSetting, LiveViewAudit, ParentGrant, ParentInvite
from cloud_api.people.config import ParentsConfig
from cloud_api.people.parents import invite_link
from cloud_api.web import WebContext
from tests.web.conftest import PHONE, broker_up, shot
from tests.web.hub import RunningHub, build_hub
from tests.web.seed import PASSWORD

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

NEW_PW = "parent-pass-123"
CODE_RE = re.compile(r'id="invite-code">(MCI-[A-Za-z0-9_-]+)<')


@pytest.fixture(scope="module")
def app_ctx(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, WebContext]:
    """Own hub: school A also gets a camera in a washroom (a privacy area that must never open)."""
    app, ctx, _seed = build_hub(tmp_path_factory.mktemp("hub"), live=False)
    with ctx.db.session() as s:
        s.add(Room(id="s-a-wc", canteen_id="s-a-ct", school_id="s-a", name="员工卫生间", room_type="washroom"))
        s.flush()
        s.add(Camera(id="s-a-wc-cam1", school_id="s-a", room_id="s-a-wc", device_id="edge-s-a", name="卫生间门口"))
    return app, ctx


@pytest.fixture
def ctx(app_ctx: tuple[Any, WebContext]) -> WebContext:
    return app_ctx[1]


@pytest.fixture
def client_for(app_ctx: tuple[Any, WebContext]) -> Iterator[Callable[[str | None], TestClient]]:
    """``client_for(username)`` -> a TestClient signed in on the web (``None``: signed out); own cookie jar."""
    with ExitStack() as stack:

        def make(username: str | None) -> TestClient:
            c = stack.enter_context(TestClient(app_ctx[0]))
            if username:
                r = c.post("/web/login", data={"username": username, "password": PASSWORD}, follow_redirects=False)
                assert r.status_code == 303, r.text
            return c

        yield make


def csrf(c: TestClient) -> str:
    return str(c.cookies["mc_csrf"])


def count(ctx: WebContext, model: Any, *where: Any) -> int:
    with ctx.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def error_key(html: str) -> str | None:
    found = re.search(r'data-error="([a-z_]+)"', html)
    return found.group(1) if found else None


def new_invite(c: TestClient, **form: Any) -> str:
    r = c.post("/web/parents/invites", data={"csrf": csrf(c), **form})
    assert r.status_code == 201, r.text
    found = CODE_RE.search(r.text)
    assert found, "no invite code on the page"
    return found.group(1)


def join(c: TestClient, code: str, username: str, over: dict[str, str] | None = None) -> Any:
    data = {"code": code, "display_name": "王同学妈妈", "username": username, "password": NEW_PW, "password2": NEW_PW}
    data.update(over or {})
    return c.post("/web/join", data=data, follow_redirects=False)


# -- who may use the head's page ------------------------------------------------------------------------
def test_only_a_school_head_opens_the_parents_page(client_for: Callable[[str | None], TestClient]) -> None:
    head = client_for("head_a")
    assert head.get("/web/parents").status_code == 200
    assert 'href="/web/parents"' in head.get("/web/school").text  # the head's navigation links to it
    for username in ("mgr_a", "parent_a", "reg"):
        c = client_for(username)
        assert c.get("/web/parents").status_code == 403, username
        assert 'href="/web/parents"' not in c.get("/web/account").text
        for path in ("/web/parents/invites", "/web/parents/cameras/s-a-cook-cam1", "/web/parents/grants/1/revoke"):
            assert c.post(path, data={"csrf": csrf(c)}).status_code == 403, (username, path)
    anon = client_for(None)
    r = anon.get("/web/parents", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/web/login"


def test_each_head_sees_only_their_school(client_for: Callable[[str | None], TestClient]) -> None:
    page_a = client_for("head_a").get("/web/parents").text
    page_b = client_for("head_b").get("/web/parents").text
    assert 'data-camera="s-a-cook-cam1"' in page_a and 'data-camera="s-b-cook-cam1"' not in page_a
    assert 'data-camera="s-b-cook-cam1"' in page_b and 'data-camera="s-a-cook-cam1"' not in page_b
    assert "刘家长" in page_a and "刘家长" not in page_b  # the seeded grant of school A


def test_head_of_school_b_cannot_revoke_school_a_grant(
    ctx: WebContext, client_for: Callable[[str | None], TestClient]
) -> None:
    head_a, head_b = client_for("head_a"), client_for("head_b")
    code = new_invite(head_a, label="revoke test", grant_days="7")
    parent = client_for(None)
    assert join(parent, code, "revoke_me").status_code == 303
    assert parent.get("/web/parent").status_code == 200
    with ctx.db.session() as s:
        grant_id = s.scalars(
            select(ParentGrant.id).join(User, User.id == ParentGrant.user_id).where(User.username == "revoke_me")
        ).one()
    r = head_b.post(f"/web/parents/grants/{grant_id}/revoke", data={"csrf": csrf(head_b)})
    assert r.status_code == 404 and error_key(r.text) == "pa_not_found"
    assert f'data-grant="{grant_id}"' not in r.text
    assert count(ctx, ParentGrant, ParentGrant.id == grant_id, ParentGrant.revoked_at.is_(None)) == 1
    assert head_a.post(f"/web/parents/grants/{grant_id}/revoke", data={}).status_code == 403  # no CSRF
    assert count(ctx, ParentGrant, ParentGrant.id == grant_id, ParentGrant.revoked_at.is_(None)) == 1
    r = head_a.post(f"/web/parents/grants/{grant_id}/revoke", data={"csrf": csrf(head_a)}, follow_redirects=False)
    assert r.status_code == 303
    assert count(ctx, ParentGrant, ParentGrant.id == grant_id, ParentGrant.revoked_at.is_not(None)) == 1
    page = head_a.get(r.headers["location"]).text
    assert f'data-grant="{grant_id}"' not in page and 'id="done"' in page
    assert head_a.post("/web/parents/grants/999999/revoke", data={"csrf": csrf(head_a)}).status_code == 404


# -- cameras ---------------------------------------------------------------------------------------------
def test_camera_settings_refuse_privacy_areas_and_other_schools(
    ctx: WebContext, client_for: Callable[[str | None], TestClient]
) -> None:
    head = client_for("head_a")
    token = csrf(head)
    # the room is a washroom: refused whatever area type the head picks
    r = head.post("/web/parents/cameras/s-a-wc-cam1", data={"csrf": token, "viewable": "on", "area_type": "kitchen"})
    assert r.status_code == 422 and error_key(r.text) == "pa_forbidden_area"
    assert "隐私区域" in r.text
    # the head says this camera films a changing room: refused too, and nothing stored
    r = head.post(
        "/web/parents/cameras/s-a-prep-cam1", data={"csrf": token, "viewable": "on", "area_type": "changing_room"}
    )
    assert r.status_code == 422 and error_key(r.text) == "pa_forbidden_area"
    assert count(ctx, CameraLiveSetting, CameraLiveSetting.camera_id.in_(["s-a-wc-cam1", "s-a-prep-cam1"])) == 0
    r = head.post("/web/parents/cameras/s-a-prep-cam1", data={"csrf": token, "viewable": "on", "area_type": "Bad!"})
    assert r.status_code == 422 and error_key(r.text) == "pa_bad_area"
    r = head.post("/web/parents/cameras/s-b-cook-cam1", data={"csrf": token, "viewable": "on", "area_type": "kitchen"})
    assert r.status_code == 404 and error_key(r.text) == "pa_not_found"
    assert count(ctx, CameraLiveSetting, CameraLiveSetting.camera_id == "s-b-cook-cam1") == 0
    r = head.post("/web/parents/cameras/s-a-prep-cam1", data={"viewable": "on", "area_type": "prep"})
    assert r.status_code == 403  # no CSRF
    assert count(ctx, CameraLiveSetting, CameraLiveSetting.camera_id == "s-a-prep-cam1") == 0
    # a good one goes through and the page shows it open; unticking closes it again
    r = head.post("/web/parents/cameras/s-a-prep-cam1", data={"csrf": token, "viewable": "on", "area_type": "prep"})
    assert r.status_code == 200 and 'id="done"' in r.text
    row = re.search(r'data-camera="s-a-prep-cam1">.*?data-visible="(yes|no)"', r.text, re.S)
    assert row and row.group(1) == "yes"
    r = head.post("/web/parents/cameras/s-a-prep-cam1", data={"csrf": token, "area_type": "prep"})
    row = re.search(r'data-camera="s-a-prep-cam1">.*?data-visible="(yes|no)"', r.text, re.S)
    assert row and row.group(1) == "no"
    with ctx.db.session() as s:
        setting = s.get(CameraLiveSetting, "s-a-prep-cam1")
        assert setting is not None and not setting.parent_viewable and setting.updated_by is not None


# -- invites ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("form", "key"),
    [
        ({"grant_days": "abc"}, "pa_bad_days"),
        ({"grant_days": "0"}, "pa_bad_days"),
        ({"grant_days": "400"}, "pa_bad_days"),
        ({"label": "x" * 200}, "pa_bad_label"),
        ({"camera_ids": "s-a-wc-cam1"}, "pa_bad_cameras"),  # a washroom, never viewable
        ({"camera_ids": "s-a-prep-cam1"}, "pa_bad_cameras"),  # not opened to parents
        ({"camera_ids": "s-b-cook-cam1"}, "pa_bad_cameras"),  # another school's
    ],
)
def test_bad_invite_input_is_refused_and_creates_nothing(
    ctx: WebContext, client_for: Callable[[str | None], TestClient], form: dict[str, str], key: str
) -> None:
    head = client_for("head_a")
    before = count(ctx, ParentInvite)
    r = head.post("/web/parents/invites", data={"csrf": csrf(head), "label": "三年级", **form})
    assert r.status_code == 422 and error_key(r.text) == key
    assert count(ctx, ParentInvite) == before
    assert "MCI-" not in r.text


def test_invite_needs_csrf(ctx: WebContext, client_for: Callable[[str | None], TestClient]) -> None:
    head = client_for("head_a")
    before = count(ctx, ParentInvite)
    assert head.post("/web/parents/invites", data={"label": "x"}).status_code == 403
    assert head.post("/web/parents/invites", data={"label": "x", "csrf": "forged"}).status_code == 403
    assert count(ctx, ParentInvite) == before


def test_invite_shows_code_qr_and_a_link_the_hub_serves(
    ctx: WebContext, client_for: Callable[[str | None], TestClient]
) -> None:
    head = client_for("head_a")
    r = head.post(
        "/web/parents/invites",
        data={"csrf": csrf(head), "label": "三年级二班", "grant_days": "14", "camera_ids": "s-a-cook-cam1"},
    )
    assert r.status_code == 201
    code = CODE_RE.search(r.text)
    assert code
    link = invite_link(ctx.people.parents, code.group(1))
    assert link.endswith(f"/web/join?code={code.group(1)}") and f'href="{link}"' in r.text
    assert re.search(r'class="qr"[^>]*>\s*<\?xml[^>]*>\s*<svg|class="qr"[^>]*>\s*<svg', r.text)
    with ctx.db.session() as s:
        row = s.scalars(select(ParentInvite).order_by(ParentInvite.id.desc())).first()
        assert row is not None and row.grant_days == 14 and row.camera_ids == ["s-a-cook-cam1"]
        assert row.label == "三年级二班" and code.group(1) not in row.code_sha256  # stored hashed only
    # the QR's path is a real page: the join form with the code filled in
    page = client_for(None).get(link.split("127.0.0.1:8000", 1)[-1])
    assert page.status_code == 200 and f'value="{code.group(1)}"' in page.text


def test_invite_link_points_at_the_web_join_page() -> None:
    cfg = ParentsConfig(public_base_url="https://mingchu.example.org/")
    assert invite_link(cfg, "MCI-abc") == "https://mingchu.example.org/web/join?code=MCI-abc"


# -- the parent's join page ------------------------------------------------------------------------------
def test_join_refuses_bad_input_creates_nothing_and_keeps_the_code(
    ctx: WebContext, client_for: Callable[[str | None], TestClient]
) -> None:
    head = client_for("head_a")
    code = new_invite(head, label="join test")
    parent = client_for(None)
    assert error_key(parent.get("/web/join").text) == "join_missing_code"
    users = count(ctx, User)
    cases: list[tuple[dict[str, str], str, int]] = [
        ({"password2": NEW_PW + "x"}, "join_password_mismatch", 422),
        ({"password": "short", "password2": "short"}, "join_password_short", 422),
        ({"username": "no spaces!"}, "join_bad_username", 422),
        ({"username": "ab"}, "join_bad_username", 422),
        ({"display_name": "  "}, "join_need_name", 422),
        ({"display_name": "名" * 200}, "join_bad_name", 422),
        ({"username": "head_a"}, "join_username_taken", 409),
        ({"code": "MCI-unknown-code-123"}, "join_bad_code", 400),
        ({"code": "x"}, "join_bad_code", 422),
    ]
    for over, key, status in cases:
        r = join(parent, code, "new_parent_1", over)
        assert (r.status_code, error_key(r.text)) == (status, key), over
        assert "mc_session" not in parent.cookies
        if "username" not in over:
            assert 'value="new_parent_1"' in r.text  # what was typed is kept (never the password)
        assert NEW_PW not in r.text
    assert count(ctx, User) == users
    assert count(ctx, ParentInvite, ParentInvite.used_at.is_not(None), ParentInvite.label == "join test") == 0
    # the same code still works after all that
    r = join(parent, code, "new_parent_1")
    assert r.status_code == 303 and r.headers["location"] == "/web/parent"
    assert count(ctx, User) == users + 1
    home = parent.get("/web/parent")
    assert home.status_code == 200 and "王同学妈妈" in home.text and "江北实验小学" in home.text
    # used once: the next person gets a clear message and nothing is created
    other = client_for(None)
    r = join(other, code, "new_parent_2")
    assert r.status_code == 400 and error_key(r.text) == "join_bad_code"
    assert count(ctx, User) == users + 1


def test_join_refuses_an_expired_code(ctx: WebContext, client_for: Callable[[str | None], TestClient]) -> None:
    code = new_invite(client_for("head_a"), label="expired test")
    with ctx.db.session() as s:
        row = s.scalars(select(ParentInvite).where(ParentInvite.label == "expired test")).one()
        row.expires_at = utcnow() - timedelta(minutes=1)
    users = count(ctx, User)
    r = join(client_for(None), code, "late_parent")
    assert r.status_code == 400 and error_key(r.text) == "join_bad_code"
    assert count(ctx, User) == users


def test_pages_speak_english_too(client_for: Callable[[str | None], TestClient]) -> None:
    head = client_for("head_a")
    assert "<h1>Parents&#39; live view</h1>" in head.get("/web/parents?lang=en").text
    assert "Parent sign-up" in client_for(None).get("/web/join?code=MCI-x&lang=en").text
    assert "家长注册" in client_for(None).get("/web/join?code=MCI-x").text


def test_audit_lists_who_watched_what_in_own_school(
    ctx: WebContext, client_for: Callable[[str | None], TestClient]
) -> None:
    start = utcnow() - timedelta(minutes=10)
    with ctx.db.session() as s:  # rows as the live socket writes them
        s.add(
            LiveViewAudit(
                username="watcher_a",
                role="parent",
                school_id="s-a",
                camera_id="s-a-cook-cam1",
                started_at=start,
                ended_at=start + timedelta(seconds=125),
                end_reason="closed",
            )
        )
        s.add(LiveViewAudit(username="watcher_b", role="parent", school_id="s-b", camera_id="s-b-cook-cam1"))
    page_a = client_for("head_a").get("/web/parents").text
    audit_a = page_a.split('id="audit"', 1)[1]
    assert "watcher_a" in audit_a and "烹饪间 1 号" in audit_a and "2 分 5 秒" in audit_a
    assert "watcher_b" not in page_a
    audit_b = client_for("head_b").get("/web/parents").text.split('id="audit"', 1)[1]
    assert "watcher_b" in audit_b and "观看中" in audit_b and "watcher_a" not in audit_b


# -- real Chromium -----------------------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.mqtt
def test_head_invites_parent_joins_then_loses_access(hub: RunningHub, browser: Any, open_as: Any) -> None:
    """The parent page lists cameras only when live view runs, which needs the broker."""
    if not broker_up():
        pytest.skip("Mosquitto is not running at 127.0.0.1:1883")
    head = open_as("head_a", PHONE)
    head.on("dialog", lambda d: d.accept())
    head.click("nav a[href='/web/parents']")
    row = head.locator("tr[data-camera=s-a-prep-cam1]")
    assert row.locator("[data-visible]").get_attribute("data-visible") == "no"
    row.locator("input[name=viewable]").check()
    row.locator("select[name=area_type]").select_option("prep")
    row.locator("button[type=submit]").click()
    head.wait_for_selector("#done")
    assert head.locator("tr[data-camera=s-a-prep-cam1] [data-visible]").get_attribute("data-visible") == "yes"
    try:
        head.fill("#invite input[name=label]", "三年级二班 家长代表")
        head.check("#invite input[name=camera_ids][value=s-a-prep-cam1]")
        head.fill("#invite input[name=grant_days]", "30")
        head.click("#invite button[type=submit]")
        head.wait_for_selector("#new-invite .qr svg")
        code = head.locator("#invite-code").inner_text()
        link = head.locator("#invite-link").get_attribute("href") or ""
        assert code.startswith("MCI-") and link.endswith(f"/web/join?code={code}")
        shot(head, "parents-invite-phone.png")

        context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=hub.url)
        try:
            parent = context.new_page()
            parent.goto(link[link.index("/web/join") :])  # the QR's path on this hub
            assert parent.locator("input[name=code]").input_value() == code
            parent.fill("input[name=display_name]", "王同学妈妈")
            parent.fill("input[name=username]", "wang_mum")
            parent.fill("input[name=password]", NEW_PW)
            parent.fill("input[name=password2]", NEW_PW)
            shot(parent, "parents-join-phone.png")
            parent.fill("input[name=password2]", NEW_PW + "x")  # bad input first: a clear message, nothing made
            parent.click("button[type=submit]")
            assert "两次输入的密码不一致" in parent.locator("[role=alert]").inner_text()
            assert parent.locator("input[name=username]").input_value() == "wang_mum"
            assert not [ck for ck in context.cookies() if ck["name"] == "mc_session"]
            parent.fill("input[name=password]", NEW_PW)
            parent.fill("input[name=password2]", NEW_PW)
            parent.click("button[type=submit]")
            parent.wait_for_url("**/web/parent")
            assert "江北实验小学" in parent.locator("h1").inner_text()
            options = parent.eval_on_selector_all("#live-camera option", "os => os.map(o => o.value)")
            assert options == ["s-a-prep-cam1"]  # just the camera the invite named

            head.goto("/web/parents")
            grant = head.locator("#grants li", has_text="wang_mum")
            assert grant.count() == 1 and "备餐间 1 号" in grant.inner_text()
            grant.locator("button[type=submit]").click()
            head.wait_for_selector("#done")
            assert head.locator("#grants li", has_text="wang_mum").count() == 0

            parent.reload()
            assert parent.locator("#live-camera option").count() == 0
            assert "s-a-prep-cam1" not in parent.content()
        finally:
            context.close()
    finally:
        # leave the shared hub as the seed made it (other browser tests use school A's cameras)
        head.goto("/web/parents")
        row = head.locator("tr[data-camera=s-a-prep-cam1]")
        row.locator("input[name=viewable]").uncheck()
        row.locator("button[type=submit]").click()
        head.wait_for_selector("#done")


def test_join_counts_bad_codes_like_the_api_and_locks_the_address(tmp_path: Any) -> None:
    """Own hub: the lock is per client address, so it must not spill into the other tests."""
    app, ctx, _seed = build_hub(tmp_path, live=False)
    limit = ctx.people.lockout.max_failures
    with TestClient(app) as head, TestClient(app) as parent:
        assert head.post("/web/login", data={"username": "head_a", "password": PASSWORD}).status_code == 200
        code = new_invite(head, label="lock test")
        for i in range(limit):
            r = join(parent, code, "locked_parent", {"code": f"MCI-wrong-guess-{i:03d}"})
            assert r.status_code == 400 and error_key(r.text) == "join_bad_code"
        users = count(ctx, User)
        r = join(parent, code, "locked_parent")  # even the right code waits now
        assert r.status_code == 429 and error_key(r.text) == "join_locked"
        assert count(ctx, User) == users
        # the API shares the budget: its redeem is locked for this address too
        api = parent.post(
            "/api/v1/people/invites/redeem", json={"code": code, "username": "locked_parent", "password": NEW_PW}
        )
        assert api.status_code == 429


def test_malformed_ids_in_paths_change_nothing(ctx: WebContext, client_for: Callable[[str | None], TestClient]) -> None:
    head = client_for("head_a")
    active = count(ctx, ParentGrant, ParentGrant.revoked_at.is_(None))
    assert head.post("/web/parents/grants/abc/revoke", data={"csrf": csrf(head)}).status_code == 422
    r = head.post("/web/parents/cameras/..%2Fetc", data={"csrf": csrf(head), "viewable": "on"})
    assert r.status_code == 404
    assert count(ctx, ParentGrant, ParentGrant.revoked_at.is_(None)) == active
