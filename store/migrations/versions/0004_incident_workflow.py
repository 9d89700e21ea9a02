"""Incidents people work in: acknowledge, snooze, resolve by hand, a link to the thread, a timeline.

Why: an incident was only the monitor's; on call needs to say "mine" (acknowledged_by), "not now"
(snoozed_until: nothing is posted until then), "done" (resolved_by; `held` keeps a hand-resolved
fingerprint quiet while the same finding persists, until it clears and fires again), and to read
afterwards what happened when (incident_events, the timeline a postmortem is drafted from).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("link", sa.String(400)))
        batch.add_column(sa.Column("acknowledged_by", sa.String(128)))
        batch.add_column(sa.Column("acknowledged_at", sa.DateTime))
        batch.add_column(sa.Column("snoozed_until", sa.DateTime))
        batch.add_column(sa.Column("resolved_by", sa.String(128)))
        batch.add_column(sa.Column("held", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "incident_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.Integer, nullable=False, index=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("incident_events")
    with op.batch_alter_table("incidents") as batch:
        for column in ("held", "resolved_by", "snoozed_until", "acknowledged_at", "acknowledged_by", "link"):
            batch.drop_column(column)
