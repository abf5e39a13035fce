"""accounts of the web application: accounts, invites, web sessions, failed sign-ins

Revision ID: cchc_0002
Revises: cchc_0001

The models are ``cchc.accounts.models``. Tokens are stored as sha256, passwords as Argon2id.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "cchc_0002"
down_revision = "cchc_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    when = sa.DateTime(timezone=True)
    op.create_table(
        "accounts",
        sa.Column("id", big, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("locked_until", when, nullable=True),
        sa.Column("created_at", when, nullable=False),
        sa.Column("password_set_at", when, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("tenant", "person_id", name="uq_accounts_tenant_person"),
    )
    op.create_table(
        "account_invites",
        sa.Column("id", big, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("expires_at", when, nullable=False),
        sa.Column("used_at", when, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_invites")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_invites_token_hash")),
    )
    op.create_index("ix_account_invites_tenant_person", "account_invites", ["tenant", "person_id"])
    op.create_table(
        "web_sessions",
        sa.Column("id", big, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("last_seen", when, nullable=False),
        sa.Column("ended_at", when, nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    op.create_index("ix_web_sessions_tenant_person", "web_sessions", ["tenant", "person_id"])
    op.create_table(
        "sign_in_failures",
        sa.Column("id", big, autoincrement=True, nullable=False),
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", when, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
    )
    op.create_index(
        "ix_sign_in_failures_address_time", "sign_in_failures", ["address", "occurred_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_sign_in_failures_address_time", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
    op.drop_index("ix_web_sessions_tenant_person", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_index("ix_account_invites_tenant_person", table_name="account_invites")
    op.drop_table("account_invites")
    op.drop_table("accounts")
