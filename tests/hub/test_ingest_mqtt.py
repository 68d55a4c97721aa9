"""Ingest through the real Mosquitto broker: acks after commit, redelivery after a crash, DB outage back-off."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from cloud_api.config import IngestConfig, MqttConfig
from cloud_api.context import HubContext
from cloud_api.db.models import Case, Device, Quarantine, ViolationEventRow
from cloud_api.db.session import Database
from cloud_api.ingest.worker import IngestWorker
from cloud_api.services.ingest import IngestService
from tests.hub.helpers import World, event_payload, new_key, status_payload
from tests.support.waiting import wait_for


def _broker_reason() -> str | None:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=2).close()
    except OSError as exc:
        return f"Mosquitto at 127.0.0.1:1883 unreachable: {exc}"
    return None


pytestmark = [pytest.mark.mqtt, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _need_broker() -> None:
    reason = _broker_reason()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def mworld(hub: HubContext) -> World:
    """Unique ids so other tests using the same broker never collide with ours."""
    return World(hub, suffix=f"-{uuid.uuid4().hex[:8]}")


class Publisher:
    def __init__(self) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        info = self.client.publish(topic, payload, qos=qos)
        info.wait_for_publish(timeout=10)
        assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher() -> Iterator[Publisher]:
    pub = Publisher()
    yield pub
    pub.close()


class FlakyDatabase(Database):
    """A real database that can be switched 'down': sessions fail like a lost connection."""

    down = False

    @contextmanager
    def session(self) -> Iterator[Any]:
        if self.down:
            raise OperationalError("SELECT 1", {}, Exception("connection refused (simulated outage)"))
        with super().session() as s:
            yield s


class AckLog:
    """Topics that reached the ack step (the broker shares traffic with other projects: filter by ours)."""

    def __init__(self) -> None:
        self.topics: list[str] = []

    def __call__(self, message: mqtt.MQTTMessage, outcome: object) -> None:
        self.topics.append(message.topic)

    def count(self, topic: str) -> int:
        return self.topics.count(topic)


def make_worker(
    hub: HubContext,
    client_id: str,
    group: str,
    service: IngestService | None = None,
    before_ack: Callable[..., None] | None = None,
    schools: tuple[str, ...] = (),
    batch_size: int = IngestConfig().batch_size,
) -> IngestWorker:
    worker = IngestWorker(
        service or hub.ingest_service(),
        MqttConfig(client_id=client_id, share_group=group, session_expiry_s=30, schools=schools),
        IngestConfig(retry_initial_s=0.05, retry_max_s=0.2, batch_size=batch_size),
        hub.metrics,
        before_ack=before_ack,
    )
    worker.start()
    assert worker.connected
    wait_for(lambda: worker.client.is_connected(), 5, what="subscription")
    return worker


def cases(hub: HubContext, school: str) -> int:
    with hub.db.session() as s:
        return s.scalar(select(func.count()).select_from(Case).where(Case.school_id == school)) or 0


def quarantined(hub: HubContext, device: str, reason: str) -> int:
    with hub.db.session() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(Quarantine)
                .where(Quarantine.device_id == device, Quarantine.reason == reason)
            )
            or 0
        )


def _ids() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    return f"hubtest-{tag}", f"grp{tag}"


def test_event_replay_bad_signature_unknown_and_garbage(hub: HubContext, mworld: World, publisher: Publisher) -> None:
    client_id, group = _ids()
    acks = AckLog()
    worker = make_worker(hub, client_id, group, before_ack=acks, schools=(mworld.school_a,))
    try:
        payload, _ = mworld.event()
        publisher.publish(mworld.topic(), payload)
        wait_for(lambda: cases(hub, mworld.school_a) == 1, 20, what="case from a valid event")
        publisher.publish(mworld.topic(), payload)  # replay
        wait_for(lambda: hub.metrics.value("duplicate") >= 1, 20, what="duplicate counted")
        tampered, _ = mworld.event(tamper=True)
        publisher.publish(mworld.topic(), tampered)
        wait_for(lambda: quarantined(hub, mworld.device, "bad_signature") == 1, 20, what="bad signature quarantined")

        ghost = f"ghost-{uuid.uuid4().hex[:6]}"
        unknown, _ = event_payload(new_key(), school_id=mworld.school_a, device_id=ghost, camera_id="c1")
        publisher.publish(mworld.topic(device=ghost), unknown)
        wait_for(lambda: quarantined(hub, ghost, "unknown_device") == 1, 20, what="unknown device rejected")
        publisher.publish(mworld.topic(), b"\x00garbage that is not an envelope")
        second, _ = mworld.event(track_id=99)
        publisher.publish(mworld.topic(), second)  # the worker keeps running after garbage
        wait_for(lambda: cases(hub, mworld.school_a) == 2, 20, what="second case after garbage")
        assert quarantined(hub, mworld.device, "bad_magic") == 1
        assert hub.metrics.value("accepted", "event") == 2
        assert hub.metrics.value("rejected", "unknown_device") >= 1  # other projects share the broker
        wait_for(lambda: acks.count(mworld.topic()) == 5, 5, what="all our events acked")
    finally:
        worker.stop()
    assert cases(hub, mworld.school_a) == 2


def test_crash_after_commit_before_ack_is_redelivered_and_processed_once(
    hub: HubContext, mworld: World, publisher: Publisher
) -> None:
    client_id, group = _ids()
    committed: list[str] = []

    def die(message: mqtt.MQTTMessage, outcome: object) -> None:
        if message.topic != mworld.topic():
            return  # other projects' traffic on the shared broker
        committed.append(message.topic)
        raise RuntimeError("simulated crash between commit and ack")

    first = make_worker(hub, client_id, group, before_ack=die, schools=(mworld.school_a,))
    payload, _ = mworld.event()
    publisher.publish(mworld.topic(), payload)
    wait_for(lambda: committed, 20, what="first worker committed")
    first.crash()
    assert cases(hub, mworld.school_a) == 1
    acks = AckLog()
    second = make_worker(
        hub, client_id, group, before_ack=acks, schools=(mworld.school_a,)
    )  # same session: the broker redelivers it
    try:
        wait_for(lambda: hub.metrics.value("duplicate") >= 1, 30, what="redelivery")
        wait_for(lambda: acks.count(mworld.topic()) == 1, 5, what="redelivered message acked")
    finally:
        second.stop()
    with hub.db.session() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(ViolationEventRow)
                .where(ViolationEventRow.school_id == mworld.school_a)
            )
            == 1
        )
    assert cases(hub, mworld.school_a) == 1


def test_database_outage_pauses_without_ack_then_resumes(hub: HubContext, mworld: World, publisher: Publisher) -> None:
    client_id, group = _ids()
    flaky = FlakyDatabase(hub.db.url)
    flaky.down = True
    service = IngestService(flaky, hub.storage, hub.config, hub.notifier, hub.taxonomy)
    acks = AckLog()
    worker = make_worker(hub, client_id, group, service=service, before_ack=acks, schools=(mworld.school_a,))
    try:
        payload, _ = mworld.event()
        publisher.publish(mworld.topic(), payload)
        wait_for(lambda: retries(hub) >= 3, 20, what="retries during the outage")
        assert acks.count(mworld.topic()) == 0 and cases(hub, mworld.school_a) == 0
        # the worker dies during the outage: the message is still the broker's
        worker.crash()
    finally:
        flaky.dispose()
    acks = AckLog()
    resumed = make_worker(hub, client_id, group, before_ack=acks, schools=(mworld.school_a,))
    try:
        wait_for(lambda: cases(hub, mworld.school_a) == 1, 30, what="processed after the outage")
        wait_for(lambda: acks.count(mworld.topic()) == 1, 5, what="acked after commit")
    finally:
        resumed.stop()


def test_outage_recovers_in_place_with_backoff(hub: HubContext, mworld: World, publisher: Publisher) -> None:
    client_id, group = _ids()
    flaky = FlakyDatabase(hub.db.url)
    flaky.down = True
    service = IngestService(flaky, hub.storage, hub.config, hub.notifier, hub.taxonomy)
    acks = AckLog()
    worker = make_worker(hub, client_id, group, service=service, before_ack=acks, schools=(mworld.school_a,))
    try:
        publisher.publish(mworld.topic(), mworld.event()[0])
        before = retries(hub)
        wait_for(lambda: retries(hub) >= before + 2, 20, what="retrying")
        assert acks.count(mworld.topic()) == 0
        flaky.down = False
        wait_for(lambda: cases(hub, mworld.school_a) == 1, 20, what="resumed")
        wait_for(lambda: acks.count(mworld.topic()) == 1, 5, what="acked")
    finally:
        worker.stop()
        flaky.dispose()


def test_two_workers_share_the_load(hub: HubContext, mworld: World, publisher: Publisher) -> None:
    _, group = _ids()
    acks_a, acks_b = AckLog(), AckLog()
    a = make_worker(hub, f"hubtest-a-{group}", group, before_ack=acks_a, schools=(mworld.school_a,))
    b = make_worker(hub, f"hubtest-b-{group}", group, before_ack=acks_b, schools=(mworld.school_a,))
    try:
        for track in range(12):
            publisher.publish(mworld.topic(), mworld.event(track_id=track)[0])
        wait_for(lambda: cases(hub, mworld.school_a) == 12, 20, what="all 12 cases")
        topic = mworld.topic()
        wait_for(lambda: acks_a.count(topic) + acks_b.count(topic) == 12, 5, what="all acked")
        assert acks_a.count(topic) > 0 and acks_b.count(topic) > 0
    finally:
        a.stop()
        b.stop()


def test_reconnect_while_handling_never_acks_across_connections(
    hub: HubContext, mworld: World, publisher: Publisher
) -> None:
    """A message held while the connection drops is not acked on the new connection; the broker's resend is."""
    client_id, group = _ids()
    release = threading.Event()
    seen: list[str] = []

    def hold(message: mqtt.MQTTMessage, outcome: Any) -> None:
        if message.topic == mworld.topic():
            seen.append(outcome.outcome)
            if len(seen) == 1:
                release.wait(20)

    worker = make_worker(hub, client_id, group, before_ack=hold, schools=(mworld.school_a,))
    try:
        publisher.publish(mworld.topic(), mworld.event()[0])
        wait_for(lambda: seen == ["accepted"], 20, what="first copy committed and held")
        acked_before = worker.acked
        sock = worker.client.socket()
        assert sock is not None
        sock.close()  # the connection drops while the message is between commit and ack
        wait_for(lambda: not worker.connected, 10, what="disconnect noticed")
        wait_for(lambda: worker.connected, 20, what="reconnected with the session")
        release.set()
        wait_for(lambda: seen == ["accepted", "duplicate"], 20, what="the broker's resend handled")
        wait_for(lambda: worker.acked == acked_before + 1, 10, what="exactly the resend acked")
    finally:
        release.set()
        worker.stop()
    assert cases(hub, mworld.school_a) == 1


def retries(hub: HubContext) -> float:
    return hub.registry.get_sample_value("mingchu_ingest_retries_total") or 0.0


# --- batching ---------------------------------------------------------------------------------------------------


def _event_ids(hub: HubContext, school: str) -> int:
    with hub.db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(ViolationEventRow).where(ViolationEventRow.school_id == school))
            or 0
        )


@pytest.mark.parametrize("batch_size", [IngestConfig().batch_size, 5])
def test_a_burst_is_batched_acked_once_each_in_arrival_order(
    hub: HubContext, mworld: World, publisher: Publisher, batch_size: int
) -> None:
    """While the first message is held between commit and ack, the rest queue up and go through in batches."""
    client_id, group = _ids()
    release = threading.Event()
    order: list[bytes] = []

    def hold(message: mqtt.MQTTMessage, outcome: Any) -> None:
        if message.topic.startswith(f"mingchu/v1/{mworld.school_a}/"):
            order.append(bytes(message.payload))
            if len(order) == 1:
                release.wait(20)

    worker = make_worker(hub, client_id, group, before_ack=hold, schools=(mworld.school_a,), batch_size=batch_size)
    sent: list[bytes] = []
    try:
        first = mworld.event(track_id=0)[0]
        publisher.publish(mworld.topic(), first)
        sent.append(first)
        wait_for(lambda: len(order) == 1, 20, what="first event committed and held")
        for track in range(1, 25):
            if track == 12:  # a status in the middle: applied in order, between two event transactions
                payload = status_payload(mworld.key, school_id=mworld.school_a, device_id=mworld.device, state="online")
                publisher.publish(mworld.topic("status"), payload)
                sent.append(payload)
            payload = mworld.event(track_id=track)[0]
            publisher.publish(mworld.topic(), payload)
            sent.append(payload)
        release.set()
        wait_for(lambda: len(order) == len(sent), 30, what="every message acked")
    finally:
        release.set()
        worker.stop()
    assert order == sent  # acked exactly once each, in arrival order
    assert 1 < worker.largest_batch <= batch_size
    assert cases(hub, mworld.school_a) == 25 and _event_ids(hub, mworld.school_a) == 25
    with hub.db.session() as s:
        device = s.get(Device, mworld.device)
        assert device is not None and device.state == "online"


def test_poison_event_in_a_batch_is_quarantined_alone(
    hub: HubContext, mworld: World, publisher: Publisher, db_url: str
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite stores a NUL character, so the message is not poison there")
    client_id, group = _ids()
    release = threading.Event()
    acks = AckLog()

    def hold(message: mqtt.MQTTMessage, outcome: Any) -> None:
        acks(message, outcome)
        if acks.count(mworld.topic()) == 1:
            release.wait(20)

    worker = make_worker(hub, client_id, group, before_ack=hold, schools=(mworld.school_a,))
    try:
        publisher.publish(mworld.topic(), mworld.event(track_id=0)[0])
        wait_for(lambda: acks.count(mworld.topic()) == 1, 20, what="first event held")
        for track in range(1, 9):
            # valid by the contract but PostgreSQL refuses a NUL character in text
            payload = mworld.event(track_id=track, rule="bad\x00rule" if track == 4 else None)[0]
            publisher.publish(mworld.topic(), payload)
        release.set()
        wait_for(lambda: acks.count(mworld.topic()) == 9, 30, what="all nine acked, the poison too")
    finally:
        release.set()
        worker.stop()
    assert quarantined(hub, mworld.device, "db_refused") == 1
    assert cases(hub, mworld.school_a) == 8 and _event_ids(hub, mworld.school_a) == 8


def test_batch_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        IngestConfig(batch_size=0)
