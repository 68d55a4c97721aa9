"""The web dashboard (Simplified Chinese, English switch): server-rendered pages under ``/web``.

``mount_web(app, ctx)`` is the one call ``create_app`` needs; nothing is created at import time.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from cloud_api.web.auth import Forbidden, NotSignedIn
from cloud_api.web.case_pages import build_case_pages
from cloud_api.web.context import WebContext, WebFeatures
from cloud_api.web.pages import build_pages
from cloud_api.web.parent_join import build_join_page
from cloud_api.web.parents_admin import build_parents_admin
from cloud_api.web.password_page import build_password_page
from cloud_api.web.render import make_environment, render
from cloud_api.web.report_pages import build_report_pages

PREFIX = "/web"
STATIC = Path(__file__).resolve().parent / "static"


def mount_web(app: FastAPI, ctx: WebContext) -> None:
    """Add the pages, static files (vendored htmx/ECharts, CSS, JS) and the service worker to ``app``."""
    env = make_environment()
    app.state.web = ctx
    app.include_router(build_pages(ctx, env), prefix=PREFIX)
    app.include_router(build_case_pages(ctx, env), prefix=PREFIX)
    app.include_router(build_report_pages(ctx, env), prefix=PREFIX)
    app.include_router(build_parents_admin(ctx, env), prefix=PREFIX)
    app.include_router(build_join_page(ctx, env), prefix=PREFIX)
    app.include_router(build_password_page(ctx, env), prefix=PREFIX)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="web-static")

    @app.get(f"{PREFIX}/sw.js", include_in_schema=False)
    def service_worker() -> Response:
        # Served from /web/ so its scope covers the pages; never cached stale.
        return FileResponse(STATIC / "sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": f"{PREFIX}/login"})
        return RedirectResponse(f"{PREFIX}/login", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        key = "csrf_failed" if exc.args and exc.args[0] == "csrf" else "forbidden"
        return render(ctx, env, request, "error.html", None, status_code=403, message_key=key)


__all__ = ["PREFIX", "WebContext", "WebFeatures", "mount_web"]
