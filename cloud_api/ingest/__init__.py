"""The MQTT ingest worker: shared subscription, manual acks after commit, back-off on database outages."""

from cloud_api.ingest.metrics import IngestMetrics
from cloud_api.ingest.worker import IngestWorker

__all__ = ["IngestMetrics", "IngestWorker"]
