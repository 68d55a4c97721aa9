"""Exports, SVG charts and the PDF report (real headless Chromium)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from cloud_api.analytics import Scope, list_cases
from cloud_api.analytics.periods import Period
from cloud_api.reports import build_report, make_pdf_renderer, render_html, report_filename
from cloud_api.reports.charts import bar_chart, line_chart, nice_ceiling
from cloud_api.reports.export import CASE_COLUMNS, cases_export, rankings_export, to_csv, to_xlsx
from tests.analytics.seed import NOW


def test_export_neutralises_formulas_and_keeps_numbers(session: Session) -> None:
    page = list_cases(session, Period.month(2026, 3), Scope.everything(), NOW)
    evil = page.items[0].model_copy(update={"school_name": '=HYPERLINK("x")'})
    body = to_csv([evil], CASE_COLUMNS)
    row = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))[1]
    assert row[1] == '\'=HYPERLINK("x")'
    ws = load_workbook(io.BytesIO(to_xlsx([evil], CASE_COLUMNS, "案件列表"))).active
    assert ws.title == "案件列表"
    assert ws.cell(2, 1).value == evil.id  # stays a number
    assert ws.cell(2, 2).value.startswith("'=")


def test_export_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown export format"):
        rankings_export([], "pdf")
    with pytest.raises(ValueError):
        cases_export([], "txt")
    empty, _ = rankings_export([], "csv")
    assert empty.decode("utf-8-sig").splitlines()[0].startswith("排名,学校")


def test_charts_are_valid_svg_with_chinese_labels() -> None:
    bar = bar_chart(["从业人员个人卫生", "有害生物<&>"], [3, 1], ["3 起 · 75.00%", "1 起 · 25.00%"], "违规类别占比")
    root = ET.fromstring(bar)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "从业人员个人卫生" in texts and "有害生物<&>" in texts
    widths = [float(r.get("width", 0)) for r in root.iter("{http://www.w3.org/2000/svg}rect")]
    assert widths[0] == pytest.approx(3 * widths[1])
    line = ET.fromstring(line_chart(["03-01", "03-02", "03-03"], [1, 2, 0], "趋势"))
    (poly,) = list(line.iter("{http://www.w3.org/2000/svg}polyline"))
    ys = [float(p.split(",")[1]) for p in poly.get("points", "").split()]
    assert ys[1] < ys[0] < ys[2]  # higher value drawn higher
    assert [nice_ceiling(v) for v in (0, 1, 3, 21, 100, 101)] == [1, 1, 3, 30, 100, 200]
    assert "无数据" in bar_chart([], [], [], "空")
    with pytest.raises(ValueError):
        bar_chart(["a"], [1, 2], ["x"], "t")
    with pytest.raises(ValueError):
        line_chart(["a"], [], "t")


def test_report_html_numbers(session: Session) -> None:
    data = build_report(session, "monthly", date(2026, 3, 9), Scope.everything(), NOW)
    html = render_html(data)
    for text in ("月调度报告", "66.67%", "75.00%", "20.0 小时", "从业人员个人卫生", "33.33%", "有害生物侵入"):
        assert text in html
    assert report_filename(data, "pdf") == "mingchu-monthly-2026-03-01_2026-03-31.pdf"
    with pytest.raises(ValueError, match="unknown report kind"):
        build_report(session, "yearly", date(2026, 3, 9), Scope.everything(), NOW)  # type: ignore[arg-type]


@pytest.mark.browser
@pytest.mark.slow
def test_pdf_is_valid_and_has_chinese_title(session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    if session.bind is not None and session.bind.dialect.name != "sqlite":
        pytest.skip("one PDF per run is enough (the renderer does not depend on the database)")
    if not shutil.which("chromium"):
        pytest.skip("chromium is not installed")
    html = render_html(build_report(session, "monthly", date(2026, 3, 9), Scope.everything(), NOW))
    pdf = make_pdf_renderer().render(html)
    assert pdf.startswith(b"%PDF-")
    assert b"%%EOF" in pdf[-1024:]
    if shutil.which("pdftotext"):
        path = tmp_path / "r.pdf"
        path.write_bytes(pdf)
        text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout.decode()
        assert "月调度报告" in text
        assert "66.67%" in text


def test_sample_report_data() -> None:
    from cloud_api.analytics.rollup import create_analytics_tables
    from cloud_api.db import Base, Database
    from cloud_api.reports import sample

    db = Database("sqlite://")
    Base.metadata.create_all(db.engine)
    create_analytics_tables(db.engine)
    with db.session() as s:
        sample.seed_demo(s)
    with db.session() as s:
        data = build_report(s, "monthly", date(2026, 3, 1), Scope(district_id="demo"), sample.NOW)
    db.dispose()
    assert data.summary.total == 400
    assert len(data.rankings) == len(sample.SCHOOLS)
    assert sum(c.total for c in data.categories) == 400
    with pytest.raises(SystemExit):
        sample.main(["--out", "report.jpg"])


def test_empty_report_renders(session: Session) -> None:
    data = build_report(session, "daily", date(2026, 1, 10), Scope.everything(), NOW)
    assert data.summary.total == 0 and data.summary.closure_rate is None
    html = render_html(data)
    assert "日管控报告" in html and "本期无违规" in html and "无逾期案件" in html
    assert data.summary.closure_rate_pct == "-"
