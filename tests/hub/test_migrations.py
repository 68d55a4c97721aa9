"""Alembic on both databases: upgrade head → downgrade base → upgrade head, and the schema matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import cloud_api.db.models  # noqa: F401
from cloud_api.analytics.rollup import AnalyticsBase
from cloud_api.db.base import Base
from cloud_api.db.session import make_engine
from cloud_api.migrations import current, downgrade, upgrade


def test_upgrade_downgrade_upgrade(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine)
        head = current(engine)
        assert head is not None
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


def test_migrations_match_the_models(empty_db_url: str) -> None:
    """No drift between the migrations at head and every area's ORM models."""
    engine = make_engine(empty_db_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            diffs = compare_metadata(context, [Base.metadata, AnalyticsBase.metadata])
        assert diffs == []
    finally:
        engine.dispose()
