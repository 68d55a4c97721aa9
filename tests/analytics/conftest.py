"""Analytics tests run on SQLite and on the real PostgreSQL (fresh schema per test)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

import cloud_api.analytics
import cloud_api.db.models  # noqa: F401  (registers every table)
from cloud_api.analytics.rollup import create_analytics_tables
from cloud_api.db import Base, Database
from tests.analytics.seed import seed

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_URL)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    """An empty schema with every table, on SQLite or in a throw-away PostgreSQL schema."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'a.db'}")
        Base.metadata.create_all(db.engine)
        create_analytics_tables(db.engine)
        yield db
        db.dispose()
        return
    if not _pg_available():
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not answering")
    schema = f"analytics_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(f"{PG_URL}?options=-csearch_path%3D{schema}")
    Base.metadata.create_all(db.engine)
    create_analytics_tables(db.engine)
    try:
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def seeded(database: Database) -> Database:
    with database.session() as s:
        seed(s)
    return database


@pytest.fixture
def session(seeded: Database) -> Iterator[Session]:
    with sessionmaker(seeded.engine)() as s:
        yield s


@pytest.fixture
def api(seeded: Database, tmp_path):  # type: ignore[no-untyped-def]
    """(client, tokens by user name) for the real hub app with the analytics and reports routers included."""
    from fastapi.testclient import TestClient

    from cloud_api.app import create_app
    from cloud_api.config import DatabaseConfig, HubConfig, LocalStorageConfig
    from cloud_api.context import build_context
    from cloud_api.db.models import User
    from cloud_api.people.accounts import open_session
    from cloud_api.people.config import SessionConfig

    config = HubConfig(
        database=DatabaseConfig(url=seeded.url, auto_migrate=False),
        storage=LocalStorageConfig(root=tmp_path / "evidence"),
    )
    hub = build_context(config, db=seeded)
    app = create_app(hub=hub, live=False)
    users = {
        "admin": User(username="admin", password_hash="-", role="admin"),
        "reg1": User(username="reg1", password_hash="-", role="regulator", district_id="d1"),
        "head2": User(username="head2", password_hash="-", role="school_head", school_id="s2"),
        "parent": User(username="parent", password_hash="-", role="parent", school_id="s1"),
    }
    with seeded.session() as s:
        s.add_all(users.values())
        s.flush()
        tokens = {name: open_session(s, u, "api", SessionConfig()).token for name, u in users.items()}
    with TestClient(app) as client:
        yield client, tokens
