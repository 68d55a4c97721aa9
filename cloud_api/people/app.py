"""The people area on a hub app: ``create_app`` builds :class:`PeopleServices` and calls :func:`install_people`.

Everything the routes need is built here and kept on ``app.state.people``; the push worker and live
relay start and stop with the app's lifespan.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

import cloud_api.db.models.people  # noqa: F401  (registers the people tables)
from cloud_api.config import HubConfig
from cloud_api.db.models import Case, Device
from cloud_api.db.session import Database
from cloud_api.live.relay import LiveRelay
from cloud_api.people.config import PeopleConfig
from cloud_api.push.realtime import EventBroker
from cloud_api.push.service import PushService
from cloud_api.services.notifier import CaseRef, Notifier, RecordingNotifier
from cloud_api.storage.base import Storage
from cloud_api.storage.registry import create_storage
from mingchu.contract import CommandReply, ContractError
from mingchu.taxonomy import Taxonomy, default_taxonomy

log = logging.getLogger(__name__)


class PushingNotifier:
    """Records like the default notifier, then wakes the push worker once the transaction commits."""

    def __init__(self, inner: Notifier, push: PushService) -> None:
        self.inner = inner
        self.push = push

    def notify(self, event_kind: str, case: Case, recipients_roles: Sequence[str]) -> None:
        self.inner.notify(event_kind, case, recipients_roles)
        session = object_session(case)
        if session is not None:
            self._wake_after_commit(session)

    def notify_many(
        self, session: Session, event_kind: str, cases: Sequence[CaseRef], recipients_roles: Sequence[str]
    ) -> None:
        self.inner.notify_many(session, event_kind, cases, recipients_roles)
        if cases:
            self._wake_after_commit(session)

    def _wake_after_commit(self, session: Session) -> None:
        event.listen(session, "after_commit", lambda _s: self.push.poll_soon(), once=True)


@dataclass
class PeopleServices:
    db: Database
    config: PeopleConfig
    hub: HubConfig
    storage: Storage
    notifier: Notifier
    taxonomy: Taxonomy
    broker: EventBroker
    push: PushService
    relay: LiveRelay | None

    def start(self) -> None:
        self.push.start()
        if self.relay is not None:
            self.relay.start()

    def stop(self) -> None:
        if self.relay is not None:
            self.relay.stop()
        self.push.stop()


def _reply_verifier(db: Database) -> Any:
    """Snapshots become evidence, so a reply must be signed by the device's registered key."""
    from cloud_api.services.devices import verify_message

    def verify(reply: CommandReply) -> bool:
        with db.session() as s:
            device = s.get(Device, reply.device_id)
            if device is None or device.school_id != reply.school_id:
                return False
            try:
                verify_message(s, device, reply)
            except ContractError:
                return False
            return True

    return verify


def build_services(
    db: Database,
    hub_config: HubConfig,
    people_config: PeopleConfig | None = None,
    *,
    storage: Storage | None = None,
    notifier: Notifier | None = None,
    taxonomy: Taxonomy | None = None,
    live: bool = True,
    verify_snapshots: bool = True,
) -> PeopleServices:
    cfg = people_config or getattr(hub_config, "people", None) or PeopleConfig()
    broker = EventBroker()
    push = PushService(db, cfg.push, broker)
    relay = LiveRelay(cfg.live, hub_config.mqtt, _reply_verifier(db) if verify_snapshots else None) if live else None
    return PeopleServices(
        db=db,
        config=cfg,
        hub=hub_config,
        storage=storage or create_storage(hub_config.storage),
        notifier=PushingNotifier(notifier or RecordingNotifier(), push),
        taxonomy=taxonomy or default_taxonomy(),
        broker=broker,
        push=push,
        relay=relay,
    )


def install_people(app: FastAPI, services: PeopleServices, *, manage_lifespan: bool = True) -> PeopleServices:
    """Include the people, live and notifications routers; start/stop the workers with the app."""
    from cloud_api.api.routes import live, notifications, people

    app.state.people = services
    for module in (people, live, notifications):
        app.include_router(module.router)
    if manage_lifespan:
        inner = app.router.lifespan_context

        @contextlib.asynccontextmanager
        async def lifespan(a: Any) -> AsyncIterator[Any]:
            services.start()
            try:
                async with inner(a) as state:
                    yield state
            finally:
                services.stop()

        app.router.lifespan_context = lifespan
    return services


def get_services(request: Request) -> PeopleServices:
    services: PeopleServices = request.app.state.people
    return services
