"""The application's database schema: the engine's migrations with the branches of the
packages that own tables (``notifications``, ``cchc``), upgraded together by ``cchc db upgrade``.

``cchc/migrations/versions`` is the ``cchc`` branch (``cchc.tables`` and the web accounts'
``cchc.accounts.models``). Nothing here imports Alembic: checking that a database is current
reads the version files and the database only.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from sqlalchemy import Engine, MetaData

from notifications.migrations import VERSIONS as NOTIFICATION_VERSIONS
from workflows import migrations
from workflows.migrations import SchemaOutdatedError, current_revisions, revisions_text

__all__ = [
    "LOCATIONS",
    "UPGRADE_COMMAND",
    "SchemaOutdatedError",
    "current_revisions",
    "head_revisions",
    "metadata",
    "require_current",
    "revisions_text",
    "upgrade",
]

VERSIONS = Path(__file__).parent / "versions"
LOCATIONS = (NOTIFICATION_VERSIONS, VERSIONS)
"""The packages' branches, besides the engine's own."""
UPGRADE_COMMAND = "cchc db upgrade"


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the database of ``engine`` to ``revision`` (default: every branch to its head)."""
    migrations.upgrade(engine, revision, LOCATIONS)


def head_revisions() -> frozenset[str]:
    """The head of each branch: the engine's, notifications' and cchc's."""
    return migrations.head_revisions(LOCATIONS)


def require_current(engine: Engine) -> None:
    """Raise ``SchemaOutdatedError`` telling to run ``cchc db upgrade`` unless at every head."""
    migrations.require_current(engine, LOCATIONS, UPGRADE_COMMAND)


def metadata() -> MetaData:
    """The metadata of every table of the application (the engine's and the packages')."""
    from workflows.schema import Base

    for module in ("notifications.tables", "cchc.tables", "cchc.accounts.models"):
        importlib.import_module(module)  # their tables join Base.metadata
    return Base.metadata
