"""The analytics and reports routers on the real app: scoping, pagination, bad input, downloads."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook

MARCH = {"first": "2026-03-01", "last": "2026-03-31"}


def get(api: Any, user: str | None, path: str, **params: Any) -> Any:
    client, tokens = api
    headers = {"Authorization": f"Bearer {tokens[user]}"} if user else {}
    return client.get(path, params=params, headers=headers)


def test_summary_scoped_per_role(api: Any) -> None:
    assert get(api, "admin", "/api/v1/analytics/summary", **MARCH).json()["total"] == 6
    reg = get(api, "reg1", "/api/v1/analytics/summary", **MARCH).json()
    assert (reg["total"], reg["closure_rate_pct"]) == (5, "60.00%")
    head = get(api, "head2", "/api/v1/analytics/summary", **MARCH).json()
    assert (head["total"], head["closed"], head["on_time_rate_pct"]) == (2, 1, "100.00%")


@pytest.mark.parametrize("path", ["/api/v1/analytics/summary", "/api/v1/analytics/rankings", "/api/v1/reports/monthly"])
def test_parent_gets_403_and_anonymous_401(api: Any, path: str) -> None:
    r = get(api, "parent", path, **({"day": "2026-03-05"} if "reports" in path else MARCH))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    assert get(api, None, path).status_code == 401


def test_filters_outside_scope_are_403(api: Any) -> None:
    assert get(api, "head2", "/api/v1/analytics/summary", school_id="s1", **MARCH).status_code == 403
    assert get(api, "reg1", "/api/v1/analytics/rankings", district_id="d2", **MARCH).status_code == 403
    ok = get(api, "reg1", "/api/v1/analytics/summary", school_id="s2", **MARCH)
    assert ok.json()["total"] == 2


def test_rankings_sorted_and_paginated(api: Any) -> None:
    r = get(api, "admin", "/api/v1/analytics/rankings", sort="closure_rate", limit=2, **MARCH).json()
    assert r["total"] == 3
    assert [i["school_id"] for i in r["items"]] == ["s3", "s1"]
    r2 = get(api, "admin", "/api/v1/analytics/rankings", sort="closure_rate", offset=2, limit=2, **MARCH).json()
    assert [(i["rank"], i["school_id"]) for i in r2["items"]] == [(3, "s2")]
    reg = get(api, "reg1", "/api/v1/analytics/rankings", **MARCH).json()
    assert [i["school_id"] for i in reg["items"]] == ["s1", "s2"]


def test_closure_trend_online_cases(api: Any) -> None:
    shares = get(api, "admin", "/api/v1/analytics/closure", group_by="category", **MARCH).json()
    assert {r["name"]: r["share_pct"] for r in shares}["有害生物"] == "16.67%"
    weeks = get(api, "admin", "/api/v1/analytics/trend", bucket="week", **MARCH).json()
    assert [w["total"] for w in weeks] == [1, 2, 2, 0, 0, 1]
    online = get(api, "admin", "/api/v1/analytics/camera-online", first="2026-03-15", last="2026-03-15").json()
    assert {o["school_id"]: o["online_rate_pct"] for o in online} == {"s1": "87.50%", "s2": "0.00%", "s3": "50.00%"}
    overdue = get(api, "admin", "/api/v1/analytics/cases", overdue="true", **MARCH).json()
    assert [c["id"] for c in overdue["items"]] == [4]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/analytics/summary", {"first": "2026-03-31", "last": "2026-03-01"}),
        ("/api/v1/analytics/summary", {"first": "1990-01-01", "last": "2026-03-01"}),
        ("/api/v1/analytics/summary", {"first": "not-a-date"}),
        ("/api/v1/analytics/closure", {"group_by": "bogus"}),
        ("/api/v1/analytics/rankings", {"sort": "bogus"}),
        ("/api/v1/analytics/rankings", {"limit": 0}),
        ("/api/v1/analytics/trend", {"bucket": "year"}),
        ("/api/v1/analytics/rankings/export", {"format": "doc"}),
        ("/api/v1/reports/yearly", {}),
        ("/api/v1/reports/daily", {"format": "docx"}),
        ("/api/v1/reports/daily", {"day": "2026-02-30"}),
    ],
)
def test_bad_input_is_422(api: Any, path: str, params: dict[str, Any]) -> None:
    r = get(api, "admin", path, **params)
    assert r.status_code == 422, r.text
    assert "error" in r.json()


def test_rankings_csv_round_trip(api: Any) -> None:
    r = get(api, "reg1", "/api/v1/analytics/rankings/export", format="csv", **MARCH)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="mingchu-rankings-2026-03-01_2026-03-31.csv"' in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["排名", "学校", "区县", "摄像头数", "违规数"]
    assert [(row[1], row[4], row[9]) for row in rows[1:]] == [("第一中学", "3", "66.67%"), ("第二小学", "2", "50.00%")]


def test_rankings_and_cases_xlsx_round_trip(api: Any) -> None:
    r = get(api, "admin", "/api/v1/analytics/rankings/export", format="xlsx", sort="overdue", **MARCH)
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ws = load_workbook(io.BytesIO(r.content)).active
    values = list(ws.iter_rows(values_only=True))
    assert values[0][1] == "学校"
    assert [(v[0], v[1], v[4], v[8]) for v in values[1:]] == [
        (1, "第一中学", 3, 1),
        (2, "第二小学", 2, 0),
        (3, "第三中学", 1, 0),
    ]
    cases = get(api, "head2", "/api/v1/analytics/cases/export", format="xlsx", **MARCH)
    rows = list(load_workbook(io.BytesIO(cases.content)).active.iter_rows(values_only=True))
    assert [(row[0], row[2]) for row in rows[1:]] == [(6, "未穿工作服（含赤膊）"), (5, "垃圾桶未盖")]


def test_cases_csv(api: Any) -> None:
    r = get(api, "admin", "/api/v1/analytics/cases/export", format="csv", **MARCH)
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 6
    assert {row["案件编号"] for row in rows if row["逾期"] == "是"} == {"4"}


def test_report_html_and_json(api: Any) -> None:
    r = get(api, "reg1", "/api/v1/reports/monthly", day="2026-03-20")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "月调度报告" in html and "东城区" in html
    assert "60.00%" in html  # district closure rate
    assert "第一中学" in html and "第三中学" not in html  # scoped to d1
    assert "<svg" in html
    data = get(api, "reg1", "/api/v1/reports/weekly", day="2026-03-04", format="json").json()
    assert (data["period_first"], data["period_last"]) == ("2026-03-02", "2026-03-08")
    assert data["summary"]["total"] == 2 and data["overdue_total"] == 1
    daily = get(api, "admin", "/api/v1/reports/daily", day="2026-03-02", format="json").json()
    assert daily["summary"]["total"] == 2
    # 7 days up to 03-02: case 2 on 02-28, case 1 on 03-01 (local), cases 3 and 4 on 03-02
    assert [p["total"] for p in daily["trend"]] == [0, 0, 0, 0, 1, 1, 2]


def test_report_pdf_unavailable_is_503(api: Any) -> None:
    from cloud_api.api.routes.reports import get_pdf_renderer
    from cloud_api.reports.pdf import ChromiumPdf, ChromiumPdfConfig

    client, _ = api
    client.app.dependency_overrides[get_pdf_renderer] = lambda: ChromiumPdf(
        ChromiumPdfConfig(binary="no-such-chromium-binary")
    )
    try:
        r = get(api, "admin", "/api/v1/reports/daily", day="2026-03-02", format="pdf")
    finally:
        client.app.dependency_overrides.clear()
    assert r.status_code == 503
    assert "not found" in r.json()["error"]["message"]


def test_rankings_use_fresh_rollup_with_same_result(api: Any, seeded: Any) -> None:
    from cloud_api.analytics import rebuild_rollup
    from cloud_api.db.base import utcnow

    before = get(api, "admin", "/api/v1/analytics/rankings", sort="closure_rate", **MARCH).json()
    with seeded.session() as s:
        rebuild_rollup(s, utcnow())
    after = get(api, "admin", "/api/v1/analytics/rankings", sort="closure_rate", **MARCH).json()
    assert after == before
    summary = get(api, "reg1", "/api/v1/analytics/summary", **MARCH).json()
    assert (summary["total"], summary["closed"], summary["overdue"], summary["closure_rate_pct"]) == (5, 3, 1, "60.00%")
    districts = get(api, "admin", "/api/v1/analytics/closure", group_by="district", **MARCH).json()
    assert {d["key"]: d["closure_rate_pct"] for d in districts} == {"d1": "60.00%", "d2": "100.00%"}


@pytest.mark.browser
@pytest.mark.slow
def test_report_pdf_download(api: Any, seeded: Any) -> None:
    import shutil

    if not seeded.url.startswith("sqlite"):
        pytest.skip("one PDF per run is enough (the renderer does not depend on the database)")
    if not shutil.which("chromium"):
        pytest.skip("chromium is not installed")
    r = get(api, "head2", "/api/v1/reports/weekly", day="2026-03-11", format="pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert 'filename="mingchu-weekly-2026-03-09_2026-03-15.pdf"' in r.headers["content-disposition"]
    assert r.content.startswith(b"%PDF-")
