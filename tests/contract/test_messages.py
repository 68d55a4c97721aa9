"""The wire contract: golden messages, envelope round trips, signatures and every kind of bad payload."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mingchu.contract import (
    ContractError,
    DeviceStatus,
    ViolationClass,
    ViolationEvent,
    decode,
    encode,
)
from mingchu.contract.envelope import MAX_PAYLOAD_BYTES, attachment_ref
from mingchu.contract.messages import MESSAGE_TYPES
from mingchu.contract.signing import public_key_bytes, sign, signature_valid, verifier, verify
from mingchu.taxonomy import default_taxonomy
from tests.contract.make_golden import JPEG, SAMPLES

GOLDEN = Path(__file__).parent / "golden"
KIND_TO_TYPE = {t.model_fields["kind"].default: t for t in MESSAGE_TYPES}


def golden(name: str) -> dict:
    return json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))


def attachments_for(raw: dict) -> dict[str, bytes]:
    return {a["name"]: JPEG for a in raw.get("attachments", [])}


def raw_envelope(header: dict, body: bytes = b"") -> bytes:
    data = json.dumps(header).encode()
    return b"MCH1" + struct.pack(">I", len(data)) + data + body


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_golden_files_match_the_generator(name: str) -> None:
    assert golden(name) == json.loads(json.dumps(SAMPLES[name]))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_golden_message_round_trips_through_the_envelope(name: str) -> None:
    raw = golden(name)
    message = KIND_TO_TYPE[raw["kind"]].model_validate(raw)
    envelope = decode(encode(message, attachments_for(raw)))
    assert envelope.message == message
    assert envelope.attachments == attachments_for(raw)
    # The wire form is stable: dumping again gives the same JSON as the golden file.
    assert json.loads(envelope.message.model_dump_json()) == json.loads(json.dumps(raw))


def test_taxonomy_ids_are_exactly_the_contract_enum() -> None:
    assert set(default_taxonomy().ids) == {c.value for c in ViolationClass}
    assert len(default_taxonomy().ids) == 11


def _event(**changes: object) -> ViolationEvent:
    raw = golden("violation_event")
    raw.update(changes)
    return ViolationEvent.model_validate(raw)


def test_signature_verifies_and_covers_images() -> None:
    key = Ed25519PrivateKey.generate()
    signed = sign(_event(), key)
    public = public_key_bytes(key.public_key())
    verify(decode(encode(signed, attachments_for(golden("violation_event")))).message, public)

    other_image = b"\xff\xd8tampered\xff\xd9"
    ref = attachment_ref("clean", other_image, 1920, 1080)
    tampered = signed.model_copy(update={"attachments": (signed.attachments[0], ref)})
    with pytest.raises(ContractError) as err:
        verify(tampered, public)
    assert err.value.reason == "bad_signature"


def test_signature_from_another_key_and_unsigned_are_refused() -> None:
    signed = sign(_event(), Ed25519PrivateKey.generate())
    other = public_key_bytes(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(ContractError, match="expected") as err:
        verify(signed, other)
    assert err.value.reason == "unknown_key"
    with pytest.raises(ContractError) as err:
        verify(_event(), other)
    assert err.value.reason == "unsigned"


def test_garbage_signature_value_is_a_contract_error() -> None:
    key = Ed25519PrivateKey.generate()
    signed = sign(_event(), key)
    broken = signed.model_copy(update={"signature": signed.signature.model_copy(update={"value": "!!notbase64"})})
    with pytest.raises(ContractError):
        verify(broken, public_key_bytes(key.public_key()))


def test_reusable_verifier_agrees_with_the_signer() -> None:
    """Signing is cryptography's (OpenSSL), verifying libsodium's: the two must agree both ways."""
    key = Ed25519PrivateKey.generate()
    signed = sign(_event(), key)
    verifier_ = verifier(public_key_bytes(key.public_key()))
    assert signature_valid(verifier_, signed)
    assert not signature_valid(verifier_, signed.model_copy(update={"rule": "another-rule"}))
    assert not signature_valid(verifier_, _event())  # unsigned
    assert not signature_valid(verifier(public_key_bytes(Ed25519PrivateKey.generate().public_key())), signed)
    short = signed.model_copy(update={"signature": signed.signature.model_copy(update={"value": "AAAA"})})
    assert not signature_valid(verifier_, short)
    with pytest.raises(ValueError):
        verifier(b"too short")


BAD_PAYLOADS = {
    "empty": (b"", "truncated"),
    "short": (b"MCH", "truncated"),
    "bad_magic": (b"XXXX" + struct.pack(">I", 2) + b"{}", "bad_magic"),
    "header_longer_than_payload": (b"MCH1" + struct.pack(">I", 500) + b"{}", "truncated"),
    "not_json": (b"MCH1" + struct.pack(">I", 5) + b"{nope", "bad_json"),
    "not_utf8": (b"MCH1" + struct.pack(">I", 2) + b"\xff\xfe", "bad_json"),
    "json_array": (b"MCH1" + struct.pack(">I", 2) + b"[]", "bad_json"),
}


@pytest.mark.parametrize("name", sorted(BAD_PAYLOADS))
def test_malformed_payloads_raise_typed_errors(name: str) -> None:
    payload, reason = BAD_PAYLOADS[name]
    with pytest.raises(ContractError) as err:
        decode(payload)
    assert err.value.reason == reason


def test_wrong_schema_version_is_refused_with_a_clear_message() -> None:
    raw = golden("device_status")
    raw["schema_version"] = 2
    with pytest.raises(ContractError, match="schema_version 2") as err:
        decode(raw_envelope(raw))
    assert err.value.reason == "bad_version"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("violation_class", "dancing"),
        ("severity", 7),
        ("score", 1.5),
        ("occurred_at", "2026-11-29T16:00:00"),  # naive time: 定时 needs a zone
        ("event_id", "not-a-uuid"),
        ("unexpected", 1),
        ("school_id", "sch/001"),
        ("track_id", 2**31),  # must fit the hub's 32-bit column
        ("track_id", -1),
    ],
)
def test_invalid_event_fields_raise_contract_errors(field: str, value: object) -> None:
    raw = golden("violation_event")
    raw[field] = value
    with pytest.raises(ContractError) as err:
        decode(raw_envelope(raw, JPEG + JPEG))
    assert err.value.reason == "invalid"


def test_box_with_inverted_corners_is_invalid() -> None:
    raw = golden("violation_event")
    raw["boxes"][0]["xyxy"] = [0.5, 0.2, 0.1, 0.9]
    with pytest.raises(ContractError, match="x1 <= x2"):
        decode(raw_envelope(raw, JPEG + JPEG))


def test_attachment_body_must_match_header() -> None:
    raw = golden("violation_event")
    with pytest.raises(ContractError) as err:
        decode(raw_envelope(raw, JPEG))  # one image missing
    assert err.value.reason == "attachment_mismatch"
    with pytest.raises(ContractError) as err:
        decode(raw_envelope(raw, JPEG + JPEG[:-1] + b"X"))  # same size, other bytes
    assert err.value.reason == "bad_hash"


def test_encode_refuses_attachments_that_do_not_match() -> None:
    event = _event()
    with pytest.raises(ContractError):
        encode(event, {"annotated": JPEG})
    with pytest.raises(ContractError):
        encode(event, {"annotated": JPEG, "clean": JPEG + b"x"})


def test_oversized_payload_is_refused_before_parsing() -> None:
    with pytest.raises(ContractError) as err:
        decode(b"MCH1" + b"\0" * MAX_PAYLOAD_BYTES)
    assert err.value.reason == "too_large"


def test_status_message_needs_aware_times() -> None:
    status = DeviceStatus(school_id="s1", device_id="d1", sent_at=datetime.now(UTC), state="online", public_key="x")
    assert decode(encode(status)).message == status
    with pytest.raises(ValueError):
        DeviceStatus(school_id="s1", device_id="d1", sent_at=datetime(2026, 1, 1), state="online")


def test_event_ids_are_distinct_per_event() -> None:
    a, b = _event(event_id=str(uuid4())), _event(event_id=str(uuid4()))
    assert a.event_id != b.event_id
