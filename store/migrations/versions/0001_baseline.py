"""Baseline: the schema of release b367286 (made by create_all, before migrations existed).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "proposals",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tool", sa.String(64), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("args", sa.JSON, nullable=False),
        sa.Column("instance_ids", sa.JSON, nullable=False),
        sa.Column("instance_names", sa.JSON, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(64)),
        sa.Column("thread_ts", sa.String(64)),
        sa.Column("message_ts", sa.String(64)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(128)),
        sa.Column("decided_at", sa.DateTime),
        sa.Column("result", sa.Text),
    )
    op.create_index("ix_proposals_status", "proposals", ["status"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("tool", sa.String(64)),
        sa.Column("proposal_id", sa.String(40)),
        sa.Column("status", sa.String(32)),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("detail", sa.JSON),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_events_proposal_id", "audit_events", ["proposal_id"])
    op.create_table(
        "flags",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("seen_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_processed_events_seen_at", "processed_events", ["seen_at"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(300), nullable=False),
        sa.Column("check_name", sa.String(48), nullable=False),
        sa.Column("tier", sa.Integer, nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("resource_id", sa.String(256), nullable=False),
        sa.Column("resource_name", sa.String(256)),
        sa.Column("instance_id", sa.String(32)),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("suppressed", sa.Boolean, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("signature", sa.String(300), nullable=False),
        sa.Column("notified_signature", sa.String(300)),
        sa.Column("channel", sa.String(64)),
        sa.Column("thread_ts", sa.String(64)),
        sa.Column("proposal_id", sa.String(40)),
        sa.Column("sop_id", sa.String(100)),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("resolved_at", sa.DateTime),
        sa.Column("resolved_notified", sa.Boolean, nullable=False),
    )
    op.create_index("ix_incidents_fingerprint", "incidents", ["fingerprint"])
    op.create_index("ix_incidents_status", "incidents", ["status"])
    op.create_index("one_open_incident_per_fingerprint", "incidents", ["fingerprint"], unique=True,
                    sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
    op.create_table(
        "instance_observations",
        sa.Column("instance_id", sa.String(32), primary_key=True),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("seen_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("leases", "instance_observations", "incidents", "processed_events", "flags", "audit_events",
                  "proposals"):
        op.drop_table(table)
