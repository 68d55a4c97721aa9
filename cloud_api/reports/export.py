"""CSV and XLSX downloads of rankings and case lists.

CSV starts with a UTF-8 BOM because Excel on Chinese Windows otherwise reads it as GBK and garbles names.
Values that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from pydantic import BaseModel

from cloud_api.analytics import CaseRow, SchoolRank

BOM = "\ufeff"
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    field: str
    header: str


RANKING_COLUMNS: tuple[Column, ...] = (
    Column("rank", "排名"),
    Column("school_name", "学校"),
    Column("district_name", "区县"),
    Column("cameras", "摄像头数"),
    Column("total", "违规数"),
    Column("rate_per_camera_day", "每路每日违规数"),
    Column("closed", "已闭环"),
    Column("open", "未闭环"),
    Column("overdue", "逾期"),
    Column("closure_rate_pct", "闭环率"),
    Column("on_time_rate_pct", "按期整改率"),
    Column("school_id", "学校编号"),
)

CASE_COLUMNS: tuple[Column, ...] = (
    Column("id", "案件编号"),
    Column("school_name", "学校"),
    Column("class_name", "违规类型"),
    Column("category_name", "类别"),
    Column("severity", "等级"),
    Column("state", "状态"),
    Column("first_seen_local", "发现时间"),
    Column("deadline_local", "整改期限"),
    Column("closed_local", "闭环时间"),
    Column("overdue", "逾期"),
    Column("camera_id", "摄像头"),
)


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "是" if value else "否"
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") and value != "-":
        return "'" + value
    return value


def _rows(items: Sequence[BaseModel], columns: Sequence[Column]) -> list[list[Any]]:
    return [[_cell(getattr(item, c.field)) for c in columns] for item in items]


def to_csv(items: Sequence[BaseModel], columns: Sequence[Column]) -> bytes:
    """CSV bytes with BOM and Chinese headers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in columns])
    writer.writerows(_rows(items, columns))
    return (BOM + out.getvalue()).encode("utf-8")


def to_xlsx(items: Sequence[BaseModel], columns: Sequence[Column], title: str) -> bytes:
    """One-sheet workbook; numbers stay numbers so regulators can sort and sum."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title[:31]
    ws.append([c.header for c in columns])
    for row in _rows(items, columns):
        ws.append(row)
    for i, c in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(10, len(c.header) * 2 + 4)
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def rankings_export(rows: Sequence[SchoolRank], fmt: str) -> tuple[bytes, str]:
    """(body, content type) for ``fmt`` ``csv`` or ``xlsx``."""
    return _export(rows, RANKING_COLUMNS, fmt, "学校排名")


def cases_export(rows: Sequence[CaseRow], fmt: str) -> tuple[bytes, str]:
    return _export(rows, CASE_COLUMNS, fmt, "案件列表")


def _export(rows: Sequence[BaseModel], columns: Sequence[Column], fmt: str, title: str) -> tuple[bytes, str]:
    if fmt == "csv":
        return to_csv(rows, columns), CSV_TYPE
    if fmt == "xlsx":
        return to_xlsx(rows, columns, title), XLSX_TYPE
    raise ValueError(f"unknown export format {fmt!r} (csv or xlsx)")
