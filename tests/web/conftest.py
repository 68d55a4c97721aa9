"""Fixtures for the web tests: one real hub (uvicorn thread, temp SQLite, seeded through ingest) and one
real headless Chromium for the whole module run; each test opens its own browser context."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.web.hub import RunningHub, build_hub, serve
from tests.web.seed import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
DOC_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Committed pictures change only when asked (MINGCHU_UPDATE_SCREENSHOTS=1); otherwise they go to a temp dir.
SCREENSHOTS = (
    DOC_SCREENSHOTS
    if os.environ.get("MINGCHU_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "mingchu-web-screenshots"
)


def broker_up(host: str = "127.0.0.1", port: int = 1883) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    """The live relay needs Mosquitto; without it the hub runs without live view (those tests skip)."""
    app, ctx, seed = build_hub(tmp_path_factory.mktemp("hub"), live=broker_up())
    running = serve(app, ctx, seed)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def open_as(hub: RunningHub, browser: object) -> Iterator[Callable[..., object]]:
    """``open_as(username, viewport=PHONE)`` -> a logged-in Playwright page (its own context, zh by default)."""
    contexts = []

    def make(username: str, viewport: dict[str, int] = PHONE, lang: str = "zh") -> object:
        context = browser.new_context(viewport=viewport, locale="zh-CN", base_url=hub.url)  # type: ignore[attr-defined]
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"/web/login?lang={lang}")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert "/web/login" not in page.url, f"login of {username} failed"
        return page

    yield make
    for c in contexts:
        c.close()


def shot(page: object, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
