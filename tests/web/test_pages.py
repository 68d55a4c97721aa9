"""Fast checks without a browser (FastAPI TestClient on the same real hub app): the catalogue, language
choice, login and every form's bad input, scopes of pictures and reports."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud_api.web.i18n import LANGS, CatalogueError, default_catalogue, parse_catalogue, pick_lang, translator
from tests.web.hub import build_hub
from tests.web.seed import ASSETS, PASSWORD, Seed

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TEMPLATES = Path(__file__).resolve().parents[2] / "cloud_api" / "web" / "templates"


@pytest.fixture(scope="module")
def app_seed(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Seed]:
    app, _ctx, seed = build_hub(tmp_path_factory.mktemp("hub"), live=False)
    return app, seed


@pytest.fixture
def client(app_seed: tuple[object, Seed]) -> Iterator[TestClient]:
    with TestClient(app_seed[0]) as c:  # type: ignore[arg-type]
        yield c


def login(c: TestClient, username: str) -> str:
    r = c.post("/web/login", data={"username": username, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(c.cookies["mc_csrf"])


# -- catalogue and language ----------------------------------------------------------------------------
def test_catalogue_has_every_key_the_templates_use_in_both_languages() -> None:
    used = set()
    for path in TEMPLATES.rglob("*.html"):
        used |= set(re.findall(r"\bt\('([a-z0-9_]+)'\s*[,)]", path.read_text(encoding="utf-8")))
    cat = default_catalogue()
    assert used, "no keys found: the pattern is wrong"
    for lang in LANGS:
        assert not used - set(cat[lang]), f"{lang} lacks {sorted(used - set(cat[lang]))}"
    assert set(cat["zh"]) == set(cat["en"])
    assert all(re.search(r"[\u4e00-\u9fff]", v) or k in ("lang_switch",) for k, v in cat["zh"].items() if k != "kpi_of")


def test_catalogue_names_every_state_role_grade_and_action() -> None:
    from cloud_api.db.models import Role
    from cloud_api.services.workflow import TRANSITIONS, State

    keys = set(default_catalogue()["en"])
    wanted = {f"st_{s.value}" for s in State} | {f"role_{r.value}" for r in Role}
    wanted |= {"sev_1", "sev_2", "sev_3", "card_yellow", "card_red", "rect_pending", "rect_approved", "rect_rejected"}
    wanted |= {t.action for t in TRANSITIONS if t.api and t.action not in ("notify", "close")} | {"close_case"}
    assert not wanted - keys, sorted(wanted - keys)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- just a list", "mapping"),
        ("a: {zh: 中}", "exactly the languages"),
        ("a: {zh: 中, en: x, fr: y}", "exactly the languages"),
        ("a: {zh: 中, en: [1]}", "must be a string"),
        ("a: plain", "exactly the languages"),
    ],
)
def test_bad_catalogue_is_refused_with_the_key(text: str, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(text, "x.yaml")


def test_language_choice_and_translation() -> None:
    assert pick_lang(None, None) == "zh"
    assert pick_lang("en", "zh") == "en"
    assert pick_lang(None, "en") == "en"
    assert pick_lang("fr", "de") == "zh"  # unknown values never break a page
    t = translator("en")
    assert t("deadline_left", h=2) == "2 h left"
    assert t("no_such_key") == "no_such_key"


def test_lang_query_sets_a_cookie_and_bad_lang_falls_back(client: TestClient) -> None:
    r = client.get("/web/login?lang=en")
    assert "Log in" in r.text and r.cookies.get("mingchu_lang") == "en"
    assert "Log in" in client.get("/web/login").text
    r = client.get("/web/login?lang=xx")
    assert "Log in" in r.text  # cookie still says en; the bad value is ignored
    client.cookies.clear()
    assert "登录" in client.get("/web/login?lang=xx").text


# -- login ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("username", "password", "message"),
    [("", "", "请输入用户名和密码"), ("reg", "", "请输入用户名和密码"), ("nobody", "x", "用户名或密码错误")],
)
def test_bad_login_says_why_and_keeps_the_name(client: TestClient, username: str, password: str, message: str) -> None:
    r = client.post("/web/login", data={"username": username, "password": password})
    assert r.status_code == 401 and message in r.text
    assert f'value="{username}"' in r.text
    assert "mc_session" not in r.cookies


def test_pages_need_a_session(client: TestClient) -> None:
    r = client.get("/web/regulator", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/web/login"
    r = client.get("/web/school/open-cases", headers={"HX-Request": "true"}, follow_redirects=False)
    assert r.status_code == 401 and r.headers["HX-Redirect"] == "/web/login"
    client.cookies.set("mc_session", "mcs_forged")
    assert client.get("/web/regulator", follow_redirects=False).status_code == 303


def test_logout_ends_the_session(client: TestClient) -> None:
    csrf = login(client, "head_b")
    token = client.cookies["mc_session"]
    assert client.post("/web/logout", data={"csrf": csrf}).status_code == 200  # followed to the login page
    client.cookies.set("mc_session", token)
    assert client.get("/web/school", follow_redirects=False).status_code == 303


# -- role pages and scopes ------------------------------------------------------------------------------
def test_roles_reach_only_their_pages(client: TestClient) -> None:
    login(client, "mgr_a")
    assert client.get("/web/regulator").status_code == 403
    assert client.get("/web/parent").status_code == 403
    assert client.get("/web/reports/ranking.xlsx").status_code == 403
    assert client.get("/web/school").status_code == 200


def test_pictures_are_scoped(client: TestClient, app_seed: tuple[object, Seed]) -> None:
    login(client, "head_b")
    assert client.get("/web/media/evidence/999999").status_code == 404
    seen = client.get("/web/school").text
    own = re.findall(r"/web/media/evidence/(\d+)", seen)
    assert own and client.get(f"/web/media/evidence/{own[0]}").headers["content-type"] == "image/jpeg"
    login(client, "head_a")
    assert client.get(f"/web/media/evidence/{own[0]}").status_code == 404


def test_reports_download_for_the_regulator(client: TestClient) -> None:
    login(client, "reg")
    r = client.get("/web/reports/monthly.html")
    assert r.status_code == 200 and "月调度" in r.text and "江北实验小学" in r.text and "渝北第一中学" not in r.text
    x = client.get("/web/reports/ranking.xlsx")
    assert x.status_code == 200 and x.content[:2] == b"PK"
    assert client.get("/web/reports/yearly.html").status_code == 422


# -- case forms: bad input gets a clear error and changes nothing ---------------------------------------
def state_of(client: TestClient, case_id: int) -> str:
    m = re.search(r'id="case-state">([^<]+)<', client.get(f"/web/cases/{case_id}").text)
    assert m
    return m.group(1)


def test_case_actions_refuse_bad_input(client: TestClient, app_seed: tuple[object, Seed]) -> None:
    case_id = app_seed[1].cases["b_smoking"]
    csrf = login(client, "head_b")
    before = state_of(client, case_id)
    url = f"/web/cases/{case_id}/action"
    assert client.post(url, data={"action": "acknowledge"}).status_code == 403  # no CSRF token
    assert client.post(url, data={"action": "acknowledge", "csrf": "forged"}).status_code == 403
    r = client.post(url, data={"action": "fly_away", "csrf": csrf})
    assert r.status_code == 409 and "unknown action" in r.text
    r = client.post(url, data={"action": "close", "csrf": csrf})
    assert r.status_code == 409  # legal action, wrong state
    assert client.post(url, data={"csrf": csrf}).status_code == 422  # no action at all
    assert state_of(client, case_id) == before
    other = app_seed[1].cases["a_bin_overdue"]
    assert client.post(f"/web/cases/{other}/action", data={"action": "acknowledge", "csrf": csrf}).status_code == 404


def test_rectification_upload_refuses_bad_photos(client: TestClient, app_seed: tuple[object, Seed]) -> None:
    csrf = login(client, "head_b")
    url = f"/web/cases/{app_seed[1].cases['b_smoking']}"
    for action in ("acknowledge", "start_rectification"):
        client.post(f"{url}/action", data={"action": action, "csrf": csrf})
    assert state_of(client, app_seed[1].cases["b_smoking"]) == "整改中"
    cases = [
        ({"text": "已处理", "csrf": csrf}, None, "请至少上传一张整改照片"),
        ({"text": " ", "csrf": csrf}, ("p.jpg", (ASSETS / "dog.jpg").read_bytes()), "请填写整改说明"),
        ({"text": "已处理", "csrf": csrf}, ("p.jpg", b"GIF89a not really"), "not a readable image"),
        ({"text": "已处理", "csrf": csrf}, ("p.jpg", b""), "file is empty"),
    ]
    for data, photo, message in cases:
        files = {"photos": photo} if photo else None
        r = client.post(f"{url}/rectify", data=data, files=files)
        assert r.status_code in (400, 422) and message in r.text, (message, r.status_code)
        assert "已处理" in r.text or data["text"].strip() == ""
    assert state_of(client, app_seed[1].cases["b_smoking"]) == "整改中"
    assert client.post(f"{url}/review", data={"decision": "maybe", "csrf": csrf}).status_code == 422
    assert client.get(f"/web/cases/{app_seed[1].cases['c_hat']}").status_code == 404  # another district's case
