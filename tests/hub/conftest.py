"""Hub fixtures: every database test runs on SQLite and on PostgreSQL (own schema per test)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from cloud_api.app import create_app
from cloud_api.config import HubConfig
from cloud_api.context import HubContext, build_context
from cloud_api.db.session import make_engine
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


def _pg_connect(autocommit: bool = True) -> Any:
    import psycopg

    return psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=autocommit)


@contextmanager
def _pg_schema() -> Iterator[str]:
    """A fresh schema, dropped afterwards; the URL pins search_path to it (tables and alembic_version)."""
    schema = f"hubtest_{uuid.uuid4().hex[:12]}"
    with _pg_connect() as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_ROOT}?options=-csearch_path%3D{schema}"
    finally:
        with _pg_connect() as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind (for migration tests)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    reason = _pg_unreachable()
    if reason:
        pytest.skip(reason)
    with _pg_schema() as url:
        yield url


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once per run; each test gets a copy (migrating per test would dominate the run time)."""
    path = tmp_path_factory.mktemp("hubdb") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _pg_template() -> Iterator[str | None]:
    """One migrated schema per run; tests start from truncated tables (TRUNCATE skips row triggers)."""
    if _pg_unreachable():
        yield None
        return
    with _pg_schema() as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: SQLite file or PostgreSQL schema."""
    if request.param == "sqlite":
        target = tmp_path / "hub.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    url = request.getfixturevalue("_pg_template")
    if url is None:
        pytest.skip(_pg_unreachable() or "PostgreSQL unreachable")
    engine = make_engine(url)
    with engine.begin() as conn:
        # DELETE is much faster than TRUNCATE on tiny tables; replica mode skips FK and append-only triggers
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in inspect(conn).get_table_names():
            if table != "alembic_version":
                conn.execute(text(f'DELETE FROM "{table}"'))
    engine.dispose()
    yield url


def hub_config(db_url: str, root: Path, **overrides: object) -> HubConfig:
    data: dict[str, object] = {"database": {"url": db_url}, "storage": {"type": "local", "root": str(root)}}
    data.update(overrides)
    return HubConfig.model_validate(data)


@pytest.fixture
def hub(db_url: str, tmp_path: Path) -> Iterator[HubContext]:
    context = build_context(hub_config(db_url, tmp_path / "evidence"))
    yield context
    context.db.dispose()


@pytest.fixture
def world(hub: HubContext) -> World:
    return World(hub, suffix="")


@pytest.fixture
def client(hub: HubContext) -> Iterator[TestClient]:
    with TestClient(create_app(hub=hub)) as test_client:
        yield test_client
