"""Migration 0010 creates exactly the people tables as the models describe them, and downgrades cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import cloud_api.db.models.people  # noqa: F401  (registers the people tables)
from cloud_api.context import HubContext
from cloud_api.db.base import Base
from cloud_api.migrations import current, downgrade, upgrade

PEOPLE_TABLES = {
    "auth_sessions",
    "login_throttle",
    "camera_live_settings",
    "parent_invites",
    "parent_grants",
    "live_view_audit",
    "parent_reports",
    "push_preferences",
    "webpush_subscriptions",
    "push_deliveries",
}


def _table_of(diff: object) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:] if isinstance(item, tuple) else ():
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        name = part if isinstance(part, str) else getattr(part, "name", None)
        if name in Base.metadata.tables:
            return str(name)
    return None


def test_people_tables_match_models_and_downgrade(any_hub: HubContext) -> None:
    engine = any_hub.db.engine
    assert set(inspect(engine).get_table_names()) >= PEOPLE_TABLES
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    ours = [d for d in diffs if _table_of(d) in PEOPLE_TABLES]
    assert ours == []
    head = current(engine)
    downgrade(engine, "0001")
    assert not PEOPLE_TABLES & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert current(engine) == head
