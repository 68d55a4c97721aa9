"""A fake edge box on the real Mosquitto broker: answers hub commands with real, signed contract messages.

``live_start`` → JPEG :class:`LiveFrame` messages at the asked fps and width until the lease lapses or
``live_stop`` arrives (the hub's live relay sends ``live_start`` when a viewer opens a stream and renews it
while anyone watches); ``snapshot`` → a signed :class:`CommandReply` with a full-resolution JPEG.

Frames and snapshots are a synthetic noisy JPEG unless ``picture`` (the bytes of a real photo) is given;
then they are that photo, scaled down to the frame width or the snapshot box (never up).
"""

from __future__ import annotations

import io
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from mingchu.contract import Command, CommandReply, ContractError, LiveFrame, Topics, decode, encode
from mingchu.contract.envelope import attachment_ref
from mingchu.contract.signing import sign

Jpeg = tuple[bytes, int, int]  # data, width, height


def make_jpeg(width: int, height: int, seed: int = 0, quality: int = 80) -> bytes:
    """A noisy-ish test image so JPEG sizes look like real frames, not flat colour."""
    import numpy as np

    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, width, dtype=np.float32)[None, :, None].repeat(height, 0).repeat(3, 2)
    noise = rng.normal(0, 10, (height, width, 3)).astype(np.float32)
    img = Image.fromarray(np.clip(base + noise, 0, 255).astype("uint8"))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def fit_jpeg(picture: bytes, max_width: int, max_height: int, quality: int = 85) -> Jpeg:
    """``picture`` scaled down (aspect kept, never up) to fit the box, as a JPEG."""
    image = Image.open(io.BytesIO(picture)).convert("RGB")
    image.thumbnail((max_width, max_height))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue(), image.width, image.height


@dataclass
class _Lease:
    fps: float
    max_width: int
    expires: float
    seq: int = 0


@dataclass
class FakeEdge:
    """Use as a context manager: connected and subscribed to all its commands on ``__enter__``."""

    school_id: str
    device_id: str
    key: Ed25519PrivateKey
    host: str = "127.0.0.1"
    port: int = 1883
    picture: bytes | None = None  # a real photo for frames and snapshots; None: the synthetic noisy JPEG
    answer_snapshots: bool = True
    snapshot_size: tuple[int, int] = (1280, 720)  # synthetic: exactly this; a picture: fitted into it
    frame_width: int | None = None  # None: the lease's max_width
    commands: list[tuple[str, str, float]] = field(default_factory=list)  # (name, camera, monotonic)
    frames_sent: int = 0
    snapshots_answered: int = 0

    def __post_init__(self) -> None:
        self.topics = Topics(self.school_id, self.device_id)
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._frames: dict[int, Jpeg] = {}
        self._snapshot: Jpeg | None = None
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"fake-edge-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5
        )
        self.client.on_message = self._on_message
        self._subscribed = threading.Event()
        self.client.on_subscribe = lambda *_a: self._subscribed.set()

    def __enter__(self) -> FakeEdge:
        self.client.connect(self.host, self.port)
        self.client.subscribe(self.topics.commands, qos=1)
        self.client.loop_start()
        if not self._subscribed.wait(5):
            self.client.loop_stop()
            raise RuntimeError("fake edge could not subscribe")
        self._thread = threading.Thread(target=self._live_loop, name="fake-edge", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.client.disconnect()
        self.client.loop_stop()

    def live_cameras(self) -> list[str]:
        with self._lock:
            return sorted(self._leases)

    def names(self) -> list[str]:
        return [c[0] for c in self.commands]

    def frame(self, width: int) -> Jpeg:
        """The live frame sent for a lease of this width (cached: the same picture every time)."""
        if width not in self._frames:
            if self.picture is not None:
                self._frames[width] = fit_jpeg(self.picture, width, 10 * width, quality=80)
            else:
                height = width * 9 // 16
                self._frames[width] = (make_jpeg(width, height, seed=width), width, height)
        return self._frames[width]

    def snapshot(self) -> Jpeg:
        """The full-resolution JPEG a ``snapshot`` command gets."""
        if self._snapshot is None:
            w, h = self.snapshot_size
            if self.picture is not None:
                self._snapshot = fit_jpeg(self.picture, w, h, quality=90)
            else:
                self._snapshot = (make_jpeg(w, h, seed=7, quality=90), w, h)
        return self._snapshot

    def _publish(self, topic: str, message: object, attachments: dict[str, bytes] | None, qos: int) -> None:
        self.client.publish(topic, encode(sign(message, self.key), attachments), qos=qos)  # type: ignore[arg-type]

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        try:
            cmd = decode(bytes(msg.payload)).message
        except ContractError:
            return
        if not isinstance(cmd, Command):
            return
        self.commands.append((cmd.name, cmd.camera_id, time.monotonic()))
        if cmd.name == "snapshot":
            if self.answer_snapshots:
                self._answer_snapshot(cmd)
            return
        with self._lock:
            if cmd.name == "live_start" and cmd.live is not None:
                lease = self._leases.get(cmd.camera_id)
                expires = time.monotonic() + cmd.live.lease_s
                if lease is None:
                    self._leases[cmd.camera_id] = _Lease(cmd.live.fps, cmd.live.max_width, expires)
                else:
                    lease.expires, lease.fps, lease.max_width = expires, cmd.live.fps, cmd.live.max_width
            elif cmd.name == "live_stop":
                self._leases.pop(cmd.camera_id, None)

    def _answer_snapshot(self, cmd: Command) -> None:
        data, w, h = self.snapshot()
        reply = CommandReply(
            school_id=self.school_id,
            device_id=self.device_id,
            sent_at=datetime.now(UTC),
            command_id=cmd.command_id,
            ok=True,
            camera_id=cmd.camera_id,
            attachments=(attachment_ref("snapshot", data, w, h),),
        )
        self._publish(self.topics.reply, reply, {"snapshot": data}, 1)
        self.snapshots_answered += 1

    def _live_loop(self) -> None:
        next_due: dict[str, float] = {}
        while not self._stop.wait(0.005):
            now = time.monotonic()
            with self._lock:
                for cam in [c for c, lease in self._leases.items() if lease.expires <= now]:
                    del self._leases[cam]
                due: list[tuple[str, int, int]] = []  # (camera, seq, width)
                for cam, lease in self._leases.items():
                    if next_due.get(cam, 0.0) <= now:
                        next_due[cam] = now + 1.0 / lease.fps
                        lease.seq += 1
                        due.append((cam, lease.seq, self.frame_width or lease.max_width))
            for cam, seq, width in due:
                data, w, h = self.frame(width)
                frame = LiveFrame(
                    school_id=self.school_id,
                    device_id=self.device_id,
                    sent_at=datetime.now(UTC),
                    camera_id=cam,
                    seq=seq,
                    captured_at=datetime.now(UTC),
                    attachments=(attachment_ref("frame", data, w, h),),
                )
                self._publish(self.topics.live(cam), frame, {"frame": data}, 0)
                self.frames_sent += 1
