"""The tables notifications own: deliveries (one per recipient) and their attempts.

They sit on the engine's ``Base`` (one metadata: a delivery refers to its ``outbox`` row); their
schema is made by the ``notifications`` branch of migrations (``notifications/migrations``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflows.schema import Base, BigId

__all__ = ["DeliveryAttempt", "NotificationDelivery"]


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
