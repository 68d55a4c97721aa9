"""MQTT 5 worker: messages are acked only after their transaction commits, so a crash or outage loses nothing.

paho's network thread only queues messages; one handler thread drains what is queued (up to
``batch_size``), handles each run of event messages in ONE transaction (:mod:`cloud_api.ingest.batch`;
per-event commits and round trips were the cost), acks them in arrival order (MQTT wants PUBACKs in
order) and retries database/storage failures with exponential back-off, without acking, until they
succeed or the worker stops (then the broker redelivers them to the session). A batch failing for any
other reason is redone one message at a time, so a poison message is quarantined alone.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from cloud_api.config import IngestConfig, MqttConfig
from cloud_api.db.base import utcnow
from cloud_api.ingest.batch import EventBatch, Item
from cloud_api.ingest.metrics import IngestMetrics
from cloud_api.services.ingest import IngestService, Outcome
from cloud_api.storage import StorageError
from mingchu.contract import ContractError, parse_topic
from mingchu.contract.topics import TOPIC_ROOT, hub_filters

log = logging.getLogger(__name__)

_QOS = {"events": 1, "status": 1, "stats": 0}
# the database or storage is away (not the message's fault): retry the batch as it is, without acking
_TRANSIENT = (OperationalError, InterfaceError, PoolTimeout, StorageError, OSError)
# a database error caused by the message itself (not an outage) is retried this often, then quarantined
_REFUSALS_BEFORE_QUARANTINE = 3


def subscriptions(config: MqttConfig) -> list[tuple[str, int]]:
    """The contract's hub filters, narrowed to ``config.schools`` when set."""
    filters = hub_filters(config.share_group)
    wanted = [(filters[ch], _QOS[ch]) for ch in ("events", "status", "stats")]
    if not config.schools:
        return wanted
    any_school = f"{TOPIC_ROOT}/+/"
    return [(f.replace(any_school, f"{TOPIC_ROOT}/{school}/"), qos) for school in config.schools for f, qos in wanted]


class IngestWorker:
    """One worker process' subscription. ``before_ack`` is a test seam called between commit and ack."""

    def __init__(
        self,
        service: IngestService,
        mqtt_config: MqttConfig,
        ingest_config: IngestConfig,
        metrics: IngestMetrics,
        *,
        before_ack: Callable[[mqtt.MQTTMessage, Outcome], None] | None = None,
        evidence_writers: int = 0,
    ) -> None:
        self.service, self.mqtt_config, self.ingest_config, self.metrics = service, mqtt_config, ingest_config, metrics
        self.before_ack = before_ack
        self.batch_size = ingest_config.batch_size
        self._batch = EventBatch(service, writers=evidence_writers)
        self._queue: queue.Queue[tuple[int, mqtt.MQTTMessage]] = queue.Queue()
        # Packet ids are per connection: a message received on an earlier connection is never acked on a
        # later one (its id may by then name another message). If the broker kept our session it resends
        # those messages itself, so the stale local copies are skipped (``_redelivered_below``).
        self._generation = 0
        self._redelivered_below = 0
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self.acked = 0
        self.largest_batch = 0  # most event messages committed in one transaction (tests, diagnostics)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=mqtt_config.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if mqtt_config.username:
            self.client.username_pw_set(mqtt_config.username, mqtt_config.password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 30)

    # --- lifecycle ----------------------------------------------------------------------------------------------

    def start(self, wait_s: float = 10.0) -> None:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.mqtt_config.session_expiry_s
        props.ReceiveMaximum = self.mqtt_config.receive_maximum
        self.client.connect_async(
            self.mqtt_config.host,
            self.mqtt_config.port,
            keepalive=self.mqtt_config.keepalive_s,
            clean_start=False,
            properties=props,
        )
        self.client.loop_start()
        self._thread = threading.Thread(target=self._run, name=f"ingest-{self.mqtt_config.client_id}", daemon=True)
        self._thread.start()
        if wait_s and not self._connected.wait(wait_s):
            log.warning(
                "ingest: broker %s:%s not reachable yet; retrying", self.mqtt_config.host, self.mqtt_config.port
            )

    def stop(self) -> None:
        """Finish the message in hand (if the database allows), then disconnect; unacked ones stay at the broker."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._batch.close()
        self.client.disconnect()
        self.client.loop_stop()

    def crash(self) -> None:
        """Drop the connection without DISCONNECT or acks, like a killed process (used by tests)."""
        self._stop.set()
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._batch.close()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    # --- paho callbacks (network thread) ------------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: object, flags: Any, reason: object, _p: object = None) -> None:
        if getattr(reason, "is_failure", False):
            log.error("ingest: broker refused connection: %s", reason)
            return
        self._generation += 1
        if getattr(flags, "session_present", False):
            self._redelivered_below = self._generation
        client.subscribe(subscriptions(self.mqtt_config))
        log.info(
            "ingest: connected as %s, subscribed (share group %s)",
            self.mqtt_config.client_id,
            self.mqtt_config.share_group,
        )

    def _on_subscribe(self, _c: mqtt.Client, _u: object, _mid: int, codes: list[Any], _p: object = None) -> None:
        failed = [c for c in codes if getattr(c, "is_failure", False)]
        if failed:
            log.error("ingest: broker refused subscriptions: %s", failed)
            return
        self._connected.set()  # "connected" means subscribed: from now on nothing published is missed
        log.info("ingest: subscribed")

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, reason: object, _p: object = None) -> None:
        self._connected.clear()
        if not self._stop.is_set():
            log.warning("ingest: disconnected (%s); paho reconnects", reason)

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        self.metrics.pending.inc()
        self._queue.put((self._generation, message))

    # --- handler thread -----------------------------------------------------------------------------------------

    def _drain(self) -> list[tuple[int, mqtt.MQTTMessage]]:
        """What is queued right now, up to ``batch_size`` (waits only for the first): batching adds no latency."""
        try:
            batch = [self._queue.get(timeout=0.2)]
        except queue.Empty:
            return []
        while len(batch) < self.batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while not self._stop.is_set():
            fresh: list[tuple[int, mqtt.MQTTMessage]] = []
            for generation, message in self._drain():
                if generation < self._redelivered_below:
                    self.metrics.pending.dec()  # the broker resends it on the current connection
                    continue
                fresh.append((generation, message))
            # runs of event messages go through one transaction each; status/stats one by one, in arrival order
            start = 0
            while start < len(fresh):
                end = start + 1
                if _is_event(fresh[start][1]):
                    while end < len(fresh) and _is_event(fresh[end][1]):
                        end += 1
                    outcomes = self._handle_events_with_retry([m for _, m in fresh[start:end]])
                else:
                    single = self._handle_with_retry(fresh[start][1])
                    outcomes = [] if single is None else [single]
                if not self._ack(fresh[start:end], outcomes):
                    return
                start = end

    def _ack(self, messages: list[tuple[int, mqtt.MQTTMessage]], outcomes: list[Outcome]) -> bool:
        """Ack the committed prefix in arrival order; False when the thread must stop (the rest stay unacked).

        Packet ids are per connection: a message from an earlier connection is never acked on this one.
        """
        for (generation, message), outcome in zip(messages, outcomes, strict=False):
            if self.before_ack is not None:
                try:
                    self.before_ack(message, outcome)
                except Exception:
                    log.exception("before_ack hook failed")
                    return False
            if message.qos > 0 and generation == self._generation:
                self.client.ack(message.mid, message.qos)
                self.acked += 1
            self.metrics.pending.dec()
        return len(outcomes) == len(messages)

    def _handle_events_with_retry(self, messages: list[mqtt.MQTTMessage]) -> list[Outcome]:
        """One transaction for the run; transient failures retry it, others fall back to one by one.

        Returns fewer outcomes than messages only when stopping (those left are not acked).
        """
        delay = self.ingest_config.retry_initial_s
        now = utcnow()
        items = [Item(m.topic, bytes(m.payload), now) for m in messages]
        while True:
            try:
                outcomes = self._batch.handle(items)
                break
            except _TRANSIENT as exc:
                self.metrics.db_retries.inc()
                log.warning(
                    "ingest: batch of %d failed (%s); retrying in %.1fs, not acked",
                    len(items),
                    exc.__class__.__name__,
                    delay,
                )
                if self._stop.wait(delay):
                    return []
                delay = min(delay * 2, self.ingest_config.retry_max_s)
            except Exception as exc:  # e.g. a constraint race or a poison message: isolate it
                log.warning("ingest: batch of %d failed (%r); handling one by one", len(items), exc)
                outcomes = []
                for message in messages:
                    single = self._handle_with_retry(message)
                    if single is None:
                        return outcomes
                    outcomes.append(single)
                return outcomes
        self.metrics.batch_size.observe(len(items))
        self.largest_batch = max(self.largest_batch, len(items))
        for message, outcome in zip(messages, outcomes, strict=True):
            self._count(message, outcome)
        return outcomes

    def _count(self, message: mqtt.MQTTMessage, outcome: Outcome) -> None:
        channel = message.topic.rsplit("/", 1)[-1]
        self.metrics.messages.labels(channel, outcome.outcome, outcome.reason).inc()
        if outcome.outcome == "accepted" and outcome.occurred_at is not None:
            self.metrics.latency.observe(max(0.0, (utcnow() - outcome.occurred_at).total_seconds()))

    def _handle_with_retry(self, message: mqtt.MQTTMessage) -> Outcome | None:
        """One message, own transaction. Outages are retried without end; an error the database raises for
        this message itself (constraint race, value it refuses) is retried a few times, then quarantined."""
        delay = self.ingest_config.retry_initial_s
        refused = 0
        while True:
            try:
                outcome = self.service.handle(message.topic, bytes(message.payload), utcnow())
            except (SQLAlchemyError, StorageError, OSError) as exc:
                self.metrics.db_retries.inc()
                if not isinstance(exc, _TRANSIENT):
                    refused += 1
                    if refused >= _REFUSALS_BEFORE_QUARANTINE:
                        stored = self._quarantine(message, "db_refused", exc)
                        if stored is not None:
                            self._count(message, stored)
                        return stored
                log.warning(
                    "ingest: %s failed (%s); retrying in %.1fs, not acked", message.topic, exc.__class__.__name__, delay
                )
                if self._stop.wait(delay):
                    return None
                delay = min(delay * 2, self.ingest_config.retry_max_s)
                continue
            except Exception as exc:  # a bug must not wedge the queue: quarantine and move on
                log.exception("ingest: unexpected error on %s", message.topic)
                stored = self._quarantine(message, "internal_error", exc)
                if stored is not None:
                    self._count(message, stored)
                return stored
            self._count(message, outcome)
            return outcome

    def _quarantine(self, message: mqtt.MQTTMessage, reason: str, exc: Exception) -> Outcome | None:
        """Store the refused payload; retried while storage/database are away. None when stopping."""
        delay = self.ingest_config.retry_initial_s
        log.warning("ingest: quarantining %s (%s: %r)", message.topic, reason, exc)
        school: str | None = None
        device: str | None = None
        try:
            info = parse_topic(message.topic)
            school, device = info.school_id, info.device_id
        except ContractError:
            pass
        while True:
            try:
                return self.service.quarantine(
                    message.topic, bytes(message.payload), reason, repr(exc), None, school, device
                )
            except (SQLAlchemyError, StorageError, OSError):
                if self._stop.wait(delay):
                    return None
                delay = min(delay * 2, self.ingest_config.retry_max_s)


def _is_event(message: mqtt.MQTTMessage) -> bool:
    return message.topic.endswith("/events")
