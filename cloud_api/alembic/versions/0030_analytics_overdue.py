"""Analytics: overdue counters in the daily and monthly school rollups (exact as of the last refresh).

Revision ID: 0030
Revises: 0020
Create Date: 2026-11-29 11:30:00

The new columns start at 0, which is only right once a refresh has counted them, so the refresh state is
cleared: until the next ``refresh_rollup`` (which then rebuilds everything) ``rollup_is_fresh`` is false and the
API scans cases, and ``rollup_counts`` counts overdue cases live, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("analytics_school_day", "analytics_school_month")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("overdue", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.execute("DELETE FROM analytics_rollup_state")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("overdue")
