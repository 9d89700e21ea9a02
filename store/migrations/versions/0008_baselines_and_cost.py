"""Seasonal baselines per instance and metric, and the daily cost check per account.

Why stored: a baseline costs one 14-day GetMetricData query per metric, so it is learned at most once a day
per instance; a restart or a replica taking over the lease must reuse it, not learn the fleet again. The
cost check is one Cost Explorer request per account per day, kept the same way.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_baselines",
        sa.Column("account", sa.String(64), primary_key=True, server_default=""),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("instance_id", sa.String(32), primary_key=True),
        sa.Column("metric", sa.String(64), primary_key=True),
        sa.Column("learned_at", sa.DateTime, nullable=False),
        sa.Column("history_hours", sa.Integer, nullable=False),
        sa.Column("buckets", sa.JSON, nullable=False),
    )
    op.create_table(
        "cost_checks",
        sa.Column("account", sa.String(64), primary_key=True, server_default=""),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("checked_at", sa.DateTime, nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cost_checks")
    op.drop_table("metric_baselines")
