"""Incident buttons carry an opaque key, not the incident's number.

Why: a button's value is whatever the client sends. With the number in it, a Resolve forged on
incident B's message with A's number resolved A. The key names one incident and is checked against
the message the click came from (its channel and ts), like a proposal's id; existing rows get one here.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("button_key", sa.String(40)))
    table = sa.table("incidents", sa.column("id", sa.Integer), sa.column("button_key", sa.String))
    connection = op.get_bind()
    for (incident_id,) in connection.execute(sa.select(table.c.id)).all():
        connection.execute(sa.update(table).where(table.c.id == incident_id)
                           .values(button_key=secrets.token_urlsafe(18)))
    op.create_index("incident_button_key", "incidents", ["button_key"], unique=True)


def downgrade() -> None:
    op.drop_index("incident_button_key", table_name="incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("button_key")
