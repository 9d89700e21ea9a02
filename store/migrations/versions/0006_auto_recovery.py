"""Auto-recovery (AUTO_RECOVERY): a proposal may run by itself when its countdown ends, and every recovery
action is remembered with whether it worked.

Why in the database: a countdown, a cooldown and a circuit breaker must survive a restart and be the same
for every replica — a bot restarted during a countdown must neither forget it nor run it twice.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("proposals") as batch:
        batch.add_column(sa.Column("auto_at", sa.DateTime))
        batch.add_column(sa.Column("incident_id", sa.Integer))
    op.create_table(
        "recovery_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("proposal_id", sa.String(40), nullable=False, unique=True),
        sa.Column("incident_id", sa.Integer, nullable=False, index=True),
        sa.Column("account", sa.String(64), nullable=False, server_default=""),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("instance_id", sa.String(32), nullable=False, index=True),
        sa.Column("tool", sa.String(64), nullable=False),
        sa.Column("auto", sa.Boolean, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("deadline_at", sa.DateTime, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False, index=True),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("seconds", sa.Integer),
    )


def downgrade() -> None:
    op.drop_table("recovery_attempts")
    with op.batch_alter_table("proposals") as batch:
        batch.drop_column("incident_id")
        batch.drop_column("auto_at")
