"""SQLAlchemy 2 typed tables of the engine. The schema itself is made by Alembic migrations."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
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


class MetricValue(Base):
    """A metric value of a unit for a period, from an audited import (kind ``metric_import``)."""

    __tablename__ = "metric_values"
    __table_args__ = (Index("ix_metric_values_lookup", "tenant", "period", "metric", "unit"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(64))
    metric: Mapped[str] = mapped_column(String(64))
    numerator: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    denominator: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    source: Mapped[str] = mapped_column(Text)
    import_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    """The ``metric_import`` instance whose creation was audited; per unit, the latest import
    that brought the unit is in force."""
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Score(Base):
    """A computed score of one sub-criterion, with everything needed to recompute it."""

    __tablename__ = "scores"
    __table_args__ = (
        UniqueConstraint("tenant", "plan", "run_id", "code", name="uq_scores_run_code"),
        Index("ix_scores_plan_code", "tenant", "plan", "code", "computed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    plan: Mapped[str] = mapped_column(String(60))
    run_id: Mapped[str] = mapped_column(String(64))
    """sha256 of the run's inputs: the same inputs give the same run id and the same rows."""
    index_set: Mapped[str] = mapped_column(String(64))
    index_set_hash: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(32))
    owner_unit: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(Text)
    """Canonical JSON of the rule and its parameters."""
    inputs: Mapped[str] = mapped_column(Text)
    """Canonical JSON of the inputs (numerator, denominator, source, period …)."""
    points: Mapped[Decimal] = mapped_column(Numeric(10, 4))
    max_points: Mapped[Decimal] = mapped_column(Numeric(10, 4))
    explanation: Mapped[str] = mapped_column(Text)
    outside_base: Mapped[bool] = mapped_column()
    """Bonus and penalty points, counted outside the 100-point base."""
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@event.listens_for(Instance.state, "set")
def _refuse_direct_state_assignment(
    target: Instance, value: object, oldvalue: object, initiator: object
) -> None:
    """Prevents bypassing the engine: states change only through ``Engine.fire``."""
    raise StateAssignmentError(
        f"the state of {target.kind} #{target.id} cannot be assigned ({oldvalue!r} → {value!r}); "
        "fire a trigger with workflows.engine.Engine.fire so it is checked and audited"
    )


class NotificationDelivery(Base):
    """One notification to one recipient; its dedupe key makes sure it is sent at most once.

    ``status``: ``pending`` (due at ``next_attempt_at``), ``sending`` (claimed by a dispatcher
    until ``next_attempt_at``, its lease), ``sent`` or ``failed``. A digest has no outbox row.
    """

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        Index("ix_notification_deliveries_due", "tenant", "status", "next_attempt_at"),
        Index("ix_notification_deliveries_recipient", "tenant", "recipient", "created_at"),
        Index("ix_notification_deliveries_outbox", "outbox_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    """``{outbox.dedupe_key}:{recipient}`` (or ``digest:{tenant}:{day}:{recipient}``)."""
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    template: Mapped[str] = mapped_column(String(120))
    recipient: Mapped[str] = mapped_column(String(64))
    """The person's id in the organization."""
    address: Mapped[str] = mapped_column(String(254))
    channel: Mapped[str | None] = mapped_column(String(32))
    """The channel of the latest attempt."""
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeliveryAttempt(Base):
    """One attempt to send a delivery, with its outcome and the error text when it failed."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (
        UniqueConstraint("delivery_id", "attempt", name="uq_delivery_attempts_delivery_attempt"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("notification_deliveries.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16))
    """``sending`` (not finished yet), ``sent``, ``transient``, ``permanent`` or ``interrupted``."""
    error: Mapped[str | None] = mapped_column(Text)


class DeadlineStep(Base):
    """A durable step of a deadline (reminder, overdue, escalation), due at a stored time.

    The sweep claims due steps (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and marks them done,
    so two sweeps at once never act twice.
    """

    __tablename__ = "deadline_steps"
    __table_args__ = (Index("ix_deadline_steps_due", "tenant", "done_at", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    step: Mapped[str] = mapped_column(String(32))
    """``remind-7`` (working days before), ``overdue``, ``escalate-1`` …"""
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """The deadline this step belongs to; a new deadline gives new steps."""
    key: Mapped[str] = mapped_column(String(200), unique=True)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(32))
