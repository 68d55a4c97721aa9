"""Versioned message schemas. Every message is a frozen pydantic model with ``extra="forbid"``.

Rules for changing them: adding an optional field is compatible within ``schema_version`` 1;
renaming, removing or re-typing a field needs version 2 and a new topic root.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from mingchu.contract.topics import ID_PATTERN

SCHEMA_VERSION = 1

Id = Annotated[str, Field(pattern=ID_PATTERN, description="slug: letters, digits, _ and -")]
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Unit = Annotated[float, Field(ge=0.0, le=1.0)]
TrackId = Annotated[int, Field(ge=0, le=2**31 - 1, description="tracker id (fits a 32-bit column)")]


class ViolationClass(StrEnum):
    """The 11 classes; ids match ``configs/violations.yaml``."""

    NO_CHEF_HAT = "no_chef_hat"
    NO_MASK = "no_mask"
    NO_UNIFORM = "no_uniform"
    BARE_HANDS = "bare_hands"
    SMOKING = "smoking"
    PHONE_USE = "phone_use"
    PEST_INTRUSION = "pest_intrusion"
    BIN_LID_OPEN = "bin_lid_open"
    UNATTENDED_FLAME = "unattended_flame"
    UNAUTHORIZED_ENTRY = "unauthorized_entry"
    CAMERA_OFFLINE = "camera_offline"


class RoomType(StrEnum):
    """定景: the kind of room, which decides which rules apply (gloves in prep, not in washing)."""

    COOKING = "cooking"
    PREP = "prep"
    WASHING = "washing"
    STORAGE = "storage"
    DINING = "dining"
    OTHER = "other"


CommandName = Literal["snapshot", "live_start", "live_stop"]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Box(_Part):
    """A detection in normalised ``xyxy`` (0–1 of the evidence image) so it survives resizing."""

    label: str = Field(min_length=1, max_length=64)
    score: Unit
    xyxy: tuple[Unit, Unit, Unit, Unit]
    track_id: TrackId | None = None

    @field_validator("xyxy")
    @classmethod
    def _ordered(cls, v: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        if v[0] > v[2] or v[1] > v[3]:
            raise ValueError("box must satisfy x1 <= x2 and y1 <= y2")
        return v


class Place(_Part):
    """定位 and 定景: where the evidence was captured."""

    school_id: Id
    canteen_id: Id
    room_id: Id
    room_type: RoomType
    camera_id: Id
    camera_name: str = Field(default="", max_length=128)
    zone_id: Id | None = None


class AttachmentRef(_Part):
    """Describes one binary part carried after the header, in order."""

    name: Literal["annotated", "clean", "snapshot", "frame"]
    content_type: Literal["image/jpeg"] = "image/jpeg"
    size: int = Field(ge=1)
    sha256: Sha256Hex
    width: int = Field(ge=1)
    height: int = Field(ge=1)


class Signature(_Part):
    """Ed25519 signature over :func:`mingchu.contract.signing.signing_bytes` of the message."""

    algorithm: Literal["ed25519"] = "ed25519"
    key_id: str = Field(pattern=r"^[0-9a-f]{16}$", description="first 16 hex of sha256(public key)")
    value: str = Field(min_length=1, description="base64 of the 64-byte signature")


class ModelInfo(_Part):
    name: str = Field(max_length=128)
    sha256: str = Field(default="", max_length=64)


class Message(_Part):
    """Fields every message has."""

    schema_version: Literal[1] = 1
    school_id: Id
    device_id: Id
    sent_at: AwareDatetime
    signature: Signature | None = None


class ViolationEvent(Message):
    """One violation with its 五定 evidence: 定时 occurred_at, 定位/定景 place, 定人 track_id, 定事 class/boxes."""

    kind: Literal["violation"] = "violation"
    event_id: UUID = Field(description="unique per event; the hub's idempotency key")
    violation_class: ViolationClass
    severity: int = Field(ge=1, le=3)
    rule: str = Field(max_length=64, description="rule instance that raised it")
    occurred_at: AwareDatetime
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    place: Place
    track_id: TrackId | None = Field(default=None, description="定人: tracker id, never a face identity")
    score: Unit
    duration_s: float = Field(ge=0.0, description="how long the condition held before raising")
    boxes: tuple[Box, ...] = ()
    model: ModelInfo | None = None
    attachments: tuple[AttachmentRef, ...] = Field(default=(), max_length=4)

    @model_validator(mode="after")
    def _same_school(self) -> ViolationEvent:
        if self.place.school_id != self.school_id:
            raise ValueError("place.school_id differs from school_id")
        return self


class CameraStatus(_Part):
    camera_id: Id
    state: Literal["online", "offline", "obstructed", "starting"]
    last_frame_at: AwareDatetime | None = None


class DeviceStatus(Message):
    """Retained on ``…/status``; the broker publishes the ``offline`` one as the last will."""

    kind: Literal["status"] = "status"
    state: Literal["online", "offline"]
    agent_version: str = Field(default="", max_length=32)
    public_key: str = Field(default="", description="base64 raw Ed25519 public key the events are signed with")
    cameras: tuple[CameraStatus, ...] = ()


class CameraStats(_Part):
    camera_id: Id
    decode_fps: float = Field(ge=0)
    detect_fps: float = Field(ge=0)
    dropped_frames: int = Field(ge=0, description="stale frames dropped since start")
    inference_ms: float = Field(ge=0, description="median over the stats interval")
    lag_s: float = Field(ge=0, description="age of the newest frame when detection took it")


class DeviceStats(Message):
    kind: Literal["stats"] = "stats"
    uptime_s: float = Field(ge=0)
    outbox_depth: int = Field(ge=0)
    outbox_bytes: int = Field(ge=0)
    outbox_near_full: bool = Field(default=False, description="queued evidence above the warning fraction")
    cameras: tuple[CameraStats, ...] = ()


class LiveParams(_Part):
    max_width: int = Field(default=640, ge=160, le=1920)
    fps: float = Field(default=3.0, gt=0, le=10)
    lease_s: float = Field(default=30.0, gt=0, le=600, description="edge stops by itself when not renewed")


class Command(Message):
    """Hub → edge on ``…/cmd/{name}``; signed by the hub is not required (broker ACLs guard it)."""

    kind: Literal["command"] = "command"
    command_id: UUID
    name: CommandName
    camera_id: Id
    live: LiveParams | None = None


class CommandReply(Message):
    kind: Literal["reply"] = "reply"
    command_id: UUID
    ok: bool
    error: str | None = Field(default=None, max_length=500)
    camera_id: Id
    attachments: tuple[AttachmentRef, ...] = Field(default=(), max_length=1)


class LiveFrame(Message):
    kind: Literal["live_frame"] = "live_frame"
    camera_id: Id
    seq: int = Field(ge=0)
    captured_at: AwareDatetime
    attachments: tuple[AttachmentRef, ...] = Field(min_length=1, max_length=1)


AnyMessage = Annotated[
    ViolationEvent | DeviceStatus | DeviceStats | Command | CommandReply | LiveFrame,
    Field(discriminator="kind"),
]

MESSAGE_TYPES: tuple[type[Message], ...] = (
    ViolationEvent,
    DeviceStatus,
    DeviceStats,
    Command,
    CommandReply,
    LiveFrame,
)
