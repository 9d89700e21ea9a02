"""Incidents belong to an account as well as a region (ACCOUNTS_FILE: the bot watches several).

Why the unique index changes: "one open incident per fingerprint" must hold per account and region —
an alarm called HighCPU can fire in prod and in staging at once, and both are incidents. The column
is '' (not NULL) for the bot's own account, so the index still holds there (NULLs never collide).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    op.drop_index("one_open_incident_per_fingerprint", table_name="incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("account", sa.String(64), nullable=False, server_default=""))
    op.create_index("one_open_incident_per_scope_fingerprint", "incidents", ["account", "region", "fingerprint"],
                    unique=True, sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    op.drop_index("one_open_incident_per_scope_fingerprint", table_name="incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("account")
    op.create_index("one_open_incident_per_fingerprint", "incidents", ["fingerprint"], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)
