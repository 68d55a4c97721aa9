"""Role home pages, devices, account and the login form. Thin: each handler reads a view model and renders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from jinja2 import Environment

from cloud_api.db.models import District, School
from cloud_api.services.notifier import RECIPIENTS
from cloud_api.web import devices as device_reads
from cloud_api.web import reads
from cloud_api.web.auth import CurrentWebUser, Forbidden, WebUser, log_in, log_out
from cloud_api.web.context import WebContext
from cloud_api.web.i18n import translator
from cloud_api.web.overview import Overview, SchoolOverview, build_overview, school_overview
from cloud_api.web.parent import parent_view
from cloud_api.web.render import Names, render, request_lang

REPORT_LINKS: tuple[tuple[str, str], ...] = (
    ("daily", "report_daily"),
    ("weekly", "report_weekly"),
    ("monthly", "report_monthly"),
)

# Alert kinds the realtime stream sends (the core's notification kinds); any of them refreshes the case list.
SSE_EVENTS = tuple(sorted(RECIPIENTS))

HOME_BY_ROLE = {
    "admin": "/web/regulator",
    "regulator": "/web/regulator",
    "school_head": "/web/school",
    "canteen_manager": "/web/school",
    "parent": "/web/parent",
}


def need_role(user: WebUser, *roles: str) -> None:
    if user.role not in roles:
        raise Forbidden()


def chart_data(ov: Overview | SchoolOverview, names: Names) -> dict[str, object]:
    """What app.js feeds to ECharts: category shares and the daily new/closed trend (local dates)."""
    t = names.t
    return {
        "categories": [{"name": names.category(c.key), "value": c.total} for c in ov.categories if c.total],
        "trend": {
            "labels": [p.start.strftime("%m-%d") for p in ov.trend],
            "series": [
                {"name": t("chart_new"), "data": [p.total for p in ov.trend]},
                {"name": t("chart_closed"), "data": [p.closed for p in ov.trend]},
            ],
        },
    }


def build_pages(ctx: WebContext, env: Environment) -> APIRouter:
    router = APIRouter()

    @router.get("/login", include_in_schema=False)
    def login_form(request: Request) -> Response:
        return render(ctx, env, request, "login.html", None, error=None, username="")

    @router.post("/login", include_in_schema=False)
    def login_submit(
        request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = ""
    ) -> Response:
        ip = request.client.host if request.client else ""
        result = log_in(ctx, username[:64], password[:256], ip, request.headers.get("user-agent", ""))
        if result.error or result.token is None:
            return render(
                ctx, env, request, "login.html", None, status_code=401, error=result.error, username=username[:64]
            )
        response = RedirectResponse("/web/", status_code=303)
        secure = request.url.scheme == "https"
        max_age = ctx.people.session.ttl_minutes * 60
        response.set_cookie(
            ctx.people.session.cookie_name, result.token, max_age=max_age, httponly=True, samesite="lax", secure=secure
        )
        response.set_cookie(
            ctx.people.session.csrf_cookie_name, result.csrf or "", max_age=max_age, samesite="strict", secure=secure
        )
        return response

    @router.post("/logout", include_in_schema=False)
    def logout(request: Request, user: CurrentWebUser) -> Response:
        log_out(ctx, user)
        response = RedirectResponse("/web/login", status_code=303)
        response.delete_cookie(ctx.people.session.cookie_name)
        response.delete_cookie(ctx.people.session.csrf_cookie_name)
        return response

    @router.get("/", include_in_schema=False)
    def home(user: CurrentWebUser) -> Response:
        return RedirectResponse(HOME_BY_ROLE.get(user.role, "/web/account"), status_code=303)

    @router.get("/regulator", include_in_schema=False)
    def regulator_home(request: Request, user: CurrentWebUser) -> Response:
        need_role(user, "regulator", "admin")
        now = ctx.now()
        with ctx.db.session() as s:
            overview = build_overview(s, user, now, ctx.config.interview)
            overdue = reads.list_cases(s, user, open_only=True, overdue_at=now, limit=20)
            district = s.get(District, user.district_id) if user.district_id else None
            district_name = district.name if district else ""
        names = Names(translator(request_lang(request)), ctx.taxonomy)
        return render(
            ctx,
            env,
            request,
            "regulator.html",
            user,
            ov=overview,
            overdue=overdue,
            district_name=district_name,
            chart_data=chart_data(overview, names),
            config_interview=ctx.config.interview,
            report_links=REPORT_LINKS,
        )

    @router.get("/school", include_in_schema=False)
    def school_home(request: Request, user: CurrentWebUser) -> Response:
        need_role(user, "school_head", "canteen_manager")
        now = ctx.now()
        with ctx.db.session() as s:
            so = school_overview(s, user, now)
            open_cases = reads.list_cases(s, user, open_only=True, limit=100)
            closed = reads.list_cases(s, user, open_only=False, limit=10)
            school = s.get(School, user.school_id)
            school_name = school.name if school else ""
        return render(
            ctx,
            env,
            request,
            "school.html",
            user,
            totals=so.totals,
            cameras=so.cameras,
            chart_data=chart_data(so, Names(translator(request_lang(request)), ctx.taxonomy)),
            open_cases=open_cases,
            closed=closed,
            school_name=school_name,
            sse_events=SSE_EVENTS,
        )

    @router.get("/school/open-cases", include_in_schema=False)
    def school_open_cases(request: Request, user: CurrentWebUser) -> Response:
        """The htmx partial of the school page (refreshed on a timer and on realtime events)."""
        need_role(user, "school_head", "canteen_manager")
        with ctx.db.session() as s:
            open_cases = reads.list_cases(s, user, open_only=True, limit=100)
        return render(ctx, env, request, "partials/open_cases.html", user, open_cases=open_cases, sse_events=SSE_EVENTS)

    @router.get("/devices", include_in_schema=False)
    def devices_page(request: Request, user: CurrentWebUser) -> Response:
        need_role(user, "regulator", "admin", "school_head", "canteen_manager")
        with ctx.db.session() as s:
            devices = device_reads.list_devices(s, user)
        return render(ctx, env, request, "devices.html", user, devices=devices)

    @router.get("/account", include_in_schema=False)
    def account_page(request: Request, user: CurrentWebUser) -> Response:
        with ctx.db.session() as s:
            school = s.get(School, user.school_id) if user.school_id else None
            district = s.get(District, user.district_id) if user.district_id else None
            scope_name = school.name if school else (district.name if district else "")
        channels = [c.name for c in ctx.people.push.channels]
        return render(ctx, env, request, "account.html", user, scope_name=scope_name, channels=channels)

    @router.get("/parent", include_in_schema=False)
    def parent_page(request: Request, user: CurrentWebUser) -> Response:
        need_role(user, "parent")
        with ctx.db.session() as s:
            view = parent_view(s, user, ctx.now(), ctx.people.parents)
        return render(ctx, env, request, "parent.html", user, pv=view)

    return router
