"""Hub commands: ``snapshot`` (one full-resolution JPEG) and ``live_start``/``live_stop`` (a leased
low-rate JPEG stream on the live topic at QoS 0, stopping by itself when the lease runs out)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge_agent.evidence import encode_jpeg
from edge_agent.frame import Frame
from mingchu.contract import Topics
from mingchu.contract.envelope import attachment_ref
from mingchu.contract.messages import Command, CommandReply, LiveFrame, LiveParams, Message
from mingchu.contract.signing import sign

log = logging.getLogger("edge_agent.commands")
Publish = Callable[[str, Message, "dict[str, bytes] | None", int], bool]
FrameProvider = Callable[[str], "Frame | None"]


@dataclass
class _Lease:
    params: LiveParams
    expires: float
    next_due: float = 0.0
    seq: int = 0


class CommandHandler:
    """Executes commands for known cameras; every command gets a ``CommandReply``."""

    def __init__(
        self,
        topics: Topics,
        publish: Publish,
        latest_frame: FrameProvider,
        camera_ids: set[str],
        key: Ed25519PrivateKey,
        jpeg_quality: int = 85,
    ) -> None:
        self.topics, self.publish, self.latest_frame = topics, publish, latest_frame
        self.camera_ids, self.key, self.jpeg_quality = camera_ids, key, jpeg_quality
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.live_frames_sent = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._live_loop, name="live", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)

    def _sign(self, message: Message) -> Message:
        return sign(message, self.key)

    def _reply(
        self,
        cmd: Command,
        ok: bool,
        error: str | None = None,
        image: bytes | None = None,
        size: tuple[int, int] = (0, 0),
    ) -> None:
        attachments = {"snapshot": image} if image else None
        refs = (attachment_ref("snapshot", image, size[0], size[1]),) if image else ()
        reply = CommandReply(
            school_id=self.topics.school_id,
            device_id=self.topics.device_id,
            sent_at=datetime.now(UTC),
            command_id=cmd.command_id,
            ok=ok,
            error=error,
            camera_id=cmd.camera_id,
            attachments=refs,
        )
        self.publish(self.topics.reply, self._sign(reply), attachments, 1)

    def handle(self, cmd: Command) -> None:
        if cmd.camera_id not in self.camera_ids:
            log.warning("command %s for unknown camera %s", cmd.name, cmd.camera_id)
            self._reply(cmd, False, f"unknown camera {cmd.camera_id}")
            return
        if cmd.name == "snapshot":
            frame = self.latest_frame(cmd.camera_id)
            if frame is None:
                self._reply(cmd, False, f"no frame from camera {cmd.camera_id} yet")
                return
            data, w, h = encode_jpeg(frame.best_image, self.jpeg_quality, max(frame.best_image.shape[1], 160))
            self._reply(cmd, True, image=data, size=(w, h))
        elif cmd.name == "live_start":
            params = cmd.live or LiveParams()
            with self._lock:
                lease = self._leases.get(cmd.camera_id)
                if lease is None:
                    self._leases[cmd.camera_id] = _Lease(params, time.monotonic() + params.lease_s)
                else:  # renewal keeps the sequence running
                    lease.params, lease.expires = params, time.monotonic() + params.lease_s
            self._reply(cmd, True)
        elif cmd.name == "live_stop":
            with self._lock:
                self._leases.pop(cmd.camera_id, None)
            self._reply(cmd, True)

    def live_cameras(self) -> list[str]:
        with self._lock:
            return sorted(self._leases)

    def _live_loop(self) -> None:
        while not self._stop.wait(0.05):
            now = time.monotonic()
            with self._lock:
                for cam in [c for c, lease in self._leases.items() if lease.expires <= now]:
                    log.info("live lease for %s expired", cam)
                    del self._leases[cam]
                due = [(c, lease) for c, lease in self._leases.items() if lease.next_due <= now]
                for _cam, lease in due:
                    lease.next_due = now + 1.0 / lease.params.fps
            for cam, lease in due:
                frame = self.latest_frame(cam)
                if frame is None:
                    continue
                try:
                    data, w, h = encode_jpeg(frame.best_image, 70, lease.params.max_width)
                    msg = LiveFrame(
                        school_id=self.topics.school_id,
                        device_id=self.topics.device_id,
                        sent_at=datetime.now(UTC),
                        camera_id=cam,
                        seq=lease.seq,
                        captured_at=frame.captured_at,
                        attachments=(attachment_ref("frame", data, w, h),),
                    )
                    if self.publish(self.topics.live(cam), msg, {"frame": data}, 0):
                        self.live_frames_sent += 1
                    lease.seq += 1
                except Exception:  # one bad frame must not end the live loop
                    log.exception("live frame for %s failed", cam)
