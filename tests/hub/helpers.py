"""Builders for contract-valid, signed messages and a small organisation (our own test data)."""

from __future__ import annotations

import base64
import io
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from cloud_api.context import HubContext
from cloud_api.db.models import User
from cloud_api.services import devices as device_service
from cloud_api.services import org
from cloud_api.services.security import hash_password
from mingchu.contract import CameraStats, CameraStatus, DeviceStats, DeviceStatus, ViolationEvent, encode
from mingchu.contract.envelope import attachment_ref
from mingchu.contract.signing import public_key_bytes, sign
from tests.support.auth import api_token

PASSWORD = "test-password-1"


@cache
def password_hash() -> str:
    return hash_password(PASSWORD)


def new_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def b64_public(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(public_key_bytes(key.public_key())).decode()


def jpeg(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 30, 30), quality: int = 85) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG", quality=quality)
    return out.getvalue()


def now() -> datetime:
    return datetime.now(UTC)


def event_payload(
    key: Ed25519PrivateKey | None,
    *,
    school_id: str,
    device_id: str,
    camera_id: str,
    violation_class: str = "no_mask",
    severity: int = 3,
    track_id: int | None = 7,
    occurred_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
    image: bytes | None = None,
    tamper: bool = False,
    rule: str | None = None,
) -> tuple[bytes, ViolationEvent]:
    """Encode a signed ViolationEvent with one 'annotated' JPEG; ``tamper`` changes a field after signing."""
    occurred = occurred_at or now()
    img = image if image is not None else jpeg()
    message = ViolationEvent.model_validate(
        {
            "school_id": school_id,
            "device_id": device_id,
            "sent_at": occurred + timedelta(milliseconds=5),
            "event_id": str(event_id or uuid.uuid4()),
            "violation_class": violation_class,
            "severity": severity,
            "rule": rule if rule is not None else f"{violation_class}-rule",
            "occurred_at": occurred,
            "place": {
                "school_id": school_id,
                "canteen_id": f"{school_id}-canteen",
                "room_id": f"{school_id}-cooking",
                "room_type": "cooking",
                "camera_id": camera_id,
                "camera_name": "灶台",
            },
            "track_id": track_id,
            "score": 0.91,
            "duration_s": 3.5,
            "boxes": [{"label": "person", "score": 0.9, "xyxy": [0.1, 0.1, 0.5, 0.9], "track_id": track_id}],
            "attachments": [attachment_ref("annotated", img, 64, 48).model_dump()],
        }
    )
    if key is not None:
        message = sign(message, key)
    if tamper:
        message = message.model_copy(update={"score": 0.11})
    return encode(message, {"annotated": img}), message


def status_payload(
    key: Ed25519PrivateKey | None,
    *,
    school_id: str,
    device_id: str,
    state: str = "online",
    cameras: dict[str, str] | None = None,
    sent_at: datetime | None = None,
    public_key: str | None = None,
) -> bytes:
    message = DeviceStatus(
        school_id=school_id,
        device_id=device_id,
        sent_at=sent_at or now(),
        state=state,  # type: ignore[arg-type]
        agent_version="0.1.0",
        public_key=public_key if public_key is not None else (b64_public(key) if key else ""),
        cameras=tuple(CameraStatus(camera_id=c, state=s) for c, s in (cameras or {}).items()),  # type: ignore[arg-type]
    )
    if key is not None:
        message = sign(message, key)
    return encode(message)


def stats_payload(key: Ed25519PrivateKey, *, school_id: str, device_id: str, camera_id: str) -> bytes:
    message = DeviceStats(
        school_id=school_id,
        device_id=device_id,
        sent_at=now(),
        uptime_s=120.0,
        outbox_depth=2,
        outbox_bytes=4096,
        cameras=(
            CameraStats(
                camera_id=camera_id, decode_fps=10, detect_fps=5, dropped_frames=3, inference_ms=41.0, lag_s=0.2
            ),
        ),
    )
    return encode(sign(message, key))


class World:
    """Two schools (A, B) in one district, a provisioned device in A, and one user per role."""

    def __init__(self, hub: HubContext, suffix: str = "") -> None:
        s = suffix
        self.district = f"d1{s}"
        self.school_a, self.school_b = f"sa{s}", f"sb{s}"
        self.device = f"dev-a{s}"
        self.camera = f"cam-a1{s}"
        self.key = new_key()
        with hub.db.session() as session:
            org.create_district(session, self.district, "区")
            org.create_district(session, f"d2{s}", "other district")
            org.create_school(session, self.school_a, self.district, "School A")
            org.create_school(session, self.school_b, self.district, "School B")
            org.create_school(session, f"sc{s}", f"d2{s}", "School C")
            device_service.provision(session, self.device, self.school_a, b64_public(self.key), "edge")
            device_service.provision(session, f"dev-b{s}", self.school_b, b64_public(new_key()), "edge b")
            specs = {
                "admin": ("admin", None, None),
                "regulator": ("regulator", self.district, None),
                "regulator_other": ("regulator", f"d2{s}", None),
                "head_a": ("school_head", self.district, self.school_a),
                "manager_a": ("canteen_manager", self.district, self.school_a),
                "head_b": ("school_head", self.district, self.school_b),
                "parent_a": ("parent", self.district, self.school_a),
            }
            self.users = {}
            for name, (role, district, school) in specs.items():
                # Argon2 takes ~0.5 s per hash here: hash once per run, share it (login is tested separately)
                user = User(
                    username=f"{name}{s}",
                    password_hash=password_hash(),
                    role=role,
                    district_id=district,
                    school_id=school,
                )
                session.add(user)
                session.flush()
                self.users[name] = user.id
        self.hub = hub

    def event(self, **kwargs: object) -> tuple[bytes, ViolationEvent]:
        kwargs.setdefault("camera_id", self.camera)
        return event_payload(self.key, school_id=self.school_a, device_id=self.device, **kwargs)  # type: ignore[arg-type]

    def topic(self, channel: str = "events", school: str | None = None, device: str | None = None) -> str:
        return f"mingchu/v1/{school or self.school_a}/{device or self.device}/{channel}"

    def token(self, who: str) -> str:
        return api_token(self.hub.db, self.users[who])

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(who)}"}
