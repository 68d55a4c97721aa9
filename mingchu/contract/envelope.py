"""The binary envelope: a JSON header followed by raw attachments (JPEGs), no base64.

Layout (all integers big-endian)::

    b"MCH1"            4 bytes magic; the digit is the envelope format version
    header_length      uint32
    header             UTF-8 JSON of one message (see :mod:`.messages`)
    attachment bytes   concatenated, in the order and sizes of ``header.attachments``

It works over MQTT 3.1.1 and 5 alike; over MQTT 5 publishers also set the content type
:data:`CONTENT_TYPE`. Each attachment's SHA-256 is in the header, and the signature covers
the header, so a signed envelope pins its images too.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from mingchu.contract.errors import ContractError
from mingchu.contract.messages import SCHEMA_VERSION, AnyMessage, AttachmentRef, Message

MAGIC = b"MCH1"
CONTENT_TYPE = "application/vnd.mingchu.envelope.v1"
MAX_PAYLOAD_BYTES = 8 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
_PREFIX = struct.Struct(">4sI")
_ADAPTER: TypeAdapter[Any] = TypeAdapter(AnyMessage)


@dataclass(frozen=True)
class Envelope:
    """A decoded message and its attachments keyed by attachment name."""

    message: Message
    attachments: dict[str, bytes] = field(default_factory=dict)


def attachment_ref(name: str, data: bytes, width: int, height: int) -> AttachmentRef:
    """Describe ``data`` for a message header (computes size and SHA-256)."""
    return AttachmentRef.model_validate(
        {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "width": width, "height": height}
    )


def encode(message: Message, attachments: dict[str, bytes] | None = None) -> bytes:
    """Serialise; ``attachments`` must match ``message.attachments`` by name, size and hash."""
    attachments = attachments or {}
    refs: tuple[AttachmentRef, ...] = getattr(message, "attachments", ())
    if {r.name for r in refs} != set(attachments):
        raise ContractError("attachment_mismatch", "attachment names differ from the message header")
    parts = []
    for ref in refs:
        data = attachments[ref.name]
        if len(data) != ref.size or hashlib.sha256(data).hexdigest() != ref.sha256:
            raise ContractError("attachment_mismatch", f"attachment {ref.name!r} does not match its size/sha256")
        parts.append(data)
    header = message.model_dump_json(exclude_none=False).encode()
    payload = _PREFIX.pack(MAGIC, len(header)) + header + b"".join(parts)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ContractError("too_large", f"envelope is {len(payload)} bytes, limit {MAX_PAYLOAD_BYTES}")
    return payload


def decode(payload: bytes) -> Envelope:
    """Parse and validate, or raise :class:`ContractError` — never anything else."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ContractError("too_large", f"payload is {len(payload)} bytes, limit {MAX_PAYLOAD_BYTES}")
    if len(payload) < _PREFIX.size:
        raise ContractError("truncated", f"payload of {len(payload)} bytes is shorter than the envelope prefix")
    magic, header_length = _PREFIX.unpack_from(payload)
    if magic != MAGIC:
        raise ContractError("bad_magic", f"payload does not start with {MAGIC!r} (got {magic!r})")
    if header_length > MAX_HEADER_BYTES or _PREFIX.size + header_length > len(payload):
        raise ContractError("truncated", f"header length {header_length} exceeds the payload")
    header_end = _PREFIX.size + header_length
    try:
        raw = json.loads(payload[_PREFIX.size : header_end].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError("bad_json", f"header is not UTF-8 JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ContractError("bad_json", "header is not a JSON object")
    version = raw.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ContractError(
            "bad_version", f"schema_version {version!r} is not supported (this side speaks {SCHEMA_VERSION})"
        )
    try:
        message: Message = _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ContractError("invalid", f"{raw.get('kind', '?')} message invalid at {where}: {first['msg']}") from exc
    refs: tuple[AttachmentRef, ...] = getattr(message, "attachments", ())
    body = payload[header_end:]
    if sum(r.size for r in refs) != len(body):
        raise ContractError(
            "attachment_mismatch", f"attachments declare {sum(r.size for r in refs)} bytes, body has {len(body)}"
        )
    attachments: dict[str, bytes] = {}
    offset = 0
    for ref in refs:
        data = body[offset : offset + ref.size]
        offset += ref.size
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            raise ContractError("bad_hash", f"attachment {ref.name!r} does not match its sha256")
        if ref.name in attachments:
            raise ContractError("attachment_mismatch", f"attachment {ref.name!r} appears twice")
        attachments[ref.name] = data
    return Envelope(message, attachments)
