"""`mingchu-hub serve` with no config, as a user runs it: SQLite + evidence in the cwd, ingest from the broker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from paho.mqtt.enums import CallbackAPIVersion

from tests.hub.helpers import event_payload
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.mqtt]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_seeded_demo_turns_a_published_event_into_a_case(tmp_path: Path) -> None:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=2).close()
    except OSError as exc:
        pytest.skip(f"Mosquitto unreachable: {exc}")
    hub_cmd = [sys.executable, "-m", "cloud_api.cli"]
    env = {
        **os.environ,
        "MINGCHU_HUB__MQTT__CLIENT_ID": f"e2e-{uuid.uuid4().hex[:8]}",
        "MINGCHU_HUB__MQTT__SHARE_GROUP": f"e2e{uuid.uuid4().hex[:8]}",
        "MINGCHU_HUB__MQTT__SESSION_EXPIRY_S": "10",
        "MINGCHU_HUB__MQTT__SCHOOLS": "[school-a]",
    }
    subprocess.run([*hub_cmd, "seed-demo", "--key-dir", "keys"], cwd=tmp_path, env=env, check=True, timeout=120)
    port = _free_port()
    proc = subprocess.Popen(
        [*hub_cmd, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _health(f"{base}/healthz") == "subscribed", 60, 0.2, "hub up and subscribed")
        token = httpx.post(f"{base}/api/v1/auth/login", json={"username": "head-a", "password": "mingchu-demo"}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        key = load_pem_private_key((tmp_path / "keys" / "edge-a1.pem").read_bytes(), password=None)
        payload, event = event_payload(key, school_id="school-a", device_id="edge-a1", camera_id="cam-cooking-a")  # type: ignore[arg-type]
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        publisher.connect("127.0.0.1", 1883)
        publisher.loop_start()
        publisher.publish("mingchu/v1/school-a/edge-a1/events", payload, qos=1).wait_for_publish(10)
        publisher.disconnect()
        publisher.loop_stop()
        cases = wait_for(
            lambda: httpx.get(f"{base}/api/v1/cases", headers=headers).json()["data"], 30, 0.2, "case via the API"
        )
        assert cases[0]["violation_class"] == "no_mask" and cases[0]["camera_id"] == "cam-cooking-a"
        metrics = httpx.get(f"{base}/metrics").text
        assert 'mingchu_ingest_messages_total{channel="events",outcome="accepted",reason="event"} 1.0' in metrics
        assert (tmp_path / "mingchu.db").is_file()
        assert list((tmp_path / "evidence").rglob("*-annotated.jpg"))
        assert str(event.event_id)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _health(url: str) -> str:
    try:
        return str(httpx.get(url, timeout=2).json().get("ingest"))
    except (httpx.HTTPError, ValueError):
        return ""


def test_ingest_command_runs_until_terminated(tmp_path: Path) -> None:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=2).close()
    except OSError as exc:
        pytest.skip(f"Mosquitto unreachable: {exc}")
    env = {
        **os.environ,
        "MINGCHU_HUB__MQTT__SHARE_GROUP": f"e2e{uuid.uuid4().hex[:8]}",
        "MINGCHU_HUB__MQTT__SESSION_EXPIRY_S": "5",
        "MINGCHU_HUB__MQTT__SCHOOLS": "[nobody-here]",
    }
    subprocess.run([sys.executable, "-m", "cloud_api.cli", "migrate"], cwd=tmp_path, env=env, check=True, timeout=120)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloud_api.cli", "ingest", "--client-id", f"e2e-{uuid.uuid4().hex[:8]}"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if "ingest: subscribed" in line:
                break
        assert any("subscribed" in line for line in lines), lines
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
