"""Live relay: leases on the edge's live stream while viewers watch, JPEG fan-out, snapshots.

One MQTT connection per hub process with a *plain* (not shared) subscription to live frames and
replies: the process holding the viewers must see every frame, and any process may wait for a
snapshot reply. The edge stops on its own when its lease lapses, so a crashed hub leaks nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import paho.mqtt.client as mqtt

from cloud_api.config import MqttConfig
from cloud_api.people.config import LiveConfig
from mingchu.contract import Command, CommandReply, ContractError, LiveFrame, LiveParams, Topics, decode, encode
from mingchu.contract.topics import TOPIC_ROOT, live_filter, parse_topic

log = logging.getLogger(__name__)
StreamKey = tuple[str, str, str]  # school, device, camera


@dataclass(frozen=True)
class FrameOut:
    """What a viewer receives: the JPEG and when the edge captured it."""

    seq: int
    captured_at: datetime
    jpeg: bytes
    width: int
    height: int


class ViewerLimitReached(Exception):
    pass


@dataclass(eq=False)
class Viewer:
    """One watching client; frames land in ``queue`` on its own event loop (oldest dropped when full)."""

    key: StreamKey
    counted: bool  # counts against the per-camera limit (parents)
    limit: int | None
    hard_until: float | None  # monotonic end of the grant
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[FrameOut | str]
    lease_until: float = 0.0
    ended: str = ""


@dataclass
class _Stream:
    viewers: set[Viewer] = field(default_factory=set)
    edge_lease_until: float = 0.0
    latest: FrameOut | None = None


@dataclass
class _Pending:
    event: threading.Event = field(default_factory=threading.Event)
    reply: CommandReply | None = None
    jpeg: bytes | None = None


class LiveRelay:
    """Thread-safe; :meth:`start` connects and starts the lease ticker."""

    def __init__(
        self, cfg: LiveConfig, mqtt_cfg: MqttConfig, verify_reply: Callable[[CommandReply], bool] | None = None
    ) -> None:
        self.cfg = cfg
        self.mqtt_cfg = mqtt_cfg
        self._verify_reply = verify_reply
        self._lock = threading.Lock()
        self._streams: dict[StreamKey, _Stream] = {}
        self._pending: dict[uuid.UUID, _Pending] = {}
        self._latest: dict[StreamKey, FrameOut] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = threading.Event()
        self.commands_sent: list[tuple[str, StreamKey, float]] = []  # (name, key, monotonic) — recent, for tests
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,  # type: ignore[attr-defined]
            client_id=f"{cfg.client_id}-{uuid.uuid4().hex[:6]}",
            protocol=mqtt.MQTTv5,
        )
        if mqtt_cfg.username:
            self.client.username_pw_set(mqtt_cfg.username, mqtt_cfg.password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, timeout: float | None = None) -> None:
        """Connect in the background (paho keeps retrying); a broker that is down must not stop the API."""
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.connect_async(self.mqtt_cfg.host, self.mqtt_cfg.port, keepalive=self.mqtt_cfg.keepalive_s)
        self.client.loop_start()
        if not self._connected.wait(self.cfg.connect_wait_s if timeout is None else timeout):
            log.warning("live relay: no MQTT connection to %s:%s yet; retrying", self.mqtt_cfg.host, self.mqtt_cfg.port)
        self._thread = threading.Thread(target=self._tick_loop, name="live-leases", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            viewers = [v for s in self._streams.values() for v in s.viewers]
        for viewer in viewers:
            self.leave(viewer, "shutdown")
        self.client.disconnect()  # first, so the network loop wakes up and ends at once
        self.client.loop_stop()

    @property
    def connected(self) -> bool:
        return bool(self.client.is_connected())

    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, reason: object, _p: object = None) -> None:
        client.subscribe([(live_filter(), 0), (f"{TOPIC_ROOT}/+/+/reply", 1)])
        self._connected.set()

    # -- commands --------------------------------------------------------------------------------
    def _send(self, name: str, key: StreamKey, live: LiveParams | None = None) -> uuid.UUID:
        school, device, camera = key
        command_id = uuid.uuid4()
        cmd = Command(
            school_id=school,
            device_id=device,
            sent_at=datetime.now(UTC),
            command_id=command_id,
            name=name,  # type: ignore[arg-type]
            camera_id=camera,
            live=live,
        )
        self.client.publish(Topics(school, device).command(name), encode(cmd), qos=1)
        with self._lock:
            self.commands_sent.append((name, key, time.monotonic()))
            del self.commands_sent[:-200]
        return command_id

    def _live_params(self) -> LiveParams:
        return LiveParams(max_width=self.cfg.max_width, fps=self.cfg.fps, lease_s=self.cfg.edge_lease_s)

    def snapshot(self, key: StreamKey, timeout: float | None = None) -> tuple[bytes, int, int] | None:
        """Ask the edge for a full-resolution JPEG; None on timeout, refusal or a bad reply."""
        if not self.connected:
            return None
        pending = _Pending()
        command_id = uuid.uuid4()
        with self._lock:
            self._pending[command_id] = pending
        school, device, camera = key
        cmd = Command(
            school_id=school,
            device_id=device,
            sent_at=datetime.now(UTC),
            command_id=command_id,
            name="snapshot",
            camera_id=camera,
        )
        try:
            self.client.publish(Topics(school, device).command("snapshot"), encode(cmd), qos=1)
            got = pending.event.wait(timeout or self.cfg.snapshot_timeout_s)
        finally:
            with self._lock:
                self._pending.pop(command_id, None)
        reply = pending.reply
        if not got or reply is None or not reply.ok or pending.jpeg is None or not reply.attachments:
            return None
        ref = reply.attachments[0]
        return pending.jpeg, ref.width, ref.height

    def latest_frame(self, key: StreamKey) -> FrameOut | None:
        with self._lock:
            return self._latest.get(key)

    # -- viewers ---------------------------------------------------------------------------------
    def join(self, key: StreamKey, *, counted: bool, limit: int | None, until: datetime | None) -> Viewer:
        """Register a viewer (in the caller's event loop); the first one starts the edge stream."""
        now = time.monotonic()
        hard_until = None
        if until is not None:
            hard_until = now + (until - datetime.now(UTC)).total_seconds()
        viewer = Viewer(
            key, counted, limit, hard_until, asyncio.get_running_loop(), asyncio.Queue(self.cfg.viewer_queue)
        )
        viewer.lease_until = self._lease_end(viewer, now)
        start = False
        with self._lock:
            stream = self._streams.setdefault(key, _Stream())
            if counted and limit is not None and sum(v.counted for v in stream.viewers) >= limit:
                if not stream.viewers:
                    del self._streams[key]
                raise ViewerLimitReached(f"camera {key[2]} already has {limit} parent viewers")
            stream.viewers.add(viewer)
            if stream.edge_lease_until <= now:
                stream.edge_lease_until = now + self.cfg.edge_lease_s
                start = True
        if start:
            self._send("live_start", key, self._live_params())
        return viewer

    def _lease_end(self, viewer: Viewer, now: float) -> float:
        end = now + self.cfg.viewer_lease_s
        return min(end, viewer.hard_until) if viewer.hard_until is not None else end

    def touch(self, viewer: Viewer) -> None:
        """The viewer is still there (any message from its client renews its lease)."""
        viewer.lease_until = self._lease_end(viewer, time.monotonic())

    def leave(self, viewer: Viewer, reason: str = "left") -> None:
        stop = False
        with self._lock:
            stream = self._streams.get(viewer.key)
            if stream is None or viewer not in stream.viewers:
                return
            stream.viewers.discard(viewer)
            viewer.ended = reason
            if not stream.viewers:
                del self._streams[viewer.key]
                stop = True
        with contextlib.suppress(RuntimeError):
            viewer.loop.call_soon_threadsafe(_offer, viewer.queue, reason)
        if stop:
            self._send("live_stop", viewer.key)

    def viewer_count(self, key: StreamKey) -> int:
        with self._lock:
            stream = self._streams.get(key)
            return len(stream.viewers) if stream else 0

    def tick(self) -> None:
        """Drop lapsed viewers, renew edge leases that are about to run out."""
        now = time.monotonic()
        lapsed: list[Viewer] = []
        renew: list[StreamKey] = []
        with self._lock:
            for key, stream in self._streams.items():
                lapsed += [v for v in stream.viewers if v.lease_until <= now]
                if stream.edge_lease_until - self.cfg.renew_before_s <= now:
                    stream.edge_lease_until = now + self.cfg.edge_lease_s
                    renew.append(key)
        for viewer in lapsed:
            self.leave(viewer, "lease_lapsed")
        for key in renew:
            if self.viewer_count(key):
                self._send("live_start", key, self._live_params())

    def _tick_loop(self) -> None:
        while not self._stop.wait(self.cfg.tick_s):
            try:
                self.tick()
            except Exception:  # keep leasing even if one publish fails
                log.exception("live lease tick failed")

    # -- incoming --------------------------------------------------------------------------------
    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        try:
            info = parse_topic(msg.topic)
            env = decode(bytes(msg.payload))
        except ContractError as exc:
            log.warning("live relay dropped %s: %s", msg.topic, exc)
            return
        message = env.message
        if message.school_id != info.school_id or message.device_id != info.device_id:
            log.warning("live relay: ids in %s differ from its topic", msg.topic)
            return
        if info.channel == "reply" and isinstance(message, CommandReply):
            self._on_reply(message, env.attachments.get("snapshot"))
        elif info.channel == "live" and isinstance(message, LiveFrame) and message.camera_id == info.name:
            ref = message.attachments[0]
            frame = FrameOut(message.seq, message.captured_at, env.attachments[ref.name], ref.width, ref.height)
            key = (info.school_id, info.device_id, message.camera_id)
            with self._lock:
                stream = self._streams.get(key)
                self._latest[key] = frame
                viewers = list(stream.viewers) if stream else []
            for viewer in viewers:
                with contextlib.suppress(RuntimeError):
                    viewer.loop.call_soon_threadsafe(_offer, viewer.queue, frame)

    def _on_reply(self, reply: CommandReply, jpeg: bytes | None) -> None:
        with self._lock:
            pending = self._pending.get(reply.command_id)
        if pending is None:
            return
        if self._verify_reply is not None and not self._verify_reply(reply):
            log.warning("snapshot reply %s failed verification", reply.command_id)
            pending.event.set()
            return
        pending.reply, pending.jpeg = reply, jpeg
        pending.event.set()


def _offer(queue: asyncio.Queue[FrameOut | str], item: FrameOut | str) -> None:
    """Newest wins: drop the oldest frame when the viewer is slow; an end marker always gets in."""
    while True:
        try:
            queue.put_nowait(item)
            return
        except asyncio.QueueFull:
            with contextlib.suppress(asyncio.QueueEmpty):
                queue.get_nowait()
