"""A fake edge box on the real Mosquitto: publishes LiveFrames of a real photo for one camera and answers
``snapshot`` commands with a signed CommandReply, exactly as the contract in ``mingchu.contract`` says."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion

from mingchu.contract import CommandReply, ContractError, LiveFrame, Topics, decode, encode
from mingchu.contract.envelope import attachment_ref
from mingchu.contract.messages import Command
from mingchu.contract.signing import sign
from tests.web.seed import jpeg


class FakeEdge:
    def __init__(self, school_id: str, device_id: str, camera_id: str, key: Ed25519PrivateKey, picture: str) -> None:
        self.topics = Topics(school_id, device_id)
        self.school_id, self.device_id, self.camera_id, self.key = school_id, device_id, camera_id, key
        self.frame, self.width, self.height = jpeg(picture, 480)
        self.snapshot, self.snap_w, self.snap_h = jpeg(picture, 1024)
        self.sent = 0
        self.snapshots_answered = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-edge", daemon=True)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"fake-edge-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5
        )
        self.client.on_message = self._on_command

    def start(self) -> FakeEdge:
        self.client.connect("127.0.0.1", 1883, keepalive=30)
        self.client.subscribe(self.topics.command("snapshot"), qos=1)
        self.client.loop_start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.client.loop_stop()
        self.client.disconnect()

    def _run(self) -> None:
        seq = 0
        while not self._stop.wait(0.25):
            now = datetime.now(UTC)
            msg = LiveFrame(
                school_id=self.school_id,
                device_id=self.device_id,
                sent_at=now,
                camera_id=self.camera_id,
                seq=seq,
                captured_at=now,
                attachments=(attachment_ref("frame", self.frame, self.width, self.height),),
            )
            self.client.publish(self.topics.live(self.camera_id), encode(sign(msg, self.key), {"frame": self.frame}))
            seq += 1
            self.sent = seq

    def _on_command(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        try:
            command = decode(bytes(message.payload)).message
        except ContractError:
            return
        if not isinstance(command, Command) or command.name != "snapshot":
            return
        reply = CommandReply(
            school_id=self.school_id,
            device_id=self.device_id,
            sent_at=datetime.now(UTC),
            command_id=command.command_id,
            ok=True,
            camera_id=command.camera_id,
            attachments=(attachment_ref("snapshot", self.snapshot, self.snap_w, self.snap_h),),
        )
        self.client.publish(self.topics.reply, encode(sign(reply, self.key), {"snapshot": self.snapshot}), qos=1)
        self.snapshots_answered += 1
