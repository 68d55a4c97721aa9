"""Alembic on both databases: upgrade head → downgrade base → upgrade head, and the schema matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import cloud_api.db.models  # noqa: F401
from cloud_api.db.base import Base
from cloud_api.db.session import make_engine
from cloud_api.migrations import HEAD_REVISION, current, downgrade, upgrade


def test_upgrade_downgrade_upgrade(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine)
        head = current(engine)
        assert head is not None and head >= HEAD_REVISION
        assert {"cases", "case_transitions", "devices", "device_keys", "users"} <= set(
            inspect(engine).get_table_names()
        )
        downgrade(engine, "base")
        assert current(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert current(engine) == head
    finally:
        engine.dispose()


def test_our_tables_match_the_models(empty_db_url: str) -> None:
    """No drift between 0001 and the ORM for the tables this module owns."""
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine, HEAD_REVISION)
        ours = {t for t in Base.metadata.tables if not t.startswith(_OTHER_PREFIXES)}
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
        relevant = [d for d in diffs if _table_of(d) in ours]
        assert relevant == []
    finally:
        engine.dispose()


_OTHER_PREFIXES = ("auth_", "login_", "parent_", "push_", "webpush_", "live_", "camera_live", "notification_deliver")


def _table_of(diff: object) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:] if isinstance(item, tuple) else ():
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if isinstance(part, str) and part in Base.metadata.tables:
            return part
        if name in Base.metadata.tables:
            return str(name)
    return None
