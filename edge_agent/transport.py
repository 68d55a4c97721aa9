"""MQTT link to the hub (paho-mqtt 2.x, callback API v2): outbox publisher, status, stats, commands.

* Events: read from the :class:`~edge_agent.outbox.Outbox` in order, published QoS 1, deleted on
  PUBACK. Paho keeps unacknowledged messages and resends them on reconnect; after a restart the
  outbox replays whatever was not acknowledged. The hub de-duplicates by ``event_id``.
* Session: ``clean_start=False`` with a session expiry, so commands queued while we were away
  arrive after reconnect.
* Presence: last will = retained ``offline`` DeviceStatus; retained ``online`` on every connect.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge_agent.config import DeviceConfig, MqttConfig
from edge_agent.outbox import Outbox
from mingchu.contract import CONTENT_TYPE, ContractError, Topics, decode, encode
from mingchu.contract.messages import CameraStatus, Command, DeviceStatus, Message
from mingchu.contract.signing import sign

log = logging.getLogger("edge_agent.transport")
AGENT_VERSION = "0.1.0"


class MqttTransport:
    """Owns one paho client and one publisher thread."""

    def __init__(
        self,
        config: MqttConfig,
        device: DeviceConfig,
        outbox: Outbox,
        key: Ed25519PrivateKey,
        public_key_b64: str,
        on_command: Callable[[Command], None] | None = None,
        camera_status: Callable[[], tuple[CameraStatus, ...]] = tuple,
    ) -> None:
        self.config, self.device, self.outbox, self.key = config, device, outbox, key
        self.public_key_b64 = public_key_b64
        self.on_command = on_command
        self.on_ack: Callable[[str], None] | None = None  # called with the event id after PUBACK
        self.camera_status = camera_status
        self.topics = Topics(device.school_id, device.device_id)
        self.connected = threading.Event()
        self.published = 0
        self.acked = 0
        self.bad_commands = 0
        self._v5 = config.protocol == "5"
        self._stop = threading.Event()
        self._stopping = False
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._inflight: dict[int, int] = {}  # paho mid → outbox seq
        self._early: dict[int, bool] = {}  # PUBACKs that beat publish() returning
        self._acks: queue.SimpleQueue[tuple[int, bool]] = queue.SimpleQueue()
        self._handed_seq = 0  # highest outbox seq given to paho in this process
        self._thread: threading.Thread | None = None
        self.client = self._make_client()

    # ---- setup ---------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        c = self.config
        client_id = c.client_id or f"edge-{self.device.school_id}-{self.device.device_id}"
        if self._v5:
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5)
        else:
            client = mqtt.Client(
                CallbackAPIVersion.VERSION2,
                client_id=client_id,
                clean_session=False,
                protocol=MQTTProtocolVersion.MQTTv311,
            )
        if c.username:
            client.username_pw_set(c.username, c.password)
        if c.tls is not None:
            client.tls_set(
                ca_certs=str(c.tls.ca_file) if c.tls.ca_file else None,
                certfile=str(c.tls.cert_file) if c.tls.cert_file else None,
                keyfile=str(c.tls.key_file) if c.tls.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
            client.tls_insecure_set(c.tls.insecure)
        client.max_inflight_messages_set(c.max_inflight)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        offline = self.status_message("offline")
        client.will_set(self.topics.status, encode(offline), qos=1, retain=True, properties=self._props())
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def _props(self) -> Properties | None:
        if not self._v5:
            return None
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.ContentType = CONTENT_TYPE
        return props

    def status_message(self, state: str) -> DeviceStatus:
        status = DeviceStatus(
            school_id=self.device.school_id,
            device_id=self.device.device_id,
            sent_at=datetime.now(UTC),
            state=state,  # type: ignore[arg-type]
            agent_version=AGENT_VERSION,
            public_key=self.public_key_b64,
            cameras=self.camera_status() if state == "online" else (),
        )
        return sign(status, self.key)

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        props = None
        if self._v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = self.config.session_expiry_s
        c = self.config
        if self._v5:
            self.client.connect_async(c.host, c.port, c.keepalive_s, clean_start=False, properties=props)
        else:
            self.client.connect_async(c.host, c.port, c.keepalive_s)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._publisher, name="outbox-publisher", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Publish a retained offline status (a clean stop does not trigger the will), then close."""
        self._stop.set()
        self._wake.set()
        self._stopping = True
        if self._thread is not None:
            self._thread.join(timeout_s)
        if self.connected.is_set():
            info = self.client.publish(
                self.topics.status, encode(self.status_message("offline")), qos=1, retain=True, properties=self._props()
            )
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout_s)
        self.client.disconnect()
        self.client.loop_stop()

    def wake(self) -> None:
        """Tell the publisher a new event is in the outbox."""
        self._wake.set()

    # ---- paho callbacks (network thread) -------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: object, flags: object, reason: object, _p: object) -> None:
        if getattr(reason, "is_failure", False):
            log.error("MQTT connect refused by %s:%d: %s", self.config.host, self.config.port, reason)
            return
        log.info("MQTT connected to %s:%d (session present: %s)", self.config.host, self.config.port, flags)
        client.publish(self.topics.status, encode(self.status_message("online")), 1, True, self._props())
        client.subscribe(self.topics.commands, qos=1)
        self.connected.set()
        self._wake.set()

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        if self._stopping:
            log.info("MQTT disconnected (agent stopping)")
        elif self.connected.is_set():
            log.warning("MQTT disconnected (%s); paho reconnects and resends unacknowledged events", reason)
        self.connected.clear()

    def _on_publish(self, _c: mqtt.Client, _u: object, mid: int, reason: object, _p: object) -> None:
        ok = not getattr(reason, "is_failure", False)
        with self._lock:
            seq = self._inflight.pop(mid, None)
            if seq is None:
                self._early[mid] = ok
                return
        self._acks.put((seq, ok))
        self._wake.set()

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        """Commands: anything malformed is logged and dropped; the agent never crashes on input."""
        try:
            envelope = decode(bytes(msg.payload))
            command = envelope.message
            if not isinstance(command, Command):
                raise ContractError("wrong_kind", f"expected a command, got {type(command).__name__}")
            if (command.school_id, command.device_id) != (self.device.school_id, self.device.device_id):
                raise ContractError("wrong_device", "command addressed to another device")
            if not msg.topic.endswith("/cmd/" + command.name):
                raise ContractError("wrong_topic", f"command {command.name!r} arrived on {msg.topic}")
        except ContractError as exc:
            self.bad_commands += 1
            log.warning("ignored malformed command on %s: %s", msg.topic, exc)
            return
        if self.on_command is None:
            return
        try:
            self.on_command(command)
        except Exception:  # a command handler bug must not kill the network thread
            self.bad_commands += 1
            log.exception("command %s failed", command.name)

    # ---- sending -------------------------------------------------------------------------
    def publish_message(
        self, topic: str, message: Message, attachments: dict[str, bytes] | None = None, qos: int = 0
    ) -> bool:
        """Replies, stats, live frames: not durable, dropped when offline."""
        if not self.connected.is_set():
            return False
        info = self.client.publish(topic, encode(message, attachments), qos=qos, properties=self._props())
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def _publisher(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            self._drain_acks()
            if not self.connected.is_set():
                continue
            with self._lock:
                room = self.config.max_inflight - len(self._inflight)
            if room <= 0:
                continue
            for item in self.outbox.pending(self._handed_seq, room):
                info = self.client.publish(item.topic, item.payload, qos=1, properties=self._props())
                if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                    log.warning("publish of %s failed (rc %s); will retry", item.event_id, info.rc)
                    break
                self._handed_seq = item.seq
                self.published += 1
                with self._lock:
                    early = self._early.pop(info.mid, None)
                    if early is None:
                        self._inflight[info.mid] = item.seq
                if early is not None:
                    self._acks.put((item.seq, early))
                    self._wake.set()
        self._drain_acks()

    def _drain_acks(self) -> None:
        while True:
            try:
                seq, ok = self._acks.get_nowait()
            except queue.Empty:
                return
            if ok:
                event_id = self.outbox.ack(seq)
                self.acked += 1
                if event_id is not None and self.on_ack is not None:
                    self.on_ack(event_id)
            else:
                log.error("broker rejected event (outbox seq %d); it stays queued for the next restart", seq)

    @property
    def inflight(self) -> int:
        with self._lock:
            return len(self._inflight)
