"""The whole agent against a real Mosquitto: events, status, stats, commands, crash recovery."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge_agent.app import EdgeApp
from edge_agent.config import EdgeConfig
from edge_agent.detections import Detections
from edge_agent.model import LabelMapper, LoadedModel
from mingchu.contract import ContractError, Topics, decode, encode
from mingchu.contract.messages import (
    Command,
    CommandReply,
    DeviceStats,
    DeviceStatus,
    LiveFrame,
    LiveParams,
    ModelInfo,
    ViolationEvent,
)
from mingchu.contract.signing import verify
from tests.edge.conftest import MQTT_PORT, Collector, FakeSource, PrivateBroker, ScriptedDetector, dets, edge_config

pytestmark = [pytest.mark.mqtt]
ROOT = Path(__file__).resolve().parents[2]


class PassThroughTracker:
    def update(self, detections: Detections, now: float | None = None) -> Detections:
        return detections


def agent_config(tmp_path: Path, port: int = MQTT_PORT, **extra: object) -> EdgeConfig:
    return edge_config(
        tmp_path,
        mqtt={"port": port, "keepalive_s": 5, "stats_interval_s": 0.5},
        rules={"pest_intrusion": {"min_duration_s": 0, "cooldown_s": 0, "realarm_s": 0.3}},
        **extra,
    )


@pytest.fixture
def app_factory() -> Iterator[Callable[..., EdgeApp]]:
    apps: list[EdgeApp] = []

    def make(config: EdgeConfig, script: Callable[[int], Detections], **kwargs: object) -> EdgeApp:
        detector = ScriptedDetector(script)
        app = EdgeApp(
            config,
            model_factory=lambda: LoadedModel(detector, LabelMapper("mingchu", {}), ModelInfo(name="scripted")),  # type: ignore[arg-type]
            source_factory=kwargs.pop("source_factory", lambda cam: FakeSource(cam.id)),  # type: ignore[arg-type]
            tracker_factory=PassThroughTracker,
            use_motion_gate=False,
            **kwargs,  # type: ignore[arg-type]
        )
        apps.append(app.start())
        return app

    yield make
    for app in apps:
        app.stop()


def messages_of(col: Collector, kind: type) -> list:
    out = []
    for _topic, payload, _retain in col.snapshot():
        try:
            msg = decode(payload).message
        except ContractError:  # the malformed commands the test itself sent
            continue
        if isinstance(msg, kind):
            out.append(msg)
    return out


def test_events_status_and_stats_reach_the_broker(
    tmp_path: Path, collector_factory: Callable[..., Collector], app_factory: Callable[..., EdgeApp]
) -> None:
    cfg = agent_config(tmp_path)
    topics = Topics("s1", cfg.device.device_id)
    col = collector_factory(topics.base + "/#")
    calls = {"n": 0}

    def script(i: int) -> Detections:
        calls["n"] = i
        return dets(("cat", (20, 20, 120, 120), 4)) if i < 12 else Detections.empty()  # ~0.6 s of cat

    app = app_factory(cfg, script)
    assert col.wait_for(lambda m: any(t == topics.events for t, _p, _r in m), 15), "no event published"
    assert col.wait_for(lambda m: any(t == topics.stats for t, _p, _r in m), 10), "no stats published"
    status = messages_of(col, DeviceStatus)
    assert status and status[0].state == "online" and status[0].public_key == app.public_key
    assert status[0].cameras[0].camera_id == "cam1"
    events = messages_of(col, ViolationEvent)
    for ev in events:
        verify(ev, base64.b64decode(status[0].public_key))
        assert ev.violation_class == "pest_intrusion" and ev.place.camera_id == "cam1"
    assert len({ev.event_id for ev in events}) == len(events)
    deadline = time.monotonic() + 10
    while app.outbox.depth and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app.outbox.depth == 0  # deleted after PUBACK
    assert len(app.latencies_s) == app.transport.acked >= 1  # detection → PUBACK measured per event
    assert all(0 < s < 10 for s in app.latencies_s)
    stats = messages_of(col, DeviceStats)
    assert stats[0].cameras[0].camera_id == "cam1" and stats[0].cameras[0].detect_fps > 0


def _command(cfg: EdgeConfig, name: str, camera: str = "cam1", live: LiveParams | None = None, **over: object) -> bytes:
    cmd = Command(
        school_id=str(over.get("school_id", "s1")),
        device_id=str(over.get("device_id", cfg.device.device_id)),
        sent_at=datetime.now(UTC),
        command_id=uuid.uuid4(),
        name=name,  # type: ignore[arg-type]
        camera_id=camera,
        live=live,
    )
    return encode(cmd)


def _publisher() -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"hub-{uuid.uuid4().hex[:8]}", protocol=MQTTProtocolVersion.MQTTv5
    )
    client.connect("127.0.0.1", MQTT_PORT)
    client.loop_start()
    return client


def test_commands_snapshot_live_and_malformed(
    tmp_path: Path, collector_factory: Callable[..., Collector], app_factory: Callable[..., EdgeApp]
) -> None:
    cfg = agent_config(tmp_path)
    topics = Topics("s1", cfg.device.device_id)
    col = collector_factory(topics.base + "/#")
    app = app_factory(cfg, lambda _i: Detections.empty())
    assert app.transport.connected.wait(10)
    time.sleep(0.3)  # subscription settles
    hub = _publisher()
    try:
        # malformed first: garbage, wrong kind, another device's command, wrong topic, unknown camera
        for topic, payload in (
            (topics.command("snapshot"), b"garbage"),
            (topics.command("snapshot"), b"MCH1\x00\x00\x00\x05{bad}"),
            (topics.command("snapshot"), encode(app.stats())),
            (topics.command("snapshot"), _command(cfg, "snapshot", device_id="other")),
            (topics.command("live_stop"), _command(cfg, "snapshot")),
        ):
            hub.publish(topic, payload, qos=1).wait_for_publish(5)
        hub.publish(topics.command("snapshot"), _command(cfg, "snapshot", camera="nope"), qos=1).wait_for_publish(5)
        assert col.wait_for(lambda _m: app.transport.bad_commands >= 5, 10)
        assert col.wait_for(lambda _m: len(messages_of(col, CommandReply)) >= 1, 10)
        assert messages_of(col, CommandReply)[0].ok is False  # unknown camera gets an error reply

        hub.publish(topics.command("snapshot"), _command(cfg, "snapshot"), qos=1).wait_for_publish(5)
        assert col.wait_for(lambda _m: any(r.ok for r in messages_of(col, CommandReply)), 10)
        reply = next(r for r in messages_of(col, CommandReply) if r.ok)
        env = next(
            decode(p)
            for t, p, _r in col.snapshot()
            if t == topics.reply and decode(p).message.command_id == reply.command_id
        )
        img = cv2.imdecode(np.frombuffer(env.attachments["snapshot"], np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == (240, 320, 3)  # full resolution of the (fake) camera

        live = LiveParams(max_width=160, fps=5, lease_s=1.5)
        hub.publish(topics.command("live_start"), _command(cfg, "live_start", live=live), qos=1).wait_for_publish(5)
        assert col.wait_for(lambda _m: len(messages_of(col, LiveFrame)) >= 3, 10)
        frames = messages_of(col, LiveFrame)
        assert frames[0].attachments[0].width == 160
        assert [f.seq for f in frames[:3]] == [0, 1, 2]
        time.sleep(2.0)  # the lease (1.5 s) runs out by itself
        count = len(messages_of(col, LiveFrame))
        time.sleep(0.8)
        assert len(messages_of(col, LiveFrame)) == count
        assert count <= 1.5 * 5 + 3  # about fps × lease
        assert app.commands.live_cameras() == []
    finally:
        hub.loop_stop()
        hub.disconnect()


def test_failing_camera_does_not_stop_others(
    tmp_path: Path, collector_factory: Callable[..., Collector], app_factory: Callable[..., EdgeApp]
) -> None:
    cams = [
        {"id": "cam1", "room_id": "r1", "room_type": "prep", "url": "fake"},
        {"id": "cam2", "room_id": "r1", "room_type": "prep", "url": "broken"},
    ]
    cfg = agent_config(tmp_path, cameras=cams)

    def source(cam: object) -> FakeSource:
        if cam.id == "cam2":  # type: ignore[attr-defined]
            raise OSError("camera unreachable")
        return FakeSource(cam.id)  # type: ignore[attr-defined]

    app = app_factory(cfg, lambda _i: dets(("cat", (20, 20, 120, 120), 4)), source_factory=source)
    deadline = time.monotonic() + 10
    while app.events_recorded < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = app.supervisor.workers
    assert app.events_recorded >= 2 and workers["cam1"].counters.frames > 5
    assert workers["cam2"].counters.errors >= 1 and workers["cam2"].alive


def _write_config(tmp_path: Path, port: int) -> Path:
    cfg = agent_config(tmp_path, port=port).model_dump(mode="json")
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def _child(config: Path, mode: str, out: list[str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.edge.agent_child", str(config), mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.append(line.strip())

    threading.Thread(target=pump, daemon=True).start()
    return proc


def _wait(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.slow
def test_kill_9_while_broker_down_then_every_event_arrives_once(tmp_path: Path, private_broker: PrivateBroker) -> None:
    """Agent produces events with its broker stopped, is SIGKILLed, then broker and agent restart."""
    config = _write_config(tmp_path, private_broker.port)
    lines: list[str] = []
    proc = _child(config, "produce", lines)
    try:
        _wait(lambda: sum(line.startswith("EVENT") for line in lines) >= 8, 30, "8 events in the outbox")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    produced = {line.split()[1] for line in lines if line.startswith("EVENT") and line.endswith(" 1")}
    assert len(produced) >= 8

    private_broker.start()
    from tests.edge.conftest import subscribe

    device = yaml.safe_load(config.read_text())["device"]["device_id"]
    col = subscribe(f"mingchu/v1/s1/{device}/events", port=private_broker.port)
    lines2: list[str] = []
    proc2 = _child(config, "replay", lines2)
    try:
        got = lambda: {str(decode(p).message.event_id) for _t, p, _r in col.snapshot()}  # noqa: E731
        _wait(lambda: produced <= got(), 60, "all events after restart")
        time.sleep(1.0)  # give duplicates a chance to show up
        ids = [str(decode(p).message.event_id) for _t, p, _r in col.snapshot()]
        assert set(ids) == produced  # nothing lost, nothing invented
        assert len(ids) == len(set(ids))  # each exactly once
    finally:
        proc2.send_signal(signal.SIGTERM)
        proc2.wait(15)
        col.client.disconnect()
        col.client.loop_stop()
    assert proc2.returncode == 0


@pytest.mark.slow
def test_last_will_marks_a_killed_agent_offline(tmp_path: Path, private_broker: PrivateBroker) -> None:
    private_broker.start()
    config = _write_config(tmp_path, private_broker.port)
    device = yaml.safe_load(config.read_text())["device"]["device_id"]
    from tests.edge.conftest import subscribe

    col = subscribe(f"mingchu/v1/s1/{device}/status", port=private_broker.port)
    lines: list[str] = []
    proc = _child(config, "replay", lines)
    try:
        _wait(lambda: any(decode(p).message.state == "online" for _t, p, _r in col.snapshot()), 20, "online status")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    # keepalive 5 s → the broker gives up after 1.5 × keepalive and publishes the will
    _wait(lambda: any(decode(p).message.state == "offline" for _t, p, _r in col.snapshot()), 20, "offline will")
    col.client.disconnect()
    col.client.loop_stop()


def test_dead_camera_raises_one_offline_event(
    tmp_path: Path, collector_factory: Callable[..., Collector], app_factory: Callable[..., EdgeApp]
) -> None:
    cfg = edge_config(
        tmp_path,
        mqtt={"port": MQTT_PORT, "keepalive_s": 5},
        rules={"camera_offline": {"offline_s": 1.0, "realarm_s": 0}},
    )
    topics = Topics("s1", cfg.device.device_id)
    col = collector_factory(topics.events)
    app = app_factory(cfg, lambda _i: Detections.empty(), source_factory=lambda cam: FakeSource(cam.id, dead=True))
    assert col.wait_for(lambda m: len(m) >= 1, 15), "no camera_offline event"
    time.sleep(2.5)  # the outage goes on: still one event
    events = messages_of(col, ViolationEvent)
    assert len(events) == 1
    assert events[0].violation_class == "camera_offline" and events[0].attachments == ()
    assert events[0].duration_s >= 1.0
    assert app.camera_status()[0].state == "offline"
