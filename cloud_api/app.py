"""``create_app(config)``: the FastAPI app. Nothing is built at import time; the ingest worker and the
escalation loop run only when asked (``serve`` does, tests usually don't)."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from cloud_api.analytics.rollup import refresh_rollup
from cloud_api.api.routes import ROUTERS
from cloud_api.config import HubConfig
from cloud_api.context import HubContext, build_context
from cloud_api.db.base import utcnow
from cloud_api.errors import install as install_errors
from cloud_api.ingest.worker import IngestWorker
from cloud_api.people.app import PeopleServices, build_services, install_people
from cloud_api.services.escalation import escalate_overdue
from cloud_api.web import WebContext, mount_web

log = logging.getLogger(__name__)


class EscalationLoop:
    """Every ``escalation_interval_s``: give due yellow/red cards, then bring the analytics rollup up to date.

    Errors are logged and retried next tick."""

    def __init__(self, hub: HubContext) -> None:
        self.hub = hub
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="escalation", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.hub.config.cases.escalation_interval_s):
            try:
                with self.hub.db.session() as session:
                    given = escalate_overdue(session, utcnow(), self.hub.config.cases, self.hub.notifier)
                    refresh_rollup(session, utcnow())
                if given:
                    log.info("escalation: %d cards given", len(given))
            except Exception:
                log.exception("escalation run failed; retrying next interval")


def create_app(
    config: HubConfig | None = None,
    *,
    hub: HubContext | None = None,
    background: bool = False,
    people: PeopleServices | None = None,
    live: bool = True,
) -> FastAPI:
    """Build the app: core API, people (accounts, push, live view), analytics, reports and the web UI.

    ``background=True`` starts the ingest worker (if enabled) and the escalation loop; the push worker
    and (with ``live``) the live relay start with the app. ``people`` lets tests pass their own services.
    """
    hub = hub or build_context(config or HubConfig())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        workers: list[IngestWorker | EscalationLoop] = []
        if background:
            if hub.config.ingest.enabled:
                worker = IngestWorker(hub.ingest_service(), hub.config.mqtt, hub.config.ingest, hub.metrics)
                worker.start(wait_s=0)
                workers.append(worker)
                app.state.ingest_worker = worker
            loop = EscalationLoop(hub)
            loop.start()
            workers.append(loop)
        try:
            yield
        finally:
            for w in reversed(workers):
                w.stop()

    app = FastAPI(
        title="Mingchu hub",
        version="0.1.0",
        summary="明厨亮灶 + AI 智能抓拍: verified violation evidence driven to 100% closure",
        lifespan=lifespan,
    )
    app.state.hub = hub
    install_errors(app)
    for router in ROUTERS:
        app.include_router(router)
    people = install_people(
        app,
        people
        or build_services(
            hub.db, hub.config, storage=hub.storage, notifier=hub.notifier, taxonomy=hub.taxonomy, live=live
        ),
    )
    hub.notifier = people.notifier  # cases opened by ingest or escalated are pushed, not only recorded
    mount_web(app, WebContext.from_hub(hub))

    @app.get("/healthz", tags=["ops"], summary="Liveness, database reachability and ingest subscription")
    def healthz() -> dict[str, str]:
        with hub.db.session() as session:
            session.execute(text("SELECT 1"))
        worker = getattr(app.state, "ingest_worker", None)
        ingest = "disabled" if worker is None else ("subscribed" if worker.connected else "connecting")
        return {"status": "ok", "ingest": ingest}

    @app.get("/metrics", tags=["ops"], response_class=Response, summary="Prometheus metrics")
    def metrics() -> Response:
        return Response(generate_latest(hub.registry), media_type=CONTENT_TYPE_LATEST)

    return app
