"""Alembic migrations of the engine's schema, run by ``cchc db upgrade`` (no alembic.ini needed).

Alembic is imported only to migrate: checking that a database is current (every command does,
``require_current``) reads the ``alembic_version`` table with SQLAlchemy and the revisions from
the files in ``versions/``.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from workflows.database import reading

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = Path(__file__).parent
VERSION_TABLE = "alembic_version"
_REVISION = re.compile(r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:["']([^"']+)["']|None)""",
                       re.MULTILINE)  # fmt: skip


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic config pointing at these migrations (and at ``engine`` when given)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database of ``engine`` to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has no schema yet."""
    with reading(engine).connect() as connection:  # a read: never waits behind a writer
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        version = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    return None if version is None else str(version)


@cache
def head_revision() -> str:
    """The newest revision of the migrations shipped with the code (read from ``versions/``)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (SCRIPT_LOCATION / "versions").glob("*.py"):
        for name, value in _REVISION.findall(script.read_text(encoding="utf-8")):
            if name == "revision":
                revisions.add(value)
            elif value:
                parents.add(value)
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


class SchemaOutdatedError(RuntimeError):
    """The database's schema is older (or newer) than the code's migrations."""


def require_current(engine: Engine) -> None:
    """Raise ``SchemaOutdatedError`` telling to run ``cchc db upgrade`` unless at head."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaOutdatedError(
            f"the database schema is at {current or 'nothing'}, the code needs {head}: "
            "run `cchc db upgrade`"
        )
