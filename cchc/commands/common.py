"""What every command shares: settings from the global options, the database, the console."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from sqlalchemy import Engine, inspect

from cchc.commands.state import AppState, state_of
from workflows.database import Settings, make_engine, missing_sqlite_file, reading

__all__ = [
    "AppState",
    "console",
    "database_exists",
    "errors",
    "fail",
    "open_database",
    "safe_url",
    "state_of",
]

# Piped output (scripts, CI logs, tests) gets wide tables instead of 80 truncated columns.
_WIDTH = None if sys.stdout.isatty() else 200
console = Console(soft_wrap=True, width=_WIDTH)
errors = Console(stderr=True, soft_wrap=True, width=_WIDTH)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print an error to stderr and return the exit to raise."""
    errors.print(f"[bold red]Lỗi:[/] {message}", highlight=False)
    return typer.Exit(code)


def open_database(settings: Settings) -> Engine:
    """An engine on a migrated database, or a clear error telling how to create the schema.

    A SQLite file that does not exist is not created (connecting would leave an empty one).
    """
    if (missing := missing_sqlite_file(settings.database_url)) is not None:
        raise fail(
            f"there is no database at {missing} yet; run `cchc db upgrade` (or `cchc demo`) first"
        )
    engine = make_engine(settings.database_url)
    try:
        has_schema = inspect(reading(engine)).has_table("audit_events")  # takes no lock
    except Exception as exc:  # connection problems: say which database could not be reached
        engine.dispose()
        raise fail(f"cannot open the database {safe_url(settings.database_url)}: {exc}") from exc
    if not has_schema:
        engine.dispose()
        raise fail(
            f"the database {safe_url(settings.database_url)} has no schema yet; "
            "run `cchc db upgrade` (or `cchc demo`) first"
        )
    return engine


def database_exists(settings: Settings) -> bool:
    """Whether the database has been created (it has the schema); a SQLite file that does not
    exist is not created. A database that cannot be reached is a clear error."""
    if missing_sqlite_file(settings.database_url) is not None:
        return False
    engine = make_engine(settings.database_url)
    try:
        return inspect(reading(engine)).has_table("audit_events")  # takes no lock
    except Exception as exc:
        raise fail(f"cannot open the database {safe_url(settings.database_url)}: {exc}") from exc
    finally:
        engine.dispose()


def safe_url(url: str) -> str:
    """The URL with any password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
