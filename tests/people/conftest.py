"""People fixtures: the hub core app with the people area installed, a small world with cameras and grants."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from cloud_api.app import create_app
from cloud_api.config import HubConfig
from cloud_api.context import HubContext, build_context
from cloud_api.db.base import utcnow
from cloud_api.db.models.people import CameraLiveSetting, ParentGrant
from cloud_api.db.models.users import User
from cloud_api.migrations import upgrade
from cloud_api.people.app import PeopleServices, build_services
from cloud_api.people.config import PeopleConfig
from cloud_api.services import devices as device_service
from cloud_api.services import org
from mingchu.contract.signing import public_key_bytes

MQTT_HOST = os.environ.get("MINGCHU_TEST_MQTT_HOST", "127.0.0.1")
MQTT_PORT = int(os.environ.get("MINGCHU_TEST_MQTT_PORT", "1883"))


PASSWORD = "people-test-password-1"
# Cheap Argon2 parameters for test users only (verification reads them from the hash): keeps logins fast.
_CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@cache
def cheap_hash() -> str:
    return _CHEAP.hash(PASSWORD)


class PeopleWorld:
    """Our own small world: district d1 with schools A and B (district d2 with school C), a signed
    device per school, one user per role, rooms and cameras, parent opt-ins and a parent grant.

    School A: ``cam`` (cooking, viewable), ``cam_private`` (cooking, not viewable),
    ``cam_wash`` (a washroom). School B: ``cam_b`` (viewable). ``parent_a`` holds a grant for A.
    """

    def __init__(self, hub: HubContext, suffix: str = "") -> None:
        s = suffix
        self.hub = hub
        self.district, self.district_other = f"d1{s}", f"d2{s}"
        self.school_a, self.school_b, self.school_c = f"sa{s}", f"sb{s}", f"sc{s}"
        self.device, self.device_b = f"dev-a{s}", f"dev-b{s}"
        self.key, self.key_b = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
        self.cam, self.cam_private, self.cam_wash, self.cam_b = f"cam-a1{s}", f"cam-a2{s}", f"cam-aw{s}", f"cam-b1{s}"
        specs = {
            "admin": ("admin", None, None),
            "regulator": ("regulator", self.district, None),
            "regulator_other": ("regulator", self.district_other, None),
            "head_a": ("school_head", None, self.school_a),
            "manager_a": ("canteen_manager", None, self.school_a),
            "head_b": ("school_head", None, self.school_b),
            "parent_a": ("parent", None, self.school_a),
            "parent_b": ("parent", None, self.school_b),
        }
        with hub.db.session() as session:
            org.create_district(session, self.district, "区")
            org.create_district(session, self.district_other, "other district")
            org.create_school(session, self.school_a, self.district, "School A")
            org.create_school(session, self.school_b, self.district, "School B")
            org.create_school(session, self.school_c, self.district_other, "School C")
            device_service.provision(session, self.device, self.school_a, _b64_public(self.key), "edge a")
            device_service.provision(session, self.device_b, self.school_b, _b64_public(self.key_b), "edge b")
            org.create_canteen(session, f"ca{s}", self.school_a, "A canteen")
            org.create_canteen(session, f"cb{s}", self.school_b, "B canteen")
            org.create_room(session, f"ra-cook{s}", f"ca{s}", "灶台", "cooking")
            org.create_room(session, f"ra-wash{s}", f"ca{s}", "员工卫生间", "washroom")
            org.create_room(session, f"rb-cook{s}", f"cb{s}", "灶台", "cooking")
            org.create_camera(session, self.cam, self.school_a, f"ra-cook{s}", self.device)
            org.create_camera(session, self.cam_private, self.school_a, f"ra-cook{s}", self.device)
            org.create_camera(session, self.cam_wash, self.school_a, f"ra-wash{s}", self.device)
            org.create_camera(session, self.cam_b, self.school_b, f"rb-cook{s}", self.device_b)
            session.add(CameraLiveSetting(camera_id=self.cam, parent_viewable=True, area_type="kitchen"))
            session.add(CameraLiveSetting(camera_id=self.cam_b, parent_viewable=True, area_type="kitchen"))
            self.users: dict[str, int] = {}
            self.usernames: dict[str, str] = {}
            for name, (role, district, school) in specs.items():
                user = User(
                    username=f"{name.replace('_', '-')}{s}",
                    display_name=name,
                    password_hash=cheap_hash(),
                    role=role,
                    district_id=district,
                    school_id=school,
                )
                session.add(user)
                session.flush()
                self.users[name], self.usernames[name] = user.id, user.username
            grant_a = ParentGrant(
                user_id=self.users["parent_a"], school_id=self.school_a, expires_at=utcnow() + timedelta(days=7)
            )
            grant_b = ParentGrant(
                user_id=self.users["parent_b"], school_id=self.school_b, expires_at=utcnow() + timedelta(days=7)
            )
            session.add_all([grant_a, grant_b])
            session.flush()
            self.grant_a, self.grant_b = grant_a.id, grant_b.id


def _b64_public(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(public_key_bytes(key.public_key())).decode()


@pytest.fixture
def sqlite_hub(tmp_path: Path) -> Iterator[HubContext]:
    context = build_context(hub_config(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path / "evidence"))
    upgrade(context.db.engine)
    yield context
    context.db.dispose()


PG_DSN = os.environ.get("MINGCHU_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")


def hub_config(db_url: str, root: Path) -> HubConfig:
    return HubConfig.model_validate({"database": {"url": db_url}, "storage": {"type": "local", "root": str(root)}})


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubContext]:
    """A migrated hub on SQLite, and on PostgreSQL in a schema of its own (dropped afterwards)."""
    if request.param == "sqlite":
        context = build_context(hub_config(f"sqlite:///{tmp_path / 'hub.db'}", tmp_path / "evidence"))
        upgrade(context.db.engine)
        yield context
        context.db.dispose()
        return
    import psycopg

    try:
        psycopg.connect(PG_DSN, connect_timeout=3).close()
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL unreachable ({PG_DSN}): {exc}")
    schema = f"peopletest_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    params = dict(kv.split("=", 1) for kv in PG_DSN.split())
    url = (
        f"postgresql+psycopg://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}:"
        f"{params.get('port', '5432')}/{params.get('dbname', 'test')}?options=-csearch_path%3D{schema}"
    )
    context = build_context(hub_config(url, tmp_path / "evidence"))
    try:
        upgrade(context.db.engine)
        yield context
    finally:
        context.db.dispose()
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def people_config(tmp_path: Path, **sections: Any) -> PeopleConfig:
    data: dict[str, Any] = {
        "live": {"client_id": f"hub-live-{uuid.uuid4().hex[:8]}", "snapshot_timeout_s": 3.0},
        "push": {"poll_s": 0.2, "backoff_initial_s": 0.05, "backoff_max_s": 0.5},
    }
    for key, value in sections.items():
        data[key] = {**data.get(key, {}), **value}
    return PeopleConfig.model_validate(data)


def make_client(hub: HubContext, cfg: PeopleConfig, *, live: bool = False) -> tuple[TestClient, PeopleServices]:
    hub_cfg = hub.config.model_copy(
        update={"mqtt": hub.config.mqtt.model_copy(update={"host": MQTT_HOST, "port": MQTT_PORT})}
    )
    services = build_services(
        hub.db, hub_cfg, cfg, storage=hub.storage, notifier=hub.notifier, taxonomy=hub.taxonomy, live=live
    )
    return TestClient(create_app(hub=hub, people=services)), services


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def world(sqlite_hub: HubContext) -> PeopleWorld:
    return PeopleWorld(sqlite_hub)


@pytest.fixture
def client(sqlite_hub: HubContext, world: PeopleWorld, tmp_path: Path) -> Iterator[TestClient]:
    test_client, _services = make_client(sqlite_hub, people_config(tmp_path))
    with test_client:
        yield test_client
