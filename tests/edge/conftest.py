"""Edge-agent test helpers: scripted detector, synthetic frames, real Mosquitto helpers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge_agent.config import EdgeConfig
from edge_agent.detections import Detections
from edge_agent.frame import Frame

MQTT_HOST = "127.0.0.1"
MQTT_PORT = int(os.environ.get("MINGCHU_TEST_MQTT_PORT", "1883"))
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Asia/Shanghai


def textured(width: int = 320, height: int = 240, seed: int = 0) -> np.ndarray:
    """A picture that passes the obstruction checks (bright enough, varied, sharp)."""
    rng = np.random.default_rng(seed)
    return rng.integers(40, 220, (height, width, 3), dtype=np.uint8)


def make_frame(t: float, image: np.ndarray | None = None, camera_id: str = "cam1", start: datetime = T0) -> Frame:
    return Frame(camera_id, int(t * 10), textured() if image is None else image, start + timedelta(seconds=t), t)


def dets(*items: tuple[str, tuple[float, float, float, float], int]) -> Detections:
    """``dets(("person", (x1, y1, x2, y2), track_id), ...)`` with score 0.9."""
    return Detections.from_lists(
        [i[1] for i in items], [0.9] * len(items), [i[0] for i in items], [i[2] for i in items]
    )


def edge_config(tmp_path: Path, **overrides: object) -> EdgeConfig:
    data: dict[str, object] = {
        "device": {
            "school_id": "s1",
            "device_id": f"d{uuid.uuid4().hex[:8]}",
            "canteen_id": "c1",
            "key_file": str(tmp_path / "key.pem"),
        },
        "outbox": {"path": str(tmp_path / "outbox.sqlite3")},
        "metrics": {"enabled": False},
        "cameras": [{"id": "cam1", "name": "切配间", "room_id": "r1", "room_type": "prep", "url": "fake"}],
    }
    data.update(overrides)
    return EdgeConfig.model_validate(data)


class ScriptedDetector:
    """Returns ``script(call_index)``; stands in for the ONNX model at our own seam."""

    def __init__(self, script: Callable[[int], Detections]) -> None:
        self.script, self.calls = script, 0

    def detect(self, image_bgr: object) -> Detections:
        self.calls += 1
        return self.script(self.calls - 1)


class FakeSource:
    """Synthetic frames at ``fps`` (real time), or none at all when ``dead``."""

    def __init__(self, camera_id: str, fps: float = 20.0, dead: bool = False) -> None:
        self.camera_id, self.fps, self.dead = camera_id, fps, dead
        self.seq = 0
        self.image = textured()

    def start(self) -> FakeSource:
        return self

    def read(self, timeout_s: float = 1.0) -> Frame | None:
        if self.dead:
            time.sleep(min(timeout_s, 0.05))
            return None
        time.sleep(1.0 / self.fps)
        self.seq += 1
        return Frame(self.camera_id, self.seq, self.image, datetime.now(UTC), time.monotonic())

    def stop(self, timeout_s: float | None = None) -> bool:
        return True


@dataclass
class Collector:
    """A real MQTT subscriber recording (topic, payload, retain)."""

    client: mqtt.Client
    messages: list[tuple[str, bytes, bool]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, predicate: Callable[[list[tuple[str, bytes, bool]]], bool], timeout_s: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate(self.snapshot()):
                return True
            time.sleep(0.05)
        return False

    def snapshot(self) -> list[tuple[str, bytes, bool]]:
        with self.lock:
            return list(self.messages)


def subscribe(topic_filter: str, port: int = MQTT_PORT, timeout_s: float = 5.0) -> Collector:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:10]}", protocol=MQTTProtocolVersion.MQTTv5
    )
    col = Collector(client)
    subscribed = threading.Event()

    def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        with col.lock:
            col.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    client.on_connect = lambda c, *_a: c.subscribe(topic_filter, qos=1)
    client.connect(MQTT_HOST, port, 30)
    client.loop_start()
    if not subscribed.wait(timeout_s):
        client.loop_stop()
        raise RuntimeError(f"could not subscribe on {MQTT_HOST}:{port}")
    return col


def broker_reachable(port: int = MQTT_PORT) -> bool:
    try:
        with socket.create_connection((MQTT_HOST, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def collector_factory() -> Iterator[Callable[..., Collector]]:
    if not broker_reachable():
        pytest.skip(f"no MQTT broker on {MQTT_HOST}:{MQTT_PORT}")
    made: list[Collector] = []

    def make(topic_filter: str, port: int = MQTT_PORT) -> Collector:
        col = subscribe(topic_filter, port)
        made.append(col)
        return col

    yield make
    for col in made:
        col.client.disconnect()
        col.client.loop_stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((MQTT_HOST, 0))
        return int(s.getsockname()[1])


class PrivateBroker:
    """A Mosquitto we start and stop ourselves, on a port of our own."""

    def __init__(self, port: int, workdir: Path, extra: str = "allow_anonymous true\n") -> None:
        self.port, self.workdir = port, workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf = workdir / "mosquitto.conf"
        self.configure(extra)

    def configure(self, extra: str) -> None:
        """Listener lines after ``listener``: TLS files, password file, anonymous access."""
        # as root, mosquitto would switch to user "mosquitto", which cannot read pytest's 0700 tmp dirs
        user = "user root\n" if os.geteuid() == 0 else ""
        self.conf.write_text(f"persistence false\n{user}listener {self.port} {MQTT_HOST}\n{extra}")

    def start(self) -> PrivateBroker:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.log = self.workdir / "mosquitto.log"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([exe, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not broker_reachable(self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-500:]
                raise RuntimeError(f"mosquitto did not start on port {self.port}: {tail}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.proc = None


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists():
        pytest.skip("mosquitto not installed")
    broker = PrivateBroker(free_port(), tmp_path)
    yield broker
    broker.stop()
