"""reference data: a tenant's organization, definitions, index set, calendar and emulation
configuration, registered in the database (append-only)

Revision ID: 0006
Revises: 0005

Each row is one registered version; its registration is an audit event (``event_id``). Rows are
never changed or deleted (triggers refuse it): a new version is a new row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_RULE = "reference_data is append-only"


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "reference_data",
        sa.Column("id", big, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("registered_by", sa.String(length=128), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", big, nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["audit_events.id"], name=op.f("fk_reference_data_event_id_audit_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_data")),
        sa.UniqueConstraint(
            "tenant", "kind", "version", name="uq_reference_data_tenant_kind_version"
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION reference_data_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{_RULE}: % refused', TG_OP; END $$"
        )
        op.execute(
            "CREATE TRIGGER reference_data_append_only BEFORE UPDATE OR DELETE ON reference_data "
            "FOR EACH ROW EXECUTE FUNCTION reference_data_append_only()"
        )
        op.execute(
            "CREATE TRIGGER reference_data_no_truncate BEFORE TRUNCATE ON reference_data "
            "FOR EACH STATEMENT EXECUTE FUNCTION reference_data_append_only()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER reference_data_no_{operation.lower()} BEFORE {operation} "
                f"ON reference_data BEGIN SELECT RAISE(ABORT, '{_RULE}: {operation} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER reference_data_no_truncate ON reference_data")
        op.execute("DROP TRIGGER reference_data_append_only ON reference_data")
        op.execute("DROP FUNCTION reference_data_append_only()")
    op.drop_table("reference_data")
