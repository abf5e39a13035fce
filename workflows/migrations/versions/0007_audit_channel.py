"""audit events record their channel (web session, CLI with OS account and host)

Revision ID: 0007
Revises: 0006

A nullable column: events written before keep NULL and their hash (the channel is hashed only
when set, ``workflows.audit.OPTIONAL_HASHED_FIELDS``), so existing chains still verify. Adding
a column is not an UPDATE: the append-only triggers are not involved.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("channel", sa.String(length=200), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE audit_events DROP COLUMN channel")
    else:
        op.drop_column("audit_events", "channel")
