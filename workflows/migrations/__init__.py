"""Alembic migrations of the engine's schema, and the machinery that runs every package's.

One migration environment (``env.py`` here), several branches: the engine's own revisions live
in ``versions/`` (branch ``workflows``), and each package that owns tables ships its branch in a
folder of its own (a *version location*), rooted on the engine's first revision. The
application lists those folders (``locations``) and upgrades them together: ``upgrade`` brings
every branch to its head, ``require_current`` checks that the database is at all the heads. No
``alembic.ini`` is needed.

Alembic is imported only to migrate: checking that a database is current (every command does,
``require_current``) reads the ``alembic_version`` table with SQLAlchemy and the revisions from
the version files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from workflows.database import reading

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = Path(__file__).parent
VERSIONS = SCRIPT_LOCATION / "versions"
"""The engine's own revisions (branch ``workflows``)."""
VERSION_TABLE = "alembic_version"
_REVISION = re.compile(
    r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:["']([^"']+)["']|None)""", re.MULTILINE
)


def version_locations(locations: Iterable[Path] = ()) -> tuple[Path, ...]:
    """The engine's version folder followed by ``locations`` (each once, in order)."""
    return tuple(dict.fromkeys((VERSIONS, *(Path(p) for p in locations))))


def alembic_config(engine: Engine | None = None, locations: Sequence[Path] = ()) -> Config:
    """An Alembic config over the engine's migrations and the branches in ``locations`` (and
    on ``engine`` when given)."""
    import os

    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("path_separator", "os")
    config.set_main_option(
        "version_locations", os.pathsep.join(str(p) for p in version_locations(locations))
    )
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads", locations: Sequence[Path] = ()) -> None:
    """Bring the database of ``engine`` to ``revision`` (default: every branch to its head)."""
    from alembic import command

    command.upgrade(alembic_config(engine, locations), revision)


def current_revisions(engine: Engine) -> frozenset[str]:
    """The revisions the database is at (one per branch), empty when it has no schema yet."""
    with reading(engine).connect() as connection:  # a read: never waits behind a writer
        if not inspect(connection).has_table(VERSION_TABLE):
            return frozenset()
        # VERSION_TABLE is this module's constant, no input.
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()  # noqa: S608
        return frozenset(str(row) for row in rows)


def head_revisions(locations: Sequence[Path] = ()) -> frozenset[str]:
    """The newest revision of each branch shipped with the code (read from the version files
    of the engine and of ``locations``)."""
    return _heads(version_locations(locations))


@cache
def _heads(folders: tuple[Path, ...]) -> frozenset[str]:
    revisions: set[str] = set()
    parents: set[str] = set()
    for folder in folders:
        for script in folder.glob("*.py"):
            for name, value in _REVISION.findall(script.read_text(encoding="utf-8")):
                if name == "revision":
                    revisions.add(value)
                elif value:
                    parents.add(value)
    return frozenset(revisions - parents)


def revisions_text(revisions: Iterable[str]) -> str:
    """Revisions as one line: ``0006, cchc_0001, …`` (sorted), or ``nothing``."""
    return ", ".join(sorted(revisions)) or "nothing"


class SchemaOutdatedError(RuntimeError):
    """The database's schema is older (or newer) than the code's migrations."""


def require_current(engine: Engine, locations: Sequence[Path] = (), command: str = "") -> None:
    """Raise ``SchemaOutdatedError`` unless the database is at every head; its message says
    to run ``command`` (the application's upgrade command) when given."""
    current, heads = current_revisions(engine), head_revisions(locations)
    if current != heads:
        advice = f": run `{command}`" if command else ""
        raise SchemaOutdatedError(
            f"the database schema is at {revisions_text(current)}, the code needs "
            f"{revisions_text(heads)}{advice}"
        )
