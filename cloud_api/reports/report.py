"""日管控 / 周排查 / 月调度 reports: one :class:`ReportData` built from analytics, rendered to HTML (and PDF).

The data is assembled once and only rendered afterwards, so HTML, PDF and JSON always show the same numbers.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_api.analytics import (
    CaseRow,
    GroupStats,
    Period,
    SchoolOnline,
    SchoolRank,
    Scope,
    TrendPoint,
    camera_online_rates,
    closure_table,
    list_cases,
    overall,
    rank_schools,
    trend,
)
from cloud_api.db.models import District, School
from cloud_api.reports.charts import bar_chart, line_chart

ReportKind = Literal["daily", "weekly", "monthly"]
REPORT_KINDS: tuple[ReportKind, ...] = ("daily", "weekly", "monthly")
TITLES: dict[str, str] = {"daily": "日管控报告", "weekly": "周排查报告", "monthly": "月调度报告"}
MAX_OVERDUE_ROWS = 50
_TEMPLATES = Path(__file__).resolve().parent / "templates"


class ReportData(BaseModel):
    kind: ReportKind
    title: str
    scope_name: str
    period_first: date
    period_last: date
    zone: str
    generated_local: str
    summary: GroupStats
    categories: list[GroupStats]
    classes: list[GroupStats]
    trend: list[TrendPoint]
    rankings: list[SchoolRank]
    online: list[SchoolOnline]
    overdue_cases: list[CaseRow]
    overdue_total: int


def report_period(kind: ReportKind, day: date, zone: str) -> tuple[Period, Period]:
    """(reported period, trend period): a day shows the 7 days up to it; weeks and months their own days."""
    if kind == "daily":
        return Period.day(day, zone), Period(day - timedelta(days=6), day, zone)
    if kind == "weekly":
        week = Period.week(day, zone)
        return week, week
    if kind == "monthly":
        month = Period.month(day.year, day.month, zone)
        return month, month
    raise ValueError(f"unknown report kind {kind!r} (daily, weekly or monthly)")


def scope_name(session: Session, scope: Scope) -> str:
    if scope.school_id:
        return session.execute(select(School.name).where(School.id == scope.school_id)).scalar() or scope.school_id
    if scope.district_id:
        name = session.execute(select(District.name).where(District.id == scope.district_id)).scalar()
        return name or scope.district_id
    return "全部辖区"


def build_report(
    session: Session, kind: ReportKind, day: date, scope: Scope, now: datetime, zone: str = "Asia/Shanghai"
) -> ReportData:
    period, trend_period = report_period(kind, day, zone)
    overdue = list_cases(session, period, scope, now, limit=MAX_OVERDUE_ROWS, only_overdue=True)
    return ReportData(
        kind=kind,
        title=TITLES[kind],
        scope_name=scope_name(session, scope),
        period_first=period.first,
        period_last=period.last,
        zone=zone,
        generated_local=now.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M"),
        summary=overall(session, period, scope, now),
        categories=closure_table(session, "category", period, scope, now),
        classes=closure_table(session, "class", period, scope, now),
        trend=trend(session, trend_period, scope, now, "day"),
        rankings=rank_schools(session, period, scope, now, sort="count"),
        online=camera_online_rates(session, period, scope, now),
        overdue_cases=overdue.items,
        overdue_total=overdue.total,
    )


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(_TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(report: ReportData) -> str:
    """Self-contained HTML (inline CSS and SVG, no network) — also the input of the PDF renderer."""
    category_svg = bar_chart(
        [c.name for c in report.categories],
        [c.total for c in report.categories],
        [f"{c.total} 起 · {c.share_pct}" for c in report.categories],
        "违规类别占比",
    )
    trend_svg = line_chart(
        [p.start.strftime("%m-%d") for p in report.trend], [p.total for p in report.trend], "每日违规趋势"
    )
    template = _environment().get_template("report.html")
    return template.render(r=report, category_svg=Markup(category_svg), trend_svg=Markup(trend_svg))


def report_filename(report: ReportData, ext: str) -> str:
    period = report.period_first.isoformat()
    if report.period_last != report.period_first:
        period += f"_{report.period_last.isoformat()}"
    return f"mingchu-{report.kind}-{period}.{ext}"
