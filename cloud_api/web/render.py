"""Jinja2 rendering with the message catalogue, Beijing-time formatting and taxonomy names in scope."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cloud_api.web.auth import WebUser
from cloud_api.web.context import WebContext, WebFeatures
from cloud_api.web.i18n import LANG_COOKIE, Lang, Translator, pick_lang, translator
from mingchu.taxonomy import Taxonomy

TEMPLATES = Path(__file__).resolve().parent / "templates"
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def make_environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "" if value is None else value.astimezone(LOCAL_ZONE).strftime(fmt)


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


class Names:
    """Display names of violation classes, categories, states and roles in the page's language."""

    def __init__(self, t: Translator, taxonomy: Taxonomy) -> None:
        self.t, self.taxonomy, self.lang = t, taxonomy, t.lang

    def violation(self, class_id: str) -> str:
        if class_id == "parent_report":
            return self.t("kind_parent_report")
        try:
            info = self.taxonomy.get(class_id)
        except KeyError:
            return class_id
        return info.name_zh if self.lang == "zh" else info.name_en

    def category(self, key: str) -> str:
        for cat, info in self.taxonomy.categories.items():
            if cat == key:
                return info.name_zh if self.lang == "zh" else info.name_en
        return key

    def state(self, state: str) -> str:
        return self.t(f"st_{state}")

    def role(self, role: str) -> str:
        return self.t(f"role_{role}")

    def online(self, state: str) -> str:
        key = f"on_{state}"
        return self.t(key) if self.t.has(key) else state


def features_of(app: Any) -> WebFeatures:
    """Probed once per app (routes do not change after start-up) and kept on ``app.state``."""
    found: WebFeatures | None = getattr(app.state, "web_features", None)
    if found is None:
        found = WebFeatures.of(app)
        app.state.web_features = found
    return found


def request_lang(request: Request) -> Lang:
    return pick_lang(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))


def render(
    ctx: WebContext,
    env: Environment,
    request: Request,
    template: str,
    user: WebUser | None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    """Render a page; ``?lang=`` also sets the language cookie so the choice sticks."""
    lang = request_lang(request)
    t = translator(lang)
    csrf = request.cookies.get(ctx.people.session.csrf_cookie_name, "")
    html = env.get_template(template).render(
        t=t,
        lang=lang,
        other_lang="en" if lang == "zh" else "zh",
        user=user,
        csrf=csrf,
        csrf_cookie=ctx.people.session.csrf_cookie_name,
        csrf_header=ctx.people.session.csrf_header,
        names=Names(t, ctx.taxonomy),
        local_time=local_time,
        pct=pct,
        now=ctx.now(),
        features=features_of(request.app),
        path=request.url.path,
        **values,
    )
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response
