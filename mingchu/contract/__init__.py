"""The edge↔hub wire contract, defined once and imported by both sides.

* :mod:`.topics` — MQTT topic layout and parsing.
* :mod:`.messages` — versioned pydantic message schemas.
* :mod:`.envelope` — the binary envelope that carries a message plus its images without base64.
* :mod:`.signing` — Ed25519 signatures over a canonical form of a message.
"""

from mingchu.contract.envelope import CONTENT_TYPE, MAX_PAYLOAD_BYTES, Envelope, decode, encode
from mingchu.contract.errors import ContractError
from mingchu.contract.messages import (
    SCHEMA_VERSION,
    AttachmentRef,
    Box,
    CameraStats,
    CameraStatus,
    Command,
    CommandName,
    CommandReply,
    DeviceStats,
    DeviceStatus,
    LiveFrame,
    LiveParams,
    Message,
    ModelInfo,
    Place,
    RoomType,
    Signature,
    ViolationClass,
    ViolationEvent,
)
from mingchu.contract.topics import TOPIC_ROOT, TopicInfo, Topics, parse_topic

__all__ = [
    "CONTENT_TYPE",
    "MAX_PAYLOAD_BYTES",
    "SCHEMA_VERSION",
    "TOPIC_ROOT",
    "AttachmentRef",
    "Box",
    "CameraStats",
    "CameraStatus",
    "Command",
    "CommandName",
    "CommandReply",
    "ContractError",
    "DeviceStats",
    "DeviceStatus",
    "Envelope",
    "LiveFrame",
    "LiveParams",
    "Message",
    "ModelInfo",
    "Place",
    "RoomType",
    "Signature",
    "TopicInfo",
    "Topics",
    "ViolationClass",
    "ViolationEvent",
    "decode",
    "encode",
    "parse_topic",
]
