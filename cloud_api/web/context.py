"""What the web pages need from the hub, handed over once at mount time (no globals, no import-time setup)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import FastAPI

from cloud_api.config import HubConfig
from cloud_api.db.base import utcnow
from cloud_api.db.session import Database
from cloud_api.people.config import PeopleConfig
from cloud_api.services.notifier import Notifier, RecordingNotifier
from cloud_api.storage.base import Storage
from mingchu.taxonomy import Taxonomy, default_taxonomy

LIVE_WS_PATH = "/api/v1/live/{camera_id}/ws"
VAPID_PATHS = ("/api/v1/push/vapid-public-key", "/api/v1/notifications/vapid-public-key")


@dataclass(frozen=True)
class WebFeatures:
    """Backend pieces the pages link to only when the hub actually serves them (never a dead button)."""

    live_ws: bool = False
    web_push_path: str | None = None

    @classmethod
    def of(cls, app: FastAPI) -> WebFeatures:
        paths = {getattr(r, "path", "") for r in app.routes}
        return cls(live_ws=LIVE_WS_PATH in paths, web_push_path=next((p for p in VAPID_PATHS if p in paths), None))


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
