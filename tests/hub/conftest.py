"""Hub fixtures: every database test runs on SQLite and on PostgreSQL (own schema per test); S3 is a real
moto server over HTTP."""

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
from cloud_api.config import HubConfig, S3StorageConfig
from cloud_api.context import HubContext, build_context
from cloud_api.db.session import make_engine
from cloud_api.migrations import upgrade
from tests.hub.helpers import World
from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server, start_moto

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


# --- S3: moto's server in its own process, spoken to over HTTP by the real boto3 client ---------------------------

# env vars that would point boto3 somewhere else than the test server or give it other credentials
_AWS_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One moto S3 server per run on a free 127.0.0.1 port; stopped at the end. Tests use their own prefixes."""
    server = start_moto(tmp_path_factory.mktemp("moto") / "moto.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_bucket(s3_server: S3Server) -> str:
    """A bucket created once per run with a real boto3 client over HTTP (explicit credentials, no env)."""
    return s3_server.create_bucket()


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and region through the standard AWS env vars, for this test only; the developer's
    ~/.aws and AWS_* settings are hidden so they can neither leak in nor be used."""
    for name in _AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def s3_config(s3_server: S3Server, s3_bucket: str, s3_env: None) -> S3StorageConfig:
    """The run's bucket under a prefix of this test's own, path-style as for MinIO; credentials from env."""
    return S3StorageConfig(
        bucket=s3_bucket,
        prefix=f"t-{uuid.uuid4().hex[:12]}",
        endpoint_url=s3_server.endpoint_url,
        addressing_style="path",
    )


@pytest.fixture
def s3_hub(db_url: str, tmp_path: Path, s3_config: S3StorageConfig) -> Iterator[HubContext]:
    """A hub whose storage is the S3 server (SQLite and PostgreSQL like ``hub``)."""
    context = build_context(hub_config(db_url, tmp_path / "unused", storage=s3_config.model_dump()))
    yield context
    context.db.dispose()
