"""日管控 / 周排查 / 月调度 report downloads as HTML, PDF or JSON, scoped like analytics."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from cloud_api.analytics.periods import DEFAULT_ZONE, local_today
from cloud_api.api.deps import CurrentUser, SessionDep
from cloud_api.api.routes.analytics import download, scope_of
from cloud_api.db.base import utcnow
from cloud_api.errors import ERROR_RESPONSES, ApiError
from cloud_api.reports import PdfError, ReportData, build_report, make_pdf_renderer, render_html, report_filename
from cloud_api.reports.pdf import PdfRenderer
from cloud_api.reports.report import ReportKind

router = APIRouter(prefix="/api/v1/reports", tags=["reports"], responses=ERROR_RESPONSES)


def get_pdf_renderer() -> PdfRenderer:
    """Overridable (``app.dependency_overrides``) so deployments can swap the renderer."""
    return make_pdf_renderer()


@router.get(
    "/{kind}",
    summary="Daily (日管控), weekly (周排查) or monthly (月调度) report",
    response_model=ReportData,
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}}},
)
def report(
    kind: ReportKind,
    user: CurrentUser,
    session: SessionDep,
    renderer: Annotated[PdfRenderer, Depends(get_pdf_renderer)],
    day: Annotated[date | None, Query(description="a local date in the day/week/month (default: today)")] = None,
    format: Literal["html", "pdf", "json"] = "html",
    district_id: Annotated[str | None, Query(max_length=64)] = None,
    school_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response | ReportData:
    scope = scope_of(user, district_id, school_id)
    now = utcnow()
    data = build_report(session, kind, day or local_today(now, DEFAULT_ZONE), scope, now)
    if format == "json":
        return data
    html = render_html(data)
    if format == "html":
        return Response(content=html, media_type="text/html; charset=utf-8")
    try:
        pdf = renderer.render(html)
    except PdfError as exc:
        raise ApiError(503, f"PDF rendering is unavailable: {exc}") from exc
    return download(pdf, "application/pdf", report_filename(data, "pdf"))
