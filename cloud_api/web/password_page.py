"""``/web/account/password``: every signed-in user (parents too) changes their own password.

The form posts with the session's CSRF value; the change itself is the people service the API's
``POST /api/v1/auth/password`` calls, so the rule, the lockout and the ending of other sessions are the same.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from jinja2 import Environment

from cloud_api.people.accounts import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from cloud_api.web.auth import CurrentWebUser, WebUser, change_password, require_csrf
from cloud_api.web.context import WebContext
from cloud_api.web.render import render

ERROR_STATUS = {"pw_wrong_current": 403, "login_locked": 429}


def build_password_page(ctx: WebContext, env: Environment) -> APIRouter:
    router = APIRouter()

    def page(request: Request, user: WebUser, status: int = 200, error: str | None = None) -> Response:
        done = request.query_params.get("done") == "1" and error is None
        return render(
            ctx,
            env,
            request,
            "password.html",
            user,
            status_code=status,
            error=error,
            done=done,
            min_length=PASSWORD_MIN_LENGTH,
            max_length=PASSWORD_MAX_LENGTH,
        )

    @router.get("/account/password", include_in_schema=False)
    def password_form(request: Request, user: CurrentWebUser) -> Response:
        return page(request, user)

    @router.post("/account/password", include_in_schema=False)
    def password_submit(
        request: Request,
        user: CurrentWebUser,
        csrf: Annotated[str, Form()] = "",
        current_password: Annotated[str, Form(max_length=1000)] = "",
        new_password: Annotated[str, Form(max_length=1000)] = "",
        new_password2: Annotated[str, Form(max_length=1000)] = "",
    ) -> Response:
        require_csrf(request, ctx, user, csrf)
        if not current_password:
            return page(request, user, 422, "pw_need_current")
        if new_password != new_password2:
            return page(request, user, 422, "pw_mismatch")
        ip = request.client.host if request.client else "unknown"
        error = change_password(ctx, user, current_password, new_password, ip)
        if error:
            return page(request, user, ERROR_STATUS.get(error, 422), error)
        return RedirectResponse("/web/account/password?done=1", status_code=303)

    return router
