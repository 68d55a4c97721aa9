"""The school head's parents page (``/web/parents``): open cameras to parents, invite, revoke, read the audit.

Every write calls the people services (``cloud_api.people.parents``) that the API calls, with the API's own
input models, so the privacy rule, scoping and limits are the same; this module only turns form posts into
those calls and their refusals into a message on the same page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from jinja2 import Environment
from pydantic import ValidationError

from cloud_api.api.routes.people import CameraSettingIn, InviteIn
from cloud_api.people import parents
from cloud_api.web import parents_reads as pr
from cloud_api.web.auth import CurrentWebUser, Forbidden, WebUser, require_csrf
from cloud_api.web.context import WebContext
from cloud_api.web.render import render

# Which input field's refusal gets which message (pydantic error location -> message key).
INVITE_FIELD_KEYS = {"grant_days": "pa_bad_days", "label": "pa_bad_label", "camera_ids": "pa_bad_cameras"}
DONE_KEYS = {"camera": "pa_saved", "revoked": "pa_revoked", "invite_cancelled": "pa_invite_cancelled"}


def first_field(exc: ValidationError) -> str:
    errors = exc.errors()
    return str(errors[0]["loc"][0]) if errors and errors[0]["loc"] else ""


def build_parents_admin(ctx: WebContext, env: Environment) -> APIRouter:
    router = APIRouter()
    cfg = ctx.people.parents

    def head_only(user: WebUser) -> str:
        if user.role != "school_head" or not user.school_id:
            raise Forbidden()
        return user.school_id

    def guard(request: Request, user: WebUser, csrf: str) -> str:
        school_id = head_only(user)
        require_csrf(request, ctx, user, csrf)
        return school_id

    def page(request: Request, user: WebUser, status: int = 200, **extra: Any) -> Response:
        school_id = head_only(user)
        with ctx.db.session() as s:
            cameras = pr.list_cameras(s, school_id, cfg)
            grants = pr.active_grants(s, school_id, ctx.now())
            pending = pr.pending_invites(s, school_id, ctx.now())
            audit = pr.live_audit(s, school_id)
        done = DONE_KEYS.get(request.query_params.get("done", ""))
        values: dict[str, Any] = {"error": None, "detail": "", "invite": None, "form": {}, "done": done}
        values.update(extra)
        return render(
            ctx,
            env,
            request,
            "parents_admin.html",
            user,
            status_code=status,
            cameras=cameras,
            grants=grants,
            pending=pending,
            audit=audit,
            areas=pr.area_choices(cfg),
            forbidden_areas=set(cfg.forbidden_area_types),
            default_days=cfg.default_grant_days,
            **values,
        )

    @router.get("/parents", include_in_schema=False)
    def parents_page(request: Request, user: CurrentWebUser) -> Response:
        return page(request, user)

    @router.post("/parents/cameras/{camera_id}", include_in_schema=False)
    def camera_setting(
        request: Request,
        user: CurrentWebUser,
        camera_id: str,
        csrf: Annotated[str, Form()] = "",
        viewable: Annotated[str, Form(max_length=8)] = "",
        area_type: Annotated[str, Form(max_length=64)] = "kitchen",
    ) -> Response:
        guard(request, user, csrf)
        try:
            body = CameraSettingIn(parent_viewable=viewable == "on", area_type=area_type)
        except ValidationError:
            return page(request, user, 422, error="pa_bad_area")
        try:
            with ctx.db.session() as s:
                parents.set_camera_setting(
                    s,
                    pr.principal_of(user),
                    camera_id,
                    cfg,
                    parent_viewable=body.parent_viewable,
                    area_type=body.area_type,
                    max_viewers=None,
                )
        except HTTPException as exc:
            key = "pa_forbidden_area" if exc.status_code == 422 else "pa_not_found"
            return page(request, user, exc.status_code, error=key, detail=str(exc.detail))
        return RedirectResponse("/web/parents?done=camera#cameras", status_code=303)

    @router.post("/parents/invites", include_in_schema=False)
    def invite(
        request: Request,
        user: CurrentWebUser,
        csrf: Annotated[str, Form()] = "",
        label: Annotated[str, Form(max_length=1000)] = "",
        grant_days: Annotated[str, Form(max_length=16)] = "",
        camera_ids: Annotated[list[str] | None, Form()] = None,
    ) -> Response:
        school_id = guard(request, user, csrf)
        form = {"label": label, "grant_days": grant_days, "camera_ids": camera_ids or []}
        try:
            body = InviteIn(
                school_id=school_id,
                camera_ids=camera_ids or None,
                grant_days=int(grant_days) if grant_days.strip() else None,
                label=label.strip(),
            )
        except ValueError as exc:  # a non-number, or the API model's refusal (ValidationError is a ValueError)
            field = first_field(exc) if isinstance(exc, ValidationError) else "grant_days"
            return page(request, user, 422, error=INVITE_FIELD_KEYS.get(field, "bad_request"), form=form)
        try:
            with ctx.db.session() as s:
                row, code = parents.create_invite(
                    s,
                    pr.principal_of(user),
                    school_id,
                    cfg,
                    camera_ids=body.camera_ids,
                    grant_days=body.grant_days,
                    label=body.label,
                )
                link = parents.invite_link(cfg, code)
                shown = {
                    "code": code,
                    "link": link,
                    "qr_svg": parents.qr_svg(link),
                    "expires_at": row.expires_at,
                    "grant_days": row.grant_days,
                    "label": row.label,
                }
        except HTTPException as exc:
            key = "pa_bad_cameras" if exc.status_code == 422 else "pa_not_found"
            return page(request, user, exc.status_code, error=key, detail=str(exc.detail), form=form)
        # Rendered, not redirected: the code exists only in this response (it is stored hashed).
        return page(request, user, 201, invite=shown)

    @router.post("/parents/invites/{invite_id}/cancel", include_in_schema=False)
    def cancel_invite(
        request: Request, user: CurrentWebUser, invite_id: int, csrf: Annotated[str, Form()] = ""
    ) -> Response:
        guard(request, user, csrf)
        try:
            with ctx.db.session() as s:
                parents.cancel_invite(s, pr.principal_of(user), invite_id)
        except HTTPException as exc:
            key = "pa_invite_already_used" if exc.status_code == 409 else "pa_not_found"
            return page(request, user, exc.status_code, error=key)
        return RedirectResponse("/web/parents?done=invite_cancelled#invites", status_code=303)

    @router.post("/parents/grants/{grant_id}/revoke", include_in_schema=False)
    def revoke(request: Request, user: CurrentWebUser, grant_id: int, csrf: Annotated[str, Form()] = "") -> Response:
        guard(request, user, csrf)
        try:
            with ctx.db.session() as s:
                parents.revoke_grant(s, pr.principal_of(user), grant_id)
        except HTTPException as exc:
            return page(request, user, exc.status_code, error="pa_not_found")
        return RedirectResponse("/web/parents?done=revoked#grants", status_code=303)

    return router
