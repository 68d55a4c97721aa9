"""Report downloads for signed-in web users: the analytics area's 日管控/周排查/月调度 reports and the ranking
export, scoped by the cookie session (the REST routes take bearer tokens, which a download link cannot carry)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response
from jinja2 import Environment

from cloud_api.analytics.periods import local_today
from cloud_api.analytics.rankings import rank_schools
from cloud_api.reports import build_report, rankings_export, render_html, report_filename
from cloud_api.web.auth import CurrentWebUser
from cloud_api.web.context import WebContext
from cloud_api.web.overview import scope_of, window
from cloud_api.web.pages import need_role


def build_report_pages(ctx: WebContext, env: Environment) -> APIRouter:
    router = APIRouter()

    @router.get("/reports/{kind}.html", include_in_schema=False)
    def report_html(user: CurrentWebUser, kind: Literal["daily", "weekly", "monthly"]) -> Response:
        need_role(user, "regulator", "admin", "school_head")
        now = ctx.now()
        with ctx.db.session() as s:
            data = build_report(s, kind, local_today(now), scope_of(user), now)
        name = report_filename(data, "html")
        return Response(
            render_html(data),
            media_type="text/html; charset=utf-8",
            headers={"Content-Disposition": f'inline; filename="{name}"'},
        )

    @router.get("/reports/ranking.{fmt}", include_in_schema=False)
    def ranking_export(user: CurrentWebUser, fmt: Literal["csv", "xlsx"]) -> Response:
        need_role(user, "regulator", "admin")
        now = ctx.now()
        with ctx.db.session() as s:
            rows = rank_schools(s, window(now), scope_of(user), now, sort="closure_rate")
        body, content_type = rankings_export(rows, fmt)
        return Response(
            body, media_type=content_type, headers={"Content-Disposition": f'attachment; filename="ranking.{fmt}"'}
        )

    return router
