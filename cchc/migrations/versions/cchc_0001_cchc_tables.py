"""cchc tables: metric values, scores, deadline steps

Revision ID: cchc_0001
Revises:
Depends on: 0001 (instances)

The first revision of the ``cchc`` branch. The tables are those the engine's revisions 0002
(metric values, scores) and 0004 (deadline steps) created before each package had its own
branch: a database made then already has them, and each is created only when missing, so
such a database upgrades with its data kept.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "cchc_0001"
down_revision = None
branch_labels = ("cchc",)
depends_on = "0001"

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _missing(table: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    if _missing("scores"):
        _create_scores()
    if _missing("metric_values"):
        _create_metric_values()
    if _missing("deadline_steps"):
        _create_deadline_steps()


def _create_scores() -> None:
    op.create_table(
        "scores",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("plan", sa.String(length=60), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("index_set", sa.String(length=64), nullable=False),
        sa.Column("index_set_hash", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("owner_unit", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("points", sa.Numeric(precision=10, scale=4), nullable=False),
        sa.Column("max_points", sa.Numeric(precision=10, scale=4), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("outside_base", sa.Boolean(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scores")),
        sa.UniqueConstraint("tenant", "plan", "run_id", "code", name="uq_scores_run_code"),
    )
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.create_index(
            "ix_scores_plan_code", ["tenant", "plan", "code", "computed_at"], unique=False
        )


def _create_metric_values() -> None:
    op.create_table(
        "metric_values",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("numerator", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("denominator", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("import_id", BIG_ID, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"], ["instances.id"], name=op.f("fk_metric_values_import_id_instances")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_values")),
    )
    with op.batch_alter_table("metric_values", schema=None) as batch_op:
        batch_op.create_index(
            "ix_metric_values_lookup", ["tenant", "period", "metric", "unit"], unique=False
        )


def _create_deadline_steps() -> None:
    op.create_table(
        "deadline_steps",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("instance_id", BIG_ID, nullable=False),
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
    with op.batch_alter_table("metric_values", schema=None) as batch_op:
        batch_op.drop_index("ix_metric_values_lookup")
    op.drop_table("metric_values")
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.drop_index("ix_scores_plan_code")
    op.drop_table("scores")
