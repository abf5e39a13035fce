"""SQLAlchemy 2 typed tables of the engine. The schema itself is made by Alembic migrations.

Other packages keep their own tables (``cchc.tables``, ``notifications.tables``) on the same
``Base`` (one metadata, so their foreign keys reach the engine's tables) and their own branch of
migrations (``workflows.migrations``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from workflows.errors import StateAssignmentError

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a real BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so migrations name constraints stably."""

    metadata = MetaData(naming_convention=NAMING)


class DefinitionRecord(Base):
    """A workflow definition version as it was loaded: what an instance's hash refers to."""

    __tablename__ = "workflow_definitions"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    """Canonical JSON of the definition; its sha256 is ``hash``."""
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Instance(Base):
    """One stateful thing (a request, a task, a piece of evidence …) and where it stands."""

    __tablename__ = "instances"
    __table_args__ = (
        UniqueConstraint("tenant", "kind", "ref", name="uq_instances_tenant_kind_ref"),
        Index("ix_instances_tenant_kind_state", "tenant", "kind", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(64))
    definition_hash: Mapped[str] = mapped_column(ForeignKey("workflow_definitions.hash"))
    version: Mapped[int] = mapped_column(Integer)
    """Optimistic-concurrency counter: every applied fire increments it."""
    data: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEvent(Base):
    """One attempt to change an instance, applied or refused; a link in its tenant's hash chain."""

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("tenant", "seq", name="uq_audit_events_tenant_seq"),
        Index("ix_audit_events_instance", "instance_id", "seq"),
        Index("ix_audit_events_tenant_time", "tenant", "occurred_at"),
        Index("ix_audit_events_actor_time", "actor", "occurred_at"),
        Index("ix_audit_events_kind_trigger", "kind", "trigger"),
        Index("ix_audit_events_tenant_actor_time", "tenant", "actor", "occurred_at"),
        Index("ix_audit_events_tenant_kind_ref", "tenant", "kind", "ref"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(128))
    role: Mapped[str | None] = mapped_column(String(200))
    instance_id: Mapped[int | None] = mapped_column(BigInteger)
    """None only for a refused creation: no instance came to exist."""
    kind: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str] = mapped_column(String(200))
    trigger: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(64))
    to_state: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    """Canonical JSON text, hashed exactly as stored."""
    definition_hash: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    """``applied`` or ``refused``."""
    reason: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(200))
    """How the actor reached the system (``workflows.channel``): ``web:<session hash prefix>``,
    ``cli:<os account>@<host>``; NULL for events written before it was recorded or by a flow.
    Hashed when set (``workflows.audit.OPTIONAL_HASHED_FIELDS``)."""
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ChainHead(Base):
    """The last link of a tenant's audit chain; locked to serialise appends."""

    __tablename__ = "audit_chain_heads"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class ReferenceData(Base):
    """One registered version of a tenant's reference data (organization, definitions, index
    set, calendar, emulation configuration); append-only, its registration audited."""

    __tablename__ = "reference_data"
    __table_args__ = (
        UniqueConstraint("tenant", "kind", "version", name="uq_reference_data_tenant_kind_version"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    """1, 2, … per tenant and kind; the highest is in force."""
    hash: Mapped[str] = mapped_column(String(64))
    """sha256 of ``content``."""
    content: Mapped[str] = mapped_column(Text)
    """The canonical text: canonical JSON of the checked model, or the file's text."""
    source: Mapped[str] = mapped_column(Text)
    """The file (or folder) it was read from."""
    registered_by: Mapped[str] = mapped_column(String(128))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event_id: Mapped[int] = mapped_column(ForeignKey("audit_events.id"))
    """The audit event that registered it."""


class IdempotencyRecord(Base):
    """The first result of a fire made with an idempotency key, returned on every repeat."""

    __tablename__ = "idempotency_keys"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxMessage(Base):
    """A notification to deliver after commit, written in the same transaction as its event."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status", "status", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[int] = mapped_column(ForeignKey("audit_events.id"))
    instance_id: Mapped[int] = mapped_column(BigInteger)
    template: Mapped[str] = mapped_column(String(120))
    recipients: Mapped[str] = mapped_column(Text)
    """JSON list of recipient roles."""
    context: Mapped[str] = mapped_column(Text)
    """JSON object the template is rendered with."""
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@event.listens_for(Instance.state, "set")
def _refuse_direct_state_assignment(
    target: Instance, value: object, oldvalue: object, initiator: object
) -> None:
    """Prevents bypassing the engine: states change only through ``Engine.fire``."""
    raise StateAssignmentError(
        f"the state of {target.kind} #{target.id} cannot be assigned ({oldvalue!r} → {value!r}); "
        "fire a trigger with workflows.engine.Engine.fire so it is checked and audited"
    )
