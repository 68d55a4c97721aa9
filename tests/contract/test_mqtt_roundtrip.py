"""A signed event with two JPEGs crosses the real Mosquitto broker intact, over MQTT 5."""

from __future__ import annotations

import os
import queue
import uuid

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from mingchu.contract import CONTENT_TYPE, Topics, ViolationEvent, decode, encode
from mingchu.contract.signing import public_key_bytes, sign, verify
from tests.contract.make_golden import JPEG, SAMPLES

pytestmark = [pytest.mark.mqtt]

HOST = os.environ.get("MINGCHU_TEST_MQTT_HOST", "127.0.0.1")
PORT = int(os.environ.get("MINGCHU_TEST_MQTT_PORT", "1883"))


def _client(name: str) -> mqtt.Client:
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=f"{name}-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
    )
    client.connect(HOST, PORT)
    return client


def test_signed_event_round_trip_through_mosquitto() -> None:
    school = f"rt-{uuid.uuid4().hex[:8]}"
    topics = Topics(school, "edge-01")
    raw = dict(
        SAMPLES["violation_event"], school_id=school, place=dict(SAMPLES["violation_event"]["place"], school_id=school)
    )
    key = Ed25519PrivateKey.generate()
    event = sign(ViolationEvent.model_validate(raw), key)
    payload = encode(event, {"annotated": JPEG, "clean": JPEG})

    received: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    subscriber = _client("sub")
    subscriber.on_message = lambda _c, _u, msg: received.put(msg)
    subscribed = queue.Queue[int]()
    subscriber.on_subscribe = lambda *_a: subscribed.put(1)
    subscriber.subscribe(topics.events, qos=1)
    subscriber.loop_start()
    subscribed.get(timeout=5)

    publisher = _client("pub")
    publisher.loop_start()
    props = Properties(PacketTypes.PUBLISH)
    props.ContentType = CONTENT_TYPE
    publisher.publish(topics.events, payload, qos=1, properties=props).wait_for_publish(timeout=5)

    try:
        message = received.get(timeout=10)
    finally:
        for c in (publisher, subscriber):
            c.loop_stop()
            c.disconnect()
    assert message.properties.ContentType == CONTENT_TYPE
    envelope = decode(message.payload)
    assert envelope.message == event
    assert envelope.attachments == {"annotated": JPEG, "clean": JPEG}
    verify(envelope.message, public_key_bytes(key.public_key()))
