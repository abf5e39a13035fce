"""Alembic migrations of the engine's schema, run by ``cchc db upgrade`` (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

SCRIPT_LOCATION = Path(__file__).parent


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic config pointing at these migrations (and at ``engine`` when given)."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database of ``engine`` to ``revision``."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has no schema yet."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision of the migrations shipped with the code."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


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
