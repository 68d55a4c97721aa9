"""Analytics: daily and monthly school rollups, their refresh watermark, and indexes on cases for rankings and refresh.

Revision ID: 0020
Revises: 0010
Create Date: 2026-11-29 08:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_school_day",
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.Column("closed_on_time", sa.Integer(), nullable=False),
        sa.Column("close_seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("school_id", "day", name=op.f("pk_analytics_school_day")),
    )
    op.create_index(op.f("ix_analytics_school_day_day"), "analytics_school_day", ["day"], unique=False)
    op.create_table(
        "analytics_school_month",
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.Column("closed_on_time", sa.Integer(), nullable=False),
        sa.Column("close_seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("school_id", "month", name=op.f("pk_analytics_school_month")),
    )
    op.create_index(op.f("ix_analytics_school_month_month"), "analytics_school_month", ["month"], unique=False)
    op.create_table(
        "analytics_rollup_state",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_analytics_rollup_state")),
    )
    op.create_index("ix_cases_school_id_first_seen_at", "cases", ["school_id", "first_seen_at"], unique=False)
    op.create_index("ix_cases_updated_at", "cases", ["updated_at"], unique=False)
    op.create_index(
        "ix_cases_open_school_id_first_seen_at",
        "cases",
        ["school_id", "first_seen_at"],
        unique=False,
        postgresql_include=["deadline_at", "state"],
        postgresql_where=sa.text("closed_at IS NULL"),
        sqlite_where=sa.text("closed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_cases_open_school_id_first_seen_at", table_name="cases")
    op.drop_index("ix_cases_updated_at", table_name="cases")
    op.drop_index("ix_cases_school_id_first_seen_at", table_name="cases")
    op.drop_table("analytics_rollup_state")
    op.drop_index(op.f("ix_analytics_school_month_month"), table_name="analytics_school_month")
    op.drop_table("analytics_school_month")
    op.drop_index(op.f("ix_analytics_school_day_day"), table_name="analytics_school_day")
    op.drop_table("analytics_school_day")
