"""Demo data: one district, two schools with canteens/rooms/cameras, a device key pair, a user per role."""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import select

from cloud_api.context import HubContext
from cloud_api.db.models import Device, District, User
from cloud_api.migrations import upgrade
from cloud_api.services import devices as device_service
from cloud_api.services import org
from mingchu.contract.signing import public_key_bytes

DEMO_PASSWORD = "mingchu-demo"  # every demo user; printed by the command, never for production
DISTRICT = ("district-demo", "示范区教育局")
SCHOOLS = (("school-a", "第一实验小学"), ("school-b", "第二中学"))
DEVICE_ID = "edge-a1"
USERS = (
    ("admin", "admin", None, None),
    ("regulator", "regulator", "district-demo", None),
    ("head-a", "school_head", None, "school-a"),
    ("manager-a", "canteen_manager", None, "school-a"),
    ("parent-a", "parent", None, "school-a"),
    ("head-b", "school_head", None, "school-b"),
    ("manager-b", "canteen_manager", None, "school-b"),
)


def _device_key(key_dir: Path) -> tuple[Path, str]:
    """Reuse the key file if present so re-seeding keeps the edge's key valid."""
    path = key_dir / f"{DEVICE_ID}.pem"
    if path.exists():
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        key = load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, Ed25519PrivateKey)
    else:
        key = Ed25519PrivateKey.generate()
        key_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
        path.chmod(0o600)
    return path, base64.b64encode(public_key_bytes(key.public_key())).decode()


def seed_demo(hub: HubContext, key_dir: Path) -> list[str]:
    """Idempotent: existing rows are left alone. Returns lines to print."""
    upgrade(hub.db.engine)
    lines = []
    key_path, public_key = _device_key(key_dir)
    with hub.db.session() as s:
        if s.get(District, DISTRICT[0]) is None:
            org.create_district(s, *DISTRICT)
            for n, (school_id, name) in enumerate(SCHOOLS, start=1):
                letter = school_id[-1]
                org.create_school(s, school_id, DISTRICT[0], name)
                org.create_canteen(s, f"canteen-{letter}", school_id, f"{name}食堂")
                for room, kind in (("cooking", "cooking"), ("prep", "prep"), ("washing", "washing")):
                    org.create_room(s, f"{room}-{letter}", f"canteen-{letter}", room, kind)
                    org.create_camera(s, f"cam-{room}-{letter}", school_id, f"{room}-{letter}", name=f"{room} {n}")
        if s.get(Device, DEVICE_ID) is None:
            device_service.provision(s, DEVICE_ID, "school-a", public_key, "demo edge")
            for cam in ("cam-cooking-a", "cam-prep-a", "cam-washing-a"):
                from cloud_api.db.models import Camera

                camera = s.get(Camera, cam)
                if camera is not None:
                    camera.device_id = DEVICE_ID
        for username, role, district, school in USERS:
            if s.scalar(select(User).where(User.username == username)) is None:
                org.create_user(s, username, DEMO_PASSWORD, role, username, district, school)
    lines.append(f"district {DISTRICT[0]}, schools {', '.join(s for s, _ in SCHOOLS)}")
    lines.append(f"device {DEVICE_ID} (school-a) private key: {key_path}")
    lines.append(f"users ({DEMO_PASSWORD}): {', '.join(u[0] for u in USERS)}")
    return lines
