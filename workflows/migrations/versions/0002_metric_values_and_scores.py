"""(empty) tables moved out of the engine's branch

Revision ID: 0002
Revises: 0001

Before each package had its own branch of migrations, this revision created tables that
another package now owns; that package's branch creates them (or finds them made by this
revision). The revision stays, empty, so that a database at it still upgrades.
"""

from __future__ import annotations

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
