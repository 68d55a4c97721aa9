"""The case page and its actions (confirm, dispute, rectify with photos, review), plus scoped image serving.

Every write goes through the core services (state machine, audit log, notifications); this module only
turns form posts into service calls and service refusals into a clear message on the same page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from cloud_api.db.models import Case, Rectification
from cloud_api.services import cases as case_service
from cloud_api.services import rectification as rect_service
from cloud_api.services.cases import Actor
from cloud_api.services.images import ImageRejected
from cloud_api.services.workflow import State, TransitionError, roles_for
from cloud_api.storage.base import StorageError
from cloud_api.web import reads
from cloud_api.web.auth import CurrentWebUser, Forbidden, WebUser, require_csrf
from cloud_api.web.context import WebContext
from cloud_api.web.i18n import translator
from cloud_api.web.render import render, request_lang

MAX_TEXT = 2000
_STATUS = {"illegal": 409, "forbidden": 403, "reason": 422}
REVIEW_ROLES = roles_for("approve")
# One tap in the kitchen: uploading the photo also confirms and starts the case when it has not been yet;
# each step is still a separate audited transition, and all happen in one transaction or none does.
LEAD_IN = (("acknowledge", State.NOTIFIED), ("start_rectification", State.ACKNOWLEDGED))
RECTIFIABLE = frozenset({State.NOTIFIED, State.ACKNOWLEDGED, State.RECTIFYING})
RECTIFY_ROLES = frozenset({"school_head", "canteen_manager", "admin"})


def build_case_pages(ctx: WebContext, env: Environment) -> APIRouter:
    router = APIRouter()

    def page(request: Request, user: WebUser, case_id: int, status: int = 200, **extra: object) -> Response:
        with ctx.db.session() as s:
            detail = reads.case_detail(s, user, case_id)
        if detail is None:
            return render(ctx, env, request, "error.html", user, status_code=404, message_key="not_found")
        values: dict[str, object] = {"error": None, "draft": "", "done": request.query_params.get("done")}
        values.update(extra)
        return render(
            ctx,
            env,
            request,
            "case.html",
            user,
            status_code=status,
            d=detail,
            actions=reads.allowed_actions(detail.case.state, user.role),
            can_rectify=detail.case.state in RECTIFIABLE and user.role in RECTIFY_ROLES,
            can_review=detail.case.state == State.SUBMITTED and user.role in REVIEW_ROLES,
            **values,
        )

    def guard(request: Request, user: WebUser, csrf: str) -> None:
        if user.role == "parent":
            raise Forbidden()
        require_csrf(request, ctx, user, csrf)

    def actor(user: WebUser) -> Actor:
        return Actor(name=user.display_name, role=user.role, user_id=user.id)

    def load(s: object, user: WebUser, case_id: int) -> Case | None:
        found = reads.list_cases_by_id(s, user, case_id)  # type: ignore[arg-type]
        return None if found is None else found[0]

    def done(case_id: int) -> Response:
        return RedirectResponse(f"/web/cases/{case_id}?done=1", status_code=303)

    def refused(request: Request, user: WebUser, case_id: int, exc: Exception, draft: str = "") -> Response:
        status = _STATUS.get(getattr(exc, "kind", ""), 409 if isinstance(exc, StaleDataError) else 400)
        if isinstance(exc, StorageError):
            status = 503
        return page(request, user, case_id, status=status, error=str(exc), draft=draft)

    @router.get("/cases/{case_id}", include_in_schema=False)
    def case_page(request: Request, user: CurrentWebUser, case_id: int) -> Response:
        return page(request, user, case_id)

    @router.post("/cases/{case_id}/action", include_in_schema=False)
    def case_action(
        request: Request,
        user: CurrentWebUser,
        case_id: int,
        action: Annotated[str, Form(max_length=32)],
        csrf: Annotated[str, Form()] = "",
        reason: Annotated[str, Form(max_length=MAX_TEXT)] = "",
    ) -> Response:
        guard(request, user, csrf)
        try:
            with ctx.db.session() as s:
                case = load(s, user, case_id)
                if case is None:
                    return page(request, user, case_id)
                case_service.transition(s, case, action, actor(user), reason.strip(), ctx.notifier)
        except (TransitionError, StaleDataError) as exc:
            return refused(request, user, case_id, exc, reason)
        return done(case_id)

    @router.post("/cases/{case_id}/rectify", include_in_schema=False)
    async def case_rectify(
        request: Request,
        user: CurrentWebUser,
        case_id: int,
        photos: Annotated[list[UploadFile], File()] = [],  # noqa: B006  (FastAPI reads the default, never mutates)
        text: Annotated[str, Form(max_length=MAX_TEXT)] = "",
        csrf: Annotated[str, Form()] = "",
    ) -> Response:
        guard(request, user, csrf)
        limit = ctx.config.rectification.max_photo_bytes + 1
        files = [(p.filename or "", await p.read(limit)) for p in photos if p.filename or p.size]
        try:
            if not text.strip():
                raise TransitionError("reason", translate_need(request, "rect_need_text"))
            if not files:
                raise ImageRejected(translate_need(request, "rect_need_photo"))
            cleaned = rect_service.prepare_photos(files, ctx.config.rectification)
            with ctx.db.session() as s:
                case = load(s, user, case_id)
                if case is None:
                    return page(request, user, case_id)
                who = actor(user)
                for step, before in LEAD_IN:
                    if case.state == before:
                        case_service.transition(s, case, step, who, "", ctx.notifier)
                rect_service.submit(s, case, who, text.strip(), cleaned, ctx.storage, ctx.notifier)
        except (TransitionError, ImageRejected, StaleDataError, StorageError) as exc:
            return refused(request, user, case_id, exc, text)
        return done(case_id)

    @router.post("/cases/{case_id}/review", include_in_schema=False)
    def case_review(
        request: Request,
        user: CurrentWebUser,
        case_id: int,
        decision: Annotated[str, Form(pattern="^(approve|reject)$")],
        csrf: Annotated[str, Form()] = "",
        reason: Annotated[str, Form(max_length=MAX_TEXT)] = "",
    ) -> Response:
        guard(request, user, csrf)
        try:
            with ctx.db.session() as s:
                case = load(s, user, case_id)
                if case is None:
                    return page(request, user, case_id)
                rect = s.scalar(
                    select(Rectification).where(Rectification.case_id == case_id).order_by(Rectification.id.desc())
                )
                if rect is None:
                    raise TransitionError("illegal", "no rectification to review")
                rect_service.review(s, case, rect, actor(user), decision == "approve", reason.strip(), ctx.notifier)
        except (TransitionError, StaleDataError) as exc:
            return refused(request, user, case_id, exc, reason)
        return done(case_id)

    @router.get("/media/evidence/{evidence_id}", include_in_schema=False)
    def evidence_image(user: CurrentWebUser, evidence_id: int) -> Response:
        with ctx.db.session() as s:
            found = reads.evidence_blob_key(s, user, evidence_id)
        return blob(found)

    @router.get("/media/photo/{photo_id}", include_in_schema=False)
    def photo_image(user: CurrentWebUser, photo_id: int, thumb: bool = False) -> Response:
        with ctx.db.session() as s:
            found = reads.photo_blob_key(s, user, photo_id, thumb)
        return blob(found)

    def blob(found: tuple[str, str] | None) -> Response:
        if found is None:
            return Response(status_code=404)
        try:
            data = ctx.storage.get(found[0])
        except KeyError:
            return Response(status_code=404)
        except StorageError:
            return Response(status_code=503)
        return Response(data, media_type=found[1], headers={"Cache-Control": "private, max-age=3600"})

    return router


def translate_need(request: Request, key: str) -> str:
    return translator(request_lang(request))(key)
