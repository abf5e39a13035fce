"""audit inspection: lookup indexes; chain heads and the trail refuse deletion and rewinding

Revision ID: 0005
Revises: 0004

Two indexes serve the inspector's questions (``cchc audit history``) over millions of events:
an actor's period within a tenant, and the events of one kind and ref (an object's history,
refused creations included). Nothing here is hashed, so existing chains verify unchanged.

The audit trail already refuses UPDATE and DELETE (0001). This adds: on PostgreSQL, TRUNCATE
of ``audit_events`` and ``audit_chain_heads`` is refused; on both databases a chain head can
neither be deleted nor moved backwards (which would hide events deleted from the end of a
chain, or a whole tenant's chain), nor renamed.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_HEAD_RULE = "audit_chain_heads only moves forward"


def upgrade() -> None:
    # Plain CREATE INDEX (no batch mode): recreating the table would drop its triggers.
    op.create_index(
        "ix_audit_events_tenant_actor_time", "audit_events", ["tenant", "actor", "occurred_at"]
    )
    op.create_index("ix_audit_events_tenant_kind_ref", "audit_events", ["tenant", "kind", "ref"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )
        op.execute(
            "CREATE FUNCTION audit_chain_heads_forward_only() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN "
            "IF TG_OP = 'UPDATE' AND NEW.tenant = OLD.tenant AND NEW.seq >= OLD.seq THEN "
            "RETURN NEW; END IF; "
            f"RAISE EXCEPTION '{_HEAD_RULE}: % refused', TG_OP; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_chain_heads_forward_only BEFORE UPDATE OR DELETE "
            "ON audit_chain_heads FOR EACH ROW EXECUTE FUNCTION audit_chain_heads_forward_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_chain_heads_no_truncate BEFORE TRUNCATE ON audit_chain_heads "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_heads_forward_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_chain_heads_no_delete BEFORE DELETE ON audit_chain_heads "
            f"BEGIN SELECT RAISE(ABORT, '{_HEAD_RULE}: DELETE refused'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_chain_heads_no_rewind BEFORE UPDATE ON audit_chain_heads "
            "WHEN NEW.seq < OLD.seq OR NEW.tenant <> OLD.tenant "
            f"BEGIN SELECT RAISE(ABORT, '{_HEAD_RULE}: UPDATE refused'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_chain_heads_no_truncate ON audit_chain_heads")
        op.execute("DROP TRIGGER audit_chain_heads_forward_only ON audit_chain_heads")
        op.execute("DROP FUNCTION audit_chain_heads_forward_only()")
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
    else:
        op.execute("DROP TRIGGER audit_chain_heads_no_rewind")
        op.execute("DROP TRIGGER audit_chain_heads_no_delete")
    op.drop_index("ix_audit_events_tenant_kind_ref", table_name="audit_events")
    op.drop_index("ix_audit_events_tenant_actor_time", table_name="audit_events")
