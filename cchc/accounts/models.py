"""The accounts tables (made by the migration ``0007_accounts``).

Tokens (invites, sessions) are stored only as their sha256; passwords only as Argon2id hashes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflows.schema import Base, BigId


class Account(Base):
    """A person of the tenant's organization who may sign in to the web application."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("tenant", "person_id", name="uq_accounts_tenant_person"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(String(64))
    """A person id of the tenant's organization."""
    password_hash: Mapped[str | None] = mapped_column(Text)
    """Argon2id (PHC string); None until the person sets a password through an invite."""
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    """Failed sign-ins since the last success or lock."""
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    password_set_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AccountInvite(Base):
    """A one-time link to set a password: first one (``invite``) or a new one (``reset``)."""

    __tablename__ = "account_invites"
    __table_args__ = (Index("ix_account_invites_tenant_person", "tenant", "person_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(16))
    """``invite`` or ``reset``."""
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """sha256 of the token in the link (the token itself is never stored)."""
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When the link was used or replaced by a newer one (None: still usable until expiry)."""


class WebSession(Base):
    """A signed-in browser: the cookie holds the token, the table its sha256."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_tenant_person", "tenant", "person_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(32))
    """``sign_out``, ``idle``, ``expired``, ``disabled``, ``password_set``."""
    address: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(300))


class SignInFailure(Base):
    """A failed sign-in, kept to throttle an address that tries many accounts."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_address_time", "address", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    login: Mapped[str] = mapped_column(String(64))
    """The name typed (may be no person at all)."""
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
