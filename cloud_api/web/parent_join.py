"""The parent's join page (``/web/join?code=…``, the invite QR's target): redeem the code, then sign in.

Input is checked by the API's own ``RedeemIn`` model and redeemed by ``parents.redeem_invite`` (one
transaction: a refusal creates nothing and leaves the code unused); bad codes count against the client
address exactly as on the API, so the page is no easier to brute-force.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from jinja2 import Environment
from pydantic import ValidationError

from cloud_api.api.routes.people import RedeemIn
from cloud_api.db.base import utcnow
from cloud_api.errors import ApiError
from cloud_api.people import accounts, parents
from cloud_api.people.accounts import LoginLocked
from cloud_api.web.context import WebContext
from cloud_api.web.render import render

FIELD_KEYS = {
    "code": "join_bad_code",
    "username": "join_bad_username",
    "password": "join_password_short",
    "display_name": "join_bad_name",
}
STATUS_KEYS = {400: "join_bad_code", 409: "join_username_taken", 410: "join_code_cancelled"}


def build_join_page(ctx: WebContext, env: Environment) -> APIRouter:
    router = APIRouter()

    def form_page(request: Request, code: str, status: int = 200, error: str | None = None, **kept: str) -> Response:
        values = {"display_name": "", "username": ""} | kept
        return render(ctx, env, request, "join.html", None, status_code=status, error=error, code=code, **values)

    @router.get("/join", include_in_schema=False)
    def join_form(request: Request, code: str = "") -> Response:
        code = code.strip()[:64]
        return form_page(request, code, error=None if code else "join_missing_code")

    @router.post("/join", include_in_schema=False)
    def join_submit(
        request: Request,
        code: Annotated[str, Form(max_length=256)] = "",
        display_name: Annotated[str, Form(max_length=1000)] = "",
        username: Annotated[str, Form(max_length=1000)] = "",
        password: Annotated[str, Form(max_length=1000)] = "",
        password2: Annotated[str, Form(max_length=1000)] = "",
    ) -> Response:
        code, name, login = code.strip()[:64], display_name.strip(), username.strip()
        kept = {"display_name": name[:128], "username": login[:64]}
        if not name:
            return form_page(request, code, 422, "join_need_name", **kept)
        if password != password2:
            return form_page(request, code, 422, "join_password_mismatch", **kept)
        try:
            body = RedeemIn(code=code, username=login, password=password, display_name=name)
        except ValidationError as exc:
            loc = exc.errors()[0]["loc"]
            return form_page(request, code, 422, FIELD_KEYS.get(str(loc[0]) if loc else "", "bad_request"), **kept)
        ip = request.client.host if request.client else "unknown"
        ip_key = [f"invite-ip:{ip}"]  # the API's key: one budget of bad codes per address for both
        now = utcnow()
        try:
            with ctx.db.session() as s:
                accounts.check_lock(s, ip_key, now)
        except LoginLocked:
            return form_page(request, code, 429, "join_locked", **kept)
        try:
            with ctx.db.session() as s:
                user, _grant = parents.redeem_invite(s, body.code, body.username, body.password, body.display_name, now)
                issued = accounts.open_session(
                    s, user, "web", ctx.people.session, ip=ip, user_agent=request.headers.get("user-agent", "")
                )
        except HTTPException as exc:
            if exc.status_code == 400:
                with ctx.db.session() as s:
                    accounts.record_failure(s, ip_key, now, ctx.people.lockout)
            return form_page(request, code, exc.status_code, STATUS_KEYS.get(exc.status_code, "bad_request"), **kept)
        except ApiError as exc:  # 410: the school cancelled this invite (a real code, so not counted as a guess)
            return form_page(request, code, exc.status, STATUS_KEYS.get(exc.status, "bad_request"), **kept)
        response = RedirectResponse("/web/parent", status_code=303)
        secure = request.url.scheme == "https"
        max_age = ctx.people.session.ttl_minutes * 60
        cookies = ctx.people.session
        response.set_cookie(
            cookies.cookie_name, issued.token, max_age=max_age, httponly=True, samesite="lax", secure=secure
        )
        response.set_cookie(
            cookies.csrf_cookie_name, issued.csrf or "", max_age=max_age, samesite="strict", secure=secure
        )
        return response

    return router
