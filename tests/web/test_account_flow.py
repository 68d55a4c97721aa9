"""Self-service in the web UI: every role changes their own password on ``/web/account/password`` (linked
from the header), and a school head cancels an unused invite on ``/web/parents`` (the join page then says
it was cancelled). TestClient against the real hub app; one real-Chromium test changes a password."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from sqlalchemy import select

from cloud_api.db.models import User
from cloud_api.db.models.people import AuthSession, ParentInvite
from cloud_api.services.security import hash_password, verify_password
from cloud_api.web import WebContext
from tests.web.conftest import PHONE, shot
from tests.web.hub import RunningHub, build_hub
from tests.web.seed import PASSWORD

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

NEW_PW = "changed-pass-2026"
PARENT_PW = "parent-pass-123"
CODE_RE = re.compile(r'id="invite-code">(MCI-[A-Za-z0-9_-]+)<')
PW_URL = "/web/account/password"


@pytest.fixture(scope="module")
def app_ctx(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, WebContext]:
    app, ctx, _seed = build_hub(tmp_path_factory.mktemp("hub"), live=False)
    return app, ctx


@pytest.fixture
def ctx(app_ctx: tuple[Any, WebContext]) -> WebContext:
    return app_ctx[1]


@pytest.fixture
def client_for(app_ctx: tuple[Any, WebContext]) -> Iterator[Callable[..., TestClient]]:
    """``client_for(username, password)`` -> a TestClient signed in on the web (``None``: signed out)."""
    with ExitStack() as stack:

        def make(username: str | None, password: str = PASSWORD) -> TestClient:
            c = stack.enter_context(TestClient(app_ctx[0]))
            if username:
                r = c.post("/web/login", data={"username": username, "password": password}, follow_redirects=False)
                assert r.status_code == 303, r.text
            return c

        yield make


_made = iter(range(1, 10_000))


def new_user(ctx: WebContext, role: str = "canteen_manager", school: str | None = "s-a") -> str:
    """A user of our own, so changing its password cannot disturb the seeded ones other tests log in as."""
    username = f"pw_{role}_{next(_made)}"
    district = "d-jiangbei" if role == "regulator" else None
    with ctx.db.session() as s:
        s.add(
            User(
                username=username,
                display_name=username,
                password_hash=hash_password(PASSWORD),
                role=role,
                district_id=district,
                school_id=None if role == "regulator" else school,
            )
        )
    return username


def csrf(c: TestClient) -> str:
    return str(c.cookies["mc_csrf"])


def error_key(html: str) -> str | None:
    found = re.search(r'data-error="([a-z_]+)"', html)
    return found.group(1) if found else None


def can_log_in(app: Any, username: str, password: str) -> bool:
    """A real login; only for passwords expected to work (failures would count against the address)."""
    with TestClient(app) as c:
        r = c.post("/web/login", data={"username": username, "password": password}, follow_redirects=False)
        return r.status_code == 303


def password_is(ctx: WebContext, username: str, password: str) -> bool:
    with ctx.db.session() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        return verify_password(user.password_hash, password)


def change(c: TestClient, current: str, new: str, new2: str | None = None, token: str | None = None) -> Any:
    data = {"csrf": csrf(c) if token is None else token, "current_password": current, "new_password": new}
    data["new_password2"] = new if new2 is None else new2
    return c.post(PW_URL, data=data, follow_redirects=False)


# -- change password --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "home"),
    [
        ("school_head", "/web/school"),
        ("canteen_manager", "/web/school"),
        ("regulator", "/web/regulator"),
        ("parent", "/web/parent"),
    ],
)
def test_every_role_reaches_the_page_from_the_header_and_changes_the_password(
    app_ctx: tuple[Any, WebContext], client_for: Callable[..., TestClient], role: str, home: str
) -> None:
    app, ctx = app_ctx
    name = new_user(ctx, role)
    c = client_for(name)
    page = c.get(home)
    assert page.status_code == 200 and f'href="{PW_URL}"' in page.text and "修改密码" in page.text
    form = c.get(PW_URL)
    assert form.status_code == 200 and 'name="current_password"' in form.text and 'name="csrf"' in form.text
    r = change(c, PASSWORD, NEW_PW)
    assert r.status_code == 303 and r.headers["location"] == f"{PW_URL}?done=1"
    assert 'id="done"' in c.get(r.headers["location"]).text
    assert not password_is(ctx, name, PASSWORD) and can_log_in(app, name, NEW_PW)


@pytest.mark.parametrize(
    ("current", "new", "new2", "key", "status"),
    [
        (PASSWORD, NEW_PW, NEW_PW + "x", "pw_mismatch", 422),
        (PASSWORD, "short", "short", "pw_too_short", 422),
        (PASSWORD, "123456789", "123456789", "pw_too_short", 422),
        (PASSWORD, "y" * 300, "y" * 300, "pw_too_long", 422),
        (PASSWORD, PASSWORD, PASSWORD, "pw_unchanged", 422),
        ("not-my-password", NEW_PW, NEW_PW, "pw_wrong_current", 403),
        ("", NEW_PW, NEW_PW, "pw_need_current", 422),
    ],
)
def test_bad_input_says_why_and_changes_nothing(
    ctx: WebContext,
    client_for: Callable[..., TestClient],
    current: str,
    new: str,
    new2: str,
    key: str,
    status: int,
) -> None:
    name = new_user(ctx)
    c = client_for(name)
    r = change(c, current, new, new2)
    assert (r.status_code, error_key(r.text)) == (status, key)
    assert 'role="alert"' in r.text and NEW_PW not in r.text and PASSWORD not in r.text
    assert password_is(ctx, name, PASSWORD)
    if new != PASSWORD:
        assert not password_is(ctx, name, new)
    assert c.get(PW_URL).status_code == 200  # still signed in


def test_wrong_current_password_counts_against_the_login_lockout(tmp_path: Any) -> None:
    """Own hub: the lock also holds the client address, so it must not spill into the other tests."""
    app, ctx, _seed = build_hub(tmp_path, live=False)
    name = new_user(ctx)
    with TestClient(app) as c, TestClient(app) as other:
        assert c.post("/web/login", data={"username": name, "password": PASSWORD}).status_code == 200
        for _ in range(ctx.people.lockout.max_failures):
            assert error_key(change(c, "guess-guess-guess", NEW_PW).text) == "pw_wrong_current"
        r = change(c, PASSWORD, NEW_PW)  # even the right one waits now
        assert r.status_code == 429 and error_key(r.text) == "login_locked"
        assert password_is(ctx, name, PASSWORD)
        # the username is locked for logins too (the login page answers 401 with the lock message)
        r = other.post("/web/login", data={"username": name, "password": PASSWORD})
        assert r.status_code == 401 and "登录失败次数过多" in r.text


def test_change_needs_csrf_and_a_session(ctx: WebContext, client_for: Callable[..., TestClient]) -> None:
    name = new_user(ctx)
    c = client_for(name)
    assert change(c, PASSWORD, NEW_PW, token="").status_code == 403
    assert change(c, PASSWORD, NEW_PW, token="forged").status_code == 403
    anon = client_for(None)
    assert anon.get(PW_URL, follow_redirects=False).headers["location"] == "/web/login"
    r = anon.post(PW_URL, data={"current_password": PASSWORD, "new_password": NEW_PW, "new_password2": NEW_PW})
    assert r.url.path == "/web/login"
    assert password_is(ctx, name, PASSWORD)


def test_other_sessions_end_and_this_one_stays(ctx: WebContext, client_for: Callable[..., TestClient]) -> None:
    name = new_user(ctx, "school_head")
    here, phone = client_for(name), client_for(name)
    assert phone.get("/web/school").status_code == 200
    assert change(here, PASSWORD, NEW_PW).status_code == 303
    assert here.get("/web/school").status_code == 200
    gone = phone.get("/web/school", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"] == "/web/login"
    with ctx.db.session() as s:
        uid = s.scalars(select(User.id).where(User.username == name)).one()
        live = s.scalars(select(AuthSession).where(AuthSession.user_id == uid, AuthSession.revoked_at.is_(None)))
        assert len(live.all()) == 1


def test_password_page_speaks_english(ctx: WebContext, client_for: Callable[..., TestClient]) -> None:
    c = client_for(new_user(ctx, "parent"))
    page = c.get(f"{PW_URL}?lang=en").text
    assert "<h1>Change password</h1>" in page and "Current password" in page
    r = change(c, PASSWORD, NEW_PW, NEW_PW + "x")
    assert "The two new passwords differ" in r.text


# -- cancel an invite -------------------------------------------------------------------------------------
def new_invite(c: TestClient, label: str) -> str:
    r = c.post("/web/parents/invites", data={"csrf": csrf(c), "label": label})
    assert r.status_code == 201, r.text
    found = CODE_RE.search(r.text)
    assert found
    return found.group(1)


def invite_id(ctx: WebContext, label: str) -> int:
    with ctx.db.session() as s:
        return int(s.scalars(select(ParentInvite.id).where(ParentInvite.label == label)).one())


def join(c: TestClient, code: str, username: str) -> Any:
    data = {"code": code, "display_name": "王同学爸爸", "username": username}
    data |= {"password": PARENT_PW, "password2": PARENT_PW}
    return c.post("/web/join", data=data, follow_redirects=False)


def test_head_cancels_an_unused_invite_and_the_join_page_says_so(
    ctx: WebContext, client_for: Callable[..., TestClient]
) -> None:
    head, head_b = client_for("head_a"), client_for("head_b")
    code = new_invite(head, "sent by mistake")
    iid = invite_id(ctx, "sent by mistake")
    page = head.get("/web/parents").text
    pending = page.split('id="invites"', 1)[1].split("</section>", 1)[0]
    assert f'data-invite="{iid}"' in pending and "sent by mistake" in pending and "撤销" in pending
    assert f'data-invite="{iid}"' not in head_b.get("/web/parents").text  # school B does not see it
    # another school's head, no CSRF: refused, and the invite still works
    r = head_b.post(f"/web/parents/invites/{iid}/cancel", data={"csrf": csrf(head_b)})
    assert r.status_code == 404 and error_key(r.text) == "pa_not_found"
    assert head.post(f"/web/parents/invites/{iid}/cancel", data={}).status_code == 403
    assert head.post(f"/web/parents/invites/{iid}/cancel", data={"csrf": "forged"}).status_code == 403
    with ctx.db.session() as s:
        row = s.get(ParentInvite, iid)
        assert row is not None and row.revoked_at is None
    r = head.post(f"/web/parents/invites/{iid}/cancel", data={"csrf": csrf(head)}, follow_redirects=False)
    assert r.status_code == 303
    after = head.get(r.headers["location"]).text
    assert 'id="done"' in after and "已撤销邀请" in after and f'data-invite="{iid}"' not in after
    users = _count_users(ctx)
    r = join(client_for(None), code, "too_late_dad")
    assert r.status_code == 410 and error_key(r.text) == "join_code_cancelled" and "已被学校撤销" in r.text
    assert _count_users(ctx) == users
    assert head.post("/web/parents/invites/999999/cancel", data={"csrf": csrf(head)}).status_code == 404
    assert head.post("/web/parents/invites/abc/cancel", data={"csrf": csrf(head)}).status_code == 422


def test_a_redeemed_invite_cannot_be_cancelled(ctx: WebContext, client_for: Callable[..., TestClient]) -> None:
    head = client_for("head_a")
    code = new_invite(head, "already used")
    iid = invite_id(ctx, "already used")
    assert join(client_for(None), code, "quick_mum").status_code == 303
    assert f'data-invite="{iid}"' not in head.get("/web/parents").text  # used: no longer pending
    r = head.post(f"/web/parents/invites/{iid}/cancel", data={"csrf": csrf(head)})
    assert r.status_code == 409 and error_key(r.text) == "pa_invite_already_used"
    with ctx.db.session() as s:
        row = s.get(ParentInvite, iid)
        assert row is not None and row.revoked_at is None


def test_only_a_school_head_may_post_a_cancel(ctx: WebContext, client_for: Callable[..., TestClient]) -> None:
    code = new_invite(client_for("head_a"), "staff only")
    iid = invite_id(ctx, "staff only")
    for username in ("mgr_a", "parent_a", "reg"):
        c = client_for(username)
        assert c.post(f"/web/parents/invites/{iid}/cancel", data={"csrf": csrf(c)}).status_code == 403, username
    assert join(client_for(None), code, "staff_only_mum").status_code == 303  # still redeemable


def _count_users(ctx: WebContext) -> int:
    with ctx.db.session() as s:
        return len(s.scalars(select(User.id)).all())


# -- real Chromium -----------------------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.slow
def test_user_changes_password_in_the_browser_then_logs_in_with_it(hub: RunningHub, browser: Any) -> None:
    name = new_user(hub.ctx, "canteen_manager")
    context = browser.new_context(viewport=PHONE, locale="zh-CN", base_url=hub.url)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto("/web/login")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/web/school")
        page.click("#change-password")  # the header link
        page.wait_for_url(f"**{PW_URL}")
        # bad input first: a clear message, nothing changed
        page.fill("input[name=current_password]", PASSWORD)
        page.fill("input[name=new_password]", NEW_PW)
        page.fill("input[name=new_password2]", NEW_PW + "x")
        page.click("#password button[type=submit]")
        assert "两次输入的新密码不一致" in page.locator("[role=alert]").inner_text()
        page.fill("input[name=current_password]", PASSWORD)
        page.fill("input[name=new_password]", NEW_PW)
        page.fill("input[name=new_password2]", NEW_PW)
        page.click("#password button[type=submit]")
        page.wait_for_selector("#done")
        assert "密码已修改" in page.locator("#done").inner_text()
        shot(page, "password-phone.png")
        page.click("footer button")  # log out
        page.wait_for_url("**/web/login")

        page.fill("input[name=username]", name)
        page.fill("input[name=password]", PASSWORD)  # the old one no longer works
        page.click("button[type=submit]")
        assert "用户名或密码错误" in page.locator("[role=alert]").inner_text()
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", NEW_PW)
        page.click("button[type=submit]")
        page.wait_for_url("**/web/school")
        assert [ck for ck in context.cookies() if ck["name"] == "mc_session"]
    finally:
        context.close()
