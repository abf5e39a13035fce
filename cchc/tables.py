"""The tables CCHC owns: metric values, scores and deadline steps.

They sit on the engine's ``Base`` (one metadata: their foreign keys reach ``instances``); their
schema is made by the ``cchc`` branch of migrations (``cchc/migrations/versions``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflows.schema import Base, BigId

__all__ = ["DeadlineStep", "MetricValue", "Score"]


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
