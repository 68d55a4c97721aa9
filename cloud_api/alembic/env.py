"""Alembic environment: URL and connection are handed in by :mod:`cloud_api.migrations`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import cloud_api.db.models  # noqa: F401  (registers every table)
from cloud_api.analytics.rollup import AnalyticsBase
from cloud_api.db.base import Base

config = context.config
target_metadata = [Base.metadata, AnalyticsBase.metadata]


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(str(url))
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
