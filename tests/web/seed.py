"""A small district seeded through the hub's real paths: org rows, users, provisioned devices, and signed
ViolationEvents with JPEG evidence run through :class:`IngestService` (verify → store → open case).

Two schools in one district (A with open, overdue and closed cases; B with one case) plus a school in
another district, so scope leaks are visible. Pictures are the real photos in tests/assets.
"""

from __future__ import annotations

import base64
import io
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from cloud_api.config import HubConfig
from cloud_api.db.base import utcnow
from cloud_api.db.models import Camera, Canteen, District, Room, School, User
from cloud_api.db.models.people import CameraLiveSetting, ParentGrant
from cloud_api.db.session import Database
from cloud_api.services import devices as device_service
from cloud_api.services.ingest import IngestService
from cloud_api.services.notifier import RecordingNotifier
from cloud_api.services.security import hash_password
from cloud_api.storage.base import Storage
from mingchu.contract import DeviceStats, DeviceStatus, Topics, ViolationEvent, encode
from mingchu.contract.envelope import attachment_ref
from mingchu.contract.messages import Box, CameraStats, CameraStatus, Place, RoomType, ViolationClass
from mingchu.contract.signing import public_key_bytes, sign
from mingchu.taxonomy import default_taxonomy

ASSETS = Path(__file__).resolve().parent.parent / "assets"
PASSWORD = "mingchu-test-pw"


@dataclass
class SeededDevice:
    device_id: str
    school_id: str
    key: Ed25519PrivateKey


@dataclass
class Seed:
    devices: dict[str, SeededDevice] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)  # label -> case id
    users: dict[str, str] = field(default_factory=dict)  # label -> username


def jpeg(name: str, max_side: int = 640) -> tuple[bytes, int, int]:
    image = Image.open(ASSETS / name).convert("RGB")
    image.thumbnail((max_side, max_side))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue(), image.width, image.height


ORG = {
    "d-jiangbei": ("江北区", {"s-a": "江北实验小学", "s-b": "观音桥中学"}),
    "d-yubei": ("渝北区", {"s-c": "渝北第一中学"}),
}
USERS = [
    ("reg", "王监管", "regulator", "d-jiangbei", None),
    ("reg2", "赵监管", "regulator", "d-yubei", None),
    ("head_a", "李校长", "school_head", None, "s-a"),
    ("mgr_a", "张师傅", "canteen_manager", None, "s-a"),
    ("head_b", "陈校长", "school_head", None, "s-b"),
    ("parent_a", "刘家长", "parent", None, "s-a"),
]


def seed_org(db: Database) -> None:
    with db.session() as s:
        for did, (dname, schools) in ORG.items():
            s.add(District(id=did, name=dname))
            s.flush()
            for sid, sname in schools.items():
                s.add(School(id=sid, district_id=did, name=sname))
                s.flush()
                s.add(Canteen(id=f"{sid}-ct", school_id=sid, name="学生食堂"))
                s.flush()
                for room, (rname, rtype) in {"cook": ("烹饪间", "cooking"), "prep": ("备餐间", "prep")}.items():
                    s.add(Room(id=f"{sid}-{room}", canteen_id=f"{sid}-ct", school_id=sid, name=rname, room_type=rtype))
        for username, display, role, district, school in USERS:
            s.add(
                User(
                    username=username,
                    display_name=display,
                    password_hash=hash_password(PASSWORD),
                    role=role,
                    district_id=district,
                    school_id=school,
                )
            )


def provision(db: Database, school_id: str) -> SeededDevice:
    key = Ed25519PrivateKey.generate()
    device_id = f"edge-{school_id}"
    with db.session() as s:
        device_service.provision(
            s, device_id, school_id, base64.b64encode(public_key_bytes(key.public_key())).decode(), name="边缘盒"
        )
        for room, cname in (("cook", "烹饪间 1 号"), ("prep", "备餐间 1 号")):
            s.add(
                Camera(
                    id=f"{school_id}-{room}-cam1",
                    school_id=school_id,
                    room_id=f"{school_id}-{room}",
                    device_id=device_id,
                    name=cname,
                )
            )
    return SeededDevice(device_id, school_id, key)


def send_event(
    ingest: IngestService,
    dev: SeededDevice,
    violation_class: str,
    picture: str,
    occurred_at: datetime,
    *,
    room: str = "cook",
    track_id: int | None = 1,
    box: tuple[float, float, float, float] = (0.2, 0.15, 0.7, 0.9),
    label: str = "person",
) -> int:
    """Sign and ingest one event with a ``clean`` picture; returns the case id."""
    data, w, h = jpeg(picture)
    info = default_taxonomy().get(violation_class)
    place = Place(
        school_id=dev.school_id,
        canteen_id=f"{dev.school_id}-ct",
        room_id=f"{dev.school_id}-{room}",
        room_type=RoomType.COOKING if room == "cook" else RoomType.PREP,
        camera_id=f"{dev.school_id}-{room}-cam1",
    )
    event = ViolationEvent(
        school_id=dev.school_id,
        device_id=dev.device_id,
        sent_at=occurred_at + timedelta(seconds=2),
        event_id=uuid.uuid4(),
        violation_class=ViolationClass(violation_class),
        severity=info.severity,
        rule=f"{info.rule}-1",
        occurred_at=occurred_at,
        place=place,
        track_id=track_id,
        score=0.87,
        duration_s=3.0,
        boxes=(Box(label=label, score=0.87, xyxy=box, track_id=track_id),),
        attachments=(attachment_ref("clean", data, w, h),),
    )
    payload = encode(sign(event, dev.key), {"clean": data})
    outcome = ingest.handle(Topics(dev.school_id, dev.device_id).events, payload, occurred_at + timedelta(seconds=3))
    assert outcome.outcome == "accepted" and outcome.case_id is not None, outcome
    return outcome.case_id


def send_status(ingest: IngestService, dev: SeededDevice, now: datetime, offline_camera: str | None = None) -> None:
    cams = tuple(
        CameraStatus(camera_id=c, state="offline" if c == offline_camera else "online", last_frame_at=now)
        for c in (f"{dev.school_id}-cook-cam1", f"{dev.school_id}-prep-cam1")
    )
    status = DeviceStatus(
        school_id=dev.school_id,
        device_id=dev.device_id,
        sent_at=now,
        state="online",
        agent_version="0.1.0",
        public_key=base64.b64encode(public_key_bytes(dev.key.public_key())).decode(),
        cameras=cams,
    )
    topics = Topics(dev.school_id, dev.device_id)
    assert ingest.handle(topics.status, encode(sign(status, dev.key)), now).outcome == "accepted"
    stats = DeviceStats(
        school_id=dev.school_id,
        device_id=dev.device_id,
        sent_at=now,
        uptime_s=7200.0,
        outbox_depth=3,
        outbox_bytes=40960,
        cameras=tuple(
            CameraStats(
                camera_id=c.camera_id, decode_fps=12.5, detect_fps=4.0, dropped_frames=0, inference_ms=57.0, lag_s=0.2
            )
            for c in cams
        ),
    )
    assert ingest.handle(topics.stats, encode(sign(stats, dev.key)), now).outcome == "accepted"


def seed_all(db: Database, storage: Storage, config: HubConfig, now: datetime | None = None) -> Seed:
    now = now or utcnow()
    seed_org(db)
    ingest = IngestService(db, storage, config, RecordingNotifier(), default_taxonomy())
    seed = Seed(users={u[0]: u[0] for u in USERS})
    for sid in ("s-a", "s-b", "s-c"):
        seed.devices[sid] = provision(db, sid)
        send_status(ingest, seed.devices[sid], now - timedelta(minutes=1), "s-b-prep-cam1" if sid == "s-b" else None)
    a, b, c = seed.devices["s-a"], seed.devices["s-b"], seed.devices["s-c"]
    seed.cases["a_mask"] = send_event(ingest, a, "no_mask", "person.jpg", now - timedelta(hours=2), room="prep")
    seed.cases["a_rat"] = send_event(
        ingest,
        a,
        "pest_intrusion",
        "chelsea.jpg",
        now - timedelta(hours=1),
        track_id=7,
        label="cat",
        box=(0.1, 0.1, 0.9, 0.95),
    )
    seed.cases["a_bin_overdue"] = send_event(
        ingest, a, "bin_lid_open", "dog.jpg", now - timedelta(hours=30), track_id=None, label="bin_open"
    )
    seed.cases["b_smoking"] = send_event(ingest, b, "smoking", "eagle.jpg", now - timedelta(hours=3), track_id=3)
    seed.cases["c_hat"] = send_event(ingest, c, "no_chef_hat", "person.jpg", now - timedelta(hours=5), track_id=2)
    with db.session() as s:
        s.add(CameraLiveSetting(camera_id="s-a-cook-cam1", parent_viewable=True))
        parent = s.query(User).filter_by(username="parent_a").one()
        s.add(
            ParentGrant(
                user_id=parent.id,
                school_id="s-a",
                expires_at=now + timedelta(days=30),
                starts_at=now - timedelta(days=1),
            )
        )
    return seed
