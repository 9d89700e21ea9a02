"""proposals.needs: who may decide — "confirm" (the requester, or an approver) or "approve" (approvers).

Why: start/reboot no longer run straight from a sentence; the requester confirms them with one
click. Rows made before this revision were all approver proposals.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("proposals") as batch:
        batch.add_column(sa.Column("needs", sa.String(16), nullable=False, server_default="approve"))


def downgrade() -> None:
    with op.batch_alter_table("proposals") as batch:
        batch.drop_column("needs")
