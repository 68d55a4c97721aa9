"""Everything a running hub shares, built once by :func:`build_context` and hung on ``app.state.hub``."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from cloud_api.config import HubConfig
from cloud_api.db.session import Database
from cloud_api.ingest.metrics import IngestMetrics
from cloud_api.services.ingest import IngestService
from cloud_api.services.notifier import Notifier, RecordingNotifier
from cloud_api.storage import Storage, create_storage
from mingchu.taxonomy import Taxonomy, default_taxonomy


@dataclass
class HubContext:
    config: HubConfig
    db: Database
    storage: Storage
    notifier: Notifier
    taxonomy: Taxonomy
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    metrics: IngestMetrics = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = IngestMetrics(self.registry)

    def ingest_service(self) -> IngestService:
        return IngestService(self.db, self.storage, self.config, self.notifier, self.taxonomy)


def build_context(
    config: HubConfig,
    *,
    db: Database | None = None,
    storage: Storage | None = None,
    notifier: Notifier | None = None,
) -> HubContext:
    return HubContext(
        config=config,
        db=db or Database(config.database.url, echo=config.database.echo),
        storage=storage or create_storage(config.storage),
        notifier=notifier or RecordingNotifier(),
        taxonomy=default_taxonomy(),
    )
