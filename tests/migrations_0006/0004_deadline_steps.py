"""deadline steps

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
    op.create_table(
        "deadline_steps",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column(
            "instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["instances.id"], name=op.f("fk_deadline_steps_instance_id_instances")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_steps")),
        sa.UniqueConstraint("key", name=op.f("uq_deadline_steps_key")),
    )
    with op.batch_alter_table("deadline_steps", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deadline_steps_due", ["tenant", "done_at", "due_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deadline_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_deadline_steps_due")
    op.drop_table("deadline_steps")
