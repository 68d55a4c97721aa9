"""Prometheus counters for ingest, on a registry owned by the app (no process-global metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.messages = Counter(
            "mingchu_ingest_messages",
            "MQTT messages handled, by channel, outcome (accepted/duplicate/rejected/ignored) and reason",
            ["channel", "outcome", "reason"],
            registry=registry,
        )
        self.db_retries = Counter(
            "mingchu_ingest_retries", "handling attempts that failed on the database or storage", registry=registry
        )
        self.pending = Gauge("mingchu_ingest_pending", "messages received but not yet acked", registry=registry)
        self.latency = Histogram(
            "mingchu_ingest_detection_to_case_seconds",
            "from the event's occurred_at to the committed case",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
            registry=registry,
        )

        self.batch_size = Histogram(
            "mingchu_ingest_batch_size",
            "event messages committed per transaction (how well batching works under load)",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=registry,
        )

    def value(self, outcome: str, reason: str | None = None, channel: str | None = None) -> float:
        """Sum of the messages counter over matching labels (for tests and the CLI)."""
        total = 0.0
        for metric in self.messages.collect():
            for sample in metric.samples:
                if not sample.name.endswith("_total"):
                    continue
                labels = sample.labels
                if labels["outcome"] != outcome:
                    continue
                if reason is not None and labels["reason"] != reason:
                    continue
                if channel is not None and labels["channel"] != channel:
                    continue
                total += sample.value
        return total
