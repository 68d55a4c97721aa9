"""End to end in real headless Chromium against a real hub: each role sees only its own data, a
rectification runs to closure and moves the closure rate, a dispute ends as a false positive, the
English switch sticks, and a parent watches live and presses 直通负责人 (fake edge on real Mosquitto)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from cloud_api.db.models import Case
from tests.support.waiting import wait_for
from tests.web.conftest import DESKTOP, PHONE, broker_up, shot
from tests.web.hub import RunningHub
from tests.web.seed import ASSETS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Open = Callable[..., Any]


def case_ids(page: Any, within: str = "body") -> set[int]:
    return {
        int(x) for x in page.eval_on_selector_all(f"{within} [data-case-id]", "els => els.map(e => e.dataset.caseId)")
    }


def test_each_role_sees_only_its_own_data(hub: RunningHub, open_as: Open) -> None:
    c = hub.seed.cases
    head_a = open_as("head_a")
    assert head_a.url.endswith("/web/school")
    seen = case_ids(head_a, "#open-cases")
    assert {c["a_mask"], c["a_rat"], c["a_bin_overdue"]} <= seen
    assert c["b_smoking"] not in seen and c["c_hat"] not in seen
    assert head_a.locator("h1").inner_text() == "江北实验小学"
    # another school's case by URL: not found, and its picture is not served either
    response = head_a.goto(f"/web/cases/{c['b_smoking']}")
    assert response.status == 404 and "未找到" in head_a.content()
    assert head_a.request.get(f"/web/media/evidence/{c['b_smoking']}").status == 404
    shot_page = open_as("mgr_a")
    shot_page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    shot_page.wait_for_selector("body[data-charts=ready]")
    assert shot_page.locator("#chart-trend svg path").count() > 0
    shot(shot_page, "school-home-phone.png")

    head_b = open_as("head_b")
    assert case_ids(head_b, "#open-cases") == {c["b_smoking"]}

    reg = open_as("reg", DESKTOP)
    assert reg.url.endswith("/web/regulator")
    schools = set(reg.eval_on_selector_all("#ranking tbody tr", "rs => rs.map(r => r.dataset.school)"))
    assert schools == {"s-a", "s-b"}  # s-c is in another district
    assert c["a_bin_overdue"] in case_ids(reg, "#overdue")
    assert c["c_hat"] not in case_ids(reg)
    assert "江北实验小学" in reg.locator("#interviews").inner_text()  # 3 open + 1 overdue, thresholds 3 and 1
    assert "观音桥中学" not in reg.locator("#interviews").inner_text()
    reg.wait_for_selector("body[data-charts=ready]")
    assert reg.locator("#chart-categories svg").count() == 1
    assert reg.locator("#chart-trend svg path").count() > 0

    reg2 = open_as("reg2", DESKTOP)
    assert set(reg2.eval_on_selector_all("#ranking tbody tr", "rs => rs.map(r => r.dataset.school)")) == {"s-c"}

    parent = open_as("parent_a")
    assert parent.url.endswith("/web/parent")
    assert parent.goto("/web/devices").status == 403
    assert parent.goto(f"/web/cases/{c['a_mask']}").status == 404


def test_ranking_sorts_by_clicked_column(open_as: Open) -> None:
    reg = open_as("reg", DESKTOP)

    def totals() -> list[int]:
        cells = reg.eval_on_selector_all("#ranking tbody tr td:nth-child(3)", "t => t.map(e => e.dataset.v)")
        return [int(x) for x in cells]

    reg.click("#ranking th:nth-child(3)")
    assert totals() == sorted(totals())
    reg.click("#ranking th:nth-child(3)")
    assert totals() == sorted(totals(), reverse=True)


def closure_value(page: Any) -> float:
    page.goto("/web/regulator")
    return float(page.locator("#kpi-closure .value").get_attribute("data-value") or 0)


def test_rectification_to_closure_moves_the_closure_rate(hub: RunningHub, open_as: Open, tmp_path: Any) -> None:
    case_id = hub.seed.cases["a_mask"]
    reg = open_as("reg", DESKTOP)
    before = closure_value(reg)

    mgr = open_as("mgr_a", PHONE)
    mgr.goto(f"/web/cases/{case_id}")
    assert mgr.locator("#case-state").inner_text() == "已推送"  # one tap from here: no separate confirm needed
    mgr.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    shot(mgr, "case-alert-phone.png")
    # bad input: a text file posing as a photo is refused with a reason, and the typed text is kept
    fake = tmp_path / "photo.jpg"
    fake.write_text("not an image")
    mgr.fill("#rectify textarea[name=text]", "已为员工配发口罩并复训")
    mgr.set_input_files("#rectify input[type=file]", str(fake))
    mgr.click("#rectify button[type=submit]")
    assert "操作失败" in mgr.locator("#error").inner_text()
    assert mgr.locator("#rectify textarea[name=text]").input_value() == "已为员工配发口罩并复训"
    assert mgr.locator("#case-state").inner_text() == "已推送"  # nothing half-done
    # the real photo goes through
    mgr.set_input_files("#rectify input[type=file]", str(ASSETS / "person.jpg"))
    mgr.click("#rectify button[type=submit]")
    assert mgr.locator("#case-state").inner_text() == "待审核"
    mgr.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    assert mgr.locator("#rectifications .photos img").count() == 1
    shot(mgr, "case-rectified-phone.png")

    assert mgr.locator("#review").count() == 0  # the canteen does not approve its own fix

    head = open_as("head_a", PHONE)
    head.goto(f"/web/cases/{case_id}")
    head.click("#review button[value=approve]")  # the school head verifies the rectification
    assert head.locator("#case-state").inner_text() == "已通过"

    reg.goto(f"/web/cases/{case_id}")
    reg.click("button[data-action=close]")
    assert reg.locator("#case-state").inner_text() == "已闭环"
    timeline = reg.locator("#timeline").inner_text()
    for step in ("已推送", "已确认", "整改中", "待审核", "已通过", "已闭环"):
        assert step in timeline
    after = closure_value(reg)
    with hub.ctx.db.session() as s:
        closed = len(
            s.scalars(select(Case).where(Case.closed_at.is_not(None), Case.school_id.in_(["s-a", "s-b"]))).all()
        )
    assert after > before and closed >= 1
    assert re.search(rf"\b{closed} / \d+", reg.locator("#kpi-closure .sub").inner_text())
    reg.wait_for_selector("body[data-charts=ready]")
    shot(reg, "regulator-desktop.png")


def test_dispute_ends_as_false_positive(hub: RunningHub, open_as: Open) -> None:
    case_id = hub.seed.cases["a_rat"]
    mgr = open_as("mgr_a", PHONE)
    mgr.goto(f"/web/cases/{case_id}")
    assert mgr.locator("#evidence svg.boxes rect").count() == 1  # the detection box drawn over the picture
    # bad input: a dispute without a reason (posted directly, past the browser's `required`) is refused
    csrf = next(ck["value"] for ck in mgr.context.cookies() if ck["name"] == "mc_csrf")
    refused = mgr.request.post(f"/web/cases/{case_id}/action", form={"action": "dispute", "csrf": csrf, "reason": " "})
    assert refused.status == 422
    no_csrf = mgr.request.post(f"/web/cases/{case_id}/action", form={"action": "dispute", "reason": "x"})
    assert no_csrf.status == 403
    mgr.fill("form:has(button[data-action=dispute]) input[name=reason]", "是食堂养的猫，不是老鼠")
    mgr.click("button[data-action=dispute]")
    assert mgr.locator("#case-state").inner_text() == "申诉中"
    shot(mgr, "case-dispute-phone.png")
    reg = open_as("reg", DESKTOP)
    reg.goto(f"/web/cases/{case_id}")
    reg.fill("form:has(button[data-action=mark_false_positive]) input[name=reason]", "核实为食堂饲养的猫")
    reg.click("button[data-action=mark_false_positive]")
    assert reg.locator("#case-state").inner_text() == "误报"
    assert "是食堂养的猫" in reg.locator("#timeline").inner_text()


def test_english_switch_sticks(open_as: Open) -> None:
    reg = open_as("reg", DESKTOP)
    assert reg.locator("h1").inner_text().startswith("监管总览")
    reg.click("a.lang")
    assert reg.locator("h1").inner_text().startswith("Regulator overview")
    reg.goto("/web/devices")  # no ?lang: the cookie keeps English
    assert reg.locator("h1").inner_text() == "Devices & cameras"
    assert reg.locator("html").get_attribute("lang") == "en"
    shot(reg, "devices-desktop-en.png")
    reg.click("a.lang")
    assert reg.locator("h1").inner_text() == "设备与摄像头"


def test_devices_page_shows_reported_state(open_as: Open) -> None:
    head_b = open_as("head_b", DESKTOP)
    head_b.goto("/web/devices")
    assert head_b.locator("[data-device]").count() == 1
    assert head_b.locator("tr[data-camera=s-b-prep-cam1]").inner_text().count("离线") == 1
    assert "12.5 / 4.0" in head_b.locator("tr[data-camera=s-b-cook-cam1]").inner_text()
    assert head_b.locator("[data-device] .outbox").inner_text() == "3"


@pytest.mark.mqtt
def test_parent_watches_live_and_reports_to_the_head(hub: RunningHub, open_as: Open) -> None:
    if not broker_up():
        pytest.skip("Mosquitto is not running at 127.0.0.1:1883")
    from tests.support.fake_edge import FakeEdge

    dev = hub.seed.devices["s-a"]
    # Frames flow only while the hub holds a lease: its live relay sends live_start when the player connects.
    # Frames narrower (480) than the relay's max_width (640), so the full-resolution snapshot (the photo's
    # own 640 px) is told apart from a live frame in the head's evidence below.
    picture = (ASSETS / "person.jpg").read_bytes()
    with FakeEdge(dev.school_id, dev.device_id, dev.key, picture=picture, frame_width=480) as edge:
        parent = open_as("parent_a", PHONE)
        assert "江北实验小学" in parent.locator("h1").inner_text()
        assert edge.live_cameras() == [] and edge.frames_sent == 0  # nobody watches yet: no lease, no frames
        parent.click("#live-start")
        parent.wait_for_function("Number(document.getElementById('live-img').dataset.frames || 0) >= 3")
        assert edge.live_cameras() == ["s-a-cook-cam1"] and "live_start" in edge.names()
        assert parent.eval_on_selector("#live-img", "i => i.naturalWidth") == 480
        parent.fill("#report-comment", "备餐间有人没戴口罩")
        parent.click("#report-send")
        parent.wait_for_selector("#report-status.ok")
        parent.wait_for_url("**/web/parent")  # the page reloads to list the report
        wait_for(lambda: "备餐间有人没戴口罩" in parent.locator("#my-reports").inner_text(), 10, what="report listed")
        parent.click("#live-start")
        parent.wait_for_function("Number(document.getElementById('live-img').dataset.frames || 0) >= 2")
        assert parent.locator("#live-start").is_hidden() and parent.locator("#live-stop").is_visible()
        shot(parent, "parent-live-phone.png")
        assert edge.snapshots_answered >= 1
    snap_w = edge.snapshot()[1]
    assert snap_w == 640 != edge.frame(480)[1]
    head = open_as("head_a", PHONE)
    cards = head.locator("#open-cases .case-card", has_text="家长反映")
    assert cards.count() == 1
    cards.first.click()
    assert "备餐间有人没戴口罩" in head.locator("#evidence").inner_text()
    head.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    # the edge's full-resolution snapshot, not the smaller live frame
    assert head.eval_on_selector("#evidence img", "i => i.naturalWidth") == snap_w


@pytest.mark.mqtt
def test_new_violation_appears_without_reload(hub: RunningHub, open_as: Open) -> None:
    """The realtime stream (SSE) tells the page; htmx swaps the open-case list in place."""
    from cloud_api.db.base import utcnow
    from cloud_api.services.ingest import IngestService
    from cloud_api.services.notifier import RecordingNotifier
    from tests.web.seed import send_event

    head = open_as("head_b", PHONE)
    head.wait_for_selector("body[data-realtime=open]")
    before = case_ids(head, "#open-cases")
    head.evaluate("window.__marker = 'same page'")
    ingest = IngestService(hub.ctx.db, hub.ctx.storage, hub.ctx.config, RecordingNotifier(), hub.ctx.taxonomy)
    new_id = send_event(ingest, hub.seed.devices["s-b"], "no_uniform", "person.jpg", utcnow(), track_id=11)
    assert new_id not in before
    head.wait_for_function(f"document.querySelector('#open-cases [data-case-id=\"{new_id}\"]') !== null")
    assert head.evaluate("window.__marker") == "same page"  # no reload happened


def test_alert_preferences_round_trip_and_refuse_half_quiet_hours(open_as: Open) -> None:
    head = open_as("head_a", PHONE)
    head.goto("/web/account")
    head.wait_for_selector("#prefs-form[data-loaded=true]")
    assert head.locator("#prefs-form input[name=channels][value=realtime]").is_checked()
    head.uncheck("#prefs-form input[name=severities][value='3']")
    head.fill("#prefs-form input[name=quiet_start]", "22:00")
    head.click("#prefs-form button[type=submit]")
    head.wait_for_selector("#prefs-status.alert")
    assert "quiet_start and quiet_end" in head.locator("#prefs-status").inner_text()
    head.fill("#prefs-form input[name=quiet_end]", "06:30")
    head.click("#prefs-form button[type=submit]")
    head.wait_for_selector("#prefs-status.ok")
    head.reload()
    head.wait_for_selector("#prefs-form[data-loaded=true]")
    assert not head.locator("#prefs-form input[name=severities][value='3']").is_checked()
    assert head.locator("#prefs-form input[name=severities][value='1']").is_checked()
    assert head.locator("#prefs-form input[name=quiet_end]").input_value() == "06:30"
    assert head.locator("#push").inner_text().strip() != ""  # push box or its "not available" note
    shot(head, "account-phone.png")


def test_login_page_refuses_a_wrong_password(hub: RunningHub, browser: Any) -> None:
    context = browser.new_context(viewport=PHONE, base_url=hub.url)
    try:
        page = context.new_page()
        page.goto("/web/login")
        page.fill("input[name=username]", "mgr_a")
        page.fill("input[name=password]", "wrong")
        page.click("button[type=submit]")
        assert "用户名或密码错误" in page.locator("[role=alert]").inner_text()
        assert page.locator("input[name=username]").input_value() == "mgr_a"
        assert not [c for c in context.cookies() if c["name"] == "mc_session"]
        shot(page, "login-phone.png")
    finally:
        context.close()
