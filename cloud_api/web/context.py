"""What the web pages need from the hub, handed over once at mount time (no globals, no import-time setup)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from starlette.routing import Match

from cloud_api.config import HubConfig
from cloud_api.db.base import utcnow
from cloud_api.db.session import Database
from cloud_api.people.config import PeopleConfig
from cloud_api.services.notifier import Notifier, RecordingNotifier
from cloud_api.storage.base import Storage
from mingchu.taxonomy import Taxonomy, default_taxonomy

# Where the people area serves these; probed by route matching, so the pages follow the hub as it is.
LIVE_WS_CANDIDATES = ("/api/v1/live/{camera}/ws", "/api/v1/api/v1/live/{camera}/ws")
REPORT_PATH = "/api/v1/live/{camera}/report"
VAPID_PATH = "/api/v1/push/vapid-public-key"
PUSH_SUBSCRIBE_PATH = "/api/v1/push/subscriptions"
SSE_PATH = "/api/v1/events/stream"
PREFERENCES_PATH = "/api/v1/notifications/preferences"


def serves(app: FastAPI, kind: str, path: str, method: str = "GET") -> bool:
    """Whether a request of ``kind`` (http/websocket) to ``path`` would reach a route of ``app``."""
    scope = {"type": kind, "path": path, "root_path": "", "method": method, "headers": [], "query_string": b""}
    return any(route.matches(scope)[0] != Match.NONE for route in app.routes)


@dataclass(frozen=True)
class WebFeatures:
    """Backend pieces the pages use only when the hub actually serves them (never a dead button)."""

    live_ws_template: str | None = None
    report_template: str | None = None
    vapid_path: str | None = None
    push_subscribe_path: str | None = None
    sse_path: str | None = None
    preferences_path: str | None = None

    @classmethod
    def of(cls, app: FastAPI) -> WebFeatures:
        probe = "probe-camera"
        live = next((p for p in LIVE_WS_CANDIDATES if serves(app, "websocket", p.format(camera=probe))), None)
        report = REPORT_PATH if serves(app, "http", REPORT_PATH.format(camera=probe), "POST") else None
        vapid = VAPID_PATH if serves(app, "http", VAPID_PATH) else None
        sub = PUSH_SUBSCRIBE_PATH if serves(app, "http", PUSH_SUBSCRIBE_PATH, "POST") else None
        sse = SSE_PATH if serves(app, "http", SSE_PATH) else None
        prefs = PREFERENCES_PATH if serves(app, "http", PREFERENCES_PATH, "PUT") else None
        return cls(live, report, vapid, sub, sse, prefs)


@dataclass(frozen=True)
class WebContext:
    config: HubConfig
    db: Database
    storage: Storage
    people: PeopleConfig = field(default_factory=PeopleConfig)
    notifier: Notifier = field(default_factory=RecordingNotifier)
    taxonomy: Taxonomy = field(default_factory=default_taxonomy)

    @classmethod
    def from_hub(cls, hub: Any, people: PeopleConfig | None = None) -> WebContext:
        """From the core ``HubContext`` (``app.state.hub``): the same database, storage, notifier and taxonomy."""
        cfg = people or getattr(hub.config, "people", None) or PeopleConfig()
        return cls(hub.config, hub.db, hub.storage, cfg, hub.notifier, hub.taxonomy)

    def now(self) -> datetime:
        return utcnow()
