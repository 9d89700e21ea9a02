"""proposals.finished_at: when an approved execution ended (executed or failed).

Why: "what changed in the last hour" and the monitor's "stopped by the bot" both need the
time the change actually happened, not only when someone clicked.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("proposals") as batch:
        batch.add_column(sa.Column("finished_at", sa.DateTime))


def downgrade() -> None:
    with op.batch_alter_table("proposals") as batch:
        batch.drop_column("finished_at")
