"""TLS and username/password against a real Mosquitto we configure for the test."""

from __future__ import annotations

import datetime as dt
import ipaddress
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge_agent.app import EdgeApp
from edge_agent.detections import Detections
from edge_agent.model import LabelMapper, LoadedModel
from mingchu.contract import decode
from mingchu.contract.messages import ModelInfo, ViolationEvent
from tests.edge.conftest import FakeSource, PrivateBroker, ScriptedDetector, dets, edge_config

pytestmark = [pytest.mark.mqtt]


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_pki(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 (files: ca.pem, server.pem, server.key)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("mingchu test CA"))
        .issuer_name(_name("mingchu test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


@pytest.fixture
def secure_broker(tmp_path: Path, private_broker: PrivateBroker) -> PrivateBroker:
    ca, cert, key = make_pki(tmp_path)
    passwd = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwd), "edge", "s3cret"], check=True, capture_output=True)
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), "hub", "hubpw"], check=True, capture_output=True)
    private_broker.configure(
        f"cafile {ca}\ncertfile {cert}\nkeyfile {key}\nallow_anonymous false\npassword_file {passwd}\n"
    )
    return private_broker.start()


def _tls_subscriber(port: int, ca: Path, topic: str) -> tuple[mqtt.Client, list[bytes]]:
    got: list[bytes] = []
    ready = threading.Event()
    c = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"hub-{uuid.uuid4().hex[:8]}", protocol=MQTTProtocolVersion.MQTTv5
    )
    c.tls_set(ca_certs=str(ca))
    c.username_pw_set("hub", "hubpw")
    c.on_connect = lambda cl, *_a: cl.subscribe(topic, qos=1)
    c.on_subscribe = lambda *_a: ready.set()
    c.on_message = lambda _c, _u, m: got.append(bytes(m.payload))
    c.connect("127.0.0.1", port)
    c.loop_start()
    assert ready.wait(10), "TLS subscriber could not subscribe"
    return c, got


def _app(tmp_path: Path, port: int, password: str, tls: bool = True) -> EdgeApp:
    cfg = edge_config(
        tmp_path,
        mqtt={
            "port": port,
            "username": "edge",
            "password": password,
            "tls": {"ca_file": str(tmp_path / "ca.pem")} if tls else None,
            "keepalive_s": 5,
        },
        rules={"pest_intrusion": {"min_duration_s": 0, "cooldown_s": 0, "realarm_s": 0.5}},
    )
    cat: Callable[[int], Detections] = lambda _i: dets(("cat", (20, 20, 120, 120), 1))  # noqa: E731
    detector = ScriptedDetector(cat)
    return EdgeApp(
        cfg,
        model_factory=lambda: LoadedModel(detector, LabelMapper("mingchu", {}), ModelInfo(name="s")),  # type: ignore[arg-type]
        source_factory=lambda cam: FakeSource(cam.id),
        tracker_factory=lambda: type("T", (), {"update": lambda self, d, now=None: d})(),
        use_motion_gate=False,
    )


def test_tls_with_password_delivers_events(tmp_path: Path, secure_broker: PrivateBroker) -> None:
    app = _app(tmp_path, secure_broker.port, "s3cret").start()
    sub, got = _tls_subscriber(
        secure_broker.port, tmp_path / "ca.pem", f"mingchu/v1/s1/{app.config.device.device_id}/events"
    )
    try:
        assert app.transport.connected.wait(15), "agent did not connect over TLS"
        deadline = time.monotonic() + 15
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(got) >= 2
        assert isinstance(decode(got[0]).message, ViolationEvent)
    finally:
        app.stop()
        sub.loop_stop()
        sub.disconnect()


@pytest.mark.parametrize(("password", "tls"), [("wrong", True), ("s3cret", False)])
def test_refused_connection_keeps_events_in_outbox(
    tmp_path: Path, secure_broker: PrivateBroker, password: str, tls: bool
) -> None:
    """Wrong password, or plain TCP to a TLS listener: nothing connects, nothing is lost."""
    assert (tmp_path / "ca.pem").is_file()
    app = _app(tmp_path, secure_broker.port, password, tls=tls).start()
    try:
        time.sleep(3.0)
        assert not app.transport.connected.is_set()
        assert app.events_recorded >= 2 and app.outbox.depth == app.events_recorded
    finally:
        app.stop()
