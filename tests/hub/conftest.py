"""Hub fixtures: every database test runs on SQLite and on PostgreSQL (own schema per test)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cloud_api.app import create_app
from cloud_api.config import HubConfig
from cloud_api.context import HubContext, build_context
from cloud_api.migrations import upgrade
from tests.hub.helpers import World

PG_ROOT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_unreachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=3):
            return None
    except Exception as exc:
        return f"PostgreSQL at 127.0.0.1:5432 (db test, user postgres) unreachable: {exc}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    reason = _pg_unreachable()
    if reason:
        pytest.skip(reason)
    import psycopg

    schema = f"hubtest_{uuid.uuid4().hex[:12]}"
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_ROOT}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def hub_config(db_url: str, root: Path, **overrides: object) -> HubConfig:
    data: dict[str, object] = {"database": {"url": db_url}, "storage": {"type": "local", "root": str(root)}}
    data.update(overrides)
    return HubConfig.model_validate(data)


@pytest.fixture
def hub(db_url: str, tmp_path: Path) -> Iterator[HubContext]:
    context = build_context(hub_config(db_url, tmp_path / "evidence"))
    upgrade(context.db.engine)
    yield context
    context.db.dispose()


@pytest.fixture
def world(hub: HubContext) -> World:
    return World(hub, suffix="")


@pytest.fixture
def client(hub: HubContext) -> Iterator[TestClient]:
    with TestClient(create_app(hub=hub)) as test_client:
        yield test_client
