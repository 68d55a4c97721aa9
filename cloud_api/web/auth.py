"""Web login on top of the people area's server-side sessions: HttpOnly session cookie + CSRF double submit.

Pages are plain HTML forms, so the CSRF value travels in a hidden ``csrf`` field (htmx requests send it as
the configured header); both must equal the readable CSRF cookie and hash to the session's secret.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from cloud_api.db.models import User
from cloud_api.people import accounts
from cloud_api.people.accounts import LoginLocked
from cloud_api.web.context import WebContext


@dataclass(frozen=True)
class WebUser:
    """The signed-in user, detached from the database session (safe to hand to templates)."""

    id: int
    username: str
    display_name: str
    role: str
    district_id: str | None
    school_id: str | None
    session_id: int
    csrf_sha256: str | None

    @classmethod
    def of(cls, user: User, session_id: int, csrf_sha256: str | None) -> WebUser:
        return cls(
            user.id,
            user.username,
            user.display_name or user.username,
            str(user.role),
            user.district_id,
            user.school_id,
            session_id,
            csrf_sha256,
        )


class NotSignedIn(Exception):
    """Raised by page dependencies; the app turns it into a redirect to the login page."""


class Forbidden(Exception):
    """Signed in, but this page or object is not for this role (shown as 403, never as someone else's data)."""


def current_user(request: Request, ctx: WebContext) -> WebUser:
    token = request.cookies.get(ctx.people.session.cookie_name)
    if not token:
        raise NotSignedIn()
    with ctx.db.session() as s:
        found = accounts.find_session(s, token)
        if found is None:
            raise NotSignedIn()
        row, user = found
        if row.kind != "web":
            raise NotSignedIn()
        return WebUser.of(user, row.id, row.csrf_sha256)


def require_csrf(request: Request, ctx: WebContext, user: WebUser, form_value: str | None) -> None:
    """Double submit: the form field (or header) equals the CSRF cookie and matches this session's secret;
    otherwise :class:`Forbidden`."""
    cookie = request.cookies.get(ctx.people.session.csrf_cookie_name)
    sent = form_value or request.headers.get(ctx.people.session.csrf_header)
    if not sent or not cookie or user.csrf_sha256 is None:
        raise Forbidden("csrf")
    if not (hmac.compare_digest(sent, cookie) and hmac.compare_digest(accounts.sha256_hex(sent), user.csrf_sha256)):
        raise Forbidden("csrf")


@dataclass(frozen=True)
class LoginResult:
    token: str | None = None
    csrf: str | None = None
    error: str | None = None  # message key


def log_in(ctx: WebContext, username: str, password: str, ip: str, user_agent: str) -> LoginResult:
    if not username.strip() or not password:
        return LoginResult(error="login_missing")
    with ctx.db.session() as s:
        try:
            user = accounts.authenticate(s, username, password, ip, ctx.people.lockout)
        except LoginLocked:
            return LoginResult(error="login_locked")
        if user is None:
            return LoginResult(error="login_failed")
        issued = accounts.open_session(s, user, "web", ctx.people.session, ip=ip, user_agent=user_agent)
        return LoginResult(token=issued.token, csrf=issued.csrf)


# Why a password change was refused (service reason -> message key).
NEW_PASSWORD_KEYS = {"too_short": "pw_too_short", "too_long": "pw_too_long", "unchanged": "pw_unchanged"}


def change_password(ctx: WebContext, user: WebUser, current: str, new: str, ip: str) -> str | None:
    """The people service's password change for this web session; returns a message key when refused.

    A wrong current password counts against the login lockout (committed although the change is refused);
    the other sessions of the user end, this one stays.
    """
    with ctx.db.session() as s:
        try:
            accounts.change_password(s, user.id, user.session_id, current, new, ip, ctx.people.lockout)
        except LoginLocked:
            return "login_locked"
        except accounts.WrongPassword:
            s.commit()
            return "pw_wrong_current"
        except accounts.BadNewPassword as exc:
            s.rollback()
            return NEW_PASSWORD_KEYS.get(exc.reason, "bad_request")
    return None


def log_out(ctx: WebContext, user: WebUser) -> None:
    with ctx.db.session() as s:
        accounts.revoke_session(s, user.session_id)


def web_context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx


def web_user(request: Request) -> WebUser:
    """Page dependency: the signed-in user, or :class:`NotSignedIn` (→ redirect to the login page)."""
    return current_user(request, web_context(request))


CurrentWebUser = Annotated[WebUser, Depends(web_user)]
